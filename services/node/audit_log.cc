// NodeCore's side of the signed audit log (libs/storage/audit.h): the check
// at start-up, and the peers' signed heads it keeps as anchors.
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "services/node/node.h"

namespace kagi::node {

absl::StatusOr<std::string> NodeCore::CheckAuditLog(
    std::optional<uint64_t> accept_break_at) {
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::AuditEntry> log,
                        store_->ReadAudit());
  absl::StatusOr<storage::AuditVerdict> verdict = storage::VerifySignedAuditLog(
      log, self_key_, storage::SignatureCheck::kLastHead);
  absl::Status broken = verdict.status();
  if (broken.ok()) broken = CheckSignedRows(log);
  if (!broken.ok()) {
    const std::optional<uint64_t> seq = storage::AuditBadSeq(broken);
    if (!accept_break_at.has_value() || seq != accept_break_at) {
      return absl::DataLossError(absl::StrCat(
          config_.name(), " refuses to serve: its audit log does not verify: ",
          broken.message(),
          seq.has_value()
              ? absl::StrCat(" (after investigating, an operator may start it "
                             "with --accept-audit-break-at ",
                             *seq, "; docs/deploy.md)")
              : ""));
    }
    // The signed records are the truth: the velocity and ban rows are
    // rebuilt from them, and the override pins the records it accepts.
    KAGI_RETURN_IF_ERROR(store_->RestoreSignedRows(log));
    const storage::AuditEntry override_record = storage::AuditOverrideRecord(
        log, absl::ToUnixSeconds(clock_->Now()),
        absl::StrCat("operator started the node over a broken audit log "
                     "(--accept-audit-break-at ",
                     *seq, "): ", broken.message(),
                     "; velocity and ban rows rebuilt from the signed "
                     "records"));
    KAGI_RETURN_IF_ERROR(store_->AppendAudit(override_record).status());
    LoadAnchors(log);
    return override_record.outcome;
  }
  if (accept_break_at.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--accept-audit-break-at ", *accept_break_at, ": the audit log of ",
        config_.name(), " verifies; there is no break to accept"));
  }
  LoadAnchors(log);
  return verdict->override_seq == 0
             ? std::string()
             : absl::StrCat(
                   "audit log accepted from the operator override at "
                   "seq ",
                   verdict->override_seq, " on (before it: ",
                   verdict->accepted_error.empty() ? "no chain break"
                                                   : verdict->accepted_error,
                   ")");
}

absl::Status NodeCore::CheckSignedRows(
    const std::vector<storage::AuditEntry>& log) {
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::VelocityRow> velocity,
                        store_->ReadVelocity());
  KAGI_RETURN_IF_ERROR(storage::VerifyVelocityRows(log, velocity));
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::BanRow> bans, store_->ReadBans());
  return storage::VerifyBanRows(log, bans);
}

void NodeCore::LoadAnchors(const std::vector<storage::AuditEntry>& log) {
  absl::MutexLock lock(&anchors_mu_);
  for (const storage::AuditEntry& e : log) {
    if (e.anchors.empty()) continue;
    absl::StatusOr<std::vector<storage::AuditAnchor>> anchors =
        storage::ParseAnchors(e.anchors);
    if (!anchors.ok()) continue;
    for (storage::AuditAnchor& a : *anchors) {
      storage::AuditHead& held = anchors_[a.node];
      if (a.head.seq >= held.seq) held = a.head;
    }
  }
}

absl::Status NodeCore::KeepAnchor(const std::string& from_node,
                                  const v1::AuditHead& head) {
  auto key = peer_key_by_name_.find(from_node);
  if (key == peer_key_by_name_.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat(from_node, " is not a configured peer"));
  }
  storage::AuditHead h;
  h.seq = head.seq();
  if (head.hash().size() != h.hash.size() ||
      head.signature().size() != h.signature.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit_head from ", from_node,
                     ": hash must be 32 and signature 64 "
                     "bytes"));
  }
  std::copy(head.hash().begin(), head.hash().end(), h.hash.begin());
  std::copy(head.signature().begin(), head.signature().end(),
            h.signature.begin());
  {
    absl::MutexLock lock(&anchors_mu_);
    auto it = anchors_.find(from_node);
    if (it != anchors_.end() && it->second.seq == h.seq &&
        it->second.hash == h.hash) {
      return absl::OkStatus();  // already held (and checked)
    }
  }
  absl::Status valid = storage::VerifyAuditHead(key->second, h);
  if (!valid.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("audit_head from ", from_node, ": ", valid.message(),
                     " under its identity key"));
  }
  absl::MutexLock lock(&anchors_mu_);
  storage::AuditHead& held = anchors_[from_node];
  // Envelopes of concurrent sessions may arrive out of order: keep the
  // newest head.
  if (h.seq >= held.seq) held = h;
  return absl::OkStatus();
}

std::string NodeCore::SessionAnchors(const protocol::SessionSetup& setup) {
  std::vector<storage::AuditAnchor> anchors;
  absl::MutexLock lock(&anchors_mu_);
  for (const protocol::PartyInfo& p : setup.parties) {
    auto name = peer_by_key_.find(p.identity_key);
    if (name == peer_by_key_.end()) continue;  // us
    auto it = anchors_.find(name->second);
    if (it == anchors_.end() || it->second.seq == 0) continue;
    anchors.push_back({name->second, it->second});
  }
  return storage::EncodeAnchors(anchors);
}

}  // namespace kagi::node
