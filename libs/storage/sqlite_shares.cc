// SqliteStore: key shares and session ids (sqlite_internal.h lists the files).
#include <sqlite3.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/storage/sqlite_internal.h"
#include "libs/storage/sqlite_store.h"

namespace kagi::storage {

using namespace sqlite_internal;  // NOLINT: the store's own helpers

namespace {

// Statements (cached by pointer, so each must be a single named constant).
constexpr const char* kInsertShare =
    "INSERT INTO shares (key_id, epoch, sid, state, sealed) VALUES (?, ?, ?, "
    "?, ?)";
constexpr const char* kShareState =
    "SELECT state FROM shares WHERE key_id = ? AND epoch = ? AND sid = ?";
constexpr const char* kRetireActive =
    "UPDATE shares SET state = 'RETIRED', sealed = x'' WHERE key_id = ? AND "
    "state = 'ACTIVE'";
constexpr const char* kRetireUpTo =
    "UPDATE shares SET state = 'RETIRED', sealed = x'' WHERE key_id = ? AND "
    "state != 'RETIRED' AND epoch <= ?";
constexpr const char* kRetireOtherPending =
    "UPDATE shares SET state = 'RETIRED', sealed = x'' WHERE key_id = ? AND "
    "state = 'PENDING' AND epoch <= ? AND NOT (epoch = ? AND sid = ?)";
constexpr const char* kCountPending =
    "SELECT count(*) FROM shares WHERE key_id = ? AND epoch = ? AND state = "
    "'PENDING'";
constexpr const char* kRetirePending =
    "UPDATE shares SET state = 'RETIRED', sealed = x'' WHERE key_id = ? AND "
    "epoch = ? AND state = 'PENDING'";
constexpr const char* kActivate =
    "UPDATE shares SET state = 'ACTIVE', certificate = ? WHERE key_id = ? AND "
    "epoch = ? AND sid = ? AND state = 'PENDING'";
constexpr const char* kSetEvidence =
    "UPDATE shares SET evidence = ? WHERE key_id = ? AND epoch = ? AND sid = "
    "? AND state = 'PENDING'";
constexpr const char* kGetActive =
    "SELECT epoch, sealed, certificate FROM shares WHERE key_id = ? AND "
    "state = 'ACTIVE'";
constexpr const char* kListShares =
    "SELECT key_id, epoch, state, sealed, sid, certificate, evidence FROM "
    "shares WHERE state != 'RETIRED' ORDER BY key_id, epoch, sid";
constexpr const char* kGetShare =
    "SELECT key_id, epoch, state, sealed, sid, certificate, evidence FROM "
    "shares WHERE key_id = ? AND epoch = ? ORDER BY state = 'ACTIVE' DESC, "
    "state = 'PENDING' DESC, sid LIMIT 1";
constexpr const char* kGetPending =
    "SELECT key_id, epoch, state, sealed, sid, certificate, evidence FROM "
    "shares WHERE key_id = ? AND epoch = ? AND state = 'PENDING' ORDER BY sid";

std::optional<ShareState> ShareStateFromName(absl::string_view name) {
  for (ShareState s :
       {ShareState::kPending, ShareState::kActive, ShareState::kRetired}) {
    if (ShareStateName(s) == name) return s;
  }
  return std::nullopt;
}

// ReadShareRow reads (key_id, epoch, state, sealed, sid, certificate,
// evidence) at the cursor.
absl::StatusOr<ShareRecord> ReadShareRow(sqlite3_stmt* s) {
  ShareRecord rec;
  KAGI_ASSIGN_OR_RETURN(rec.key_id,
                        ColumnDigest(s, 0, "sqlite: shares.key_id"));
  rec.epoch = static_cast<uint64_t>(sqlite3_column_int64(s, 1));
  const std::optional<ShareState> state = ShareStateFromName(ColumnText(s, 2));
  if (!state) return absl::DataLossError("sqlite: shares.state is invalid");
  rec.state = *state;
  rec.sealed = ColumnBytes(s, 3);
  rec.sid = ColumnBytes(s, 4);
  rec.certificate = ColumnBytes(s, 5);
  rec.evidence = ColumnBytes(s, 6);
  return rec;
}

}  // namespace

absl::string_view ShareStateName(ShareState state) {
  switch (state) {
    case ShareState::kPending:
      return "PENDING";
    case ShareState::kActive:
      return "ACTIVE";
    case ShareState::kRetired:
      return "RETIRED";
  }
  return "UNKNOWN";
}

absl::Status SqliteStore::PutShare(const KeyId& key_id, uint64_t epoch,
                                   ShareState state, ByteSpan sealed,
                                   ByteSpan sid) {
  constexpr absl::string_view kOp = "PutShare";
  absl::MutexLock lock(&mu_);
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  if (state == ShareState::kPending) {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kCountPending, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(key_id).Int(static_cast<int64_t>(epoch));
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row && sqlite3_column_int64(raw, 0) >= kMaxPendingPerEpoch) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "PutShare: ", kMaxPendingPerEpoch, " PENDING shares of key ",
          HexEncode(key_id), " epoch ", epoch,
          " already wait for their certificates; deliver one (kagictl key "
          "show) or retire them (kagictl share retire-pending)"));
    }
  }
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kInsertShare, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(key_id)
        .Int(static_cast<int64_t>(epoch))
        .Blob(sid)
        .Text(ShareStateName(state))
        .Blob(sealed);
    KAGI_RETURN_IF_ERROR(s.Run());
  }
  return txn.Commit(kOp);
}

absl::Status SqliteStore::ActivateShare(const KeyId& key_id, uint64_t epoch,
                                        ByteSpan sid, ByteSpan certificate) {
  constexpr absl::string_view kOp = "ActivateShare";
  absl::MutexLock lock(&mu_);
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kShareState, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(key_id).Int(static_cast<int64_t>(epoch)).Blob(sid);
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      return absl::NotFoundError(
          absl::StrCat("ActivateShare: no share for epoch ", epoch));
    }
    const std::string state = ColumnText(raw, 0);
    if (state != "PENDING") {
      return absl::FailedPreconditionError(
          absl::StrCat("ActivateShare: share of epoch ", epoch, " is ", state,
                       ", not PENDING"));
    }
  }
  {
    // Never over an ACTIVE share of this or a later epoch (another session
    // of the same epoch must not replace it).
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetActive, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(key_id);
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row && static_cast<uint64_t>(sqlite3_column_int64(raw, 0)) >= epoch) {
      return absl::FailedPreconditionError(
          absl::StrCat("ActivateShare: key ", HexEncode(key_id),
                       " is ACTIVE at epoch ", sqlite3_column_int64(raw, 0),
                       "; epoch ", epoch, " cannot be activated over it"));
    }
  }
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kRetireActive, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(key_id);
    KAGI_RETURN_IF_ERROR(s.Run());
  }
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(kRetireOtherPending, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(key_id)
        .Int(static_cast<int64_t>(epoch))
        .Int(static_cast<int64_t>(epoch))
        .Blob(sid);
    KAGI_RETURN_IF_ERROR(s.Run());
  }
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kActivate, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(certificate).Blob(key_id).Int(static_cast<int64_t>(epoch)).Blob(sid);
    KAGI_RETURN_IF_ERROR(s.Run());
    if (s.Changes() != 1) {
      return absl::InternalError("ActivateShare: activation changed no row");
    }
  }
  return txn.Commit(kOp);
}

absl::Status SqliteStore::RetireShares(const KeyId& key_id,
                                       uint64_t max_epoch) {
  constexpr absl::string_view kOp = "RetireShares";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kRetireUpTo, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(key_id).Int(static_cast<int64_t>(max_epoch));
  return s.Run();
}

absl::Status SqliteStore::SetShareEvidence(const KeyId& key_id, uint64_t epoch,
                                           ByteSpan sid, ByteSpan evidence) {
  constexpr absl::string_view kOp = "SetShareEvidence";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSetEvidence, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(evidence).Blob(key_id).Int(static_cast<int64_t>(epoch)).Blob(sid);
  KAGI_RETURN_IF_ERROR(s.Run());
  if (s.Changes() != 1) {
    return absl::NotFoundError(
        absl::StrCat("SetShareEvidence: no PENDING share of epoch ", epoch));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> SqliteStore::RetirePendingShares(const KeyId& key_id,
                                                     uint64_t epoch) {
  constexpr absl::string_view kOp = "RetirePendingShares";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kRetirePending, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(key_id).Int(static_cast<int64_t>(epoch));
  KAGI_RETURN_IF_ERROR(s.Run());
  return s.Changes();
}

absl::StatusOr<std::vector<ShareRecord>> SqliteStore::GetPendingShares(
    const KeyId& key_id, uint64_t epoch) {
  constexpr absl::string_view kOp = "GetPendingShares";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetPending, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(key_id).Int(static_cast<int64_t>(epoch));
  return s.ReadAll(ReadShareRow);
}

absl::StatusOr<StoredShare> SqliteStore::GetActiveShare(const KeyId& key_id) {
  constexpr absl::string_view kOp = "GetActiveShare";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetActive, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(key_id);
  KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("GetActiveShare: no ACTIVE share");
  StoredShare out;
  out.epoch = static_cast<uint64_t>(sqlite3_column_int64(raw, 0));
  out.sealed = ColumnBytes(raw, 1);
  out.certificate = ColumnBytes(raw, 2);
  return out;
}

absl::Status SqliteStore::RecordSid0(ByteSpan sid0) {
  constexpr absl::string_view kOp = "RecordSid0";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kInsertSid0, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(sid0);
  absl::Status st = s.Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "RecordSid0: session ", HexEncode(sid0), " was already started"));
  }
  return st;
}

absl::StatusOr<std::vector<ShareRecord>> SqliteStore::ListShares() {
  constexpr absl::string_view kOp = "ListShares";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kListShares, kOp));
  Stmt s(this, raw, kOp);
  return s.ReadAll(ReadShareRow);
}

absl::StatusOr<ShareRecord> SqliteStore::GetShare(const KeyId& key_id,
                                                  uint64_t epoch) {
  constexpr absl::string_view kOp = "GetShare";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetShare, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(key_id).Int(static_cast<int64_t>(epoch));
  KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("GetShare: no share for epoch ", epoch));
  }
  return ReadShareRow(raw);
}

}  // namespace kagi::storage
