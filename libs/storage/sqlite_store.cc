#include "libs/storage/sqlite_store.h"

#include <sqlite3.h>

#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/storage/sqlite_internal.h"

namespace kagi::storage {
namespace sqlite_internal {

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

absl::Status Txn::Begin(absl::string_view op) {
  const int rc =
      sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return MapError(db_, rc, absl::StrCat(op, ": begin"));
  open_ = true;
  return absl::OkStatus();
}

absl::Status Txn::Commit(absl::string_view op) {
  const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return MapError(db_, rc, absl::StrCat(op, ": commit"));
  open_ = false;
  return absl::OkStatus();
}

}  // namespace sqlite_internal

using namespace sqlite_internal;  // NOLINT: the store's own helpers

namespace {

constexpr int kBusyTimeoutMs = 10000;

constexpr const char* kGetKekCheck =
    "SELECT sealed FROM kek_check WHERE id = 1";
constexpr const char* kPutKekCheck =
    "INSERT INTO kek_check (id, sealed) VALUES (1, ?)";

// OpenConnection opens `path` with `flags`, extended result codes and the
// busy timeout.
absl::StatusOr<sqlite3*> OpenConnection(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = MapError(db, rc, absl::StrCat("open ", path));
    sqlite3_close(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return db;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::OpenReadOnly(
    absl::string_view path) {
  KAGI_ASSIGN_OR_RETURN(
      sqlite3 * db, OpenConnection(std::string(path),
                                   SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX));
  return std::unique_ptr<SqliteStore>(new SqliteStore(db));
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    absl::string_view path) {
  const std::string p(path);
  KAGI_ASSIGN_OR_RETURN(
      sqlite3 * db,
      OpenConnection(
          p, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX));
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  absl::MutexLock lock(&store->mu_);
  KAGI_RETURN_IF_ERROR(
      store->Exec("PRAGMA journal_mode = WAL", "open: journal_mode"));
  KAGI_RETURN_IF_ERROR(
      store->Exec("PRAGMA synchronous = FULL", "open: synchronous"));
  KAGI_RETURN_IF_ERROR(store->MigrateSchemaLocked(p));
  KAGI_RETURN_IF_ERROR(store->CheckWalLocked(p));
  return store;
}

absl::Status SqliteStore::CheckWalLocked(absl::string_view path) {
  // journal_mode=WAL silently stays "memory"/"delete" where WAL is not
  // possible; refuse to run without it.
  KAGI_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                        Prepare("PRAGMA journal_mode", "open"));
  Stmt s(this, raw, "open: journal_mode");
  KAGI_ASSIGN_OR_RETURN(bool row, s.Step());
  const std::string mode = row ? ColumnText(raw, 0) : "";
  if (absl::AsciiStrToLower(mode) != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "sqlite: open ", path, ": journal_mode is '", mode, "', need WAL"));
  }
  return absl::OkStatus();
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

absl::Status SqliteStore::SetDurability(Durability d, absl::string_view op) {
  return Exec(d == Durability::kSynced ? "PRAGMA synchronous = FULL"
                                       : "PRAGMA synchronous = NORMAL",
              op);
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

}  // namespace kagi::storage
