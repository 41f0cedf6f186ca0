// SqliteStore: schema and migrations (sqlite_internal.h lists the files).
#include <sqlite3.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/storage/sqlite_internal.h"
#include "libs/storage/sqlite_store.h"

namespace kagi::storage {

using namespace sqlite_internal;  // NOLINT: the store's own helpers

namespace {

// The schema version this binary writes (PRAGMA user_version in kSchema).
constexpr int64_t kSchemaVersion = 5;

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

}  // namespace

absl::StatusOr<int64_t> SqliteStore::QueryIntLocked(const char* sql,
                                                    absl::string_view op) {
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(sql, "open"));
  Stmt s(this, raw, op);
  KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? sqlite3_column_int64(raw, 0) : 0;
}

absl::Status SqliteStore::MigrateSchemaLocked(absl::string_view path) {
  Txn txn(db_);
  KAGI_RETURN_IF_ERROR(txn.Begin("open: schema"));
  KAGI_ASSIGN_OR_RETURN(
      const int64_t version,
      QueryIntLocked("PRAGMA user_version", "open: user_version"));
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("sqlite: open ", path, ": schema version ", version,
                     " is newer than this binary's (", kSchemaVersion, ")"));
  }
  bool audit_v3 = false;  // an audit table without the v4 columns
  if (version == 2 || version == 3) {
    KAGI_ASSIGN_OR_RETURN(
        const int64_t v3_shape,
        QueryIntLocked(kAuditHasV3Shape, "open: audit columns"));
    audit_v3 = v3_shape != 0;
  }
  if (audit_v3) {
    KAGI_RETURN_IF_ERROR(Exec(kMigrateAuditV4, "open: migrate audit to v4"));
  }
  if (version == 2) {
    KAGI_RETURN_IF_ERROR(
        Exec(kMigrateSharesV2Aside, "open: migrate shares to v3"));
  }
  KAGI_RETURN_IF_ERROR(Exec(kSchema, "open: schema"));
  KAGI_RETURN_IF_ERROR(
      Exec(kSchemaRequestClaims, "open: schema request_claims"));
  KAGI_ASSIGN_OR_RETURN(
      const int64_t has_owner,
      QueryIntLocked(kRequestsHaveOwner, "open: requests columns"));
  if (has_owner == 0) {
    KAGI_RETURN_IF_ERROR(
        Exec(kMigrateRequestsV5, "open: migrate requests to v5"));
  }
  if (version == 2) {
    KAGI_RETURN_IF_ERROR(
        Exec(kMigrateSharesV2Rows, "open: migrate shares to v3"));
  }
  return txn.Commit("open: schema");
}

}  // namespace kagi::storage
