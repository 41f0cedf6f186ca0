// File: services/node/admin_operation.h
//
// INTERNAL to services/node. The steps key creation (node_dkg.cc) and
// refresh/reshare (node_reshare.cc) share in the pipeline (operation.h):
// admission by the admin quorum over the AdminChange this node rebuilt
// (admission.h), the durable begin (synced), a session whose new share is
// stored PENDING before this node's ack leaves, and the share's activation
// with the certificate the session assembled (shares.h).
#ifndef KAGI_SERVICES_NODE_ADMIN_OPERATION_H_
#define KAGI_SERVICES_NODE_ADMIN_OPERATION_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "libs/base/status_macros.h"
#include "services/node/node.h"
#include "services/node/operation.h"

namespace kagi::node {

template <typename Party>
class NodeCore::AdminOperation : public Operation {
 public:
  using Approvals = google::protobuf::RepeatedPtrField<v1::Approval>;

  AdminOperation(NodeCore& core, CallInfo* info, const std::string& request_id,
                 const std::string& initiator, const Approvals& approvals)
      : core_(core),
        info_(info),
        request_id_(request_id),
        initiator_(initiator),
        approvals_(approvals) {}

  const std::string& request_id() const override { return request_id_; }
  const std::string& client() const override { return initiator_; }
  uint64_t expiry_unix_seconds() const override {
    return setup_.expiry_unix_seconds;
  }

  absl::Status Admit() override {
    KAGI_ASSIGN_OR_RETURN(nodes_, core_.PartyNodes(setup_, &info_->names));
    KAGI_ASSIGN_OR_RETURN(change_, Change());
    KAGI_ASSIGN_OR_RETURN(admission_, core_.admission_.AdmitAdmin(
                                          change_, approvals_, initiator_));
    return AfterAdmission();
  }

  // Begin: the request id, sid0 and admission recorded, synced.
  absl::Status Begin() override {
    return core_.store_->BeginRequest(
        request_id_, std::string(name()), RequestDigest(),
        protocol::Sid0(setup_), storage::Durability::kSynced, &admission_);
  }

  void Release() override { claim_.reset(); }

  absl::Status Run() override {
    signer_.emplace(SelfId(setup_, core_.self_key_), core_.identity_);
    absl::StatusOr<std::unique_ptr<Party>> party = CreateParty(*signer_);
    if (!party.ok()) return party.status();
    party_ = *std::move(party);
    const SessionHooks hooks =
        core_.shares_.PendingHook([this]() { return party_->pending_share(); });
    return core_.sessions_->Run(setup_, *party_, nodes_, hooks);
  }

 protected:
  // Change: the AdminChange the approvals must be over (admin_change.h).
  virtual absl::StatusOr<policy::AdminChange> Change() = 0;
  // AfterAdmission: what the operation checks once admitted.
  virtual absl::Status AfterAdmission() = 0;
  // RequestDigest: what binds the request id to this request.
  virtual std::array<uint8_t, 32> RequestDigest() const = 0;
  virtual absl::StatusOr<std::unique_ptr<Party>> CreateParty(
      const SessionSigner& signer) = 0;

  // ActivateShare: this member's new share ACTIVE with the session's
  // certificate (fresh_, certificate_); after an abort it stays PENDING and
  // the session's error is returned.
  absl::Status ActivateShare(const absl::Status& run) {
    absl::StatusOr<Bytes> certificate = core_.shares_.Conclude(
        {run, party_->pending_share(), party_->certificate(),
         &party_->received_acks()});
    absl::StatusOr<protocol::KeyShare> share =
        certificate.ok()
            ? party_->TakeShare()
            : absl::StatusOr<protocol::KeyShare>(certificate.status());
    if (!share.ok()) return share.status();
    certificate_ = *std::move(certificate);
    fresh_ = std::make_shared<const protocol::KeyShare>(*std::move(share));
    return absl::OkStatus();
  }

  // Described: the key as `share` describes it, with the certificate.
  v1::KeyInfo Described(const protocol::KeyShare& share) const {
    v1::KeyInfo described = core_.DescribeKey(share);
    described.set_activation_certificate(Str(certificate_));
    return described;
  }

  NodeCore& core_;
  CallInfo* const info_;
  const std::string& request_id_;
  const std::string& initiator_;
  const Approvals& approvals_;
  protocol::SessionSetup setup_;
  std::map<uint32_t, std::string> nodes_;
  policy::AdminChange change_;
  storage::Admission admission_;
  std::optional<SessionSigner> signer_;
  std::unique_ptr<LifecycleClaims::Claim> claim_;  // the request's, the key's
  std::unique_ptr<Party> party_;  // null until the session starts
  SharePtr fresh_;                // the new ACTIVE share, if any
  Bytes certificate_;
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_ADMIN_OPERATION_H_
