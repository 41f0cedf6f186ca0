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
//   R4 bcast  ack_i = AckDigest(ActivationView::Of(pending share, DKG))
//             (activation.h): H("activation-ack", op, sid, key id, epoch 0,
//             t, the committee and its identity keys, X, X_1..X_n, cc)
//
// Every incoming message is checked (§3.9): session binding, exact lengths,
// canonical scalars and valid points, the commitment opening, every
// coefficient's PoK, Feldman for the share, the share PoK, the view hash and
// the ack. A failure aborts with the class of §3.10 and the culprit; the
// party is then dead (every later call returns the same error).
//
// Activation (PROTOCOL.md §3.4): the share is available as pending after R3
// (`pending_share`), and stays available after ANY later abort: a caller
// persists it PENDING and never deletes it because of an abort. Once every
// ack matched, the party holds the activation certificate (`certificate`):
// every member's signed ack of the same view, its own included. The caller
// persists the certificate, activates the share (`TakeShare`) and hands the
// certificate to members that aborted in R4 (a malicious member may have
// sent them a bad ack or none); each of them activates its pending share on
// it after CheckCertificateFor. `received_acks` keeps the R4 envelopes this
// party received, matching or not, as evidence (FindEquivocation).
#ifndef KAGI_LIBS_PROTOCOL_DKG_H_
#define KAGI_LIBS_PROTOCOL_DKG_H_

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/rng.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/round.h"
#include "libs/protocol/share_party.h"

namespace kagi::protocol {

class DkgParty final : public ShareParty {
 public:
  // Create validates `setup` (op DKG) and that `signer` is party `self`.
  // `signer` and `rng` must outlive the party. `networks` becomes the new
  // share's network binding (KeyShare::networks, sorted): what the node
  // admitted, not part of the protocol.
  static absl::StatusOr<std::unique_ptr<DkgParty>> Create(
      const SessionSetup& setup, const EnvelopeSigner& signer, Rng& rng,
      std::vector<std::string> networks = {});
  ~DkgParty() override;

  Op op() const override { return Op::kDkg; }

  // pending_share, certificate, received_acks, TakeShare: share_party.h.

 private:
  struct State;
  explicit DkgParty(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_DKG_H_
