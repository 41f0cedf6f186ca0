// File: libs/protocol/round.h
//
// What flows in and out of a protocol state machine, and the round-2 echo.
//
// A protocol party (DkgParty, SignParty) is a sans-I/O state machine: the
// driver (the node's session driver, the in-memory simulation) collects one
// round's verified envelopes with a RoundCollector and hands them to
// `Advance`; the party answers with the next round's envelopes, already
// signed through its EnvelopeSigner. It never does I/O, reads a clock or
// draws from a global RNG.
//
// Echo (PROTOCOL.md §3.1): round 2 of every operation carries the round-1
// broadcast envelopes its sender received, in id order (the spec's
// echo_i = H("echo", sid, envelopes) over exactly these bytes, sent in full).
// Carrying the envelopes rather than only their hash makes equivocation
// attributable at once: if a reporter's copy of party j's round-1 envelope
// differs from ours and is validly signed by j for the same slot, j signed
// two different round-1 messages (blame j, with both as evidence); if it is
// not validly signed, the reporter forged it (blame the reporter).
#ifndef KAGI_LIBS_PROTOCOL_ROUND_H_
#define KAGI_LIBS_PROTOCOL_ROUND_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/crypto/schnorr.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/ids.h"

namespace kagi::protocol {

// One round's verified input: one broadcast and/or one direct envelope per
// peer, as the round expects (RoundCollector::broadcasts/directs).
struct RoundInput {
  std::map<uint32_t, Envelope> broadcasts;
  std::map<uint32_t, Envelope> directs;
};

// What a party expects in one round.
struct RoundSpec {
  uint32_t round = 0;
  bool broadcast = false;
  bool direct = false;
};

// The interface the drivers use.
class RoundProtocol {
 public:
  virtual ~RoundProtocol() = default;
  virtual Op op() const = 0;
  virtual uint32_t self() const = 0;
  // The other parties of the session.
  virtual const std::vector<uint32_t>& peers() const = 0;
  // The round whose messages the party waits for now (0 when finished).
  virtual RoundSpec expecting() const = 0;
  // Start returns the round-1 envelopes. Call once.
  virtual absl::StatusOr<std::vector<Envelope>> Start() = 0;
  // Advance consumes the complete input of expecting().round and returns the
  // next round's envelopes (possibly none). After any error the party is
  // aborted and every later call returns that error.
  virtual absl::StatusOr<std::vector<Envelope>> Advance(
      const RoundInput& input) = 0;
  virtual bool finished() const = 0;
};

// EncodeEcho serialises the round-1 broadcasts of every party (own included),
// in id order.
Bytes EncodeEcho(const std::map<uint32_t, Envelope>& round1);

// CheckEcho compares `reporter`'s echo with our round-1 view. Errors are
// class-B aborts naming the equivocator or the reporter (see the file
// comment). `expected` lists every party id of the session.
absl::Status CheckEcho(ByteSpan echo, uint32_t reporter,
                       const std::map<uint32_t, Envelope>& mine,
                       const IdentityVerifier& verifier);

// CheckRound1Session checks a round-1 envelope's session field against our
// sid0. A mismatch aborts WITHOUT a culprit (class B, no blame): a replayed
// old round 1 and a coordinator that handed the sender a different setup look
// exactly alike, and blaming would let a malicious coordinator make honest
// nodes blame each other (ToB #8). From round 2 on, after the echo, a wrong
// sid is the sender's own fault and is blamed.
absl::Status CheckRound1Session(const Envelope& e,
                                const std::array<uint8_t, 32>& sid0);

// SignRoundEnvelope signs `payload` as party `from`'s message of `round`:
// the session field is sid0 in round 1 and sid afterwards.
Envelope SignRoundEnvelope(const EnvelopeSigner& signer, Op op, uint32_t round,
                           const std::array<uint8_t, 32>& sid0,
                           const std::array<uint8_t, 32>& sid, uint32_t to,
                           Bytes payload);

// CheckSession blames the sender of an envelope (round 2 on) that carries
// another session id than `sid`.
absl::Status CheckSession(const Envelope& e,
                          const std::array<uint8_t, 32>& sid);

// CheckRoundComplete: every peer sent each kind the round expects, and no
// one else did. A missing message is a class-A timeout with no culprit
// (PROTOCOL.md §3.10).
absl::Status CheckRoundComplete(const RoundInput& in,
                                const std::vector<uint32_t>& peers,
                                bool broadcast, bool direct);

// CheckEchoes runs CheckEcho on the echo that opens each envelope of
// `envelopes` (one per peer) and returns, per sender, the payload after the
// echo. Run it before any session check of round 2 (see CheckEcho).
using PayloadRest = std::map<uint32_t, ByteSpan>;
absl::StatusOr<PayloadRest> CheckEchoes(
    const std::map<uint32_t, Envelope>& envelopes,
    const std::vector<uint32_t>& peers,
    const std::map<uint32_t, Envelope>& round1,
    const IdentityVerifier& verifier);

// MakePokContext binds a proof of knowledge to the session, its purpose, its
// prover and the coefficient index (crypto/schnorr.h). Spans are borrowed.
crypto::PokContext MakePokContext(const std::array<uint8_t, 32>& sid,
                                  uint32_t prover, absl::string_view label,
                                  uint32_t index, ByteSpan extra);

// ReadEcho splits a payload into the echo and the rest.
absl::StatusOr<ByteSpan> ReadEcho(ByteReader& r);

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_ROUND_H_
