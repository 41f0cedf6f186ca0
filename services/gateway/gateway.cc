// File: services/gateway/gateway.cc
//
// The Wallet operations, each a fan-out over the nodes (see gateway.h):
//
//   CreateKey  validate; probe the chosen nodes (all must answer, with
//              distinct identity keys); StartDkg on all of them at once with
//              a fresh 32-byte nonce and expiry now+120 s; all must succeed
//              and return the same KeyInfo, with the asked-for committee.
//   GetKey     probe; GetKey on the healthy nodes; the answer with the
//              highest epoch, the first in configuration order among equals
//              (a node left out of a reshare still reports the old epoch);
//              NotFound if no node has the key.
//   ListKeys   probe; ListKeys on the healthy nodes; merged by key_id.
//   DerivePublicKey  GetKey, then BIP32 public derivation here.
//   Sign       validate; probe; GetKey; map the key's parties to nodes by
//              identity key; try t-subsets (PlanSignerSets: healthy first,
//              rotated per request) until one succeeds, retrying on
//              transient errors and, without that node, on one node's own
//              fault (ClassifySignerError); a refusal of the request or a
//              blame ends it; a party that failed the first probe is probed
//              once more before a subset with it is tried; the signers must
//              agree and every signature must verify here under the derived
//              key.
//   Refresh    all n parties healthy; StartReshare on all of them with the
//              same committee and threshold; epoch+1, same key.
//   Reshare    t_old healthy dealers plus the new committee; StartReshare on
//              their union; the new members must agree.
//   GetRequestStatus  probe; ask the healthy nodes; the state they agree
//              on (request_status.h).
#include "services/gateway/gateway.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/transport/config.h"
#include "services/gateway/agreement.h"
#include "services/gateway/key_derivation.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/request_shape.h"
#include "services/gateway/request_status.h"

namespace kagi::gateway {

using kagi::v1::KeyInfo;

// --- construction
// ---------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(
    GatewayOptions options, std::unique_ptr<NodeClient> client) {
  if (options.name.empty()) {
    return absl::InvalidArgumentError("gateway: empty name");
  }
  if (client == nullptr || client->NodeNames().empty()) {
    return absl::InvalidArgumentError("gateway: no nodes");
  }
  if (options.request_timeout <= absl::ZeroDuration() ||
      options.health_timeout <= absl::ZeroDuration() ||
      options.setup_expiry <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("gateway: timeouts must be positive");
  }
  return std::unique_ptr<Gateway>(
      new Gateway(std::move(options), std::move(client)));
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(
    GatewayOptions options, std::vector<NodeChannel> nodes) {
  absl::StatusOr<std::unique_ptr<GrpcNodeClient>> client =
      GrpcNodeClient::Create(std::move(nodes));
  if (!client.ok()) {
    return client.status();
  }
  return Create(std::move(options), *std::move(client));
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::FromConfig(
    const kagi::v1::GatewayConfig& config) {
  absl::StatusOr<std::unique_ptr<GrpcNodeClient>> client =
      GrpcNodeClient::FromConfig(config);
  if (!client.ok()) {
    return client.status();
  }
  GatewayOptions options;
  options.name = config.name();
  options.request_timeout = absl::Milliseconds(
      config.request_timeout_ms() != 0 ? config.request_timeout_ms()
                                       : transport::kDefaultRequestTimeoutMs);
  return Create(std::move(options), *std::move(client));
}

Gateway::Gateway(GatewayOptions options, std::unique_ptr<NodeClient> client)
    : options_(std::move(options)),
      client_(std::move(client)),
      node_names_(client_->NodeNames()),
      view_(client_.get(), options_.health_timeout),
      clock_(options_.clock != nullptr ? options_.clock : &system_clock_) {}

// --- helpers
// ----------------------------------------------------------------------

absl::Time Gateway::CallDeadline(absl::Time deadline, absl::Duration timeout) {
  return std::min(deadline, absl::Now() + timeout);
}

absl::Time Gateway::RequestDeadline(absl::Time deadline) const {
  return CallDeadline(deadline, options_.request_timeout);
}

uint64_t Gateway::ExpiryUnixSeconds() const {
  return static_cast<uint64_t>(
      absl::ToUnixSeconds(clock_->Now() + options_.setup_expiry));
}

uint64_t Gateway::ClientExpiry(uint64_t requested) const {
  // Approvals cover the expiry, so the client's own is passed on unchanged.
  return requested != 0 ? requested : ExpiryUnixSeconds();
}

std::string Gateway::NewNonce() {
  const std::array<uint8_t, 32> nonce = rng_.Bytes<32>();
  return std::string(nonce.begin(), nonce.end());
}

absl::Status Gateway::ForwardNodeError(size_t node,
                                       const absl::Status& status) const {
  if (NodeErrorDetails(status).has_value()) {
    return status;  // the node's own error: forwarded with its details
  }
  // An error of the channel (the node never answered): say which node.
  return absl::Status(status.code(), absl::StrCat("node ", NameOf(node), ": ",
                                                  status.message()));
}

template <typename Response>
absl::Status Gateway::PickFailure(
    const std::vector<NodeReply<Response>>& calls) const {
  const NodeReply<Response>* worst = nullptr;
  int worst_rank = -1;
  for (const NodeReply<Response>& call : calls) {
    if (call.status.ok()) {
      continue;
    }
    const int rank = NodeErrorRank(ClassifyNodeError(call.status));
    if (rank > worst_rank) {
      worst = &call;
      worst_rank = rank;
    }
  }
  if (worst == nullptr) {
    return absl::OkStatus();
  }
  return ForwardNodeError(worst->node, worst->status);
}

// PickFailure is used by the other rooms of Gateway for these answers.
template absl::Status Gateway::PickFailure(
    const std::vector<NodeReply<KeyInfo>>&) const;

// --- probes and caches
// -------------------------------------------------------------

absl::StatusOr<KeyInfo> Gateway::RecentKey(const std::string& key_id,
                                           const std::vector<Probe>& probes,
                                           absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    auto it = recent_keys_.find(key_id);
    if (it != recent_keys_.end() &&
        it->second.first + NodeView::kRecentTtl > absl::Now()) {
      return it->second.second;
    }
  }
  absl::StatusOr<KeyInfo> key = FetchKey(key_id, probes, deadline);
  if (key.ok()) {
    absl::MutexLock lock(&mu_);
    if (recent_keys_.size() > 1024) recent_keys_.clear();
    recent_keys_[key_id] = {absl::Now(), *key};
  }
  return key;
}

void Gateway::ForgetRecent() {
  view_.ForgetRecent();
  absl::MutexLock lock(&mu_);
  recent_keys_.clear();
}

absl::StatusOr<KeyInfo> Gateway::ProbeAndFetch(const absl::Status& valid,
                                               const std::string& key_id,
                                               absl::Time deadline,
                                               std::vector<Probe>* probes) {
  if (!valid.ok()) {
    return valid;
  }
  *probes = view_.Probe({}, deadline);
  return FetchKey(key_id, *probes, deadline);
}

// --- the read-only operations
// ------------------------------------------------------

absl::StatusOr<kagi::v1::ListNodesResponse> Gateway::ListNodes(
    const kagi::v1::ListNodesRequest& /*request*/, absl::Time deadline) {
  const std::vector<Probe> probes = view_.Probe({}, deadline);
  kagi::v1::ListNodesResponse out;
  for (size_t i = 0; i < node_names_.size(); ++i) {
    kagi::v1::NodeEntry* e = out.add_nodes();
    e->set_name(NameOf(i));
    e->set_identity_key(probes[i].identity_key);
    e->set_reachable(probes[i].healthy);
    if (!probes[i].healthy) {
      e->set_error(DescribeNodeError(NameOf(i), probes[i].status));
    }
  }
  return out;
}

absl::StatusOr<KeyInfo> Gateway::GetKey(const kagi::v1::GetKeyRequest& request,
                                        absl::Time deadline) {
  std::vector<Probe> probes;
  absl::StatusOr<KeyInfo> key = ProbeAndFetch(
      ValidateKeyId(request.key_id()), request.key_id(), deadline, &probes);
  if (key.ok()) {
    DescribeHolders(probes, deadline, &*key);
  }
  return key;
}

absl::StatusOr<kagi::v1::ListKeysResponse> Gateway::ListKeys(
    const kagi::v1::ListKeysRequest& request, absl::Time deadline) {
  const std::vector<Probe> probes = view_.Probe({}, deadline);
  absl::StatusOr<std::vector<size_t>> healthy = view_.Healthy(probes);
  if (!healthy.ok()) {
    return healthy.status();
  }
  const std::vector<NodeReply<kagi::v1::ListKeysResponse>> calls =
      client_->ListKeys(*healthy, request, RequestDeadline(deadline));
  std::vector<kagi::v1::ListKeysResponse> answers;
  for (const auto& call : calls) {
    if (!call.status.ok()) {
      continue;
    }
    for (const KeyInfo& key : call.response.keys()) {
      if (absl::Status valid = ValidateKeyInfo(key, NameOf(call.node));
          !valid.ok()) {
        return valid;
      }
    }
    answers.push_back(call.response);
  }
  if (answers.empty()) {
    return PickFailure(calls);
  }
  kagi::v1::ListKeysResponse out = MergeKeyLists(answers);
  for (KeyInfo& key : *out.mutable_keys()) {
    view_.FillNodeNames(&key);
  }
  // Keys a node holds but cannot open, named by the node that answered.
  for (const auto& call : calls) {
    if (!call.status.ok()) continue;
    for (const kagi::v1::KeyError& e : call.response.errors()) {
      kagi::v1::KeyError* copy = out.add_errors();
      *copy = e;
      copy->set_node(NameOf(call.node));
    }
  }
  return out;
}

absl::StatusOr<kagi::v1::DerivedKey> Gateway::DerivePublicKey(
    const kagi::v1::DeriveRequest& request, absl::Time deadline) {
  absl::Status valid = ValidateKeyId(request.key_id());
  if (valid.ok()) {
    valid = ValidatePath(request.path(), "path");
  }
  absl::StatusOr<chain::Network> network = ParseNetwork(request.network());
  if (valid.ok()) {
    valid = network.status();
  }
  std::vector<Probe> probes;
  absl::StatusOr<KeyInfo> key =
      ProbeAndFetch(valid, request.key_id(), deadline, &probes);
  if (!key.ok()) {
    return key.status();
  }
  return DeriveFromKeyInfo(*key, request.path(), *network);
}

absl::StatusOr<kagi::v1::RequestStatus> Gateway::GetRequestStatus(
    const kagi::v1::GetRequestStatusRequest& request,
    absl::string_view initiator, absl::Time deadline) {
  if (absl::Status valid = ValidateRequestId(request.request_id());
      !valid.ok()) {
    return valid;
  }
  const std::vector<Probe> probes = view_.Probe({}, deadline);
  absl::StatusOr<std::vector<size_t>> healthy = view_.Healthy(probes);
  if (!healthy.ok()) {
    return healthy.status();
  }
  kagi::v1::GetRequestStatusRequest ask = request;
  ask.set_initiator(std::string(initiator));  // never the client's own word
  const std::vector<NodeReply<kagi::v1::RequestStatus>> calls =
      client_->GetRequestStatus(*healthy, ask, RequestDeadline(deadline));
  std::vector<StatusAnswer> answers;
  for (const auto& call : calls) {
    if (call.status.ok()) {
      answers.push_back({NameOf(call.node), call.response});
    }
  }
  if (answers.empty()) {
    return PickFailure(calls);
  }
  const KeyLookup key_of =
      [&](const std::string& key_id) -> absl::StatusOr<KeyInfo> {
    absl::StatusOr<KeyInfo> key = FetchKey(key_id, probes, deadline);
    if (!key.ok()) {
      return absl::UnavailableError(key.status().message());
    }
    return key;
  };
  return AgreedStatus(answers, request.key_id(), key_of);
}

}  // namespace kagi::gateway
