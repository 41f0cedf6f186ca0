#include "libs/protocol/common/setup.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/check.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/transcript.h"

namespace kagi::protocol {
namespace {

constexpr uint32_t kHardenedBit = 0x80000000u;

absl::Status SetupError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("setup.", field, ": ", what));
}

uint32_t CountU32(size_t n) {
  KAGI_CHECK(n <= std::numeric_limits<uint32_t>::max());
  return static_cast<uint32_t>(n);
}

absl::Status ValidateSignFields(const SessionSetup& s) {
  if (s.signers.size() != s.threshold) {
    return SetupError("signers",
                      absl::StrCat("need exactly t=", s.threshold,
                                   " signers, got ", s.signers.size()));
  }
  for (size_t i = 0; i < s.signers.size(); ++i) {
    const uint32_t id = s.signers[i];
    if (id < 1 || id > s.n()) {
      return SetupError("signers",
                        absl::StrCat("signers[", i, "]=", id,
                                     " is not a party id in 1..", s.n()));
    }
    if (i > 0 && id <= s.signers[i - 1]) {
      return SetupError(
          "signers",
          absl::StrCat("not strictly increasing at signers[", i, "]=", id));
    }
  }
  if (s.items.empty() || s.items.size() > kMaxSignItems) {
    return SetupError("items", absl::StrCat("need 1..", kMaxSignItems,
                                            " items, got ", s.items.size()));
  }
  for (size_t i = 0; i < s.items.size(); ++i) {
    const std::vector<uint32_t>& path = s.items[i].path;
    if (path.size() > kMaxPathDepth) {
      return SetupError(
          absl::StrCat("items[", i, "].path"),
          absl::StrCat("depth ", path.size(), " exceeds ", kMaxPathDepth));
    }
    for (size_t k = 0; k < path.size(); ++k) {
      if ((path[k] & kHardenedBit) != 0) {
        return SetupError(absl::StrCat("items[", i, "].path[", k, "]"),
                          absl::StrCat("hardened index ", path[k],
                                       " cannot be derived by a threshold "
                                       "key"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

const PartyInfo* SessionSetup::Party(uint32_t id) const {
  for (const PartyInfo& p : parties) {
    if (p.id == id) {
      return &p;
    }
  }
  return nullptr;
}

namespace {

// The parties are exactly 1..n in order with distinct identity keys, and
// 2 ≤ t ≤ n ≤ kMaxParties.
absl::Status ValidateParties(const SessionSetup& s) {
  if (s.parties.size() > kMaxParties) {
    return SetupError("parties", absl::StrCat("n=", s.parties.size(),
                                              " exceeds ", kMaxParties));
  }
  for (size_t i = 0; i < s.parties.size(); ++i) {
    if (s.parties[i].id != i + 1) {
      return SetupError("parties",
                        absl::StrCat("parties[", i, "].id=", s.parties[i].id,
                                     ", ids must be exactly 1..n in order"));
    }
    for (size_t k = 0; k < i; ++k) {
      if (s.parties[k].identity_key == s.parties[i].identity_key) {
        return SetupError("parties",
                          absl::StrCat("parties ", k + 1, " and ", i + 1,
                                       " share an identity key"));
      }
    }
  }
  if (s.threshold < 2) {
    return SetupError("threshold",
                      absl::StrCat("t=", s.threshold, " must be at least 2"));
  }
  if (s.threshold > s.n()) {
    return SetupError("threshold",
                      absl::StrCat("t=", s.threshold, " exceeds n=", s.n()));
  }
  return absl::OkStatus();
}

// MarkRoleId records a reshare role's old or new id (`which`); 0 is none.
absl::Status MarkRoleId(uint32_t id, absl::string_view which,
                        std::vector<bool>& seen, uint32_t& count) {
  if (id == 0) {
    return absl::OkStatus();
  }
  if (id > kMaxParties || seen[id]) {
    return SetupError(
        "reshare_roles",
        absl::StrCat(which, " id ", id, " out of range or repeated"));
  }
  seen[id] = true;
  ++count;
  return absl::OkStatus();
}

// A reshare's roles: every participant deals, joins or both; old ids
// distinct, new ids exactly 1..n'; exactly t_old dealers; 2 ≤ t' ≤ n'.
absl::Status ValidateReshareRoles(const SessionSetup& s) {
  if (s.reshare_roles.size() != s.parties.size()) {
    return SetupError("reshare_roles", "one role per participant expected");
  }
  std::vector<bool> old_seen(kMaxParties + 1, false);
  std::vector<bool> new_seen(kMaxParties + 1, false);
  uint32_t dealers = 0;
  uint32_t members = 0;
  for (size_t i = 0; i < s.reshare_roles.size(); ++i) {
    const ReshareRole& r = s.reshare_roles[i];
    if (r.old_id == 0 && r.new_id == 0) {
      return SetupError("reshare_roles",
                        absl::StrCat("participant ", i + 1, " has no role"));
    }
    KAGI_RETURN_IF_ERROR(MarkRoleId(r.old_id, "old", old_seen, dealers));
    KAGI_RETURN_IF_ERROR(MarkRoleId(r.new_id, "new", new_seen, members));
  }
  for (uint32_t id = 1; id <= members; ++id) {
    if (!new_seen[id]) {
      return SetupError("reshare_roles", "new ids must be exactly 1..n'");
    }
  }
  if (s.old_threshold < 2 || dealers != s.old_threshold) {
    return SetupError(
        "old_threshold",
        absl::StrCat("exactly t_old dealers are required (t_old=",
                     s.old_threshold, ", dealers=", dealers, ")"));
  }
  if (members < 2 || s.threshold > members) {
    return SetupError(
        "threshold",
        absl::StrCat("t'=", s.threshold, " with n'=", members, " new members"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSetup(const SessionSetup& s) {
  if (s.version != kSetupVersion) {
    return SetupError("version", absl::StrCat("unsupported version ",
                                              static_cast<int>(s.version)));
  }
  if (!OpFromWire(static_cast<uint8_t>(s.op)).has_value()) {
    return SetupError("op",
                      absl::StrCat("unknown op ", static_cast<int>(s.op)));
  }
  KAGI_RETURN_IF_ERROR(ValidateParties(s));
  // Fields that do not apply to the op must be empty, so one operation has
  // exactly one encoding (and one sid0).
  if (s.op != Op::kReshare &&
      (!s.reshare_roles.empty() || s.old_threshold != 0)) {
    return SetupError("reshare_roles",
                      absl::StrCat("must be empty for ", OpName(s.op)));
  }
  if (s.op == Op::kDkg &&
      (s.key_id != std::array<uint8_t, 32>{} || s.epoch != 0)) {
    return SetupError("key_id", "a DKG has no key id or epoch yet");
  }
  if (s.op != Op::kSign && s.request_digest != std::array<uint8_t, 32>{}) {
    return SetupError("request_digest",
                      absl::StrCat("must be zero for ", OpName(s.op)));
  }
  if (s.op == Op::kSign) {
    return ValidateSignFields(s);
  }
  if (!s.signers.empty()) {
    return SetupError("signers",
                      absl::StrCat("must be empty for ", OpName(s.op)));
  }
  if (!s.items.empty()) {
    return SetupError("items",
                      absl::StrCat("must be empty for ", OpName(s.op)));
  }
  if (s.op != Op::kReshare) {
    if (!s.reshare_roles.empty() || s.old_threshold != 0) {
      return SetupError("reshare_roles",
                        absl::StrCat("must be empty for ", OpName(s.op)));
    }
    return absl::OkStatus();
  }
  return ValidateReshareRoles(s);
}

Bytes EncodeSetup(const SessionSetup& s) {
  ByteWriter w;
  w.PutU8(s.version);
  w.PutU8(static_cast<uint8_t>(s.op));
  w.PutRaw(s.key_id);
  w.PutU64(s.epoch);
  w.PutU32(CountU32(s.parties.size()));
  for (const PartyInfo& p : s.parties) {
    w.PutU32(p.id);
    w.PutRaw(p.identity_key);
  }
  w.PutU32(s.threshold);
  w.PutU32(CountU32(s.signers.size()));
  for (uint32_t id : s.signers) {
    w.PutU32(id);
  }
  w.PutU32(CountU32(s.items.size()));
  for (const SignItem& item : s.items) {
    w.PutRaw(item.digest);
    w.PutU32(CountU32(item.path.size()));
    for (uint32_t index : item.path) {
      w.PutU32(index);
    }
  }
  w.PutRaw(s.request_digest);
  w.PutRaw(s.initiator_nonce);
  w.PutU64(s.expiry_unix_seconds);
  w.PutU32(s.old_threshold);
  w.PutU32(CountU32(s.reshare_roles.size()));
  for (const ReshareRole& r : s.reshare_roles) {
    w.PutU32(r.old_id);
    w.PutU32(r.new_id);
  }
  return std::move(w).Take();
}

absl::StatusOr<SessionSetup> DecodeSetup(ByteSpan bytes) {
  ByteReader r(bytes);
  SessionSetup s;
  KAGI_ASSIGN_OR_RETURN(s.version, r.ReadU8("setup.version"));
  if (s.version != kSetupVersion) {
    // A different version may have a different layout: stop here.
    return SetupError("version", absl::StrCat("unsupported version ",
                                              static_cast<int>(s.version)));
  }
  KAGI_ASSIGN_OR_RETURN(const uint8_t op_byte, r.ReadU8("setup.op"));
  const std::optional<Op> op = OpFromWire(op_byte);
  if (!op.has_value()) {
    return SetupError("op",
                      absl::StrCat("unknown op ", static_cast<int>(op_byte)));
  }
  s.op = *op;
  KAGI_ASSIGN_OR_RETURN(s.key_id, r.ReadFixed<32>("setup.key_id"));
  KAGI_ASSIGN_OR_RETURN(s.epoch, r.ReadU64("setup.epoch"));

  KAGI_ASSIGN_OR_RETURN(const uint32_t n, r.ReadU32("setup.parties.count"));
  if (n > kMaxParties) {
    return SetupError("parties",
                      absl::StrCat("n=", n, " exceeds ", kMaxParties));
  }
  s.parties.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    PartyInfo p;
    KAGI_ASSIGN_OR_RETURN(p.id, r.ReadU32("setup.parties.id"));
    KAGI_ASSIGN_OR_RETURN(p.identity_key,
                          r.ReadFixed<32>("setup.parties.identity_key"));
    s.parties.push_back(p);
  }
  KAGI_ASSIGN_OR_RETURN(s.threshold, r.ReadU32("setup.threshold"));

  KAGI_ASSIGN_OR_RETURN(const uint32_t num_signers,
                        r.ReadU32("setup.signers.count"));
  if (num_signers > kMaxParties) {
    return SetupError("signers", absl::StrCat("count ", num_signers,
                                              " exceeds ", kMaxParties));
  }
  s.signers.reserve(num_signers);
  for (uint32_t i = 0; i < num_signers; ++i) {
    KAGI_ASSIGN_OR_RETURN(const uint32_t id, r.ReadU32("setup.signers"));
    s.signers.push_back(id);
  }

  KAGI_ASSIGN_OR_RETURN(const uint32_t num_items,
                        r.ReadU32("setup.items.count"));
  if (num_items > kMaxSignItems) {
    return SetupError(
        "items", absl::StrCat("count ", num_items, " exceeds ", kMaxSignItems));
  }
  s.items.reserve(num_items);
  for (uint32_t i = 0; i < num_items; ++i) {
    SignItem item;
    KAGI_ASSIGN_OR_RETURN(item.digest, r.ReadFixed<32>("setup.items.digest"));
    KAGI_ASSIGN_OR_RETURN(const uint32_t depth,
                          r.ReadU32("setup.items.path.depth"));
    if (depth > kMaxPathDepth) {
      return SetupError(
          absl::StrCat("items[", i, "].path"),
          absl::StrCat("depth ", depth, " exceeds ", kMaxPathDepth));
    }
    item.path.reserve(depth);
    for (uint32_t k = 0; k < depth; ++k) {
      KAGI_ASSIGN_OR_RETURN(const uint32_t index,
                            r.ReadU32("setup.items.path"));
      item.path.push_back(index);
    }
    s.items.push_back(std::move(item));
  }

  KAGI_ASSIGN_OR_RETURN(s.request_digest,
                        r.ReadFixed<32>("setup.request_digest"));
  KAGI_ASSIGN_OR_RETURN(s.initiator_nonce,
                        r.ReadFixed<32>("setup.initiator_nonce"));
  KAGI_ASSIGN_OR_RETURN(s.expiry_unix_seconds,
                        r.ReadU64("setup.expiry_unix_seconds"));
  KAGI_ASSIGN_OR_RETURN(s.old_threshold, r.ReadU32("setup.old_threshold"));
  KAGI_ASSIGN_OR_RETURN(const uint32_t num_roles,
                        r.ReadU32("setup.reshare_roles.count"));
  if (num_roles > kMaxParties) {
    return SetupError("reshare_roles", absl::StrCat("count ", num_roles,
                                                    " exceeds ", kMaxParties));
  }
  for (uint32_t i = 0; i < num_roles; ++i) {
    ReshareRole role;
    KAGI_ASSIGN_OR_RETURN(role.old_id, r.ReadU32("setup.reshare_roles.old"));
    KAGI_ASSIGN_OR_RETURN(role.new_id, r.ReadU32("setup.reshare_roles.new"));
    s.reshare_roles.push_back(role);
  }
  KAGI_RETURN_IF_ERROR(r.ExpectEnd("setup"));
  KAGI_RETURN_IF_ERROR(ValidateSetup(s));
  return s;
}

std::array<uint8_t, 32> Sid0(const SessionSetup& setup) {
  return crypto::Transcript(crypto::Tag::kSetup).Add(EncodeSetup(setup)).H();
}

}  // namespace kagi::protocol
