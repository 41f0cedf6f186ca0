// File: libs/crypto/hedged_rng.h
//
// `HedgedRng`: randomness hedged against a broken or duplicated random source
// (PROTOCOL.md §2: r = Hn("nonce", RAND, secret state digest, transcript)).
// Every Fill returns XOF("round-nonce", 32 fresh bytes from the base source,
// the secret digest, the context, a draw counter; len). A VM cloned with its
// DRBG state, or a source that repeats, then still gives different values in
// different sessions (the context is the session's sid0) and values an
// outsider cannot predict (the secret digest). The protocol parties wrap the
// caller's Rng in one of these.
#ifndef KAGI_LIBS_CRYPTO_HEDGED_RNG_H_
#define KAGI_LIBS_CRYPTO_HEDGED_RNG_H_

#include <cstdint>

#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"

namespace kagi::crypto {

class HedgedRng final : public Rng {
 public:
  // `base` must outlive this object; `secret_digest` (any length, typically
  // a hash of the party's secret share, empty when there is none yet) and
  // `context` are copied.
  HedgedRng(Rng& base, ByteSpan secret_digest, ByteSpan context);
  void Fill(absl::Span<uint8_t> out) override;

 private:
  Rng& base_;
  SecretBytes secret_digest_;
  kagi::Bytes context_;
  uint64_t counter_ = 0;
};

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_HEDGED_RNG_H_
