#include "libs/crypto/p256.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/openssl_ptr.h"

namespace kagi::crypto {
namespace {

using ParamBldPtr = OpenSslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = OpenSslPtr<OSSL_PARAM, OSSL_PARAM_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EcdsaSigPtr = OpenSslPtr<ECDSA_SIG, ECDSA_SIG_free>;

constexpr char kP256[] = "prime256v1";

absl::Status NotOnCurve() {
  ERR_clear_error();
  return absl::InvalidArgumentError(
      "p256 public key: not a point on the P-256 curve");
}

// PublicKey builds an EVP key from a SEC1 point (checked on the curve).
absl::StatusOr<EvpPkeyPtr> PublicKey(ByteSpan point) {
  if (point.size() != 33 && point.size() != 65) {
    return absl::InvalidArgumentError(absl::StrCat(
        "p256 public key: must be a 33- or 65-byte SEC1 point, got ",
        point.size(), " bytes"));
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr) return absl::ResourceExhaustedError("OSSL_PARAM_BLD");
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kP256,
                                  0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                   point.data(), point.size());
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr ||
      EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) !=
          1) {
    EVP_PKEY_free(raw);
    return NotOnCurve();
  }
  EvpPkeyPtr key(raw);
  // fromdata does not check that the point is on the curve.
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return NotOnCurve();
  }
  return key;
}

// RawToDer turns a 64-byte r‖s into DER.
absl::StatusOr<Bytes> RawToDer(ByteSpan raw) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (sig == nullptr) return absl::ResourceExhaustedError("ECDSA_SIG_new");
  BIGNUM* r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return absl::ResourceExhaustedError("ECDSA_SIG_set0");
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return absl::InvalidArgumentError("p256 signature: encoding");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace

absl::Status P256CheckPublicKey(ByteSpan point) {
  return PublicKey(point).status();
}

absl::Status P256VerifySha256(ByteSpan point, ByteSpan message,
                              ByteSpan signature) {
  KAGI_ASSIGN_OR_RETURN(EvpPkeyPtr key, PublicKey(point));
  Bytes der;
  if (signature.size() == 64) {
    KAGI_ASSIGN_OR_RETURN(der, RawToDer(signature));
  } else if (signature.size() >= 8 && signature.size() <= 72) {
    der.assign(signature.begin(), signature.end());
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("p256 signature: must be DER or 64-byte r||s, got ",
                     signature.size(), " bytes"));
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return absl::ResourceExhaustedError("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                           key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), der.data(), der.size(), message.data(),
                       message.size()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("p256 signature: does not verify");
  }
  return absl::OkStatus();
}

}  // namespace kagi::crypto
