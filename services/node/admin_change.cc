#include "services/node/admin_change.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"
#include "libs/policy/networks.h"

namespace kagi::node {
namespace {

using Key32 = std::array<uint8_t, 32>;
using Keys = google::protobuf::RepeatedPtrField<std::string>;

absl::StatusOr<policy::CommitteeMember> Member(const std::string& key,
                                               const std::string& field,
                                               const NodeNameOf& name_of) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be 32 bytes, got ", key.size()));
  }
  policy::CommitteeMember m;
  std::copy(key.begin(), key.end(), m.identity_key.begin());
  m.node = name_of(m.identity_key);
  if (m.node.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat(field, ": identity key ", HexEncode(m.identity_key),
                     " is not a node this node knows"));
  }
  return m;
}

absl::StatusOr<std::vector<policy::CommitteeMember>> Committee(
    const Keys& keys, absl::string_view field, const NodeNameOf& name_of) {
  std::vector<policy::CommitteeMember> out;
  for (int i = 0; i < keys.size(); ++i) {
    KAGI_ASSIGN_OR_RETURN(
        policy::CommitteeMember m,
        Member(keys.Get(i), absl::StrCat(field, "[", i, "]"), name_of));
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::vector<policy::CommitteeMember>> ShareCommittee(
    const protocol::KeyShare& share, const NodeNameOf& name_of) {
  std::vector<policy::CommitteeMember> out;
  for (const protocol::PartyInfo& p : share.parties) {
    KAGI_ASSIGN_OR_RETURN(
        policy::CommitteeMember m,
        Member(std::string(p.identity_key.begin(), p.identity_key.end()),
               absl::StrCat("share party ", p.id), name_of));
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<policy::AdminOperation> Operation(absl::string_view op) {
  if (op == "refresh") return policy::AdminOperation::kRefresh;
  if (op == "reshare") return policy::AdminOperation::kReshare;
  return absl::InvalidArgumentError(
      "operation: must be \"refresh\" or \"reshare\"");
}

// A refresh renews the shares of the same committee under the same
// threshold; anything else is a reshare and needs a reshare's approval.
absl::Status CheckRefreshKeepsCommittee(const policy::AdminChange& c) {
  if (c.operation != policy::AdminOperation::kRefresh) return absl::OkStatus();
  if (c.new_committee != c.old_committee ||
      c.new_threshold != c.old_threshold) {
    return absl::PermissionDeniedError(absl::StrCat(
        "a refresh keeps the committee and threshold of the key, this request "
        "changes them (",
        c.Summary(), ")"));
  }
  return absl::OkStatus();
}

// CarriedBinding: the binding after a refresh or reshare. A bound key keeps
// its own networks (from this node's share, like its epoch and committee); a
// request naming others is refused. A key made before bindings, and a node
// joining the committee (no share), take the request's: the approvals cover
// them, and the members holding shares check them.
absl::StatusOr<std::vector<std::string>> CarriedBinding(
    const v1::StartReshareRequest& request, policy::AdminOperation op,
    const protocol::KeyShare* old_share) {
  KAGI_ASSIGN_OR_RETURN(
      std::vector<std::string> named,
      policy::ParseNetworkBinding(request.networks(), "networks"));
  if (old_share == nullptr || old_share->networks.empty()) return named;
  if (!named.empty() && named != old_share->networks) {
    return absl::FailedPreconditionError(absl::StrCat(
        "networks: a ", policy::AdminOperationName(op),
        " carries the key's network binding ",
        policy::BindingText(old_share->networks), "; this request names ",
        policy::BindingText(named), " (a bound key's networks never change)"));
  }
  return old_share->networks;
}

}  // namespace

absl::StatusOr<policy::AdminChange> DkgChange(
    const v1::StartDkgRequest& request, const NodeNameOf& name_of) {
  policy::AdminChange c;
  c.operation = policy::AdminOperation::kCreateKey;
  c.request_id = request.request_id();
  c.new_threshold = request.threshold();
  KAGI_ASSIGN_OR_RETURN(
      c.new_committee,
      Committee(request.party_identity_keys(), "party_identity_keys", name_of));
  KAGI_ASSIGN_OR_RETURN(
      c.networks, policy::ParseNetworkBinding(request.networks(), "networks"));
  if (c.networks.empty()) {
    return absl::InvalidArgumentError(
        "networks: a key names at least one network it may sign for "
        "(bitcoin:mainnet, ethereum:1, raw_digest, ...)");
  }
  c.expiry = request.expiry_unix_seconds();
  return c;
}

absl::StatusOr<policy::AdminChange> ReshareChange(
    const v1::StartReshareRequest& request, const protocol::KeyShare* old_share,
    const NodeNameOf& name_of) {
  policy::AdminChange c;
  KAGI_ASSIGN_OR_RETURN(c.operation, Operation(request.operation()));
  c.request_id = request.request_id();
  c.key_id = request.key_id();
  KAGI_ASSIGN_OR_RETURN(std::vector<policy::CommitteeMember> claimed,
                        Committee(request.old_party_identity_keys(),
                                  "old_party_identity_keys", name_of));
  if (old_share != nullptr) {
    c.epoch = old_share->epoch;
    c.old_threshold = old_share->threshold;
    KAGI_ASSIGN_OR_RETURN(c.old_committee, ShareCommittee(*old_share, name_of));
    if (claimed != c.old_committee) {
      return absl::FailedPreconditionError(
          "old_party_identity_keys: differ from the committee of this node's "
          "share of the key");
    }
  } else {
    if (claimed.empty()) {
      return absl::InvalidArgumentError(
          "old_party_identity_keys: required (this node holds no share of the "
          "key)");
    }
    c.epoch = request.epoch();
    c.old_threshold = static_cast<uint32_t>(request.dealers_size());
    c.old_committee = std::move(claimed);
  }
  c.new_threshold = request.new_threshold();
  KAGI_ASSIGN_OR_RETURN(c.new_committee,
                        Committee(request.new_party_identity_keys(),
                                  "new_party_identity_keys", name_of));
  c.dealers.assign(request.dealers().begin(), request.dealers().end());
  KAGI_ASSIGN_OR_RETURN(c.networks,
                        CarriedBinding(request, c.operation, old_share));
  c.expiry = request.expiry_unix_seconds();
  KAGI_RETURN_IF_ERROR(CheckRefreshKeepsCommittee(c));
  return c;
}

}  // namespace kagi::node
