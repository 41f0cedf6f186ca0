// File: services/gateway/gateway.h
//
// kagi-gateway's service: the kagi.v1.Wallet API that exchange backends
// call, implemented by fanning requests out to the key-share nodes over
// kagi.v1.Node (ARCHITECTURE.md "Components").
//
// The gateway holds no key material and is trusted for liveness only: it
// picks which nodes take part, fans a request out to them in parallel,
// checks that they agree and that what they return verifies, and retries a
// signature with another signer set when a node is down. Every node checks
// every request itself.
//
// Two classes:
//
//   * `Gateway`: the coordinator. One stub per node (one mTLS channel each,
//     pinned to the node name), a cache of the nodes' identity keys (learned
//     with GetNodeInfo, refreshed on every health probe), and a round-robin
//     counter for spreading signatures over signer sets. Its methods take
//     the caller's deadline and return grpc::Status: either the gateway's own
//     error (an absl::Status mapped by transport::ToGrpcStatus with the
//     gateway as reporting node) or a node's error forwarded unchanged,
//     error details included.
//   * `WalletService`: the kagi.v1.Wallet handlers. Each one checks the
//     caller's client certificate (AuthorizeClient) and calls the Gateway.
//
// Health: a node is healthy for a request when it answered GetNodeInfo
// within `health_timeout` (500 ms) at the start of that request; a node that
// fails with UNAVAILABLE or DEADLINE_EXCEEDED during a signature is not used
// again for that request.
//
// Thread safety: both classes are thread-safe; the gRPC server calls them
// from many threads at once. Node calls are made with gRPC's callback API
// and waited for on the handler's thread.
#ifndef KAGI_SERVICES_GATEWAY_GATEWAY_H_
#define KAGI_SERVICES_GATEWAY_GATEWAY_H_

#include <grpcpp/channel.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/config.pb.h"
#include "kagi/v1/node.grpc.pb.h"
#include "kagi/v1/wallet.grpc.pb.h"
#include "libs/base/clock.h"
#include "libs/base/rng.h"

namespace kagi::gateway {

// GatewayOptions configures a Gateway.
struct GatewayOptions {
  // The gateway's name: the reporting node of its own errors.
  std::string name;
  // Deadline of each StartDkg / StartSign / StartReshare fan-out and of the
  // key and status look-ups (capped by the caller's own deadline).
  absl::Duration request_timeout = absl::Seconds(30);
  // Deadline of a health probe (GetNodeInfo).
  absl::Duration health_timeout = absl::Milliseconds(500);
  // How far ahead of now a DKG / refresh / reshare setup expires.
  absl::Duration setup_expiry = absl::Seconds(120);
  // The most signer sets one Sign request tries; 0 means one per party of
  // the key (n).
  int max_sign_attempts = 0;
  // Time source for setup expiries; must be thread-safe. Not owned; must
  // outlive the Gateway. SystemClock when null.
  const Clock* clock = nullptr;
};

// NodeChannel is the channel to one node, named as the gateway knows it.
struct NodeChannel {
  std::string name;
  std::shared_ptr<grpc::ChannelInterface> channel;
};

class Gateway {
 public:
  // Create makes a gateway over `nodes` (in configuration order, which is
  // the default party order of CreateKey). InvalidArgument if the name is
  // empty, there is no node, a node name is empty or repeated, or a channel
  // is null.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(
      GatewayOptions options, std::vector<NodeChannel> nodes);

  // FromConfig makes one mTLS channel per configured node (the gateway's own
  // certificate as client certificate, the node name as expected server
  // name) and calls Create with config.name and config.request_timeout_ms.
  // `config` must be validated (transport::LoadGatewayConfig). Errors from
  // the TLS files name the file.
  static absl::StatusOr<std::unique_ptr<Gateway>> FromConfig(
      const kagi::v1::GatewayConfig& config);

  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;
  Gateway(Gateway&&) = delete;
  Gateway& operator=(Gateway&&) = delete;
  ~Gateway() = default;

  // The Wallet operations. `deadline` is the caller's (InfiniteFuture when it
  // set none); no node call outlives it. See wallet.proto and the service
  // brief in gateway.cc for the behaviour of each.
  grpc::Status CreateKey(const kagi::v1::CreateKeyRequest& request,
                         absl::string_view initiator, absl::Time deadline,
                         kagi::v1::KeyInfo* out);
  grpc::Status GetKey(const kagi::v1::GetKeyRequest& request,
                      absl::Time deadline, kagi::v1::KeyInfo* out);
  grpc::Status ListKeys(const kagi::v1::ListKeysRequest& request,
                        absl::Time deadline, kagi::v1::ListKeysResponse* out);
  grpc::Status ListNodes(const kagi::v1::ListNodesRequest& request,
                         absl::Time deadline, kagi::v1::ListNodesResponse* out);
  grpc::Status DerivePublicKey(const kagi::v1::DeriveRequest& request,
                               absl::Time deadline, kagi::v1::DerivedKey* out);
  grpc::Status Sign(const kagi::v1::SignRequest& request,
                    absl::string_view initiator, absl::Time deadline,
                    kagi::v1::SignResponse* out);
  grpc::Status Refresh(const kagi::v1::RefreshRequest& request,
                       absl::string_view initiator, absl::Time deadline,
                       kagi::v1::KeyInfo* out);
  grpc::Status Reshare(const kagi::v1::ReshareRequest& request,
                       absl::string_view initiator, absl::Time deadline,
                       kagi::v1::KeyInfo* out);
  // GetRequestStatus asks every healthy node about a request of
  // `initiator` and answers what they agree on (request_status.h).
  grpc::Status GetRequestStatus(
      const kagi::v1::GetRequestStatusRequest& request,
      absl::string_view initiator, absl::Time deadline,
      kagi::v1::RequestStatus* out);

  // Name returns the gateway's name (the reporting node of its errors).
  const std::string& Name() const { return options_.name; }
  // NodeNames returns the configured node names in configuration order.
  const std::vector<std::string>& NodeNames() const { return node_names_; }

 private:
  struct Node {
    std::string name;
    std::unique_ptr<kagi::v1::Node::Stub> stub;
  };
  // The result of a health probe of one node.
  struct Probe {
    bool healthy = false;
    // From this probe, or the cache when the probe failed ("" if unknown).
    std::string identity_key;
    grpc::Status status;
  };
  // One node's answer in a fan-out.
  template <typename Response>
  struct Call {
    size_t node = 0;
    grpc::Status status;
    Response response;
    // Cancelled by CallEach because another call of the fan-out stopped it
    // (`status` is then CANCELLED or whatever the node managed to answer).
    bool cancelled = false;
  };

  Gateway(GatewayOptions options, std::vector<Node> nodes);

  // CallEach sends `request` to each of `nodes` (indices into nodes_) at
  // once with `invoke(async_stub, ctx, request, response, done)` and waits for
  // every answer. With `stop`: as soon as one call ends with a status for
  // which stop(status) holds, the calls still running are cancelled (and
  // marked `cancelled`).
  template <typename Request, typename Response, typename Invoke>
  std::vector<Call<Response>> CallEach(
      absl::Span<const size_t> nodes, const Request& request,
      absl::Time deadline, Invoke invoke,
      std::function<bool(const grpc::Status&)> stop = nullptr);

  // ProbeNodes runs GetNodeInfo on `nodes` (all nodes when empty) and
  // updates the identity cache. The result is indexed like nodes_.
  std::vector<Probe> ProbeNodes(absl::Span<const size_t> nodes,
                                absl::Time deadline);
  // HealthyNodes lists the nodes `probes` found healthy; Unavailable (listing
  // why each failed) when there is none.
  absl::StatusOr<std::vector<size_t>> HealthyNodes(
      const std::vector<Probe>& probes) const;
  // PartyNodes maps each party of `key` to a node index by identity key.
  std::vector<std::optional<size_t>> PartyNodes(
      const kagi::v1::KeyInfo& key) const;
  // FillNodeNames sets parties[].node to the gateway's names where known.
  void FillNodeNames(kagi::v1::KeyInfo* key) const;
  // FetchKey asks the healthy nodes for `key_id` and returns the answer with
  // the highest epoch among those the key's committee certified (the first
  // in configuration order among equals; key_check.h), or, with none
  // certified, the newest that as many nodes as its threshold report
  // identically. Other answers are named in the result's warnings.
  grpc::Status FetchKey(const std::string& key_id,
                        const std::vector<Probe>& probes, absl::Time deadline,
                        kagi::v1::KeyInfo* out);
  // AgreedUncertified: the newest of `answers` that at least its threshold
  // of them report identically (without per-node fields), or null.
  const kagi::v1::KeyInfo* AgreedUncertified(
      const std::vector<const kagi::v1::KeyInfo*>& answers) const;
  // RecentProbes / RecentKey: ProbeNodes({}) and FetchKey, reused for
  // kSignCacheTtl; ForgetRecent drops both (after any failure).
  static constexpr absl::Duration kSignCacheTtl = absl::Seconds(1);
  std::vector<Probe> RecentProbes(absl::Time deadline);
  grpc::Status RecentKey(const std::string& key_id,
                         const std::vector<Probe>& probes, absl::Time deadline,
                         kagi::v1::KeyInfo* out);
  void ForgetRecent();
  // RunReshare runs StartReshare on `participants`, requires all to succeed
  // and the members of the new committee to agree, and checks the result.
  grpc::Status RunReshare(const kagi::v1::KeyInfo& old_key,
                          const kagi::v1::StartReshareRequest& request,
                          absl::Span<const size_t> participants,
                          absl::Span<const size_t> members, absl::Time deadline,
                          kagi::v1::KeyInfo* out);
  // ActivateEverywhere ends the fan-out of a DKG or reshare. Members whose
  // session failed get the certificate of a member that succeeded (so all
  // of them reach the new epoch or none does), and so do the `departing`
  // nodes (old parties the new committee leaves out: they erase their
  // shares). `succeeded` receives the members' successful calls,
  // `warnings` what an operator should know (a member brought forward, a
  // departing node that could not be reached). Fails when no member reached
  // the new epoch, or when some member cannot be brought forward.
  grpc::Status ActivateEverywhere(
      const std::vector<Call<kagi::v1::KeyInfo>>& calls,
      absl::Span<const size_t> members, absl::Span<const size_t> departing,
      absl::Time deadline,
      std::vector<const Call<kagi::v1::KeyInfo>*>* succeeded,
      std::vector<std::string>* warnings);
  // DescribeHolders fills key->holders with what every configured node holds
  // of the key, delivers the key's certificate to members behind it and to
  // removed members still holding an old share, and adds warnings.
  void DescribeHolders(const std::vector<Probe>& probes, absl::Time deadline,
                       kagi::v1::KeyInfo* key);
  // Returns the most telling failure among `calls` (forwarded unchanged if a
  // node produced it, else wrapped naming the node), or OK if none failed.
  template <typename Response>
  grpc::Status PickFailure(const std::vector<Call<Response>>& calls) const;
  grpc::Status ForwardNodeError(size_t node, const grpc::Status& status) const;
  // Error maps a gateway-side absl::Status to grpc::Status.
  grpc::Status Error(const absl::Status& status) const;
  // CallDeadline is min(now + timeout, deadline).
  static absl::Time CallDeadline(absl::Time deadline, absl::Duration timeout);
  uint64_t ExpiryUnixSeconds() const;
  // ClientExpiry: the client's expiry if it set one, else ExpiryUnixSeconds.
  uint64_t ClientExpiry(uint64_t requested) const;
  std::string NewNonce();
  std::string UnhealthyList(const std::vector<Probe>& probes,
                            absl::Span<const size_t> nodes) const;
  // UnidentifiedNodes lists the nodes whose identity key is not known (never
  // reached), for errors about key parties the gateway cannot place.
  std::string UnidentifiedNodes(const std::vector<Probe>& probes) const;

  const GatewayOptions options_;
  const std::vector<Node> nodes_;
  const std::vector<std::string> node_names_;
  SystemClock system_clock_;
  const Clock* clock_;
  OsRng rng_;  // stateless, thread-safe
  std::atomic<uint64_t> rotation_{0};

  mutable absl::Mutex mu_;
  // identity_keys_[i]: node i's identity key from its last good probe.
  std::vector<std::string> identity_keys_ ABSL_GUARDED_BY(mu_);
  // Sign's short-lived view of the cluster (RecentProbes / RecentKey).
  std::vector<Probe> recent_probes_ ABSL_GUARDED_BY(mu_);
  absl::Time recent_probes_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<std::string, std::pair<absl::Time, kagi::v1::KeyInfo>> recent_keys_
      ABSL_GUARDED_BY(mu_);
};

// WalletService serves kagi.v1.Wallet: it authorizes the caller's client
// certificate and delegates to a Gateway.
class WalletService final : public kagi::v1::Wallet::Service {
 public:
  // `gateway` is not owned and must outlive the service. `allowed_clients`
  // are the certificate names allowed to call (config clients); empty allows
  // every client certificate of the CA.
  WalletService(Gateway* gateway, std::vector<std::string> allowed_clients);

  grpc::Status CreateKey(grpc::ServerContext* ctx,
                         const kagi::v1::CreateKeyRequest* request,
                         kagi::v1::KeyInfo* response) override;
  grpc::Status GetKey(grpc::ServerContext* ctx,
                      const kagi::v1::GetKeyRequest* request,
                      kagi::v1::KeyInfo* response) override;
  grpc::Status ListKeys(grpc::ServerContext* ctx,
                        const kagi::v1::ListKeysRequest* request,
                        kagi::v1::ListKeysResponse* response) override;
  grpc::Status ListNodes(grpc::ServerContext* ctx,
                         const kagi::v1::ListNodesRequest* request,
                         kagi::v1::ListNodesResponse* response) override;
  grpc::Status DerivePublicKey(grpc::ServerContext* ctx,
                               const kagi::v1::DeriveRequest* request,
                               kagi::v1::DerivedKey* response) override;
  grpc::Status Sign(grpc::ServerContext* ctx,
                    const kagi::v1::SignRequest* request,
                    kagi::v1::SignResponse* response) override;
  grpc::Status Refresh(grpc::ServerContext* ctx,
                       const kagi::v1::RefreshRequest* request,
                       kagi::v1::KeyInfo* response) override;
  grpc::Status Reshare(grpc::ServerContext* ctx,
                       const kagi::v1::ReshareRequest* request,
                       kagi::v1::KeyInfo* response) override;
  grpc::Status GetRequestStatus(
      grpc::ServerContext* ctx,
      const kagi::v1::GetRequestStatusRequest* request,
      kagi::v1::RequestStatus* response) override;

 private:
  // Authorize checks the caller; OK or the grpc error to return.
  grpc::Status Authorize(const grpc::ServerContext& ctx) const;

  Gateway* const gateway_;
  const std::vector<std::string> allowed_clients_;
};

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_GATEWAY_H_
