// SqliteStore: the audit log and the rows it signs (sqlite_internal.h lists the
// files).
#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/storage/audit.h"
#include "libs/storage/sqlite_internal.h"
#include "libs/storage/sqlite_store.h"

namespace kagi::storage {

using namespace sqlite_internal;  // NOLINT: the store's own helpers

namespace {

constexpr const char* kLastAudit =
    "SELECT seq, hash, head_signature FROM audit ORDER BY seq DESC LIMIT 1";
constexpr const char* kInsertAudit =
    "INSERT INTO audit (seq, unix_time, operation, request_id, parties, "
    "outcome, signature, prev_hash, hash, reservations, anchors, "
    "head_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kReadAudit =
    "SELECT seq, unix_time, operation, request_id, parties, outcome, "
    "signature, prev_hash, hash, reservations, anchors, head_signature FROM "
    "audit ORDER BY seq";
constexpr const char* kRestoreVelocity =
    "INSERT OR REPLACE INTO velocity (request_id, scope, unix_time, amount) "
    "VALUES (?, ?, ?, ?)";

// ReadAuditRow reads a kReadAudit row; a hash of the wrong length is a
// broken chain at that seq.
absl::StatusOr<AuditEntry> ReadAuditRow(sqlite3_stmt* s) {
  AuditEntry e;
  e.seq = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
  e.unix_time = sqlite3_column_int64(s, 1);
  e.operation = ColumnText(s, 2);
  e.request_id = ColumnText(s, 3);
  e.parties = ColumnText(s, 4);
  e.outcome = ColumnText(s, 5);
  e.signature = ColumnBytes(s, 6);
  const std::string broken = absl::StrCat("audit chain broken at seq ", e.seq);
  KAGI_ASSIGN_OR_RETURN(
      e.prev_hash, ColumnDigest(s, 7, absl::StrCat(broken, ": prev_hash")));
  KAGI_ASSIGN_OR_RETURN(e.hash,
                        ColumnDigest(s, 8, absl::StrCat(broken, ": hash")));
  e.reservations = ColumnText(s, 9);
  e.anchors = ColumnText(s, 10);
  e.head_signature = ColumnBytes(s, 11);
  return e;
}

}  // namespace

absl::StatusOr<AuditEntry> SqliteStore::AppendAudit(AuditEntry entry) {
  constexpr absl::string_view kOp = "AppendAudit";
  absl::MutexLock lock(&mu_);
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  KAGI_ASSIGN_OR_RETURN(AuditEntry stored,
                        AppendAuditLocked(std::move(entry), kOp));
  KAGI_RETURN_IF_ERROR(txn.Commit(kOp));
  return stored;
}

absl::StatusOr<AuditEntry> SqliteStore::AppendAuditLocked(
    AuditEntry entry, absl::string_view op) {
  entry.seq = 1;
  entry.prev_hash = {};
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kLastAudit, op));
    Stmt s(this, raw, op);
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      entry.seq = static_cast<uint64_t>(sqlite3_column_int64(raw, 0)) + 1;
      KAGI_ASSIGN_OR_RETURN(
          entry.prev_hash,
          ColumnDigest(raw, 1, "sqlite: AppendAudit: last hash"));
    }
  }
  entry.hash = AuditEntryHash(entry);
  entry.head_signature.clear();
  if (audit_key_ != nullptr) {
    const crypto::Ed25519Signature sig = audit_key_->Sign(
        AuditHeadDigest(audit_key_->PublicKey(), entry.seq, entry.hash));
    entry.head_signature.assign(sig.begin(), sig.end());
  }
  // Read back from the store after the caller's transaction commits.
  latest_head_.reset();
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kInsertAudit, op));
    Stmt s(this, raw, op);
    s.Int(static_cast<int64_t>(entry.seq))
        .Int(entry.unix_time)
        .Text(entry.operation)
        .Text(entry.request_id)
        .Text(entry.parties)
        .Text(entry.outcome)
        .Blob(entry.signature)
        .Blob(entry.prev_hash)
        .Blob(entry.hash)
        .Text(entry.reservations)
        .Text(entry.anchors)
        .Blob(entry.head_signature);
    KAGI_RETURN_IF_ERROR(s.Run());
  }
  return entry;
}

absl::StatusOr<std::vector<AuditEntry>> SqliteStore::ReadAudit() {
  constexpr absl::string_view kOp = "ReadAudit";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kReadAudit, kOp));
  Stmt s(this, raw, kOp);
  return s.ReadAll(ReadAuditRow);
}

void SqliteStore::SetAuditKey(const crypto::Ed25519PrivateKey* key) {
  absl::MutexLock lock(&mu_);
  audit_key_ = key;
  latest_head_.reset();
}

absl::StatusOr<AuditHead> SqliteStore::LatestHead() {
  constexpr absl::string_view kOp = "LatestHead";
  absl::MutexLock lock(&mu_);
  if (latest_head_.has_value()) return *latest_head_;
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kLastAudit, kOp));
  Stmt s(this, raw, kOp);
  KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
  const Bytes sig = row ? ColumnBytes(raw, 2) : Bytes();
  if (sig.size() != 64) {
    return absl::NotFoundError("the audit log ends with no signed head");
  }
  AuditHead head;
  head.seq = static_cast<uint64_t>(sqlite3_column_int64(raw, 0));
  KAGI_ASSIGN_OR_RETURN(head.hash,
                        ColumnDigest(raw, 1, "sqlite: LatestHead: hash"));
  std::copy(sig.begin(), sig.end(), head.signature.begin());
  latest_head_ = head;
  return head;
}

absl::Status SqliteStore::RestoreSignedRows(
    const std::vector<AuditEntry>& log) {
  constexpr absl::string_view kOp = "RestoreSignedRows";
  KAGI_ASSIGN_OR_RETURN(auto velocity, SignedVelocityRows(log));
  KAGI_ASSIGN_OR_RETURN(auto bans, SignedBans(log));
  absl::MutexLock lock(&mu_);
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  for (const auto& [seq, row] : velocity) {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kRestoreVelocity, kOp));
    Stmt s(this, raw, kOp);
    s.Text(row.request_id)
        .Text(row.reservation.scope)
        .Int(row.reservation.unix_time)
        .Blob(row.reservation.amount);
    KAGI_RETURN_IF_ERROR(s.Run());
  }
  for (const auto& [seq, ban] : bans) {
    KAGI_RETURN_IF_ERROR(
        InsertBanLocked(ban.party_key, ban.reason, ban.unix_time, kOp));
  }
  return txn.Commit(kOp);
}

}  // namespace kagi::storage
