#include "libs/protocol/reshare.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/commitment.h"
#include "libs/crypto/hedged_rng.h"
#include "libs/crypto/schnorr.h"
#include "libs/crypto/transcript.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/internal/ack_round.h"
#include "libs/protocol/internal/feldman.h"
#include "libs/protocol/internal/pairwise_setup.h"
#include "libs/protocol/internal/party_core.h"
#include "libs/protocol/internal/reshare_messages.h"
#include "libs/protocol/internal/round_messages.h"
#include "libs/protocol/lagrange.h"

namespace kagi::protocol {
namespace {

using crypto::Point;
using crypto::Scalar;
using crypto::Tag;
using crypto::Transcript;
using internal::Hash32;
using internal::PublicView;
using internal::ReshareOpening;
using internal::ReshareShareMessage;
using internal::ReshareShareProof;

constexpr absl::string_view kCoefLabel = "rs-coef";
constexpr absl::string_view kShareLabel = "rs-share";

// Commitment data: A' ‖ the dealer's PublicView.
Bytes CommitData(const std::vector<Point>& a, const PublicView& v) {
  Bytes d = internal::EncodePoints(a);
  const Bytes venc = v.Encode();
  d.insert(d.end(), venc.begin(), venc.end());
  return d;
}

// CheckOldShare: the old share fits the setup and this participant's role,
// and every dealer is the old committee's holder of its old id.
absl::Status CheckOldShare(const SessionSetup& setup, const KeyShare& old,
                           const ReshareRole& role) {
  if (old.key_id != setup.key_id) {
    return absl::InvalidArgumentError("reshare: old share is another key");
  }
  if (old.epoch != setup.epoch) {
    return absl::FailedPreconditionError(
        absl::StrCat("reshare: old share is epoch ", old.epoch,
                     ", the setup reshares epoch ", setup.epoch));
  }
  if (role.old_id != 0 && old.self != role.old_id) {
    return absl::InvalidArgumentError(
        "reshare: old share does not belong to this dealer's old id");
  }
  if (role.old_id != 0 && old.threshold != setup.old_threshold) {
    return absl::InvalidArgumentError(
        "reshare: setup's old threshold differs from the share's");
  }
  for (const PartyInfo& p : setup.parties) {
    const uint32_t old_id = setup.reshare_roles[p.id - 1].old_id;
    if (old_id == 0) {
      continue;
    }
    if (old_id > old.parties.size() ||
        old.parties[old_id - 1].identity_key != p.identity_key) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reshare: participant ", p.id, " claims old id ", old_id,
          " but its identity key is not that party's in epoch ", old.epoch));
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct ReshareParty::State : internal::PartyCore {
  std::vector<std::string> networks;  // the new share's binding
  const KeyShare* old_share = nullptr;
  ReshareRole role;
  std::vector<uint32_t> dealers;  // participant ids of dealers
  std::vector<uint32_t> old_ids;  // their old ids, same order
  std::vector<uint32_t> holders;  // participants of the new committee, by
                                  // new id
  uint32_t t_new = 0;
  ShareOutcome* outcome = nullptr;  // the party's outcome (share_party.h)

  // Dealer secrets.
  std::vector<Scalar> coeffs;
  std::vector<Point> commitments;
  Hash32 rho{};
  std::optional<PublicView> own_view;  // from the old share, if any

  std::map<uint32_t, std::vector<Point>> a_of;  // dealers' A'
  std::optional<PublicView> view;               // agreed epoch-e data
  std::vector<Point> new_public_shares;         // X'_1..X'_n'
  Scalar new_share;  // until the pending share holds it
  Hash32 view_hash{};
  internal::PairwiseSetup pairwise;  // keyed by participant, new ids

  bool IsDealer(uint32_t p) const { return OldId(p) != 0; }
  bool IsMember(uint32_t p) const { return NewId(p) != 0; }
  uint32_t NewId(uint32_t p) const { return setup.reshare_roles[p - 1].new_id; }
  uint32_t OldId(uint32_t p) const { return setup.reshare_roles[p - 1].old_id; }
  uint32_t new_n() const { return static_cast<uint32_t>(holders.size()); }

  // On failure: drop every secret. `outcome->pending` is kept: a share that
  // exists (after R3) is never lost on an abort; the caller keeps it
  // PENDING until a certificate activates it (activation.h), or until the
  // key provably moved on.
  void Wipe() {
    coeffs.clear();
    new_share = Scalar();
    pairwise.Wipe();
  }
  Bytes ShareExtra() const {
    Bytes e(view->chain_code.begin(), view->chain_code.end());
    const auto x = view->x.ToCompressed();
    e.insert(e.end(), x.begin(), x.end());
    return e;
  }

  void Init(const SessionSetup& s, uint32_t me);
  absl::StatusOr<std::vector<Envelope>> Start();
  absl::StatusOr<std::vector<Envelope>> Round1(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round2(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round3(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round4(const RoundInput& in);

  // Round 1's and 2's named steps.
  absl::StatusOr<Bytes> DealerOpening();
  absl::StatusOr<std::map<uint32_t, PublicView>> AcceptOpenings(
      const RoundInput& in, PayloadRest& rest);
  absl::Status AcceptOpening(uint32_t p, ByteSpan body,
                             std::map<uint32_t, PublicView>& views);
  absl::Status AgreeOnView(const std::map<uint32_t, PublicView>& views);
  absl::Status CheckConstantTerms() const;
  absl::Status ComputeNewPublicShares();
  absl::Status AcceptShares(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> SendRound3();
  // Round 3's named steps.
  absl::Status AcceptShareProof(uint32_t p, const Envelope& b);
  void BuildActivationView();
  absl::Status MakePendingShare(std::vector<PairwiseMaterial> material);
};

ReshareParty::ReshareParty(std::unique_ptr<State> state)
    : ShareParty(
          MakeTable<State>("reshare", state.get(),
                           {{{1, true, false}, &State::Round1},
                            {{2, true, true}, &State::Round2},
                            {{3, true, true}, &State::Round3},
                            {{4, true, false}, &State::Round4}}),
          "reshare: the new share is final only after every acknowledgement "
          "(and only for members of the new committee)"),
      s_(std::move(state)) {
  s_->outcome = &outcome();
}
ReshareParty::~ReshareParty() = default;

bool ReshareParty::is_member() const { return s_->role.new_id != 0; }

void ReshareParty::State::Init(const SessionSetup& s, uint32_t me) {
  role = s.reshare_roles[me - 1];
  t_new = s.threshold;
  std::map<uint32_t, uint32_t> by_new_id;
  for (const PartyInfo& p : s.parties) {
    const ReshareRole& r = s.reshare_roles[p.id - 1];
    if (p.id != me) {
      peers.push_back(p.id);
    }
    if (r.old_id != 0) {
      dealers.push_back(p.id);
      old_ids.push_back(r.old_id);
    }
    if (r.new_id != 0) {
      by_new_id[r.new_id] = p.id;
    }
  }
  for (const auto& [new_id, p] : by_new_id) {
    holders.push_back(p);
  }
}

absl::StatusOr<std::unique_ptr<ReshareParty>> ReshareParty::Create(
    const SessionSetup& setup, const KeyShare* old_share,
    const EnvelopeSigner& signer, Rng& rng, std::vector<std::string> networks) {
  KAGI_RETURN_IF_ERROR(ValidateSetup(setup));
  if (setup.op != Op::kReshare) {
    return absl::InvalidArgumentError("reshare: setup is not a reshare");
  }
  const uint32_t self = signer.party();
  if (!setup.HasParty(self)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reshare: participant ", self, " is not in the setup"));
  }
  auto s = std::make_unique<State>();
  s->Init(setup, self);
  s->networks = std::move(networks);
  if (s->role.old_id != 0 && old_share == nullptr) {
    return absl::InvalidArgumentError("reshare: a dealer needs its old share");
  }
  // Hedge every draw with the session and, for a holder, a digest of its
  // share.
  crypto::Digest32 secret_digest{};
  if (old_share != nullptr) {
    KAGI_RETURN_IF_ERROR(CheckOldShare(setup, *old_share, s->role));
    s->own_view = PublicView{old_share->public_key, old_share->public_shares,
                             old_share->chain_code, old_share->key_id};
    secret_digest = crypto::Transcript(Tag::kNonce)
                        .AddScalar(old_share->secret_share)
                        .Add(old_share->sid_key)
                        .H();
  }
  s->old_share = old_share;
  s->Bind(Op::kReshare, setup, signer, self, rng, secret_digest);
  return std::unique_ptr<ReshareParty>(new ReshareParty(std::move(s)));
}

absl::StatusOr<std::vector<Envelope>> ReshareParty::State::Start() {
  internal::CommitMessage m;
  m.nonce = rng->Bytes<32>();
  if (role.old_id != 0) {
    // y = λ_i^D·x_i; g(0) = y, other coefficients random and nonzero.
    coeffs.push_back(LagrangeAtZero(role.old_id, old_ids) *
                     old_share->secret_share);
    for (uint32_t k = 1; k < t_new; ++k) {
      coeffs.push_back(Scalar::RandomNonZero(*rng));
    }
    for (const Scalar& c : coeffs) {
      absl::StatusOr<Point> a = Point::MulGenerator(c);
      if (!a.ok()) {
        return absl::InternalError("reshare: zero coefficient");
      }
      commitments.push_back(*a);
    }
    const crypto::CommitmentWithOpening c =
        crypto::Commit(Tag::kReshareCommit, sid0, self,
                       CommitData(commitments, *own_view), *rng);
    rho = c.rho;
    m.commitment = c.commitment;
  }
  Envelope e = Sign(1, kBroadcast, m.Encode());
  round1.AddOwn(self, e, m);
  return std::vector<Envelope>{std::move(e)};
}

// A dealer's R2 opening: A' ‖ its view ‖ ρ ‖ PoKs.
absl::StatusOr<Bytes> ReshareParty::State::DealerOpening() {
  ReshareOpening m{commitments, *own_view, rho, {}};
  for (uint32_t k = 0; k < t_new; ++k) {
    KAGI_ASSIGN_OR_RETURN(
        const crypto::SchnorrProof pi,
        crypto::ProveKnowledge(Pok(self, kCoefLabel, k, ByteSpan()), coeffs[k],
                               commitments[k], *rng));
    m.poks.push_back(pi);
  }
  return m.Encode();
}

absl::StatusOr<std::vector<Envelope>> ReshareParty::State::Round1(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(round1.Collect(
      in, peers, sid0, [this](uint32_t p) { return IsDealer(p); },
      "reshare round 1"));
  sid = Transcript(Tag::kReshareSid).Add(sid0).AddList(round1.Payloads()).H();
  pairwise.Begin(sid, role.new_id);

  std::vector<Envelope> out;
  ByteWriter w;
  w.PutLengthPrefixed(EncodeEcho(round1.envelopes));
  if (role.old_id != 0) {
    KAGI_ASSIGN_OR_RETURN(const Bytes opening, DealerOpening());
    w.PutRaw(opening);
  }
  out.push_back(Sign(2, kBroadcast, std::move(w).Take()));
  for (uint32_t q : peers) {
    std::optional<Scalar> g;
    if (role.old_id != 0 && IsMember(q)) {
      g = EvaluatePolynomial(coeffs, NewId(q));
    }
    Bytes msg1;
    if (role.new_id != 0 && IsMember(q)) {
      msg1 = pairwise.Start(q, NewId(q), *rng);
    }
    out.push_back(Sign(2, q, ReshareShareMessage::Encode(g, msg1)));
  }
  return out;
}

absl::Status ReshareParty::State::AcceptOpening(
    uint32_t p, ByteSpan body, std::map<uint32_t, PublicView>& views) {
  KAGI_ASSIGN_OR_RETURN(ReshareOpening m,
                        ReshareOpening::Decode(body, t_new, p));
  if (absl::Status st = crypto::VerifyOpening(Tag::kReshareCommit, sid0, p,
                                              CommitData(m.a, m.view), m.rho,
                                              round1.commitments.at(p));
      !st.ok()) {
    return BlameWith(p, st);
  }
  for (uint32_t k = 0; k < t_new; ++k) {
    if (absl::Status st = crypto::VerifyKnowledge(
            Pok(p, kCoefLabel, k, ByteSpan()), m.a[k], m.poks[k]);
        !st.ok()) {
      return BlameWith(p, st);
    }
  }
  if (m.view.key_id != setup.key_id) {
    return BlameError(p, "reshare: dealer presents another key id");
  }
  if (own_view.has_value() && !(m.view == *own_view)) {
    return BlameError(p,
                      "reshare: dealer's X, public shares or chain code "
                      "differ from this party's epoch-e share");
  }
  a_of[p] = std::move(m.a);
  views[p] = std::move(m.view);
  return absl::OkStatus();
}

// The dealers' openings (own included), by dealer.
absl::StatusOr<std::map<uint32_t, PublicView>>
ReshareParty::State::AcceptOpenings(const RoundInput& in, PayloadRest& rest) {
  std::map<uint32_t, PublicView> views;
  if (role.old_id != 0) {
    a_of[self] = commitments;
    views[self] = *own_view;
  }
  for (uint32_t p : peers) {
    KAGI_RETURN_IF_ERROR(CheckSession(in.broadcasts.at(p), sid));
    KAGI_RETURN_IF_ERROR(CheckSession(in.directs.at(p), sid));
    if (IsDealer(p)) {
      KAGI_RETURN_IF_ERROR(AcceptOpening(p, rest[p], views));
    } else if (!rest[p].empty()) {
      return BlameError(p, "reshare round 2: a non-dealer sent an opening");
    }
  }
  return views;
}

// Every dealer presents the same epoch-e data.
absl::Status ReshareParty::State::AgreeOnView(
    const std::map<uint32_t, PublicView>& views) {
  const PublicView& first = views.begin()->second;
  for (const auto& [p, v] : views) {
    if (!(v == first)) {
      return AbortError(AbortClass::kBlame, {},
                        "reshare: dealers disagree on X, the public shares or "
                        "the chain code");
    }
  }
  view = first;
  return absl::OkStatus();
}

// Each dealer's constant term matches its old public share, attributably:
// A'_{p,0} = λ_p^D·X_p; together they sum to X.
absl::Status ReshareParty::State::CheckConstantTerms() const {
  std::vector<Point> constants;
  for (size_t d = 0; d < dealers.size(); ++d) {
    const uint32_t p = dealers[d];
    const uint32_t old_id = old_ids[d];
    if (old_id > view->shares.size()) {
      return BlameError(p,
                        "reshare: dealer's old id is not in the old "
                        "committee");
    }
    absl::StatusOr<Point> want =
        view->shares[old_id - 1].MulPublicScalarVartime(
            LagrangeAtZero(old_id, old_ids));
    if (!want.ok() || *want != a_of.at(p)[0]) {
      return BlameError(p, absl::StrCat("reshare: dealer ", p,
                                        "'s constant term does not match its "
                                        "epoch-e public share"));
    }
    constants.push_back(a_of.at(p)[0]);
  }
  absl::StatusOr<Point> sum = Point::Sum(constants);
  if (!sum.ok() || *sum != view->x) {
    return AbortError(AbortClass::kBlame, {},
                      "reshare: the dealers' constant terms do not sum to X");
  }
  return absl::OkStatus();
}

// New public shares X'_m = Σ_k m^k·Σ_D A'_{p,k}.
absl::Status ReshareParty::State::ComputeNewPublicShares() {
  KAGI_ASSIGN_OR_RETURN(
      const std::vector<Point> sum_a,
      internal::SumCommitments(a_of, dealers, t_new,
                               "reshare: combined commitment is infinity"));
  KAGI_ASSIGN_OR_RETURN(new_public_shares,
                        internal::PublicShares(sum_a, new_n()));
  return absl::OkStatus();
}

// A member's new share from every dealer (Feldman) and the base-OT replies;
// a non-member expects empty direct messages.
absl::Status ReshareParty::State::AcceptShares(const RoundInput& in) {
  if (role.new_id == 0) {
    for (uint32_t p : peers) {
      if (!in.directs.at(p).payload.empty()) {
        return BlameError(p,
                          "reshare round 2: unexpected direct payload for a "
                          "non-member");
      }
    }
    return absl::OkStatus();
  }
  Scalar x;
  if (role.old_id != 0) {
    x += EvaluatePolynomial(coeffs, role.new_id);
  }
  for (uint32_t p : peers) {
    KAGI_ASSIGN_OR_RETURN(
        const ReshareShareMessage m,
        ReshareShareMessage::Decode(in.directs.at(p).payload, p, IsDealer(p),
                                    IsMember(p)));
    if (m.g.has_value()) {
      KAGI_RETURN_IF_ERROR(internal::CheckDealtShare(
          *m.g, a_of.at(p), role.new_id, p,
          absl::StrCat("reshare: share from dealer ", p,
                       " fails the Feldman check")));
      x += *m.g;
    }
    if (IsMember(p)) {
      KAGI_RETURN_IF_ERROR(pairwise.Respond(p, NewId(p), m.ot_msg1, *rng));
    }
  }
  new_share = x;
  absl::StatusOr<Point> own = Point::MulGenerator(new_share);
  if (!own.ok() || *own != new_public_shares[role.new_id - 1]) {
    return absl::InternalError("reshare: new share does not match X'_j");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Envelope>> ReshareParty::State::Round2(
    const RoundInput& in) {
  KAGI_ASSIGN_OR_RETURN(PayloadRest rest, OpenEchoRound(in, {2, true, true}));
  KAGI_ASSIGN_OR_RETURN(const auto views, AcceptOpenings(in, rest));
  KAGI_RETURN_IF_ERROR(AgreeOnView(views));
  KAGI_RETURN_IF_ERROR(CheckConstantTerms());
  KAGI_RETURN_IF_ERROR(ComputeNewPublicShares());
  KAGI_RETURN_IF_ERROR(AcceptShares(in));
  view_hash = Transcript(Tag::kReshareView)
                  .Add(sid)
                  .AddPoint(view->x)
                  .Add(view->chain_code)
                  .AddPointList(new_public_shares)
                  .H();
  coeffs.clear();
  return SendRound3();
}

// R3: [PoK of the new share] ‖ view hash to all; msg2 ‖ κ to each member.
absl::StatusOr<std::vector<Envelope>> ReshareParty::State::SendRound3() {
  std::vector<Envelope> out;
  ReshareShareProof m;
  if (role.new_id != 0) {
    KAGI_ASSIGN_OR_RETURN(
        m.pok, crypto::ProveKnowledge(
                   Pok(self, kShareLabel, 0, ShareExtra()), new_share,
                   new_public_shares[role.new_id - 1], *rng));
  }
  m.view = view_hash;
  out.push_back(Sign(3, kBroadcast, m.Encode()));
  for (uint32_t q : peers) {
    Bytes d;
    if (role.new_id != 0 && IsMember(q)) {
      d = pairwise.Reply(q, NewId(q), *rng);
    }
    out.push_back(Sign(3, q, std::move(d)));
  }
  return out;
}

absl::Status ReshareParty::State::AcceptShareProof(uint32_t p,
                                                   const Envelope& b) {
  KAGI_ASSIGN_OR_RETURN(const ReshareShareProof m,
                        ReshareShareProof::Decode(b.payload, p, IsMember(p)));
  if (m.pok.has_value()) {
    if (absl::Status st =
            crypto::VerifyKnowledge(Pok(p, kShareLabel, 0, ShareExtra()),
                                    new_public_shares[NewId(p) - 1], *m.pok);
        !st.ok()) {
      return BlameWith(p, st);
    }
  }
  if (m.view != view_hash) {
    return BlameError(p, "reshare: view hash differs");
  }
  return absl::OkStatus();
}

// The view every participant acks: the new committee (new ids with their
// identity keys), epoch e + 1 and the new public data.
void ReshareParty::State::BuildActivationView() {
  ActivationView& v = outcome->view;
  v.op = Op::kReshare;
  v.sid = sid;
  v.key_id = setup.key_id;
  v.epoch = setup.epoch + 1;
  v.threshold = t_new;
  v.parties.clear();
  for (uint32_t p : holders) {
    v.parties.push_back(PartyInfo{NewId(p), setup.parties[p - 1].identity_key});
  }
  v.public_key = view->x;
  v.public_shares = new_public_shares;
  v.chain_code = view->chain_code;
}

absl::Status ReshareParty::State::MakePendingShare(
    std::vector<PairwiseMaterial> material) {
  std::sort(material.begin(), material.end(),
            [](const PairwiseMaterial& a, const PairwiseMaterial& b) {
              return a.peer < b.peer;
            });
  KeyShare s;
  s.pairwise = std::move(material);
  s.parties = outcome->view.parties;
  s.key_id = setup.key_id;
  s.sid_key = sid;
  s.epoch = setup.epoch + 1;
  s.self = role.new_id;
  s.threshold = t_new;
  s.secret_share = new_share;
  s.public_key = view->x;
  s.public_shares = new_public_shares;
  s.chain_code = view->chain_code;
  s.networks = networks;
  outcome->pending = std::move(s);
  if (ActivationView::Of(*outcome->pending, Op::kReshare) != outcome->view) {
    return absl::InternalError(
        "reshare: the new share's activation view differs from the "
        "session's");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Envelope>> ReshareParty::State::Round3(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, true));
  std::vector<PairwiseMaterial> material;
  for (uint32_t p : peers) {
    const Envelope& d = in.directs.at(p);
    KAGI_RETURN_IF_ERROR(CheckSession(in.broadcasts.at(p), sid));
    KAGI_RETURN_IF_ERROR(CheckSession(d, sid));
    KAGI_RETURN_IF_ERROR(AcceptShareProof(p, in.broadcasts.at(p)));
    const bool pair = role.new_id != 0 && IsMember(p);
    KAGI_RETURN_IF_ERROR(internal::ExpectSize(
        p, d.payload.size(),
        pair ? internal::PairwiseSetup::ReplyBytes(NewId(p), role.new_id) : 0,
        "reshare round 3: direct message must be "));
    if (pair) {
      KAGI_ASSIGN_OR_RETURN(PairwiseMaterial m,
                            pairwise.Finish(p, NewId(p), d.payload));
      material.push_back(std::move(m));
    }
  }
  BuildActivationView();
  if (role.new_id != 0) {
    KAGI_RETURN_IF_ERROR(MakePendingShare(std::move(material)));
  }
  new_share = Scalar();  // the pending share holds it now
  // R4: ack = AckDigest(activation view) (activation.h).
  return internal::SendAck(*outcome, Signer());
}

// The certificate: the new committee's acks in new-id order; pure dealers'
// acks are checked but are not part of it.
absl::StatusOr<std::vector<Envelope>> ReshareParty::State::Round4(
    const RoundInput& in) {
  return internal::CheckAcks(
      *outcome, in, peers, sid, self, holders,
      "reshare: acknowledgement does not match (not over this participant's "
      "activation view)");
}

}  // namespace kagi::protocol
