// NodeCore's half of two-phase activation (ARCHITECTURE.md, key generation,
// refresh and reshare): the end of a DKG or reshare session, and
// certificates delivered later by the gateway.
//
// A new share is PENDING from round 3 on (stored before this node's ack
// leaves). It becomes ACTIVE only on an activation certificate, every
// member's signed ack of the same view: the one this node's session
// assembled, or one delivered through Activate. An aborted session never
// deletes its pending share; it keeps the acks it received as evidence, so
// that a later certificate carrying a different ack from the same member
// proves that member equivocated (it is banned, both envelopes in the
// reason). Epoch e is erased only in the transaction that activates e+1; a
// member the certificate's committee no longer includes erases its share on
// a certificate for a later epoch of the same key.
#include "libs/protocol/activation.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"
#include "services/node/node.h"

namespace kagi::node {
namespace {

using Key32 = std::array<uint8_t, 32>;

constexpr size_t kMaxCertificateBytes = 64 * 1024;

bool IsMember(const protocol::ActivationView& view, const Key32& self) {
  return std::any_of(
      view.parties.begin(), view.parties.end(),
      [&](const protocol::PartyInfo& p) { return p.identity_key == self; });
}

}  // namespace

void NodeCore::AuditLifecycle(absl::string_view operation, const Key32& key_id,
                              uint64_t epoch, const std::string& outcome) {
  storage::AuditEntry audit;
  audit.unix_time = absl::ToUnixSeconds(clock_->Now());
  audit.operation = std::string(operation);
  audit.parties = absl::StrCat("key ", HexEncode(key_id), " epoch ", epoch);
  audit.outcome = outcome;
  // Best effort: the state change it records is already durable.
  store_->AppendAudit(std::move(audit)).IgnoreError();
}

absl::Status NodeCore::BanEquivocators(
    const protocol::ActivationCertificate& cert, ByteSpan evidence) {
  absl::StatusOr<std::vector<protocol::Envelope>> seen =
      DecodeEvidence(evidence);
  if (!seen.ok()) return seen.status();
  for (const protocol::Envelope& env : *seen) {
    std::optional<protocol::Equivocation> eq =
        protocol::FindEquivocation(cert, env);
    if (!eq.has_value()) continue;
    const protocol::PartyInfo* member = nullptr;
    for (const protocol::PartyInfo& p : cert.view.parties) {
      if (p.id == eq->party) member = &p;
    }
    if (member == nullptr || member->identity_key == self_key_) continue;
    const std::string reason =
        absl::StrCat("equivocated in the acknowledgements of key ",
                     HexEncode(cert.view.key_id), " epoch ", cert.view.epoch,
                     ": signed ack in the certificate ",
                     HexEncode(protocol::EncodeEnvelope(eq->first)),
                     ", signed ack sent here ",
                     HexEncode(protocol::EncodeEnvelope(eq->second)));
    KAGI_RETURN_IF_ERROR(store_->AddBan(member->identity_key, reason));
    AuditLifecycle(
        "ban", cert.view.key_id, cert.view.epoch,
        absl::StrCat(NodeOf(member->identity_key), " banned: ", reason));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ActivateResponse> NodeCore::Activate(
    const v1::ActivateRequest& request) {
  if (request.certificate().size() > kMaxCertificateBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate: ", request.certificate().size(),
                     " bytes, at most ", kMaxCertificateBytes));
  }
  absl::StatusOr<protocol::ActivationCertificate> decoded =
      protocol::ActivationCertificate::Decode(AsBytes(request.certificate()));
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate: ", decoded.status().message()));
  }
  const protocol::ActivationCertificate& cert = *decoded;
  for (const protocol::PartyInfo& p : cert.view.parties) {
    if (NodeOf(p.identity_key).empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat("certificate: member ", p.id, " has identity key ",
                       HexEncode(p.identity_key), ", not a node ",
                       config_.name(), " knows"));
    }
  }
  KAGI_RETURN_IF_ERROR(protocol::VerifyCertificate(cert));
  // Not while a refresh or reshare of this key runs here: its outcome
  // decides which pending share, if any, a certificate may activate.
  absl::StatusOr<std::unique_ptr<LifecycleClaims::Claim>> claim =
      lifecycle_.Acquire("", &cert.view.key_id);
  if (!claim.ok()) {
    return absl::UnavailableError(absl::StrCat(claim.status().message(),
                                               "; deliver the certificate "
                                               "again when it has ended"));
  }
  absl::MutexLock lock(&activate_mu_);
  return IsMember(cert.view, self_key_) ? ActivateMember(cert) : Depart(cert);
}

absl::StatusOr<v1::ActivateResponse> NodeCore::ActivateMember(
    const protocol::ActivationCertificate& cert) {
  const Key32& key_id = cert.view.key_id;
  const uint64_t epoch = cert.view.epoch;
  v1::ActivateResponse out;
  out.set_epoch(epoch);
  absl::StatusOr<storage::StoredShare> active = store_->GetActiveShare(key_id);
  if (!active.ok() && !absl::IsNotFound(active.status())) {
    return active.status();
  }
  if (active.ok() && active->epoch >= epoch) {
    if (active->epoch > epoch) {
      return absl::FailedPreconditionError(absl::StrCat(
          config_.name(), " holds epoch ", active->epoch, " of key ",
          HexEncode(key_id), "; the certificate is for epoch ", epoch));
    }
    out.set_outcome("already active");
    return out;
  }
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::ShareRecord> pending,
                        store_->GetPendingShares(key_id, epoch));
  for (const storage::ShareRecord& row : pending) {
    KAGI_ASSIGN_OR_RETURN(protocol::KeyShare share,
                          shares_.Open(key_id, epoch, row.sealed));
    if (!protocol::CheckCertificateFor(share, cert.view.op, cert).ok()) {
      continue;  // another session's pending share of this epoch
    }
    KAGI_RETURN_IF_ERROR(
        store_->ActivateShare(key_id, epoch, row.sid, cert.Encode()));
    AuditLifecycle("activate", key_id, epoch,
                   absl::StrCat("ok: activated by a delivered certificate of ",
                                cert.view.parties.size(), " members"));
    BanEquivocators(cert, row.evidence).IgnoreError();
    shares_.Cache(std::make_shared<const protocol::KeyShare>(std::move(share)));
    out.set_outcome("activated");
    return out;
  }
  return absl::NotFoundError(absl::StrCat(
      config_.name(), " holds no pending share of key ", HexEncode(key_id),
      " epoch ", epoch, " that the certificate certifies"));
}

absl::StatusOr<v1::ActivateResponse> NodeCore::Depart(
    const protocol::ActivationCertificate& cert) {
  const Key32& key_id = cert.view.key_id;
  v1::ActivateResponse out;
  out.set_epoch(cert.view.epoch);
  absl::StatusOr<storage::StoredShare> active = store_->GetActiveShare(key_id);
  if (absl::IsNotFound(active.status())) {
    out.set_outcome("holds nothing");
    return out;
  }
  KAGI_RETURN_IF_ERROR(active.status());
  KAGI_ASSIGN_OR_RETURN(protocol::KeyShare old,
                        shares_.Open(key_id, active->epoch, active->sealed));
  KAGI_RETURN_IF_ERROR(protocol::CheckDepartureCertificate(old, cert));
  KAGI_RETURN_IF_ERROR(shares_.Retire(key_id, old.epoch));
  AuditLifecycle(
      "depart", key_id, old.epoch,
      absl::StrCat("ok: removed from the committee by epoch ", cert.view.epoch,
                   "; share of epoch ", old.epoch, " erased"));
  out.set_outcome("departed");
  return out;
}

}  // namespace kagi::node
