#include "libs/policy/approval.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/openssl_ptr.h"
#include "libs/crypto/p256.h"

namespace kagi::policy {
namespace {

using crypto::BioPtr;

constexpr char kP256[] = "prime256v1";

absl::Status DoesNotVerify() {
  return absl::PermissionDeniedError("signature does not verify");
}

}  // namespace

absl::Status CheckApproverKey(ApproverEntry::Scheme scheme, ByteSpan key) {
  if (scheme == ApproverEntry::Scheme::kP256) {
    return crypto::P256CheckPublicKey(key);
  }
  if (key.size() != crypto::kEd25519PublicKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ed25519 public key: must be 32 bytes, got ", key.size()));
  }
  if (!crypto::Ed25519CheckPublicKey(key).ok()) {
    return absl::InvalidArgumentError("ed25519 public key: not valid");
  }
  return absl::OkStatus();
}

absl::Status VerifyApproval(const ApproverEntry& approver,
                            const std::array<uint8_t, 32>& digest,
                            ByteSpan signature) {
  if (approver.scheme == ApproverEntry::Scheme::kEd25519) {
    if (signature.size() != crypto::kEd25519SignatureBytes) {
      return absl::PermissionDeniedError(absl::StrCat(
          "ed25519 signature must be 64 bytes, got ", signature.size()));
    }
    if (!crypto::Ed25519Verify(approver.public_key, digest, signature).ok()) {
      return DoesNotVerify();
    }
    return absl::OkStatus();
  }
  if (signature.size() != 64 &&
      (signature.size() < 8 || signature.size() > 72)) {
    return absl::PermissionDeniedError(
        absl::StrCat("p256 signature must be DER or 64-byte r||s, got ",
                     signature.size(), " bytes"));
  }
  if (!crypto::P256VerifySha256(approver.public_key, digest, signature).ok()) {
    return DoesNotVerify();
  }
  return absl::OkStatus();
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
