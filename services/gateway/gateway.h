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
// Shape:
//
//   * `Gateway` (this file): the coordinator. It talks to the nodes through a
//     NodeClient (node_client.h: the gRPC client in production, an
//     in-process fake in unit tests), sees them through a NodeView
//     (node_view.h: identity keys learned with GetNodeInfo, refreshed on
//     every health probe) and keeps a round-robin counter for spreading
//     signatures over signer sets. Its
//     methods take the caller's deadline and return absl::StatusOr: either
//     the gateway's own error or a node's error forwarded unchanged, its
//     ErrorDetails included (node_errors.h).
//   * `WalletService` (wallet_service.h): the kagi.v1.Wallet handlers. Each
//     one checks the caller's client certificate, calls the Gateway and
//     converts the result once (ToClientStatus).
//
// The operations live in rooms of their own: gateway.cc (construction,
// the key cache, the read-only operations), key_fetch.cc (which KeyInfo to
// believe, and what every node holds of it), sign.cc (Sign in named steps),
// committee.cc (CreateKey, Refresh, Reshare and their activation).
//
// Health: a node is healthy for a request when it answered GetNodeInfo
// within `health_timeout` (500 ms) at the start of that request; a node that
// fails with UNAVAILABLE or DEADLINE_EXCEEDED during a signature is not used
// again for that request.
//
// Thread safety: thread-safe; the gRPC server calls it from many threads at
// once.
#ifndef KAGI_SERVICES_GATEWAY_GATEWAY_H_
#define KAGI_SERVICES_GATEWAY_GATEWAY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/config.pb.h"
#include "kagi/v1/node.pb.h"
#include "kagi/v1/wallet.pb.h"
#include "libs/base/clock.h"
#include "libs/base/rng.h"
#include "services/gateway/grpc_node_client.h"
#include "services/gateway/node_client.h"
#include "services/gateway/node_view.h"

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

class Gateway {
 public:
  // Create makes a gateway over the nodes of `client` (in configuration
  // order, which is the default party order of CreateKey). InvalidArgument
  // if the name is empty, a timeout is not positive, or the client is null
  // or has no node.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(
      GatewayOptions options, std::unique_ptr<NodeClient> client);
  // The same over a GrpcNodeClient of `nodes` (GrpcNodeClient::Create).
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(
      GatewayOptions options, std::vector<NodeChannel> nodes);

  // FromConfig: a GrpcNodeClient::FromConfig, with config.name and
  // config.request_timeout_ms. `config` must be validated
  // (transport::LoadGatewayConfig).
  static absl::StatusOr<std::unique_ptr<Gateway>> FromConfig(
      const kagi::v1::GatewayConfig& config);

  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;
  Gateway(Gateway&&) = delete;
  Gateway& operator=(Gateway&&) = delete;
  ~Gateway() = default;

  // The Wallet operations. `deadline` is the caller's (InfiniteFuture when it
  // set none); no node call outlives it. `initiator` is the caller's
  // certificate identity, passed to the nodes (what their policies match
  // on). See wallet.proto and the brief in gateway.cc for each.
  absl::StatusOr<kagi::v1::KeyInfo> CreateKey(
      const kagi::v1::CreateKeyRequest& request, absl::string_view initiator,
      absl::Time deadline);
  absl::StatusOr<kagi::v1::KeyInfo> GetKey(
      const kagi::v1::GetKeyRequest& request, absl::Time deadline);
  absl::StatusOr<kagi::v1::ListKeysResponse> ListKeys(
      const kagi::v1::ListKeysRequest& request, absl::Time deadline);
  absl::StatusOr<kagi::v1::ListNodesResponse> ListNodes(
      const kagi::v1::ListNodesRequest& request, absl::Time deadline);
  absl::StatusOr<kagi::v1::DerivedKey> DerivePublicKey(
      const kagi::v1::DeriveRequest& request, absl::Time deadline);
  absl::StatusOr<kagi::v1::SignResponse> Sign(
      const kagi::v1::SignRequest& request, absl::string_view initiator,
      absl::Time deadline);
  absl::StatusOr<kagi::v1::KeyInfo> Refresh(
      const kagi::v1::RefreshRequest& request, absl::string_view initiator,
      absl::Time deadline);
  absl::StatusOr<kagi::v1::KeyInfo> Reshare(
      const kagi::v1::ReshareRequest& request, absl::string_view initiator,
      absl::Time deadline);
  // GetRequestStatus asks every healthy node about a request of
  // `initiator` and answers what they agree on (request_status.h).
  absl::StatusOr<kagi::v1::RequestStatus> GetRequestStatus(
      const kagi::v1::GetRequestStatusRequest& request,
      absl::string_view initiator, absl::Time deadline);

  // Name returns the gateway's name (the reporting node of its errors).
  const std::string& Name() const { return options_.name; }
  // NodeNames returns the configured node names in configuration order.
  const std::vector<std::string>& NodeNames() const { return node_names_; }

 private:
  using Probe = NodeProbe;
  using KeyReply = NodeReply<kagi::v1::KeyInfo>;
  struct SignPlan;
  struct SignAttempt;

  Gateway(GatewayOptions options, std::unique_ptr<NodeClient> client);

  // --- caches (gateway.cc)
  // RecentKey: FetchKey, reused for NodeView::kRecentTtl (with
  // view_.RecentProbe, Sign's short-lived view of the cluster);
  // ForgetRecent drops both (after any failure).
  absl::StatusOr<kagi::v1::KeyInfo> RecentKey(const std::string& key_id,
                                              const std::vector<Probe>& probes,
                                              absl::Time deadline);
  void ForgetRecent();
  // ProbeAndFetch: `valid` (a request's shape check) when it is an error;
  // else a probe of every node (into `probes`), then FetchKey of `key_id`.
  absl::StatusOr<kagi::v1::KeyInfo> ProbeAndFetch(const absl::Status& valid,
                                                  const std::string& key_id,
                                                  absl::Time deadline,
                                                  std::vector<Probe>* probes);
  // --- keys (key_fetch.cc)
  // FetchKey asks the healthy nodes for `key_id` and returns the answer with
  // the highest epoch among those the key's committee certified (the first
  // in configuration order among equals; key_check.h), or, with none
  // certified, the newest that as many nodes as its threshold report
  // identically. Other answers are named in the result's warnings.
  absl::StatusOr<kagi::v1::KeyInfo> FetchKey(const std::string& key_id,
                                             const std::vector<Probe>& probes,
                                             absl::Time deadline);
  // DescribeHolders fills key->holders with what every configured node holds
  // of the key, delivers the key's certificate to members behind it and to
  // removed members still holding an old share, and adds warnings.
  void DescribeHolders(const std::vector<Probe>& probes, absl::Time deadline,
                       kagi::v1::KeyInfo* key);
  // HealLagging delivers `key`'s certificate to `lagging`; the result of
  // each delivery by node.
  std::map<size_t, absl::Status> HealLagging(const kagi::v1::KeyInfo& key,
                                             absl::Span<const size_t> lagging,
                                             absl::Time deadline);
  // DescribeHolder fills one holder entry of node `node`.
  void DescribeHolder(size_t node, const Probe& probe, const KeyReply* call,
                      const absl::Status* heal, kagi::v1::KeyInfo* key) const;

  // --- committees (committee.cc)
  // FinishNewCommittee ends a DKG or reshare fan-out: activation everywhere,
  // each member's answer valid, all agreeing on `what`, the committee the
  // one asked for (identity keys and threshold), and for a reshare the
  // continuation of `old_key`.
  absl::StatusOr<kagi::v1::KeyInfo> FinishNewCommittee(
      const std::vector<KeyReply>& calls, absl::Span<const size_t> members,
      absl::Span<const size_t> departing,
      absl::Span<const std::string> identity_keys, uint32_t threshold,
      const kagi::v1::KeyInfo* old_key, absl::string_view what,
      absl::Time deadline);
  // RunReshare runs StartReshare on `participants`, requires all to succeed
  // and the members of the new committee to agree, and checks the result.
  absl::StatusOr<kagi::v1::KeyInfo> RunReshare(
      const kagi::v1::KeyInfo& old_key,
      const kagi::v1::StartReshareRequest& request,
      absl::Span<const size_t> participants, absl::Span<const size_t> members,
      absl::Time deadline);
  // ActivateEverywhere ends the fan-out of a DKG or reshare. Members whose
  // session failed get the certificate of a member that succeeded (so all
  // of them reach the new epoch or none does), and so do the `departing`
  // nodes (old parties the new committee leaves out: they erase their
  // shares). `succeeded` receives the members' successful calls,
  // `warnings` what an operator should know (a member brought forward, a
  // departing node that could not be reached). Fails when no member reached
  // the new epoch, or when some member cannot be brought forward.
  absl::Status ActivateEverywhere(const std::vector<KeyReply>& calls,
                                  absl::Span<const size_t> members,
                                  absl::Span<const size_t> departing,
                                  absl::Time deadline,
                                  std::vector<const KeyReply*>* succeeded,
                                  std::vector<std::string>* warnings);
  // DeliverCertificate sends `certificate` to `targets` and sorts the
  // outcomes: members in `failures` brought forward (a warning) or still
  // behind (returned), departing nodes not reached (a warning).
  std::vector<std::string> DeliverCertificate(
      const std::string& certificate, absl::Span<const size_t> targets,
      const std::map<size_t, const absl::Status*>& failures,
      absl::Time deadline, std::vector<std::string>* warnings);
  // ChooseDealers picks the dealers of a reshare: the client's choice,
  // else the first t_old reachable old parties.
  absl::Status ChooseDealers(const kagi::v1::ReshareRequest& request,
                             const kagi::v1::KeyInfo& key,
                             const std::vector<Probe>& probes,
                             std::vector<uint32_t>* dealers,
                             std::vector<size_t>* dealer_nodes) const;
  // NewCommittee maps `names` to nodes that must all be reachable, with
  // distinct identity keys; `identity_keys` receives theirs.
  absl::StatusOr<std::vector<size_t>> NewCommittee(
      absl::Span<const std::string> names, const std::vector<Probe>& probes,
      std::vector<std::string>* identity_keys) const;
  // ReshareSetup: the StartReshareRequest of a Refresh or Reshare
  // `request` of `key` (operation "refresh" or "reshare").
  template <typename ClientRequest>
  kagi::v1::StartReshareRequest ReshareSetup(
      const ClientRequest& request, const kagi::v1::KeyInfo& key,
      absl::Span<const uint32_t> dealers,
      absl::Span<const std::string> new_identity_keys, uint32_t new_threshold,
      absl::string_view initiator, absl::string_view operation);

  // --- Sign (sign.cc)
  // ResolveSigners maps the key's parties to nodes and plans the signer
  // sets to try; Unavailable when fewer than the threshold can be placed.
  absl::StatusOr<SignPlan> ResolveSigners(const kagi::v1::KeyInfo& key,
                                          const std::vector<Probe>& probes);
  // UsableSigners: whether `signers` may be tried now (none excluded,
  // parties that failed the first probe probed once more).
  bool UsableSigners(const std::vector<uint32_t>& signers, absl::Time deadline,
                     SignPlan* plan);
  // SignOnce runs one attempt with `signers`.
  SignAttempt SignOnce(const kagi::v1::SignRequest& request,
                       const std::vector<uint32_t>& signers,
                       absl::string_view initiator, absl::Time deadline,
                       SignPlan* plan);
  // SignedResponse checks the signers' answers (agreement, verification)
  // and builds the client's response.
  absl::StatusOr<kagi::v1::SignResponse> SignedResponse(
      const kagi::v1::KeyInfo& key, const kagi::v1::SignRequest& request,
      const SignAttempt& attempt, uint32_t attempts) const;
  // SignFailure summarizes a Sign that found no signer set that worked.
  absl::Status SignFailure(const SignPlan& plan,
                           const std::vector<Probe>& probes, uint32_t threshold,
                           bool out_of_time) const;

  // --- errors and small helpers (gateway.cc)
  // Returns the most telling failure among `calls` (forwarded unchanged if a
  // node produced it, else wrapped naming the node), or OK if none failed.
  template <typename Response>
  absl::Status PickFailure(const std::vector<NodeReply<Response>>& calls) const;
  absl::Status ForwardNodeError(size_t node, const absl::Status& status) const;
  // CallDeadline is min(now + timeout, deadline).
  static absl::Time CallDeadline(absl::Time deadline, absl::Duration timeout);
  // RequestDeadline: CallDeadline with the request timeout.
  absl::Time RequestDeadline(absl::Time deadline) const;
  uint64_t ExpiryUnixSeconds() const;
  // ClientExpiry: the client's expiry if it set one, else ExpiryUnixSeconds.
  uint64_t ClientExpiry(uint64_t requested) const;
  std::string NewNonce();
  const std::string& NameOf(size_t node) const { return node_names_[node]; }

  const GatewayOptions options_;
  const std::unique_ptr<NodeClient> client_;
  const std::vector<std::string> node_names_;
  NodeView view_;
  SystemClock system_clock_;
  const Clock* clock_;
  OsRng rng_;  // stateless, thread-safe
  std::atomic<uint64_t> rotation_{0};

  mutable absl::Mutex mu_;
  // Sign's short-lived descriptions of keys (RecentKey).
  std::map<std::string, std::pair<absl::Time, kagi::v1::KeyInfo>> recent_keys_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_GATEWAY_H_
