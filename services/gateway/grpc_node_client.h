// File: services/gateway/grpc_node_client.h
//
// GrpcNodeClient: the NodeClient of kagi-gateway, one kagi.v1.Node stub per
// node over the channel it is given (mTLS in production, pinned to the node
// name). Calls use gRPC's callback API; a fan-out waits for its answers on
// the caller's thread. Thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_GRPC_NODE_CLIENT_H_
#define KAGI_SERVICES_GATEWAY_GRPC_NODE_CLIENT_H_

#include <grpcpp/channel.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kagi/v1/config.pb.h"
#include "kagi/v1/node.grpc.pb.h"
#include "services/gateway/node_client.h"

namespace kagi::gateway {

// NodeChannel is the channel to one node, named as the gateway knows it.
struct NodeChannel {
  std::string name;
  std::shared_ptr<grpc::ChannelInterface> channel;
};

class GrpcNodeClient final : public NodeClient {
 public:
  // Create makes a client over `nodes` (in configuration order).
  // InvalidArgument if there is no node, a node name is empty or repeated,
  // or a channel is null.
  static absl::StatusOr<std::unique_ptr<GrpcNodeClient>> Create(
      std::vector<NodeChannel> nodes);

  // FromConfig makes one mTLS channel per configured node (the gateway's own
  // certificate as client certificate, the node name as expected server
  // name). `config` must be validated (transport::LoadGatewayConfig). Errors
  // from the TLS files name the file.
  static absl::StatusOr<std::unique_ptr<GrpcNodeClient>> FromConfig(
      const kagi::v1::GatewayConfig& config);

  const std::vector<std::string>& NodeNames() const override { return names_; }

  std::vector<NodeReply<kagi::v1::NodeInfo>> GetNodeInfo(
      absl::Span<const size_t> nodes, absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::KeyInfo>> StartDkg(
      absl::Span<const size_t> nodes, const kagi::v1::StartDkgRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::StartSignResponse>> StartSign(
      absl::Span<const size_t> nodes, const kagi::v1::StartSignRequest& request,
      absl::Time deadline, const StopWhen& stop) override;
  std::vector<NodeReply<kagi::v1::KeyInfo>> StartReshare(
      absl::Span<const size_t> nodes,
      const kagi::v1::StartReshareRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::KeyInfo>> GetKey(
      absl::Span<const size_t> nodes, const kagi::v1::GetKeyRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::ListKeysResponse>> ListKeys(
      absl::Span<const size_t> nodes, const kagi::v1::ListKeysRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::RequestStatus>> GetRequestStatus(
      absl::Span<const size_t> nodes,
      const kagi::v1::GetRequestStatusRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::ActivateResponse>> Activate(
      absl::Span<const size_t> nodes, const kagi::v1::ActivateRequest& request,
      absl::Time deadline) override;

 private:
  GrpcNodeClient(std::vector<std::string> names,
                 std::vector<std::unique_ptr<kagi::v1::Node::Stub>> stubs);

  // CallEach sends `request` to each of `nodes` at once with
  // `invoke(async_stub, ctx, request, response, done)` and waits for every
  // answer. With `stop`: as soon as one call ends with a status for which
  // stop(status) holds, the calls still running are cancelled (and marked
  // `cancelled`).
  template <typename Request, typename Response, typename Invoke>
  std::vector<NodeReply<Response>> CallEach(absl::Span<const size_t> nodes,
                                            const Request& request,
                                            absl::Time deadline, Invoke invoke,
                                            const StopWhen& stop = nullptr);

  const std::vector<std::string> names_;
  const std::vector<std::unique_ptr<kagi::v1::Node::Stub>> stubs_;
};

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_GRPC_NODE_CLIENT_H_
