#include "services/gateway/request_status.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/gateway/agreement.h"
#include "services/gateway/key_derivation.h"

namespace kagi::gateway {
namespace {

// VerifiedSuccess: `status` names a key and its signatures verify under it.
absl::StatusOr<kagi::v1::KeyInfo> VerifiedSuccess(
    const kagi::v1::RequestStatus& status, const KeyLookup& key_of) {
  if (status.key_id().empty()) {
    return absl::InvalidArgumentError("names no key");
  }
  absl::StatusOr<kagi::v1::KeyInfo> key = key_of(status.key_id());
  if (!key.ok()) return key.status();
  kagi::v1::StartSignResponse signed_result;
  *signed_result.mutable_signatures() = status.signatures();
  // No raw digest items to compare with: each signature is checked over
  // its own digest and path under the key.
  const absl::Status verified =
      VerifySignResponse(*key, kagi::v1::SignRequest(), signed_result);
  if (!verified.ok()) return verified;
  return key;
}

// Members: the nodes of `nodes` that hold a share of `key`.
std::vector<std::string> Members(const std::vector<std::string>& nodes,
                                 const kagi::v1::KeyInfo& key) {
  std::set<std::string> of_key;
  for (const kagi::v1::KeyParty& p : key.parties()) of_key.insert(p.node());
  std::vector<std::string> out;
  for (const std::string& n : nodes) {
    if (of_key.count(n) != 0) out.push_back(n);
  }
  return out;
}

// AgreedOtherState: the most advanced state other than "succeeded" that
// enough nodes report alike (same state, key and request digest): the key's
// threshold of its members when the answers name a key the gateway knows,
// else two nodes (one when only one answered). Otherwise "unknown" (resending
// the same request is always safe), naming what each node said.
kagi::v1::RequestStatus AgreedOtherState(
    const std::string& request_id, const std::vector<StatusAnswer>& answers,
    const std::string& wanted_key_id, const KeyLookup& key_of) {
  std::map<std::tuple<int, std::string, std::string, std::string>,
           std::pair<kagi::v1::RequestStatus, std::vector<std::string>>,
           std::greater<>>
      groups;
  std::vector<std::string> said;
  for (const StatusAnswer& a : answers) {
    const kagi::v1::RequestStatus& st = a.status;
    const int rank = RequestStateRank(st.state());
    if (rank <= RequestStateRank("unknown")) continue;
    if (!wanted_key_id.empty() && st.key_id() != wanted_key_id) continue;
    said.push_back(absl::StrCat(a.node, ": ", st.state()));
    auto& group = groups[{rank, st.state(), st.key_id(), st.request_digest()}];
    if (group.second.empty()) group.first = st;
    group.second.push_back(a.node);
  }
  for (auto& [what, group] : groups) {
    const std::string& key_id = std::get<2>(what);
    size_t needed = std::min<size_t>(2, answers.size());
    std::vector<std::string> agreeing = group.second;
    if (!key_id.empty()) {
      absl::StatusOr<kagi::v1::KeyInfo> key = key_of(key_id);
      if (key.ok()) {
        needed = key->threshold();
        agreeing = Members(group.second, *key);
      }
    }
    if (!agreeing.empty() && agreeing.size() >= needed) {
      kagi::v1::RequestStatus out = group.first;
      for (const std::string& n : agreeing) out.add_confirmed_by(n);
      return out;
    }
  }
  kagi::v1::RequestStatus unknown;
  unknown.set_request_id(request_id);
  unknown.set_state("unknown");
  if (!said.empty()) {
    unknown.set_outcome(absl::StrCat("no state is confirmed by enough nodes (",
                                     absl::StrJoin(said, "; "), ")"));
  }
  return unknown;
}

}  // namespace

absl::StatusOr<kagi::v1::RequestStatus> AgreedStatus(
    const std::vector<StatusAnswer>& answers, const std::string& wanted_key_id,
    const KeyLookup& key_of) {
  // Identical "succeeded" answers, by their encoding, with their nodes.
  std::map<std::string, std::vector<std::string>> successes;
  std::vector<StatusAnswer> others_by_node;
  for (const StatusAnswer& a : answers) {
    if (RequestStateRank(a.status.state()) == RequestStateRank("succeeded")) {
      if (wanted_key_id.empty() || a.status.key_id() == wanted_key_id) {
        successes[a.status.SerializeAsString()].push_back(a.node);
      }
    } else {
      others_by_node.push_back(a);
    }
  }
  std::vector<std::string> unconfirmed;
  for (const auto& [encoded, nodes] : successes) {
    kagi::v1::RequestStatus status;
    status.ParseFromString(encoded);
    absl::StatusOr<kagi::v1::KeyInfo> key = VerifiedSuccess(status, key_of);
    if (!key.ok()) continue;  // a lie, or a key nobody else vouches for
    const std::vector<std::string> members = Members(nodes, *key);
    if (members.size() >= key->threshold() && !members.empty()) {
      for (const std::string& m : members) status.add_confirmed_by(m);
      return status;
    }
    unconfirmed.push_back(absl::StrCat(absl::StrJoin(nodes, ", "), " (",
                                       members.size(), " of threshold ",
                                       key->threshold(), ")"));
  }
  if (!unconfirmed.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "request '", answers.front().status.request_id(),
        "': a success is reported by ", absl::StrJoin(unconfirmed, "; "),
        ", fewer members of the key than its threshold agree: ask again when "
        "more of them are reachable"));
  }
  if (answers.empty()) {
    return absl::NotFoundError("no node answered about the request");
  }
  return AgreedOtherState(answers.front().status.request_id(), others_by_node,
                          wanted_key_id, key_of);
}

}  // namespace kagi::gateway
