// File: libs/crypto/self_test.h
//
// Known-answer self-tests of every primitive Kagi's protocols stand on, in
// the spirit of a FIPS power-on self-test: each Kagi process runs them before
// it serves, and `kagi-selfcheck` prints them. Expected values come from the
// published standards (FIPS 180/202, RFC 4231/5869/8032, NIST GCM, SEC 2,
// BIP32) or were computed independently of Kagi (Python's hashlib and integer
// arithmetic) and pinned here.
#ifndef KAGI_LIBS_CRYPTO_SELF_TEST_H_
#define KAGI_LIBS_CRYPTO_SELF_TEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kagi::crypto {

// One passed self-test: a short name and what it verified.
struct SelfTestResult {
  std::string name;
  std::string verified;
};

// RunCryptoSelfTests runs all self-tests in order and returns one entry per
// test. The first failure stops the run and returns Internal naming the test
// and the check that failed: the process must not go on to serve.
absl::StatusOr<std::vector<SelfTestResult>> RunCryptoSelfTests();

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_SELF_TEST_H_
