// File: libs/protocol/reshare.h
//
// Refresh and reshare, one protocol (PROTOCOL.md §3.7), as a sans-I/O state
// machine (round.h). Exactly t_old dealers of epoch e re-share x to a new
// committee of n' members with a new threshold t' >= 2; the public key X,
// the chain code and the key id stay the same, the epoch becomes e + 1, and
// every share and all pairwise OT material (fresh base OTs, fresh zero-share
// seeds) are new. Refresh is the case "same parties, same t".
//
// Participants (SessionSetup::parties, ids 1..m) carry roles
// (SessionSetup::reshare_roles): a dealer has its old id, a member its new
// id, a node may be both. A member that lost its share joins as a non-dealer
// member and gets a fresh one.
//
//   R1 bcast  nonce_p ‖ (dealers) C_p = Com("rs-c", sid0, p, (A'_p, pub); ρ_p)
//             with pub = (X, X_1..X_n, cc, key_id) of epoch e
//   R2 bcast  echo ‖ (dealers) A'_p (t' × 33) ‖ pub ‖ ρ_p ‖ t' PoKs ("rs-coef")
//      p2p    (dealer → member) g_p(j) ‖ (member → member) base-OT msg1
//   R3 bcast  (members) PoK of x'_j ("rs-share") ‖ v = H("rs-view", sid, X,
//             cc, X'_1..X'_n')
//      p2p    (member → member) base-OT msg2 ‖ κ if new id lower
//   R4 bcast  (everyone) ack = AckDigest(ActivationView) (activation.h) of
//             the new share: RESHARE, sid, key id, epoch e + 1, t', the new
//             committee (new ids and identity keys), X, X'_1..X'_n', cc. A
//             pure dealer builds the same view from what it has after R3.
//
// Checks by every participant: the openings, every coefficient PoK, that all
// dealers present the same (X, X_m, cc, key_id) and that it is the setup's
// key (and, for a participant holding an old share, its own view), each
// dealer's constant term A'_{p,0} = λ_p^D·X_p (attributable), Σ A'_{p,0} = X,
// Feldman for every received g_p(j), the share PoKs, the view hash and the
// acks.
//
// Activation (PROTOCOL.md §3.7): the new share is PENDING after R3
// (`pending_share`) and stays available after ANY later abort; the caller
// never deletes it because of an abort. Once every participant's ack
// matched, the party holds the activation certificate (`certificate`): the
// new committee's signed acks of the same view, its own included (pure
// dealers' acks are checked but are not part of it; a pure dealer gets the
// certificate too). The new share becomes ACTIVE at epoch e + 1 only on a
// certificate: its own, or one from a finished member for a member that
// aborted in R4 (CheckCertificateFor). Epoch e is erased only after this node
// activated e + 1; a departing member erases its epoch-e share on the
// certificate (CheckDepartureCertificate). `received_acks` keeps the R4
// envelopes received, matching or not, as evidence (FindEquivocation).
#ifndef KAGI_LIBS_PROTOCOL_RESHARE_H_
#define KAGI_LIBS_PROTOCOL_RESHARE_H_

#include <map>
#include <memory>
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

class ReshareParty final : public ShareParty {
 public:
  // Create checks the setup (op RESHARE) and this participant's role.
  // `old_share` is required for a dealer (its epoch-`setup.epoch` share of
  // `setup.key_id`, whose own id is the dealer's old id) and optional for a
  // member (then checked against the dealers' view). `signer`, `rng` and
  // `old_share` must outlive the party. `networks` becomes the new share's
  // network binding (KeyShare::networks, sorted): what the node admitted
  // (the old share's binding, carried), not part of the protocol.
  static absl::StatusOr<std::unique_ptr<ReshareParty>> Create(
      const SessionSetup& setup, const KeyShare* old_share,
      const EnvelopeSigner& signer, Rng& rng,
      std::vector<std::string> networks = {});
  ~ReshareParty() override;

  Op op() const override { return Op::kReshare; }

  // True for a participant with a new id.
  bool is_member() const;
  // pending_share, certificate, received_acks, TakeShare: share_party.h.
  // pending_share is null for a pure dealer; the certificate holds the new
  // committee's acks only.

 private:
  struct State;
  explicit ReshareParty(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_RESHARE_H_
