// File: libs/protocol/internal/reshare_messages.h  (not API)
//
// The reshare's round messages (PROTOCOL.md §3.5, reshare.h), one struct
// each, with the encoding and a decoder that blames the sender for any
// malformed payload. Round 1 is CommitMessage (round_messages.h, the
// commitment only from dealers), round 3's direct message the pairwise
// reply (pairwise_setup.h), round 4 the ack (ack_round.h).
#ifndef KAGI_LIBS_PROTOCOL_INTERNAL_RESHARE_MESSAGES_H_
#define KAGI_LIBS_PROTOCOL_INTERNAL_RESHARE_MESSAGES_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/crypto/schnorr.h"
#include "libs/protocol/internal/round_messages.h"

namespace kagi::protocol::internal {

// The epoch-e public data a dealer presents: X, X_1..X_n, cc, key_id.
struct PublicView {
  crypto::Point x = crypto::Point::Generator();
  std::vector<crypto::Point> shares;
  Hash32 chain_code{};
  Hash32 key_id{};

  Bytes Encode() const;
  // Reads a view from `r` (not blamed: the caller blames).
  static absl::StatusOr<PublicView> Read(ByteReader& r);
  bool operator==(const PublicView& o) const { return Encode() == o.Encode(); }
};

// R2 broadcast of a dealer, after the echo: A' (t' points) ‖ its epoch-e
// PublicView ‖ ρ ‖ t' PoKs. A non-dealer sends the echo alone.
struct ReshareOpening {
  std::vector<crypto::Point> a;
  PublicView view;
  Hash32 rho{};
  std::vector<crypto::SchnorrProof> poks;

  Bytes Encode() const;
  static absl::StatusOr<ReshareOpening> Decode(ByteSpan body, uint32_t t_new,
                                               uint32_t sender);
};

// R2 direct: [g_p(new id of the recipient), when a dealer sends to a member]
// ‖ [base-OT msg1, when both are members]. g is a Shamir share (secret).
struct ReshareShareMessage {
  std::optional<crypto::Scalar> g;
  ByteSpan ot_msg1;  // borrowed; empty when absent

  static Bytes Encode(const std::optional<crypto::Scalar>& g, ByteSpan ot_msg1);
  static absl::StatusOr<ReshareShareMessage> Decode(ByteSpan payload,
                                                    uint32_t sender,
                                                    bool has_share,
                                                    bool has_ot);
};

// R3 broadcast: [PoK of the new share, from a member] ‖ view hash.
struct ReshareShareProof {
  std::optional<crypto::SchnorrProof> pok;
  Hash32 view{};

  Bytes Encode() const;
  static absl::StatusOr<ReshareShareProof> Decode(ByteSpan payload,
                                                  uint32_t sender, bool member);
};

}  // namespace kagi::protocol::internal

#endif  // KAGI_LIBS_PROTOCOL_INTERNAL_RESHARE_MESSAGES_H_
