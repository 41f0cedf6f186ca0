// File: libs/storage/audit.h
//
// The append-only audit log. Every record carries the hash of the previous
// one, so editing, reordering or removing a record in the middle of the log
// breaks the chain:
//
//   hash = H("audit", u64 seq, u64 unix_time, operation, request_id, parties,
//            outcome, signature, prev_hash [, reservations, anchors])
//
// (the last two fields are hashed only when one of them is non-empty, so the
// records written before they existed keep their hashes). The first record
// has seq 1 and prev_hash = 32 zero bytes; each later record has seq =
// previous seq + 1 and prev_hash = previous hash. Store::AppendAudit fills in
// seq, prev_hash and hash inside one transaction.
//
// A chain alone can be rewritten end to end by whoever can write the file
// (recompute every hash). So the node signs the chain head after every
// write: `head_signature` is its identity key's Ed25519 signature over
//
//   AuditHeadDigest = H("audit-head", node identity key, u64 seq, hash)
//
// which, through the chain, vouches for every record up to seq. A rewrite
// without the identity key breaks the signatures from the first rewritten
// record on (VerifySignedAuditLog names it). Removing records from the end
// (or a rewrite by someone holding the key) is caught by the other nodes:
// each session's record holds the peers' signed heads received in that
// session (`anchors`), and a node's log must contain every head its peers
// hold of it, recomputed from the records' content (`kagictl audit verify
// --cluster`, docs/threat-model.md). The records a node writes after its
// last envelope are anchored by no peer until its next session.
//
// Velocity reservations are written into the admission's record
// (`reservations`) and every ban into a ban record, so the velocity and ban
// tables can be checked against the signed history (VerifyVelocityRows,
// VerifyBanRows): a wiped or edited row is found at start-up. The signed
// records are the truth: an operator override rebuilds both tables from
// them (SqliteStore::RestoreSignedRows).
#ifndef KAGI_LIBS_STORAGE_AUDIT_H_
#define KAGI_LIBS_STORAGE_AUDIT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"

namespace kagi::storage {

using AuditHash = std::array<uint8_t, 32>;
using NodeKey = std::array<uint8_t, 32>;  // an Ed25519 identity public key

struct AuditEntry {
  uint64_t seq = 0;
  int64_t unix_time = 0;
  std::string operation;  // e.g. "dkg", "sign", "reshare", "ban"
  std::string request_id;
  std::string parties;  // e.g. comma-separated party ids
  std::string outcome;  // e.g. "ok", or an error summary
  Bytes signature;      // the produced signature, if any
  // EncodeReservations of the velocity reservations this record admitted.
  std::string reservations;
  // EncodeAnchors of the peers' signed heads held by this record.
  std::string anchors;
  AuditHash prev_hash{};
  AuditHash hash{};
  // The node's signature over AuditHeadDigest(key, seq, hash); not hashed
  // (it signs the hash). Empty when the store had no signing key.
  Bytes head_signature;
};

// The operation of the record a node appends when its operator starts it
// over a broken log (kagi-node --accept-audit-break-at SEQ). The records
// before it are accepted as they were when the override was written: its
// `signature` field holds AuditPrefixDigest of them (hashed and signed with
// the record), so a later edit of any of them is a break at the override.
// Everything from it on is checked as usual.
inline constexpr absl::string_view kAuditOverrideOperation = "audit.override";
// The operation of the record AddBan writes with a ban row: `parties` is the
// banned party's key in hex, `outcome` the reason (VerifyBanRows).
inline constexpr absl::string_view kAuditBanOperation = "ban.party";
// The operation of the record LiftBan writes when it deletes a ban row (an
// operator's decision, `kagictl ban lift`): the same fields.
inline constexpr absl::string_view kAuditBanLiftOperation = "ban.lift";

// AuditEntryHash computes the chain hash of `entry` from every field except
// `hash` and `head_signature`.
AuditHash AuditEntryHash(const AuditEntry& entry);

// AuditPrefixDigest pins the content of the first `count` records of
// `entries`: a hash over every record's hash recomputed from its content
// (AuditEntryHash), not the stored `hash` column.
AuditHash AuditPrefixDigest(const std::vector<AuditEntry>& entries,
                            size_t count);
// AuditOverrideRecord is the record an operator override appends after
// `log` (the whole log as it is): it pins `log` (AuditPrefixDigest).
AuditEntry AuditOverrideRecord(const std::vector<AuditEntry>& log,
                               int64_t unix_time, std::string outcome);

// A signed chain head: what a node sends its peers and they keep as anchors.
struct AuditHead {
  uint64_t seq = 0;
  AuditHash hash{};
  std::array<uint8_t, 64> signature{};
};

// AuditHeadDigest is the 32-byte message a node signs for its head.
AuditHash AuditHeadDigest(const NodeKey& node_key, uint64_t seq,
                          const AuditHash& hash);
// VerifyAuditHead checks `head`'s signature under `node_key`
// (InvalidArgument naming the seq if it does not verify).
absl::Status VerifyAuditHead(const NodeKey& node_key, const AuditHead& head);

// A peer's signed head held in one of this node's records.
struct AuditAnchor {
  std::string node;  // the peer's configured name
  AuditHead head;
};
// EncodeAnchors: "name:seq:hashhex:sighex" joined by ';' (names are DNS-like
// node names: no ':' or ';').
std::string EncodeAnchors(const std::vector<AuditAnchor>& anchors);
// ParseAnchors reverses EncodeAnchors (InvalidArgument on a malformed one).
absl::StatusOr<std::vector<AuditAnchor>> ParseAnchors(absl::string_view text);

// A velocity reservation (libs/policy): `amount` (32-byte big-endian) counted
// under `scope` at `unix_time`, keyed by (request id, scope) so that a retry
// of the same request is counted once.
struct VelocityReservation {
  std::string scope;
  int64_t unix_time = 0;
  std::array<uint8_t, 32> amount{};

  friend bool operator==(const VelocityReservation& a,
                         const VelocityReservation& b) {
    return a.scope == b.scope && a.unix_time == b.unix_time &&
           a.amount == b.amount;
  }
};
// A row of the velocity table.
struct VelocityRow {
  std::string request_id;
  VelocityReservation reservation;
};
// EncodeReservations: "scopehex:unix_time:amounthex" joined by ';'.
std::string EncodeReservations(const std::vector<VelocityReservation>& list);
absl::StatusOr<std::vector<VelocityReservation>> ParseReservations(
    absl::string_view text);

// VerifyAuditChain checks the hash chain of a whole log read in seq order.
// Returns OK, or DataLoss naming the first bad seq ("audit chain broken at
// seq 7: ...") for a hash mismatch, a broken prev_hash link or a seq
// gap/reorder. It does not check signatures: see VerifySignedAuditLog.
absl::Status VerifyAuditChain(const std::vector<AuditEntry>& entries);

// What VerifySignedAuditLog found.
struct AuditVerdict {
  uint64_t records = 0;
  // The seq of the last operator override record (0: none): the records
  // before it were accepted as they are, with `accepted_error` (empty when
  // they verify: the override was for something else, e.g. velocity rows).
  uint64_t override_seq = 0;
  std::string accepted_error;
};

// How many head signatures VerifySignedAuditLog checks.
enum class SignatureCheck {
  // Every record's (kagictl audit verify).
  kEveryRecord,
  // The last record's, over an intact chain: it vouches for every record
  // before it, at one signature instead of one per record (the node at
  // start-up). When it fails, every record's is checked to name the first.
  kLastHead,
};

// VerifySignedAuditLog checks the chain and the head signatures under
// `node_key`. A log broken before an operator override record is accepted
// from that record on (the override record and everything after it must
// verify, and the records before it must be exactly those it pinned:
// AuditPrefixDigest, else the override's seq is named). Returns DataLoss naming
// the first bad record otherwise ("audit chain broken at seq 7: head signature
// ...").
absl::StatusOr<AuditVerdict> VerifySignedAuditLog(
    const std::vector<AuditEntry>& entries, const NodeKey& node_key,
    SignatureCheck check = SignatureCheck::kEveryRecord);

// AuditBadSeq returns the seq of the first bad record a DataLoss status of
// VerifySignedAuditLog / VerifyVelocityRows names (nullopt for others): what
// an operator's override must name (kagi-node --accept-audit-break-at).
std::optional<uint64_t> AuditBadSeq(const absl::Status& status);

// SignedVelocityRows: the velocity rows the log's records reserved (the
// earliest record of each (request, scope) wrote its row, with its time; a
// retry leaves it as it is), each with the seq of that record.
absl::StatusOr<std::vector<std::pair<uint64_t, VelocityRow>>>
SignedVelocityRows(const std::vector<AuditEntry>& entries);

// VerifyVelocityRows checks the velocity table against the reservations
// every record holds (SignedVelocityRows): each must be present with its
// amount and time. DataLoss naming the request and the record otherwise
// (AuditBadSeq gives that record's seq).
absl::Status VerifyVelocityRows(const std::vector<AuditEntry>& entries,
                                const std::vector<VelocityRow>& rows);

// A row of the ban table.
struct BanRow {
  Bytes party_key;
  std::string reason;
  int64_t unix_time = 0;
};
// SignedBans: the bans the log's ban records (kAuditBanOperation) wrote and
// no later lift record (kAuditBanLiftOperation) lifted, each with its
// record's seq (DataLoss on a malformed one).
absl::StatusOr<std::vector<std::pair<uint64_t, BanRow>>> SignedBans(
    const std::vector<AuditEntry>& entries);
// VerifyBanRows checks that every signed ban has its row in the ban table
// (a ban is lifted only with a signed lift record: a missing row is a
// break). DataLoss naming the
// party and the record otherwise (AuditBadSeq gives that record's seq).
absl::Status VerifyBanRows(const std::vector<AuditEntry>& entries,
                           const std::vector<BanRow>& rows);

}  // namespace kagi::storage

#endif  // KAGI_LIBS_STORAGE_AUDIT_H_
