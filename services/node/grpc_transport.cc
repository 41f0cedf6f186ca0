#include "services/node/grpc_transport.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"

namespace kagi::node {
namespace {

// One call in flight; deletes itself when gRPC reports the outcome.
struct DeliverCall {
  grpc::ClientContext context;
  v1::DeliverRequest request;
  v1::DeliverResponse response;
  std::function<void(absl::Status)> on_done;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcPeerTransport>> GrpcPeerTransport::Create(
    const v1::NodeConfig& config) {
  std::unique_ptr<GrpcPeerTransport> t(new GrpcPeerTransport());
  const transport::TlsFiles tls{config.tls().cert_file(),
                                config.tls().key_file(),
                                config.tls().ca_file()};
  for (const v1::PeerConfig& peer : config.peers()) {
    KAGI_ASSIGN_OR_RETURN(
        std::shared_ptr<grpc::Channel> channel,
        transport::MakeMtlsChannel(peer.address(), peer.name(), tls));
    t->stubs_[peer.name()] = v1::Peer::NewStub(channel);
  }
  if (config.limits().round_timeout_ms() != 0) {
    t->deadline_ = absl::Milliseconds(config.limits().round_timeout_ms());
  }
  return t;
}

void GrpcPeerTransport::Send(const std::string& node, const Sid0& sid0,
                             Bytes envelope,
                             std::function<void(absl::Status)> on_done) {
  auto it = stubs_.find(node);
  if (it == stubs_.end()) {
    on_done(absl::NotFoundError(absl::StrCat("no channel to ", node)));
    return;
  }
  auto* call = new DeliverCall;
  call->on_done = std::move(on_done);
  call->request.set_sid0(std::string(sid0.begin(), sid0.end()));
  call->request.set_envelope(std::string(envelope.begin(), envelope.end()));
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  it->second->async()->Deliver(
      &call->context, &call->request, &call->response,
      [call, node](grpc::Status status) {
        absl::Status st =
            status.ok()
                ? absl::OkStatus()
                : absl::UnavailableError(absl::StrCat(
                      node, " answered ", static_cast<int>(status.error_code()),
                      " ", status.error_message()));
        call->on_done(st);
        delete call;
      });
}

}  // namespace kagi::node
