// File: libs/protocol/common/setup.h
//
// The setup record S of PROTOCOL.md §3.1: what a session is about (operation,
// key, epoch, the exact party list with identity keys, t, and for SIGN the
// signer set, the items to sign and the request digest), plus the initiator's
// nonce and an expiry. Every node validates S itself and never trusts the
// coordinator that sent it; sid0 = H("setup", EncodeSetup(S)).
//
// Canonical encoding (all integers big-endian, fixed width):
//
//   u8 version ‖ u8 op ‖ key_id[32] ‖ u64 epoch
//   ‖ u32 n ‖ n × (u32 id ‖ identity_key[32])
//   ‖ u32 threshold
//   ‖ u32 |signers| ‖ |signers| × u32
//   ‖ u32 |items| ‖ |items| × (digest[32] ‖ u32 depth ‖ depth × u32)
//   ‖ request_digest[32] ‖ initiator_nonce[32] ‖ u64 expiry_unix_seconds
//
// The encoding is a pure function of the struct, so equal setups give equal
// bytes and equal sid0s. Checking `expiry_unix_seconds` against a clock and S
// against local policy is the caller's job (this layer does no I/O).
#ifndef KAGI_LIBS_PROTOCOL_COMMON_SETUP_H_
#define KAGI_LIBS_PROTOCOL_COMMON_SETUP_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/protocol/common/ids.h"

namespace kagi::protocol {

// kSetupVersion is the only setup version this code accepts.
inline constexpr uint8_t kSetupVersion = 1;

// PartyInfo is one party of a session: its id (also its Shamir x-coordinate)
// and its pinned Ed25519 identity public key.
struct PartyInfo {
  uint32_t id = 0;
  std::array<uint8_t, 32> identity_key{};
};

// SignItem is one digest to sign and the non-hardened BIP32 path (relative to
// the DKG key) of the key to sign it with.
struct SignItem {
  std::array<uint8_t, 32> digest{};
  std::vector<uint32_t> path;
};

// SessionSetup is the setup record S. See ValidateSetup for the rules.
// RESHARE: a participant's roles. A dealer has its old (epoch e) id; a
// member of the new committee has its new id; a node can be both.
struct ReshareRole {
  uint32_t old_id = 0;  // 0: not a dealer
  uint32_t new_id = 0;  // 0: not in the new committee
};

struct SessionSetup {
  uint8_t version = kSetupVersion;
  Op op = Op::kDkg;
  std::array<uint8_t, 32> key_id{};  // zero for DKG
  uint64_t epoch = 0;
  std::vector<PartyInfo> parties;  // ids exactly 1..n in order
  uint32_t threshold = 0;          // t
  // SIGN only: strictly increasing subset of the ids, exactly t entries.
  std::vector<uint32_t> signers;
  std::vector<SignItem> items;                // SIGN only: 1..kMaxSignItems
  std::array<uint8_t, 32> request_digest{};   // SIGN only: binds the request
  std::array<uint8_t, 32> initiator_nonce{};  // fresh per session
  uint64_t expiry_unix_seconds = 0;
  // RESHARE only. `parties` are the session's participants (dealers and new
  // members, ids 1..m); `threshold` is the NEW threshold t'.
  std::vector<ReshareRole> reshare_roles;  // one per party, in order
  uint32_t old_threshold = 0;              // t of epoch `epoch` = #dealers

  // n returns the number of parties.
  uint32_t n() const { return static_cast<uint32_t>(parties.size()); }
  // HasParty reports whether `id` is one of the parties.
  bool HasParty(uint32_t id) const { return Party(id) != nullptr; }
  // Party returns the party with this id, or null. The pointer is owned by
  // this setup and valid until `parties` is modified.
  const PartyInfo* Party(uint32_t id) const;
};

// ValidateSetup checks the structural rules of S:
//   * version is kSetupVersion and op is a known Op;
//   * 2 ≤ t ≤ n ≤ kMaxParties and the party ids are exactly 1..n in order;
//   * the identity keys are pairwise distinct (one key holding two shares
//     would defeat the threshold);
//   * SIGN: signers strictly increasing, each a party, exactly t of them
//     [ToB-SL #15]; 1 ≤ |items| ≤ kMaxSignItems; every path at most
//     kMaxPathDepth deep with every index < 2^31 (hardened is an error);
//   * DKG / RESHARE: signers and items empty;
//   * RESHARE: one role per participant, each with at least one role;
//     exactly old_threshold (>= 2) dealers with distinct old ids in
//     1..kMaxParties; new ids exactly 1..n' (n' >= 2), each once; 2 <= t' <=
//     n';
//   * other ops: no roles and old_threshold 0.
// Returns InvalidArgument naming the field ("setup.signers: ...").
absl::Status ValidateSetup(const SessionSetup& setup);

// EncodeSetup returns the canonical encoding above. It does not validate.
Bytes EncodeSetup(const SessionSetup& setup);

// DecodeSetup parses a canonical encoding strictly: exact lengths, no
// trailing bytes, every count bounded before anything is allocated for it,
// then ValidateSetup. Returns InvalidArgument naming the field at fault.
absl::StatusOr<SessionSetup> DecodeSetup(ByteSpan bytes);

// Sid0 returns sid0 = H("setup", EncodeSetup(setup)) (Tag::kSetup).
std::array<uint8_t, 32> Sid0(const SessionSetup& setup);

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_COMMON_SETUP_H_
