#include "services/node/node_service.h"

#include "absl/strings/str_cat.h"
#include "libs/transport/tls.h"

namespace kagi::node {

NodeServiceImpl::NodeServiceImpl(NodeCore* core, const v1::NodeConfig& config)
    : core_(core),
      gateways_(config.gateways().begin(), config.gateways().end()) {}

absl::Status NodeServiceImpl::Authorize(const grpc::ServerContext& ctx) const {
  absl::StatusOr<transport::CertIdentity> id = transport::PeerIdentity(ctx);
  if (!id.ok()) return id.status();
  if (id->role != transport::Role::kGateway || gateways_.count(id->name) == 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(id->ToString(), " may not call kagi.v1.Node on ",
                     core_->name(), " (only the configured gateways may)"));
  }
  return absl::OkStatus();
}

grpc::Status NodeServiceImpl::Reply(const absl::Status& status,
                                    const PartyNames& names) const {
  return transport::ToGrpcStatus(status, core_->name(),
                                 [&names](uint32_t party) -> std::string {
                                   auto it = names.find(party);
                                   return it == names.end() ? "" : it->second;
                                 });
}

// Recorded runs `call` for `client` unless the client is over its refusal
// budget (then RESOURCE_EXHAUSTED, unrecorded: the episode gets one summary
// record); a refusal that never reached the store is put on the audit
// record here.
template <typename Call>
auto NodeServiceImpl::Recorded(absl::string_view op,
                               absl::string_view request_id,
                               absl::string_view client, const CallInfo* info,
                               Call call) const -> decltype(call()) {
  if (absl::Status budget = core_->CheckClient(client); !budget.ok()) {
    return budget;
  }
  auto result = call();
  if (!result.ok() && !info->recorded) {
    core_->RecordRefusal(op, request_id, client, result.status());
  }
  return result;
}

// Each handler: authenticate, run, translate. The macro keeps the three
// steps identical across handlers.
#define KAGI_NODE_HANDLER(call)                                            \
  if (absl::Status auth = Authorize(*ctx); !auth.ok()) return Reply(auth); \
  CallInfo info;                                                           \
  auto result = (call);                                                    \
  if (!result.ok()) return Reply(result.status(), info.names);             \
  *resp = *std::move(result);                                              \
  return grpc::Status::OK

grpc::Status NodeServiceImpl::GetNodeInfo(grpc::ServerContext* ctx,
                                          const v1::GetNodeInfoRequest*,
                                          v1::NodeInfo* resp) {
  KAGI_NODE_HANDLER(absl::StatusOr<v1::NodeInfo>(core_->Info()));
}

grpc::Status NodeServiceImpl::StartDkg(grpc::ServerContext* ctx,
                                       const v1::StartDkgRequest* req,
                                       v1::KeyInfo* resp) {
  KAGI_NODE_HANDLER(Recorded("dkg", req->request_id(), req->initiator(), &info,
                             [&] { return core_->StartDkg(*req, &info); }));
}

grpc::Status NodeServiceImpl::StartSign(grpc::ServerContext* ctx,
                                        const v1::StartSignRequest* req,
                                        v1::StartSignResponse* resp) {
  KAGI_NODE_HANDLER(Recorded("sign", req->request().request_id(),
                             req->initiator(), &info,
                             [&] { return core_->StartSign(*req, &info); }));
}

grpc::Status NodeServiceImpl::StartReshare(grpc::ServerContext* ctx,
                                           const v1::StartReshareRequest* req,
                                           v1::KeyInfo* resp) {
  KAGI_NODE_HANDLER(Recorded("reshare", req->request_id(), req->initiator(),
                             &info,
                             [&] { return core_->StartReshare(*req, &info); }));
}

grpc::Status NodeServiceImpl::GetKey(grpc::ServerContext* ctx,
                                     const v1::GetKeyRequest* req,
                                     v1::KeyInfo* resp) {
  KAGI_NODE_HANDLER(core_->GetKey(req->key_id()));
}

grpc::Status NodeServiceImpl::ListKeys(grpc::ServerContext* ctx,
                                       const v1::ListKeysRequest*,
                                       v1::ListKeysResponse* resp) {
  KAGI_NODE_HANDLER(core_->ListKeys());
}

grpc::Status NodeServiceImpl::Activate(grpc::ServerContext* ctx,
                                       const v1::ActivateRequest* req,
                                       v1::ActivateResponse* resp) {
  KAGI_NODE_HANDLER(core_->Activate(*req));
}

grpc::Status NodeServiceImpl::GetRequestStatus(
    grpc::ServerContext* ctx, const v1::GetRequestStatusRequest* req,
    v1::RequestStatus* resp) {
  KAGI_NODE_HANDLER(core_->GetRequestStatus(*req));
}

#undef KAGI_NODE_HANDLER

PeerServiceImpl::PeerServiceImpl(NodeCore* core, const v1::NodeConfig& config)
    : core_(core) {
  for (const v1::PeerConfig& p : config.peers()) peers_.insert(p.name());
}

absl::StatusOr<std::string> PeerServiceImpl::Authorize(
    const grpc::ServerContext& ctx) const {
  absl::StatusOr<transport::CertIdentity> id = transport::PeerIdentity(ctx);
  if (!id.ok()) return id.status();
  if (id->role != transport::Role::kNode || peers_.count(id->name) == 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(id->ToString(), " may not call kagi.v1.Peer on ",
                     core_->name(), " (only the configured peer nodes may)"));
  }
  return id->name;
}

grpc::Status PeerServiceImpl::Deliver(grpc::ServerContext* ctx,
                                      const v1::DeliverRequest* req,
                                      v1::DeliverResponse*) {
  absl::StatusOr<std::string> peer = Authorize(*ctx);
  if (!peer.ok()) return transport::ToGrpcStatus(peer.status(), core_->name());
  return transport::ToGrpcStatus(core_->Deliver(*peer, *req), core_->name());
}

grpc::Status PeerServiceImpl::ExchangeRequestClaims(
    grpc::ServerContext* ctx, const v1::RequestClaims* req,
    v1::RequestClaims* resp) {
  absl::StatusOr<std::string> peer = Authorize(*ctx);
  if (!peer.ok()) return transport::ToGrpcStatus(peer.status(), core_->name());
  absl::StatusOr<v1::RequestClaims> out =
      core_->ExchangeRequestClaims(*peer, *req);
  if (!out.ok()) return transport::ToGrpcStatus(out.status(), core_->name());
  *resp = *std::move(out);
  return grpc::Status::OK;
}

}  // namespace kagi::node
