// File: libs/protocol/keyshare.h
//
// `KeyShare`: everything one party keeps for one wallet key after DKG or a
// reshare (PROTOCOL.md §3.4): key id, the DKG's session id, epoch, the party
// list with identity keys, t, this party's id and Shamir share x_i, the group
// key X, every public share X_m, the root chain code, and per peer j the
// pairwise OT material: the COTe-sender seeds of instance (A = self, B = j),
// the COTe-receiver seeds of instance (A = j, B = self) and the zero-share
// seed κ shared with j. Every OT seed is as secret as x_i.
//
// Serialization (`Serialize` / `Deserialize`) is versioned and
// self-describing: magic "KAGI-KS", a format version, then tagged,
// length-prefixed fields in a fixed order, then a SHA-256 checksum of all
// preceding bytes. Deserialize rejects any truncation, trailing bytes,
// unknown version, out-of-order or unknown field, wrong length, invalid
// point, non-canonical scalar, inconsistent content (x_i·G ≠ X_self, X ≠
// Lagrange-combination of the public shares) and checksum mismatch, with a
// reason. Serialized bytes contain the secret share: seal them (storage
// layer) and wipe them.
//
// Format versions:
//   1  fields 1..11 (key_id .. pairwise). Written before the uniform base-OT
//      fix (docs/protocol-notes.md, "Base OT: every published point is
//      uniform"): its OT material came from base OTs that leaked about half
//      of each pairwise Δ to the peer. Still accepted; decodes with
//      legacy_base_ot = true.
//   2  fields 1..11 as in version 1, then field 12, legacy_base_ot: one
//      byte, 0x00 or 0x01 (anything else is refused). Still accepted;
//      decodes with no network binding.
//   3  (current) fields 1..12 as in version 2, then field 13, networks: u32
//      count (at most kMaxShareNetworks), then per name u32 length (1..64)
//      and the name's bytes, strictly increasing (sorted, no duplicates).
//      Serialize always writes version 3.
// The flag is stored in the record, rather than inferred from the version,
// so that a legacy share that is re-serialized (e.g. re-sealed or migrated)
// stays marked until a refresh replaces its OT material. The network
// binding is stored inside the record for the same reason, and because the
// record is sealed: an edited database cannot change what a key may sign
// for.
#ifndef KAGI_LIBS_PROTOCOL_KEYSHARE_H_
#define KAGI_LIBS_PROTOCOL_KEYSHARE_H_

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/base/secret.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/mpc/base_ot.h"
#include "libs/protocol/common/setup.h"

namespace kagi::protocol {

// The OT material one party holds for one peer.
struct PairwiseMaterial {
  uint32_t peer = 0;
  mpc::CoteSenderSeeds as_sender;      // instance (A = self, B = peer)
  mpc::CoteReceiverSeeds as_receiver;  // instance (A = peer, B = self)
  SecretBytes zero_seed;               // κ between self and peer, 32 bytes
};

// The most network names a share records (policy::kMaxBoundNetworks).
inline constexpr size_t kMaxShareNetworks = 16;

struct KeyShare {
  std::array<uint8_t, 32> key_id{};
  std::array<uint8_t, 32> sid_key{};  // the DKG (or reshare) session id
  uint64_t epoch = 0;
  uint32_t self = 0;
  uint32_t threshold = 0;
  std::vector<PartyInfo> parties;                         // ids 1..n
  crypto::Scalar secret_share;                            // x_i
  crypto::Point public_key = crypto::Point::Generator();  // X
  std::vector<crypto::Point> public_shares;  // X_1..X_n (index m-1)
  std::array<uint8_t, 32> chain_code{};      // root chain code cc
  std::vector<PairwiseMaterial> pairwise;    // one per peer, by peer id
  // legacy_base_ot is true when this share's pairwise OT material was made
  // by the old base OT whose random point always had an even y, so the peer
  // learned about half of each Δ: set when decoding a version-1 record, kept
  // by every later Serialize/Deserialize. False for every share produced by
  // DKG or by a refresh/reshare (which runs fresh base OTs). A node must
  // report such keys; the operator must refresh them (docs/rotation.md).
  bool legacy_base_ot = false;
  // networks is the key's network binding (libs/policy/networks.h), sorted:
  // the networks the admin quorum approved at creation, carried through
  // every refresh and reshare. Empty for a share made before bindings
  // (format versions 1 and 2): such a share signs nothing.
  std::vector<std::string> networks;

  uint32_t n() const { return static_cast<uint32_t>(parties.size()); }
  const PairwiseMaterial* Pairwise(uint32_t peer) const;

  // Serialize returns the self-describing encoding (contains secrets).
  SecretBytes Serialize() const;
  static absl::StatusOr<KeyShare> Deserialize(ByteSpan bytes);

  friend std::ostream& operator<<(std::ostream& os, const KeyShare& s) {
    return os << "KeyShare(party " << s.self << " of " << s.n()
              << ", t=" << s.threshold << ", epoch " << s.epoch
              << ", <secrets redacted>)";
  }
};

// ComputeKeyId returns H("keyid", X, cc, party list, t).
std::array<uint8_t, 32> ComputeKeyId(const crypto::Point& public_key,
                                     const std::array<uint8_t, 32>& chain_code,
                                     const std::vector<PartyInfo>& parties,
                                     uint32_t threshold);

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_KEYSHARE_H_
