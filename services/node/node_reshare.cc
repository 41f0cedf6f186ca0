// NodeCore's refresh and reshare: the pipeline's steps for StartReshare
// (operation.h, admin_operation.h).
#include "absl/strings/str_cat.h"
#include "libs/protocol/reshare.h"
#include "services/node/admin_operation.h"

namespace kagi::node {

class NodeCore::ReshareOperation final
    : public NodeCore::AdminOperation<protocol::ReshareParty> {
 public:
  ReshareOperation(NodeCore& core, const v1::StartReshareRequest& request,
                   CallInfo* info)
      : AdminOperation(core, info, request.request_id(), request.initiator(),
                       request.approvals()),
        request_(request) {}

  absl::string_view name() const override { return "reshare"; }

  // The key's claim first: the share read then is the one every earlier
  // session or delivered certificate of this key left behind. A node
  // joining the committee holds none.
  absl::Status Setup() override {
    KAGI_ASSIGN_OR_RETURN(key_id_, KeyIdField(request_.key_id()));
    KAGI_ASSIGN_OR_RETURN(claim_,
                          core_.lifecycle_.Acquire(request_id(), &key_id_));
    absl::StatusOr<SharePtr> old = core_.shares_.Load(key_id_);
    if (!old.ok() && !absl::IsNotFound(old.status())) return old.status();
    if (old.ok()) old_ = *std::move(old);
    KAGI_ASSIGN_OR_RETURN(
        setup_, BuildReshareSetup(request_, old_.get(), core_.self_key_,
                                  core_.peer_keys_));
    return absl::OkStatus();
  }

  absl::Status Activate(const absl::Status& run) override {
    if (party_ == nullptr) return run;
    if (party_->is_member()) return ActivateShare(run);
    if (!run.ok()) return run;
    return Depart();
  }

  absl::Status Finish(const absl::Status& outcome) override {
    KAGI_RETURN_IF_ERROR(
        core_.Finish(request_id(), "reshare", setup_, outcome, {}, {}));
    if (fresh_ != nullptr) {
      core_.shares_.Cache(fresh_);
    } else {
      core_.shares_.Forget(key_id_);
    }
    return absl::OkStatus();
  }

  v1::KeyInfo TakeResult() const {
    if (fresh_ != nullptr) return Described(*fresh_);
    v1::KeyInfo described = Described(*old_);
    described.set_epoch(old_->epoch + 1);
    return described;
  }

 private:
  absl::StatusOr<policy::AdminChange> Change() override {
    return ReshareChange(request_, old_.get(), core_.NameOf());
  }
  absl::Status AfterAdmission() override {
    return core_.shares_.CheckNoPendingSession(key_id_, setup_.epoch);
  }
  std::array<uint8_t, 32> RequestDigest() const override {
    return ReshareRequestDigest(request_);
  }
  absl::StatusOr<std::unique_ptr<protocol::ReshareParty>> CreateParty(
      const SessionSigner& signer) override {
    return protocol::ReshareParty::Create(setup_, old_.get(), signer,
                                          core_.rng_, change_.networks);
  }

  // Depart: a dealer the new committee leaves out: its old share must not
  // survive (and nothing of a later epoch is touched).
  absl::Status Depart() {
    const absl::Status retired = core_.shares_.Retire(key_id_, old_->epoch);
    const protocol::ActivationCertificate* made = party_->certificate();
    if (made != nullptr) certificate_ = made->Encode();
    if (retired.ok()) {
      core_.AuditLifecycle(
          "depart", key_id_, old_->epoch,
          absl::StrCat("ok: dealt epoch ", old_->epoch + 1,
                       " and left the committee; share of epoch ", old_->epoch,
                       " erased"));
    }
    return retired;
  }

  const v1::StartReshareRequest& request_;
  std::array<uint8_t, 32> key_id_{};
  SharePtr old_;  // null for a node joining the committee
};

absl::StatusOr<v1::KeyInfo> NodeCore::StartReshare(
    const v1::StartReshareRequest& request, CallInfo* info) {
  ReshareOperation op(*this, request, info);
  KAGI_RETURN_IF_ERROR(Perform(op, info));
  return op.TakeResult();
}

}  // namespace kagi::node
