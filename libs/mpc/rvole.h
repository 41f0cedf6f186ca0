// File: libs/mpc/rvole.h
//
// Random VOLE, DKLs23 Protocol 5.2 with ξ = 512, two inputs and one check
// column (PROTOCOL.md §3.3), on top of one COTe run.
//
// For the instance (sender A, receiver B) in session sid:
//   sid_p = H("rvole", sid, A, B);  g_k = gadget(sid_p, k), k < 512.
//   B draws β ∈ {0,1}^512; its random input is χ = Σ_k β_k·g_k.
//   A has inputs (a_0, a_1). At the end A holds (c_0, c_1), B holds
//   (d_0, d_1), and c_i + d_i = a_i·χ.
//
// Messages:
//   msg1 (B → A) = the COTe message (cote.h)                     24 624 bytes
//   msg2 (A → B) = sid_p (32) ‖ ã (512 × 3 × 32) ‖ η' (32) ‖ μ (64)
//                                                                49 280 bytes
//
//   A: α0_k = rowhash(k, q_k), α1_k = rowhash(k, q_k ⊕ Δ) (3 scalars each);
//      c_i = −Σ_k g_k·α0_k[i];  ã_k[i] = α0_k[i] − α1_k[i] + a_i (i < 2),
//      ã_k[2] = α0_k[2] − α1_k[2] + η;  θ_i = Hn("theta", sid_p, h_ã, i)
//      with h_ã = H("rvole-a", sid_p, ã);  η' = η + Σ_i θ_i·a_i;
//      μ = XOF("mu", sid_p, H("mu-rows", sid_p, [α0_k[2] + Σ_i θ_i·α0_k[i]]_k);
//      64).
//   B: v_k = rowhash(k, t_k); d̄_k[i] = v_k[i] + β_k·ã_k[i];
//      requires μ = XOF("mu", sid_p, H("mu-rows", sid_p,
//      [d̄_k[2] + Σ_i θ_i·d̄_k[i] − β_k·η']_k))
//      (class-C abort: BAN A); d_i = Σ_k g_k·d̄_k[i].
//
// rowhash(k, r) = three 32-byte SHA-256 outputs H("cote", sid_p, pad, k, r,
// ctr) for ctr = 0, 1, 2, each reduced mod n (statistical distance below
// 2^-127 per scalar, as in the reference implementation); the row index k is
// always hashed. The gadget is g_{3m+c} = H("gadget", sid_p, pad, m, "", c)
// mod n.
// See docs/protocol-notes.md for why these differ from the literal Hn/XOF of
// PROTOCOL.md and why that keeps the same domain separation.
//
// Everything secret — β, χ, the rows, α, v, d̄, η and the outputs — lives in
// wiping types. Selections by β_k are constant time.
#ifndef KAGI_LIBS_MPC_RVOLE_H_
#define KAGI_LIBS_MPC_RVOLE_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/scalar.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/cote.h"
#include "libs/mpc/params.h"

namespace kagi::mpc {

inline constexpr size_t kRvoleMsg1Bytes = kCoteMessageBytes;
inline constexpr size_t kRvoleMsg2Bytes =
    kSessionBytes + kXi * kOtWidth * crypto::Scalar::kBytes +
    crypto::Scalar::kBytes + 64;

struct RvoleSession {
  std::array<uint8_t, 32> sid{};  // the signing session id
  uint32_t sender = 0;            // A: has inputs a, holds Δ
  uint32_t receiver = 0;          // B: has random input χ
};

// sid_p = H("rvole", sid, A, B).
std::array<uint8_t, 32> RvoleSessionId(const RvoleSession& session);

// B's state between msg1 and msg2. Move-only; Finish consumes it.
class RvoleReceiver {
 public:
  // Start draws β, computes χ and writes msg1. `seeds` are B's COTe
  // receiver seeds for the pair (A, B).
  static RvoleReceiver Start(const CoteReceiverSeeds& seeds,
                             const RvoleSession& session, Rng& rng,
                             Bytes* msg1_out);

  RvoleReceiver(RvoleReceiver&&) = default;
  RvoleReceiver& operator=(RvoleReceiver&&) = default;

  // chi is B's random input χ (secret).
  const crypto::Scalar& chi() const { return chi_; }

  // Finish checks A's msg2 and returns (d_0, d_1). Errors: class-B abort
  // blaming A for a malformed or foreign-session message or a non-canonical
  // scalar; class-C (ban A) if μ does not match.
  absl::StatusOr<std::array<crypto::Scalar, kRvoleInputs>> Finish(
      ByteSpan msg2) &&;

 private:
  RvoleReceiver() = default;
  RvoleSession session_;
  std::array<uint8_t, 32> sid_p_{};
  SecretBytes beta_;    // 64 bytes
  SecretBytes t_rows_;  // 512 × 32 bytes
  crypto::Scalar chi_;
  std::vector<crypto::Scalar> gadget_;  // g_k, public
};

struct RvoleSenderOutput {
  std::array<crypto::Scalar, kRvoleInputs> c;  // A's shares
  Bytes msg2;
};

// RvoleSenderRespond: A's whole part. Checks B's msg1 (COTe consistency:
// class-C, ban B; malformed: class-B, blame B), then answers with inputs `a`.
absl::StatusOr<RvoleSenderOutput> RvoleSenderRespond(
    const CoteSenderSeeds& seeds, const RvoleSession& session,
    const std::array<crypto::Scalar, kRvoleInputs>& a, ByteSpan msg1, Rng& rng);

// Gadget returns g_0..g_511 for sid_p (public).
std::vector<crypto::Scalar> Gadget(const std::array<uint8_t, 32>& sid_p);

}  // namespace kagi::mpc

#endif  // KAGI_LIBS_MPC_RVOLE_H_
