// File: libs/mpc/base_ot.h
//
// Endemic base OT (Masny–Rindal), 256 instances per ordered pair, exactly as
// PROTOCOL.md §3.2, with real secp256k1 group operations only.
//
// Roles for the instance (A, B), where A will be the COTe *sender* and B the
// COTe *receiver*:
//   * A is the base-OT **receiver**: it holds the choice bits Δ ∈ {0,1}^256
//     and learns s^{Δ_ℓ}_ℓ for every ℓ.
//   * B is the base-OT **sender**: it learns both s^0_ℓ and s^1_ℓ.
//
// Flow (sans-I/O): A calls `BaseOtReceiver::Start` and sends msg1 to B; B
// calls `BaseOtSenderRespond` and sends msg2 to A; A calls `Finish`.
//
//   msg1 = sid_ot (32) ‖ 256 × (r_0 ‖ r_1)          16 928 bytes
//   msg2 = sid_ot (32) ‖ 256 × (B_0 ‖ B_1)          16 928 bytes
//
// with sid_ot = H("baseot", sid, A, B). Each message carries sid_ot so a
// message from another session or pair is refused at decoding (blamed on its
// sender). Decoders take exactly these lengths, 33-byte compressed points
// that are on the curve; the identity has no encoding.
//
// Uniformity: every point in msg1 and msg2 is uniform over the whole group
// and independent of Δ (P = r_{1−c} has a random y parity like r_c; a fixed
// parity for P told B about half of Δ). libs/mpc/leakage_test.cc checks this
// with passive guessers.
//
// Secret handling: Δ, the receiver's a_ℓ and every key are in wiping types.
// The receiver's work that depends on Δ_ℓ (which of r_0/r_1 is random, which
// B_c it multiplies) uses constant-time selects; both hash-to-curve
// candidates are always computed so the try-and-increment loop's length does
// not depend on Δ_ℓ, and both products a_ℓ·B_0 and a_ℓ·B_1 are computed
// (libsecp256k1's ECDH is constant time in the scalar, not in the point) and
// a_ℓ·B_c chosen among them. tests/ctime checks this under Valgrind.
#ifndef KAGI_LIBS_MPC_BASE_OT_H_
#define KAGI_LIBS_MPC_BASE_OT_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/mpc/params.h"

namespace kagi::mpc {

inline constexpr size_t kBaseOtMessageBytes =
    kSessionBytes + kBaseOts * 2 * crypto::Point::kCompressedBytes;

// The parties of one base-OT instance and the session it belongs to.
struct BaseOtSession {
  std::array<uint8_t, 32> sid{};  // the DKG/reshare session id
  uint32_t cote_sender = 0;       // A: base-OT receiver
  uint32_t cote_receiver = 0;     // B: base-OT sender
};

// sid_ot = H("baseot", sid, A, B).
std::array<uint8_t, 32> BaseOtSessionId(const BaseOtSession& session);

// What A keeps for COTe: Δ (32 bytes, bit ℓ = Δ_ℓ) and the 256 keys
// s^{Δ_ℓ}_ℓ (32 bytes each). As secret as a key share.
struct CoteSenderSeeds {
  SecretBytes delta;  // 32 bytes
  SecretBytes keys;   // 256 × 32 bytes: key ℓ at [32ℓ, 32ℓ+32)
};

// What B keeps for COTe: s^0_ℓ and s^1_ℓ for every ℓ.
struct CoteReceiverSeeds {
  SecretBytes keys0;  // 256 × 32 bytes
  SecretBytes keys1;  // 256 × 32 bytes
};

// A's state between msg1 and msg2. Move-only; Finish consumes it.
class BaseOtReceiver {
 public:
  // Start draws Δ and the a_ℓ from `rng` and writes msg1 to `msg1_out`.
  static BaseOtReceiver Start(const BaseOtSession& session, Rng& rng,
                              Bytes* msg1_out);
  // Start with a given Δ (32 bytes), for tests that need to fix choice bits.
  static BaseOtReceiver StartWithChoiceBitsForTesting(
      const BaseOtSession& session, SecretBytes delta, Rng& rng,
      Bytes* msg1_out);

  BaseOtReceiver(BaseOtReceiver&&) = default;
  BaseOtReceiver& operator=(BaseOtReceiver&&) = default;

  // Finish processes B's msg2. Errors are class-B aborts blaming B
  // (wrong length, another session, invalid point).
  absl::StatusOr<CoteSenderSeeds> Finish(ByteSpan msg2) &&;

 private:
  BaseOtReceiver() = default;
  BaseOtSession session_;
  std::array<uint8_t, 32> sid_ot_{};
  SecretBytes delta_;
  std::vector<crypto::Scalar> a_;  // wiped by Scalar's destructor
};

// B's whole part: check A's msg1, derive both keys per instance and answer.
// Errors are class-B aborts blaming A.
struct BaseOtSenderResult {
  CoteReceiverSeeds seeds;
  Bytes msg2;
};
absl::StatusOr<BaseOtSenderResult> BaseOtSenderRespond(
    const BaseOtSession& session, ByteSpan msg1, Rng& rng);

}  // namespace kagi::mpc

#endif  // KAGI_LIBS_MPC_BASE_OT_H_
