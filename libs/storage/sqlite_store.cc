#include "libs/storage/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/status_macros.h"

namespace kagi::storage {

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

namespace {

std::optional<ShareState> ShareStateFromName(absl::string_view name) {
  for (ShareState s :
       {ShareState::kPending, ShareState::kActive, ShareState::kRetired}) {
    if (ShareStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::optional<RequestState> RequestStateFromName(absl::string_view name) {
  for (RequestState s : {RequestState::kInProgress, RequestState::kSucceeded,
                         RequestState::kFailed}) {
    if (RequestStateName(s) == name) return s;
  }
  return std::nullopt;
}

constexpr int kBusyTimeoutMs = 10000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS shares (
  key_id BLOB NOT NULL,
  epoch INTEGER NOT NULL,
  sid BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('PENDING', 'ACTIVE', 'RETIRED')),
  sealed BLOB NOT NULL,
  certificate BLOB NOT NULL DEFAULT x'',
  evidence BLOB NOT NULL DEFAULT x'',
  PRIMARY KEY (key_id, epoch, sid)
);
CREATE UNIQUE INDEX IF NOT EXISTS shares_one_active
  ON shares (key_id) WHERE state = 'ACTIVE';
CREATE TABLE IF NOT EXISTS sid0s (
  sid0 BLOB PRIMARY KEY,
  started_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
  request_id TEXT PRIMARY KEY,
  operation TEXT NOT NULL,
  request_digest BLOB NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('in_progress', 'succeeded', 'failed')),
  outcome TEXT NOT NULL,
  result BLOB NOT NULL,
  attempts INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  key_id BLOB NOT NULL DEFAULT x'',
  initiator TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS presignatures (
  id BLOB PRIMARY KEY,
  key_id BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('UNUSED', 'CONSUMED')),
  sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS bans (
  party_key BLOB PRIMARY KEY,
  reason TEXT NOT NULL,
  banned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  unix_time INTEGER NOT NULL,
  operation TEXT NOT NULL,
  request_id TEXT NOT NULL,
  parties TEXT NOT NULL,
  outcome TEXT NOT NULL,
  signature BLOB NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL,
  reservations TEXT NOT NULL DEFAULT '',
  anchors TEXT NOT NULL DEFAULT '',
  head_signature BLOB NOT NULL DEFAULT x''
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS velocity (
  request_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  unix_time INTEGER NOT NULL,
  amount BLOB NOT NULL,
  PRIMARY KEY (request_id, scope)
);
CREATE INDEX IF NOT EXISTS velocity_by_scope ON velocity (scope, unix_time);
CREATE TABLE IF NOT EXISTS kek_check (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sealed BLOB NOT NULL
);
PRAGMA user_version = 5;
)sql";

// Request claims (services/node/request_claims.h): what each member of a
// key's committee said about a request id of that key. Additive (created
// where missing, whatever the schema version). The first table of claims,
// keyed by request id alone and holding claims without evidence, is dropped:
// no claim in it would be accepted today.
constexpr const char* kSchemaRequestClaims = R"sql(
DROP TABLE IF EXISTS request_claims;
CREATE TABLE IF NOT EXISTS key_request_claims (
  key_id BLOB NOT NULL,
  request_id TEXT NOT NULL,
  node_key BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('admitted', 'succeeded', 'failed')),
  claim BLOB NOT NULL,
  PRIMARY KEY (key_id, request_id, node_key)
);
)sql";

// Version 4 -> 5: a request record names its key and its initiator (the
// client GetRequestStatus answers). Rows recorded before have neither.
constexpr const char* kRequestsHaveOwner =
    "SELECT COUNT(*) FROM pragma_table_info('requests') WHERE name = "
    "'initiator'";
constexpr const char* kMigrateRequestsV5 = R"sql(
ALTER TABLE requests ADD COLUMN key_id BLOB NOT NULL DEFAULT x'';
ALTER TABLE requests ADD COLUMN initiator TEXT NOT NULL DEFAULT '';
)sql";

// Version 2 -> 3: shares are keyed by (key id, epoch, session id), so that a
// PENDING share from an aborted session is kept beside a later session's,
// and carry the certificate that activated them and the acknowledgements
// seen. The old table is renamed, kSchema creates the new one, and the rows
// move over.
constexpr const char* kMigrateSharesV2Aside = R"sql(
ALTER TABLE shares RENAME TO shares_v2;
DROP INDEX IF EXISTS shares_one_active;
)sql";
constexpr const char* kMigrateSharesV2Rows = R"sql(
INSERT INTO shares (key_id, epoch, sid, state, sealed)
  SELECT key_id, epoch, x'', state, sealed FROM shares_v2;
DROP TABLE shares_v2;
)sql";

// Version 3 -> 4: audit records carry the velocity reservations they
// admitted, the peers' signed heads (anchors) and the node's signature over
// the chain head (audit.h). Records written before stay unsigned: a node
// starts over them only with its operator's override (docs/deploy.md).
constexpr const char* kMigrateAuditV4 = R"sql(
ALTER TABLE audit ADD COLUMN reservations TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN anchors TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN head_signature BLOB NOT NULL DEFAULT x'';
)sql";

constexpr const char* kAuditHasV3Shape =
    "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
    "name = 'audit') AND NOT EXISTS (SELECT 1 FROM pragma_table_info('audit') "
    "WHERE name = 'head_signature')";

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
constexpr const char* kInsertSid0 =
    "INSERT INTO sid0s (sid0, started_at) VALUES (?, "
    "CAST(strftime('%s', 'now') AS INTEGER))";
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
constexpr const char* kInsertConsumedPresig =
    "INSERT INTO presignatures (id, key_id, state, sealed) VALUES (?, ?, "
    "'CONSUMED', x'')";
constexpr const char* kCountPresigs = "SELECT COUNT(*) FROM presignatures";
constexpr const char* kInsertPresig =
    "INSERT INTO presignatures (id, key_id, state, sealed) VALUES (?, ?, "
    "'UNUSED', ?)";
constexpr const char* kPresigState =
    "SELECT state, sealed FROM presignatures WHERE id = ?";
constexpr const char* kConsumePresig =
    "UPDATE presignatures SET state = 'CONSUMED', sealed = x'' WHERE id = ? "
    "AND state = 'UNUSED'";
constexpr const char* kInsertBan =
    "INSERT OR IGNORE INTO bans (party_key, reason, banned_at) VALUES (?, ?, "
    "?)";
constexpr const char* kReadBans =
    "SELECT party_key, reason, banned_at FROM bans ORDER BY party_key";
constexpr const char* kRestoreVelocity =
    "INSERT OR REPLACE INTO velocity (request_id, scope, unix_time, amount) "
    "VALUES (?, ?, ?, ?)";
constexpr const char* kIsBanned = "SELECT 1 FROM bans WHERE party_key = ?";
constexpr const char* kDeleteBan = "DELETE FROM bans WHERE party_key = ?";
constexpr const char* kReserveVelocity =
    "INSERT OR IGNORE INTO velocity (request_id, scope, unix_time, amount) "
    "VALUES (?, ?, ?, ?)";
constexpr const char* kVelocityAmounts =
    "SELECT amount FROM velocity WHERE scope = ? AND unix_time >= ? AND "
    "request_id != ?";
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
constexpr const char* kGetKekCheck =
    "SELECT sealed FROM kek_check WHERE id = 1";
constexpr const char* kPutKekCheck =
    "INSERT INTO kek_check (id, sealed) VALUES (1, ?)";
constexpr const char* kReadVelocity =
    "SELECT request_id, scope, unix_time, amount FROM velocity ORDER BY "
    "request_id, scope";

absl::Status MapError(sqlite3* db, int rc, absl::string_view op) {
  const std::string msg =
      absl::StrCat("sqlite: ", op, ": ",
                   db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return absl::PermissionDeniedError(msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// A zero-length blob must be bound with a non-null pointer, or SQLite stores
// NULL (which the NOT NULL columns refuse).
const void* BlobPtr(ByteSpan b) {
  static const uint8_t kEmpty = 0;
  return b.empty() ? static_cast<const void*>(&kEmpty)
                   : static_cast<const void*>(b.data());
}

Bytes ColumnBytes(sqlite3_stmt* s, int col) {
  const void* p = sqlite3_column_blob(s, col);
  const int n = sqlite3_column_bytes(s, col);
  if (p == nullptr || n <= 0) return Bytes();
  const auto* u = static_cast<const uint8_t*>(p);
  return Bytes(u, u + n);
}

std::string ColumnText(sqlite3_stmt* s, int col) {
  const unsigned char* p = sqlite3_column_text(s, col);
  const int n = sqlite3_column_bytes(s, col);
  if (p == nullptr || n <= 0) return std::string();
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

// Copies a 32-byte column; a wrong length (tampered DB) yields DataLoss.
absl::StatusOr<std::array<uint8_t, 32>> ColumnDigest(sqlite3_stmt* s, int col,
                                                     absl::string_view what) {
  const Bytes b = ColumnBytes(s, col);
  std::array<uint8_t, 32> out{};
  if (b.size() != out.size()) {
    return absl::DataLossError(
        absl::StrCat(what, " is ", b.size(), " bytes, expected 32"));
  }
  std::memcpy(out.data(), b.data(), out.size());
  return out;
}

}  // namespace

// Stmt binds and steps one cached prepared statement, and resets it (and
// clears its bindings) when it goes out of scope.
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

class SqliteStore::Stmt {
 public:
  Stmt(SqliteStore* store, sqlite3_stmt* stmt, absl::string_view op)
      : store_(store), stmt_(stmt), op_(op) {}
  ~Stmt() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Blob(ByteSpan b) {
    Check(sqlite3_bind_blob(stmt_, ++idx_, BlobPtr(b),
                            static_cast<int>(b.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& Text(absl::string_view t) {
    Check(sqlite3_bind_text(stmt_, ++idx_, t.empty() ? "" : t.data(),
                            static_cast<int>(t.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& Int(int64_t v) {
    Check(sqlite3_bind_int64(stmt_, ++idx_, v));
    return *this;
  }

  // Step returns true for a row, false when done.
  absl::StatusOr<bool> Step() {
    if (rc_ != SQLITE_OK) return store_->Error(rc_, op_);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return store_->Error(rc, op_);
  }
  // Run steps a statement that returns no rows.
  absl::Status Run() { return Step().status(); }

  int Changes() const { return sqlite3_changes(store_->db_); }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && rc_ == SQLITE_OK) rc_ = rc;
  }
  SqliteStore* store_;
  sqlite3_stmt* stmt_;
  absl::string_view op_;
  int idx_ = 0;
  int rc_ = SQLITE_OK;
};

namespace {

// Txn runs BEGIN IMMEDIATE and rolls back on destruction unless committed.
// Cleanup runs `f` when it goes out of scope.
class Cleanup {
 public:
  explicit Cleanup(std::function<void()> f) : f_(std::move(f)) {}
  ~Cleanup() { f_(); }
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;

 private:
  std::function<void()> f_;
};

class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  ~Txn() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  absl::Status Begin(absl::string_view op) {
    const int rc =
        sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return MapError(db_, rc, absl::StrCat(op, ": begin"));
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status Commit(absl::string_view op) {
    const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return MapError(db_, rc, absl::StrCat(op, ": commit"));
    open_ = false;
    return absl::OkStatus();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::OpenReadOnly(
    absl::string_view path) {
  sqlite3* db = nullptr;
  const std::string p(path);
  const int rc = sqlite3_open_v2(
      p.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = MapError(db, rc, absl::StrCat("open ", p));
    sqlite3_close(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return std::unique_ptr<SqliteStore>(new SqliteStore(db));
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    absl::string_view path) {
  sqlite3* db = nullptr;
  const std::string p(path);
  const int rc = sqlite3_open_v2(
      p.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = MapError(db, rc, absl::StrCat("open ", p));
    sqlite3_close(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  absl::MutexLock lock(&store->mu_);
  KAGI_RETURN_IF_ERROR(
      store->Exec("PRAGMA journal_mode = WAL", "open: journal_mode"));
  KAGI_RETURN_IF_ERROR(
      store->Exec("PRAGMA synchronous = FULL", "open: synchronous"));
  {
    Txn txn(db);
    KAGI_RETURN_IF_ERROR(txn.Begin("open: schema"));
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          store->Prepare("PRAGMA user_version", "open"));
    int64_t version = 0;
    {
      Stmt v(store.get(), raw, "open: user_version");
      KAGI_ASSIGN_OR_RETURN(bool row, v.Step());
      version = row ? sqlite3_column_int64(raw, 0) : 0;
    }
    if (version > 5) {
      return absl::FailedPreconditionError(
          absl::StrCat("sqlite: open ", p, ": schema version ", version,
                       " is newer than this binary's (5)"));
    }
    bool audit_v3 = false;  // an audit table without the v4 columns
    if (version == 2 || version == 3) {
      KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * shape,
                            store->Prepare(kAuditHasV3Shape, "open"));
      Stmt v(store.get(), shape, "open: audit columns");
      KAGI_ASSIGN_OR_RETURN(bool row, v.Step());
      audit_v3 = row && sqlite3_column_int64(shape, 0) != 0;
    }
    if (audit_v3) {
      KAGI_RETURN_IF_ERROR(
          store->Exec(kMigrateAuditV4, "open: migrate audit to v4"));
    }
    if (version == 2) {
      KAGI_RETURN_IF_ERROR(
          store->Exec(kMigrateSharesV2Aside, "open: migrate shares to v3"));
    }
    KAGI_RETURN_IF_ERROR(store->Exec(kSchema, "open: schema"));
    KAGI_RETURN_IF_ERROR(
        store->Exec(kSchemaRequestClaims, "open: schema request_claims"));
    {
      KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * shape,
                            store->Prepare(kRequestsHaveOwner, "open"));
      bool has_owner = false;
      {
        Stmt v(store.get(), shape, "open: requests columns");
        KAGI_ASSIGN_OR_RETURN(bool row, v.Step());
        has_owner = row && sqlite3_column_int64(shape, 0) != 0;
      }
      if (!has_owner) {
        KAGI_RETURN_IF_ERROR(
            store->Exec(kMigrateRequestsV5, "open: migrate requests to v5"));
      }
    }
    if (version == 2) {
      KAGI_RETURN_IF_ERROR(
          store->Exec(kMigrateSharesV2Rows, "open: migrate shares to v3"));
    }
    KAGI_RETURN_IF_ERROR(txn.Commit("open: schema"));
  }
  // journal_mode=WAL silently stays "memory"/"delete" where WAL is not
  // possible; refuse to run without it.
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          store->Prepare("PRAGMA journal_mode", "open"));
    Stmt s(store.get(), raw, "open: journal_mode");
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    const std::string mode = row ? ColumnText(raw, 0) : "";
    if (absl::AsciiStrToLower(mode) != "wal") {
      return absl::FailedPreconditionError(absl::StrCat(
          "sqlite: open ", p, ": journal_mode is '", mode, "', need WAL"));
    }
  }
  return store;
}

SqliteStore::~SqliteStore() {
  absl::MutexLock lock(&mu_);
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  stmts_.clear();
  sqlite3_close(db_);
}

absl::Status SqliteStore::Error(int rc, absl::string_view op) const {
  return MapError(db_, rc, op);
}

absl::Status SqliteStore::Exec(const char* sql, absl::string_view op) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    absl::Status s = MapError(db_, rc, op);
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite3_stmt*> SqliteStore::Prepare(const char* sql,
                                                   absl::string_view op) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return MapError(db_, rc, absl::StrCat(op, ": prepare"));
  }
  stmts_.emplace(sql, stmt);
  return stmt;
}

absl::StatusOr<std::string> SqliteStore::PragmaValue(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  const std::string sql = absl::StrCat("PRAGMA ", name);
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return MapError(db_, rc, sql);
  }
  std::string out;
  rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) out = ColumnText(raw, 0);
  sqlite3_finalize(raw);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return MapError(db_, rc, sql);
  return out;
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
  std::vector<ShareRecord> out;
  while (true) {
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    KAGI_ASSIGN_OR_RETURN(ShareRecord rec, ReadShareRow(raw));
    out.push_back(std::move(rec));
  }
  return out;
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
  std::vector<ShareRecord> out;
  while (true) {
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    KAGI_ASSIGN_OR_RETURN(ShareRecord rec, ReadShareRow(raw));
    out.push_back(std::move(rec));
  }
  return out;
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

absl::Status SqliteStore::SetDurability(Durability d, absl::string_view op) {
  return Exec(d == Durability::kSynced ? "PRAGMA synchronous = FULL"
                                       : "PRAGMA synchronous = NORMAL",
              op);
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
  using Amount = std::array<uint8_t, 32>;
  constexpr absl::string_view kOp = "VelocityAmounts";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kVelocityAmounts, kOp));
  Stmt s(this, raw, kOp);
  s.Text(scope).Int(since_unix).Text(except_request_id);
  std::vector<Amount> out;
  while (true) {
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    KAGI_ASSIGN_OR_RETURN(Amount amount,
                          ColumnDigest(raw, 0, "sqlite: velocity.amount"));
    out.push_back(amount);
  }
  return out;
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

absl::StatusOr<std::vector<RequestClaimRow>> SqliteStore::ReadClaimRows(
    Stmt& s, sqlite3_stmt* raw) {
  std::vector<RequestClaimRow> out;
  while (true) {
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    RequestClaimRow r;
    KAGI_ASSIGN_OR_RETURN(
        r.key_id, ColumnDigest(raw, 0, "sqlite: key_request_claims.key_id"));
    r.request_id = ColumnText(raw, 1);
    KAGI_ASSIGN_OR_RETURN(
        r.node_key,
        ColumnDigest(raw, 2, "sqlite: key_request_claims.node_key"));
    r.state = ColumnText(raw, 3);
    r.claim = ColumnBytes(raw, 4);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<RequestClaimRow>> SqliteStore::GetRequestClaims(
    const std::array<uint8_t, 32>& key_id, absl::string_view request_id) {
  constexpr absl::string_view kOp = "GetRequestClaims";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetRequestClaims, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(key_id).Text(request_id);
  return ReadClaimRows(s, raw);
}

absl::StatusOr<std::vector<RequestClaimRow>> SqliteStore::GetClaimsInState(
    const std::array<uint8_t, 32>& node_key, absl::string_view state) {
  constexpr absl::string_view kOp = "GetClaimsInState";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetClaimsInState, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(node_key).Text(state);
  return ReadClaimRows(s, raw);
}

absl::StatusOr<std::vector<absl::Status>>
SqliteStore::MarkPresignaturesConsumed(
    const std::vector<PresignatureMark>& marks) {
  constexpr absl::string_view kOp = "MarkPresignaturesConsumed";
  absl::MutexLock lock(&mu_);
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  std::vector<absl::Status> out;
  out.reserve(marks.size());
  for (const PresignatureMark& mark : marks) {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(kInsertConsumedPresig, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(mark.first).Blob(mark.second);
    absl::Status st = s.Run();
    if (absl::IsAlreadyExists(st)) {
      out.push_back(
          absl::FailedPreconditionError("presignature already consumed"));
      continue;
    }
    KAGI_RETURN_IF_ERROR(st);
    out.push_back(absl::OkStatus());
  }
  KAGI_RETURN_IF_ERROR(txn.Commit(kOp));
  return out;
}

absl::StatusOr<uint64_t> SqliteStore::CountPresignatures() {
  constexpr absl::string_view kOp = "CountPresignatures";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kCountPresigs, kOp));
  Stmt s(this, raw, kOp);
  KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::InternalError("CountPresignatures: no row");
  return static_cast<uint64_t>(sqlite3_column_int64(raw, 0));
}

absl::Status SqliteStore::PutPresignature(ByteSpan id, const KeyId& key_id,
                                          ByteSpan sealed) {
  constexpr absl::string_view kOp = "PutPresignature";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kInsertPresig, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(id).Blob(key_id).Blob(sealed);
  return s.Run();
}

absl::StatusOr<Bytes> SqliteStore::ConsumePresignature(ByteSpan id) {
  constexpr absl::string_view kOp = "ConsumePresignature";
  absl::MutexLock lock(&mu_);
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin(kOp));
  Bytes sealed;
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kPresigState, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(id);
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row)
      return absl::NotFoundError("ConsumePresignature: unknown presignature");
    if (ColumnText(raw, 0) != "UNUSED") {
      return absl::FailedPreconditionError("presignature already consumed");
    }
    sealed = ColumnBytes(raw, 1);
  }
  {
    KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kConsumePresig, kOp));
    Stmt s(this, raw, kOp);
    s.Blob(id);
    KAGI_RETURN_IF_ERROR(s.Run());
    if (s.Changes() != 1) {
      return absl::FailedPreconditionError("presignature already consumed");
    }
  }
  KAGI_RETURN_IF_ERROR(txn.Commit(kOp));
  return sealed;
}

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
  std::vector<BanRow> out;
  while (true) {
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    BanRow r;
    const auto* key = static_cast<const uint8_t*>(sqlite3_column_blob(raw, 0));
    r.party_key.assign(key, key + sqlite3_column_bytes(raw, 0));
    r.reason = ColumnText(raw, 1);
    r.unix_time = sqlite3_column_int64(raw, 2);
    out.push_back(std::move(r));
  }
  return out;
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
  std::vector<AuditEntry> out;
  while (true) {
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    AuditEntry e;
    e.seq = static_cast<uint64_t>(sqlite3_column_int64(raw, 0));
    e.unix_time = sqlite3_column_int64(raw, 1);
    e.operation = ColumnText(raw, 2);
    e.request_id = ColumnText(raw, 3);
    e.parties = ColumnText(raw, 4);
    e.outcome = ColumnText(raw, 5);
    e.signature = ColumnBytes(raw, 6);
    // A field of the wrong length is a broken chain at this seq.
    KAGI_ASSIGN_OR_RETURN(
        e.prev_hash, ColumnDigest(raw, 7,
                                  absl::StrCat("audit chain broken at seq ",
                                               e.seq, ": prev_hash")));
    KAGI_ASSIGN_OR_RETURN(
        e.hash, ColumnDigest(raw, 8,
                             absl::StrCat("audit chain broken at seq ", e.seq,
                                          ": hash")));
    e.reservations = ColumnText(raw, 9);
    e.anchors = ColumnText(raw, 10);
    e.head_signature = ColumnBytes(raw, 11);
    out.push_back(std::move(e));
  }
  return out;
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

absl::StatusOr<Bytes> SqliteStore::GetKekCheck() {
  constexpr absl::string_view kOp = "GetKekCheck";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kGetKekCheck, kOp));
  Stmt s(this, raw, kOp);
  KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("no KEK check value stored");
  return ColumnBytes(raw, 0);
}

absl::Status SqliteStore::PutKekCheck(ByteSpan sealed) {
  constexpr absl::string_view kOp = "PutKekCheck";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kPutKekCheck, kOp));
  Stmt s(this, raw, kOp);
  s.Blob(sealed);
  return s.Run();
}

absl::StatusOr<std::vector<VelocityRow>> SqliteStore::ReadVelocity() {
  constexpr absl::string_view kOp = "ReadVelocity";
  absl::MutexLock lock(&mu_);
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kReadVelocity, kOp));
  Stmt s(this, raw, kOp);
  std::vector<VelocityRow> out;
  while (true) {
    KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    VelocityRow r;
    r.request_id = ColumnText(raw, 0);
    r.reservation.scope = ColumnText(raw, 1);
    r.reservation.unix_time = sqlite3_column_int64(raw, 2);
    KAGI_ASSIGN_OR_RETURN(r.reservation.amount,
                          ColumnDigest(raw, 3, "sqlite: velocity.amount"));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace kagi::storage
