// File: libs/crypto/secp_context.h
//
// The process-wide libsecp256k1 context. It is created once, randomized with
// 32 bytes from RAND_bytes (side-channel blinding for ecmult_gen), and then
// only read, which libsecp256k1 documents as safe from many threads.
#ifndef KAGI_LIBS_CRYPTO_SECP_CONTEXT_H_
#define KAGI_LIBS_CRYPTO_SECP_CONTEXT_H_

#include <secp256k1.h>

#include <memory>

namespace kagi::crypto {

struct SecpContextDeleter {
  void operator()(secp256k1_context* ctx) const {
    secp256k1_context_destroy(ctx);
  }
};
using SecpContextPtr = std::unique_ptr<secp256k1_context, SecpContextDeleter>;

// SecpContext returns the shared, randomized context. Never null.
const secp256k1_context* SecpContext();

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_SECP_CONTEXT_H_
