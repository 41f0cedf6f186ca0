#include "libs/protocol/message_bounds.h"

#include <algorithm>

#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/crypto/schnorr.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/rvole.h"

namespace kagi::protocol {
namespace {

constexpr size_t kPoint = crypto::Point::kCompressedBytes;
constexpr size_t kScalar = crypto::Scalar::kBytes;
constexpr size_t kPok = crypto::SchnorrProof::kBytes;
constexpr size_t kHash = 32;
constexpr size_t kU32 = 4;
// Round 1 of every operation: nonce ‖ commitment (a reshare member that is
// not a dealer sends the nonce only).
constexpr size_t kRound1Payload = 32 + kHash;
constexpr size_t kRound1Envelope = kEnvelopeOverheadBytes + kRound1Payload;
// The activation ack of DKG and reshare round 4 (activation.h).
constexpr size_t kAck = kHash;

// The echo of round 2, length-prefixed: u32 count ‖ per party u32 len ‖ its
// round-1 envelope (without the commitment for a reshare non-dealer).
size_t Echo(const MessageShape& s) {
  const uint32_t dealers = std::min(s.dealers, s.parties);
  return kU32 + kU32 + s.parties * (kU32 + kRound1Envelope - kHash) +
         dealers * kHash;
}

// DKG and reshare share their rounds; they differ only in round 2's
// `context`: a DKG's extra hash, a reshare dealer's epoch-e public view.
size_t Dealing(uint32_t round, bool broadcast, const MessageShape& s,
               size_t context) {
  switch (round) {
    case 1:
      return broadcast ? kRound1Payload : 0;
    case 2:
      return broadcast ? Echo(s) + s.threshold * kPoint + context + kHash +
                             s.threshold * kPok
                       : kScalar + mpc::kBaseOtMessageBytes;
    case 3:
      return broadcast ? kPok + kHash : mpc::kBaseOtMessageBytes + kHash;
    case 4:
      return broadcast ? kAck : 0;
    default:
      return 0;
  }
}

size_t Dkg(uint32_t round, bool broadcast, const MessageShape& s) {
  return Dealing(round, broadcast, s, kHash);
}

size_t Sign(uint32_t round, bool broadcast, const MessageShape& s) {
  switch (round) {
    case 1:
      return broadcast ? kRound1Payload : 0;
    case 2:
      return broadcast ? 0 : Echo(s) + s.items * mpc::kRvoleMsg1Bytes;
    case 3:
      // ρ ‖ per item: msg2 ‖ R_i ‖ pk_i ‖ Γ_u ‖ Γ_v ‖ ψ.
      return broadcast ? 0
                       : kHash + s.items * (mpc::kRvoleMsg2Bytes + 4 * kPoint +
                                            kScalar);
    case 4:
      return broadcast ? s.items * 2 * kScalar : 0;
    default:
      return 0;
  }
}

size_t Reshare(uint32_t round, bool broadcast, const MessageShape& s) {
  // The epoch-e public view a dealer presents: X ‖ u32 ‖ X_1..X_c ‖ cc ‖ id.
  const size_t view = kPoint + kU32 + s.committee * kPoint + kHash + kHash;
  return Dealing(round, broadcast, s, view);
}

}  // namespace

MessageShape WorstShape(uint32_t nodes, uint32_t max_items) {
  MessageShape s;
  s.parties = std::min(nodes, kMaxParties);
  s.dealers = s.parties;
  s.threshold = s.parties;
  s.committee = s.parties;
  s.items = static_cast<uint32_t>(std::min<size_t>(max_items, kMaxSignItems));
  return s;
}

MessageShape ShapeOf(const SessionSetup& setup, const MessageShape& worst) {
  MessageShape s;
  s.parties = setup.op == Op::kSign
                  ? static_cast<uint32_t>(setup.signers.size())
                  : setup.n();
  s.dealers = setup.op == Op::kReshare ? setup.old_threshold : s.parties;
  s.threshold = setup.threshold;
  s.committee = worst.committee;
  s.items = static_cast<uint32_t>(setup.items.size());
  return s;
}

size_t MaxPayloadBytes(Op op, uint32_t round, bool broadcast,
                       const MessageShape& shape) {
  switch (op) {
    case Op::kDkg:
      return Dkg(round, broadcast, shape);
    case Op::kSign:
      return Sign(round, broadcast, shape);
    case Op::kReshare:
      return Reshare(round, broadcast, shape);
  }
  return 0;
}

size_t MaxEnvelopePayloadBytes(const MessageShape& shape) {
  size_t most = 0;
  for (Op op : {Op::kDkg, Op::kSign, Op::kReshare}) {
    for (uint32_t round = 1; round <= kLastRound; ++round) {
      for (bool broadcast : {true, false}) {
        most = std::max(most, MaxPayloadBytes(op, round, broadcast, shape));
      }
    }
  }
  return most;
}

}  // namespace kagi::protocol
