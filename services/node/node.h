// File: services/node/node.h
//
// NodeCore: one key-share node's behaviour, independent of gRPC (the thin
// service classes in node_service.h authenticate callers and translate
// statuses). It owns the node's identity key, its store, its shares
// (shares.h), its admission (admission.h) and the session manager.
//
// Every Start* call is one Operation through one pipeline (operation.h):
// setup, expiry, admission, the durable begin (Store::BeginRequest), the
// protocol run, the activation of what it made, the outcome and its audit
// record in one transaction (Store::FinishRequest); a refusal before the
// begin is audited here too, and spends one of the client's refusal tokens.
//
// Signing: each presignature is recorded CONSUMED durably before its
// signature share leaves (Store::MarkPresignatureConsumed as the protocol's
// ConsumeHook).
#ifndef KAGI_SERVICES_NODE_NODE_H_
#define KAGI_SERVICES_NODE_NODE_H_

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kagi/v1/config.pb.h"
#include "kagi/v1/node.pb.h"
#include "libs/base/clock.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/evp.h"
#include "libs/policy/policy.h"
#include "libs/policy/request_digest.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/keyshare.h"
#include "libs/storage/store.h"
#include "services/node/admin_change.h"
#include "services/node/admission.h"
#include "services/node/claim_book.h"
#include "services/node/consume_journal.h"
#include "services/node/lifecycle_claims.h"
#include "services/node/payload.h"
#include "services/node/refusal_limiter.h"
#include "services/node/request.h"
#include "services/node/session_manager.h"
#include "services/node/shares.h"

namespace kagi::node {

// PartyNames maps the party ids of the session a call ran to node names,
// so errors can name the culprit node.
using PartyNames = std::map<uint32_t, std::string>;

// CallInfo is what a Start* call reports besides its result: the session's
// party names, and whether the request reached the store (then its outcome
// is in the request record; otherwise NodeCore audited it as a refusal).
struct CallInfo {
  PartyNames names;
  bool recorded = false;
};

class Operation;

class NodeCore {
 public:
  // `config` must be validated (transport/config.h). `transport` (and
  // `claims`) must outlive the core. Without a `policy` every signing and
  // administrative request is refused. Without `claims` the node tells no
  // peer about the request ids it admits (request_claims.h). Every time of
  // day the node reads comes from `clock` (the system clock when null; must
  // outlive the core; libs/base/clock.h): request expiry, policy velocity
  // windows, refusal budgets, audit record times. Network waits (round
  // timeouts, RPC deadlines) are not time of day and stay on absl::Now().
  static absl::StatusOr<std::unique_ptr<NodeCore>> Create(
      const v1::NodeConfig& config, std::unique_ptr<storage::Store> store,
      SecretBytes kek, crypto::Ed25519PrivateKey identity,
      PeerTransport* transport,
      std::shared_ptr<const policy::Policy> policy = nullptr,
      ClaimTransport* claims = nullptr, const Clock* clock = nullptr);
  ~NodeCore();

  const std::string& name() const { return config_.name(); }
  v1::NodeInfo Info() const;

  // The Start* calls: one Operation each through Perform (operation.h).
  // ResourceExhausted, unrecorded, while the initiator is over its refusal
  // budget (refusal_limiter.h).
  absl::StatusOr<v1::KeyInfo> StartDkg(const v1::StartDkgRequest& request,
                                       CallInfo* info);
  absl::StatusOr<v1::StartSignResponse> StartSign(
      const v1::StartSignRequest& request, CallInfo* info);
  absl::StatusOr<v1::KeyInfo> StartReshare(
      const v1::StartReshareRequest& request, CallInfo* info);
  // ReleaseInterruptedClaims, at start-up before serving: every signing
  // request this node claimed "admitted" died with its last process; each is
  // claimed "failed" to the key's other members, so that another signer set
  // may retry it. Returns one line per request released or not.
  std::vector<std::string> ReleaseInterruptedClaims();
  // ExchangeRequestClaims: Peer.ExchangeRequestClaims from the authenticated
  // peer `from_node` (request_claims.h).
  absl::StatusOr<v1::RequestClaims> ExchangeRequestClaims(
      const std::string& from_node, const v1::RequestClaims& request);
  absl::StatusOr<v1::KeyInfo> GetKey(const std::string& key_id);
  absl::StatusOr<v1::ListKeysResponse> ListKeys();
  // GetRequestStatus: what this node recorded about a request, for its
  // initiator only ("unknown" to another client or for another key).
  absl::StatusOr<v1::RequestStatus> GetRequestStatus(
      const v1::GetRequestStatusRequest& request);

  // Activate: see kagi.v1.Node.Activate (services/node/activation.cc).
  absl::StatusOr<v1::ActivateResponse> Activate(
      const v1::ActivateRequest& request);

  // StartupReport: one line per thing an operator must act on, for the
  // start-up log: keys whose share carries legacy base-OT material (refresh
  // them), PENDING shares waiting for a certificate.
  std::vector<std::string> StartupReport();

  // CheckAuditLog verifies this node's audit log at start-up (every head
  // signed by its identity key, chain intact, velocity and ban rows as the
  // signed records say; libs/storage/audit.h) and loads the peers' heads its
  // records hold. DataLoss naming the first bad record, unless
  // `accept_break_at` names exactly that seq: then the velocity and ban rows
  // are rebuilt from the signed records, an audit.override record pinning
  // the log is appended and its text returned. Returns a line for the start-up
  // log
  // ("" when there is nothing to say).
  absl::StatusOr<std::string> CheckAuditLog(
      std::optional<uint64_t> accept_break_at);

  // CheckKek refuses (FailedPrecondition) a key-encryption key that is not
  // the one this store was sealed with: it must open the store's sealed
  // check value, or, before there is one, at least one ACTIVE share (then
  // the check value is written). Run at start-up.
  absl::Status CheckKek() { return shares_.CheckKek(); }

  // Deliver: an envelope from the authenticated peer node `from_node`, with
  // the peer's signed audit head (kept as an anchor when it verifies).
  absl::Status Deliver(const std::string& from_node,
                       const v1::DeliverRequest& request);

  // LatestAuditHead: this node's newest signed audit head (what its
  // envelopes carry to the peers).
  absl::StatusOr<storage::AuditHead> LatestAuditHead() {
    return store_->LatestHead();
  }

  size_t active_sessions() const { return sessions_->active_sessions(); }

 private:
  // The operations of the pipeline (node_dkg.cc, node_sign.cc,
  // node_reshare.cc; admin_operation.h); nested, so they reach the core's
  // parts.
  template <typename Party>
  class AdminOperation;
  class DkgOperation;
  class SignOperation;
  class ReshareOperation;

  NodeCore(const v1::NodeConfig& config, std::unique_ptr<storage::Store> store,
           SecretBytes kek, crypto::Ed25519PrivateKey identity,
           std::shared_ptr<const policy::Policy> policy, const Clock* clock);

  // AddPeers takes the configured peers' identity keys (refusing a
  // malformed one or this node's own); returns them by node name.
  absl::StatusOr<std::map<std::string, std::array<uint8_t, 32>>> AddPeers(
      const v1::NodeConfig& config);
  // ClaimBookNode: what the claim book needs of this node.
  ClaimBook::Node ClaimBookNode(ClaimTransport* claims);

  // Perform runs `op` through the pipeline (operation.h).
  absl::Status Perform(Operation& op, CallInfo* info);
  // Admitted: the steps before and including the durable begin.
  absl::Status Admitted(Operation& op);
  // CheckClient: ResourceExhausted while `client` is over its refusal budget
  // (refusal_limiter.h); writes the summary record of every episode that
  // has ended.
  absl::Status CheckClient(absl::string_view client);
  // RecordRefusal appends an audit record for a request of `client` (the
  // initiator) refused before it reached the store (bad field, disabled
  // payload kind, expired, reused request id...): every refusal is on the
  // record with its reason, and spends one of the client's refusal tokens.
  void RecordRefusal(absl::string_view operation, absl::string_view request_id,
                     absl::string_view client, const absl::Status& refusal);

  absl::StatusOr<v1::ActivateResponse> ActivateMember(
      const protocol::ActivationCertificate& cert)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(activate_mu_);
  absl::StatusOr<v1::ActivateResponse> Depart(
      const protocol::ActivationCertificate& cert)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(activate_mu_);
  // BanEquivocators bans every member whose ack in `evidence` (acks this
  // node received) differs from its ack in the certificate.
  absl::Status BanEquivocators(const protocol::ActivationCertificate& cert,
                               ByteSpan evidence);
  // CheckSignedRows checks the velocity and ban tables against `log`.
  absl::Status CheckSignedRows(const std::vector<storage::AuditEntry>& log);
  // LoadAnchors takes the newest head of each peer from this node's records.
  void LoadAnchors(const std::vector<storage::AuditEntry>& log);
  // KeepAnchor checks a peer's signed head and keeps it if it is newer.
  absl::Status KeepAnchor(const std::string& from_node,
                          const v1::AuditHead& head);
  // SessionAnchors: EncodeAnchors of the heads held of `setup`'s peers.
  std::string SessionAnchors(const protocol::SessionSetup& setup);
  // AuditLifecycle appends a share lifecycle record (activate, depart, ban).
  void AuditLifecycle(absl::string_view operation,
                      const std::array<uint8_t, 32>& key_id, uint64_t epoch,
                      const std::string& outcome);

  // NodeOf returns the node name holding `identity_key` ("self" for us).
  std::string NodeOf(const std::array<uint8_t, 32>& identity_key) const;
  // NameOf: NodeOf as a function, "" for a key this node does not know.
  NodeNameOf NameOf() const;
  // PartyNodes maps every party of `setup` but us to its node; refuses a
  // party this node does not know or has banned.
  absl::StatusOr<std::map<uint32_t, std::string>> PartyNodes(
      const protocol::SessionSetup& setup, PartyNames* names);
  // Finish records the outcome (request state + audit) and applies a ban
  // for a class-C abort. Returns `outcome` (or the storage error). The
  // record names `key_id` when given (a DKG's new key), else the setup's.
  absl::Status Finish(const std::string& request_id, const std::string& op,
                      const protocol::SessionSetup& setup,
                      const absl::Status& outcome, ByteSpan result,
                      Bytes audit_signature,
                      const std::array<uint8_t, 32>* key_id = nullptr);
  // FinishRecord: the audit record of Finish.
  storage::AuditEntry FinishRecord(const std::string& request_id,
                                   const std::string& op,
                                   const protocol::SessionSetup& setup,
                                   const absl::Status& outcome,
                                   const std::array<uint8_t, 32>& key_id);
  // BanCulprits bans the culprits of a class-C abort in `outcome`.
  absl::Status BanCulprits(const protocol::SessionSetup& setup,
                           const absl::Status& outcome);
  v1::KeyInfo DescribeKey(const protocol::KeyShare& share) const;
  // CompletedItems: the items of `request` (a completion another member
  // claims, request_claims.h) if this node's policy would have allowed it
  // (approvals, rules, network binding; not velocity, time or initiator).
  absl::StatusOr<std::vector<protocol::SignItem>> CompletedItems(
      const v1::SignRequest& request, const protocol::KeyShare& share) const;
  // SignedItems: the items this node decodes from `request` for `share`'s
  // key, within its network binding; no policy (a completion this node
  // accepted once is kept whatever its policy becomes).
  absl::StatusOr<std::vector<protocol::SignItem>> SignedItems(
      const v1::SignRequest& request, const protocol::KeyShare& share) const;
  // DecodeWithinBinding: DecodePayload, refused unless the request's chain
  // and network are ones `share`'s key is bound to.
  absl::StatusOr<DecodedPayload> DecodeWithinBinding(
      const v1::SignRequest& request, const protocol::KeyShare& share) const;

  const v1::NodeConfig config_;
  std::unique_ptr<storage::Store> store_;
  const crypto::Ed25519PrivateKey identity_;
  const std::array<uint8_t, 32> self_key_;
  const Clock* const clock_;
  std::map<std::array<uint8_t, 32>, std::string> peer_by_key_;
  std::map<std::string, std::array<uint8_t, 32>> peer_key_by_name_;
  std::vector<std::array<uint8_t, 32>> peer_keys_;
  RequestLimits limits_;
  ShareVault shares_;
  Admitter admission_;
  OsRng rng_;
  std::unique_ptr<SessionManager> sessions_;
  std::unique_ptr<ConsumeJournal> journal_;
  std::unique_ptr<ClaimBook> claim_book_;
  std::unique_ptr<RefusalLimiter> refusals_;

  absl::Mutex activate_mu_;
  LifecycleClaims lifecycle_;
  absl::Mutex anchors_mu_;
  std::map<std::string, storage::AuditHead> anchors_
      ABSL_GUARDED_BY(anchors_mu_);
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_NODE_H_
