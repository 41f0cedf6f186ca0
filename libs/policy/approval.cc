#include "libs/policy/approval.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/openssl_ptr.h"

namespace kagi::policy {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

constexpr char kP256[] = "prime256v1";

// P256PublicKey builds an EVP key from a SEC1 point (checked on the curve).
absl::StatusOr<crypto::EvpPkeyPtr> P256PublicKey(ByteSpan point) {
  if (point.size() != 33 && point.size() != 65) {
    return absl::InvalidArgumentError(absl::StrCat(
        "p256 public key: must be a 33- or 65-byte SEC1 point, got ",
        point.size(), " bytes"));
  }
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld == nullptr) return absl::ResourceExhaustedError("OSSL_PARAM_BLD");
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kP256, 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                   point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  const bool ok =
      params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  OSSL_PARAM_free(params);
  EVP_PKEY_CTX_free(ctx);
  crypto::EvpPkeyPtr out(pkey);
  if (ok && out != nullptr) {
    // fromdata does not check that the point is on the curve.
    EVP_PKEY_CTX* check =
        EVP_PKEY_CTX_new_from_pkey(nullptr, out.get(), nullptr);
    const bool valid = check != nullptr && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (valid) return out;
  }
  ERR_clear_error();
  return absl::InvalidArgumentError(
      "p256 public key: not a point on the P-256 curve");
}

// RawToDer turns a 64-byte r‖s into DER.
absl::StatusOr<Bytes> RawToDer(ByteSpan raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (sig == nullptr) return absl::ResourceExhaustedError("ECDSA_SIG_new");
  BIGNUM* r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return absl::ResourceExhaustedError("ECDSA_SIG_set0");
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return absl::InvalidArgumentError("p256 signature: encoding");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

absl::Status VerifyWith(EVP_PKEY* pkey, const EVP_MD* md, ByteSpan message,
                        ByteSpan signature) {
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return absl::ResourceExhaustedError("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) != 1 ||
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                       message.data(), message.size()) != 1) {
    ERR_clear_error();
    return absl::PermissionDeniedError("signature does not verify");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckApproverKey(ApproverEntry::Scheme scheme, ByteSpan key) {
  if (scheme == ApproverEntry::Scheme::kP256) {
    return P256PublicKey(key).status();
  }
  if (key.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("ed25519 public key: must be 32 bytes, got ", key.size()));
  }
  crypto::EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                      key.data(), key.size()));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("ed25519 public key: not valid");
  }
  return absl::OkStatus();
}

absl::Status VerifyApproval(const ApproverEntry& approver,
                            const std::array<uint8_t, 32>& digest,
                            ByteSpan signature) {
  if (approver.scheme == ApproverEntry::Scheme::kEd25519) {
    if (signature.size() != 64) {
      return absl::PermissionDeniedError(absl::StrCat(
          "ed25519 signature must be 64 bytes, got ", signature.size()));
    }
    crypto::EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, approver.public_key.data(),
        approver.public_key.size()));
    if (pkey == nullptr) {
      ERR_clear_error();
      return absl::InternalError("ed25519 public key rejected");
    }
    return VerifyWith(pkey.get(), nullptr, digest, signature);
  }
  KAGI_ASSIGN_OR_RETURN(crypto::EvpPkeyPtr pkey,
                        P256PublicKey(approver.public_key));
  Bytes der;
  if (signature.size() == 64) {
    KAGI_ASSIGN_OR_RETURN(der, RawToDer(signature));
  } else if (signature.size() >= 8 && signature.size() <= 72) {
    der.assign(signature.begin(), signature.end());
  } else {
    return absl::PermissionDeniedError(
        absl::StrCat("p256 signature must be DER or 64-byte r||s, got ",
                     signature.size(), " bytes"));
  }
  return VerifyWith(pkey.get(), EVP_sha256(), digest, der);
}

absl::StatusOr<std::set<std::string>> VerifyApprovals(
    const Policy& policy, const std::array<uint8_t, 32>& digest,
    const google::protobuf::RepeatedPtrField<v1::Approval>& approvals) {
  if (approvals.size() > kMaxApprovals) {
    return absl::InvalidArgumentError(absl::StrCat(
        "approvals: at most ", kMaxApprovals, ", got ", approvals.size()));
  }
  std::set<std::string> verified;
  for (int i = 0; i < approvals.size(); ++i) {
    const v1::Approval& a = approvals[i];
    const std::string field = absl::StrCat("approvals[", i, "]");
    const ApproverEntry* approver = policy.FindApprover(a.approver());
    if (approver == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat(field, ": approver '", a.approver().substr(0, 64),
                       "' is not in this node's policy (revision '",
                       policy.revision(), "')"));
    }
    if (!verified.insert(approver->name).second) {
      return absl::PermissionDeniedError(
          absl::StrCat(field, ": approver '", approver->name,
                       "' appears twice; each approver counts once"));
    }
    absl::Status st = VerifyApproval(*approver, digest, AsBytes(a.signature()));
    if (!st.ok()) {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ": the approval of '", approver->name,
          "' does not verify over the request digest ", HexEncode(digest),
          " that this node computed (", st.message(),
          "): the request is not the one that was approved"));
    }
  }
  return verified;
}

struct ApproverKey::Impl {
  crypto::EvpPkeyPtr pkey;
};

ApproverKey::ApproverKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApproverKey::ApproverKey(ApproverKey&&) noexcept = default;
ApproverKey& ApproverKey::operator=(ApproverKey&&) noexcept = default;
ApproverKey::~ApproverKey() = default;

absl::StatusOr<ApproverKey> ApproverKey::FromPem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf");
  crypto::EvpPkeyPtr pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "approver key: not a PEM private key (PKCS#8 Ed25519 or EC P-256)");
  }
  ApproverEntry::Scheme scheme;
  if (EVP_PKEY_is_a(pkey.get(), "ED25519")) {
    scheme = ApproverEntry::Scheme::kEd25519;
  } else if (EVP_PKEY_is_a(pkey.get(), "EC")) {
    char group[32] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                       group, sizeof(group), &len) != 1 ||
        absl::string_view(group, len) != kP256) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          "approver key: EC keys must be on P-256 (prime256v1)");
    }
    scheme = ApproverEntry::Scheme::kP256;
  } else {
    return absl::InvalidArgumentError(
        "approver key: only Ed25519 and EC P-256 keys are supported");
  }
  auto impl = std::make_unique<Impl>();
  impl->pkey = std::move(pkey);
  ApproverKey key(std::move(impl));
  key.scheme_ = scheme;
  return key;
}

absl::StatusOr<ApproverKey> ApproverKey::Generate(
    ApproverEntry::Scheme scheme) {
  EVP_PKEY* pkey = scheme == ApproverEntry::Scheme::kEd25519
                       ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                       : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kP256);
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InternalError("approver key generation failed");
  }
  auto impl = std::make_unique<Impl>();
  impl->pkey.reset(pkey);
  ApproverKey key(std::move(impl));
  key.scheme_ = scheme;
  return key;
}

absl::StatusOr<std::string> ApproverKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr,
                               0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return absl::InternalError("approver key: PEM encoding failed");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(len));
  return out;
}

std::string ApproverKey::PublicKeyHex() const {
  if (scheme_ == ApproverEntry::Scheme::kEd25519) {
    uint8_t pub[32];
    size_t len = sizeof(pub);
    if (EVP_PKEY_get_raw_public_key(impl_->pkey.get(), pub, &len) != 1) {
      ERR_clear_error();
      return "";
    }
    return HexEncode(ByteSpan(pub, len));
  }
  // Compressed SEC1 point.
  EVP_PKEY_set_utf8_string_param(
      impl_->pkey.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
      OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED);
  uint8_t pub[65];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(impl_->pkey.get(),
                                      OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                      &len) != 1) {
    ERR_clear_error();
    return "";
  }
  return HexEncode(ByteSpan(pub, len));
}

absl::StatusOr<Bytes> ApproverKey::Sign(
    const std::array<uint8_t, 32>& digest) const {
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md =
      scheme_ == ApproverEntry::Scheme::kEd25519 ? nullptr : EVP_sha256();
  size_t len = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, impl_->pkey.get()) !=
          1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, digest.data(), digest.size()) !=
          1) {
    ERR_clear_error();
    return absl::InternalError("approval signing failed");
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, digest.data(),
                     digest.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("approval signing failed");
  }
  sig.resize(len);
  return sig;
}

}  // namespace kagi::policy
