#include "libs/storage/audit.h"

#include "absl/strings/str_cat.h"
#include "libs/crypto/transcript.h"

namespace kagi::storage {

std::array<uint8_t, 32> AuditEntryHash(const AuditEntry& entry) {
  return crypto::Transcript(crypto::Tag::kAudit)
      .AddU64(entry.seq)
      .AddU64(static_cast<uint64_t>(entry.unix_time))
      .Add(AsBytes(entry.operation))
      .Add(AsBytes(entry.request_id))
      .Add(AsBytes(entry.parties))
      .Add(AsBytes(entry.outcome))
      .Add(entry.signature)
      .Add(entry.prev_hash)
      .H();
}

absl::Status VerifyAuditChain(const std::vector<AuditEntry>& entries) {
  std::array<uint8_t, 32> prev{};
  uint64_t expected_seq = 1;
  for (const AuditEntry& e : entries) {
    auto broken = [&](absl::string_view why) {
      return absl::DataLossError(
          absl::StrCat("audit chain broken at seq ", e.seq, ": ", why));
    };
    if (e.seq != expected_seq) {
      return broken(absl::StrCat("expected seq ", expected_seq,
                                 " (missing or reordered record)"));
    }
    if (e.prev_hash != prev) {
      return broken("prev_hash does not match the previous record's hash");
    }
    if (AuditEntryHash(e) != e.hash) {
      return broken("record hash mismatch (record modified)");
    }
    prev = e.hash;
    ++expected_seq;
  }
  return absl::OkStatus();
}

}  // namespace kagi::storage
