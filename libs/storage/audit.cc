#include "libs/storage/audit.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/transcript.h"

namespace kagi::storage {
namespace {

constexpr absl::string_view kBadSeqPayload = "type.kagi/audit-bad-seq";

absl::Status WithSeq(absl::Status status, uint64_t seq) {
  status.SetPayload(kBadSeqPayload, absl::Cord(absl::StrCat(seq)));
  return status;
}

absl::Status Broken(uint64_t seq, absl::string_view why) {
  return WithSeq(absl::DataLossError(absl::StrCat("audit chain broken at seq ",
                                                  seq, ": ", why)),
                 seq);
}

// CheckChain checks entries[from..] (seq order, consecutive, links, hashes).
// The first record's link is checked only from the start of the log.
absl::Status CheckChain(const std::vector<AuditEntry>& entries, size_t from) {
  AuditHash prev{};
  uint64_t expected_seq = 1;
  if (from > 0 && from < entries.size()) {
    prev = entries[from].prev_hash;
    expected_seq = entries[from].seq;
  }
  for (size_t i = from; i < entries.size(); ++i) {
    const AuditEntry& e = entries[i];
    if (e.seq != expected_seq) {
      return Broken(e.seq, absl::StrCat("expected seq ", expected_seq,
                                        " (missing or reordered record)"));
    }
    if (e.prev_hash != prev) {
      return Broken(e.seq,
                    "prev_hash does not match the previous record's hash");
    }
    if (AuditEntryHash(e) != e.hash) {
      return Broken(e.seq, "record hash mismatch (record modified)");
    }
    prev = e.hash;
    ++expected_seq;
  }
  return absl::OkStatus();
}

// CheckSignatures checks every head signature of entries[from..].
absl::Status CheckSignatures(const std::vector<AuditEntry>& entries,
                             size_t from, const NodeKey& node_key) {
  for (size_t i = from; i < entries.size(); ++i) {
    const AuditEntry& e = entries[i];
    if (e.head_signature.empty()) {
      return Broken(e.seq, "record is not signed by the node's identity key");
    }
    const AuditHash digest = AuditHeadDigest(node_key, e.seq, e.hash);
    if (!crypto::Ed25519Verify(node_key, digest, e.head_signature).ok()) {
      return Broken(e.seq,
                    "head signature does not verify under the node's identity "
                    "key (record rewritten, or hashes recomputed)");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFrom(const std::vector<AuditEntry>& entries, size_t from,
                       const NodeKey& node_key, SignatureCheck check) {
  KAGI_RETURN_IF_ERROR(CheckChain(entries, from));
  if (check == SignatureCheck::kLastHead && from < entries.size() &&
      CheckSignatures(entries, entries.size() - 1, node_key).ok()) {
    return absl::OkStatus();
  }
  return CheckSignatures(entries, from, node_key);
}

}  // namespace

AuditHash AuditEntryHash(const AuditEntry& entry) {
  crypto::Transcript t(crypto::Tag::kAudit);
  t.AddU64(entry.seq)
      .AddU64(static_cast<uint64_t>(entry.unix_time))
      .Add(AsBytes(entry.operation))
      .Add(AsBytes(entry.request_id))
      .Add(AsBytes(entry.parties))
      .Add(AsBytes(entry.outcome))
      .Add(entry.signature)
      .Add(entry.prev_hash);
  if (!entry.reservations.empty() || !entry.anchors.empty()) {
    t.Add(AsBytes(entry.reservations)).Add(AsBytes(entry.anchors));
  }
  return t.H();
}

AuditHash AuditPrefixDigest(const std::vector<AuditEntry>& entries,
                            size_t count) {
  count = std::min(count, entries.size());
  crypto::Transcript t(crypto::Tag::kAudit);
  t.Add(AsBytes(absl::string_view("override-prefix"))).AddU64(count);
  for (size_t i = 0; i < count; ++i) t.Add(AuditEntryHash(entries[i]));
  return t.H();
}

AuditEntry AuditOverrideRecord(const std::vector<AuditEntry>& log,
                               int64_t unix_time, std::string outcome) {
  AuditEntry e;
  e.unix_time = unix_time;
  e.operation = std::string(kAuditOverrideOperation);
  e.outcome = std::move(outcome);
  const AuditHash pinned = AuditPrefixDigest(log, log.size());
  e.signature.assign(pinned.begin(), pinned.end());
  return e;
}

AuditHash AuditHeadDigest(const NodeKey& node_key, uint64_t seq,
                          const AuditHash& hash) {
  return crypto::Transcript(crypto::Tag::kAuditHead)
      .Add(node_key)
      .AddU64(seq)
      .Add(hash)
      .H();
}

absl::Status VerifyAuditHead(const NodeKey& node_key, const AuditHead& head) {
  if (!crypto::Ed25519Verify(node_key,
                             AuditHeadDigest(node_key, head.seq, head.hash),
                             head.signature)
           .ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "audit head at seq ", head.seq, ": signature does not verify"));
  }
  return absl::OkStatus();
}

std::string EncodeAnchors(const std::vector<AuditAnchor>& anchors) {
  std::vector<std::string> parts;
  for (const AuditAnchor& a : anchors) {
    parts.push_back(absl::StrCat(a.node, ":", a.head.seq, ":",
                                 HexEncode(a.head.hash), ":",
                                 HexEncode(a.head.signature)));
  }
  return absl::StrJoin(parts, ";");
}

namespace {

// CheckCanonical: a parsed audit text field must be exactly what its encoder
// writes for the parsed value (lower-case hex, plain decimal), so that one
// record has one spelling.
absl::Status CheckCanonical(absl::string_view text, absl::string_view encoded,
                            absl::string_view field) {
  if (text == encoded) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field,
                   ": not in canonical form (lower-case hex, plain "
                   "decimal): '",
                   text.substr(0, 40), "'"));
}

}  // namespace

absl::StatusOr<std::vector<AuditAnchor>> ParseAnchors(absl::string_view text) {
  std::vector<AuditAnchor> out;
  if (text.empty()) return out;
  for (absl::string_view part : absl::StrSplit(text, ';')) {
    std::vector<absl::string_view> f = absl::StrSplit(part, ':');
    AuditAnchor a;
    absl::StatusOr<AuditHash> hash = f.size() == 4
                                         ? HexDecodeFixed<32>(f[2])
                                         : absl::InvalidArgumentError("");
    absl::StatusOr<std::array<uint8_t, 64>> sig =
        f.size() == 4 ? HexDecodeFixed<64>(f[3])
                      : absl::InvalidArgumentError("");
    if (f.size() != 4 || f[0].empty() || !absl::SimpleAtoi(f[1], &a.head.seq) ||
        !hash.ok() || !sig.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed anchor '", part.substr(0, 40), "'"));
    }
    a.node = std::string(f[0]);
    a.head.hash = *hash;
    a.head.signature = *sig;
    out.push_back(std::move(a));
  }
  KAGI_RETURN_IF_ERROR(CheckCanonical(text, EncodeAnchors(out), "anchors"));
  return out;
}

std::string EncodeReservations(const std::vector<VelocityReservation>& list) {
  std::vector<std::string> parts;
  for (const VelocityReservation& r : list) {
    parts.push_back(absl::StrCat(HexEncode(AsBytes(r.scope)), ":", r.unix_time,
                                 ":", HexEncode(r.amount)));
  }
  return absl::StrJoin(parts, ";");
}

absl::StatusOr<std::vector<VelocityReservation>> ParseReservations(
    absl::string_view text) {
  std::vector<VelocityReservation> out;
  if (text.empty()) return out;
  for (absl::string_view part : absl::StrSplit(text, ';')) {
    std::vector<absl::string_view> f = absl::StrSplit(part, ':');
    VelocityReservation r;
    absl::StatusOr<Bytes> scope =
        f.size() == 3 ? HexDecode(f[0]) : absl::InvalidArgumentError("");
    absl::StatusOr<std::array<uint8_t, 32>> amount =
        f.size() == 3 ? HexDecodeFixed<32>(f[2])
                      : absl::InvalidArgumentError("");
    if (f.size() != 3 || !scope.ok() || !amount.ok() ||
        !absl::SimpleAtoi(f[1], &r.unix_time)) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed reservation '", part.substr(0, 40), "'"));
    }
    r.scope.assign(scope->begin(), scope->end());
    r.amount = *amount;
    out.push_back(std::move(r));
  }
  KAGI_RETURN_IF_ERROR(
      CheckCanonical(text, EncodeReservations(out), "reservations"));
  return out;
}

std::optional<uint64_t> AuditBadSeq(const absl::Status& status) {
  const auto p = status.GetPayload(kBadSeqPayload);
  uint64_t seq = 0;
  if (!p.has_value() || !absl::SimpleAtoi(std::string(*p), &seq)) {
    return std::nullopt;
  }
  return seq;
}

absl::Status VerifyAuditChain(const std::vector<AuditEntry>& entries) {
  return CheckChain(entries, 0);
}

absl::StatusOr<AuditVerdict> VerifySignedAuditLog(
    const std::vector<AuditEntry>& entries, const NodeKey& node_key,
    SignatureCheck check) {
  AuditVerdict verdict;
  verdict.records = entries.size();
  // The last operator override: what it accepted must be told apart from
  // what it vouches for, so the records before it are checked in full.
  std::optional<size_t> last_override;
  for (size_t i = entries.size(); i-- > 0;) {
    if (entries[i].operation == kAuditOverrideOperation) {
      last_override = i;
      break;
    }
  }
  if (last_override.has_value()) check = SignatureCheck::kEveryRecord;
  const absl::Status whole = CheckFrom(entries, 0, node_key, check);
  if (!last_override.has_value()) {
    if (!whole.ok()) return whole;
    return verdict;
  }
  // A log broken before the override is accepted if it verifies from the
  // override record on.
  const size_t i = *last_override;
  if (!whole.ok()) {
    if (AuditBadSeq(whole).value_or(0) >= entries[i].seq) return whole;
    KAGI_RETURN_IF_ERROR(CheckFrom(entries, i, node_key, check));
    verdict.accepted_error = std::string(whole.message());
  }
  // The override vouches only for the prefix it pinned.
  const AuditHash pinned = AuditPrefixDigest(entries, i);
  if (entries[i].signature != Bytes(pinned.begin(), pinned.end())) {
    return Broken(entries[i].seq,
                  "the records before this operator override differ from "
                  "those it accepted (edited after the override)");
  }
  verdict.override_seq = entries[i].seq;
  return verdict;
}

absl::StatusOr<std::vector<std::pair<uint64_t, VelocityRow>>>
SignedVelocityRows(const std::vector<AuditEntry>& entries) {
  using Key = std::pair<std::string, std::string>;  // (request id, scope)
  std::map<Key, bool> seen;
  std::vector<std::pair<uint64_t, VelocityRow>> out;
  for (const AuditEntry& e : entries) {
    if (e.reservations.empty()) continue;
    absl::StatusOr<std::vector<VelocityReservation>> list =
        ParseReservations(e.reservations);
    if (!list.ok()) {
      return WithSeq(
          absl::DataLossError(absl::StrCat("audit record seq ", e.seq, ": ",
                                           list.status().message())),
          e.seq);
    }
    for (VelocityReservation& r : *list) {
      if (!seen.emplace(Key{e.request_id, r.scope}, true).second) continue;
      out.push_back({e.seq, VelocityRow{e.request_id, std::move(r)}});
    }
  }
  return out;
}

absl::Status VerifyVelocityRows(const std::vector<AuditEntry>& entries,
                                const std::vector<VelocityRow>& rows) {
  using Key = std::pair<std::string, std::string>;  // (request id, scope)
  std::map<Key, const VelocityReservation*> by_key;
  for (const VelocityRow& row : rows) {
    by_key[{row.request_id, row.reservation.scope}] = &row.reservation;
  }
  KAGI_ASSIGN_OR_RETURN(auto signed_rows, SignedVelocityRows(entries));
  for (const auto& [seq, row] : signed_rows) {
    auto it = by_key.find({row.request_id, row.reservation.scope});
    const std::string who = absl::StrCat(
        "velocity reservation of request '", row.request_id, "' (scope '",
        row.reservation.scope, "', signed in audit record seq ", seq, ")");
    if (it == by_key.end()) {
      return WithSeq(absl::DataLossError(absl::StrCat(
                         who, " is missing from the velocity table")),
                     seq);
    }
    if (it->second->amount != row.reservation.amount ||
        it->second->unix_time != row.reservation.unix_time) {
      return WithSeq(
          absl::DataLossError(absl::StrCat(
              who, " differs in the velocity table (amount or time edited)")),
          seq);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<uint64_t, BanRow>>> SignedBans(
    const std::vector<AuditEntry>& entries) {
  std::map<Bytes, std::pair<uint64_t, BanRow>> current;
  for (const AuditEntry& e : entries) {
    const bool ban = e.operation == kAuditBanOperation;
    if (!ban && e.operation != kAuditBanLiftOperation) continue;
    absl::StatusOr<Bytes> key = HexDecode(e.parties);
    if (!key.ok() || key->empty()) {
      return WithSeq(absl::DataLossError(absl::StrCat(
                         "audit record seq ", e.seq,
                         ": ban record with a malformed party key")),
                     e.seq);
    }
    if (!ban) {
      current.erase(*key);
    } else if (current.count(*key) == 0) {
      current.emplace(
          *key, std::make_pair(e.seq, BanRow{*key, e.outcome, e.unix_time}));
    }
  }
  std::vector<std::pair<uint64_t, BanRow>> out;
  for (auto& [key, ban] : current) out.push_back(std::move(ban));
  return out;
}

absl::Status VerifyBanRows(const std::vector<AuditEntry>& entries,
                           const std::vector<BanRow>& rows) {
  std::set<Bytes> banned;
  for (const BanRow& r : rows) banned.insert(r.party_key);
  KAGI_ASSIGN_OR_RETURN(auto bans, SignedBans(entries));
  for (const auto& [seq, ban] : bans) {
    if (banned.count(ban.party_key) == 0) {
      return WithSeq(absl::DataLossError(
                         absl::StrCat("ban of party ", HexEncode(ban.party_key),
                                      " (signed in audit record seq ", seq,
                                      ") is missing from the ban table")),
                     seq);
    }
  }
  return absl::OkStatus();
}

}  // namespace kagi::storage
