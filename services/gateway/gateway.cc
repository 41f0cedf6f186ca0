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

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/base/status_macros.h"
#include "libs/transport/config.h"
#include "libs/transport/tls.h"
#include "services/gateway/agreement.h"
#include "services/gateway/authorization.h"
#include "services/gateway/key_check.h"
#include "services/gateway/key_derivation.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/request_shape.h"
#include "services/gateway/request_status.h"
#include "services/gateway/signer_sets.h"

namespace kagi::gateway {
namespace {

using kagi::v1::KeyInfo;

std::string ShortHex(absl::string_view bytes) {
  std::string hex = absl::BytesToHexString(bytes);
  return hex.size() > 16 ? absl::StrCat(hex.substr(0, 16), "...") : hex;
}

std::string Bracketed(const std::vector<std::string>& names) {
  return absl::StrCat("[", absl::StrJoin(names, ", "), "]");
}

// The async-stub calls, as callables for Gateway::CallEach. (The async stub
// overloads each method, so a member pointer cannot name one; a callable per
// method can.)
#define KAGI_ASYNC_NODE_CALL(Method)                                    \
  struct Method##Call {                                                 \
    template <typename Stub, typename Ctx, typename Req, typename Resp, \
              typename Done>                                            \
    void operator()(Stub* stub, Ctx* ctx, const Req* req, Resp* resp,   \
                    Done done) const {                                  \
      stub->Method(ctx, req, resp, std::move(done));                    \
    }                                                                   \
  }
KAGI_ASYNC_NODE_CALL(GetNodeInfo);
KAGI_ASYNC_NODE_CALL(StartDkg);
KAGI_ASYNC_NODE_CALL(StartSign);
KAGI_ASYNC_NODE_CALL(StartReshare);
KAGI_ASYNC_NODE_CALL(GetKey);
KAGI_ASYNC_NODE_CALL(ListKeys);
KAGI_ASYNC_NODE_CALL(GetRequestStatus);
KAGI_ASYNC_NODE_CALL(Activate);
#undef KAGI_ASYNC_NODE_CALL

absl::Time DeadlineOf(const grpc::ServerContext& ctx) {
  const std::chrono::system_clock::time_point deadline = ctx.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

}  // namespace

// --- construction
// ---------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(
    GatewayOptions options, std::vector<NodeChannel> nodes) {
  if (options.name.empty()) {
    return absl::InvalidArgumentError("gateway: empty name");
  }
  if (nodes.empty()) {
    return absl::InvalidArgumentError("gateway: no nodes");
  }
  if (options.request_timeout <= absl::ZeroDuration() ||
      options.health_timeout <= absl::ZeroDuration() ||
      options.setup_expiry <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("gateway: timeouts must be positive");
  }
  absl::flat_hash_set<std::string> seen;
  std::vector<Node> built;
  built.reserve(nodes.size());
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
    built.push_back(
        Node{nodes[i].name, kagi::v1::Node::NewStub(nodes[i].channel)});
  }
  return std::unique_ptr<Gateway>(
      new Gateway(std::move(options), std::move(built)));
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::FromConfig(
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
  GatewayOptions options;
  options.name = config.name();
  options.request_timeout = absl::Milliseconds(
      config.request_timeout_ms() != 0 ? config.request_timeout_ms()
                                       : transport::kDefaultRequestTimeoutMs);
  return Create(std::move(options), std::move(channels));
}

Gateway::Gateway(GatewayOptions options, std::vector<Node> nodes)
    : options_(std::move(options)),
      nodes_(std::move(nodes)),
      node_names_([this] {
        std::vector<std::string> names;
        names.reserve(nodes_.size());
        for (const Node& node : nodes_) {
          names.push_back(node.name);
        }
        return names;
      }()),
      clock_(options_.clock != nullptr ? options_.clock : &system_clock_),
      identity_keys_(nodes_.size()) {}

// --- helpers
// ----------------------------------------------------------------------

template <typename Request, typename Response, typename Invoke>
std::vector<Gateway::Call<Response>> Gateway::CallEach(
    absl::Span<const size_t> nodes, const Request& request, absl::Time deadline,
    Invoke invoke, std::function<bool(const grpc::Status&)> stop) {
  std::vector<Call<Response>> calls(nodes.size());
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
      calls[i].status = status;
      calls[i].cancelled = stopped;
      done[i] = true;
      if (!stopped && stop && !status.ok() && stop(status)) {
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
    Call<Response>* call = &calls[i];
    call->node = nodes[i];
    contexts[i]->set_deadline(chrono_deadline);
    invoke(
        nodes_[nodes[i]].stub->async(), contexts[i].get(), &request,
        &call->response,
        std::function<void(grpc::Status)>(
            [i, &finish](const grpc::Status& status) { finish(i, status); }));
  }
  pending.Wait();
  return calls;
}

absl::Time Gateway::CallDeadline(absl::Time deadline, absl::Duration timeout) {
  return std::min(deadline, absl::Now() + timeout);
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

grpc::Status Gateway::Error(const absl::Status& status) const {
  return transport::ToGrpcStatus(status, options_.name);
}

grpc::Status Gateway::ForwardNodeError(size_t node,
                                       const grpc::Status& status) const {
  if (transport::GetErrorDetails(status).has_value()) {
    return status;  // the node's own error: forwarded with its details
  }
  // An error of the channel (the node never answered): say which node.
  return Error(absl::Status(
      static_cast<absl::StatusCode>(status.error_code()),
      absl::StrCat("node ", nodes_[node].name, ": ", status.error_message())));
}

template <typename Response>
grpc::Status Gateway::PickFailure(
    const std::vector<Call<Response>>& calls) const {
  const Call<Response>* worst = nullptr;
  int worst_rank = -1;
  for (const Call<Response>& call : calls) {
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
    return grpc::Status::OK;
  }
  return ForwardNodeError(worst->node, worst->status);
}

std::vector<Gateway::Probe> Gateway::ProbeNodes(absl::Span<const size_t> nodes,
                                                absl::Time deadline) {
  std::vector<size_t> all;
  if (nodes.empty()) {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      all.push_back(i);
    }
    nodes = all;
  }
  const std::vector<Call<kagi::v1::NodeInfo>> calls =
      CallEach<kagi::v1::GetNodeInfoRequest, kagi::v1::NodeInfo>(
          nodes, kagi::v1::GetNodeInfoRequest(),
          CallDeadline(deadline, options_.health_timeout), GetNodeInfoCall());
  std::vector<Probe> probes(nodes_.size());
  for (Probe& probe : probes) {
    probe.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "not probed");
  }
  absl::MutexLock lock(&mu_);
  for (const Call<kagi::v1::NodeInfo>& call : calls) {
    Probe& probe = probes[call.node];
    if (!call.status.ok()) {
      probe.status = call.status;
    } else if (call.response.identity_key().size() != kIdentityKeyBytes) {
      probe.status =
          grpc::Status(grpc::StatusCode::INTERNAL,
                       absl::StrCat("GetNodeInfo returned a ",
                                    call.response.identity_key().size(),
                                    "-byte identity key"));
    } else {
      probe.healthy = true;
      probe.status = grpc::Status::OK;
      identity_keys_[call.node] = call.response.identity_key();
    }
  }
  for (size_t i = 0; i < probes.size(); ++i) {
    probes[i].identity_key = identity_keys_[i];
  }
  return probes;
}

std::vector<Gateway::Probe> Gateway::RecentProbes(absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (recent_probes_at_ + kSignCacheTtl > absl::Now() &&
        recent_probes_.size() == nodes_.size()) {
      return recent_probes_;
    }
  }
  std::vector<Probe> probes = ProbeNodes({}, deadline);
  absl::MutexLock lock(&mu_);
  recent_probes_ = probes;
  recent_probes_at_ = absl::Now();
  return probes;
}

grpc::Status Gateway::RecentKey(const std::string& key_id,
                                const std::vector<Probe>& probes,
                                absl::Time deadline, KeyInfo* out) {
  {
    absl::MutexLock lock(&mu_);
    auto it = recent_keys_.find(key_id);
    if (it != recent_keys_.end() &&
        it->second.first + kSignCacheTtl > absl::Now()) {
      *out = it->second.second;
      return grpc::Status::OK;
    }
  }
  grpc::Status st = FetchKey(key_id, probes, deadline, out);
  if (st.ok()) {
    absl::MutexLock lock(&mu_);
    if (recent_keys_.size() > 1024) recent_keys_.clear();
    recent_keys_[key_id] = {absl::Now(), *out};
  }
  return st;
}

void Gateway::ForgetRecent() {
  absl::MutexLock lock(&mu_);
  recent_probes_.clear();
  recent_keys_.clear();
}

absl::StatusOr<std::vector<size_t>> Gateway::HealthyNodes(
    const std::vector<Probe>& probes) const {
  std::vector<size_t> healthy;
  std::vector<size_t> all;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    all.push_back(i);
    if (probes[i].healthy) {
      healthy.push_back(i);
    }
  }
  if (healthy.empty()) {
    return absl::UnavailableError(
        absl::StrCat("no node is reachable: ", UnhealthyList(probes, all)));
  }
  return healthy;
}

std::vector<std::optional<size_t>> Gateway::PartyNodes(
    const KeyInfo& key) const {
  std::vector<std::optional<size_t>> out(
      static_cast<size_t>(key.parties_size()));
  absl::MutexLock lock(&mu_);
  for (int p = 0; p < key.parties_size(); ++p) {
    for (size_t i = 0; i < identity_keys_.size(); ++i) {
      if (!identity_keys_[i].empty() &&
          identity_keys_[i] == key.parties(p).identity_key()) {
        out[static_cast<size_t>(p)] = i;
        break;
      }
    }
  }
  return out;
}

void Gateway::FillNodeNames(KeyInfo* key) const {
  const std::vector<std::optional<size_t>> party_nodes = PartyNodes(*key);
  for (int p = 0; p < key->parties_size(); ++p) {
    const std::optional<size_t>& node = party_nodes[static_cast<size_t>(p)];
    if (node.has_value()) {
      key->mutable_parties(p)->set_node(nodes_[*node].name);
    }
  }
}

std::string Gateway::UnhealthyList(const std::vector<Probe>& probes,
                                   absl::Span<const size_t> nodes) const {
  std::vector<std::string> parts;
  for (size_t node : nodes) {
    if (!probes[node].healthy) {
      parts.push_back(
          DescribeNodeError(nodes_[node].name, probes[node].status));
    }
  }
  return absl::StrJoin(parts, "; ");
}

std::string Gateway::UnidentifiedNodes(const std::vector<Probe>& probes) const {
  std::vector<std::string> parts;
  for (size_t i = 0; i < probes.size(); ++i) {
    if (probes[i].identity_key.empty()) {
      parts.push_back(DescribeNodeError(nodes_[i].name, probes[i].status));
    }
  }
  if (parts.empty()) {
    return "";
  }
  return absl::StrCat("; configured nodes never reached (identity unknown): ",
                      absl::StrJoin(parts, "; "));
}

grpc::Status Gateway::FetchKey(const std::string& key_id,
                               const std::vector<Probe>& probes,
                               absl::Time deadline, KeyInfo* out) {
  absl::StatusOr<std::vector<size_t>> reachable = HealthyNodes(probes);
  if (!reachable.ok()) {
    return Error(reachable.status());
  }
  const std::vector<size_t>& healthy = *reachable;
  kagi::v1::GetKeyRequest request;
  request.set_key_id(key_id);
  const std::vector<Call<KeyInfo>> calls =
      CallEach<kagi::v1::GetKeyRequest, KeyInfo>(
          healthy, request, CallDeadline(deadline, options_.request_timeout),
          GetKeyCall());
  std::vector<Call<KeyInfo>> failures;
  bool all_not_found = true;
  std::set<std::string> known;  // identity keys the nodes report
  for (const Probe& probe : probes) {
    if (!probe.identity_key.empty()) known.insert(probe.identity_key);
  }
  // A node left out of a reshare keeps its old epoch: prefer the newest, but
  // only what the key's committee certified (key_check.h); a KeyInfo
  // without a certificate (activated before certificates) only where as
  // many nodes as its threshold report it identically.
  const KeyInfo* newest = nullptr;
  std::vector<const KeyInfo*> uncertified;
  std::vector<std::string> uncertified_by;
  std::vector<std::string> refused;
  std::map<std::string, absl::Status> checked;  // by certificate bytes
  for (const Call<KeyInfo>& call : calls) {
    if (call.status.ok()) {
      // A malformed answer, or one about another key, is that node's lie
      // or fault: it is ignored (and named), the others still count.
      absl::Status valid =
          ValidateKeyInfo(call.response, nodes_[call.node].name);
      if (valid.ok() && call.response.key_id() != key_id) {
        valid = absl::InternalError(absl::StrCat(
            nodes_[call.node].name, " answered GetKey ", ShortHex(key_id),
            " with key ", ShortHex(call.response.key_id())));
      }
      if (!valid.ok()) {
        refused.push_back(std::string(valid.message()));
        continue;
      }
      if (call.response.activation_certificate().empty()) {
        uncertified.push_back(&call.response);
        uncertified_by.push_back(nodes_[call.node].name);
        continue;
      }
      auto it = checked.find(call.response.activation_certificate());
      if (it == checked.end()) {
        it = checked
                 .emplace(call.response.activation_certificate(),
                          CheckKeyCertificate(call.response, known))
                 .first;
      }
      if (!it->second.ok()) {
        refused.push_back(
            absl::StrCat(nodes_[call.node].name, ": ", it->second.message()));
        continue;
      }
      if (newest == nullptr || call.response.epoch() > newest->epoch()) {
        newest = &call.response;
      }
      continue;
    }
    all_not_found &= call.status.error_code() == grpc::StatusCode::NOT_FOUND;
    if (call.status.error_code() != grpc::StatusCode::NOT_FOUND) {
      failures.push_back(call);
    }
  }
  if (newest == nullptr) {
    newest = AgreedUncertified(uncertified);
  } else {
    for (size_t i = 0; i < uncertified.size(); ++i) {
      if (!google::protobuf::util::MessageDifferencer::Equals(
              WithoutNodeNames(*uncertified[i]), WithoutNodeNames(*newest))) {
        refused.push_back(absl::StrCat(uncertified_by[i], ": epoch ",
                                       uncertified[i]->epoch(),
                                       " without an activation certificate"));
      }
    }
  }
  if (newest != nullptr) {
    *out = *newest;
    for (const std::string& r : refused) {
      out->add_warnings(
          absl::StrCat("ignored the description of the key by ", r));
    }
    FillNodeNames(out);
    return grpc::Status::OK;
  }
  if (refused.empty() && !uncertified.empty()) {
    std::vector<size_t> all(nodes_.size());
    std::iota(all.begin(), all.end(), size_t{0});
    const std::string unhealthy = UnhealthyList(probes, all);
    return Error(absl::UnavailableError(absl::StrCat(
        "key ", ShortHex(key_id),
        " has no activation certificate (activated before certificates) "
        "and fewer than its threshold of ",
        uncertified[0]->threshold(), " reachable nodes report it identically (",
        uncertified.size(), " answered)",
        unhealthy.empty() ? "" : "; unreachable: ", unhealthy,
        UnidentifiedNodes(probes))));
  }
  if (!refused.empty() || !uncertified.empty()) {
    return Error(absl::FailedPreconditionError(absl::StrCat(
        "no certified description of key ", ShortHex(key_id),
        " and no description reported identically by as many nodes as its "
        "threshold",
        refused.empty() ? "" : "; ignored: ", absl::StrJoin(refused, "; "))));
  }
  if (!all_not_found) {
    return PickFailure(failures);
  }
  std::vector<std::string> asked;
  asked.reserve(healthy.size());
  for (size_t node : healthy) {
    asked.push_back(nodes_[node].name);
  }
  std::string message = absl::StrCat(
      "key ", absl::BytesToHexString(key_id),
      " is not known to any reachable node (asked ", Bracketed(asked), ")");
  if (healthy.size() < nodes_.size()) {
    std::vector<size_t> all(nodes_.size());
    std::iota(all.begin(), all.end(), size_t{0});
    absl::StrAppend(&message, "; unreachable: ", UnhealthyList(probes, all));
  }
  return Error(absl::NotFoundError(message));
}

const KeyInfo* Gateway::AgreedUncertified(
    const std::vector<const KeyInfo*>& answers) const {
  const KeyInfo* best = nullptr;
  for (const KeyInfo* a : answers) {
    const KeyInfo core = WithoutNodeNames(*a);
    uint32_t agreeing = 0;
    for (const KeyInfo* b : answers) {
      agreeing += google::protobuf::util::MessageDifferencer::Equals(
                      core, WithoutNodeNames(*b))
                      ? 1
                      : 0;
    }
    if (agreeing >= a->threshold() &&
        (best == nullptr || a->epoch() > best->epoch())) {
      best = a;
    }
  }
  return best;
}

// --- Wallet operations
// --------------------------------------------------------------

grpc::Status Gateway::CreateKey(const kagi::v1::CreateKeyRequest& request,
                                absl::string_view initiator,
                                absl::Time deadline, KeyInfo* out) {
  absl::StatusOr<std::vector<std::string>> chosen =
      ChooseDkgNodes(request, node_names_);
  if (!chosen.ok()) {
    return Error(chosen.status());
  }
  std::vector<size_t> nodes;
  for (const std::string& name : *chosen) {
    nodes.push_back(static_cast<size_t>(
        std::find(node_names_.begin(), node_names_.end(), name) -
        node_names_.begin()));
  }
  const std::vector<Probe> probes = ProbeNodes(nodes, deadline);
  const std::string unhealthy = UnhealthyList(probes, nodes);
  if (!unhealthy.empty()) {
    return Error(absl::UnavailableError(absl::StrCat(
        "cannot run the key generation: every chosen node must be reachable: ",
        unhealthy)));
  }
  kagi::v1::StartDkgRequest dkg;
  dkg.set_request_id(request.request_id());
  dkg.set_threshold(request.threshold());
  *dkg.mutable_networks() = request.networks();
  std::vector<std::string> identity_keys;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string& key = probes[nodes[i]].identity_key;
    for (size_t j = 0; j < i; ++j) {
      if (identity_keys[j] == key) {
        return Error(absl::FailedPreconditionError(absl::StrCat(
            "nodes ", nodes_[nodes[j]].name, " and ", nodes_[nodes[i]].name,
            " report the same identity key ", ShortHex(key),
            " (two configured names for one node?)")));
      }
    }
    identity_keys.push_back(key);
    dkg.add_party_identity_keys(key);
  }
  dkg.set_initiator_nonce(NewNonce());
  dkg.set_expiry_unix_seconds(ClientExpiry(request.expiry_unix_seconds()));
  *dkg.mutable_approvals() = request.approvals();
  dkg.set_initiator(std::string(initiator));

  const std::vector<Call<KeyInfo>> calls =
      CallEach<kagi::v1::StartDkgRequest, KeyInfo>(
          nodes, dkg, CallDeadline(deadline, options_.request_timeout),
          StartDkgCall());
  std::vector<const Call<KeyInfo>*> succeeded;
  std::vector<std::string> warnings;
  grpc::Status activated =
      ActivateEverywhere(calls, nodes, {}, deadline, &succeeded, &warnings);
  if (!activated.ok()) {
    return activated;
  }
  std::vector<KeyInfo> normalized;
  normalized.reserve(succeeded.size());
  std::vector<NodeAnswer> answers;
  for (const Call<KeyInfo>* call : succeeded) {
    absl::Status valid =
        ValidateKeyInfo(call->response, nodes_[call->node].name);
    if (!valid.ok()) {
      return Error(valid);
    }
    normalized.push_back(WithoutNodeNames(call->response));
  }
  for (size_t i = 0; i < succeeded.size(); ++i) {
    answers.push_back(
        NodeAnswer{nodes_[succeeded[i]->node].name, &normalized[i]});
  }
  absl::Status agreed = CheckAgreement(answers, "the new key");
  if (!agreed.ok()) {
    return Error(agreed);
  }
  absl::Status committee =
      CheckNewCommittee(succeeded[0]->response, identity_keys,
                        request.threshold(), nodes_[succeeded[0]->node].name);
  if (!committee.ok()) {
    return Error(committee);
  }
  *out = succeeded[0]->response;
  for (const std::string& w : warnings) out->add_warnings(w);
  FillNodeNames(out);
  return grpc::Status::OK;
}

grpc::Status Gateway::GetKey(const kagi::v1::GetKeyRequest& request,
                             absl::Time deadline, KeyInfo* out) {
  absl::Status valid = ValidateKeyId(request.key_id());
  if (!valid.ok()) {
    return Error(valid);
  }
  const std::vector<Probe> probes = ProbeNodes({}, deadline);
  grpc::Status fetched = FetchKey(request.key_id(), probes, deadline, out);
  if (!fetched.ok()) {
    return fetched;
  }
  DescribeHolders(probes, deadline, out);
  return grpc::Status::OK;
}

void Gateway::DescribeHolders(const std::vector<Probe>& probes,
                              absl::Time deadline, KeyInfo* key) {
  std::vector<size_t> asked;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (probes[i].healthy) asked.push_back(i);
  }
  kagi::v1::GetKeyRequest get;
  get.set_key_id(key->key_id());
  const std::vector<Call<KeyInfo>> calls =
      CallEach<kagi::v1::GetKeyRequest, KeyInfo>(
          asked, get, CallDeadline(deadline, options_.request_timeout),
          GetKeyCall());
  std::set<std::string> committee;
  for (const kagi::v1::KeyParty& p : key->parties()) {
    committee.insert(p.identity_key());
  }
  // Heal: a member behind the newest epoch, or a removed member still
  // holding an old one, gets the newest epoch's certificate.
  std::vector<size_t> lagging;
  for (const Call<KeyInfo>& call : calls) {
    const bool member = committee.count(probes[call.node].identity_key) != 0;
    const bool behind =
        call.status.ok()
            ? call.response.epoch() < key->epoch()
            : member && call.status.error_code() == grpc::StatusCode::NOT_FOUND;
    if (behind) lagging.push_back(call.node);
  }
  std::map<size_t, grpc::Status> healed;
  if (!lagging.empty() && !key->activation_certificate().empty()) {
    kagi::v1::ActivateRequest request;
    request.set_certificate(key->activation_certificate());
    for (const auto& d :
         CallEach<kagi::v1::ActivateRequest, kagi::v1::ActivateResponse>(
             lagging, request, CallDeadline(deadline, options_.request_timeout),
             ActivateCall())) {
      healed[d.node] = d.status;
    }
  }
  std::map<size_t, const Call<KeyInfo>*> by_node;
  for (const Call<KeyInfo>& call : calls) by_node[call.node] = &call;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    kagi::v1::KeyHolder* h = key->add_holders();
    h->set_node(nodes_[i].name);
    h->set_member(committee.count(probes[i].identity_key) != 0);
    auto it = by_node.find(i);
    if (it == by_node.end()) {
      h->set_state("unreachable");
      h->set_note(DescribeNodeError(nodes_[i].name, probes[i].status));
      if (h->member()) {
        key->add_warnings(
            absl::StrCat(nodes_[i].name, " (a member) is unreachable"));
      }
      continue;
    }
    const Call<KeyInfo>& call = *it->second;
    if (call.status.ok()) {
      h->set_state("active");
      h->set_epoch(call.response.epoch());
      *h->mutable_pending_epochs() = call.response.pending_epochs();
      if (call.response.legacy_base_ot()) {
        key->add_warnings(
            absl::StrCat(nodes_[i].name,
                         " holds a share with legacy base-OT material: "
                         "refresh the key (docs/rotation.md)"));
        key->set_legacy_base_ot(true);
      }
    } else {
      h->set_state(call.status.error_code() == grpc::StatusCode::NOT_FOUND
                       ? "none"
                       : "error");
      if (h->state() == "error") h->set_note(call.status.error_message());
    }
    auto heal = healed.find(i);
    if (heal != healed.end()) {
      if (heal->second.ok()) {
        h->set_note(absl::StrCat(h->member() ? "brought forward to epoch "
                                             : "removed member: share erased "
                                               "on the certificate of epoch ",
                                 key->epoch()));
        h->set_state(h->member() ? "active" : "none");
        h->set_epoch(h->member() ? key->epoch() : 0);
      } else {
        const std::string what = absl::StrCat(
            nodes_[i].name,
            h->member() ? " is behind the key's epoch "
                        : " was removed from the committee but still holds "
                          "an old share; the key is at epoch ",
            key->epoch(), " and delivering its certificate failed: ",
            DescribeNodeError(nodes_[i].name, heal->second));
        h->set_note(what);
        key->add_warnings(what);
      }
    } else if (call.status.ok() && call.response.epoch() < key->epoch()) {
      const std::string what =
          absl::StrCat(nodes_[i].name, " holds epoch ", call.response.epoch(),
                       "; the key is at epoch ", key->epoch(),
                       key->activation_certificate().empty()
                           ? " (no certificate to bring it forward)"
                           : "");
      h->set_note(what);
      key->add_warnings(what);
    }
  }
}

grpc::Status Gateway::ListKeys(const kagi::v1::ListKeysRequest& request,
                               absl::Time deadline,
                               kagi::v1::ListKeysResponse* out) {
  const std::vector<Probe> probes = ProbeNodes({}, deadline);
  absl::StatusOr<std::vector<size_t>> reachable = HealthyNodes(probes);
  if (!reachable.ok()) {
    return Error(reachable.status());
  }
  const std::vector<size_t>& healthy = *reachable;
  const std::vector<Call<kagi::v1::ListKeysResponse>> calls =
      CallEach<kagi::v1::ListKeysRequest, kagi::v1::ListKeysResponse>(
          healthy, request, CallDeadline(deadline, options_.request_timeout),
          ListKeysCall());
  std::vector<kagi::v1::ListKeysResponse> answers;
  for (const auto& call : calls) {
    if (!call.status.ok()) {
      continue;
    }
    for (const KeyInfo& key : call.response.keys()) {
      absl::Status valid = ValidateKeyInfo(key, nodes_[call.node].name);
      if (!valid.ok()) {
        return Error(valid);
      }
    }
    answers.push_back(call.response);
  }
  if (answers.empty()) {
    return PickFailure(calls);
  }
  *out = MergeKeyLists(answers);
  for (KeyInfo& key : *out->mutable_keys()) {
    FillNodeNames(&key);
  }
  // Keys a node holds but cannot open, named by the node that answered.
  for (const auto& call : calls) {
    if (!call.status.ok()) continue;
    for (const kagi::v1::KeyError& e : call.response.errors()) {
      kagi::v1::KeyError* copy = out->add_errors();
      *copy = e;
      copy->set_node(nodes_[call.node].name);
    }
  }
  return grpc::Status::OK;
}

grpc::Status Gateway::DerivePublicKey(const kagi::v1::DeriveRequest& request,
                                      absl::Time deadline,
                                      kagi::v1::DerivedKey* out) {
  absl::Status valid = ValidateKeyId(request.key_id());
  if (valid.ok()) {
    valid = ValidatePath(request.path(), "path");
  }
  absl::StatusOr<chain::Network> network = ParseNetwork(request.network());
  if (valid.ok()) {
    valid = network.status();
  }
  if (!valid.ok()) {
    return Error(valid);
  }
  const std::vector<Probe> probes = ProbeNodes({}, deadline);
  KeyInfo key;
  grpc::Status fetched = FetchKey(request.key_id(), probes, deadline, &key);
  if (!fetched.ok()) {
    return fetched;
  }
  absl::StatusOr<kagi::v1::DerivedKey> derived =
      DeriveFromKeyInfo(key, request.path(), *network);
  if (!derived.ok()) {
    return Error(derived.status());
  }
  *out = *std::move(derived);
  return grpc::Status::OK;
}

grpc::Status Gateway::Sign(const kagi::v1::SignRequest& request,
                           absl::string_view initiator, absl::Time deadline,
                           kagi::v1::SignResponse* out) {
  absl::Status valid = ValidateSignRequest(request);
  if (!valid.ok()) {
    return Error(valid);
  }
  // Signing is the hot path: the probe and the key description are reused
  // for a moment (kSignCacheTtl) instead of costing two fan-outs per request.
  // Any failure forgets them, so the next request looks again.
  const std::vector<Probe> probes = RecentProbes(deadline);
  KeyInfo key;
  grpc::Status fetched = RecentKey(request.key_id(), probes, deadline, &key);
  if (!fetched.ok()) {
    return fetched;
  }
  const std::vector<std::optional<size_t>> party_nodes = PartyNodes(key);
  const uint32_t threshold = key.threshold();
  std::vector<uint32_t> usable;
  absl::flat_hash_set<uint32_t> unhealthy;
  std::vector<std::string> unknown;
  for (int p = 0; p < key.parties_size(); ++p) {
    const uint32_t id = key.parties(p).id();
    const std::optional<size_t>& node = party_nodes[static_cast<size_t>(p)];
    if (!node.has_value()) {
      unknown.push_back(absl::StrCat("party ", id, " (identity key ",
                                     ShortHex(key.parties(p).identity_key()),
                                     ")"));
      continue;
    }
    usable.push_back(id);
    if (!probes[*node].healthy) {
      unhealthy.insert(id);
    }
  }
  if (usable.size() < threshold) {
    return Error(absl::UnavailableError(
        absl::StrCat("the key needs ", threshold, " signers but only ",
                     usable.size(), " of its ", key.parties_size(),
                     " parties are nodes this gateway knows; unknown: ",
                     absl::StrJoin(unknown, ", "), UnidentifiedNodes(probes))));
  }
  const std::vector<std::vector<uint32_t>> plan =
      PlanSignerSets(usable, unhealthy, threshold, rotation_.fetch_add(1));
  const int max_attempts = options_.max_sign_attempts > 0
                               ? options_.max_sign_attempts
                               : key.parties_size();
  absl::flat_hash_set<uint32_t> excluded;   // down for this request
  absl::flat_hash_set<uint32_t> rechecked;  // probed a second time
  std::vector<std::string> attempt_log;
  uint32_t attempts = 0;
  bool out_of_time = false;
  // The last node fault, if any: what the client gets when no signer set is
  // left and no failure was transient (a per-client limit or a payload bound
  // every node applies, say); with a transient one, UNAVAILABLE (one faulty
  // node must not make an outage look permanent).
  std::optional<grpc::Status> node_fault;
  bool transient = false;
  for (const std::vector<uint32_t>& signers : plan) {
    if (attempts >= static_cast<uint32_t>(max_attempts)) {
      break;
    }
    const auto is_excluded = [&](uint32_t id) { return excluded.contains(id); };
    if (std::any_of(signers.begin(), signers.end(), is_excluded)) {
      continue;
    }
    // A party that failed the first probe gets one more before it is used:
    // a node that is really down is then skipped at the cost of a probe
    // instead of a whole signing timeout.
    std::vector<size_t> recheck;
    std::vector<uint32_t> recheck_ids;
    for (uint32_t id : signers) {
      if (unhealthy.contains(id) && !rechecked.contains(id)) {
        recheck.push_back(*party_nodes[id - 1]);
        recheck_ids.push_back(id);
      }
    }
    if (!recheck.empty()) {
      const std::vector<Probe> again = ProbeNodes(recheck, deadline);
      for (size_t k = 0; k < recheck.size(); ++k) {
        rechecked.insert(recheck_ids[k]);
        if (!again[recheck[k]].healthy) {
          excluded.insert(recheck_ids[k]);
        }
      }
      if (std::any_of(signers.begin(), signers.end(), is_excluded)) {
        continue;
      }
    }
    if (absl::Now() >= deadline) {
      out_of_time = true;
      break;
    }
    ++attempts;
    kagi::v1::StartSignRequest start;
    *start.mutable_request() = request;
    start.mutable_signers()->Add(signers.begin(), signers.end());
    start.set_initiator_nonce(NewNonce());
    start.set_initiator(std::string(initiator));
    std::vector<size_t> nodes;
    std::vector<std::string> names;
    for (uint32_t id : signers) {
      nodes.push_back(*party_nodes[id - 1]);
      names.push_back(nodes_[nodes.back()].name);
    }
    // A signer that refuses or fails ends the attempt at once: the others'
    // sessions could only time out waiting for it.
    const std::vector<Call<kagi::v1::StartSignResponse>> calls =
        CallEach<kagi::v1::StartSignRequest, kagi::v1::StartSignResponse>(
            nodes, start, CallDeadline(deadline, options_.request_timeout),
            StartSignCall(), [](const grpc::Status& status) {
              return ClassifySignerError(status) != NodeErrorKind::kRetryable;
            });

    std::vector<NodeAnswer> answers;
    std::vector<std::string> failures;
    const Call<kagi::v1::StartSignResponse>* fatal = nullptr;
    int fatal_rank = 0;
    for (size_t i = 0; i < calls.size(); ++i) {
      const auto& call = calls[i];
      if (call.status.ok()) {
        answers.push_back(NodeAnswer{names[i], &call.response});
        continue;
      }
      if (call.cancelled) {
        failures.push_back(absl::StrCat(names[i], ": cancelled"));
        continue;
      }
      failures.push_back(DescribeNodeError(names[i], call.status));
      const NodeErrorKind kind = ClassifySignerError(call.status);
      if (kind == NodeErrorKind::kNodeFault) {
        // That node's own fault: the next signer set goes without it.
        excluded.insert(signers[i]);
        node_fault = call.status;
      } else if (kind == NodeErrorKind::kRetryable) {
        transient = true;
      } else if (fatal == nullptr || NodeErrorRank(kind) > fatal_rank) {
        fatal = &call;
        fatal_rank = NodeErrorRank(kind);
      }
    }
    if (fatal != nullptr) {
      // Blamed or refused: another signer set would not help.
      ForgetRecent();
      return ForwardNodeError(fatal->node, fatal->status);
    }
    if (!answers.empty()) {
      // Every signer that answered must agree, and what they returned must
      // verify here. If some signers only timed out or became unreachable
      // after the session completed, the signatures still stand: the request
      // id is now used up, so retrying could only fail.
      absl::Status agreed = CheckAgreement(answers, "the signatures");
      if (agreed.ok()) {
        agreed =
            VerifySignResponse(key, request,
                               static_cast<const kagi::v1::StartSignResponse&>(
                                   *answers[0].answer));
      }
      if (!agreed.ok()) {
        return Error(agreed);
      }
      const auto& signed_answer =
          static_cast<const kagi::v1::StartSignResponse&>(*answers[0].answer);
      *out->mutable_signatures() = signed_answer.signatures();
      out->set_request_digest(signed_answer.request_digest());
      out->set_signed_psbt(signed_answer.signed_psbt());
      if (signed_answer.has_ethereum()) {
        *out->mutable_ethereum() = signed_answer.ethereum();
      }
      out->mutable_signer_nodes()->Add(names.begin(), names.end());
      out->set_attempts(attempts);
      return grpc::Status::OK;
    }
    ForgetRecent();
    for (size_t i = 0; i < calls.size(); ++i) {
      if (IsTransportFailure(calls[i].status.error_code())) {
        excluded.insert(signers[i]);
      }
    }
    attempt_log.push_back(absl::StrCat("attempt ", attempts, " ",
                                       Bracketed(names), ": ",
                                       absl::StrJoin(failures, "; ")));
  }
  if (attempts == 0 && !out_of_time) {
    std::vector<size_t> all;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      all.push_back(i);
    }
    return Error(absl::UnavailableError(
        absl::StrCat("no set of ", threshold,
                     " signers to try: ", UnhealthyList(probes, all))));
  }
  const std::string summary = absl::StrCat(
      "signing failed with every signer set tried (", attempts, " attempt",
      attempts == 1 ? "" : "s", "): ", absl::StrJoin(attempt_log, " | "));
  if (out_of_time) {
    return Error(absl::DeadlineExceededError(
        absl::StrCat("the caller's deadline passed; ", summary)));
  }
  if (transient) {
    node_fault.reset();
  }
  if (node_fault.has_value() &&
      transport::GetErrorDetails(*node_fault).has_value()) {
    // The node's code and ErrorDetails, with every attempt in the message.
    return grpc::Status(node_fault->error_code(), summary,
                        node_fault->error_details());
  }
  if (node_fault.has_value()) {
    return Error(absl::Status(
        static_cast<absl::StatusCode>(node_fault->error_code()), summary));
  }
  return Error(absl::UnavailableError(summary));
}

grpc::Status Gateway::RunReshare(const KeyInfo& old_key,
                                 const kagi::v1::StartReshareRequest& request,
                                 absl::Span<const size_t> participants,
                                 absl::Span<const size_t> members,
                                 absl::Time deadline, KeyInfo* out) {
  const std::vector<Call<KeyInfo>> calls =
      CallEach<kagi::v1::StartReshareRequest, KeyInfo>(
          participants, request,
          CallDeadline(deadline, options_.request_timeout), StartReshareCall());
  // Every old party the new committee leaves out (dealer or not, reachable
  // or not) must erase its share on the certificate.
  std::vector<size_t> departing;
  const std::vector<std::optional<size_t>> old_nodes = PartyNodes(old_key);
  for (const std::optional<size_t>& node : old_nodes) {
    if (node.has_value() &&
        std::find(members.begin(), members.end(), *node) == members.end()) {
      departing.push_back(*node);
    }
  }
  std::vector<const Call<KeyInfo>*> member_calls;
  std::vector<std::string> warnings;
  grpc::Status activated = ActivateEverywhere(
      calls, members, departing, deadline, &member_calls, &warnings);
  if (!activated.ok()) {
    return activated;
  }
  std::vector<KeyInfo> normalized;
  normalized.reserve(member_calls.size());
  for (const Call<KeyInfo>* call : member_calls) {
    absl::Status valid =
        ValidateKeyInfo(call->response, nodes_[call->node].name);
    if (!valid.ok()) {
      return Error(valid);
    }
    normalized.push_back(WithoutNodeNames(call->response));
  }
  std::vector<NodeAnswer> answers;
  for (size_t i = 0; i < member_calls.size(); ++i) {
    answers.push_back(
        NodeAnswer{nodes_[member_calls[i]->node].name, &normalized[i]});
  }
  absl::Status checked = CheckAgreement(answers, "the reshared key");
  if (checked.ok() && member_calls.empty()) {
    checked = absl::InternalError("no member of the new committee answered");
  }
  if (checked.ok()) {
    const std::string& source = nodes_[member_calls[0]->node].name;
    checked = CheckNewCommittee(
        member_calls[0]->response,
        std::vector<std::string>(request.new_party_identity_keys().begin(),
                                 request.new_party_identity_keys().end()),
        request.new_threshold(), source);
    if (checked.ok()) {
      checked = CheckReshareResult(old_key, member_calls[0]->response, source);
    }
  }
  if (!checked.ok()) {
    return Error(checked);
  }
  *out = member_calls[0]->response;
  for (const std::string& w : warnings) out->add_warnings(w);
  FillNodeNames(out);
  return grpc::Status::OK;
}

grpc::Status Gateway::ActivateEverywhere(
    const std::vector<Call<KeyInfo>>& calls, absl::Span<const size_t> members,
    absl::Span<const size_t> departing, absl::Time deadline,
    std::vector<const Call<KeyInfo>*>* succeeded,
    std::vector<std::string>* warnings) {
  auto is_member = [&members](size_t node) {
    return std::find(members.begin(), members.end(), node) != members.end();
  };
  // The certificate: from any participant that finished, a leaving dealer
  // included (it erased its share on it). Every finished participant of one
  // session holds the same one; two different ones mean a participant
  // returned another session's, and none is delivered.
  std::string certificate;
  std::vector<size_t> behind;
  std::map<size_t, const grpc::Status*> failures;
  for (const Call<KeyInfo>& call : calls) {
    if (call.status.ok() && !call.response.activation_certificate().empty()) {
      if (!certificate.empty() &&
          certificate != call.response.activation_certificate()) {
        return Error(absl::InternalError(absl::StrCat(
            nodes_[call.node].name,
            " returned an activation certificate that differs from another "
            "participant's; none is delivered")));
      }
      certificate = call.response.activation_certificate();
    }
    if (!is_member(call.node)) {
      continue;  // a leaving dealer: it erases its share on success
    }
    if (call.status.ok()) {
      succeeded->push_back(&call);
    } else {
      behind.push_back(call.node);
      failures[call.node] = &call.status;
    }
  }
  if (certificate.empty() && !behind.empty()) {
    // No participant finished: the new epoch is nowhere active. Members
    // that got as far as a PENDING share keep it until a certificate
    // activates it (or an operator retires it).
    return PickFailure(calls);
  }
  std::vector<size_t> targets = behind;
  targets.insert(targets.end(), departing.begin(), departing.end());
  if (targets.empty() || certificate.empty()) {
    return grpc::Status::OK;
  }
  kagi::v1::ActivateRequest request;
  request.set_certificate(certificate);
  const std::vector<Call<kagi::v1::ActivateResponse>> delivered =
      CallEach<kagi::v1::ActivateRequest, kagi::v1::ActivateResponse>(
          targets, request, CallDeadline(deadline, options_.request_timeout),
          ActivateCall());
  std::vector<std::string> still_behind;
  for (const Call<kagi::v1::ActivateResponse>& d : delivered) {
    const std::string& name = nodes_[d.node].name;
    const bool member = failures.count(d.node) != 0;
    if (member && d.status.ok()) {
      warnings->push_back(absl::StrCat(
          name, ": its session ended with ",
          DescribeNodeError(name, *failures[d.node]),
          "; its share was activated by the certificate of the others"));
    } else if (member) {
      still_behind.push_back(absl::StrCat(
          DescribeNodeError(name, *failures[d.node]),
          "; delivering the certificate: ", DescribeNodeError(name, d.status)));
    } else if (!d.status.ok()) {
      warnings->push_back(
          absl::StrCat(name,
                       " is no longer in the committee but still holds its old "
                       "share (",
                       DescribeNodeError(name, d.status),
                       "); kagictl key show retries the retirement"));
    }
  }
  if (succeeded->empty()) {
    return Error(absl::UnavailableError(absl::StrCat(
        "no member of the new committee finished its session; the "
        "certificate of a leaving dealer was delivered to them",
        still_behind.empty() ? "" : ": ", absl::StrJoin(still_behind, "; "),
        " (kagictl key show reports the epochs)")));
  }
  if (!still_behind.empty()) {
    return Error(absl::UnavailableError(absl::StrCat(
        "the new epoch is active on ", succeeded->size(),
        " member(s), but these members could not be brought forward (their "
        "PENDING shares wait for the certificate; kagictl key show delivers "
        "it): ",
        absl::StrJoin(still_behind, "; "))));
  }
  return grpc::Status::OK;
}

grpc::Status Gateway::ListNodes(const kagi::v1::ListNodesRequest& /*request*/,
                                absl::Time deadline,
                                kagi::v1::ListNodesResponse* out) {
  const std::vector<Probe> probes = ProbeNodes({}, deadline);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    kagi::v1::NodeEntry* e = out->add_nodes();
    e->set_name(nodes_[i].name);
    e->set_identity_key(probes[i].identity_key);
    e->set_reachable(probes[i].healthy);
    if (!probes[i].healthy) {
      e->set_error(DescribeNodeError(nodes_[i].name, probes[i].status));
    }
  }
  return grpc::Status::OK;
}

grpc::Status Gateway::Refresh(const kagi::v1::RefreshRequest& request,
                              absl::string_view initiator, absl::Time deadline,
                              KeyInfo* out) {
  ForgetRecent();  // the committee or epoch is about to change
  absl::Status valid = ValidateRefreshRequest(request);
  if (!valid.ok()) {
    return Error(valid);
  }
  const std::vector<Probe> probes = ProbeNodes({}, deadline);
  KeyInfo key;
  grpc::Status fetched = FetchKey(request.key_id(), probes, deadline, &key);
  if (!fetched.ok()) {
    return fetched;
  }
  const std::vector<std::optional<size_t>> party_nodes = PartyNodes(key);
  std::vector<std::string> missing;
  std::vector<size_t> nodes;
  for (int p = 0; p < key.parties_size(); ++p) {
    const std::optional<size_t>& node = party_nodes[static_cast<size_t>(p)];
    if (!node.has_value()) {
      missing.push_back(absl::StrCat("party ", key.parties(p).id(),
                                     " is not a node this gateway knows "
                                     "(identity key ",
                                     ShortHex(key.parties(p).identity_key()),
                                     ")"));
    } else if (!probes[*node].healthy) {
      missing.push_back(absl::StrCat(
          "party ", key.parties(p).id(), " ",
          DescribeNodeError(nodes_[*node].name, probes[*node].status)));
    } else {
      nodes.push_back(*node);
    }
  }
  if (!missing.empty()) {
    return Error(absl::UnavailableError(absl::StrCat(
        "a refresh needs all ", key.parties_size(),
        " parties of the key reachable: ", absl::StrJoin(missing, "; "),
        UnidentifiedNodes(probes))));
  }
  std::vector<uint32_t> dealers;
  if (request.dealers().empty()) {
    for (uint32_t id = 1; id <= key.threshold(); ++id) dealers.push_back(id);
  } else {
    absl::Status checked = CheckDealers(request.dealers(), key);
    if (!checked.ok()) {
      return Error(checked);
    }
    dealers.assign(request.dealers().begin(), request.dealers().end());
  }
  kagi::v1::StartReshareRequest reshare;
  reshare.set_request_id(request.request_id());
  reshare.set_key_id(key.key_id());
  reshare.set_epoch(key.epoch());
  for (uint32_t id : dealers) {
    reshare.add_dealers(id);
    reshare.add_dealer_identity_keys(
        key.parties(static_cast<int>(id - 1)).identity_key());
  }
  for (const kagi::v1::KeyParty& party : key.parties()) {
    reshare.add_old_party_identity_keys(party.identity_key());
  }
  for (const kagi::v1::KeyParty& party : key.parties()) {
    reshare.add_new_party_identity_keys(party.identity_key());
  }
  reshare.set_new_threshold(key.threshold());
  reshare.set_initiator_nonce(NewNonce());
  reshare.set_expiry_unix_seconds(ClientExpiry(request.expiry_unix_seconds()));
  *reshare.mutable_approvals() = request.approvals();
  reshare.set_initiator(std::string(initiator));
  *reshare.mutable_networks() =
      request.networks().empty() ? key.networks() : request.networks();
  reshare.set_operation("refresh");
  return RunReshare(key, reshare, nodes, nodes, deadline, out);
}

grpc::Status Gateway::Reshare(const kagi::v1::ReshareRequest& request,
                              absl::string_view initiator, absl::Time deadline,
                              KeyInfo* out) {
  ForgetRecent();  // the committee or epoch is about to change
  absl::Status valid = ValidateReshareRequest(request, node_names_);
  if (!valid.ok()) {
    return Error(valid);
  }
  const std::vector<Probe> probes = ProbeNodes({}, deadline);
  KeyInfo key;
  grpc::Status fetched = FetchKey(request.key_id(), probes, deadline, &key);
  if (!fetched.ok()) {
    return fetched;
  }
  // Dealers: the client's choice (bound by the admin digest), else the
  // first t_old old parties that are reachable.
  if (!request.dealers().empty()) {
    absl::Status checked = CheckDealers(request.dealers(), key);
    if (!checked.ok()) {
      return Error(checked);
    }
  }
  auto chosen = [&request](uint32_t id) {
    return request.dealers().empty() ||
           std::find(request.dealers().begin(), request.dealers().end(), id) !=
               request.dealers().end();
  };
  const std::vector<std::optional<size_t>> party_nodes = PartyNodes(key);
  std::vector<uint32_t> dealers;
  std::vector<std::string> dealer_identity_keys;
  std::vector<size_t> dealer_nodes;
  for (int p = 0; p < key.parties_size() && dealers.size() < key.threshold();
       ++p) {
    const std::optional<size_t>& node = party_nodes[static_cast<size_t>(p)];
    if (chosen(key.parties(p).id()) && node.has_value() &&
        probes[*node].healthy) {
      dealers.push_back(key.parties(p).id());
      dealer_identity_keys.push_back(key.parties(p).identity_key());
      dealer_nodes.push_back(*node);
    }
  }
  if (dealers.size() < key.threshold()) {
    std::vector<size_t> all;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      all.push_back(i);
    }
    return Error(absl::UnavailableError(
        absl::StrCat("a reshare needs ", key.threshold(),
                     " reachable parties of the key as dealers, found ",
                     dealers.size(), ": ", UnhealthyList(probes, all))));
  }
  // The new committee: every new node reachable, with a distinct identity.
  std::vector<size_t> members;
  std::vector<std::string> identity_keys;
  std::vector<std::string> unreachable;
  for (const std::string& name : request.new_nodes()) {
    const size_t node = static_cast<size_t>(
        std::find(node_names_.begin(), node_names_.end(), name) -
        node_names_.begin());
    if (!probes[node].healthy) {
      unreachable.push_back(DescribeNodeError(name, probes[node].status));
      continue;
    }
    for (size_t j = 0; j < identity_keys.size(); ++j) {
      if (identity_keys[j] == probes[node].identity_key) {
        return Error(absl::FailedPreconditionError(
            absl::StrCat("nodes ", nodes_[members[j]].name, " and ", name,
                         " report the same identity key ",
                         ShortHex(probes[node].identity_key),
                         " (two configured names for one node?)")));
      }
    }
    members.push_back(node);
    identity_keys.push_back(probes[node].identity_key);
  }
  if (!unreachable.empty()) {
    return Error(absl::UnavailableError(
        absl::StrCat("every new node must be reachable: ",
                     absl::StrJoin(unreachable, "; "))));
  }
  std::vector<size_t> participants = members;
  for (size_t node : dealer_nodes) {
    if (std::find(participants.begin(), participants.end(), node) ==
        participants.end()) {
      participants.push_back(node);
    }
  }
  kagi::v1::StartReshareRequest reshare;
  reshare.set_request_id(request.request_id());
  reshare.set_key_id(key.key_id());
  reshare.set_epoch(key.epoch());
  reshare.mutable_dealers()->Add(dealers.begin(), dealers.end());
  for (const std::string& identity : dealer_identity_keys) {
    reshare.add_dealer_identity_keys(identity);
  }
  for (const std::string& identity : identity_keys) {
    reshare.add_new_party_identity_keys(identity);
  }
  for (const kagi::v1::KeyParty& party : key.parties()) {
    reshare.add_old_party_identity_keys(party.identity_key());
  }
  reshare.set_new_threshold(request.new_threshold());
  reshare.set_initiator_nonce(NewNonce());
  reshare.set_expiry_unix_seconds(ClientExpiry(request.expiry_unix_seconds()));
  *reshare.mutable_approvals() = request.approvals();
  reshare.set_initiator(std::string(initiator));
  *reshare.mutable_networks() =
      request.networks().empty() ? key.networks() : request.networks();
  reshare.set_operation("reshare");
  return RunReshare(key, reshare, participants, members, deadline, out);
}

grpc::Status Gateway::GetRequestStatus(
    const kagi::v1::GetRequestStatusRequest& request,
    absl::string_view initiator, absl::Time deadline,
    kagi::v1::RequestStatus* out) {
  absl::Status valid = ValidateRequestId(request.request_id());
  if (!valid.ok()) {
    return Error(valid);
  }
  const std::vector<Probe> probes = ProbeNodes({}, deadline);
  absl::StatusOr<std::vector<size_t>> reachable = HealthyNodes(probes);
  if (!reachable.ok()) {
    return Error(reachable.status());
  }
  kagi::v1::GetRequestStatusRequest ask = request;
  ask.set_initiator(std::string(initiator));  // never the client's own word
  const std::vector<Call<kagi::v1::RequestStatus>> calls =
      CallEach<kagi::v1::GetRequestStatusRequest, kagi::v1::RequestStatus>(
          *reachable, ask, CallDeadline(deadline, options_.request_timeout),
          GetRequestStatusCall());
  std::vector<StatusAnswer> answers;
  for (const auto& call : calls) {
    if (call.status.ok()) {
      answers.push_back({nodes_[call.node].name, call.response});
    }
  }
  if (answers.empty()) {
    return PickFailure(calls);
  }
  const KeyLookup key_of =
      [&](const std::string& key_id) -> absl::StatusOr<KeyInfo> {
    KeyInfo key;
    const grpc::Status fetched = FetchKey(key_id, probes, deadline, &key);
    if (!fetched.ok()) {
      return absl::UnavailableError(fetched.error_message());
    }
    return key;
  };
  absl::StatusOr<kagi::v1::RequestStatus> agreed =
      AgreedStatus(answers, request.key_id(), key_of);
  if (!agreed.ok()) {
    return Error(agreed.status());
  }
  *out = *std::move(agreed);
  return grpc::Status::OK;
}

// --- WalletService
// -------------------------------------------------------------------

WalletService::WalletService(Gateway* gateway,
                             std::vector<std::string> allowed_clients)
    : gateway_(gateway), allowed_clients_(std::move(allowed_clients)) {}

grpc::Status WalletService::Authorize(const grpc::ServerContext& ctx) const {
  return transport::ToGrpcStatus(
      AuthorizeClient(transport::PeerIdentity(ctx), allowed_clients_,
                      gateway_->Name()),
      gateway_->Name());
}

// KAGI_WALLET_HANDLER_AS passes the client's certificate identity on as the
// request's initiator (what node policies may match on).
#define KAGI_WALLET_HANDLER_AS(method)                                 \
  do {                                                                 \
    grpc::Status authorized = Authorize(*ctx);                         \
    if (!authorized.ok()) {                                            \
      return authorized;                                               \
    }                                                                  \
    absl::StatusOr<transport::CertIdentity> who =                      \
        transport::PeerIdentity(*ctx);                                 \
    return gateway_->method(*request, who.ok() ? who->ToString() : "", \
                            DeadlineOf(*ctx), response);               \
  } while (false)

#define KAGI_WALLET_HANDLER(method)                                \
  do {                                                             \
    grpc::Status authorized = Authorize(*ctx);                     \
    if (!authorized.ok()) {                                        \
      return authorized;                                           \
    }                                                              \
    return gateway_->method(*request, DeadlineOf(*ctx), response); \
  } while (false)

grpc::Status WalletService::CreateKey(grpc::ServerContext* ctx,
                                      const kagi::v1::CreateKeyRequest* request,
                                      KeyInfo* response) {
  KAGI_WALLET_HANDLER_AS(CreateKey);
}

grpc::Status WalletService::GetKey(grpc::ServerContext* ctx,
                                   const kagi::v1::GetKeyRequest* request,
                                   KeyInfo* response) {
  KAGI_WALLET_HANDLER(GetKey);
}

grpc::Status WalletService::ListKeys(grpc::ServerContext* ctx,
                                     const kagi::v1::ListKeysRequest* request,
                                     kagi::v1::ListKeysResponse* response) {
  KAGI_WALLET_HANDLER(ListKeys);
}

grpc::Status WalletService::ListNodes(grpc::ServerContext* ctx,
                                      const kagi::v1::ListNodesRequest* request,
                                      kagi::v1::ListNodesResponse* response) {
  KAGI_WALLET_HANDLER(ListNodes);
}

grpc::Status WalletService::DerivePublicKey(
    grpc::ServerContext* ctx, const kagi::v1::DeriveRequest* request,
    kagi::v1::DerivedKey* response) {
  KAGI_WALLET_HANDLER(DerivePublicKey);
}

grpc::Status WalletService::Sign(grpc::ServerContext* ctx,
                                 const kagi::v1::SignRequest* request,
                                 kagi::v1::SignResponse* response) {
  KAGI_WALLET_HANDLER_AS(Sign);
}

grpc::Status WalletService::Refresh(grpc::ServerContext* ctx,
                                    const kagi::v1::RefreshRequest* request,
                                    KeyInfo* response) {
  KAGI_WALLET_HANDLER_AS(Refresh);
}

grpc::Status WalletService::Reshare(grpc::ServerContext* ctx,
                                    const kagi::v1::ReshareRequest* request,
                                    KeyInfo* response) {
  KAGI_WALLET_HANDLER_AS(Reshare);
}

grpc::Status WalletService::GetRequestStatus(
    grpc::ServerContext* ctx, const kagi::v1::GetRequestStatusRequest* request,
    kagi::v1::RequestStatus* response) {
  KAGI_WALLET_HANDLER_AS(GetRequestStatus);
}

#undef KAGI_WALLET_HANDLER

}  // namespace kagi::gateway
