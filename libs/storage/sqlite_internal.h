// File: libs/storage/sqlite_internal.h
//
// What the files of SqliteStore share (not part of the library's API):
// the SQLite error mapping, column readers, the cached-statement cursor
// (SqliteStore::Stmt), the transaction guard and the statements more than one
// file runs. The store is split by concern:
//   sqlite_store.cc          open, connection, pragmas, KEK check value
//   sqlite_schema.cc         schema and migrations
//   sqlite_shares.cc         key shares and session ids
//   sqlite_requests.cc       requests, velocity, request claims
//   sqlite_presignatures.cc  presignatures
//   sqlite_audit.cc          the audit log and the rows it signs
//   sqlite_bans.cc           banned parties
#ifndef KAGI_LIBS_STORAGE_SQLITE_INTERNAL_H_
#define KAGI_LIBS_STORAGE_SQLITE_INTERNAL_H_

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"
#include "libs/storage/sqlite_store.h"

namespace kagi::storage {
namespace sqlite_internal {

// Statements are cached by pointer, so each must be a single named constant;
// one used by several files is defined here (inline: one address).
inline constexpr const char* kInsertSid0 =
    "INSERT INTO sid0s (sid0, started_at) VALUES (?, "
    "CAST(strftime('%s', 'now') AS INTEGER))";

// MapError turns a SQLite result code into a status naming `op`.
absl::Status MapError(sqlite3* db, int rc, absl::string_view op);

// A zero-length blob must be bound with a non-null pointer, or SQLite stores
// NULL (which the NOT NULL columns refuse).
const void* BlobPtr(ByteSpan b);

Bytes ColumnBytes(sqlite3_stmt* s, int col);
std::string ColumnText(sqlite3_stmt* s, int col);
// ColumnDigest copies a 32-byte column; a wrong length (tampered DB) yields
// DataLoss naming `what`.
absl::StatusOr<std::array<uint8_t, 32>> ColumnDigest(sqlite3_stmt* s, int col,
                                                     absl::string_view what);

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

// Txn runs BEGIN IMMEDIATE and rolls back on destruction unless committed.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  ~Txn() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  absl::Status Begin(absl::string_view op);
  absl::Status Commit(absl::string_view op);

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace sqlite_internal

// Stmt binds and steps one cached prepared statement, and resets it (and
// clears its bindings) when it goes out of scope.
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
    Check(sqlite3_bind_blob(stmt_, ++idx_, sqlite_internal::BlobPtr(b),
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

  // ReadAll steps through every row and reads each with `read_row`, the one
  // reader of that row shape.
  template <typename Row>
  absl::StatusOr<std::vector<Row>> ReadAll(
      absl::StatusOr<Row> (*read_row)(sqlite3_stmt*)) {
    std::vector<Row> out;
    while (true) {
      KAGI_ASSIGN_OR_RETURN(bool row, Step());
      if (!row) return out;
      KAGI_ASSIGN_OR_RETURN(Row r, read_row(stmt_));
      out.push_back(std::move(r));
    }
  }

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

}  // namespace kagi::storage

#endif  // KAGI_LIBS_STORAGE_SQLITE_INTERNAL_H_
