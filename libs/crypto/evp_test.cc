#include "libs/crypto/evp.h"

#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/check.h"
#include "libs/base/rng.h"
#include "tests/testing/vectors.h"

namespace kagi::crypto {
namespace {

using ::testing::HasSubstr;

Bytes Hex(absl::string_view hex) { return kagi::testing::HexOrDie(hex); }

SecretBytes SecretHex(absl::string_view hex) { return SecretBytes(Hex(hex)); }

Bytes Range(int first, int last_exclusive) {
  Bytes out;
  for (int i = first; i < last_exclusive; ++i) {
    out.push_back(static_cast<uint8_t>(i));
  }
  return out;
}

// --- HMAC-SHA-512: RFC 4231 ------------------------------------------------

TEST(HmacSha512Test, MatchesRfc4231TestCase1) {
  const Bytes key(20, 0x0b);
  EXPECT_EQ(HexEncode(HmacSha512(key, AsBytes("Hi There"))),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
            "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
}

TEST(HmacSha512Test, MatchesRfc4231TestCase2) {
  EXPECT_EQ(HexEncode(HmacSha512(AsBytes("Jefe"),
                                 AsBytes("what do ya want for nothing?"))),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

TEST(HmacSha512Test, MatchesRfc4231TestCase6WithKeyLongerThanBlock) {
  const Bytes key(131, 0xaa);
  EXPECT_EQ(
      HexEncode(HmacSha512(
          key,
          AsBytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
      "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598");
}

TEST(HmacSha512Test, AcceptsEmptyKeyAndData) {
  // HMAC with an empty key is the same as with a block of zeros.
  const Bytes zeros(128, 0);
  EXPECT_EQ(HmacSha512({}, {}), HmacSha512(zeros, {}));
}

// --- HKDF-SHA-256: RFC 5869 ------------------------------------------------

TEST(HkdfSha256Test, MatchesRfc5869TestCase1) {
  const SecretBytes ikm(Bytes(22, 0x0b));
  absl::StatusOr<SecretBytes> okm =
      HkdfSha256(ikm, Range(0x00, 0x0d), Range(0xf0, 0xfa), 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(HexEncode(okm->secret()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(HkdfSha256Test, MatchesRfc5869TestCase2WithLongInputs) {
  const SecretBytes ikm(Range(0x00, 0x50));
  absl::StatusOr<SecretBytes> okm =
      HkdfSha256(ikm, Range(0x60, 0xb0), Range(0xb0, 0x100), 82);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(HexEncode(okm->secret()),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(HkdfSha256Test, MatchesRfc5869TestCase3WithEmptySaltAndInfo) {
  const SecretBytes ikm(Bytes(22, 0x0b));
  absl::StatusOr<SecretBytes> okm = HkdfSha256(ikm, {}, {}, 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(HexEncode(okm->secret()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(HkdfSha256Test, EmptySaltEqualsZeroSalt) {
  const SecretBytes ikm(Bytes(22, 0x0b));
  absl::StatusOr<SecretBytes> a = HkdfSha256(ikm, {}, AsBytes("x"), 32);
  absl::StatusOr<SecretBytes> b =
      HkdfSha256(ikm, Bytes(32, 0), AsBytes("x"), 32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(HkdfSha256Test, RejectsBadLengths) {
  const SecretBytes ikm(Bytes(32, 1));
  EXPECT_THAT(HkdfSha256(ikm, {}, {}, 0).status().message(),
              HasSubstr("out_len"));
  EXPECT_TRUE(HkdfSha256(ikm, {}, {}, kHkdfSha256MaxOutputBytes).ok());
  EXPECT_THAT(
      HkdfSha256(ikm, {}, {}, kHkdfSha256MaxOutputBytes + 1).status().message(),
      HasSubstr("out_len"));
  EXPECT_THAT(HkdfSha256(SecretBytes(), {}, {}, 32).status().message(),
              HasSubstr("ikm"));
  EXPECT_TRUE(HkdfSha256(ikm, {}, Bytes(1024, 7), 32).ok());
  EXPECT_THAT(HkdfSha256(ikm, {}, Bytes(1025, 7), 32).status().message(),
              HasSubstr("info"));
}

// --- AES-256-GCM -----------------------------------------------------------

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test case 16
// (256-bit key, 96-bit IV, with AAD).
constexpr char kGcmKey[] =
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr char kGcmNonce[] = "cafebabefacedbaddecaf888";
constexpr char kGcmAad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
constexpr char kGcmPlaintext[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
constexpr char kGcmCiphertext[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
constexpr char kGcmTag[] = "76fc6ece0f4e1768cddf8853bb2d551b";

TEST(Aes256GcmTest, SealMatchesGcmSpecTestCase16) {
  absl::StatusOr<Bytes> sealed = Aes256GcmSeal(
      SecretHex(kGcmKey), Hex(kGcmNonce), Hex(kGcmAad), Hex(kGcmPlaintext));
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(HexEncode(*sealed), absl::StrCat(kGcmCiphertext, kGcmTag));
}

TEST(Aes256GcmTest, OpenMatchesGcmSpecTestCase16) {
  absl::StatusOr<SecretBytes> opened =
      Aes256GcmOpen(SecretHex(kGcmKey), Hex(kGcmNonce), Hex(kGcmAad),
                    Hex(absl::StrCat(kGcmCiphertext, kGcmTag)));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(HexEncode(opened->secret()), kGcmPlaintext);
}

TEST(Aes256GcmTest, RoundTripsEmptyPlaintextAndAad) {
  const SecretBytes key(Bytes(32, 0x42));
  const Bytes nonce(12, 0x01);
  absl::StatusOr<Bytes> sealed = Aes256GcmSeal(key, nonce, {}, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kAes256GcmTagBytes);
  absl::StatusOr<SecretBytes> opened = Aes256GcmOpen(key, nonce, {}, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->empty());
}

// Opens the test-case-16 ciphertext after flipping bit `bit` of the input
// named by `which` ("none" flips nothing).
absl::Status OpenTampered(absl::string_view which, size_t bit) {
  Bytes key = Hex(kGcmKey);
  Bytes nonce = Hex(kGcmNonce);
  Bytes aad = Hex(kGcmAad);
  Bytes sealed = Hex(absl::StrCat(kGcmCiphertext, kGcmTag));
  const size_t ct_len = sealed.size() - kAes256GcmTagBytes;
  if (which == "ciphertext") {
    sealed[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  } else if (which == "tag") {
    sealed[ct_len + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  } else if (which == "aad") {
    aad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  } else if (which == "nonce") {
    nonce[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  } else if (which == "key") {
    key[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
  return Aes256GcmOpen(SecretBytes(key), nonce, aad, sealed).status();
}

TEST(Aes256GcmTest, OpenFailsWhenAnyInputBitIsFlipped) {
  const struct {
    const char* which;
    size_t num_bits;
  } kCases[] = {{"ciphertext", size_t{60} * 8},
                {"tag", kAes256GcmTagBytes * 8},
                {"aad", size_t{20} * 8},
                {"nonce", kAes256GcmNonceBytes * 8},
                {"key", kAes256GcmKeyBytes * 8}};
  ASSERT_TRUE(OpenTampered("none", 0).ok());
  for (const auto& c : kCases) {
    for (size_t bit = 0; bit < c.num_bits; ++bit) {
      const absl::Status s = OpenTampered(c.which, bit);
      ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
          << c.which << " bit " << bit;
      ASSERT_THAT(s.message(), HasSubstr("aead: authentication failed"))
          << c.which << " bit " << bit;
    }
  }
}

TEST(Aes256GcmTest, OpenFailsOnTruncatedOrExtendedCiphertext) {
  const Bytes sealed = Hex(absl::StrCat(kGcmCiphertext, kGcmTag));
  Bytes shorter(sealed.begin(), sealed.end() - 1);
  Bytes longer = sealed;
  longer.push_back(0);
  for (const Bytes& bad : {shorter, longer}) {
    EXPECT_THAT(
        Aes256GcmOpen(SecretHex(kGcmKey), Hex(kGcmNonce), Hex(kGcmAad), bad)
            .status()
            .message(),
        HasSubstr("authentication failed"));
  }
  EXPECT_THAT(Aes256GcmOpen(SecretHex(kGcmKey), Hex(kGcmNonce), Hex(kGcmAad),
                            Bytes(15, 0))
                  .status()
                  .message(),
              HasSubstr("ciphertext too short"));
}

TEST(Aes256GcmTest, RejectsWrongKeyAndNonceLengths) {
  const Bytes nonce(12, 0);
  for (size_t len : {0, 16, 24, 31, 33}) {
    absl::Status seal =
        Aes256GcmSeal(SecretBytes(Bytes(len, 1)), nonce, {}, AsBytes("x"))
            .status();
    EXPECT_EQ(seal.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(seal.message(), HasSubstr("aead: key must be 32 bytes"));
    absl::Status open =
        Aes256GcmOpen(SecretBytes(Bytes(len, 1)), nonce, {}, Bytes(16, 0))
            .status();
    EXPECT_THAT(open.message(), HasSubstr("aead: key must be 32 bytes"));
  }
  const SecretBytes key(Bytes(32, 1));
  for (size_t len : {0, 8, 11, 13, 16}) {
    EXPECT_THAT(Aes256GcmSeal(key, Bytes(len, 0), {}, {}).status().message(),
                HasSubstr("aead: nonce must be 12 bytes"));
    EXPECT_THAT(
        Aes256GcmOpen(key, Bytes(len, 0), {}, Bytes(16, 0)).status().message(),
        HasSubstr("aead: nonce must be 12 bytes"));
  }
}

// --- Ed25519: RFC 8032 section 7.1 -----------------------------------------

struct Ed25519Case {
  const char* name;
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

const Ed25519Case kEd25519Cases[] = {
    {"TEST 1",
     "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2",
     "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3",
     "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519Test, MatchesRfc8032Vectors) {
  for (const Ed25519Case& c : kEd25519Cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<Ed25519PrivateKey> key =
        Ed25519PrivateKey::FromSeed(SecretHex(c.seed));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(HexEncode(key->PublicKey()), c.public_key);
    const Bytes message = Hex(c.message);
    const Ed25519Signature sig = key->Sign(message);
    EXPECT_EQ(HexEncode(sig), c.signature);
    EXPECT_TRUE(
        Ed25519Verify(Hex(c.public_key), message, Hex(c.signature)).ok());
  }
}

TEST(Ed25519Test, VerifyFailsOnModifiedMessageSignatureOrKey) {
  for (const Ed25519Case& c : kEd25519Cases) {
    SCOPED_TRACE(c.name);
    const Bytes pub = Hex(c.public_key);
    const Bytes message = Hex(c.message);
    const Bytes sig = Hex(c.signature);

    // Message: append a byte, and (when non-empty) flip each bit.
    Bytes longer = message;
    longer.push_back(0);
    EXPECT_THAT(Ed25519Verify(pub, longer, sig).message(),
                HasSubstr("verification failed"));
    for (size_t bit = 0; bit < message.size() * 8; ++bit) {
      Bytes m = message;
      m[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      EXPECT_FALSE(Ed25519Verify(pub, m, sig).ok()) << "message bit " << bit;
    }
    // Signature: flip each bit of R and S.
    for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
      Bytes s = sig;
      s[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      EXPECT_FALSE(Ed25519Verify(pub, message, s).ok()) << "sig bit " << bit;
    }
    // Key: flip each bit of the public key.
    for (size_t bit = 0; bit < pub.size() * 8; ++bit) {
      Bytes p = pub;
      p[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      EXPECT_FALSE(Ed25519Verify(p, message, sig).ok()) << "key bit " << bit;
    }
  }
  // A signature under test 1's key does not verify under test 2's key.
  EXPECT_FALSE(Ed25519Verify(Hex(kEd25519Cases[1].public_key), {},
                             Hex(kEd25519Cases[0].signature))
                   .ok());
}

TEST(Ed25519Test, RejectsWrongLengths) {
  const Bytes pub = Hex(kEd25519Cases[0].public_key);
  const Bytes sig = Hex(kEd25519Cases[0].signature);
  EXPECT_THAT(Ed25519Verify(Bytes(31, 0), {}, sig).message(),
              HasSubstr("public key must be 32 bytes"));
  EXPECT_THAT(Ed25519Verify(Bytes(33, 0), {}, sig).message(),
              HasSubstr("public key must be 32 bytes"));
  EXPECT_THAT(Ed25519Verify(pub, {}, Bytes(63, 0)).message(),
              HasSubstr("signature must be 64 bytes"));
  EXPECT_THAT(Ed25519Verify(pub, {}, Bytes(65, 0)).message(),
              HasSubstr("signature must be 64 bytes"));
  EXPECT_THAT(
      Ed25519PrivateKey::FromSeed(SecretBytes(Bytes(31, 0))).status().message(),
      HasSubstr("seed must be 32 bytes"));
}

TEST(Ed25519Test, RejectsNonCanonicalS) {
  // S + L, where L is the group order, is rejected even though it is the same
  // residue (RFC 8032 section 5.1.7 requires S < L).
  const Ed25519Case& c = kEd25519Cases[0];
  Bytes sig = Hex(c.signature);
  const Bytes order_le =
      Hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (size_t i = 0; i < 32; ++i) {
    const unsigned sum = sig[32 + i] + order_le[i] + carry;
    sig[32 + i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);  // S + L still fits in 256 bits for this vector.
  EXPECT_FALSE(Ed25519Verify(Hex(c.public_key), {}, sig).ok());
}

TEST(Ed25519Test, GeneratedKeySignsAndVerifiesAndExportsItsSeed) {
  InsecureDeterministicRng rng(7);
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate(rng);
  const Bytes message = ToBytes(AsBytes("kagi envelope"));
  const Ed25519Signature sig = key.Sign(message);
  EXPECT_TRUE(Ed25519Verify(key.PublicKey(), message, sig).ok());

  absl::StatusOr<Ed25519PrivateKey> again =
      Ed25519PrivateKey::FromSeed(key.ExportSeed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->PublicKey(), key.PublicKey());
  EXPECT_EQ(again->Sign(message), sig);

  // Moving keeps the key usable.
  Ed25519PrivateKey moved = std::move(key);
  EXPECT_EQ(moved.Sign(message), sig);
}

TEST(Ed25519Test, PrintingShowsOnlyThePublicKey) {
  absl::StatusOr<Ed25519PrivateKey> key =
      Ed25519PrivateKey::FromSeed(SecretHex(kEd25519Cases[0].seed));
  ASSERT_TRUE(key.ok());
  std::ostringstream os;
  os << *key;
  const std::string printed = os.str();
  EXPECT_THAT(printed, HasSubstr(kEd25519Cases[0].public_key));
  EXPECT_THAT(printed, HasSubstr("redacted"));
  EXPECT_THAT(printed, ::testing::Not(HasSubstr(kEd25519Cases[0].seed)));
}

}  // namespace
}  // namespace kagi::crypto
