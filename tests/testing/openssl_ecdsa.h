// File: tests/testing/openssl_ecdsa.h
//
// TEST ONLY. An ECDSA verifier that does not share code with Kagi's: OpenSSL
// 3.0's EVP over secp256k1 (a different implementation from libsecp256k1),
// so every threshold signature is checked by two independent verifiers.
#ifndef KAGI_TESTS_TESTING_OPENSSL_ECDSA_H_
#define KAGI_TESTS_TESTING_OPENSSL_ECDSA_H_

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "libs/base/bytes.h"

namespace kagi::testing {

// OpenSslVerifyEcdsa verifies (r, s) over the 32-byte digest under the SEC1
// public key (33 or 65 bytes). It also requires s <= n/2 (low-S).
absl::Status OpenSslVerifyEcdsa(ByteSpan public_key,
                                const std::array<uint8_t, 32>& digest,
                                const std::array<uint8_t, 32>& r,
                                const std::array<uint8_t, 32>& s);

}  // namespace kagi::testing

#endif  // KAGI_TESTS_TESTING_OPENSSL_ECDSA_H_
