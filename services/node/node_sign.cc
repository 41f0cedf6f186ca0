// NodeCore's signing operation: the pipeline's steps for StartSign
// (operation.h).
#include <optional>
#include <utility>

#include "libs/base/status_macros.h"
#include "libs/policy/request_digest.h"
#include "libs/protocol/sign.h"
#include "services/node/node.h"
#include "services/node/operation.h"

namespace kagi::node {

using Key32 = std::array<uint8_t, 32>;

class NodeCore::SignOperation final : public Operation {
 public:
  SignOperation(NodeCore& core, const v1::StartSignRequest& request,
                CallInfo* info)
      : core_(core), request_(request), req_(request.request()), info_(info) {}

  absl::string_view name() const override { return "sign"; }
  const std::string& request_id() const override { return req_.request_id(); }
  const std::string& client() const override { return request_.initiator(); }
  uint64_t expiry_unix_seconds() const override {
    return req_.expiry_unix_seconds();
  }

  // The request digest from the bytes received and the approvals over it
  // first: a request changed after approval is refused as such
  // (PERMISSION_DENIED) even when the change also breaks its decoding or
  // changes its expiry or key (both are in the digest). Then the expiry, the
  // key, decode in full, compute every digest here, and the policy.
  absl::Status Setup() override {
    KAGI_RETURN_IF_ERROR(ValidateRequestId(req_.request_id()));
    KAGI_ASSIGN_OR_RETURN(key_id_, KeyIdField(req_.key_id()));
    KAGI_ASSIGN_OR_RETURN(digest_, policy::SignRequestDigest(req_));
    KAGI_ASSIGN_OR_RETURN(
        approvers_, core_.admission_.Approvers(digest_, req_.approvals()));
    return absl::OkStatus();
  }

  absl::Status Admit() override {
    KAGI_RETURN_IF_ERROR(SessionOfKey());
    // The request id is the key committee's, not this node's
    // (request_claims.h): refuse what a member proved it did with the id,
    // tell the members (policy allowing), learn what they hold, and check
    // again before recording (Begin).
    KAGI_RETURN_IF_ERROR(core_.claim_book_->Check(*subject_, *share_));
    {
      absl::MutexLock lock(&core_.admission_.mu());
      KAGI_RETURN_IF_ERROR(
          core_.admission_.AdmitSign(decoded_.facts, approvers_, request_id())
              .status());
    }
    core_.claim_book_->Tell(*subject_, kClaimAdmitted, req_, none_, *share_);
    return absl::OkStatus();
  }

  // Crash-safe, not yet synced: the presignature's consumption record, which
  // precedes any signature share leaving, is synced and syncs this with it
  // (and with the admission's audit record and velocity reservation).
  absl::Status Begin() override {
    absl::Status begun;
    {
      absl::MutexLock lock(&core_.admission_.mu());
      absl::StatusOr<storage::Admission> admission =
          core_.admission_.AdmitSign(decoded_.facts, approvers_, request_id());
      begun = admission.status();
      if (begun.ok()) begun = core_.claim_book_->Check(*subject_, *share_);
      if (begun.ok()) {
        admission->key_id.assign(key_id_.begin(), key_id_.end());
        admission->initiator = request_.initiator();
        begun = core_.store_->BeginRequest(
            request_id(), "sign", digest_, subject_->sid0,
            storage::Durability::kCrashSafe, &*admission);
      }
    }
    if (!begun.ok()) {  // told outside the admission lock: peers may be slow
      core_.claim_book_->Tell(*subject_, kClaimFailed, req_, none_, *share_);
    }
    return begun;
  }

  absl::Status Run() override {
    signer_.emplace(share_->self, core_.identity_);
    absl::StatusOr<std::unique_ptr<protocol::SignParty>> party =
        protocol::SignParty::Create(setup_, *share_, *signer_, core_.rng_,
                                    ConsumeHook());
    if (!party.ok()) return party.status();
    party_ = *std::move(party);
    return core_.sessions_->Run(setup_, *party_, nodes_, SessionHooks{});
  }

  // Activate: the signatures and the signed PSBT or transaction.
  absl::Status Activate(const absl::Status& run) override {
    if (!run.ok()) return run;
    const std::vector<protocol::Signature>& sigs = party_->signatures();
    for (size_t i = 0; i < sigs.size(); ++i) {
      v1::SignatureResult* r = response_.add_signatures();
      r->set_digest(Str(sigs[i].digest));
      for (uint32_t index : setup_.items[i].path) r->add_path(index);
      const std::array<uint8_t, 64> compact = sigs[i].Compact();
      r->set_signature(Str(compact));
      r->set_recovery_id(sigs[i].recovery_id);
      r->set_public_key(Str(sigs[i].public_key.ToCompressed()));
      compact_all_.insert(compact_all_.end(), compact.begin(), compact.end());
    }
    response_.set_request_digest(Str(digest_));
    return FillSignedResult(decoded_, sigs, &response_);
  }

  absl::Status Finish(const absl::Status& outcome) override {
    const std::string result =
        outcome.ok() ? response_.SerializeAsString() : "";
    const absl::Status finished =
        core_.Finish(request_id(), "sign", setup_, outcome, AsBytes(result),
                     std::move(compact_all_));
    if (party_ == nullptr) {
      core_.claim_book_->Tell(*subject_, kClaimFailed, req_, none_, *share_);
    } else {
      core_.claim_book_->TellLater(
          *subject_, finished.ok() ? kClaimSucceeded : kClaimFailed, req_,
          response_.signatures(), share_);
    }
    return finished;
  }

  v1::StartSignResponse TakeResult() { return std::move(response_); }

 private:
  // SessionOfKey: the key's share, the payload decoded within the key's
  // networks (a policy rule for another network never applies to this
  // key), the signing setup and the signers' nodes.
  absl::Status SessionOfKey() {
    KAGI_ASSIGN_OR_RETURN(share_, core_.shares_.Load(key_id_));
    KAGI_ASSIGN_OR_RETURN(decoded_, core_.DecodeWithinBinding(req_, *share_));
    decoded_.facts.initiator = request_.initiator();
    KAGI_ASSIGN_OR_RETURN(
        setup_, BuildSignSetup(*share_, request_, decoded_.items, digest_));
    KAGI_ASSIGN_OR_RETURN(auto all_nodes,
                          core_.PartyNodes(setup_, &info_->names));
    for (uint32_t id : setup_.signers) {
      if (id != share_->self) nodes_[id] = all_nodes[id];
    }
    subject_.emplace(
        ClaimSubject{request_id(), key_id_, digest_, protocol::Sid0(setup_)});
    return absl::OkStatus();
  }

  // ConsumeHook: presignatures are keyed by (sid0, item): unique, since a
  // sid0 never runs twice. Their consumption is made durable in the
  // background from now on (ConsumeJournal); the hook waits for it before a
  // share leaves.
  protocol::ConsumeHook ConsumeHook() {
    std::vector<storage::Store::PresignatureMark> marks;
    for (uint32_t item = 0; item < setup_.items.size(); ++item) {
      ByteWriter w;
      w.PutRaw(subject_->sid0);
      w.PutU32(item);
      marks.emplace_back(std::move(w).Take(), key_id_);
    }
    const ConsumeJournal::Ticket ticket =
        core_.journal_->Submit(std::move(marks));
    return [ticket](const protocol::PresignatureId& id) -> absl::Status {
      const std::vector<absl::Status>& results = ticket.get();
      if (id.item >= results.size()) {
        return absl::InternalError("presignature item out of range");
      }
      return results[id.item];
    };
  }

  NodeCore& core_;
  const v1::StartSignRequest& request_;
  const v1::SignRequest& req_;
  CallInfo* const info_;
  const google::protobuf::RepeatedPtrField<v1::SignatureResult> none_;
  Key32 key_id_{};
  Key32 digest_{};
  std::set<std::string> approvers_;
  SharePtr share_;
  DecodedPayload decoded_;
  protocol::SessionSetup setup_;
  std::map<uint32_t, std::string> nodes_;
  std::optional<ClaimSubject> subject_;
  std::optional<SessionSigner> signer_;
  std::unique_ptr<protocol::SignParty> party_;
  v1::StartSignResponse response_;
  Bytes compact_all_;
};

absl::StatusOr<v1::StartSignResponse> NodeCore::StartSign(
    const v1::StartSignRequest& request, CallInfo* info) {
  SignOperation op(*this, request, info);
  KAGI_RETURN_IF_ERROR(Perform(op, info));
  return op.TakeResult();
}

}  // namespace kagi::node
