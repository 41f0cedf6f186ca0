// File: libs/protocol/dkg.h
//
// Distributed key generation, t-of-n with 2 ≤ t ≤ n ≤ 16, exactly as
// PROTOCOL.md §3.4, as a sans-I/O state machine (round.h).
//
//   R1 bcast  nonce_i ‖ C_i = Com("dkg-c", sid0, i, (A_i,0..t−1, cc_i); ρ_i)
//             then sid = H("dkg-sid", sid0, [nonce_j, C_j]_j)
//   R2 bcast  echo ‖ A_i (t × 33) ‖ cc_i ‖ ρ_i ‖ t PoKs ("dkg-coef", k)
//      p2p    σ_{i→j} = f_i(j) ‖ base-OT msg1 of instance (A = i, B = j)
//   R3 bcast  PoK of x_i ("dkg-share", bound to cc and X) ‖ v_i
//      p2p    base-OT msg2 of instance (A = j, B = i) ‖ κ_{ij} if i < j
//   R4 bcast  ack_i = H("dkg-ack", sid, v_i)
//
// Every incoming message is checked (§3.9): session binding, exact lengths,
// canonical scalars and valid points, the commitment opening, every
// coefficient's PoK, Feldman for the share, the share PoK, the view hash and
// the ack. A failure aborts with the class of §3.10 and the culprit; the
// party is then dead (every later call returns the same error). The share is
// available as pending after R3 (`pending_share`) and final after R4
// (`TakeShare`): a caller persists it PENDING, then ACTIVE.
#ifndef KAGI_LIBS_PROTOCOL_DKG_H_
#define KAGI_LIBS_PROTOCOL_DKG_H_

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/rng.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/round.h"

namespace kagi::protocol {

class DkgParty final : public RoundProtocol {
 public:
  // Create validates `setup` (op DKG) and that `signer` is party `self`.
  // `signer` and `rng` must outlive the party.
  static absl::StatusOr<std::unique_ptr<DkgParty>> Create(
      const SessionSetup& setup, const EnvelopeSigner& signer, Rng& rng);
  ~DkgParty() override;

  Op op() const override { return Op::kDkg; }
  uint32_t self() const override;
  const std::vector<uint32_t>& peers() const override;
  RoundSpec expecting() const override;
  absl::StatusOr<std::vector<Envelope>> Start() override;
  absl::StatusOr<std::vector<Envelope>> Advance(
      const RoundInput& input) override;
  bool finished() const override;

  // The share once R3 has been processed (null before).
  const KeyShare* pending_share() const;
  // TakeShare returns the share after R4 (every ack matched); once.
  absl::StatusOr<KeyShare> TakeShare();

 private:
  struct State;
  explicit DkgParty(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_DKG_H_
