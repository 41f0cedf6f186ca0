#include "services/node/node.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/abort.h"
#include "libs/base/status_macros.h"
#include "libs/policy/networks.h"
#include "libs/policy/request_digest.h"
#include "services/node/admin_change.h"
#include "services/node/operation.h"
#include "services/node/payload.h"

namespace kagi::node {
namespace {

using Key32 = std::array<uint8_t, 32>;

// SystemTime: the production clock, one for the process.
const Clock* SystemTime() {
  static const SystemClock* clock = new SystemClock;
  return clock;
}

RefusalLimits RefusalLimitsOf(const v1::LimitsConfig& limits) {
  RefusalLimits out;
  if (limits.refusals_per_second() != 0) {
    out.per_second = limits.refusals_per_second();
  }
  if (limits.refusal_burst() != 0) out.burst = limits.refusal_burst();
  return out;
}

SessionOptions SessionOptionsOf(const v1::NodeConfig& config,
                                size_t max_sign_items) {
  const v1::LimitsConfig& limits = config.limits();
  SessionOptions options;
  if (limits.round_timeout_ms() != 0) {
    options.round_timeout = absl::Milliseconds(limits.round_timeout_ms());
  }
  if (limits.max_sessions() != 0) options.max_sessions = limits.max_sessions();
  if (limits.max_message_bytes() != 0) {
    options.max_payload_bytes = limits.max_message_bytes();
  }
  // A peer may be ahead of this node by every session it runs at once.
  options.max_waiting_sessions_per_peer = options.max_sessions;
  options.shape =
      protocol::WorstShape(static_cast<uint32_t>(config.peers_size() + 1),
                           static_cast<uint32_t>(max_sign_items));
  return options;
}

}  // namespace

absl::StatusOr<Key32> KeyIdField(const std::string& bytes) {
  return Fixed32(bytes, "key_id");
}

std::string Str(ByteSpan b) { return std::string(b.begin(), b.end()); }

uint32_t SelfId(const protocol::SessionSetup& setup, const Key32& self_key) {
  for (const protocol::PartyInfo& p : setup.parties) {
    if (p.identity_key == self_key) return p.id;
  }
  return 0;
}

NodeCore::NodeCore(const v1::NodeConfig& config,
                   std::unique_ptr<storage::Store> store, SecretBytes kek,
                   crypto::Ed25519PrivateKey identity,
                   std::shared_ptr<const policy::Policy> policy,
                   const Clock* clock)
    : config_(config),
      store_(std::move(store)),
      identity_(std::move(identity)),
      self_key_(identity_.PublicKey()),
      clock_(clock != nullptr ? clock : SystemTime()),
      shares_(config.name(), store_.get(), std::move(kek)),
      admission_(config.name(), std::move(policy), store_.get(), clock_) {}

NodeCore::~NodeCore() = default;

absl::StatusOr<std::unique_ptr<NodeCore>> NodeCore::Create(
    const v1::NodeConfig& config, std::unique_ptr<storage::Store> store,
    SecretBytes kek, crypto::Ed25519PrivateKey identity,
    PeerTransport* transport, std::shared_ptr<const policy::Policy> policy,
    ClaimTransport* claims, const Clock* clock) {
  std::unique_ptr<NodeCore> core(
      new NodeCore(config, std::move(store), std::move(kek),
                   std::move(identity), std::move(policy), clock));
  core->refusals_ =
      std::make_unique<RefusalLimiter>(RefusalLimitsOf(config.limits()));
  KAGI_ASSIGN_OR_RETURN(auto keys, core->AddPeers(config));
  core->limits_.allow_raw_digest = config.allow_raw_digest();
  if (config.limits().max_sign_items() != 0) {
    core->limits_.max_sign_items = config.limits().max_sign_items();
  }
  core->sessions_ = std::make_unique<SessionManager>(
      transport, std::move(keys),
      SessionOptionsOf(config, core->limits_.max_sign_items));
  core->journal_ = std::make_unique<ConsumeJournal>(core->store_.get());
  // Every record this node appends signs the new chain head.
  core->store_->SetAuditKey(&core->identity_);
  core->claim_book_ = std::make_unique<ClaimBook>(core->ClaimBookNode(claims));
  return core;
}

absl::StatusOr<std::map<std::string, Key32>> NodeCore::AddPeers(
    const v1::NodeConfig& config) {
  std::map<std::string, Key32> keys;
  for (const v1::PeerConfig& peer : config.peers()) {
    absl::StatusOr<Bytes> raw = HexDecode(peer.identity_public_key());
    if (!raw.ok() || raw->size() != 32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "peers.", peer.name(), ".identity_public_key: not 32 hex bytes"));
    }
    Key32 k;
    std::copy(raw->begin(), raw->end(), k.begin());
    if (k == self_key_) {
      return absl::InvalidArgumentError(
          absl::StrCat("peers.", peer.name(),
                       ".identity_public_key: is this node's own key"));
    }
    keys[peer.name()] = k;
    peer_by_key_[k] = peer.name();
    peer_key_by_name_[peer.name()] = k;
    peer_keys_.push_back(k);
  }
  return keys;
}

ClaimBook::Node NodeCore::ClaimBookNode(ClaimTransport* claims) {
  ClaimBook::Node book;
  book.name = config_.name();
  book.store = store_.get();
  book.identity = &identity_;
  book.transport = claims;
  book.name_of = NameOf();
  book.load_share = [this](const Key32& key_id) {
    return shares_.Load(key_id);
  };
  book.completed_items = [this](const v1::SignRequest& request,
                                const protocol::KeyShare& share) {
    return CompletedItems(request, share);
  };
  book.signed_items = [this](const v1::SignRequest& request,
                             const protocol::KeyShare& share) {
    return SignedItems(request, share);
  };
  // A completion carries its request: room for a few of the largest.
  book.max_inflight_bytes_per_peer = 4 * limits_.max_psbt_bytes;
  return book;
}

v1::NodeInfo NodeCore::Info() const {
  v1::NodeInfo info;
  info.set_name(config_.name());
  info.set_identity_key(Str(self_key_));
  info.set_allow_raw_digest(config_.allow_raw_digest());
  return info;
}

NodeNameOf NodeCore::NameOf() const {
  return [this](const Key32& k) { return NodeOf(k); };
}

std::string NodeCore::NodeOf(const Key32& identity_key) const {
  if (identity_key == self_key_) return config_.name();
  auto it = peer_by_key_.find(identity_key);
  return it == peer_by_key_.end() ? "" : it->second;
}

absl::StatusOr<std::map<uint32_t, std::string>> NodeCore::PartyNodes(
    const protocol::SessionSetup& setup, PartyNames* names) {
  std::map<uint32_t, std::string> out;
  for (const protocol::PartyInfo& p : setup.parties) {
    const std::string node = NodeOf(p.identity_key);
    if (node.empty()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "party ", p.id, ": identity key ", HexEncode(p.identity_key),
          " is not a node this node knows"));
    }
    if (names != nullptr) (*names)[p.id] = node;
    if (p.identity_key == self_key_) continue;
    // A banned party is refused in any session it takes part in; a signing
    // session of its key without it (another t-subset) goes ahead.
    const bool takes_part =
        setup.op != protocol::Op::kSign ||
        std::find(setup.signers.begin(), setup.signers.end(), p.id) !=
            setup.signers.end();
    KAGI_ASSIGN_OR_RETURN(bool banned, takes_part
                                           ? store_->IsBanned(p.identity_key)
                                           : absl::StatusOr<bool>(false));
    if (banned) {
      return absl::FailedPreconditionError(absl::StrCat(
          node, " is banned on ", config_.name(),
          " after a failed OT/VOLE check; refresh the key's shares without it "
          "or lift the ban"));
    }
    out[p.id] = node;
  }
  return out;
}

v1::KeyInfo NodeCore::DescribeKey(const protocol::KeyShare& share) const {
  v1::KeyInfo info = KeyInfoFromShare(share);
  info.set_legacy_base_ot(share.legacy_base_ot);
  for (const std::string& n : share.networks) info.add_networks(n);
  for (v1::KeyParty& p : *info.mutable_parties()) {
    Key32 k;
    std::copy(p.identity_key().begin(), p.identity_key().end(), k.begin());
    p.set_node(NodeOf(k));
  }
  return info;
}

storage::AuditEntry NodeCore::FinishRecord(const std::string& request_id,
                                           const std::string& op,
                                           const protocol::SessionSetup& setup,
                                           const absl::Status& outcome,
                                           const Key32& key_id) {
  std::vector<std::string> parties;
  for (const protocol::PartyInfo& p : setup.parties) {
    parties.push_back(absl::StrCat(p.id, "=", NodeOf(p.identity_key)));
  }
  storage::AuditEntry audit;
  audit.unix_time = absl::ToUnixSeconds(clock_->Now());
  audit.operation = op;
  audit.request_id = request_id;
  audit.parties =
      absl::StrCat("key ", HexEncode(key_id), " epoch ", setup.epoch,
                   " parties ", absl::StrJoin(parties, ","));
  audit.anchors = SessionAnchors(setup);
  if (outcome.ok()) {
    audit.outcome = "ok";
    return audit;
  }
  audit.outcome = absl::StrCat(absl::StatusCodeToString(outcome.code()), ": ",
                               outcome.message());
  if (std::optional<AbortInfo> info = GetAbortInfo(outcome)) {
    std::vector<std::string> culprits;
    for (uint32_t c : info->culprits) {
      const protocol::PartyInfo* p = setup.Party(c);
      culprits.push_back(p == nullptr ? absl::StrCat(c)
                                      : NodeOf(p->identity_key));
    }
    absl::StrAppend(
        &audit.outcome, " [class ", AbortClassName(info->abort_class),
        culprits.empty()
            ? ", no culprit"
            : absl::StrCat(", culprits ", absl::StrJoin(culprits, ",")),
        "]");
  }
  return audit;
}

absl::Status NodeCore::BanCulprits(const protocol::SessionSetup& setup,
                                   const absl::Status& outcome) {
  std::optional<AbortInfo> info = GetAbortInfo(outcome);
  if (!info.has_value() || info->abort_class != AbortClass::kBan) {
    return absl::OkStatus();
  }
  for (uint32_t c : info->culprits) {
    const protocol::PartyInfo* p = setup.Party(c);
    if (p == nullptr) continue;
    KAGI_RETURN_IF_ERROR(store_->AddBan(p->identity_key, outcome.message()));
  }
  return absl::OkStatus();
}

absl::Status NodeCore::Finish(const std::string& request_id,
                              const std::string& op,
                              const protocol::SessionSetup& setup,
                              const absl::Status& outcome, ByteSpan result,
                              Bytes audit_signature, const Key32* key_id) {
  storage::AuditEntry audit =
      FinishRecord(request_id, op, setup, outcome,
                   key_id != nullptr ? *key_id : setup.key_id);
  audit.signature = std::move(audit_signature);
  KAGI_RETURN_IF_ERROR(
      store_
          ->FinishRequest(request_id,
                          outcome.ok() ? storage::RequestState::kSucceeded
                                       : storage::RequestState::kFailed,
                          audit.outcome, result, audit,
                          op == "sign" ? storage::Durability::kCrashSafe
                                       : storage::Durability::kSynced)
          .status());
  KAGI_RETURN_IF_ERROR(BanCulprits(setup, outcome));
  return outcome;
}

absl::StatusOr<std::vector<protocol::SignItem>> NodeCore::CompletedItems(
    const v1::SignRequest& request, const protocol::KeyShare& share) const {
  const policy::Policy* rules = admission_.policy();
  if (rules == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(config_.name(), " has no policy"));
  }
  KAGI_ASSIGN_OR_RETURN(const Key32 digest, policy::SignRequestDigest(request));
  KAGI_ASSIGN_OR_RETURN(std::set<std::string> approvers,
                        admission_.Approvers(digest, request.approvals()));
  KAGI_ASSIGN_OR_RETURN(DecodedPayload decoded,
                        DecodeWithinBinding(request, share));
  const policy::Decision decision =
      rules->EvaluateCompleted(decoded.facts, approvers);
  if (!decision.allowed) {
    return absl::PermissionDeniedError(
        absl::StrCat("policy of ", config_.name(),
                     " would not allow it: ", decision.ToString()));
  }
  return std::move(decoded.items);
}

absl::StatusOr<std::vector<protocol::SignItem>> NodeCore::SignedItems(
    const v1::SignRequest& request, const protocol::KeyShare& share) const {
  KAGI_ASSIGN_OR_RETURN(DecodedPayload decoded,
                        DecodeWithinBinding(request, share));
  return std::move(decoded.items);
}

absl::StatusOr<DecodedPayload> NodeCore::DecodeWithinBinding(
    const v1::SignRequest& request, const protocol::KeyShare& share) const {
  KAGI_ASSIGN_OR_RETURN(DecodedPayload decoded,
                        DecodePayload(request, share, limits_,
                                      admission_.ChangeRule(), config_.name()));
  KAGI_RETURN_IF_ERROR(policy::CheckNetworkBinding(
      decoded.facts.key_id, share.networks,
      policy::BoundNetworkName(decoded.facts.chain, decoded.facts.network)));
  return decoded;
}

absl::Status NodeCore::CheckClient(absl::string_view client) {
  const absl::Time now = clock_->Now();
  for (const RefusalEpisode& ended : refusals_->TakeEnded(now)) {
    storage::AuditEntry audit;
    audit.unix_time = absl::ToUnixSeconds(now);
    audit.operation = "refusals.rate_limited";
    audit.outcome = ended.Summary(refusals_->limits());
    store_->AppendAudit(std::move(audit)).IgnoreError();
  }
  return refusals_->Check(client, now);
}

void NodeCore::RecordRefusal(absl::string_view operation,
                             absl::string_view request_id,
                             absl::string_view client,
                             const absl::Status& refusal) {
  refusals_->Refused(client, clock_->Now());
  storage::AuditEntry audit;
  audit.unix_time = absl::ToUnixSeconds(clock_->Now());
  audit.operation = std::string(operation);
  audit.request_id = std::string(request_id.substr(0, 128));
  audit.outcome =
      absl::StrCat("refused: ", absl::StatusCodeToString(refusal.code()), ": ",
                   refusal.message());
  // Best effort: a refusal is answered whether or not its record lands.
  store_->AppendAudit(std::move(audit)).IgnoreError();
}

absl::Status NodeCore::Perform(Operation& op, CallInfo* info) {
  KAGI_RETURN_IF_ERROR(CheckClient(op.client()));
  if (absl::Status admitted = Admitted(op); !admitted.ok()) {
    op.Release();
    RecordRefusal(op.name(), op.request_id(), op.client(), admitted);
    return admitted;
  }
  info->recorded = true;
  const absl::Status run = op.Run();
  return op.Finish(op.Activate(run));
}

absl::Status NodeCore::Admitted(Operation& op) {
  KAGI_RETURN_IF_ERROR(op.Setup());
  KAGI_RETURN_IF_ERROR(CheckExpiry(op.expiry_unix_seconds(), clock_->Now(),
                                   limits_.max_expiry_ahead));
  KAGI_RETURN_IF_ERROR(op.Admit());
  return op.Begin();
}

absl::StatusOr<v1::KeyInfo> NodeCore::GetKey(const std::string& key_id_bytes) {
  KAGI_ASSIGN_OR_RETURN(Key32 key_id, KeyIdField(key_id_bytes));
  KAGI_ASSIGN_OR_RETURN(SharePtr share, shares_.Load(key_id));
  v1::KeyInfo info = DescribeKey(*share);
  KAGI_ASSIGN_OR_RETURN(storage::StoredShare stored,
                        store_->GetActiveShare(key_id));
  info.set_activation_certificate(Str(stored.certificate));
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::ShareRecord> rows,
                        store_->ListShares());
  for (const storage::ShareRecord& row : rows) {
    if (row.key_id == key_id && row.state == storage::ShareState::kPending) {
      info.add_pending_epochs(row.epoch);
    }
  }
  return info;
}

std::vector<std::string> NodeCore::StartupReport() {
  std::vector<std::string> out;
  absl::StatusOr<std::vector<storage::ShareRecord>> rows = store_->ListShares();
  if (!rows.ok()) {
    out.push_back(
        absl::StrCat("cannot list shares: ", rows.status().message()));
    return out;
  }
  for (const storage::ShareRecord& row : *rows) {
    const std::string key = HexEncode(row.key_id);
    if (row.state == storage::ShareState::kPending) {
      out.push_back(absl::StrCat(
          "key ", key, " epoch ", row.epoch,
          ": PENDING share waiting for its activation certificate (the "
          "gateway delivers it; kagictl key show ",
          key, ")"));
      continue;
    }
    absl::StatusOr<SharePtr> share = shares_.Load(row.key_id);
    if (!share.ok()) {
      out.push_back(absl::StrCat("key ", key, ": ", share.status().message()));
    } else if ((*share)->networks.empty()) {
      out.push_back(absl::StrCat(
          "key ", key, " epoch ", row.epoch,
          ": bound to no network (made before keys were bound to networks): "
          "it signs nothing until an admin-approved refresh names its "
          "networks (kagictl key refresh ",
          key, " --networks ..., docs/rotation.md)"));
    }
    if (share.ok() && (*share)->legacy_base_ot) {
      out.push_back(absl::StrCat(
          "key ", key, " epoch ", row.epoch,
          ": share made before base OT sampled uniformly; about half of each "
          "pairwise OT secret is known to the peer: refresh it now (kagictl "
          "key refresh ",
          key, ", docs/rotation.md)"));
    }
  }
  return out;
}

absl::StatusOr<v1::ListKeysResponse> NodeCore::ListKeys() {
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::ShareRecord> rows,
                        store_->ListShares());
  v1::ListKeysResponse out;
  for (const storage::ShareRecord& row : rows) {
    if (row.state != storage::ShareState::kActive) continue;
    // A share that does not open fails its own key only.
    absl::StatusOr<SharePtr> share = shares_.Load(row.key_id);
    if (!share.ok()) {
      v1::KeyError* e = out.add_errors();
      e->set_key_id(Str(row.key_id));
      e->set_node(config_.name());
      e->set_error(std::string(share.status().message()));
      continue;
    }
    *out.add_keys() = DescribeKey(**share);
  }
  return out;
}

absl::StatusOr<v1::RequestStatus> NodeCore::GetRequestStatus(
    const v1::GetRequestStatusRequest& request) {
  const std::string& request_id = request.request_id();
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  v1::RequestStatus out;
  out.set_request_id(request_id);
  out.set_state("unknown");
  absl::StatusOr<storage::RequestRecord> rec = store_->GetRequest(request_id);
  if (absl::IsNotFound(rec.status())) return out;
  KAGI_RETURN_IF_ERROR(rec.status());
  // A request is its initiator's business: to another client (and for
  // another key than the one asked about) it is unknown. Records made
  // before initiators were recorded name none.
  if (!rec->initiator.empty() && rec->initiator != request.initiator()) {
    return out;
  }
  if (!request.key_id().empty() && !rec->key_id.empty() &&
      Str(rec->key_id) != request.key_id()) {
    return out;
  }
  out.set_key_id(Str(rec->key_id));
  out.set_state(std::string(storage::RequestStateName(rec->state)));
  out.set_request_digest(Str(rec->request_digest));
  out.set_outcome(rec->outcome);
  if (rec->operation == "sign" &&
      rec->state == storage::RequestState::kSucceeded) {
    v1::StartSignResponse stored;
    if (!stored.ParseFromArray(rec->result.data(),
                               static_cast<int>(rec->result.size()))) {
      return absl::DataLossError("stored result of request is corrupt");
    }
    *out.mutable_signatures() = stored.signatures();
    out.set_signed_psbt(stored.signed_psbt());
    if (stored.has_ethereum()) *out.mutable_ethereum() = stored.ethereum();
  }
  return out;
}

std::vector<std::string> NodeCore::ReleaseInterruptedClaims() {
  return claim_book_->ReleaseInterrupted();
}

absl::StatusOr<v1::RequestClaims> NodeCore::ExchangeRequestClaims(
    const std::string& from_node, const v1::RequestClaims& request) {
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  return claim_book_->Exchange(from_node, request);
}

absl::Status NodeCore::Deliver(const std::string& from_node,
                               const v1::DeliverRequest& request) {
  // The size bound and the peer's quota come first (no signature work for
  // a peer over them), and a head is kept only with an accepted envelope.
  KAGI_RETURN_IF_ERROR(sessions_->Deliver(from_node, AsBytes(request.sid0()),
                                          AsBytes(request.envelope())));
  if (!request.has_audit_head()) return absl::OkStatus();
  return KeepAnchor(from_node, request.audit_head());
}

}  // namespace kagi::node
