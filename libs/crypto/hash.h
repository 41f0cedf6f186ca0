// File: libs/crypto/hash.h
//
// Plain hash functions over OpenSSL 3.0 EVP: SHA-256, SHA-512, SHAKE256 and
// the Bitcoin compositions HASH256 (double SHA-256) and HASH160
// (RIPEMD-160 of SHA-256). Domain-separated protocol hashing is in
// transcript.h; use these directly only for external formats (Base58Check,
// BIP32 fingerprints, transaction hashes).
//
// RIPEMD-160: OpenSSL 3.0.0 moved it to the legacy provider; 3.0.7 put it back
// in the default provider, and Debian 12 ships 3.0.x >= 3.0.7 (hash_test.cc
// checks it is there).
#ifndef KAGI_LIBS_CRYPTO_HASH_H_
#define KAGI_LIBS_CRYPTO_HASH_H_

#include <openssl/evp.h>

#include <array>
#include <cstdint>

#include "libs/base/bytes.h"
#include "libs/base/secret.h"

namespace kagi::crypto {

using Digest32 = std::array<uint8_t, 32>;
using Digest20 = std::array<uint8_t, 20>;
using Digest64 = std::array<uint8_t, 64>;

Digest32 Sha256(ByteSpan data);
Digest64 Sha512(ByteSpan data);
Digest20 Ripemd160(ByteSpan data);
// Hash256 = SHA-256(SHA-256(data)).
Digest32 Hash256(ByteSpan data);
// Hash160 = RIPEMD-160(SHA-256(data)).
Digest20 Hash160(ByteSpan data);
// Shake256 writes out.size() bytes of SHAKE256(data) to `out`.
void Shake256(ByteSpan data, absl::Span<uint8_t> out);

// Incremental hashing. The algorithm is fixed at construction; Final* may be
// called once. Not thread-safe.
class HashStream {
 public:
  enum class Algorithm { kSha256, kShake256 };
  explicit HashStream(Algorithm algorithm);
  ~HashStream();
  HashStream(const HashStream&) = delete;
  HashStream& operator=(const HashStream&) = delete;

  void Update(ByteSpan data);
  // FinalSha256 requires Algorithm::kSha256.
  Digest32 FinalSha256();
  // FinalXof requires Algorithm::kShake256; writes out.size() bytes.
  void FinalXof(absl::Span<uint8_t> out);

 private:
  Algorithm algorithm_;
  EVP_MD_CTX* ctx_;
};

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_HASH_H_
