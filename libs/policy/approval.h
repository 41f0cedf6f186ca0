// File: libs/policy/approval.h
//
// Approver signatures over a request digest. An approver holds its own key
// (Ed25519 or ECDSA P-256) and signs the 32 bytes of the request digest
// (request_digest.h): Ed25519 pure (RFC 8032) over them, or ECDSA P-256 with
// SHA-256 over them (signature DER, or 64-byte r‖s as WebCrypto returns).
// A hardware or web signer can make the same signature; `kagictl approve`
// makes it from a PEM key file.
#ifndef KAGI_LIBS_POLICY_APPROVAL_H_
#define KAGI_LIBS_POLICY_APPROVAL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "kagi/v1/common.pb.h"
#include "libs/base/bytes.h"
#include "libs/policy/policy.h"

namespace kagi::policy {

// At most this many approvals per request.
inline constexpr int kMaxApprovals = 32;

// CheckApproverKey validates a public key of `scheme` (Ed25519: 32 bytes;
// P-256: a SEC1 point on the curve, 33 or 65 bytes).
absl::Status CheckApproverKey(ApproverEntry::Scheme scheme, ByteSpan key);

// VerifyApproval checks one signature over `digest` under `approver`.
absl::Status VerifyApproval(const ApproverEntry& approver,
                            const std::array<uint8_t, 32>& digest,
                            ByteSpan signature);

// VerifyApprovals returns the approvers whose signatures verified. Refuses
// the request (PermissionDenied naming the approval) when an approval names
// an approver not in the policy, names an approver a second time, or does
// not verify over `digest` — the digest this node computed, so a request
// changed after approval fails here.
absl::StatusOr<std::set<std::string>> VerifyApprovals(
    const Policy& policy, const std::array<uint8_t, 32>& digest,
    const google::protobuf::RepeatedPtrField<v1::Approval>& approvals);

// ApproverKey is an approver's private key loaded from PEM (PKCS#8 Ed25519 or
// EC P-256), for `kagictl approve`. Never printed.
class ApproverKey {
 public:
  static absl::StatusOr<ApproverKey> FromPem(absl::string_view pem);
  // Generate makes a new key; ToPem writes it (PKCS#8, unencrypted).
  static absl::StatusOr<ApproverKey> Generate(ApproverEntry::Scheme scheme);
  absl::StatusOr<std::string> ToPem() const;

  ApproverEntry::Scheme scheme() const { return scheme_; }
  // PublicKeyHex is the value for the policy's ed25519_public_key /
  // p256_public_key (P-256: compressed point).
  std::string PublicKeyHex() const;
  absl::StatusOr<Bytes> Sign(const std::array<uint8_t, 32>& digest) const;

  ApproverKey(ApproverKey&&) noexcept;
  ApproverKey& operator=(ApproverKey&&) noexcept;
  ~ApproverKey();

 private:
  struct Impl;
  explicit ApproverKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  ApproverEntry::Scheme scheme_ = ApproverEntry::Scheme::kEd25519;
};

}  // namespace kagi::policy

#endif  // KAGI_LIBS_POLICY_APPROVAL_H_
