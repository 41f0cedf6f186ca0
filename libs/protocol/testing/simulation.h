// File: libs/protocol/testing/simulation.h
//
// TEST ONLY. An in-memory network that runs the parties of one session to
// completion: messages are delivered in an order shuffled by a seeded RNG,
// every party collects its rounds with a real RoundCollector and real
// Ed25519 envelope signatures, and an adversary hook may rewrite any
// outgoing envelope of any party (and re-sign it as that party, which is
// what a corrupted party can do), drop it, or duplicate it.
#ifndef KAGI_LIBS_PROTOCOL_TESTING_SIMULATION_H_
#define KAGI_LIBS_PROTOCOL_TESTING_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "libs/base/rng.h"
#include "libs/crypto/evp.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/dkg.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/reshare.h"
#include "libs/protocol/round.h"
#include "libs/protocol/sign.h"

namespace kagi::protocol::testing {

// Identity keys for parties 1..n, deterministic from a seed.
struct Identities {
  std::vector<std::unique_ptr<Ed25519EnvelopeSigner>> signers;  // index id-1
  std::vector<PartyInfo> parties;
  const EnvelopeSigner& signer(uint32_t id) const { return *signers[id - 1]; }
};
Identities MakeIdentities(uint32_t n, uint64_t seed);

// What the adversary hook may do with one outgoing envelope.
struct Outgoing {
  uint32_t from = 0;
  Envelope envelope;
  bool drop = false;              // do not deliver
  uint32_t transport_sender = 0;  // defaults to `from`; change to spoof
  std::vector<Envelope> extra;    // additional envelopes to deliver from `from`
  // Recipient id -> the envelope that recipient gets instead of `envelope`
  // (delivered whatever its `to`; ignored if `drop`): lets a corrupted party
  // equivocate, sending different signed broadcasts to different parties.
  std::map<uint32_t, Envelope> per_recipient;
  // Recipients that get nothing of `envelope` (nor a per-recipient version):
  // lets a corrupted party withhold a broadcast from some parties only.
  std::set<uint32_t> withhold_from;
};
using AdversaryHook = std::function<void(Outgoing&)>;

struct SimulationResult {
  std::map<uint32_t, absl::Status> status;  // per party: OK if finished
  // Bytes of encoded envelopes each party sent (a broadcast counts once).
  std::map<uint32_t, size_t> bytes_sent;
  // Wall time spent inside Start/Advance, per round handled (summed over
  // parties; single-threaded, so it is CPU time). Round 0 is Start.
  std::map<uint32_t, double> seconds_in_round;
};

// RunSession drives `parties` (all of one session) until every party has
// finished, failed, or can make no progress (then: class-A timeout status).
// `seed` shuffles delivery; it is printed by the caller on failure.
SimulationResult RunSession(std::vector<RoundProtocol*> parties,
                            const SessionSetup& setup, uint64_t seed,
                            const AdversaryHook& hook = nullptr);

// Resign re-signs `e` as its `from` party (after the hook changed it).
void Resign(const Identities& ids, Envelope& e);

// A whole DKG among parties 1..n.
struct DkgRun {
  Identities ids;
  SessionSetup setup;
  SimulationResult result;
  std::vector<KeyShare> shares;  // index id-1; filled for parties that finished
  bool ok() const;
};
DkgRun RunDkg(uint32_t t, uint32_t n, uint64_t seed,
              const AdversaryHook& hook = nullptr);
// The same with the given identities (parties 1..n).
DkgRun RunDkgWith(Identities ids, uint32_t t, uint64_t seed,
                  const AdversaryHook& hook = nullptr);

// The setup of a signing session for `signers` over `items`.
SessionSetup MakeSignSetup(const KeyShare& share, std::vector<uint32_t> signers,
                           std::vector<SignItem> items, uint64_t seed);

// Identities for the given 32-byte Ed25519 seeds, as parties 1..k in order
// (a physical node keeps its key across committees; its id changes).
Identities IdentitiesFromSeeds(const std::vector<Bytes>& seeds);

// A whole refresh/reshare session. `old_shares[p]` is participant p's
// epoch-e share or null. New shares come back indexed by new id - 1.
struct ReshareRun {
  SimulationResult result;
  std::vector<std::optional<KeyShare>> new_shares;
  bool ok() const;
};
ReshareRun RunReshare(const Identities& participants, const SessionSetup& setup,
                      const std::map<uint32_t, const KeyShare*>& old_shares,
                      uint64_t seed, const AdversaryHook& hook = nullptr);

// A whole signing session among setup.signers.
struct SignRun {
  SimulationResult result;
  std::map<uint32_t, std::vector<Signature>> signatures;
  std::map<uint32_t, std::vector<PresignatureId>> consumed;
  bool ok() const;
};
SignRun RunSign(const Identities& ids, const std::vector<KeyShare>& shares,
                const SessionSetup& setup, uint64_t seed,
                const AdversaryHook& hook = nullptr);

}  // namespace kagi::protocol::testing

#endif  // KAGI_LIBS_PROTOCOL_TESTING_SIMULATION_H_
