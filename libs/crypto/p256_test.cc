#include "libs/crypto/p256.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/check.h"
#include "libs/crypto/openssl_ptr.h"

namespace kagi::crypto {
namespace {

using ::testing::HasSubstr;

// A fresh P-256 key: its compressed point and a DER signature over `msg`.
struct Signed {
  Bytes point;
  Bytes der;
};

Signed SignWithFreshKey(ByteSpan msg) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "prime256v1"));
  KAGI_CHECK(key != nullptr);
  EVP_PKEY_set_utf8_string_param(
      key.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
      OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED);
  Signed out;
  out.point.resize(33);
  size_t len = 0;
  KAGI_CHECK(EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                             out.point.data(), out.point.size(),
                                             &len) == 1);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  KAGI_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                                key.get()) == 1);
  size_t sig_len = 0;
  KAGI_CHECK(EVP_DigestSign(ctx.get(), nullptr, &sig_len, msg.data(),
                            msg.size()) == 1);
  out.der.resize(sig_len);
  KAGI_CHECK(EVP_DigestSign(ctx.get(), out.der.data(), &sig_len, msg.data(),
                            msg.size()) == 1);
  out.der.resize(sig_len);
  return out;
}

// RawFromDer turns a DER signature into 64-byte r‖s.
Bytes RawFromDer(const Bytes& der) {
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  KAGI_CHECK(sig != nullptr);
  Bytes raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

TEST(P256Test, VerifiesDerAndRawSignatures) {
  const Bytes msg(32, 7);
  const Signed s = SignWithFreshKey(msg);
  EXPECT_TRUE(P256CheckPublicKey(s.point).ok());
  EXPECT_TRUE(P256VerifySha256(s.point, msg, s.der).ok());
  EXPECT_TRUE(P256VerifySha256(s.point, msg, RawFromDer(s.der)).ok());
}

TEST(P256Test, RefusesAnotherMessageOrKey) {
  const Bytes msg(32, 7);
  const Signed s = SignWithFreshKey(msg);
  const Signed other = SignWithFreshKey(msg);
  EXPECT_THAT(P256VerifySha256(s.point, Bytes(32, 8), s.der).message(),
              HasSubstr("does not verify"));
  EXPECT_THAT(P256VerifySha256(other.point, msg, s.der).message(),
              HasSubstr("does not verify"));
}

TEST(P256Test, RefusesMalformedKeysAndSignatures) {
  // (1, 1) does not satisfy y^2 = x^3 - 3x + b.
  Bytes not_on_curve(65, 0);
  not_on_curve[0] = 0x04;
  not_on_curve[32] = 1;
  not_on_curve[64] = 1;
  EXPECT_THAT(P256CheckPublicKey(not_on_curve).message(),
              HasSubstr("not a point on the P-256 curve"));
  EXPECT_THAT(P256CheckPublicKey(Bytes(64, 1)).message(),
              HasSubstr("33- or 65-byte"));
  const Bytes msg(32, 7);
  const Signed s = SignWithFreshKey(msg);
  EXPECT_THAT(P256VerifySha256(s.point, msg, Bytes(3, 1)).message(),
              HasSubstr("DER or 64-byte"));
  EXPECT_EQ(P256VerifySha256(s.point, msg, Bytes(70, 0)).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kagi::crypto
