// File: libs/mpc/cote.h
//
// Correlated OT extension: SoftSpokenOT with k = 1, i.e. KOS with a
// Fiat–Shamir consistency check over GF(2^128) (PROTOCOL.md §3.3).
//
// Roles as in base_ot.h: A (COTe sender) holds Δ and s^{Δ_ℓ}_ℓ; B (COTe
// receiver) holds s^0_ℓ, s^1_ℓ and chooses x = β ‖ 128 random bits (640 bits).
// One message, B → A:
//
//   msg = sid_p (32) ‖ U (256 × 80) ‖ x̃ (16) ‖ t̃ (256 × 16)   24 624 bytes
//
//   T_ℓ = PRG(s^0_ℓ), U_ℓ = T_ℓ ⊕ PRG(s^1_ℓ) ⊕ x
//   χ_j = first 16 bytes of H("kos-chi", sid_p, H("kos-u", sid_p, U), j), j < 4
//   x̃ = Σ_j χ_j ⊗ x_j ⊕ x_4,  t̃_ℓ = Σ_j χ_j ⊗ T_{ℓ,j} ⊕ T_{ℓ,4}
//
// A computes Q_ℓ = PRG(s^{Δ_ℓ}_ℓ) ⊕ Δ_ℓ·U_ℓ (= T_ℓ ⊕ Δ_ℓ·x) and requires
// q̃_ℓ = t̃_ℓ ⊕ Δ_ℓ·x̃ for every ℓ, accumulated over all ℓ and compared once.
// A failure is a class-C abort (BAN B, PROTOCOL.md §3.10): with KOS a
// receiver that cheats learns about one bit of Δ per abort, so the pair's
// OT material must never be used again.
//
// Because χ is derived from U itself, a U changed after x̃ and t̃ were
// computed fails the check for every value of Δ (the abort then reveals
// nothing); only a receiver that recomputes x̃ and t̃ for its modified U
// gets a Δ-dependent outcome, the inherent KOS selective failure that the
// ban contains.
//
// PRG (instantiation; see docs/protocol-notes.md): SHA-256 in counter mode
// through PrefixHasher, PRG(s)_ℓ = H("prg", sid_p, pad, ℓ, s, ctr) for
// ctr = 0, 1, 2, truncated to 80 bytes.
//
// Output: the transposed rows, 512 of 256 bits: t_k for B, q_k for A, with
// q_k = t_k ⊕ β_k·Δ.
#ifndef KAGI_LIBS_MPC_COTE_H_
#define KAGI_LIBS_MPC_COTE_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/base/secret.h"
#include "libs/crypto/gf128.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/params.h"

namespace kagi::mpc {

inline constexpr size_t kCoteMessageBytes =
    kSessionBytes + kBaseOts * kXiPrimeBytes + 16 + kBaseOts * 16;

// One COTe run between A (sender) and B (receiver) in the session sid_p.
struct CoteSession {
  std::array<uint8_t, 32> sid_p{};
  uint32_t sender = 0;    // A
  uint32_t receiver = 0;  // B
};

struct CoteReceiverOutput {
  SecretBytes t_rows;  // kXi rows of 32 bytes: t_k at [32k, 32k+32)
  Bytes msg;           // kCoteMessageBytes, to A
};

// CoteReceiverExtend: B's side. `x` is 80 bytes (β ‖ 128 random bits).
CoteReceiverOutput CoteReceiverExtend(const CoteReceiverSeeds& seeds,
                                      const CoteSession& session,
                                      const SecretBytes& x);

// CoteSenderExtend: A's side. Decodes and checks B's message and returns the
// q rows (kXi × 32 bytes). Errors: class-B abort blaming B for a malformed or
// foreign-session message; class-C (ban B) if the consistency check fails.
absl::StatusOr<SecretBytes> CoteSenderExtend(const CoteSenderSeeds& seeds,
                                             const CoteSession& session,
                                             ByteSpan msg);

namespace cote_internal {

// The building blocks, exposed for the adversarial tests that must build a
// *consistent* malicious message.

// ExpandSeed writes PRG(seed) for instance ℓ (80 bytes) to `out`.
void ExpandSeed(const std::array<uint8_t, 32>& sid_p, uint32_t index,
                ByteSpan seed, uint8_t* out);
// Chi derives χ_0..χ_3 from U (256 × 80 bytes).
std::array<crypto::Gf128, 4> Chi(const std::array<uint8_t, 32>& sid_p,
                                 ByteSpan u);
// Combine returns Σ_j χ_j ⊗ v_j ⊕ v_4 for an 80-byte v.
crypto::Gf128 Combine(const std::array<crypto::Gf128, 4>& chi, ByteSpan v);

}  // namespace cote_internal

}  // namespace kagi::mpc

#endif  // KAGI_LIBS_MPC_COTE_H_
