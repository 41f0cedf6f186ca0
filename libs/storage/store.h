// File: libs/storage/store.h
//
// The storage interface of the service. SqliteStore (sqlite_store.h) is the
// embedded default; a PostgreSQL backend can implement the same interface.
//
// Contract every implementation must keep:
//   * Every method is atomic (one transaction) and durable when it returns
//     OK (for SQLite: WAL with synchronous=FULL).
//   * RecordSid0 is insert-once: the second call for the same value returns
//     AlreadyExists, across restarts. BeginRequest records the sid0 and claims
//     the request id in one transaction (see there).
//   * ConsumePresignature is a compare-and-swap UNUSED -> CONSUMED: across all
//     threads and processes, exactly one call per id returns OK, and it has
//     committed before it returns (so a signature share computed from it can
//     never be sent twice). The sealed material is erased on consumption.
//   * Sealed blobs are opaque here: the caller seals/opens them (sealed.h).
//   * Methods are thread-safe.
#ifndef KAGI_LIBS_STORAGE_STORE_H_
#define KAGI_LIBS_STORAGE_STORE_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/crypto/evp.h"
#include "libs/storage/audit.h"

namespace kagi::storage {

using KeyId = std::array<uint8_t, 32>;

enum class ShareState { kPending, kActive, kRetired };

// ShareStateName returns "PENDING", "ACTIVE" or "RETIRED".
absl::string_view ShareStateName(ShareState state);

struct StoredShare {
  uint64_t epoch = 0;
  Bytes sealed;
  Bytes certificate;  // the activation certificate (empty before v3)
};

// A share row with its key and state (ListShares). A row is identified by
// (key_id, epoch, sid): PENDING shares of one epoch from different sessions
// are kept side by side, each waiting for its own activation certificate.
struct ShareRecord {
  KeyId key_id{};
  uint64_t epoch = 0;
  ShareState state = ShareState::kPending;
  Bytes sealed;
  Bytes sid;          // the session that made it
  Bytes certificate;  // ACTIVE: the certificate that activated it
  Bytes evidence;     // PENDING: the acknowledgements this node saw
};

enum class RequestState { kInProgress, kSucceeded, kFailed };

// Durability of one write. kSynced returns after the data reached stable
// storage (fsync). kCrashSafe survives a crash of the process at once (the
// write is in the write-ahead log) and survives power loss with the next
// kSynced write, which syncs everything before it (the log is sequential).
// Writes that must precede an externally visible effect (a signature share
// leaving, an ack) are kSynced.
enum class Durability { kSynced, kCrashSafe };

// RequestStateName returns "in_progress", "succeeded" or "failed".
absl::string_view RequestStateName(RequestState state);

// One client request (sign, key creation, refresh, reshare) as this node saw
// it. `request_digest` binds the id to exactly one request content.
struct RequestRecord {
  std::string request_id;
  std::string operation;
  std::array<uint8_t, 32> request_digest{};
  RequestState state = RequestState::kInProgress;
  std::string outcome;  // "ok" or the error
  Bytes result;         // operation-specific (e.g. encoded signatures)
  uint32_t attempts = 0;
  Bytes key_id;           // the key signed with (empty for other operations)
  std::string initiator;  // the client that sent it ("" if not recorded)
};

// What a node decided before admitting a request (policy, approvals):
// written by BeginRequest in the same transaction as the request record.
// The reservations (VelocityReservation, audit.h) are written both to the
// velocity table and into the decision's audit record, so the table can be
// checked against the signed history.
struct Admission {
  AuditEntry decision;  // appended to the audit log
  std::vector<VelocityReservation> reservations;
  Bytes key_id;           // recorded with the request (RequestRecord)
  std::string initiator;  // recorded with the request (RequestRecord)
};

// What one node of a key's committee said about a request id of that key
// (services/node/request_claims.h): `claim` is its signed encoding, opaque
// here; `state` is "admitted", "succeeded" or "failed".
struct RequestClaimRow {
  std::array<uint8_t, 32> key_id{};
  std::string request_id;
  std::array<uint8_t, 32> node_key{};  // the claimant's identity key
  std::string state;
  Bytes claim;
};

// The most PENDING shares of one key and epoch a store keeps.
inline constexpr int kMaxPendingPerEpoch = 8;

class Store {
 public:
  virtual ~Store() = default;

  // PutShare inserts the sealed share of (key_id, epoch, sid). AlreadyExists
  // if that row is already stored; ResourceExhausted for a PENDING share
  // when kMaxPendingPerEpoch PENDING shares of (key_id, epoch) already wait
  // (each aborted session of an approved request leaves one: the bound keeps
  // retries from filling the store).
  virtual absl::Status PutShare(const KeyId& key_id, uint64_t epoch,
                                ShareState state, ByteSpan sealed,
                                ByteSpan sid = {}) = 0;
  // ActivateShare, in one transaction, moves (key_id, epoch, sid) PENDING ->
  // ACTIVE, recording `certificate` with it, and retires every other ACTIVE
  // row of key_id and every other PENDING row of key_id at an epoch up to
  // `epoch`. A RETIRED row keeps its (key_id, epoch) but its sealed share is
  // erased: an old epoch's share must not survive a refresh. NotFound if
  // missing, FailedPrecondition if that row is not PENDING or the key is
  // ACTIVE at `epoch` or later already (another session's share of the same
  // epoch is never replaced).
  virtual absl::Status ActivateShare(const KeyId& key_id, uint64_t epoch,
                                     ByteSpan sid = {},
                                     ByteSpan certificate = {}) = 0;
  // RetireShares retires (and erases) every ACTIVE and PENDING share of
  // key_id at an epoch up to `max_epoch`: for a member that left the
  // committee in a reshare of epoch `max_epoch`. A share of a later epoch is
  // left alone.
  virtual absl::Status RetireShares(const KeyId& key_id,
                                    uint64_t max_epoch) = 0;
  // SetShareEvidence records, with the PENDING row (key_id, epoch, sid), the
  // acknowledgements this node received in an aborted session (compared
  // with a certificate's later, to prove equivocation). NotFound if no such
  // PENDING row.
  virtual absl::Status SetShareEvidence(const KeyId& key_id, uint64_t epoch,
                                        ByteSpan sid, ByteSpan evidence) = 0;
  // RetirePendingShares retires (and erases) every PENDING row of
  // (key_id, epoch) and returns how many: an operator's decision that no
  // certificate will come for them.
  virtual absl::StatusOr<int> RetirePendingShares(const KeyId& key_id,
                                                  uint64_t epoch) = 0;
  // GetPendingShares returns every PENDING row of (key_id, epoch).
  virtual absl::StatusOr<std::vector<ShareRecord>> GetPendingShares(
      const KeyId& key_id, uint64_t epoch) = 0;
  // GetActiveShare returns the ACTIVE epoch and its sealed share, or NotFound.
  virtual absl::StatusOr<StoredShare> GetActiveShare(const KeyId& key_id) = 0;

  // ListShares returns every ACTIVE and PENDING share row (RETIRED rows are
  // left out), ordered by key id and epoch.
  virtual absl::StatusOr<std::vector<ShareRecord>> ListShares() = 0;
  // GetShare returns one (key_id, epoch) row (ACTIVE first, then PENDING),
  // or NotFound.
  virtual absl::StatusOr<ShareRecord> GetShare(const KeyId& key_id,
                                               uint64_t epoch) = 0;

  // RecordSid0 durably records that a session with this sid0 was started.
  // AlreadyExists if it was started before (never run a sid0 twice).
  virtual absl::Status RecordSid0(ByteSpan sid0) = 0;

  // BeginRequest, in one transaction, records `sid0` (AlreadyExists if that
  // session was started before) and claims `request_id` for the request whose
  // content hashes to `request_digest`:
  //   * a new id: recorded IN_PROGRESS;
  //   * an id recorded with another digest: AlreadyExists ("request id ... was
  //     already used for a different request") — a request id names exactly
  //     one request, forever;
  //   * the same digest, already SUCCEEDED: AlreadyExists ("... was already
  //     completed");
  //   * the same digest, IN_PROGRESS or FAILED: a retry (another signer set
  //     or a new session); attempts is incremented and the state reset.
  // With `admission`, its decision is appended to the audit log and its
  // reservations recorded in the same transaction.
  virtual absl::Status BeginRequest(absl::string_view request_id,
                                    absl::string_view operation,
                                    const std::array<uint8_t, 32>& digest,
                                    ByteSpan sid0, Durability durability,
                                    const Admission* admission = nullptr) = 0;
  // VelocityAmounts returns the amounts reserved under `scope` at or after
  // `since_unix` (every request admitted, whatever its outcome), except
  // those of `except_request_id` (a retry does not count itself twice).
  virtual absl::StatusOr<std::vector<std::array<uint8_t, 32>>> VelocityAmounts(
      absl::string_view scope, int64_t since_unix,
      absl::string_view except_request_id = "") = 0;
  // FinishRequest, in one transaction, records the request's outcome and
  // appends `audit` to the audit log; returns the stored audit entry. A
  // SUCCEEDED record is left as it is (a session of an earlier attempt that
  // ends after a later one succeeded is only audited). NotFound for an
  // unknown id.
  virtual absl::StatusOr<AuditEntry> FinishRequest(absl::string_view request_id,
                                                   RequestState state,
                                                   absl::string_view outcome,
                                                   ByteSpan result,
                                                   AuditEntry audit,
                                                   Durability durability) = 0;
  // GetRequest returns the record of `request_id`, or NotFound.
  virtual absl::StatusOr<RequestRecord> GetRequest(
      absl::string_view request_id) = 0;

  // PutRequestClaim records what node `row.node_key` said about
  // (`row.key_id`, `row.request_id`), replacing its earlier claim unless
  // that one is "succeeded" and the new one is not (a completion is never
  // taken back; a completion replaces a stored one, which may have been
  // damaged: callers store only completions they verified). Crash-safe.
  virtual absl::Status PutRequestClaim(const RequestClaimRow& row) = 0;
  // GetRequestClaims returns every node's latest claim about `request_id`
  // of key `key_id`.
  virtual absl::StatusOr<std::vector<RequestClaimRow>> GetRequestClaims(
      const std::array<uint8_t, 32>& key_id, absl::string_view request_id) = 0;
  // GetClaimsInState returns the claims of node `node_key` in `state`
  // (a node's own "admitted" claims at start-up: sessions that died with
  // the process).
  virtual absl::StatusOr<std::vector<RequestClaimRow>> GetClaimsInState(
      const std::array<uint8_t, 32>& node_key, absl::string_view state) = 0;

  // PutPresignature stores an UNUSED sealed presignature. AlreadyExists if the
  // id is taken.
  virtual absl::Status PutPresignature(ByteSpan id, const KeyId& key_id,
                                       ByteSpan sealed) = 0;
  // ConsumePresignature marks `id` CONSUMED and returns its sealed material,
  // exactly once. NotFound for an unknown id, FailedPrecondition("presignature
  // already consumed") afterwards.
  virtual absl::StatusOr<Bytes> ConsumePresignature(ByteSpan id) = 0;

  // MarkPresignaturesConsumed records presignatures that are made and used
  // within one signing session (on-demand presigning) as CONSUMED, without
  // ever storing their material, all in one synced transaction (so a caller
  // can batch many sessions' marks into one fsync). Insert-once per id: the
  // result has one status per id, FailedPrecondition("presignature already
  // consumed") for an id recorded before. The outer status is a storage
  // failure (then nothing was recorded).
  using PresignatureMark = std::pair<Bytes, KeyId>;
  virtual absl::StatusOr<std::vector<absl::Status>> MarkPresignaturesConsumed(
      const std::vector<PresignatureMark>& marks) = 0;
  // CountPresignatures returns how many presignature ids are recorded.
  virtual absl::StatusOr<uint64_t> CountPresignatures() = 0;

  // AddBan bans a party (idempotent: a second ban keeps the first reason)
  // and, for a new ban, appends a signed ban record (kAuditBanOperation) in
  // the same transaction.
  virtual absl::Status AddBan(ByteSpan party_key, absl::string_view reason) = 0;
  virtual absl::StatusOr<bool> IsBanned(ByteSpan party_key) = 0;
  // LiftBan deletes a party's ban row and appends a signed lift record
  // (kAuditBanLiftOperation) in the same transaction: an operator's decision
  // (kagictl ban lift). False when the party was not banned (nothing
  // written).
  virtual absl::StatusOr<bool> LiftBan(ByteSpan party_key,
                                       absl::string_view reason) = 0;

  // AppendAudit assigns seq, prev_hash and hash (the caller's values for
  // those are ignored) in one transaction and returns the stored entry;
  // with an audit key (SetAuditKey) the new head is signed in the same
  // transaction.
  virtual absl::StatusOr<AuditEntry> AppendAudit(AuditEntry entry) = 0;
  // ReadAudit returns the whole log in seq order.
  virtual absl::StatusOr<std::vector<AuditEntry>> ReadAudit() = 0;
  // SetAuditKey makes every later append sign the new chain head with `key`
  // (the node's identity key; it must outlive the store's appends).
  virtual void SetAuditKey(const crypto::Ed25519PrivateKey* key) = 0;
  // LatestHead returns the signed head of the last record this store wrote
  // or read as last (NotFound before any signed record).
  virtual absl::StatusOr<AuditHead> LatestHead() = 0;
  // GetKekCheck returns the sealed KEK check value (NotFound before
  // PutKekCheck); PutKekCheck stores it once (AlreadyExists after).
  virtual absl::StatusOr<Bytes> GetKekCheck() = 0;
  virtual absl::Status PutKekCheck(ByteSpan sealed) = 0;
  // ReadVelocity returns every row of the velocity table.
  virtual absl::StatusOr<std::vector<VelocityRow>> ReadVelocity() = 0;
  // ReadBans returns every row of the ban table.
  virtual absl::StatusOr<std::vector<BanRow>> ReadBans() = 0;
  // RestoreSignedRows writes back the velocity and ban rows the signed
  // records of `log` hold (SignedVelocityRows, SignedBans), in one
  // transaction: what an operator override does (the signed log is the
  // truth).
  virtual absl::Status RestoreSignedRows(
      const std::vector<AuditEntry>& log) = 0;
};

}  // namespace kagi::storage

#endif  // KAGI_LIBS_STORAGE_STORE_H_
