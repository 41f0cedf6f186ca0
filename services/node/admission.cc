#include "services/node/admission.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/policy/approval.h"

namespace kagi::node {

using Key32 = std::array<uint8_t, 32>;

Admitter::Admitter(std::string node,
                   std::shared_ptr<const policy::Policy> policy,
                   storage::Store* store, const Clock* clock)
    : node_(std::move(node)),
      policy_(std::move(policy)),
      store_(store),
      clock_(clock) {}

chain::PsbtChangeRule Admitter::ChangeRule() const {
  return policy_ != nullptr ? policy_->bitcoin_change()
                            : chain::PsbtChangeRule{};
}

absl::StatusOr<std::set<std::string>> Admitter::Approvers(
    const Key32& digest,
    const google::protobuf::RepeatedPtrField<v1::Approval>& approvals) const {
  if (policy_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(node_,
                     " has no policy (config policy_file): it refuses "
                     "every signing and administrative request"));
  }
  return policy::VerifyApprovals(*policy_, digest, approvals);
}

absl::StatusOr<policy::VelocityUsed> Admitter::UsedVelocity(
    const policy::RequestFacts& facts, int64_t now,
    const std::string& request_id) const {
  policy::VelocityUsed used;
  for (const policy::VelocityQuery& q : policy_->VelocityQueries(facts)) {
    KAGI_ASSIGN_OR_RETURN(
        std::vector<Key32> amounts,
        store_->VelocityAmounts(
            q.scope, now - static_cast<int64_t>(q.window_seconds), request_id));
    policy::Amount sum;
    for (const Key32& a : amounts) {
      KAGI_ASSIGN_OR_RETURN(policy::Amount v, policy::Amount::FromBigEndian(a));
      absl::StatusOr<policy::Amount> next = sum.Add(v);
      if (!next.ok()) break;  // saturated: far above any limit
      sum = *next;
    }
    used[q.scope] = sum;
  }
  return used;
}

absl::StatusOr<storage::Admission> Admitter::Judged(
    const policy::Decision& decision, const std::string& operation,
    const std::string& request_id, const std::string& summary,
    int64_t now) const {
  if (!decision.allowed) {
    return absl::PermissionDeniedError(
        absl::StrCat("policy of ", node_, " (revision '", policy_->revision(),
                     "') refuses ", summary, ": ", decision.ToString()));
  }
  storage::Admission admission;
  admission.decision.unix_time = now;
  admission.decision.operation = absl::StrCat(operation, ".admit");
  admission.decision.request_id = request_id;
  admission.decision.parties = summary;
  admission.decision.outcome = absl::StrCat(
      decision.ToString(), " (policy revision '", policy_->revision(), "')");
  return admission;
}

absl::StatusOr<storage::Admission> Admitter::AdmitSign(
    const policy::RequestFacts& facts, const std::set<std::string>& approvers,
    const std::string& request_id) {
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  KAGI_ASSIGN_OR_RETURN(policy::VelocityUsed used,
                        UsedVelocity(facts, now, request_id));
  const policy::Decision decision = policy_->Evaluate(facts, approvers, used);
  KAGI_ASSIGN_OR_RETURN(
      storage::Admission admission,
      Judged(decision, "sign", request_id, facts.Summary(), now));
  for (const policy::Reservation& r : decision.reservations) {
    admission.reservations.push_back({r.scope, now, r.amount.ToBigEndian()});
  }
  return admission;
}

absl::StatusOr<storage::Admission> Admitter::AdmitAdmin(
    const policy::AdminChange& change,
    const google::protobuf::RepeatedPtrField<v1::Approval>& approvals,
    const std::string& initiator) const {
  const std::string operation(policy::AdminOperationName(change.operation));
  const std::string summary =
      absl::StrCat(change.Summary(), ", from ", initiator);
  KAGI_ASSIGN_OR_RETURN(std::set<std::string> approvers,
                        Approvers(policy::AdminDigest(change), approvals));
  const policy::Decision decision =
      policy_->EvaluateAdmin(approvers, initiator);
  KAGI_ASSIGN_OR_RETURN(storage::Admission admission,
                        Judged(decision, operation, change.request_id, summary,
                               absl::ToUnixSeconds(clock_->Now())));
  admission.initiator = initiator;  // GetRequestStatus answers only it
  return admission;
}

}  // namespace kagi::node
