// File: libs/protocol/internal/dkg_messages.h  (not API)
//
// The DKG's round messages (PROTOCOL.md §3.4, dkg.h), one struct each, with
// the encoding and a decoder that blames the sender for any malformed
// payload. Round 1 is CommitMessage (round_messages.h), round 3's direct
// message the pairwise reply (pairwise_setup.h), round 4 the ack
// (ack_round.h).
#ifndef KAGI_LIBS_PROTOCOL_INTERNAL_DKG_MESSAGES_H_
#define KAGI_LIBS_PROTOCOL_INTERNAL_DKG_MESSAGES_H_

#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/crypto/schnorr.h"
#include "libs/protocol/internal/round_messages.h"

namespace kagi::protocol::internal {

// R2 broadcast, after the echo: A_i (t points) ‖ cc_i ‖ ρ_i ‖ t PoKs.
struct DkgOpening {
  std::vector<crypto::Point> a;
  Hash32 cc{};
  Hash32 rho{};
  std::vector<crypto::SchnorrProof> poks;

  Bytes Encode() const;
  static absl::StatusOr<DkgOpening> Decode(ByteSpan body, uint32_t t,
                                           uint32_t sender);
};

// R2 direct: σ_{i→j} = f_i(j) ‖ base-OT msg1 of (A = i, B = j). σ is a
// Shamir share (secret; Scalar wipes itself).
struct DkgShareMessage {
  crypto::Scalar sigma;
  ByteSpan ot_msg1;  // borrowed from the payload

  static Bytes Encode(const crypto::Scalar& sigma, ByteSpan ot_msg1);
  static absl::StatusOr<DkgShareMessage> Decode(ByteSpan payload,
                                                uint32_t sender);
};

// R3 broadcast: PoK of x_i ‖ view hash.
struct DkgShareProof {
  crypto::SchnorrProof pok{crypto::Point::Generator(), crypto::Scalar()};
  Hash32 view{};

  Bytes Encode() const;
  static absl::StatusOr<DkgShareProof> Decode(ByteSpan payload,
                                              uint32_t sender);
};

}  // namespace kagi::protocol::internal

#endif  // KAGI_LIBS_PROTOCOL_INTERNAL_DKG_MESSAGES_H_
