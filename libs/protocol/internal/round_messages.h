// File: libs/protocol/internal/round_messages.h  (not API)
//
// Pieces of the round messages that DKG, sign and reshare share: the size
// check that blames the sender, fixed point lists, and round 1 (nonce ‖
// commitment, PROTOCOL.md §3.1) with the record every later round reads
// (the envelopes for the echo and the sid, the commitments to open).
#ifndef KAGI_LIBS_PROTOCOL_INTERNAL_ROUND_MESSAGES_H_
#define KAGI_LIBS_PROTOCOL_INTERNAL_ROUND_MESSAGES_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/crypto/point.h"
#include "libs/crypto/schnorr.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/round.h"

namespace kagi::protocol::internal {

using Hash32 = std::array<uint8_t, 32>;

// ExpectSize blames `sender` unless got == want; the error reads
// "<what><want> bytes, got <got>" ("dkg round 1: payload must be 64 bytes,
// got 3").
absl::Status ExpectSize(uint32_t sender, size_t got, size_t want,
                        absl::string_view what);

// Points concatenated, compressed.
Bytes EncodePoints(const std::vector<crypto::Point>& pts);
// `count` compressed points read from `r`, each named `field`; any fault
// blames `sender`.
absl::StatusOr<std::vector<crypto::Point>> ReadPoints(ByteReader& r,
                                                      size_t count,
                                                      absl::string_view field,
                                                      uint32_t sender);
// `count` Schnorr proofs read from `r`, each named `field`; any fault
// blames `sender`.
absl::StatusOr<std::vector<crypto::SchnorrProof>> ReadProofs(
    ByteReader& r, size_t count, absl::string_view field, uint32_t sender);
// Decodes one 32-byte canonical scalar, blaming `sender`.
absl::StatusOr<crypto::Scalar> ReadScalar(ByteSpan bytes,
                                          absl::string_view field,
                                          uint32_t sender);

// Round 1: nonce ‖ C (C absent for a reshare participant that deals
// nothing).
struct CommitMessage {
  Hash32 nonce{};
  std::optional<Hash32> commitment;

  Bytes Encode() const;
  // `what` prefixes the size error ("sign P1").
  static absl::StatusOr<CommitMessage> Decode(ByteSpan payload, uint32_t sender,
                                              bool with_commitment,
                                              absl::string_view what);
};

// Round1Record: every party's round-1 envelope (own included) and the
// commitments they carry.
struct Round1Record {
  std::map<uint32_t, Envelope> envelopes;
  std::map<uint32_t, Hash32> commitments;

  void AddOwn(uint32_t self, const Envelope& e, const CommitMessage& m);
  // Collect checks that every peer sent one round-1 broadcast, bound to
  // sid0 (CheckRound1Session) and of the right shape (`with_commitment`
  // says whether a peer commits), and records it.
  absl::Status Collect(const RoundInput& in, const std::vector<uint32_t>& peers,
                       const Hash32& sid0,
                       const std::function<bool(uint32_t)>& with_commitment,
                       absl::string_view what);
  // The round-1 payloads in id order (what the sid hashes).
  std::vector<ByteSpan> Payloads() const;
};

}  // namespace kagi::protocol::internal

#endif  // KAGI_LIBS_PROTOCOL_INTERNAL_ROUND_MESSAGES_H_
