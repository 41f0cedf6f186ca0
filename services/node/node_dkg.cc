// NodeCore's key creation: the pipeline's steps for StartDkg (operation.h,
// admin_operation.h).
#include "libs/protocol/dkg.h"
#include "services/node/admin_operation.h"

namespace kagi::node {

class NodeCore::DkgOperation final
    : public NodeCore::AdminOperation<protocol::DkgParty> {
 public:
  DkgOperation(NodeCore& core, const v1::StartDkgRequest& request,
               CallInfo* info)
      : AdminOperation(core, info, request.request_id(), request.initiator(),
                       request.approvals()),
        request_(request) {}

  absl::string_view name() const override { return "dkg"; }

  absl::Status Setup() override {
    KAGI_ASSIGN_OR_RETURN(
        setup_, BuildDkgSetup(request_, core_.self_key_, core_.peer_keys_));
    return absl::OkStatus();
  }

  absl::Status Activate(const absl::Status& run) override {
    return party_ == nullptr ? run : ActivateShare(run);
  }

  // Finish: the record names the key the DKG made (the setup's key id is
  // zero).
  absl::Status Finish(const absl::Status& outcome) override {
    Bytes key_id;
    if (outcome.ok())
      key_id.assign(fresh_->key_id.begin(), fresh_->key_id.end());
    KAGI_RETURN_IF_ERROR(
        core_.Finish(request_id(), "dkg", setup_, outcome, key_id, {},
                     outcome.ok() ? &fresh_->key_id : nullptr));
    core_.shares_.Cache(fresh_);
    return absl::OkStatus();
  }

  v1::KeyInfo TakeResult() const { return Described(*fresh_); }

 private:
  absl::StatusOr<policy::AdminChange> Change() override {
    return DkgChange(request_, core_.NameOf());
  }
  absl::Status AfterAdmission() override {
    KAGI_ASSIGN_OR_RETURN(claim_,
                          core_.lifecycle_.Acquire(request_id(), nullptr));
    return absl::OkStatus();
  }
  std::array<uint8_t, 32> RequestDigest() const override {
    return DkgRequestDigest(request_);
  }
  absl::StatusOr<std::unique_ptr<protocol::DkgParty>> CreateParty(
      const SessionSigner& signer) override {
    return protocol::DkgParty::Create(setup_, signer, core_.rng_,
                                      change_.networks);
  }

  const v1::StartDkgRequest& request_;
};

absl::StatusOr<v1::KeyInfo> NodeCore::StartDkg(
    const v1::StartDkgRequest& request, CallInfo* info) {
  DkgOperation op(*this, request, info);
  KAGI_RETURN_IF_ERROR(Perform(op, info));
  return op.TakeResult();
}

}  // namespace kagi::node
