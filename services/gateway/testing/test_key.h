// File: services/gateway/testing/test_key.h
//
// TEST ONLY (never linked into a binary). A whole secp256k1 key standing in
// for a threshold key, so that gateway tests can produce exactly what an
// honest signer set returns (signatures under BIP32-derived keys) without
// running the protocol. Deterministic: everything follows from the seed.
#ifndef KAGI_SERVICES_GATEWAY_TESTING_TEST_KEY_H_
#define KAGI_SERVICES_GATEWAY_TESTING_TEST_KEY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kagi/v1/common.pb.h"
#include "kagi/v1/node.pb.h"
#include "libs/crypto/scalar.h"

namespace kagi::gateway::testing {

// TestIdentityKey returns a 32-byte stand-in identity key for node `index`.
std::string TestIdentityKey(int index);

// TestKey is a key whose secret the test knows.
struct TestKey {
  crypto::Scalar secret;
  // key_id (SHA-256 of the public key), public_key, chain_code, xpub,
  // threshold, epoch 0 and one party per identity key (ids 1..n).
  kagi::v1::KeyInfo info;

  // Make derives a key from `seed` with the given committee.
  static TestKey Make(uint64_t seed, uint32_t threshold,
                      const std::vector<std::string>& identity_keys);

  // Sign returns what honest signers return for `request` (raw-digest
  // payload): for each item, a low-S ECDSA signature under the key derived
  // along the item's path, with its recovery id and the derived public key.
  // `variant` changes the nonce, giving a different valid signature.
  kagi::v1::StartSignResponse Sign(const kagi::v1::SignRequest& request,
                                   uint8_t variant = 0) const;
};

}  // namespace kagi::gateway::testing

#endif  // KAGI_SERVICES_GATEWAY_TESTING_TEST_KEY_H_
