// File: services/gateway/grpc_node_client.cc
//
// The gRPC NodeClient; see grpc_node_client.h.
#include "services/gateway/grpc_node_client.h"

#include <grpcpp/client_context.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "libs/transport/tls.h"
#include "services/gateway/node_errors.h"

namespace kagi::gateway {
namespace {

using Async = class kagi::v1::Node::Stub::async;

// One callback-API method of the async stub, for one request type. (The
// stub overloads each method; this type picks the callback overload.)
template <typename Request, typename Response>
using AsyncMethod = void (Async::*)(grpc::ClientContext*, const Request*,
                                    Response*,
                                    std::function<void(grpc::Status)>);

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcNodeClient>> GrpcNodeClient::Create(
    std::vector<NodeChannel> nodes) {
  if (nodes.empty()) {
    return absl::InvalidArgumentError("gateway: no nodes");
  }
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> names;
  std::vector<std::unique_ptr<kagi::v1::Node::Stub>> stubs;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("gateway: node ", i, " has an empty name"));
    }
    if (!seen.insert(nodes[i].name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("gateway: node ", nodes[i].name, " is listed twice"));
    }
    if (nodes[i].channel == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("gateway: node ", nodes[i].name, " has no channel"));
    }
    names.push_back(nodes[i].name);
    stubs.push_back(kagi::v1::Node::NewStub(nodes[i].channel));
  }
  return std::unique_ptr<GrpcNodeClient>(
      new GrpcNodeClient(std::move(names), std::move(stubs)));
}

absl::StatusOr<std::unique_ptr<GrpcNodeClient>> GrpcNodeClient::FromConfig(
    const kagi::v1::GatewayConfig& config) {
  const transport::TlsFiles files{config.tls().cert_file(),
                                  config.tls().key_file(),
                                  config.tls().ca_file()};
  std::vector<NodeChannel> channels;
  for (int i = 0; i < config.nodes_size(); ++i) {
    const kagi::v1::GatewayNodeConfig& node = config.nodes(i);
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        transport::MakeMtlsChannel(node.address(), node.name(), files);
    if (!channel.ok()) {
      return absl::Status(
          channel.status().code(),
          absl::StrCat("nodes[", i, "] (", node.name(), " at ", node.address(),
                       "): ", channel.status().message()));
    }
    channels.push_back(NodeChannel{node.name(), *std::move(channel)});
  }
  return Create(std::move(channels));
}

GrpcNodeClient::GrpcNodeClient(
    std::vector<std::string> names,
    std::vector<std::unique_ptr<kagi::v1::Node::Stub>> stubs)
    : names_(std::move(names)), stubs_(std::move(stubs)) {}

template <typename Request, typename Response, typename Invoke>
std::vector<NodeReply<Response>> GrpcNodeClient::CallEach(
    absl::Span<const size_t> nodes, const Request& request, absl::Time deadline,
    Invoke invoke, const StopWhen& stop) {
  std::vector<NodeReply<Response>> calls(nodes.size());
  if (nodes.empty()) {
    return calls;
  }
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(nodes.size());
  for (auto& context : contexts) {
    context = std::make_unique<grpc::ClientContext>();
  }
  absl::BlockingCounter pending(static_cast<int>(nodes.size()));
  // The first call that stops the fan-out cancels the others (once).
  absl::Mutex stop_mu;
  bool stopped = false;
  std::vector<bool> done(nodes.size(), false);
  const auto finish = [&](size_t i, const grpc::Status& status) {
    bool cancel_rest = false;
    {
      absl::MutexLock lock(&stop_mu);
      calls[i].status = NodeStatus(status);
      calls[i].cancelled = stopped;
      done[i] = true;
      if (!stopped && stop && !status.ok() && stop(calls[i].status)) {
        stopped = true;
        cancel_rest = true;
        for (size_t j = 0; j < calls.size(); ++j) {
          if (!done[j]) calls[j].cancelled = true;
        }
      }
    }
    if (cancel_rest) {
      for (size_t j = 0; j < contexts.size(); ++j) {
        if (j != i) contexts[j]->TryCancel();
      }
    }
    pending.DecrementCount();
  };
  const std::chrono::system_clock::time_point chrono_deadline =
      absl::ToChronoTime(deadline);
  for (size_t i = 0; i < nodes.size(); ++i) {
    NodeReply<Response>* call = &calls[i];
    call->node = nodes[i];
    contexts[i]->set_deadline(chrono_deadline);
    (stubs_[nodes[i]]->async()->*invoke)(
        contexts[i].get(), &request, &call->response,
        std::function<void(grpc::Status)>(
            [i, &finish](const grpc::Status& status) { finish(i, status); }));
  }
  pending.Wait();
  return calls;
}

std::vector<NodeReply<kagi::v1::NodeInfo>> GrpcNodeClient::GetNodeInfo(
    absl::Span<const size_t> nodes, absl::Time deadline) {
  const AsyncMethod<kagi::v1::GetNodeInfoRequest, kagi::v1::NodeInfo> method =
      &Async::GetNodeInfo;
  return CallEach<kagi::v1::GetNodeInfoRequest, kagi::v1::NodeInfo>(
      nodes, kagi::v1::GetNodeInfoRequest(), deadline, method);
}

std::vector<NodeReply<kagi::v1::KeyInfo>> GrpcNodeClient::StartDkg(
    absl::Span<const size_t> nodes, const kagi::v1::StartDkgRequest& request,
    absl::Time deadline) {
  const AsyncMethod<kagi::v1::StartDkgRequest, kagi::v1::KeyInfo> method =
      &Async::StartDkg;
  return CallEach<kagi::v1::StartDkgRequest, kagi::v1::KeyInfo>(
      nodes, request, deadline, method);
}

std::vector<NodeReply<kagi::v1::StartSignResponse>> GrpcNodeClient::StartSign(
    absl::Span<const size_t> nodes, const kagi::v1::StartSignRequest& request,
    absl::Time deadline, const StopWhen& stop) {
  const AsyncMethod<kagi::v1::StartSignRequest, kagi::v1::StartSignResponse>
      method = &Async::StartSign;
  return CallEach<kagi::v1::StartSignRequest, kagi::v1::StartSignResponse>(
      nodes, request, deadline, method, stop);
}

std::vector<NodeReply<kagi::v1::KeyInfo>> GrpcNodeClient::StartReshare(
    absl::Span<const size_t> nodes,
    const kagi::v1::StartReshareRequest& request, absl::Time deadline) {
  const AsyncMethod<kagi::v1::StartReshareRequest, kagi::v1::KeyInfo> method =
      &Async::StartReshare;
  return CallEach<kagi::v1::StartReshareRequest, kagi::v1::KeyInfo>(
      nodes, request, deadline, method);
}

std::vector<NodeReply<kagi::v1::KeyInfo>> GrpcNodeClient::GetKey(
    absl::Span<const size_t> nodes, const kagi::v1::GetKeyRequest& request,
    absl::Time deadline) {
  const AsyncMethod<kagi::v1::GetKeyRequest, kagi::v1::KeyInfo> method =
      &Async::GetKey;
  return CallEach<kagi::v1::GetKeyRequest, kagi::v1::KeyInfo>(nodes, request,
                                                              deadline, method);
}

std::vector<NodeReply<kagi::v1::ListKeysResponse>> GrpcNodeClient::ListKeys(
    absl::Span<const size_t> nodes, const kagi::v1::ListKeysRequest& request,
    absl::Time deadline) {
  const AsyncMethod<kagi::v1::ListKeysRequest, kagi::v1::ListKeysResponse>
      method = &Async::ListKeys;
  return CallEach<kagi::v1::ListKeysRequest, kagi::v1::ListKeysResponse>(
      nodes, request, deadline, method);
}

std::vector<NodeReply<kagi::v1::RequestStatus>>
GrpcNodeClient::GetRequestStatus(
    absl::Span<const size_t> nodes,
    const kagi::v1::GetRequestStatusRequest& request, absl::Time deadline) {
  const AsyncMethod<kagi::v1::GetRequestStatusRequest, kagi::v1::RequestStatus>
      method = &Async::GetRequestStatus;
  return CallEach<kagi::v1::GetRequestStatusRequest, kagi::v1::RequestStatus>(
      nodes, request, deadline, method);
}

std::vector<NodeReply<kagi::v1::ActivateResponse>> GrpcNodeClient::Activate(
    absl::Span<const size_t> nodes, const kagi::v1::ActivateRequest& request,
    absl::Time deadline) {
  const AsyncMethod<kagi::v1::ActivateRequest, kagi::v1::ActivateResponse>
      method = &Async::Activate;
  return CallEach<kagi::v1::ActivateRequest, kagi::v1::ActivateResponse>(
      nodes, request, deadline, method);
}

}  // namespace kagi::gateway
