// File: libs/protocol/sign.h
//
// Threshold ECDSA signing for exactly t signers: on-demand presigning with
// the message and BIP32 path bound from round 1 (PROTOCOL.md §3.5), then one
// online broadcast (§3.6). One session signs a batch of items (digest, path),
// each with its own nonce and presignature, sharing the session set-up.
//
//   P1 bcast  nonce_i ‖ C_i = Com("sign-c", sid0, i, (R_i^l)_l; ρ_i)
//             sid = H("sign-sid", sid_key, epoch, sid0, [nonce_j, C_j]_j)
//   P2 p2p    echo ‖ per item: RVOLE msg1 of (A = j, B = i)  (i's χ)
//   P3 p2p    ρ_i ‖ per item: RVOLE msg2 of (A = i, B = j) with (r_i, sk_i)
//             ‖ R_i ‖ pk_i ‖ Γ_u ‖ Γ_v ‖ ψ_{i→j}
//   online    per item: s0_i ‖ s1_i, broadcast after the presignature is
//             durably marked consumed (ConsumeHook)
//
// Checks: P2's COTe consistency (class C, ban j), P3's μ and both Γ
// equations (class C, ban j), the commitment opening and every encoding
// (class B, blame j), Σ pk_j = X' (class B, no attribution possible), and the
// combined signature against X' (class D: the presignature is burned, an
// incident). Every signature returned has been verified under X' and is
// low-S; its recovery id accounts for the normalisation.
#ifndef KAGI_LIBS_PROTOCOL_SIGN_H_
#define KAGI_LIBS_PROTOCOL_SIGN_H_

#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/rng.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/phased_party.h"
#include "libs/protocol/round.h"

namespace kagi::protocol {

// Identifies a presignature: the signing session and the item.
struct PresignatureId {
  std::array<uint8_t, 32> sid{};
  uint32_t item = 0;
};

// A presignature (R, φ_i, u_i, w_i) bound to one digest. Move-only; its
// share can be released once. It never prints its secrets.
class Presignature {
 public:
  Presignature(Presignature&&) noexcept = default;
  Presignature& operator=(Presignature&&) noexcept = default;
  Presignature(const Presignature&) = delete;
  Presignature& operator=(const Presignature&) = delete;

  // CreateForTesting builds a presignature from raw values (tests only; a
  // real one comes out of SignParty's presigning).
  static Presignature CreateForTesting(const PresignatureId& id,
                                       const std::array<uint8_t, 32>& digest,
                                       const crypto::Point& r_point,
                                       const crypto::Scalar& phi,
                                       const crypto::Scalar& u,
                                       const crypto::Scalar& w);

  const PresignatureId& id() const { return id_; }
  const crypto::Point& nonce_point() const { return r_point_; }
  const std::array<uint8_t, 32>& digest() const { return digest_; }
  bool used() const { return used_; }

  // Release computes the online share s0 ‖ s1 (64 bytes) for `digest`, after
  // `mark_consumed` has returned OK — the moment the caller must have made
  // the presignature's CONSUMED state durable. Refuses: a second release
  // (FailedPrecondition), a digest other than the bound one, or a failing
  // `mark_consumed` (the presignature then stays burned, no share leaves).
  absl::StatusOr<std::array<uint8_t, 64>> Release(
      const std::array<uint8_t, 32>& digest,
      const std::function<absl::Status(const PresignatureId&)>& mark_consumed);

 private:
  friend class SignParty;
  Presignature() = default;
  PresignatureId id_;
  std::array<uint8_t, 32> digest_{};
  crypto::Point r_point_ = crypto::Point::Generator();
  crypto::Scalar phi_;
  crypto::Scalar u_;
  crypto::Scalar w_;
  bool used_ = false;
};

// A finished signature.
struct Signature {
  std::array<uint8_t, 32> r{};
  std::array<uint8_t, 32> s{};  // low-S
  uint8_t recovery_id =
      0;  // bit 0: y parity of R (after low-S), bit 1: x(R) >= n
  crypto::Point public_key =
      crypto::Point::Generator();  // X' it verified under
  std::array<uint8_t, 32> digest{};
  std::array<uint8_t, 64> Compact() const;
};

// ConsumeHook durably marks presignatures consumed; called before any share
// leaves. An error stops the release.
using ConsumeHook = std::function<absl::Status(const PresignatureId&)>;

class SignParty final : public PhasedParty {
 public:
  // Create checks the setup against the share: op SIGN, same key id, same
  // epoch (shares of different epochs never mix), same party list and
  // identity keys, same t, this party among exactly t signers, every path
  // derivable (non-hardened, valid child). `signer`, `rng` and `hook` must
  // outlive the party; `share` is copied.
  static absl::StatusOr<std::unique_ptr<SignParty>> Create(
      const SessionSetup& setup, const KeyShare& share,
      const EnvelopeSigner& signer, Rng& rng, ConsumeHook hook);
  ~SignParty() override;

  Op op() const override { return Op::kSign; }

  // The verified signatures, one per item, once finished.
  const std::vector<Signature>& signatures() const;

 private:
  struct State;
  explicit SignParty(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_SIGN_H_
