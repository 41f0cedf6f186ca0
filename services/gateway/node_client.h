// File: services/gateway/node_client.h
//
// NodeClient: how the gateway's coordinator talks to the key-share nodes.
// Each method sends one kagi.v1.Node request to a set of nodes at once (a
// fan-out; a set of one is a per-node call) and returns every node's answer,
// in the order of `nodes`, once all have answered or the deadline passed.
//
// Nodes are named by their index in NodeNames() (configuration order).
// A node's error is an absl::Status made by NodeStatus (node_errors.h): the
// node's code and message, its ErrorDetails kept unchanged; an error of the
// way to the node (unreachable, deadline) has no details.
//
// Implementations: GrpcNodeClient (grpc_node_client.h), one mTLS channel per
// node; testing/fake_node_client.h, in-process nodes for unit tests.
// Implementations are thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_NODE_CLIENT_H_
#define KAGI_SERVICES_GATEWAY_NODE_CLIENT_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/node.pb.h"

namespace kagi::gateway {

// One node's answer in a fan-out.
template <typename Response>
struct NodeReply {
  size_t node = 0;  // index into NodeNames()
  absl::Status status;
  Response response;  // meaningful when status is OK
  // The fan-out was stopped by another node's answer (StopWhen) before this
  // one ended: `status` is CANCELLED or whatever the node managed to answer.
  bool cancelled = false;
};

// StopWhen(status) tells whether a failed answer ends the fan-out: the calls
// still running are then cancelled.
using StopWhen = std::function<bool(const absl::Status&)>;

class NodeClient {
 public:
  virtual ~NodeClient() = default;

  // The nodes' names in configuration order: distinct and non-empty.
  virtual const std::vector<std::string>& NodeNames() const = 0;

  virtual std::vector<NodeReply<kagi::v1::NodeInfo>> GetNodeInfo(
      absl::Span<const size_t> nodes, absl::Time deadline) = 0;
  virtual std::vector<NodeReply<kagi::v1::KeyInfo>> StartDkg(
      absl::Span<const size_t> nodes, const kagi::v1::StartDkgRequest& request,
      absl::Time deadline) = 0;
  // StartSign stops the fan-out at the first failure for which `stop`
  // holds (none when `stop` is null).
  virtual std::vector<NodeReply<kagi::v1::StartSignResponse>> StartSign(
      absl::Span<const size_t> nodes, const kagi::v1::StartSignRequest& request,
      absl::Time deadline, const StopWhen& stop) = 0;
  virtual std::vector<NodeReply<kagi::v1::KeyInfo>> StartReshare(
      absl::Span<const size_t> nodes,
      const kagi::v1::StartReshareRequest& request, absl::Time deadline) = 0;
  virtual std::vector<NodeReply<kagi::v1::KeyInfo>> GetKey(
      absl::Span<const size_t> nodes, const kagi::v1::GetKeyRequest& request,
      absl::Time deadline) = 0;
  virtual std::vector<NodeReply<kagi::v1::ListKeysResponse>> ListKeys(
      absl::Span<const size_t> nodes, const kagi::v1::ListKeysRequest& request,
      absl::Time deadline) = 0;
  virtual std::vector<NodeReply<kagi::v1::RequestStatus>> GetRequestStatus(
      absl::Span<const size_t> nodes,
      const kagi::v1::GetRequestStatusRequest& request,
      absl::Time deadline) = 0;
  virtual std::vector<NodeReply<kagi::v1::ActivateResponse>> Activate(
      absl::Span<const size_t> nodes, const kagi::v1::ActivateRequest& request,
      absl::Time deadline) = 0;
};

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_NODE_CLIENT_H_
