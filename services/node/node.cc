#include "services/node/node.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/base/abort.h"
#include "libs/base/status_macros.h"
#include "libs/policy/approval.h"
#include "libs/policy/networks.h"
#include "libs/policy/request_digest.h"
#include "libs/protocol/dkg.h"
#include "libs/protocol/reshare.h"
#include "libs/protocol/sign.h"
#include "libs/storage/sealed.h"
#include "services/node/admin_change.h"
#include "services/node/payload.h"

namespace kagi::node {
namespace {

using Key32 = std::array<uint8_t, 32>;

// How long a node waits for its peers' answers to a request claim: an
// unreachable peer is skipped (docs/api.md "Request ids").

// SessionSigner signs envelopes with the node's identity key as one party id
// of one session (a node's party id differs from key to key).
class SessionSigner final : public protocol::EnvelopeSigner {
 public:
  SessionSigner(uint32_t party, const crypto::Ed25519PrivateKey& key)
      : party_(party), key_(key) {}
  uint32_t party() const override { return party_; }
  std::array<uint8_t, 64> Sign(const Key32& digest) const override {
    return key_.Sign(digest);
  }

 private:
  uint32_t party_;
  const crypto::Ed25519PrivateKey& key_;
};

absl::StatusOr<Key32> KeyId(const std::string& bytes) {
  if (bytes.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("key_id: must be 32 bytes, got ", bytes.size()));
  }
  Key32 out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

std::string Str(ByteSpan b) { return std::string(b.begin(), b.end()); }

uint32_t SelfId(const protocol::SessionSetup& setup, const Key32& self_key) {
  for (const protocol::PartyInfo& p : setup.parties) {
    if (p.identity_key == self_key) return p.id;
  }
  return 0;
}

}  // namespace

NodeCore::NodeCore(const v1::NodeConfig& config,
                   std::unique_ptr<storage::Store> store, SecretBytes kek,
                   crypto::Ed25519PrivateKey identity)
    : config_(config),
      store_(std::move(store)),
      kek_(std::move(kek)),
      identity_(std::move(identity)),
      self_key_(identity_.PublicKey()) {}

NodeCore::~NodeCore() = default;

absl::StatusOr<std::unique_ptr<NodeCore>> NodeCore::Create(
    const v1::NodeConfig& config, std::unique_ptr<storage::Store> store,
    SecretBytes kek, crypto::Ed25519PrivateKey identity,
    PeerTransport* transport, std::shared_ptr<const policy::Policy> policy,
    ClaimTransport* claims) {
  std::unique_ptr<NodeCore> core(new NodeCore(
      config, std::move(store), std::move(kek), std::move(identity)));
  core->policy_ = std::move(policy);
  RefusalLimits refusal_limits;
  if (config.limits().refusals_per_second() != 0) {
    refusal_limits.per_second = config.limits().refusals_per_second();
  }
  if (config.limits().refusal_burst() != 0) {
    refusal_limits.burst = config.limits().refusal_burst();
  }
  core->refusals_ = std::make_unique<RefusalLimiter>(refusal_limits);
  std::map<std::string, Key32> keys;
  for (const v1::PeerConfig& peer : config.peers()) {
    absl::StatusOr<Bytes> raw = HexDecode(peer.identity_public_key());
    if (!raw.ok() || raw->size() != 32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "peers.", peer.name(), ".identity_public_key: not 32 hex bytes"));
    }
    Key32 k;
    std::copy(raw->begin(), raw->end(), k.begin());
    if (k == core->self_key_) {
      return absl::InvalidArgumentError(
          absl::StrCat("peers.", peer.name(),
                       ".identity_public_key: is this node's own key"));
    }
    keys[peer.name()] = k;
    core->peer_by_key_[k] = peer.name();
    core->peer_key_by_name_[peer.name()] = k;
    core->peer_keys_.push_back(k);
  }
  core->limits_.allow_raw_digest = config.allow_raw_digest();
  if (config.limits().max_sign_items() != 0) {
    core->limits_.max_sign_items = config.limits().max_sign_items();
  }
  SessionOptions options;
  if (config.limits().round_timeout_ms() != 0) {
    options.round_timeout =
        absl::Milliseconds(config.limits().round_timeout_ms());
  }
  if (config.limits().max_sessions() != 0) {
    options.max_sessions = config.limits().max_sessions();
  }
  if (config.limits().max_message_bytes() != 0) {
    options.max_payload_bytes = config.limits().max_message_bytes();
  }
  // A peer may be ahead of this node by every session it runs at once.
  options.max_waiting_sessions_per_peer = options.max_sessions;
  options.shape =
      protocol::WorstShape(static_cast<uint32_t>(config.peers_size() + 1),
                           static_cast<uint32_t>(core->limits_.max_sign_items));
  core->sessions_ =
      std::make_unique<SessionManager>(transport, std::move(keys), options);
  core->journal_ = std::make_unique<ConsumeJournal>(core->store_.get());
  // Every record this node appends signs the new chain head.
  core->store_->SetAuditKey(&core->identity_);
  NodeCore* c = core.get();
  ClaimBook::Node book;
  book.name = config.name();
  book.store = c->store_.get();
  book.identity = &c->identity_;
  book.transport = claims;
  book.name_of = c->NameOf();
  book.load_share = [c](const Key32& key_id) { return c->LoadShare(key_id); };
  book.completed_items = [c](const v1::SignRequest& request,
                             const protocol::KeyShare& share) {
    return c->CompletedItems(request, share);
  };
  book.signed_items = [c](const v1::SignRequest& request,
                          const protocol::KeyShare& share) {
    return c->SignedItems(request, share);
  };
  // A completion carries its request: room for a few of the largest.
  book.max_inflight_bytes_per_peer = 4 * c->limits_.max_psbt_bytes;
  c->claim_book_ = std::make_unique<ClaimBook>(std::move(book));
  return core;
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

absl::Status NodeCore::StoreShare(const protocol::KeyShare& share,
                                  storage::ShareState state) {
  const SecretBytes plain = share.Serialize();
  const storage::RecordContext ctx{storage::kRecordShare, share.key_id,
                                   share.epoch, kShareRecordVersion};
  KAGI_ASSIGN_OR_RETURN(Bytes sealed,
                        storage::Seal(kek_, ctx, plain.secret(), rng_));
  return store_->PutShare(share.key_id, share.epoch, state, sealed,
                          share.sid_key);
}

SessionHooks NodeCore::StorePendingShare(
    std::function<const protocol::KeyShare*()> pending) {
  auto stored = std::make_shared<bool>(false);
  SessionHooks hooks;
  hooks.after_advance = [this, stored, pending]() -> absl::Status {
    const protocol::KeyShare* share = pending();
    if (*stored || share == nullptr) return absl::OkStatus();
    *stored = true;
    return StoreShare(*share, storage::ShareState::kPending);
  };
  return hooks;
}

absl::StatusOr<SharePtr> NodeCore::LoadShare(const Key32& key_id) {
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(key_id);
    if (it != cache_.end()) return it->second;
  }
  absl::StatusOr<storage::StoredShare> stored = store_->GetActiveShare(key_id);
  if (absl::IsNotFound(stored.status())) {
    return absl::NotFoundError(absl::StrCat(
        "key_id: unknown key ", HexEncode(key_id), " on ", config_.name()));
  }
  KAGI_RETURN_IF_ERROR(stored.status());
  KAGI_ASSIGN_OR_RETURN(protocol::KeyShare share,
                        OpenShare(key_id, stored->epoch, stored->sealed));
  auto ptr = std::make_shared<const protocol::KeyShare>(std::move(share));
  absl::MutexLock lock(&cache_mu_);
  cache_.insert_or_assign(key_id, ptr);
  return ptr;
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

absl::Status NodeCore::Finish(const std::string& request_id,
                              const std::string& op,
                              const protocol::SessionSetup& setup,
                              const absl::Status& outcome, ByteSpan result,
                              Bytes audit_signature, const Key32* key_id) {
  std::vector<std::string> parties;
  for (const protocol::PartyInfo& p : setup.parties) {
    parties.push_back(absl::StrCat(p.id, "=", NodeOf(p.identity_key)));
  }
  storage::AuditEntry audit;
  audit.unix_time = absl::ToUnixSeconds(absl::Now());
  audit.operation = op;
  audit.request_id = request_id;
  audit.parties = absl::StrCat(
      "key ", HexEncode(key_id != nullptr ? *key_id : setup.key_id), " epoch ",
      setup.epoch, " parties ", absl::StrJoin(parties, ","));
  if (outcome.ok()) {
    audit.outcome = "ok";
  } else {
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
  }
  audit.signature = std::move(audit_signature);
  audit.anchors = SessionAnchors(setup);
  KAGI_RETURN_IF_ERROR(
      store_
          ->FinishRequest(request_id,
                          outcome.ok() ? storage::RequestState::kSucceeded
                                       : storage::RequestState::kFailed,
                          audit.outcome, result, audit,
                          op == "sign" ? storage::Durability::kCrashSafe
                                       : storage::Durability::kSynced)
          .status());
  if (std::optional<AbortInfo> info = GetAbortInfo(outcome)) {
    if (info->abort_class == AbortClass::kBan) {
      for (uint32_t c : info->culprits) {
        const protocol::PartyInfo* p = setup.Party(c);
        if (p == nullptr) continue;
        KAGI_RETURN_IF_ERROR(
            store_->AddBan(p->identity_key, outcome.message()));
      }
    }
  }
  return outcome;
}

chain::PsbtChangeRule NodeCore::ChangeRule() const {
  return policy_ != nullptr ? policy_->bitcoin_change()
                            : chain::PsbtChangeRule{};
}

absl::StatusOr<std::vector<protocol::SignItem>> NodeCore::CompletedItems(
    const v1::SignRequest& request, const protocol::KeyShare& share) const {
  if (policy_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(config_.name(), " has no policy"));
  }
  KAGI_ASSIGN_OR_RETURN(const Key32 digest, policy::SignRequestDigest(request));
  KAGI_ASSIGN_OR_RETURN(std::set<std::string> approvers,
                        Approvers(digest, request.approvals()));
  KAGI_ASSIGN_OR_RETURN(DecodedPayload decoded,
                        DecodeWithinBinding(request, share));
  const policy::Decision decision =
      policy_->EvaluateCompleted(decoded.facts, approvers);
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
  KAGI_ASSIGN_OR_RETURN(
      DecodedPayload decoded,
      DecodePayload(request, share, limits_, ChangeRule(), config_.name()));
  KAGI_RETURN_IF_ERROR(policy::CheckNetworkBinding(
      decoded.facts.key_id, share.networks,
      policy::BoundNetworkName(decoded.facts.chain, decoded.facts.network)));
  return decoded;
}

absl::StatusOr<std::set<std::string>> NodeCore::Approvers(
    const Key32& digest,
    const google::protobuf::RepeatedPtrField<v1::Approval>& approvals) const {
  if (policy_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(config_.name(),
                     " has no policy (config policy_file): it refuses "
                     "every signing and administrative request"));
  }
  return policy::VerifyApprovals(*policy_, digest, approvals);
}

absl::StatusOr<storage::Admission> NodeCore::Admit(
    const policy::RequestFacts& facts, const std::set<std::string>& approvers,
    const std::string& request_id) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  policy::VelocityUsed used;
  for (const policy::VelocityQuery& q : policy_->VelocityQueries(facts)) {
    KAGI_ASSIGN_OR_RETURN(
        std::vector<Key32> amounts,
        store_->VelocityAmounts(
            q.scope, now - static_cast<int64_t>(q.window_seconds), request_id));
    policy::Amount sum;
    for (const Key32& a : amounts) {
      KAGI_ASSIGN_OR_RETURN(policy::Amount v, policy::Amount::FromBigEndian(a));
      absl::StatusOr<policy::Amount> next = sum.Add(v);
      if (!next.ok()) break;  // saturated: far above any limit
      sum = *next;
    }
    used[q.scope] = sum;
  }
  const policy::Decision decision = policy_->Evaluate(facts, approvers, used);
  if (!decision.allowed) {
    return absl::PermissionDeniedError(absl::StrCat(
        "policy of ", config_.name(), " (revision '", policy_->revision(),
        "') refuses ", facts.Summary(), ": ", decision.ToString()));
  }
  storage::Admission admission;
  admission.decision.unix_time = now;
  admission.decision.operation = "sign.admit";
  admission.decision.request_id = request_id;
  admission.decision.parties = facts.Summary();
  admission.decision.outcome = absl::StrCat(
      decision.ToString(), " (policy revision '", policy_->revision(), "')");
  for (const policy::Reservation& r : decision.reservations) {
    admission.reservations.push_back({r.scope, now, r.amount.ToBigEndian()});
  }
  return admission;
}

absl::StatusOr<storage::Admission> NodeCore::AdmitAdmin(
    const policy::AdminChange& change,
    const google::protobuf::RepeatedPtrField<v1::Approval>& approvals,
    const std::string& initiator) const {
  const std::string operation(policy::AdminOperationName(change.operation));
  const std::string summary =
      absl::StrCat(change.Summary(), ", from ", initiator);
  KAGI_ASSIGN_OR_RETURN(std::set<std::string> approvers,
                        Approvers(policy::AdminDigest(change), approvals));
  const policy::Decision decision =
      policy_->EvaluateAdmin(approvers, initiator);
  if (!decision.allowed) {
    return absl::PermissionDeniedError(absl::StrCat(
        "policy of ", config_.name(), " (revision '", policy_->revision(),
        "') refuses ", summary, ": ", decision.ToString()));
  }
  storage::Admission admission;
  admission.initiator = initiator;  // GetRequestStatus answers only it
  admission.decision.unix_time = absl::ToUnixSeconds(absl::Now());
  admission.decision.operation = absl::StrCat(operation, ".admit");
  admission.decision.request_id = change.request_id;
  admission.decision.parties = summary;
  admission.decision.outcome = absl::StrCat(
      decision.ToString(), " (policy revision '", policy_->revision(), "')");
  return admission;
}

absl::Status NodeCore::CheckClient(absl::string_view client) {
  const absl::Time now = absl::Now();
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
  refusals_->Refused(client, absl::Now());
  storage::AuditEntry audit;
  audit.unix_time = absl::ToUnixSeconds(absl::Now());
  audit.operation = std::string(operation);
  audit.request_id = std::string(request_id.substr(0, 128));
  audit.outcome =
      absl::StrCat("refused: ", absl::StatusCodeToString(refusal.code()), ": ",
                   refusal.message());
  // Best effort: a refusal is answered whether or not its record lands.
  store_->AppendAudit(std::move(audit)).IgnoreError();
}

absl::StatusOr<v1::KeyInfo> NodeCore::StartDkg(
    const v1::StartDkgRequest& request, CallInfo* info) {
  PartyNames* names = &info->names;
  KAGI_ASSIGN_OR_RETURN(protocol::SessionSetup setup,
                        BuildDkgSetup(request, self_key_, peer_keys_));
  KAGI_RETURN_IF_ERROR(CheckExpiry(setup.expiry_unix_seconds, absl::Now(),
                                   limits_.max_expiry_ahead));
  KAGI_ASSIGN_OR_RETURN(auto nodes, PartyNodes(setup, names));
  KAGI_ASSIGN_OR_RETURN(policy::AdminChange change,
                        DkgChange(request, NameOf()));
  KAGI_ASSIGN_OR_RETURN(
      storage::Admission admission,
      AdmitAdmin(change, request.approvals(), request.initiator()));
  KAGI_ASSIGN_OR_RETURN(std::unique_ptr<LifecycleClaims::Claim> claim,
                        lifecycle_.Acquire(request.request_id(), nullptr));
  const SessionSigner signer(SelfId(setup, self_key_), identity_);
  KAGI_RETURN_IF_ERROR(store_->BeginRequest(
      request.request_id(), "dkg", DkgRequestDigest(request),
      protocol::Sid0(setup), storage::Durability::kSynced, &admission));
  info->recorded = true;
  absl::StatusOr<std::unique_ptr<protocol::DkgParty>> party =
      protocol::DkgParty::Create(setup, signer, rng_, change.networks);
  if (!party.ok()) {
    return Finish(request.request_id(), "dkg", setup, party.status(), {}, {});
  }
  const SessionHooks hooks =
      StorePendingShare([&party]() { return (*party)->pending_share(); });
  const absl::Status run = sessions_->Run(setup, **party, nodes, hooks);
  absl::StatusOr<Bytes> certificate =
      Conclude({run, (*party)->pending_share(), (*party)->certificate(),
                &(*party)->received_acks()});
  absl::StatusOr<protocol::KeyShare> share =
      certificate.ok()
          ? (*party)->TakeShare()
          : absl::StatusOr<protocol::KeyShare>(certificate.status());
  Bytes key_id;
  if (share.ok()) key_id.assign(share->key_id.begin(), share->key_id.end());
  // The record names the key the DKG made (the setup's key id is zero).
  KAGI_RETURN_IF_ERROR(Finish(request.request_id(), "dkg", setup,
                              share.status(), key_id, {},
                              share.ok() ? &share->key_id : nullptr));
  auto ptr = std::make_shared<const protocol::KeyShare>(*std::move(share));
  {
    absl::MutexLock lock(&cache_mu_);
    cache_.insert_or_assign(ptr->key_id, ptr);
  }
  v1::KeyInfo described = DescribeKey(*ptr);
  described.set_activation_certificate(Str(*certificate));
  return described;
}

absl::StatusOr<v1::StartSignResponse> NodeCore::StartSign(
    const v1::StartSignRequest& request, CallInfo* info) {
  PartyNames* names = &info->names;
  const v1::SignRequest& req = request.request();
  KAGI_RETURN_IF_ERROR(ValidateRequestId(req.request_id()));
  KAGI_ASSIGN_OR_RETURN(Key32 key_id, KeyId(req.key_id()));
  // The request digest from the bytes received and the approvals over it
  // first: a request changed after approval is refused as such
  // (PERMISSION_DENIED) even when the change also breaks its decoding or
  // changes its expiry or key (both are in the digest). Then the expiry, the
  // key, decode in full, compute every digest here, and the policy.
  KAGI_ASSIGN_OR_RETURN(const Key32 digest, policy::SignRequestDigest(req));
  KAGI_ASSIGN_OR_RETURN(std::set<std::string> approvers,
                        Approvers(digest, req.approvals()));
  KAGI_RETURN_IF_ERROR(CheckExpiry(req.expiry_unix_seconds(), absl::Now(),
                                   limits_.max_expiry_ahead));
  KAGI_ASSIGN_OR_RETURN(SharePtr share_ptr, LoadShare(key_id));
  const protocol::KeyShare& share = *share_ptr;
  // The key's own networks first: a policy rule for another network never
  // applies to this key.
  KAGI_ASSIGN_OR_RETURN(DecodedPayload decoded,
                        DecodeWithinBinding(req, share));
  decoded.facts.initiator = request.initiator();
  KAGI_ASSIGN_OR_RETURN(protocol::SessionSetup setup,
                        BuildSignSetup(share, request, decoded.items, digest));
  KAGI_ASSIGN_OR_RETURN(auto all_nodes, PartyNodes(setup, names));
  std::map<uint32_t, std::string> nodes;
  for (uint32_t id : setup.signers) {
    if (id != share.self) nodes[id] = all_nodes[id];
  }
  const SessionSigner signer(share.self, identity_);
  const std::string& request_id = req.request_id();
  // Crash-safe, not yet synced: the presignature's consumption record, which
  // precedes any signature share leaving, is synced and syncs this with it
  // (and with the admission's audit record and velocity reservation).
  const Key32 sid0 = protocol::Sid0(setup);
  // The request id is the key committee's, not this node's
  // (request_claims.h): refuse what a member proved it did with the id, tell
  // the members (policy allowing), learn what they hold, and check again
  // before recording.
  const ClaimSubject subject{request_id, key_id, digest, sid0};
  const google::protobuf::RepeatedPtrField<v1::SignatureResult> none;
  KAGI_RETURN_IF_ERROR(claim_book_->Check(subject, share));
  {
    absl::MutexLock lock(&admit_mu_);
    KAGI_RETURN_IF_ERROR(Admit(decoded.facts, approvers, request_id).status());
  }
  claim_book_->Tell(subject, kClaimAdmitted, req, none, share);
  absl::Status begun;
  {
    absl::MutexLock lock(&admit_mu_);
    absl::StatusOr<storage::Admission> admission =
        Admit(decoded.facts, approvers, request_id);
    begun = admission.status();
    if (begun.ok()) begun = claim_book_->Check(subject, share);
    if (begun.ok()) {
      admission->key_id.assign(key_id.begin(), key_id.end());
      admission->initiator = request.initiator();
      begun =
          store_->BeginRequest(request_id, "sign", digest, sid0,
                               storage::Durability::kCrashSafe, &*admission);
    }
  }
  if (!begun.ok()) {  // told outside admit_mu_: the peers may be slow
    claim_book_->Tell(subject, kClaimFailed, req, none, share);
    return begun;
  }
  info->recorded = true;
  // Presignatures are keyed by (sid0, item): unique, since a sid0 never runs
  // twice. Their consumption is made durable in the background from now on
  // (ConsumeJournal); the hook waits for it before a share leaves.
  std::vector<storage::Store::PresignatureMark> marks;
  for (uint32_t item = 0; item < setup.items.size(); ++item) {
    ByteWriter w;
    w.PutRaw(sid0);
    w.PutU32(item);
    marks.emplace_back(std::move(w).Take(), key_id);
  }
  const ConsumeJournal::Ticket ticket = journal_->Submit(std::move(marks));
  protocol::ConsumeHook hook =
      [ticket](const protocol::PresignatureId& id) -> absl::Status {
    const std::vector<absl::Status>& results = ticket.get();
    if (id.item >= results.size()) {
      return absl::InternalError("presignature item out of range");
    }
    return results[id.item];
  };
  absl::StatusOr<std::unique_ptr<protocol::SignParty>> party =
      protocol::SignParty::Create(setup, share, signer, rng_, hook);
  if (!party.ok()) {
    const absl::Status finished =
        Finish(request_id, "sign", setup, party.status(), {}, {});
    claim_book_->Tell(subject, kClaimFailed, req, none, share);
    return finished;
  }
  absl::Status st = sessions_->Run(setup, **party, nodes, SessionHooks{});
  v1::StartSignResponse response;
  Bytes compact_all;
  if (st.ok()) {
    const std::vector<protocol::Signature>& sigs = (*party)->signatures();
    for (size_t i = 0; i < sigs.size(); ++i) {
      v1::SignatureResult* r = response.add_signatures();
      r->set_digest(Str(sigs[i].digest));
      for (uint32_t index : setup.items[i].path) r->add_path(index);
      const std::array<uint8_t, 64> compact = sigs[i].Compact();
      r->set_signature(Str(compact));
      r->set_recovery_id(sigs[i].recovery_id);
      r->set_public_key(Str(sigs[i].public_key.ToCompressed()));
      compact_all.insert(compact_all.end(), compact.begin(), compact.end());
    }
  }
  if (st.ok()) {
    response.set_request_digest(Str(digest));
    st = FillSignedResult(decoded, (*party)->signatures(), &response);
  }
  const std::string result = st.ok() ? response.SerializeAsString() : "";
  const absl::Status finished = Finish(request_id, "sign", setup, st,
                                       AsBytes(result), std::move(compact_all));
  claim_book_->TellLater(subject,
                         finished.ok() ? kClaimSucceeded : kClaimFailed, req,
                         response.signatures(), share_ptr);
  KAGI_RETURN_IF_ERROR(finished);
  return response;
}

absl::StatusOr<v1::KeyInfo> NodeCore::StartReshare(
    const v1::StartReshareRequest& request, CallInfo* info) {
  PartyNames* names = &info->names;
  KAGI_ASSIGN_OR_RETURN(Key32 key_id, KeyId(request.key_id()));
  // The key's claim first: the share read below is then the one every
  // earlier session or delivered certificate of this key left behind.
  KAGI_ASSIGN_OR_RETURN(std::unique_ptr<LifecycleClaims::Claim> claim,
                        lifecycle_.Acquire(request.request_id(), &key_id));
  absl::StatusOr<SharePtr> old = LoadShare(key_id);
  if (!old.ok() && !absl::IsNotFound(old.status())) return old.status();
  const protocol::KeyShare* old_share = old.ok() ? old->get() : nullptr;
  KAGI_ASSIGN_OR_RETURN(
      protocol::SessionSetup setup,
      BuildReshareSetup(request, old_share, self_key_, peer_keys_));
  KAGI_RETURN_IF_ERROR(CheckExpiry(setup.expiry_unix_seconds, absl::Now(),
                                   limits_.max_expiry_ahead));
  KAGI_ASSIGN_OR_RETURN(auto nodes, PartyNodes(setup, names));
  KAGI_ASSIGN_OR_RETURN(policy::AdminChange change,
                        ReshareChange(request, old_share, NameOf()));
  KAGI_ASSIGN_OR_RETURN(
      storage::Admission admission,
      AdmitAdmin(change, request.approvals(), request.initiator()));
  KAGI_RETURN_IF_ERROR(CheckNoPendingSession(setup, key_id));
  const SessionSigner signer(SelfId(setup, self_key_), identity_);
  KAGI_RETURN_IF_ERROR(store_->BeginRequest(
      request.request_id(), "reshare", ReshareRequestDigest(request),
      protocol::Sid0(setup), storage::Durability::kSynced, &admission));
  info->recorded = true;
  absl::StatusOr<std::unique_ptr<protocol::ReshareParty>> party =
      protocol::ReshareParty::Create(setup, old_share, signer, rng_,
                                     change.networks);
  if (!party.ok()) {
    return Finish(request.request_id(), "reshare", setup, party.status(), {},
                  {});
  }
  const SessionHooks hooks =
      StorePendingShare([&party]() { return (*party)->pending_share(); });
  const absl::Status run = sessions_->Run(setup, **party, nodes, hooks);
  const protocol::ActivationCertificate* made = (*party)->certificate();
  absl::Status st = run;
  SharePtr fresh;
  Bytes certificate;
  if ((*party)->is_member()) {
    absl::StatusOr<Bytes> activated = Conclude(
        {run, (*party)->pending_share(), made, &(*party)->received_acks()});
    absl::StatusOr<protocol::KeyShare> share =
        activated.ok() ? (*party)->TakeShare()
                       : absl::StatusOr<protocol::KeyShare>(activated.status());
    st = share.status();
    if (share.ok()) {
      certificate = *std::move(activated);
      fresh = std::make_shared<const protocol::KeyShare>(*std::move(share));
    }
  } else if (run.ok()) {
    // A dealer the new committee leaves out: its old share must not survive
    // (and nothing of a later epoch is touched).
    st = store_->RetireShares(key_id, old_share->epoch);
    if (made != nullptr) certificate = made->Encode();
    if (st.ok()) {
      AuditLifecycle("depart", key_id, old_share->epoch,
                     absl::StrCat("ok: dealt epoch ", old_share->epoch + 1,
                                  " and left the committee; share of epoch ",
                                  old_share->epoch, " erased"));
    }
  }
  KAGI_RETURN_IF_ERROR(
      Finish(request.request_id(), "reshare", setup, st, {}, {}));
  absl::MutexLock lock(&cache_mu_);
  v1::KeyInfo described;
  if (fresh != nullptr) {
    cache_.insert_or_assign(key_id, fresh);
    described = DescribeKey(*fresh);
  } else {
    cache_.erase(key_id);
    described = DescribeKey(*old_share);
    described.set_epoch(old_share->epoch + 1);
  }
  described.set_activation_certificate(Str(certificate));
  return described;
}

absl::Status NodeCore::CheckNoPendingSession(
    const protocol::SessionSetup& setup, const Key32& key_id) {
  // What the store holds now, not the cache: the session may only move the
  // key on from the epoch it is ACTIVE at.
  absl::StatusOr<storage::StoredShare> active = store_->GetActiveShare(key_id);
  if (!active.ok() && !absl::IsNotFound(active.status())) {
    return active.status();
  }
  if (active.ok() && active->epoch != setup.epoch) {
    return absl::FailedPreconditionError(
        absl::StrCat(config_.name(), " holds epoch ", active->epoch, " of key ",
                     HexEncode(key_id), "; the request moves it on from epoch ",
                     setup.epoch));
  }
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::ShareRecord> pending,
                        store_->GetPendingShares(key_id, setup.epoch + 1));
  if (pending.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      config_.name(), " holds a PENDING share of key ", HexEncode(key_id),
      " epoch ", setup.epoch + 1,
      " from an earlier session that may have been activated elsewhere: it "
      "takes part in no other session for that epoch until that share is "
      "activated (kagictl key show delivers its certificate) or retired "
      "(kagictl share retire-pending; docs/rotation.md)"));
}

absl::StatusOr<v1::KeyInfo> NodeCore::GetKey(const std::string& key_id_bytes) {
  KAGI_ASSIGN_OR_RETURN(Key32 key_id, KeyId(key_id_bytes));
  KAGI_ASSIGN_OR_RETURN(SharePtr share, LoadShare(key_id));
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
    absl::StatusOr<SharePtr> share = LoadShare(row.key_id);
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
    absl::StatusOr<SharePtr> share = LoadShare(row.key_id);
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
