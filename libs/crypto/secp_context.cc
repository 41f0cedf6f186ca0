#include "libs/crypto/secp_context.h"

#include <openssl/rand.h>

#include <array>

#include "libs/base/check.h"
#include "libs/base/secret.h"

namespace kagi::crypto {

const secp256k1_context* SecpContext() {
  static const secp256k1_context* const ctx = [] {
    // Leaked on purpose: the context lives as long as the process, and a
    // function-local static avoids destruction-order problems at exit.
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_SIGN |
                                                    SECP256K1_CONTEXT_VERIFY);
    KAGI_CHECK(c != nullptr);
    std::array<uint8_t, 32> seed{};
    KAGI_CHECK(RAND_bytes(seed.data(), static_cast<int>(seed.size())) == 1);
    KAGI_CHECK(secp256k1_context_randomize(c, seed.data()) == 1);
    SecureWipe(seed.data(), seed.size());
    return c;
  }();
  return ctx;
}

}  // namespace kagi::crypto
