// File: libs/storage/sqlite_store.h
//
// SqliteStore: the embedded Store backend. One connection per object, guarded
// by a mutex; several SqliteStore objects (or processes) may open the same
// file, and BEGIN IMMEDIATE plus a busy timeout serialise their writes.
//
// The database runs with journal_mode=WAL and synchronous=FULL (NORMAL for
// the writes a caller marks Durability::kCrashSafe, store.h), so a
// committed transaction survives power loss. Every multi-step change runs in
// BEGIN IMMEDIATE ... COMMIT (rolled back on any error). SQLite errors are
// mapped to absl statuses whose message names the operation
// ("sqlite: ConsumePresignature: database is locked").
#ifndef KAGI_LIBS_STORAGE_SQLITE_STORE_H_
#define KAGI_LIBS_STORAGE_SQLITE_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "libs/storage/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kagi::storage {

class SqliteStore final : public Store {
 public:
  // Open opens (creating if absent) the database at `path` and its schema.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      absl::string_view path);
  // OpenReadOnly opens an existing database for reading only (no schema,
  // no pragma written): for inspection, e.g. `kagictl audit verify`, which
  // must not change what it checks. Every write method then fails.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> OpenReadOnly(
      absl::string_view path);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  absl::Status PutShare(const KeyId& key_id, uint64_t epoch, ShareState state,
                        ByteSpan sealed, ByteSpan sid = {}) override;
  absl::Status ActivateShare(const KeyId& key_id, uint64_t epoch,
                             ByteSpan sid = {},
                             ByteSpan certificate = {}) override;
  absl::Status RetireShares(const KeyId& key_id, uint64_t max_epoch) override;
  absl::Status SetShareEvidence(const KeyId& key_id, uint64_t epoch,
                                ByteSpan sid, ByteSpan evidence) override;
  absl::StatusOr<std::vector<ShareRecord>> GetPendingShares(
      const KeyId& key_id, uint64_t epoch) override;
  absl::StatusOr<int> RetirePendingShares(const KeyId& key_id,
                                          uint64_t epoch) override;
  absl::StatusOr<StoredShare> GetActiveShare(const KeyId& key_id) override;
  absl::StatusOr<std::vector<ShareRecord>> ListShares() override;
  absl::StatusOr<ShareRecord> GetShare(const KeyId& key_id,
                                       uint64_t epoch) override;
  absl::Status RecordSid0(ByteSpan sid0) override;
  absl::Status BeginRequest(absl::string_view request_id,
                            absl::string_view operation,
                            const std::array<uint8_t, 32>& digest,
                            ByteSpan sid0, Durability durability,
                            const Admission* admission = nullptr) override;
  absl::StatusOr<std::vector<std::array<uint8_t, 32>>> VelocityAmounts(
      absl::string_view scope, int64_t since_unix,
      absl::string_view except_request_id = "") override;
  absl::StatusOr<AuditEntry> FinishRequest(absl::string_view request_id,
                                           RequestState state,
                                           absl::string_view outcome,
                                           ByteSpan result, AuditEntry audit,
                                           Durability durability) override;
  absl::Status PutRequestClaim(const RequestClaimRow& row) override;
  absl::StatusOr<std::vector<RequestClaimRow>> GetRequestClaims(
      const std::array<uint8_t, 32>& key_id,
      absl::string_view request_id) override;
  absl::StatusOr<std::vector<RequestClaimRow>> GetClaimsInState(
      const std::array<uint8_t, 32>& node_key,
      absl::string_view state) override;
  absl::StatusOr<RequestRecord> GetRequest(
      absl::string_view request_id) override;
  absl::StatusOr<std::vector<absl::Status>> MarkPresignaturesConsumed(
      const std::vector<PresignatureMark>& marks) override;
  absl::StatusOr<uint64_t> CountPresignatures() override;
  absl::Status PutPresignature(ByteSpan id, const KeyId& key_id,
                               ByteSpan sealed) override;
  absl::StatusOr<Bytes> ConsumePresignature(ByteSpan id) override;
  absl::Status AddBan(ByteSpan party_key, absl::string_view reason) override;
  absl::StatusOr<bool> IsBanned(ByteSpan party_key) override;
  absl::StatusOr<bool> LiftBan(ByteSpan party_key,
                               absl::string_view reason) override;
  absl::StatusOr<AuditEntry> AppendAudit(AuditEntry entry) override;
  absl::StatusOr<std::vector<AuditEntry>> ReadAudit() override;
  void SetAuditKey(const crypto::Ed25519PrivateKey* key) override;
  absl::StatusOr<AuditHead> LatestHead() override;
  absl::StatusOr<std::vector<VelocityRow>> ReadVelocity() override;
  absl::StatusOr<std::vector<BanRow>> ReadBans() override;
  absl::Status RestoreSignedRows(const std::vector<AuditEntry>& log) override;
  absl::StatusOr<Bytes> GetKekCheck() override;
  absl::Status PutKekCheck(ByteSpan sealed) override;

  // PragmaValue runs "PRAGMA <name>" and returns the first column as text
  // (for checks such as journal_mode / synchronous).
  absl::StatusOr<std::string> PragmaValue(absl::string_view name);

 private:
  class Stmt;
  explicit SqliteStore(sqlite3* db) : db_(db) {}

  // SetDurability switches the connection's synchronous mode (no I/O).
  absl::Status SetDurability(Durability d, absl::string_view op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // InsertBanLocked writes a ban row (kept if one exists) inside the
  // caller's open transaction.
  absl::Status InsertBanLocked(ByteSpan party_key, absl::string_view reason,
                               int64_t unix_time, absl::string_view op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // AppendAuditLocked appends inside the caller's open transaction.
  absl::StatusOr<AuditEntry> AppendAuditLocked(AuditEntry entry,
                                               absl::string_view op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Exec(const char* sql, absl::string_view op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // MigrateSchemaLocked creates the schema or brings an older one to this
  // binary's version, in one transaction (sqlite_schema.cc).
  absl::Status MigrateSchemaLocked(absl::string_view path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // QueryIntLocked returns the first column of the first row of `sql` (0
  // when there is none).
  absl::StatusOr<int64_t> QueryIntLocked(const char* sql, absl::string_view op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // CheckWalLocked refuses a connection whose journal is not WAL.
  absl::Status CheckWalLocked(absl::string_view path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<sqlite3_stmt*> Prepare(const char* sql, absl::string_view op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Error(int rc, absl::string_view op) const;

  absl::Mutex mu_;
  sqlite3* db_;  // Owned.
  std::unordered_map<const char*, sqlite3_stmt*> stmts_ ABSL_GUARDED_BY(mu_);
  const crypto::Ed25519PrivateKey* audit_key_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::optional<AuditHead> latest_head_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kagi::storage

#endif  // KAGI_LIBS_STORAGE_SQLITE_STORE_H_
