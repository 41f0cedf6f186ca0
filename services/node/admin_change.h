// File: services/node/admin_change.h
//
// What a key administration request changes, as this node sees it: the
// AdminChange (libs/policy/request_digest.h) whose digest the admin quorum
// must have signed, rebuilt from the node's own share and config plus the
// gateway's request. The current epoch, threshold and committee come from the
// node's share when it holds one (a joining node, which has none, takes them
// from the request: the nodes that hold shares check them), node names from
// the node's own config. A refresh that changes the committee or threshold is
// refused here, before any approval is looked at.
#ifndef KAGI_SERVICES_NODE_ADMIN_CHANGE_H_
#define KAGI_SERVICES_NODE_ADMIN_CHANGE_H_

#include <array>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "kagi/v1/node.pb.h"
#include "libs/policy/request_digest.h"
#include "libs/protocol/keyshare.h"

namespace kagi::node {

// NodeNameOf returns the configured node name of an identity key, or "" for
// a key this node does not know.
using NodeNameOf = std::function<std::string(const std::array<uint8_t, 32>&)>;

// DkgChange: the create_key change of a StartDkg request; InvalidArgument
// when it names no network or a malformed one.
absl::StatusOr<policy::AdminChange> DkgChange(
    const v1::StartDkgRequest& request, const NodeNameOf& name_of);

// ReshareChange: the refresh or reshare change of a StartReshare request.
// `old_share` is this node's share of the key at the request's epoch, or
// null for a node joining the committee. Refuses (FailedPrecondition) a
// request whose old committee differs from the share's, or whose networks
// differ from a bound share's, and (PermissionDenied) a refresh that changes
// the committee or threshold.
absl::StatusOr<policy::AdminChange> ReshareChange(
    const v1::StartReshareRequest& request, const protocol::KeyShare* old_share,
    const NodeNameOf& name_of);

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_ADMIN_CHANGE_H_
