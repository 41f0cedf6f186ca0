// File: services/gateway/sign.cc
//
// Gateway::Sign in named steps: resolve the signers (the key's parties
// placed on nodes, the signer sets planned), run one attempt per signer set
// until one succeeds or a node's answer ends the request, and summarize a
// request that found no signer set that worked. See gateway.h.
//
// Retry rules (node_errors.h, ClassifySignerError): a transient error
// (UNAVAILABLE, DEADLINE_EXCEEDED, a class-"A" abort) tries the next signer
// set, without a node that was unreachable; one node's own fault tries the
// next signer set without that node; a refusal of the request or a blame
// ends the request with that node's error, forwarded unchanged. With no set
// left, the client gets the last node fault's code and details, or
// UNAVAILABLE if any failure was transient.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/gateway/agreement.h"
#include "services/gateway/gateway.h"
#include "services/gateway/key_derivation.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/request_shape.h"
#include "services/gateway/signer_sets.h"

namespace kagi::gateway {

using kagi::v1::KeyInfo;
using SignReply = NodeReply<kagi::v1::StartSignResponse>;

// The state of one Sign request across its attempts.
struct Gateway::SignPlan {
  // party_nodes[id - 1]: the node of party `id`, if the gateway knows it.
  std::vector<std::optional<size_t>> party_nodes;
  std::vector<std::vector<uint32_t>> signer_sets;  // in the order to try
  uint32_t max_attempts = 0;
  absl::flat_hash_set<uint32_t> unhealthy;  // failed the first probe
  absl::flat_hash_set<uint32_t> excluded;   // down for this request
  absl::flat_hash_set<uint32_t> rechecked;  // probed a second time
  std::vector<std::string> attempt_log;
  uint32_t attempts = 0;
  // The last node fault, if any: what the client gets when no signer set is
  // left and no failure was transient (a per-client limit or a payload bound
  // every node applies, say); with a transient one, UNAVAILABLE (one faulty
  // node must not make an outage look permanent).
  std::optional<absl::Status> node_fault;
  bool transient = false;
};

// The outcome of one attempt with one signer set.
struct Gateway::SignAttempt {
  std::vector<uint32_t> signers;
  std::vector<std::string> names;  // the signers' nodes
  std::vector<SignReply> calls;    // indexed like signers
  std::vector<size_t> answered;    // calls that succeeded
  std::vector<std::string> failures;
  // The call whose error ends the request (blamed or refused), if any.
  std::optional<size_t> fatal;
};

absl::StatusOr<kagi::v1::SignResponse> Gateway::Sign(
    const kagi::v1::SignRequest& request, absl::string_view initiator,
    absl::Time deadline) {
  if (absl::Status valid = ValidateSignRequest(request); !valid.ok()) {
    return valid;
  }
  // Signing is the hot path: the probe and the key description are reused
  // for a moment (NodeView::kRecentTtl) instead of costing two fan-outs per
  // request. Any failure forgets them, so the next request looks again.
  const std::vector<Probe> probes = view_.RecentProbe(deadline);
  absl::StatusOr<KeyInfo> key = RecentKey(request.key_id(), probes, deadline);
  if (!key.ok()) {
    return key.status();
  }
  absl::StatusOr<SignPlan> plan = ResolveSigners(*key, probes);
  if (!plan.ok()) {
    return plan.status();
  }
  bool out_of_time = false;
  for (const std::vector<uint32_t>& signers : plan->signer_sets) {
    if (plan->attempts >= plan->max_attempts) {
      break;
    }
    if (!UsableSigners(signers, deadline, &*plan)) {
      continue;
    }
    if (absl::Now() >= deadline) {
      out_of_time = true;
      break;
    }
    ++plan->attempts;
    const SignAttempt attempt =
        SignOnce(request, signers, initiator, deadline, &*plan);
    if (attempt.fatal.has_value()) {
      // Blamed or refused: another signer set would not help.
      ForgetRecent();
      const SignReply& fatal = attempt.calls[*attempt.fatal];
      return ForwardNodeError(fatal.node, fatal.status);
    }
    if (!attempt.answered.empty()) {
      return SignedResponse(*key, request, attempt, plan->attempts);
    }
    ForgetRecent();
    for (size_t i = 0; i < attempt.calls.size(); ++i) {
      if (IsTransportFailure(attempt.calls[i].status.code())) {
        plan->excluded.insert(signers[i]);
      }
    }
    plan->attempt_log.push_back(
        absl::StrCat("attempt ", plan->attempts, " ", NodeList(attempt.names),
                     ": ", absl::StrJoin(attempt.failures, "; ")));
  }
  return SignFailure(*plan, probes, key->threshold(), out_of_time);
}

absl::StatusOr<Gateway::SignPlan> Gateway::ResolveSigners(
    const KeyInfo& key, const std::vector<Probe>& probes) {
  SignPlan plan;
  plan.party_nodes = view_.PartyNodes(key);
  const uint32_t threshold = key.threshold();
  std::vector<uint32_t> usable;
  std::vector<std::string> unknown;
  for (int p = 0; p < key.parties_size(); ++p) {
    const uint32_t id = key.parties(p).id();
    const std::optional<size_t>& node =
        plan.party_nodes[static_cast<size_t>(p)];
    if (!node.has_value()) {
      unknown.push_back(absl::StrCat("party ", id, " (identity key ",
                                     ShortHex(key.parties(p).identity_key()),
                                     ")"));
      continue;
    }
    usable.push_back(id);
    if (!probes[*node].healthy) {
      plan.unhealthy.insert(id);
    }
  }
  if (usable.size() < threshold) {
    return absl::UnavailableError(absl::StrCat(
        "the key needs ", threshold, " signers but only ", usable.size(),
        " of its ", key.parties_size(),
        " parties are nodes this gateway knows; unknown: ",
        absl::StrJoin(unknown, ", "), view_.UnidentifiedNodes(probes)));
  }
  plan.signer_sets =
      PlanSignerSets(usable, plan.unhealthy, threshold, rotation_.fetch_add(1));
  plan.max_attempts = static_cast<uint32_t>(options_.max_sign_attempts > 0
                                                ? options_.max_sign_attempts
                                                : key.parties_size());
  return plan;
}

bool Gateway::UsableSigners(const std::vector<uint32_t>& signers,
                            absl::Time deadline, SignPlan* plan) {
  const auto is_excluded = [plan](uint32_t id) {
    return plan->excluded.contains(id);
  };
  if (std::any_of(signers.begin(), signers.end(), is_excluded)) {
    return false;
  }
  // A party that failed the first probe gets one more before it is used:
  // a node that is really down is then skipped at the cost of a probe
  // instead of a whole signing timeout.
  std::vector<size_t> recheck;
  std::vector<uint32_t> recheck_ids;
  for (uint32_t id : signers) {
    if (plan->unhealthy.contains(id) && !plan->rechecked.contains(id)) {
      recheck.push_back(*plan->party_nodes[id - 1]);
      recheck_ids.push_back(id);
    }
  }
  if (recheck.empty()) {
    return true;
  }
  const std::vector<Probe> again = view_.Probe(recheck, deadline);
  for (size_t k = 0; k < recheck.size(); ++k) {
    plan->rechecked.insert(recheck_ids[k]);
    if (!again[recheck[k]].healthy) {
      plan->excluded.insert(recheck_ids[k]);
    }
  }
  return std::none_of(signers.begin(), signers.end(), is_excluded);
}

Gateway::SignAttempt Gateway::SignOnce(const kagi::v1::SignRequest& request,
                                       const std::vector<uint32_t>& signers,
                                       absl::string_view initiator,
                                       absl::Time deadline, SignPlan* plan) {
  SignAttempt attempt;
  attempt.signers = signers;
  kagi::v1::StartSignRequest start;
  *start.mutable_request() = request;
  start.mutable_signers()->Add(signers.begin(), signers.end());
  start.set_initiator_nonce(NewNonce());
  start.set_initiator(std::string(initiator));
  std::vector<size_t> nodes;
  for (uint32_t id : signers) {
    nodes.push_back(*plan->party_nodes[id - 1]);
    attempt.names.push_back(NameOf(nodes.back()));
  }
  // A signer that refuses or fails ends the attempt at once: the others'
  // sessions could only time out waiting for it.
  attempt.calls = client_->StartSign(
      nodes, start, RequestDeadline(deadline), [](const absl::Status& status) {
        return ClassifySignerError(status) != NodeErrorKind::kRetryable;
      });
  int fatal_rank = 0;
  for (size_t i = 0; i < attempt.calls.size(); ++i) {
    const SignReply& call = attempt.calls[i];
    if (call.status.ok()) {
      attempt.answered.push_back(i);
      continue;
    }
    if (call.cancelled) {
      attempt.failures.push_back(absl::StrCat(attempt.names[i], ": cancelled"));
      continue;
    }
    attempt.failures.push_back(
        DescribeNodeError(attempt.names[i], call.status));
    const NodeErrorKind kind = ClassifySignerError(call.status);
    if (kind == NodeErrorKind::kNodeFault) {
      // That node's own fault: the next signer set goes without it.
      plan->excluded.insert(signers[i]);
      plan->node_fault = call.status;
    } else if (kind == NodeErrorKind::kRetryable) {
      plan->transient = true;
    } else if (!attempt.fatal.has_value() || NodeErrorRank(kind) > fatal_rank) {
      attempt.fatal = i;
      fatal_rank = NodeErrorRank(kind);
    }
  }
  return attempt;
}

absl::StatusOr<kagi::v1::SignResponse> Gateway::SignedResponse(
    const KeyInfo& key, const kagi::v1::SignRequest& request,
    const SignAttempt& attempt, uint32_t attempts) const {
  // Every signer that answered must agree, and what they returned must
  // verify here. If some signers only timed out or became unreachable
  // after the session completed, the signatures still stand: the request
  // id is now used up, so retrying could only fail.
  std::vector<NodeAnswer> answers;
  for (size_t i : attempt.answered) {
    answers.push_back(NodeAnswer{attempt.names[i], &attempt.calls[i].response});
  }
  const kagi::v1::StartSignResponse& signed_answer =
      attempt.calls[attempt.answered[0]].response;
  absl::Status agreed = CheckAgreement(answers, "the signatures");
  if (agreed.ok()) {
    agreed = VerifySignResponse(key, request, signed_answer);
  }
  if (!agreed.ok()) {
    return agreed;
  }
  kagi::v1::SignResponse out;
  *out.mutable_signatures() = signed_answer.signatures();
  out.set_request_digest(signed_answer.request_digest());
  out.set_signed_psbt(signed_answer.signed_psbt());
  if (signed_answer.has_ethereum()) {
    *out.mutable_ethereum() = signed_answer.ethereum();
  }
  out.mutable_signer_nodes()->Add(attempt.names.begin(), attempt.names.end());
  out.set_attempts(attempts);
  return out;
}

absl::Status Gateway::SignFailure(const SignPlan& plan,
                                  const std::vector<Probe>& probes,
                                  uint32_t threshold, bool out_of_time) const {
  if (plan.attempts == 0 && !out_of_time) {
    return absl::UnavailableError(absl::StrCat(
        "no set of ", threshold,
        " signers to try: ", view_.UnhealthyList(probes, view_.All())));
  }
  const std::string summary =
      absl::StrCat("signing failed with every signer set tried (",
                   plan.attempts, " attempt", plan.attempts == 1 ? "" : "s",
                   "): ", absl::StrJoin(plan.attempt_log, " | "));
  if (out_of_time) {
    return absl::DeadlineExceededError(
        absl::StrCat("the caller's deadline passed; ", summary));
  }
  if (plan.node_fault.has_value() && !plan.transient) {
    // The node's code and ErrorDetails, with every attempt in the message.
    return WithNodeDetails(absl::Status(plan.node_fault->code(), summary),
                           *plan.node_fault);
  }
  return absl::UnavailableError(summary);
}

}  // namespace kagi::gateway
