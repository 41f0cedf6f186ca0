#include "libs/policy/policy.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/status_macros.h"
#include "libs/chain/ethereum.h"
#include "libs/policy/compile.h"

namespace kagi::policy {
namespace {

bool Contains(const std::set<std::string>& set, absl::string_view value) {
  return set.count(std::string(value)) != 0;
}

std::string QuorumText(const std::vector<Quorum>& quorums) {
  std::vector<std::string> parts;
  for (const Quorum& q : quorums) {
    parts.push_back(absl::StrCat(q.count, " of ", q.group));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, " + ");
}

// VelocityExcess returns "" when `add` on top of what `used` holds under
// `scope` stays within `max`, else "<before> already admitted in the last
// <window> s plus <what> <add> exceeds <max>". The one velocity rule, for a
// rule's own window and for the native asset's windows a token's gas uses.
std::string VelocityExcess(const VelocityUsed& used, const std::string& scope,
                           uint64_t window_seconds, absl::string_view what,
                           const Amount& add, const Amount& max) {
  auto it = used.find(scope);
  const Amount before = it == used.end() ? Amount() : it->second;
  absl::StatusOr<Amount> after = before.Add(add);
  if (after.ok() && *after <= max) return "";
  return absl::StrCat(before.ToString(), " already admitted in the last ",
                      window_seconds, " s plus ", what, add.ToString(),
                      " exceeds ", max.ToString());
}

// CoversKey: the rule names no keys or names `key_id`.
bool CoversKey(const Rule& r, absl::string_view key_id) {
  return r.key_ids.empty() || Contains(r.key_ids, key_id);
}

// TransferFailures appends why the decoded transaction of `facts` is not one
// `r` allows (networks, assets, destinations, amounts, fee, calls, velocity).
void TransferFailures(const Rule& r, const RequestFacts& facts,
                      const VelocityUsed& used, std::vector<std::string>& why) {
  if (!Contains(r.networks, facts.network)) {
    why.push_back(absl::StrCat("network ", facts.network, " is not allowed"));
  }
  if (!Contains(r.assets, facts.asset)) {
    why.push_back(absl::StrCat("asset ", facts.asset, " is not allowed"));
  }
  if (!r.any_destination) {
    for (const Transfer& t : facts.transfers) {
      if (!Contains(r.destinations, t.destination)) {
        why.push_back(absl::StrCat("destination ", t.destination,
                                   " is not in the allowlist"));
      }
    }
  }
  if (r.max_amount < facts.amount) {
    why.push_back(absl::StrCat("amount ", facts.amount.ToString(),
                               " is above max_amount ",
                               r.max_amount.ToString()));
  }
  if (r.max_fee != 0 && Amount::FromU64(r.max_fee) < facts.fee) {
    why.push_back(absl::StrCat("fee ", facts.fee.ToString(),
                               " is above max_fee ", r.max_fee));
  }
  if (facts.contract_call && !r.allow_contract_calls) {
    why.push_back("contract call data or creation is not allowed");
  }
  if (r.velocity.has_value()) {
    const std::string excess = VelocityExcess(
        used, VelocityScope(r.name, facts.key_id, facts.asset),
        r.velocity->window_seconds, "", facts.amount, r.velocity->max_amount);
    if (!excess.empty()) why.push_back(absl::StrCat("velocity: ", excess));
  }
}

// RequiredQuorums: the rule's approvals plus those of every tier the amount
// is above (a group named again needs the counts added).
std::vector<Quorum> RequiredQuorums(const Rule& r, const RequestFacts& facts) {
  std::vector<Quorum> quorums = r.approvals;
  if (facts.chain == kRawDigest) return quorums;
  for (const ApprovalTier& tier : r.tiers) {
    if (!(tier.above < facts.amount)) continue;
    for (const Quorum& extra : tier.approvals) {
      auto same =
          std::find_if(quorums.begin(), quorums.end(),
                       [&](const Quorum& q) { return q.group == extra.group; });
      if (same == quorums.end()) {
        quorums.push_back(extra);
      } else {
        same->count += extra.count;
      }
    }
  }
  return quorums;
}

// AllSlotsFilled assigns distinct `people` to `slots` (one group name per
// required approval) by augmenting paths (bipartite matching), so that an
// approver in two groups fills one slot only.
bool AllSlotsFilled(const std::vector<std::string>& slots,
                    const std::vector<const ApproverEntry*>& people) {
  std::vector<int> slot_owner(slots.size(), -1);
  std::function<bool(size_t, std::vector<bool>&)> assign =
      [&](size_t person, std::vector<bool>& visited) -> bool {
    for (size_t s = 0; s < slots.size(); ++s) {
      if (visited[s] || people[person]->groups.count(slots[s]) == 0) continue;
      visited[s] = true;
      if (slot_owner[s] < 0 ||
          assign(static_cast<size_t>(slot_owner[s]), visited)) {
        slot_owner[s] = static_cast<int>(person);
        return true;
      }
    }
    return false;
  };
  for (size_t person = 0; person < people.size(); ++person) {
    std::vector<bool> visited(slots.size(), false);
    assign(person, visited);
  }
  return std::all_of(slot_owner.begin(), slot_owner.end(),
                     [](int o) { return o >= 0; });
}

}  // namespace

absl::StatusOr<std::string> NormalizeAddress(absl::string_view chain,
                                             absl::string_view address) {
  if (address.empty() || address.size() > 128) {
    return absl::InvalidArgumentError("address: must be 1..128 characters");
  }
  if (chain == kEthereum) {
    KAGI_ASSIGN_OR_RETURN(chain::EthAddress a, chain::ParseAddress(address));
    return chain::Eip55Checksum(a);
  }
  const std::string lower = absl::AsciiStrToLower(address);
  if (absl::StartsWith(lower, "bc1") || absl::StartsWith(lower, "tb1") ||
      absl::StartsWith(lower, "bcrt1")) {
    return lower;
  }
  return std::string(address);
}

absl::string_view NativeAsset(absl::string_view chain) {
  if (chain == kBitcoin) return "BTC";
  if (chain == kEthereum) return "ETH";
  return "";
}

std::string VelocityScope(absl::string_view rule, absl::string_view key_id,
                          absl::string_view asset) {
  return absl::StrCat(rule, "|", key_id, "|", asset);
}

std::string RequestFacts::Summary() const {
  std::string out = absl::StrCat(chain);
  if (!network.empty()) absl::StrAppend(&out, " ", network);
  if (!asset.empty()) absl::StrAppend(&out, " ", asset);
  absl::StrAppend(&out, " key ", key_id);
  if (!initiator.empty()) absl::StrAppend(&out, " from ", initiator);
  if (chain != kRawDigest) {
    std::vector<std::string> to;
    for (const Transfer& t : transfers) {
      to.push_back(absl::StrCat(t.amount.ToString(), " to ", t.destination));
    }
    absl::StrAppend(&out, ": ",
                    to.empty() ? std::string("no external transfer")
                               : absl::StrJoin(to, ", "),
                    "; total ", amount.ToString());
    if (asset == NativeAsset(chain)) {
      absl::StrAppend(&out, " incl. fee ", fee.ToString());
    } else {
      absl::StrAppend(&out, "; fee up to ", fee.ToString(), " ",
                      NativeAsset(chain));
    }
    if (contract_call) absl::StrAppend(&out, "; contract call");
  }
  for (const std::string& n : notes) absl::StrAppend(&out, "; ", n);
  return out;
}

std::string Decision::ToString() const {
  if (allowed) {
    return absl::StrCat("allowed by rule '", rule, "' with approvals of [",
                        absl::StrJoin(approvers, ","), "]");
  }
  return absl::StrCat("denied: ", absl::StrJoin(reasons, "; "));
}

absl::StatusOr<Policy> Policy::FromProto(const v1::Policy& proto) {
  KAGI_ASSIGN_OR_RETURN(PolicyModel model, CompilePolicy(proto));
  return Policy(std::move(model));
}

const ApproverEntry* Policy::FindApprover(absl::string_view name) const {
  for (const ApproverEntry& a : model_.approvers) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::vector<VelocityQuery> Policy::VelocityQueries(
    const RequestFacts& facts) const {
  std::vector<VelocityQuery> out;
  for (const Rule& r : model_.rules) {
    if (!r.velocity.has_value() || r.chain != facts.chain) continue;
    out.push_back({VelocityScope(r.name, facts.key_id, facts.asset),
                   r.velocity->window_seconds});
  }
  const absl::string_view native = NativeAsset(facts.chain);
  for (const Rule* r : GasRules(facts)) {
    out.push_back({VelocityScope(r->name, facts.key_id, native),
                   r->velocity->window_seconds});
  }
  return out;
}

std::vector<const Rule*> Policy::GasRules(const RequestFacts& facts) const {
  std::vector<const Rule*> out;
  const absl::string_view native = NativeAsset(facts.chain);
  if (native.empty() || facts.asset == native) return out;
  for (const Rule& r : model_.rules) {
    if (r.chain == facts.chain && r.velocity.has_value() &&
        Contains(r.assets, native) && Contains(r.networks, facts.network) &&
        CoversKey(r, facts.key_id)) {
      out.push_back(&r);
    }
  }
  return out;
}

std::vector<std::string> Policy::GasFailures(
    const RequestFacts& facts, const VelocityUsed& used,
    std::vector<Reservation>* gas) const {
  std::vector<std::string> why;
  const absl::string_view native = NativeAsset(facts.chain);
  for (const Rule* r : GasRules(facts)) {
    const std::string scope = VelocityScope(r->name, facts.key_id, native);
    const std::string excess =
        VelocityExcess(used, scope, r->velocity->window_seconds, "fee ",
                       facts.fee, r->velocity->max_amount);
    if (!excess.empty()) {
      why.push_back(absl::StrCat("gas: velocity of rule '", r->name, "' (",
                                 native, "): ", excess));
    }
    gas->push_back({scope, facts.fee});
  }
  return why;
}

std::string Policy::QuorumShortfall(
    const std::vector<Quorum>& quorums,
    const std::set<std::string>& approvers) const {
  std::vector<std::string> slots;
  for (const Quorum& q : quorums) {
    for (uint32_t k = 0; k < q.count; ++k) slots.push_back(q.group);
  }
  std::vector<const ApproverEntry*> people;
  for (const std::string& name : approvers) {
    if (const ApproverEntry* a = FindApprover(name)) people.push_back(a);
  }
  if (AllSlotsFilled(slots, people)) return "";
  std::vector<std::string> have;
  for (const ApproverEntry* a : people) have.push_back(a->name);
  return absl::StrCat("approvals: needs ", QuorumText(quorums),
                      " (distinct approvers); valid approvals from [",
                      absl::StrJoin(have, ","), "]");
}

std::vector<std::string> Policy::RuleFailures(
    const Rule& r, const RequestFacts& facts,
    const std::set<std::string>& approvers, const VelocityUsed& used,
    bool check_initiator) const {
  std::vector<std::string> why;
  if (check_initiator && !r.initiators.empty() &&
      !Contains(r.initiators, facts.initiator)) {
    why.push_back(absl::StrCat("initiator '", facts.initiator,
                               "' is not one of the rule's initiators"));
  }
  if (!CoversKey(r, facts.key_id)) {
    why.push_back("key is not one of the rule's keys");
  }
  if (facts.chain != kRawDigest) TransferFailures(r, facts, used, why);
  std::string shortfall = QuorumShortfall(RequiredQuorums(r, facts), approvers);
  if (!shortfall.empty()) why.push_back(std::move(shortfall));
  return why;
}

Decision Policy::Evaluate(const RequestFacts& facts,
                          const std::set<std::string>& approvers,
                          const VelocityUsed& used) const {
  return EvaluateWith(facts, approvers, used, /*check_initiator=*/true);
}

Decision Policy::EvaluateCompleted(
    const RequestFacts& facts, const std::set<std::string>& approvers) const {
  return EvaluateWith(facts, approvers, VelocityUsed(),
                      /*check_initiator=*/false);
}

Decision Policy::EvaluateWith(const RequestFacts& facts,
                              const std::set<std::string>& approvers,
                              const VelocityUsed& used,
                              bool check_initiator) const {
  Decision d;
  // The gas of a token transfer leaves in the native asset whichever rule
  // allows the transfer: when it does not fit, no rule allows the request
  // (each rule's own reasons are still listed).
  std::vector<Reservation> gas;
  d.reasons = GasFailures(facts, used, &gas);
  const bool gas_fits = d.reasons.empty();
  bool any = false;
  for (const Rule& r : model_.rules) {
    if (r.chain != facts.chain) continue;
    any = true;
    std::vector<std::string> why =
        RuleFailures(r, facts, approvers, used, check_initiator);
    if (why.empty() && !gas_fits) continue;
    if (why.empty()) {
      d.allowed = true;
      d.rule = r.name;
      d.reasons.clear();
      if (r.velocity.has_value()) {
        d.reservations.push_back(
            {VelocityScope(r.name, facts.key_id, facts.asset), facts.amount});
      }
      d.reservations.insert(d.reservations.end(), gas.begin(), gas.end());
      d.approvers.assign(approvers.begin(), approvers.end());
      return d;
    }
    d.reasons.push_back(
        absl::StrCat("rule '", r.name, "': ", absl::StrJoin(why, ", ")));
  }
  if (!any) {
    d.reasons.push_back(absl::StrCat("no rule of policy revision '",
                                     model_.revision, "' allows chain ",
                                     facts.chain));
  }
  return d;
}

Decision Policy::EvaluateAdmin(const std::set<std::string>& approvers,
                               absl::string_view initiator) const {
  Decision d;
  if (!model_.admin.has_value()) {
    d.reasons.push_back(absl::StrCat(
        "policy revision '", model_.revision,
        "' has no admin section: key creation, refresh and reshare are "
        "refused"));
    return d;
  }
  if (!Contains(model_.admin->initiators, initiator)) {
    d.reasons.push_back(
        absl::StrCat("initiator '", initiator, "' is not in admin.initiators"));
    return d;
  }
  std::string shortfall = QuorumShortfall(model_.admin->approvals, approvers);
  if (!shortfall.empty()) {
    d.reasons.push_back(absl::StrCat("admin ", shortfall));
    return d;
  }
  d.allowed = true;
  d.rule = "admin";
  d.approvers.assign(approvers.begin(), approvers.end());
  return d;
}

}  // namespace kagi::policy
