// File: libs/protocol/internal/ack_round.h  (not API)
//
// Round 4 of DKG and reshare (PROTOCOL.md §3.4): every participant
// broadcasts ack = AckDigest(view) (activation.h) and checks everyone
// else's.
#ifndef KAGI_LIBS_PROTOCOL_INTERNAL_ACK_ROUND_H_
#define KAGI_LIBS_PROTOCOL_INTERNAL_ACK_ROUND_H_

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/protocol/round.h"
#include "libs/protocol/share_party.h"

namespace kagi::protocol::internal {

// SendAck signs our ack of `out.view` (round 4, broadcast) and keeps it.
std::vector<Envelope> SendAck(
    ShareOutcome& out,
    const std::function<Envelope(uint32_t, uint32_t, Bytes)>& sign);

// CheckAcks records every received ack (as evidence), then checks the round
// is complete, bound to `sid`, and that each ack is ours; a differing ack
// blames its sender with `mismatch`. On success it builds the certificate
// from the acks of `holders` (participant ids, in new-id order) and returns
// the (empty) output of this last round.
absl::StatusOr<std::vector<Envelope>> CheckAcks(
    ShareOutcome& out, const RoundInput& in, const std::vector<uint32_t>& peers,
    const std::array<uint8_t, 32>& sid, uint32_t self,
    const std::vector<uint32_t>& holders, absl::string_view mismatch);

}  // namespace kagi::protocol::internal

#endif  // KAGI_LIBS_PROTOCOL_INTERNAL_ACK_ROUND_H_
