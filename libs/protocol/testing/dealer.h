// File: libs/protocol/testing/dealer.h
//
// TEST ONLY — TRUSTED-DEALER FIXTURE. This code holds the WHOLE private key
// and hands out Shamir shares of it. That is exactly what a threshold wallet
// exists to avoid, so it must never be linked into any binary: only test
// targets may depend on it (PROTOCOL.md §5, the BIP32 end-to-end fixtures,
// which need a known xprv as the root so that the derived keys can be checked
// against the published BIP32 vectors).
//
// `DealShares` produces key shares that are indistinguishable in form from
// DKG output (PROTOCOL.md §3.4): Shamir shares over x-coordinates 1..n, the
// group key and every public share, the chain code, key id, sid_key, epoch 0,
// and real pairwise OT material from running the real base OT (libs/mpc) for
// every ordered pair, plus one zero-share seed κ per unordered pair. The
// shares can therefore be used with the real signing protocol.
//
// Everything is deterministic in `seed` (InsecureDeterministicRng), which is
// one more reason this is for tests only.
#ifndef KAGI_LIBS_PROTOCOL_TESTING_DEALER_H_
#define KAGI_LIBS_PROTOCOL_TESTING_DEALER_H_

#include <array>
#include <cstdint>
#include <vector>

#include "libs/crypto/scalar.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/testing/simulation.h"

namespace kagi::protocol::testing {

// DealShares Shamir-shares `secret` (nonzero) t-of-n among ids.parties
// (n = ids.parties.size(), ids 1..n) with a random polynomial of degree t−1
// (every coefficient nonzero, as in the DKG), and returns the n key shares,
// index id−1. `chain_code` becomes the root chain code. KAGI_CHECK-fails on
// bad arguments (2 ≤ t ≤ n ≤ kMaxParties, secret ≠ 0) or if any step of the
// base OT fails.
std::vector<KeyShare> DealShares(const crypto::Scalar& secret,
                                 const std::array<uint8_t, 32>& chain_code,
                                 uint32_t t, const Identities& ids,
                                 uint64_t seed);

}  // namespace kagi::protocol::testing

#endif  // KAGI_LIBS_PROTOCOL_TESTING_DEALER_H_
