// SqliteStore: presignatures (sqlite_internal.h lists the files).
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

}  // namespace

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

}  // namespace kagi::storage
