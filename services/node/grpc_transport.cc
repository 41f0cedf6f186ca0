#include "services/node/grpc_transport.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
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
  t->tls_ = {config.tls().cert_file(), config.tls().key_file(),
             config.tls().ca_file()};
  absl::MutexLock lock(&t->mu_);
  for (const v1::PeerConfig& peer : config.peers()) {
    KAGI_ASSIGN_OR_RETURN(
        std::shared_ptr<grpc::Channel> channel,
        transport::MakeMtlsChannel(peer.address(), peer.name(), t->tls_));
    t->peers_[peer.name()] = {peer.address(), v1::Peer::NewStub(channel)};
  }
  if (config.limits().round_timeout_ms() != 0) {
    t->deadline_ = absl::Milliseconds(config.limits().round_timeout_ms());
  }
  return t;
}

std::shared_ptr<v1::Peer::Stub> GrpcPeerTransport::Stub(
    const std::string& node) {
  absl::MutexLock lock(&mu_);
  auto it = peers_.find(node);
  if (it == peers_.end()) return nullptr;
  if (it->second.stub == nullptr) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        transport::MakeMtlsChannel(it->second.address, node, tls_);
    if (!channel.ok()) return nullptr;
    it->second.stub = v1::Peer::NewStub(*channel);
  }
  return it->second.stub;
}

void GrpcPeerTransport::MarkFailed(
    const std::string& node, const std::shared_ptr<v1::Peer::Stub>& stub) {
  absl::MutexLock lock(&mu_);
  auto it = peers_.find(node);
  if (it != peers_.end() && it->second.stub == stub) it->second.stub = nullptr;
}

void GrpcPeerTransport::Send(const std::string& node, const Sid0& sid0,
                             Bytes envelope,
                             std::function<void(absl::Status)> on_done) {
  std::shared_ptr<v1::Peer::Stub> stub = Stub(node);
  if (stub == nullptr) {
    on_done(absl::NotFoundError(absl::StrCat("no channel to ", node)));
    return;
  }
  auto* call = new DeliverCall;
  call->on_done = std::move(on_done);
  call->request.set_sid0(std::string(sid0.begin(), sid0.end()));
  call->request.set_envelope(std::string(envelope.begin(), envelope.end()));
  if (heads_) {
    // Best effort: before the first signed record there is no head to send.
    absl::StatusOr<storage::AuditHead> head = heads_();
    if (head.ok()) {
      v1::AuditHead* h = call->request.mutable_audit_head();
      h->set_seq(head->seq);
      h->set_hash(std::string(head->hash.begin(), head->hash.end()));
      h->set_signature(
          std::string(head->signature.begin(), head->signature.end()));
    }
  }
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  stub->async()->Deliver(
      &call->context, &call->request, &call->response,
      [this, call, node, stub](grpc::Status status) {
        if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
          MarkFailed(node, stub);
        }
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

std::vector<absl::StatusOr<v1::RequestClaims>> GrpcPeerTransport::Exchange(
    const std::vector<std::string>& nodes, const v1::RequestClaims& mine,
    absl::Duration timeout) {
  std::vector<absl::StatusOr<v1::RequestClaims>> out(
      nodes.size(), absl::UnavailableError("not asked"));
  std::vector<grpc::ClientContext> contexts(nodes.size());
  std::vector<std::shared_ptr<v1::Peer::Stub>> stubs(nodes.size());
  absl::BlockingCounter pending(static_cast<int>(nodes.size()));
  for (size_t i = 0; i < nodes.size(); ++i) {
    stubs[i] = Stub(nodes[i]);
    if (stubs[i] == nullptr) {
      out[i] = absl::NotFoundError(absl::StrCat("no channel to ", nodes[i]));
      pending.DecrementCount();
      continue;
    }
    contexts[i].set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    out[i] = v1::RequestClaims();
    stubs[i]->async()->ExchangeRequestClaims(
        &contexts[i], &mine, &*out[i],
        [this, i, &out, &nodes, &stubs, &pending](grpc::Status status) {
          if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
            MarkFailed(nodes[i], stubs[i]);
          }
          if (!status.ok()) {
            out[i] = absl::UnavailableError(absl::StrCat(
                nodes[i], " answered ", static_cast<int>(status.error_code()),
                " ", status.error_message()));
          }
          pending.DecrementCount();
        });
  }
  pending.Wait();
  return out;
}

}  // namespace kagi::node
