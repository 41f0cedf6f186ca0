// File: services/gateway/testing/fake_node_client.cc
//
// TEST ONLY; see fake_node_client.h.
#include "services/gateway/testing/fake_node_client.h"

#include <grpcpp/support/status.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "libs/transport/tls.h"
#include "services/gateway/node_errors.h"

namespace kagi::gateway::testing {
namespace {

constexpr absl::string_view kChannelErrorUrl = "kagi.test/channel-error";

std::vector<std::string> NamesOf(const std::vector<FakeNode*>& nodes) {
  std::vector<std::string> names;
  for (const FakeNode* node : nodes) names.push_back(node->name);
  return names;
}

}  // namespace

absl::Status ChannelError(absl::StatusCode code, absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kChannelErrorUrl, absl::Cord("1"));
  return status;
}

FakeNode::FakeNode(int index, std::string node_name, const TestKey* key)
    : name(std::move(node_name)), identity_key(TestIdentityKey(index)) {
  keys.push_back(key->info);
  sign = [key](const kagi::v1::StartSignRequest& request)
      -> absl::StatusOr<kagi::v1::StartSignResponse> {
    return key->Sign(request.request());
  };
  dkg = [key, this](const kagi::v1::StartDkgRequest& request)
      -> absl::StatusOr<kagi::v1::KeyInfo> {
    kagi::v1::KeyInfo info = key->info;
    info.clear_parties();
    info.set_threshold(request.threshold());
    for (int i = 0; i < request.party_identity_keys_size(); ++i) {
      kagi::v1::KeyParty* party = info.add_parties();
      party->set_id(static_cast<uint32_t>(i + 1));
      party->set_identity_key(request.party_identity_keys(i));
      party->set_node(absl::StrCat("as-", name, "-knows-it-", i));
    }
    return info;
  };
  reshare = [key](const kagi::v1::StartReshareRequest& request)
      -> absl::StatusOr<kagi::v1::KeyInfo> {
    kagi::v1::KeyInfo info = key->info;
    info.set_epoch(request.epoch() + 1);
    info.clear_parties();
    info.set_threshold(request.new_threshold());
    for (int i = 0; i < request.new_party_identity_keys_size(); ++i) {
      kagi::v1::KeyParty* party = info.add_parties();
      party->set_id(static_cast<uint32_t>(i + 1));
      party->set_identity_key(request.new_party_identity_keys(i));
    }
    return info;
  };
}

FakeNodeClient::FakeNodeClient(std::vector<FakeNode*> nodes)
    : nodes_(std::move(nodes)), names_(NamesOf(nodes_)) {}

absl::Status FakeNodeClient::WireStatus(size_t node,
                                        const absl::Status& status) const {
  if (status.ok()) {
    return status;
  }
  if (status.GetPayload(kChannelErrorUrl).has_value()) {
    return NodeStatus(grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                                   std::string(status.message())));
  }
  return NodeStatus(
      transport::ToGrpcStatus(status, names_[node], [this](uint32_t party) {
        return party >= 1 && party <= names_.size() ? names_[party - 1]
                                                    : std::string("?");
      }));
}

template <typename Response>
std::vector<NodeReply<Response>> FakeNodeClient::Each(
    absl::Span<const size_t> nodes, const Handler<Response>& handler,
    const StopWhen& stop) {
  absl::MutexLock lock(&mu_);
  std::vector<NodeReply<Response>> replies(nodes.size());
  bool stopped = false;
  for (size_t i = 0; i < nodes.size(); ++i) {
    NodeReply<Response>& reply = replies[i];
    reply.node = nodes[i];
    if (stopped) {
      reply.status = absl::CancelledError("cancelled by the fan-out");
      reply.cancelled = true;
      continue;
    }
    FakeNode& node = *nodes_[nodes[i]];
    absl::StatusOr<Response> answer =
        node.reachable ? handler(node)
                       : ChannelError(absl::StatusCode::kUnavailable,
                                      "connection refused");
    reply.status = WireStatus(nodes[i], answer.status());
    if (answer.ok()) {
      reply.response = *std::move(answer);
    } else if (stop && stop(reply.status)) {
      stopped = true;
    }
  }
  return replies;
}

std::vector<NodeReply<kagi::v1::NodeInfo>> FakeNodeClient::GetNodeInfo(
    absl::Span<const size_t> nodes, absl::Time /*deadline*/) {
  return Each<kagi::v1::NodeInfo>(
      nodes, [](FakeNode& node) -> absl::StatusOr<kagi::v1::NodeInfo> {
        kagi::v1::NodeInfo info;
        info.set_name(node.name);
        info.set_identity_key(node.identity_key);
        return info;
      });
}

std::vector<NodeReply<kagi::v1::KeyInfo>> FakeNodeClient::StartDkg(
    absl::Span<const size_t> nodes, const kagi::v1::StartDkgRequest& request,
    absl::Time /*deadline*/) {
  return Each<kagi::v1::KeyInfo>(nodes, [&request](FakeNode& node) {
    node.dkg_requests.push_back(request);
    return node.dkg(request);
  });
}

std::vector<NodeReply<kagi::v1::StartSignResponse>> FakeNodeClient::StartSign(
    absl::Span<const size_t> nodes, const kagi::v1::StartSignRequest& request,
    absl::Time /*deadline*/, const StopWhen& stop) {
  return Each<kagi::v1::StartSignResponse>(
      nodes,
      [&request](FakeNode& node) {
        node.sign_requests.push_back(request);
        return node.sign(request);
      },
      stop);
}

std::vector<NodeReply<kagi::v1::KeyInfo>> FakeNodeClient::StartReshare(
    absl::Span<const size_t> nodes,
    const kagi::v1::StartReshareRequest& request, absl::Time /*deadline*/) {
  return Each<kagi::v1::KeyInfo>(
      nodes, [&request](FakeNode& node) { return node.reshare(request); });
}

std::vector<NodeReply<kagi::v1::KeyInfo>> FakeNodeClient::GetKey(
    absl::Span<const size_t> nodes, const kagi::v1::GetKeyRequest& request,
    absl::Time /*deadline*/) {
  return Each<kagi::v1::KeyInfo>(
      nodes, [&request](FakeNode& node) -> absl::StatusOr<kagi::v1::KeyInfo> {
        for (const kagi::v1::KeyInfo& key : node.keys) {
          if (key.key_id() == request.key_id()) return key;
        }
        return absl::NotFoundError("no such key");
      });
}

std::vector<NodeReply<kagi::v1::ListKeysResponse>> FakeNodeClient::ListKeys(
    absl::Span<const size_t> nodes,
    const kagi::v1::ListKeysRequest& /*request*/, absl::Time /*deadline*/) {
  return Each<kagi::v1::ListKeysResponse>(
      nodes, [](FakeNode& node) -> absl::StatusOr<kagi::v1::ListKeysResponse> {
        kagi::v1::ListKeysResponse response;
        for (const kagi::v1::KeyInfo& key : node.keys) {
          *response.add_keys() = key;
        }
        return response;
      });
}

std::vector<NodeReply<kagi::v1::RequestStatus>>
FakeNodeClient::GetRequestStatus(
    absl::Span<const size_t> nodes,
    const kagi::v1::GetRequestStatusRequest& request, absl::Time /*deadline*/) {
  return Each<kagi::v1::RequestStatus>(
      nodes,
      [&request](FakeNode& node) -> absl::StatusOr<kagi::v1::RequestStatus> {
        node.status_requests.push_back(request);
        kagi::v1::RequestStatus status;
        status.set_request_id(request.request_id());
        status.set_state(node.request_state);
        return status;
      });
}

std::vector<NodeReply<kagi::v1::ActivateResponse>> FakeNodeClient::Activate(
    absl::Span<const size_t> nodes,
    const kagi::v1::ActivateRequest& /*request*/, absl::Time /*deadline*/) {
  return Each<kagi::v1::ActivateResponse>(
      nodes, [](FakeNode&) -> absl::StatusOr<kagi::v1::ActivateResponse> {
        kagi::v1::ActivateResponse response;
        response.set_outcome("activated");
        return response;
      });
}

}  // namespace kagi::gateway::testing
