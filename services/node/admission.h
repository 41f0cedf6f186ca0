// File: services/node/admission.h
//
// Admitter: whether this node's policy lets a request through, and what
// the admission records with it. Approvals are verified over the digest the
// node computed itself (the signing request digest, or the admin digest of
// the AdminChange it rebuilt: admin_change.h); the policy then judges the
// signing request's facts with the velocity already used, or the admin
// request's approvers and initiator. Without a policy every signing and
// administrative request is refused.
#ifndef KAGI_SERVICES_NODE_ADMISSION_H_
#define KAGI_SERVICES_NODE_ADMISSION_H_

#include <array>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kagi/v1/common.pb.h"
#include "libs/base/clock.h"
#include "libs/chain/psbt_signer.h"
#include "libs/policy/policy.h"
#include "libs/policy/request_digest.h"
#include "libs/storage/store.h"

namespace kagi::node {

class Admitter {
 public:
  // `store` and `clock` must outlive the admitter; `policy` may be null.
  Admitter(std::string node, std::shared_ptr<const policy::Policy> policy,
           storage::Store* store, const Clock* clock);

  const policy::Policy* policy() const { return policy_.get(); }
  // ChangeRule: the policy's bitcoin_change (the default without a policy).
  chain::PsbtChangeRule ChangeRule() const;

  // Approvers returns the approvers whose signatures over `digest` verify
  // under this node's policy (refusing unknown or repeated approvers and
  // signatures over anything else).
  absl::StatusOr<std::set<std::string>> Approvers(
      const std::array<uint8_t, 32>& digest,
      const google::protobuf::RepeatedPtrField<v1::Approval>& approvals) const;

  // AdmitSign evaluates the policy for a signing request and returns what
  // BeginRequest records with it (the decision for the audit log and the
  // velocity reservation). Callers hold mu() until BeginRequest, so that
  // concurrent requests see each other's reservations.
  absl::StatusOr<storage::Admission> AdmitSign(
      const policy::RequestFacts& facts, const std::set<std::string>& approvers,
      const std::string& request_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // AdmitAdmin: the same for key creation, refresh and reshare: the
  // approvals must verify over the admin digest of `change` (which this node
  // rebuilt itself) and the initiator must be one the policy lists.
  absl::StatusOr<storage::Admission> AdmitAdmin(
      const policy::AdminChange& change,
      const google::protobuf::RepeatedPtrField<v1::Approval>& approvals,
      const std::string& initiator) const;

  absl::Mutex& mu() ABSL_LOCK_RETURNED(mu_) { return mu_; }

 private:
  // UsedVelocity sums what each of the policy's velocity windows already
  // holds for `facts` at `now` (except `request_id`'s own reservation).
  absl::StatusOr<policy::VelocityUsed> UsedVelocity(
      const policy::RequestFacts& facts, int64_t now,
      const std::string& request_id) const;
  // Judged: the refusal naming this node and policy revision unless
  // `decision` allows, else the audit record of the decision.
  absl::StatusOr<storage::Admission> Judged(const policy::Decision& decision,
                                            const std::string& operation,
                                            const std::string& request_id,
                                            const std::string& summary,
                                            int64_t now) const;

  const std::string node_;
  const std::shared_ptr<const policy::Policy> policy_;
  storage::Store* const store_;
  const Clock* const clock_;
  absl::Mutex mu_;
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_ADMISSION_H_
