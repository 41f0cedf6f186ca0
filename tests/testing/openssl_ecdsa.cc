#include "tests/testing/openssl_ecdsa.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

namespace kagi::testing {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

constexpr char kHalfOrder[] =
    "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0";

}  // namespace

absl::Status OpenSslVerifyEcdsa(ByteSpan public_key,
                                const std::array<uint8_t, 32>& digest,
                                const std::array<uint8_t, 32>& r,
                                const std::array<uint8_t, 32>& s) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                       const_cast<char*>("secp256k1"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<uint8_t*>(public_key.data()),
                                        public_key.size()),
      OSSL_PARAM_construct_end()};
  CtxPtr from(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!from || EVP_PKEY_fromdata_init(from.get()) != 1 ||
      EVP_PKEY_fromdata(from.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return absl::InvalidArgumentError("openssl: bad public key");
  }
  PkeyPtr pkey(raw);
  BnPtr rb(BN_bin2bn(r.data(), 32, nullptr));
  BnPtr sb(BN_bin2bn(s.data(), 32, nullptr));
  BIGNUM* half = nullptr;
  BN_hex2bn(&half, kHalfOrder);
  BnPtr half_ptr(half);
  if (BN_cmp(sb.get(), half) > 0) {
    return absl::InvalidArgumentError("openssl: high S");
  }
  SigPtr sig(ECDSA_SIG_new());
  ECDSA_SIG_set0(sig.get(), rb.release(), sb.release());
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) {
    return absl::InternalError("openssl: DER encoding failed");
  }
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_ptr(
      der, [](unsigned char* p) { OPENSSL_free(p); });
  CtxPtr ctx(EVP_PKEY_CTX_new(pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return absl::InternalError("openssl: verify init failed");
  }
  if (EVP_PKEY_verify(ctx.get(), der, static_cast<size_t>(der_len),
                      digest.data(), digest.size()) != 1) {
    return absl::InvalidArgumentError("openssl: signature does not verify");
  }
  return absl::OkStatus();
}

}  // namespace kagi::testing
