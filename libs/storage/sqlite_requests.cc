// SqliteStore: requests, velocity and request claims (sqlite_internal.h lists
// the files).
#include <sqlite3.h>

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

constexpr const char* kGetRequest =
    "SELECT request_id, operation, request_digest, state, outcome, result, "
    "attempts, key_id, initiator FROM requests WHERE request_id = ?";
constexpr const char* kInsertRequest =
    "INSERT INTO requests (request_id, operation, request_digest, state, "
    "outcome, result, attempts, updated_at, key_id, initiator) VALUES (?, ?, "
    "?, 'in_progress', '', x'', 1, CAST(strftime('%s', 'now') AS INTEGER), "
    "?, ?)";
constexpr const char* kRetryRequest =
    "UPDATE requests SET state = 'in_progress', outcome = '', attempts = "
    "attempts + 1, updated_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE "
    "request_id = ?";
// A completion is never taken back: a session of an earlier attempt that
// ends after a later one succeeded leaves the record as it is.
constexpr const char* kFinishRequest =
    "UPDATE requests SET state = ?, outcome = ?, result = ?, updated_at = "
    "CAST(strftime('%s', 'now') AS INTEGER) WHERE request_id = ? AND state "
    "!= 'succeeded'";
constexpr const char* kReserveVelocity =
    "INSERT OR IGNORE INTO velocity (request_id, scope, unix_time, amount) "
    "VALUES (?, ?, ?, ?)";
constexpr const char* kVelocityAmounts =
    "SELECT amount FROM velocity WHERE scope = ? AND unix_time >= ? AND "
    "request_id != ?";
constexpr const char* kReadVelocity =
    "SELECT request_id, scope, unix_time, amount FROM velocity ORDER BY "
    "request_id, scope";
constexpr const char* kPutRequestClaim =
    "INSERT INTO key_request_claims (key_id, request_id, node_key, state, "
    "claim) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_id, request_id, node_key) "
    "DO UPDATE SET state = excluded.state, claim = excluded.claim WHERE "
    "key_request_claims.state != 'succeeded' OR excluded.state = "
    "'succeeded'";
constexpr const char* kGetClaimsInState =
    "SELECT key_id, request_id, node_key, state, claim FROM "
    "key_request_claims WHERE node_key = ? AND state = ? ORDER BY key_id, "
    "request_id";
constexpr const char* kGetRequestClaims =
    "SELECT key_id, request_id, node_key, state, claim FROM "
    "key_request_claims WHERE key_id = ? AND request_id = ? ORDER BY node_key";

std::optional<RequestState> RequestStateFromName(absl::string_view name) {
  for (RequestState s : {RequestState::kInProgress, RequestState::kSucceeded,
                         RequestState::kFailed}) {
    if (RequestStateName(s) == name) return s;
  }
  return std::nullopt;
}

// ReadRequestRow reads a kGetRequest row at the cursor.
absl::StatusOr<RequestRecord> ReadRequestRow(sqlite3_stmt* s) {
  RequestRecord rec;
  rec.request_id = ColumnText(s, 0);
  rec.operation = ColumnText(s, 1);
  KAGI_ASSIGN_OR_RETURN(rec.request_digest,
                        ColumnDigest(s, 2, "sqlite: requests.request_digest"));
  const std::optional<RequestState> state =
      RequestStateFromName(ColumnText(s, 3));
  if (!state) return absl::DataLossError("sqlite: requests.state is invalid");
  rec.state = *state;
  rec.outcome = ColumnText(s, 4);
  rec.result = ColumnBytes(s, 5);
  rec.attempts = static_cast<uint32_t>(sqlite3_column_int64(s, 6));
  rec.key_id = ColumnBytes(s, 7);
  rec.initiator = ColumnText(s, 8);
  return rec;
}

// ReadClaimRow reads (key_id, request_id, node_key, state, claim).
absl::StatusOr<RequestClaimRow> ReadClaimRow(sqlite3_stmt* s) {
  RequestClaimRow r;
  KAGI_ASSIGN_OR_RETURN(
      r.key_id, ColumnDigest(s, 0, "sqlite: key_request_claims.key_id"));
  r.request_id = ColumnText(s, 1);
  KAGI_ASSIGN_OR_RETURN(
      r.node_key, ColumnDigest(s, 2, "sqlite: key_request_claims.node_key"));
  r.state = ColumnText(s, 3);
  r.claim = ColumnBytes(s, 4);
  return r;
}

// ReadVelocityAmount reads a kVelocityAmounts row.
absl::StatusOr<std::array<uint8_t, 32>> ReadVelocityAmount(sqlite3_stmt* s) {
  return ColumnDigest(s, 0, "sqlite: velocity.amount");
}

// ReadVelocityRow reads (request_id, scope, unix_time, amount).
absl::StatusOr<VelocityRow> ReadVelocityRow(sqlite3_stmt* s) {
  VelocityRow r;
  r.request_id = ColumnText(s, 0);
  r.reservation.scope = ColumnText(s, 1);
  r.reservation.unix_time = sqlite3_column_int64(s, 2);
  KAGI_ASSIGN_OR_RETURN(r.reservation.amount,
                        ColumnDigest(s, 3, "sqlite: velocity.amount"));
  return r;
}

}  // namespace

absl::string_view RequestStateName(RequestState state) {
  switch (state) {
    case RequestState::kInProgress:
      return "in_progress";
    case RequestState::kSucceeded:
      return "succeeded";
    case RequestState::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::Status SqliteStore::BeginRequest(absl::string_view request_id,
                                       absl::string_view operation,
                                       const std::array<uint8_t, 32>& digest,
                                       ByteSpan sid0, Durability durability,
                                       const Admission* admission) {
  static constexpr absl::string_view kOp = "BeginRequest";
  absl::MutexLock lock(&mu_);
  KAGI_RETURN_IF_ERROR(SetDurability(durability, kOp));
  // Every other write is synced: restore FULL whatever happens below.
  const Cleanup restore(
      [this] { SetDurability(Durability::kSynced, kOp).IgnoreError(); });
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kInsertSid0, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(sid0);
    absl::Status st = s.Run();
    if (absl::IsAlreadyExists(st)) {
      return absl::AlreadyExistsError(
          absl::StrCat("session ", HexEncode(sid0), " was already started"));
    }
    KAGI_RETURN_IF_ERROR(st);
  }
  bool exists = false;
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetRequest, kOp));
    Stmt s(this, raw, kOp);
    s.Text(request_id);
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      exists = true;
      KAGI_ASSIGN_OR_RETURN(RequestRecord rec, ReadRequestRow(raw));
      if (rec.request_digest != digest || rec.operation != operation) {
        return absl::AlreadyExistsError(
            absl::StrCat("request id '", request_id,
                         "' was already used for a different request"));
      }
      if (rec.state == RequestState::kSucceeded) {
        return absl::AlreadyExistsError(
            absl::StrCat("request '", request_id, "' was already completed"));
      }
    }
  }
  {
    KAGI_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(exists ? kRetryRequest : kInsertRequest, kOp));
    Stmt s(this, raw, kOp);
    if (exists) {
      s.Text(request_id);
    } else {
      s.Text(request_id).Text(operation).Blob(digest);
      if (admission != nullptr) {
        s.Blob(admission->key_id).Text(admission->initiator);
      } else {
        s.Blob({}).Text("");
      }
    }
    KAGI_RETURN_IF_ERROR(s.Run());
  }
  if (admission != nullptr) {
    for (const VelocityReservation& r : admission->reservations) {
      KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kReserveVelocity, kOp));
      Stmt s(this, raw, kOp);
      s.Text(request_id).Text(r.scope).Int(r.unix_time).Blob(r.amount);
      KAGI_RETURN_IF_ERROR(s.Run());
    }
    AuditEntry decision = admission->decision;
    decision.reservations = EncodeReservations(admission->reservations);
    KAGI_RETURN_IF_ERROR(AppendAuditLocked(std::move(decision), kOp).status());
  }
  return txn.Commit(kOp);
}

absl::StatusOr<std::vector<std::array<uint8_t, 32>>>
SqliteStore::VelocityAmounts(absl::string_view scope, int64_t since_unix,
                             absl::string_view except_request_id) {
  constexpr absl::string_view kOp = "VelocityAmounts";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kVelocityAmounts, kOp));
  Stmt s(this, raw, kOp);
  s.Text(scope).Int(since_unix).Text(except_request_id);
  return s.ReadAll(ReadVelocityAmount);
}

absl::StatusOr<AuditEntry> SqliteStore::FinishRequest(
    absl::string_view request_id, RequestState state, absl::string_view outcome,
    ByteSpan result, AuditEntry audit, Durability durability) {
  static constexpr absl::string_view kOp = "FinishRequest";
  absl::MutexLock lock(&mu_);
  KAGI_RETURN_IF_ERROR(SetDurability(durability, kOp));
  const Cleanup restore(
      [this] { SetDurability(Durability::kSynced, kOp).IgnoreError(); });
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kFinishRequest, kOp));
    Stmt s(this, raw, kOp);
    s.Text(RequestStateName(state)).Text(outcome).Blob(result).Text(request_id);
    KAGI_RETURN_IF_ERROR(s.Run());
    if (s.Changes() != 1) {
      // Unchanged: already succeeded (the outcome is still audited), or
      // unknown.
      KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * get, Prepare(kGetRequest, kOp));
      Stmt g(this, get, kOp);
      g.Text(request_id);
      KAGI_ASSIGN_OR_RETURN(bool row, g.Step());
      if (!row) {
        return absl::NotFoundError(
            absl::StrCat("FinishRequest: unknown request '", request_id, "'"));
      }
    }
  }
  KAGI_ASSIGN_OR_RETURN(AuditEntry stored,
                        AppendAuditLocked(std::move(audit), kOp));
  KAGI_RETURN_IF_ERROR(txn.Commit(kOp));
  return stored;
}

absl::StatusOr<RequestRecord> SqliteStore::GetRequest(
    absl::string_view request_id) {
  constexpr absl::string_view kOp = "GetRequest";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetRequest, kOp));
  Stmt s(this, raw, kOp);
  s.Text(request_id);
  KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("unknown request '", request_id, "'"));
  }
  return ReadRequestRow(raw);
}

absl::Status SqliteStore::PutRequestClaim(const RequestClaimRow& row) {
  static constexpr absl::string_view kOp = "PutRequestClaim";
  absl::MutexLock lock(&mu_);
  KAGI_RETURN_IF_ERROR(SetDurability(Durability::kCrashSafe, kOp));
  const Cleanup restore(
      [this] { SetDurability(Durability::kSynced, kOp).IgnoreError(); });
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kPutRequestClaim, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(row.key_id)
      .Text(row.request_id)
      .Blob(row.node_key)
      .Text(row.state)
      .Blob(row.claim);
  return s.Run();
}

absl::StatusOr<std::vector<RequestClaimRow>> SqliteStore::GetRequestClaims(
    const std::array<uint8_t, 32>& key_id, absl::string_view request_id) {
  constexpr absl::string_view kOp = "GetRequestClaims";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetRequestClaims, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(key_id).Text(request_id);
  return s.ReadAll(ReadClaimRow);
}

absl::StatusOr<std::vector<RequestClaimRow>> SqliteStore::GetClaimsInState(
    const std::array<uint8_t, 32>& node_key, absl::string_view state) {
  constexpr absl::string_view kOp = "GetClaimsInState";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetClaimsInState, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(node_key).Text(state);
  return s.ReadAll(ReadClaimRow);
}

absl::StatusOr<std::vector<VelocityRow>> SqliteStore::ReadVelocity() {
  constexpr absl::string_view kOp = "ReadVelocity";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kReadVelocity, kOp));
  Stmt s(this, raw, kOp);
  return s.ReadAll(ReadVelocityRow);
}

}  // namespace kagi::storage
