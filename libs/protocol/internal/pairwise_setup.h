// File: libs/protocol/internal/pairwise_setup.h  (not API)
//
// The pairwise material DKG and reshare leave in every new share
// (KeyShare::pairwise, PROTOCOL.md §3.4): for each pair of holders, base OT
// in both directions and the zero-share seed κ.
//
//   R2 out  Start:   base-OT msg1 of (A = own, B = peer)
//   R2 in   Respond: the peer's msg1 of (A = peer, B = own) → our msg2
//   R3 out  Reply:   msg2 ‖ κ when own < peer
//   R3 in   Finish:  the peer's msg2 (‖ κ when peer < own) → PairwiseMaterial
//
// Peers are keyed by participant id (whom an error blames); OT ids are the
// holders' ids in the new share (the same in a DKG, the new ids in a
// reshare). Every secret lives in wiping types; Wipe drops them at once.
#ifndef KAGI_LIBS_PROTOCOL_INTERNAL_PAIRWISE_SETUP_H_
#define KAGI_LIBS_PROTOCOL_INTERNAL_PAIRWISE_SETUP_H_

#include <array>
#include <cstdint>
#include <map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/mpc/base_ot.h"
#include "libs/protocol/keyshare.h"

namespace kagi::protocol::internal {

class PairwiseSetup {
 public:
  // Bytes of the R3 reply a holder with OT id `from` sends to `to`.
  static size_t ReplyBytes(uint32_t from, uint32_t to) {
    return mpc::kBaseOtMessageBytes + (from < to ? 32 : 0);
  }

  // `sid` is the session id (sid, after round 1); `own` our OT id.
  void Begin(const std::array<uint8_t, 32>& sid, uint32_t own) {
    sid_ = sid;
    own_ = own;
  }
  // Start returns msg1 of (A = own, B = peer_ot) for participant `p`.
  Bytes Start(uint32_t p, uint32_t peer_ot, Rng& rng);
  // Respond answers participant p's msg1 of (A = peer_ot, B = own).
  absl::Status Respond(uint32_t p, uint32_t peer_ot, ByteSpan msg1, Rng& rng);
  // Reply is our R3 message to p: msg2 ‖ κ (when own < peer_ot).
  Bytes Reply(uint32_t p, uint32_t peer_ot, Rng& rng);
  // Finish takes p's R3 reply (ReplyBytes(peer_ot, own) bytes, checked by
  // the caller) and returns the pair's material, `peer` = peer_ot.
  absl::StatusOr<PairwiseMaterial> Finish(uint32_t p, uint32_t peer_ot,
                                          ByteSpan reply);
  void Wipe();

 private:
  std::array<uint8_t, 32> sid_{};
  uint32_t own_ = 0;
  std::map<uint32_t, mpc::BaseOtReceiver> receivers_;    // (A = own, B = p)
  std::map<uint32_t, mpc::BaseOtSenderResult> senders_;  // (A = p, B = own)
  std::map<uint32_t, SecretBytes> zero_seeds_;
};

}  // namespace kagi::protocol::internal

#endif  // KAGI_LIBS_PROTOCOL_INTERNAL_PAIRWISE_SETUP_H_
