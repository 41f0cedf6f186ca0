// File: services/node/node_service.h
//
// The gRPC faces of a node: kagi.v1.Node for gateways and kagi.v1.Peer for
// the other nodes, both on the node's one mTLS port. Each handler first
// authenticates the caller from its certificate (libs/transport/tls.h): Node
// calls only from a certificate with role "gateway" whose name the config
// lists under `gateways`; Peer calls only from role "node" with a name under
// `peers`. A node certificate can therefore never act as a gateway, nor a
// gateway certificate as a peer. Errors leave as gRPC statuses whose details
// name the reporting node and, for protocol aborts, the culprit nodes.
#ifndef KAGI_SERVICES_NODE_NODE_SERVICE_H_
#define KAGI_SERVICES_NODE_NODE_SERVICE_H_

#include <set>
#include <string>

#include "kagi/v1/node.grpc.pb.h"
#include "services/node/node.h"

namespace kagi::node {

class NodeServiceImpl final : public v1::Node::Service {
 public:
  explicit NodeServiceImpl(NodeCore* core, const v1::NodeConfig& config);

  grpc::Status GetNodeInfo(grpc::ServerContext* ctx,
                           const v1::GetNodeInfoRequest* req,
                           v1::NodeInfo* resp) override;
  grpc::Status StartDkg(grpc::ServerContext* ctx,
                        const v1::StartDkgRequest* req,
                        v1::KeyInfo* resp) override;
  grpc::Status StartSign(grpc::ServerContext* ctx,
                         const v1::StartSignRequest* req,
                         v1::StartSignResponse* resp) override;
  grpc::Status StartReshare(grpc::ServerContext* ctx,
                            const v1::StartReshareRequest* req,
                            v1::KeyInfo* resp) override;
  grpc::Status GetKey(grpc::ServerContext* ctx, const v1::GetKeyRequest* req,
                      v1::KeyInfo* resp) override;
  grpc::Status ListKeys(grpc::ServerContext* ctx,
                        const v1::ListKeysRequest* req,
                        v1::ListKeysResponse* resp) override;
  grpc::Status GetRequestStatus(grpc::ServerContext* ctx,
                                const v1::GetRequestStatusRequest* req,
                                v1::RequestStatus* resp) override;
  grpc::Status Activate(grpc::ServerContext* ctx,
                        const v1::ActivateRequest* req,
                        v1::ActivateResponse* resp) override;

 private:
  absl::Status Authorize(const grpc::ServerContext& ctx) const;
  grpc::Status Reply(const absl::Status& status,
                     const PartyNames& names = {}) const;
  // Handle: authenticate, run `call` (which fills the CallInfo), translate.
  template <typename Response, typename Call>
  grpc::Status Handle(const grpc::ServerContext& ctx, Response* resp,
                      Call call) const;

  NodeCore* core_;
  std::set<std::string> gateways_;
};

class PeerServiceImpl final : public v1::Peer::Service {
 public:
  explicit PeerServiceImpl(NodeCore* core, const v1::NodeConfig& config);

  grpc::Status Deliver(grpc::ServerContext* ctx, const v1::DeliverRequest* req,
                       v1::DeliverResponse* resp) override;
  grpc::Status ExchangeRequestClaims(grpc::ServerContext* ctx,
                                     const v1::RequestClaims* req,
                                     v1::RequestClaims* resp) override;

 private:
  // Authorize returns the calling peer's node name.
  absl::StatusOr<std::string> Authorize(const grpc::ServerContext& ctx) const;
  NodeCore* core_;
  std::set<std::string> peers_;
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_NODE_SERVICE_H_
