// File: libs/crypto/schnorr.h
//
// Schnorr proofs of knowledge of a discrete logarithm, PROTOCOL.md §2.
//
// To prove knowledge of a with A = a·G, prover i (with label L and index k)
// picks a hedged nonce k', sets T = k'·G, e = Hn("pok", sid, L, i, k, ctx,
// A, T) and z = k' + e·a. The proof is (T, z), 65 bytes: T compressed ‖ z.
// Verification checks A and T are valid non-infinity points, z is canonical,
// e != 0, and z·G = T + e·A.
//
// The statement context (`PokContext`) binds the proof to its session, its
// purpose (label), its prover and the coefficient index, so a proof cannot be
// replayed by another party, for another coefficient or in another session.
// `extra` carries further public values the protocol wants bound (the DKG
// share proof binds the chain code and the public key, §3.4).
//
// The nonce is hedged: k' = Hn("nonce", 32 fresh random bytes, a, context),
// so a broken RNG alone does not leak a.
#ifndef KAGI_LIBS_CRYPTO_SCHNORR_H_
#define KAGI_LIBS_CRYPTO_SCHNORR_H_

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"

namespace kagi::crypto {

// PokContext: the public values a proof is bound to. Spans are borrowed.
struct PokContext {
  ByteSpan sid;
  ByteSpan label;       // e.g. "dkg-coef", "dkg-share"
  uint32_t prover = 0;  // party id of the prover
  uint32_t index = 0;   // coefficient index k (0 when unused)
  ByteSpan extra;       // further bound public data (may be empty)
};

struct SchnorrProof {
  static constexpr size_t kBytes = Point::kCompressedBytes + Scalar::kBytes;

  Point commitment;  // T
  Scalar response;   // z (public once sent)

  // Encode returns T (33 bytes) ‖ z (32 bytes).
  std::array<uint8_t, kBytes> Encode() const;
  // Decode parses exactly 65 bytes, rejecting an invalid or infinite T and a
  // non-canonical z; `field` names the input in errors.
  static absl::StatusOr<SchnorrProof> Decode(ByteSpan bytes,
                                             absl::string_view field);
};

// ProveKnowledge proves knowledge of `secret` for `statement` = secret·G.
// Fails (InvalidArgument) if secret is zero or does not match statement:
// that is a caller bug, reported rather than producing an invalid proof.
absl::StatusOr<SchnorrProof> ProveKnowledge(const PokContext& ctx,
                                            const Scalar& secret,
                                            const Point& statement, Rng& rng);

// VerifyKnowledge checks `proof` for `statement` in `ctx`. On failure returns
// InvalidArgument naming the prover, label and index.
absl::Status VerifyKnowledge(const PokContext& ctx, const Point& statement,
                             const SchnorrProof& proof);

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_SCHNORR_H_
