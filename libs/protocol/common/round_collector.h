// File: libs/protocol/common/round_collector.h
//
// RoundCollector gathers the envelopes of one round of one session and
// applies the first two checks of PROTOCOL.md §3.9:
//
//   1. Authentication. The envelope's `from` must equal the authenticated
//      transport peer, be one of the expected senders, and carry a valid
//      identity signature. Anything else is dropped silently and the round
//      keeps waiting: unauthenticated junk must never abort a session
//      [ToB-SL #14].
//   2. Routing. An authenticated envelope must have the expected version, op
//      and round, be addressed to this party or broadcast, and be of a kind
//      (broadcast / direct) the round expects; otherwise the sender is blamed
//      (class-B abort, libs/base/abort.h). The first envelope per (from, kind)
//      wins; a second one with different signed content is equivocation and
//      both are kept as evidence.
//
// The session field (sid0 or sid) is deliberately not checked: a mismatch has
// to be attributed with the round-2 echo, which is the protocol's job.
//
// Routing by round is the driver's job: a collector blames an authenticated
// sender for a different round, so a driver must buffer envelopes for later
// rounds (a faster peer may already be there) and hand each collector only its
// own round's envelopes.
//
// After Offer returns an error the session is aborted; the collector's state
// remains readable (for evidence) but is not meant to be offered more.
// Not thread-safe.
#ifndef KAGI_LIBS_PROTOCOL_COMMON_ROUND_COLLECTOR_H_
#define KAGI_LIBS_PROTOCOL_COMMON_ROUND_COLLECTOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/ids.h"

namespace kagi::protocol {

// OfferResult says what happened to an envelope that did not abort the round.
enum class OfferResult {
  kAccepted,   // filled an empty slot
  kDuplicate,  // same signed content as the envelope already in its slot
  kDropped,    // unauthenticated: ignored
};

// Equivocation is the evidence that `party` signed two different envelopes
// for the same slot: `first` is the one accepted, `second` the conflicting one.
struct Equivocation {
  uint32_t party = 0;
  Envelope first;
  Envelope second;
};

class RoundCollector {
 public:
  // Collects, for round `round` of an `op` session, exactly one broadcast
  // envelope (if expect_broadcast) and/or exactly one direct envelope
  // addressed to `self` (if expect_direct) from each party in `senders`.
  // `senders` must not contain `self` or duplicates, and at least one kind
  // must be expected (KAGI_CHECK). `verifier` is not owned and must outlive
  // the collector.
  RoundCollector(Op op, uint32_t round, uint32_t self,
                 std::vector<uint32_t> senders, bool expect_broadcast,
                 bool expect_direct, const IdentityVerifier* verifier);

  // Offer hands in one envelope received from `transport_sender`, the
  // authenticated peer identity of the connection it came on:
  //  * transport_sender != header.from, `from` not a sender, or a bad
  //    signature: kDropped;
  //  * authenticated, but wrong version, op or round, `to` neither self nor
  //    broadcast, or a kind this round does not expect: class-B abort
  //    blaming `from`;
  //  * the same signed content (header and payload) as the envelope in its
  //    slot: kDuplicate;
  //  * different signed content for a filled slot: class-B abort blaming
  //    `from` with reason "equivocation"; the pair is kept (equivocation()).
  // Otherwise the envelope fills its slot: kAccepted.
  absl::StatusOr<OfferResult> Offer(uint32_t transport_sender,
                                    const Envelope& envelope);

  // Complete reports whether every expected slot is filled.
  bool Complete() const { return Missing().empty(); }
  // Missing lists, in increasing order, the senders with an expected slot
  // still empty (for class-A timeout reports).
  std::vector<uint32_t> Missing() const;

  // The accepted envelopes, keyed by sender.
  const std::map<uint32_t, Envelope>& broadcasts() const { return broadcasts_; }
  const std::map<uint32_t, Envelope>& directs() const { return directs_; }
  // equivocation returns the first equivocation seen, if any.
  const std::optional<Equivocation>& equivocation() const {
    return equivocation_;
  }

 private:
  bool IsSender(uint32_t id) const;

  Op op_;
  uint32_t round_;
  uint32_t self_;
  std::vector<uint32_t> senders_;  // sorted
  bool expect_broadcast_;
  bool expect_direct_;
  const IdentityVerifier* verifier_;
  std::map<uint32_t, Envelope> broadcasts_;
  std::map<uint32_t, Envelope> directs_;
  std::optional<Equivocation> equivocation_;
};

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_COMMON_ROUND_COLLECTOR_H_
