// File: libs/protocol/message_bounds.h
//
// The largest legitimate payload of every message of every protocol, as a
// function of the session's public parameters. A receiver compares an
// envelope with its bound before it verifies or buffers anything, so a peer
// cannot make a node hold (or hash) more than the protocol could ever need
// (issue 13 §5; docs/threat-model.md "Peer quotas").
//
// The formulas follow the encoders (dkg.h, sign.h, reshare.h, activation.h
// and the OT-stack message sizes of libs/mpc) and are checked against the
// real parties' envelopes by message_bounds_test.cc. Every encoding is fixed
// length given the shape, so for the shape of a real session the bound is
// the exact size (a reshare dealer's and a pure member's messages differ;
// the bound is the larger).
//
//   op       round kind   payload bytes
//   any      1     bcast  32 nonce ‖ 32 commitment                      = 64
//   dkg      2     bcast  echo(n) ‖ t·33 ‖ 32 cc ‖ 32 ρ ‖ t·65 PoK
//   dkg      2     p2p    32 σ ‖ base-OT msg1 (16 928)
//   dkg      3     bcast  65 PoK ‖ 32 view
//   dkg      3     p2p    base-OT msg2 (16 928) ‖ 32 κ
//   dkg      4     bcast  32 ack (activation)
//   sign     2     p2p    echo(n) ‖ k·RVOLE msg1 (24 624)
//   sign     3     p2p    32 ρ ‖ k·(RVOLE msg2 (49 280) ‖ 4·33 ‖ 32 ψ)
//   sign     4     bcast  k·64
//   reshare  2     bcast  echo(m) ‖ t'·33 ‖ view(c) ‖ 32 ρ ‖ t'·65 PoK
//   reshare  2     p2p    32 g ‖ base-OT msg1
//   reshare  3     bcast  65 PoK ‖ 32 view hash
//   reshare  3     p2p    base-OT msg2 ‖ 32 κ
//   reshare  4     bcast  32 ack (activation)
//
// with echo(m) = 4 ‖ 4 ‖ m·(4 ‖ round-1 envelope (178; 146 for a reshare
// participant that deals no share, whose round 1 is its nonce only)), view(c) =
// 33 ‖ 4 ‖ c·33 ‖ 32 ‖ 32; n = the session's parties, t = its threshold (t' the
// new one), k = its sign items (sign: n = its signers), c = the size of the old
// committee. Every other
// (op, round, kind) has no legitimate message: bound 0.
#ifndef KAGI_LIBS_PROTOCOL_MESSAGE_BOUNDS_H_
#define KAGI_LIBS_PROTOCOL_MESSAGE_BOUNDS_H_

#include <cstddef>
#include <cstdint>

#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/ids.h"
#include "libs/protocol/common/setup.h"

namespace kagi::protocol {

// kEnvelopeOverheadBytes is what an encoded envelope adds to its payload:
// header, u32 length, Ed25519 signature.
inline constexpr size_t kEnvelopeOverheadBytes = kEnvelopeHeaderBytes + 4 + 64;

// kLastRound is the last round of every operation (4: DKG and reshare end
// with the activation ack, sign with the online shares).
inline constexpr uint32_t kLastRound = 4;

// MessageShape is what bounds a session's messages. The defaults are the
// largest any setup may have.
struct MessageShape {
  uint32_t parties = kMaxParties;    // n (sign: the signers)
  uint32_t dealers = kMaxParties;    // reshare: parties dealing (else all)
  uint32_t threshold = kMaxParties;  // DKG t; reshare the new t'
  uint32_t committee = kMaxParties;  // reshare: size of the old committee
  uint32_t items = kMaxSignItems;    // sign: digests signed
};

// WorstShape is the largest shape a session of a cluster of `nodes` nodes
// whose sessions sign at most `max_items` digests can have: what a node
// bounds envelopes of sessions it has not started with. Both are capped at
// the protocol's limits (kMaxParties, kMaxSignItems).
MessageShape WorstShape(uint32_t nodes, uint32_t max_items);

// ShapeOf is the shape of `setup`; the old committee's size, which a reshare
// setup does not carry, is taken as `worst.committee`.
MessageShape ShapeOf(const SessionSetup& setup, const MessageShape& worst);

// MaxPayloadBytes returns the largest legitimate payload of the message of
// `op` in `round` (a broadcast if `broadcast`, else a direct message) under
// `shape`, or 0 if the protocol has no such message.
size_t MaxPayloadBytes(Op op, uint32_t round, bool broadcast,
                       const MessageShape& shape);

// MaxEnvelopePayloadBytes is the largest MaxPayloadBytes over every op,
// round and kind under `shape`: the most a single envelope may carry.
size_t MaxEnvelopePayloadBytes(const MessageShape& shape);

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_MESSAGE_BOUNDS_H_
