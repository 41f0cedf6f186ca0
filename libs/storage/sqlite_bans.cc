// SqliteStore: banned parties (sqlite_internal.h lists the files).
#include <sqlite3.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/status_macros.h"
#include "libs/storage/audit.h"
#include "libs/storage/sqlite_internal.h"
#include "libs/storage/sqlite_store.h"

namespace kagi::storage {

using namespace sqlite_internal;  // NOLINT: the store's own helpers

namespace {

constexpr const char* kInsertBan =
    "INSERT OR IGNORE INTO bans (party_key, reason, banned_at) VALUES (?, ?, "
    "?)";
constexpr const char* kReadBans =
    "SELECT party_key, reason, banned_at FROM bans ORDER BY party_key";
constexpr const char* kIsBanned = "SELECT 1 FROM bans WHERE party_key = ?";
constexpr const char* kDeleteBan = "DELETE FROM bans WHERE party_key = ?";

// ReadBanRow reads (party_key, reason, banned_at).
absl::StatusOr<BanRow> ReadBanRow(sqlite3_stmt* s) {
  BanRow r;
  r.party_key = ColumnBytes(s, 0);
  r.reason = ColumnText(s, 1);
  r.unix_time = sqlite3_column_int64(s, 2);
  return r;
}

}  // namespace

absl::Status SqliteStore::AddBan(ByteSpan party_key, absl::string_view reason) {
  constexpr absl::string_view kOp = "AddBan";
  absl::MutexLock lock(&mu_);
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  KAGI_RETURN_IF_ERROR(InsertBanLocked(party_key, reason, now, kOp));
  if (sqlite3_changes(db_) == 1) {  // a new ban: signed in the log with its row
    AuditEntry record;
    record.unix_time = now;
    record.operation = std::string(kAuditBanOperation);
    record.parties = HexEncode(party_key);
    record.outcome = std::string(reason);
    KAGI_RETURN_IF_ERROR(AppendAuditLocked(std::move(record), kOp).status());
  }
  return txn.Commit(kOp);
}

absl::Status SqliteStore::InsertBanLocked(ByteSpan party_key,
                                          absl::string_view reason,
                                          int64_t unix_time,
                                          absl::string_view op) {
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kInsertBan, op));
  Stmt s(this, raw, op);
  s.Blob(party_key).Text(reason).Int(unix_time);
  return s.Run();
}

absl::StatusOr<std::vector<BanRow>> SqliteStore::ReadBans() {
  constexpr absl::string_view kOp = "ReadBans";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kReadBans, kOp));
  Stmt s(this, raw, kOp);
  return s.ReadAll(ReadBanRow);
}

absl::StatusOr<bool> SqliteStore::LiftBan(ByteSpan party_key,
                                          absl::string_view reason) {
  constexpr absl::string_view kOp = "LiftBan";
  absl::MutexLock lock(&mu_);
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kDeleteBan, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(party_key);
    KAGI_RETURN_IF_ERROR(s.Run());
    if (s.Changes() != 1) return false;
  }
  AuditEntry record;
  record.unix_time = absl::ToUnixSeconds(absl::Now());
  record.operation = std::string(kAuditBanLiftOperation);
  record.parties = HexEncode(party_key);
  record.outcome = std::string(reason);
  KAGI_RETURN_IF_ERROR(AppendAuditLocked(std::move(record), kOp).status());
  KAGI_RETURN_IF_ERROR(txn.Commit(kOp));
  return true;
}

absl::StatusOr<bool> SqliteStore::IsBanned(ByteSpan party_key) {
  constexpr absl::string_view kOp = "IsBanned";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kIsBanned, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(party_key);
  return s.Step();
}

}  // namespace kagi::storage
