#include "services/node/node_service.h"

#include "absl/strings/str_cat.h"
#include "libs/transport/tls.h"

namespace kagi::node {

namespace {

// Caller: the authenticated caller's name, if its certificate has `role` and
// its name is one of `allowed`; else PermissionDenied naming it and
// `service` on `node`.
absl::StatusOr<std::string> Caller(const grpc::ServerContext& ctx,
                                   transport::Role role,
                                   const std::set<std::string>& allowed,
                                   absl::string_view service,
                                   absl::string_view node,
                                   absl::string_view who_may) {
  absl::StatusOr<transport::CertIdentity> id = transport::PeerIdentity(ctx);
  if (!id.ok()) return id.status();
  if (id->role != role || allowed.count(id->name) == 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(id->ToString(), " may not call ", service, " on ", node,
                     " (only the configured ", who_may, " may)"));
  }
  return id->name;
}

}  // namespace

NodeServiceImpl::NodeServiceImpl(NodeCore* core, const v1::NodeConfig& config)
    : core_(core),
      gateways_(config.gateways().begin(), config.gateways().end()) {}

absl::Status NodeServiceImpl::Authorize(const grpc::ServerContext& ctx) const {
  return Caller(ctx, transport::Role::kGateway, gateways_, "kagi.v1.Node",
                core_->name(), "gateways")
      .status();
}

grpc::Status NodeServiceImpl::Reply(const absl::Status& status,
                                    const PartyNames& names) const {
  return transport::ToGrpcStatus(status, core_->name(),
                                 [&names](uint32_t party) -> std::string {
                                   auto it = names.find(party);
                                   return it == names.end() ? "" : it->second;
                                 });
}

template <typename Response, typename Call>
grpc::Status NodeServiceImpl::Handle(const grpc::ServerContext& ctx,
                                     Response* resp, Call call) const {
  if (absl::Status auth = Authorize(ctx); !auth.ok()) return Reply(auth);
  CallInfo info;
  absl::StatusOr<Response> result = call(&info);
  if (!result.ok()) return Reply(result.status(), info.names);
  *resp = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetNodeInfo(grpc::ServerContext* ctx,
                                          const v1::GetNodeInfoRequest*,
                                          v1::NodeInfo* resp) {
  return Handle(*ctx, resp, [&](CallInfo*) {
    return absl::StatusOr<v1::NodeInfo>(core_->Info());
  });
}

grpc::Status NodeServiceImpl::StartDkg(grpc::ServerContext* ctx,
                                       const v1::StartDkgRequest* req,
                                       v1::KeyInfo* resp) {
  return Handle(*ctx, resp,
                [&](CallInfo* info) { return core_->StartDkg(*req, info); });
}

grpc::Status NodeServiceImpl::StartSign(grpc::ServerContext* ctx,
                                        const v1::StartSignRequest* req,
                                        v1::StartSignResponse* resp) {
  return Handle(*ctx, resp,
                [&](CallInfo* info) { return core_->StartSign(*req, info); });
}

grpc::Status NodeServiceImpl::StartReshare(grpc::ServerContext* ctx,
                                           const v1::StartReshareRequest* req,
                                           v1::KeyInfo* resp) {
  return Handle(*ctx, resp, [&](CallInfo* info) {
    return core_->StartReshare(*req, info);
  });
}

grpc::Status NodeServiceImpl::GetKey(grpc::ServerContext* ctx,
                                     const v1::GetKeyRequest* req,
                                     v1::KeyInfo* resp) {
  return Handle(*ctx, resp,
                [&](CallInfo*) { return core_->GetKey(req->key_id()); });
}

grpc::Status NodeServiceImpl::ListKeys(grpc::ServerContext* ctx,
                                       const v1::ListKeysRequest*,
                                       v1::ListKeysResponse* resp) {
  return Handle(*ctx, resp, [&](CallInfo*) { return core_->ListKeys(); });
}

grpc::Status NodeServiceImpl::Activate(grpc::ServerContext* ctx,
                                       const v1::ActivateRequest* req,
                                       v1::ActivateResponse* resp) {
  return Handle(*ctx, resp, [&](CallInfo*) { return core_->Activate(*req); });
}

grpc::Status NodeServiceImpl::GetRequestStatus(
    grpc::ServerContext* ctx, const v1::GetRequestStatusRequest* req,
    v1::RequestStatus* resp) {
  return Handle(*ctx, resp,
                [&](CallInfo*) { return core_->GetRequestStatus(*req); });
}

PeerServiceImpl::PeerServiceImpl(NodeCore* core, const v1::NodeConfig& config)
    : core_(core) {
  for (const v1::PeerConfig& p : config.peers()) peers_.insert(p.name());
}

absl::StatusOr<std::string> PeerServiceImpl::Authorize(
    const grpc::ServerContext& ctx) const {
  return Caller(ctx, transport::Role::kNode, peers_, "kagi.v1.Peer",
                core_->name(), "peer nodes");
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
