// File: libs/storage/audit.h
//
// The append-only audit log. Every record carries the hash of the previous
// one, so editing, reordering or removing a record in the middle of the log
// breaks the chain:
//
//   hash = H("audit", u64 seq, u64 unix_time, operation, request_id, parties,
//            outcome, signature, prev_hash)
//
// The first record has seq 1 and prev_hash = 32 zero bytes; each later record
// has seq = previous seq + 1 and prev_hash = previous hash. Store::AppendAudit
// fills in seq, prev_hash and hash inside one transaction.
//
// Limitation: a chain alone cannot detect truncation of its tail; compare the
// last hash against an externally kept copy (e.g. a log line) for that.
#ifndef KAGI_LIBS_STORAGE_AUDIT_H_
#define KAGI_LIBS_STORAGE_AUDIT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/base/bytes.h"

namespace kagi::storage {

struct AuditEntry {
  uint64_t seq = 0;
  int64_t unix_time = 0;
  std::string operation;  // e.g. "dkg", "sign", "reshare", "ban"
  std::string request_id;
  std::string parties;  // e.g. comma-separated party ids
  std::string outcome;  // e.g. "ok", or an error summary
  Bytes signature;      // the produced signature, if any
  std::array<uint8_t, 32> prev_hash{};
  std::array<uint8_t, 32> hash{};
};

// AuditEntryHash computes the chain hash of `entry` from every field except
// `hash` itself.
std::array<uint8_t, 32> AuditEntryHash(const AuditEntry& entry);

// VerifyAuditChain checks a whole log read in seq order. Returns OK, or
// DataLoss naming the first bad seq ("audit chain broken at seq 7: ...") for a
// hash mismatch, a broken prev_hash link or a seq gap/reorder.
absl::Status VerifyAuditChain(const std::vector<AuditEntry>& entries);

}  // namespace kagi::storage

#endif  // KAGI_LIBS_STORAGE_AUDIT_H_
