#include "libs/protocol/dkg.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/commitment.h"
#include "libs/crypto/hedged_rng.h"
#include "libs/crypto/schnorr.h"
#include "libs/crypto/transcript.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/internal/ack_round.h"
#include "libs/protocol/internal/dkg_messages.h"
#include "libs/protocol/internal/feldman.h"
#include "libs/protocol/internal/pairwise_setup.h"
#include "libs/protocol/internal/party_core.h"
#include "libs/protocol/internal/round_messages.h"
#include "libs/protocol/lagrange.h"

namespace kagi::protocol {
namespace {

using crypto::Point;
using crypto::Scalar;
using crypto::Tag;
using crypto::Transcript;
using internal::DkgOpening;
using internal::DkgShareMessage;
using internal::DkgShareProof;
using internal::Hash32;

constexpr absl::string_view kCoefLabel = "dkg-coef";
constexpr absl::string_view kShareLabel = "dkg-share";

// Commitment data: A_i,0..t-1 ‖ cc_i.
Bytes CommitData(const std::vector<Point>& a, const Hash32& cc) {
  Bytes d = internal::EncodePoints(a);
  d.insert(d.end(), cc.begin(), cc.end());
  return d;
}

}  // namespace

struct DkgParty::State : internal::PartyCore {
  std::vector<std::string> networks;  // the new share's binding
  uint32_t t = 0;
  std::vector<uint32_t> all;
  ShareOutcome* outcome = nullptr;  // the party's outcome (share_party.h)

  // Own secrets and commitments.
  std::vector<Scalar> coeffs;
  std::vector<Point> commitments;  // A_i,k
  Hash32 cc_share{};
  Hash32 rho{};

  std::map<uint32_t, std::vector<Point>> a_of;  // A_j
  std::map<uint32_t, Hash32> cc_of;
  Scalar share;  // x_i, until the pending share holds it
  Point group_key = Point::Generator();
  std::vector<Point> public_shares;
  Hash32 chain_code{};
  Hash32 view{};
  internal::PairwiseSetup pairwise;

  // On failure: drop every secret. `outcome->pending` is kept: a share that
  // exists (after R3) is never lost on an abort; the caller keeps it
  // PENDING until a certificate activates it (activation.h), or until the
  // key provably moved on.
  void Wipe() {
    coeffs.clear();
    share = Scalar();
    pairwise.Wipe();
  }
  Bytes ShareProofExtra() const {
    Bytes extra(chain_code.begin(), chain_code.end());
    const auto x = group_key.ToCompressed();
    extra.insert(extra.end(), x.begin(), x.end());
    return extra;
  }

  absl::StatusOr<std::vector<Envelope>> Start();
  absl::StatusOr<std::vector<Envelope>> Round1(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round2(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round3(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round4(const RoundInput& in);

  // Round 2's named steps.
  absl::Status AcceptOpening(uint32_t j, ByteSpan body);
  absl::Status AcceptShare(uint32_t j, const Envelope& d, Scalar& x);
  absl::Status CombineCommitments();
  absl::StatusOr<std::vector<Envelope>> SendRound3();
  // Round 3's named steps.
  absl::Status AcceptShareProof(uint32_t j, const Envelope& b,
                                const Bytes& extra);
  KeyShare MakePendingShare(std::vector<PairwiseMaterial> pairwise) const;
};

DkgParty::DkgParty(std::unique_ptr<State> state)
    : ShareParty(MakeTable<State>("dkg", state.get(),
                                  {{{1, true, false}, &State::Round1},
                                   {{2, true, true}, &State::Round2},
                                   {{3, true, true}, &State::Round3},
                                   {{4, true, false}, &State::Round4}}),
                 "dkg: the share is final only after every acknowledgement"),
      s_(std::move(state)) {
  s_->outcome = &outcome();
}
DkgParty::~DkgParty() = default;

absl::StatusOr<std::unique_ptr<DkgParty>> DkgParty::Create(
    const SessionSetup& setup, const EnvelopeSigner& signer, Rng& rng,
    std::vector<std::string> networks) {
  KAGI_RETURN_IF_ERROR(ValidateSetup(setup));
  if (setup.op != Op::kDkg) {
    return absl::InvalidArgumentError("dkg: setup is not for a DKG");
  }
  const uint32_t self = signer.party();
  if (!setup.HasParty(self)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dkg: party ", self, " is not in the setup"));
  }
  auto s = std::make_unique<State>();
  // Hedge every draw with the session (no secret exists before a DKG).
  s->Bind(Op::kDkg, setup, signer, self, rng, ByteSpan());
  s->networks = std::move(networks);
  s->t = setup.threshold;
  for (const PartyInfo& p : setup.parties) {
    s->all.push_back(p.id);
    if (p.id != self) {
      s->peers.push_back(p.id);
    }
  }
  return std::unique_ptr<DkgParty>(new DkgParty(std::move(s)));
}

absl::StatusOr<std::vector<Envelope>> DkgParty::State::Start() {
  for (uint32_t k = 0; k < t; ++k) {
    coeffs.push_back(Scalar::RandomNonZero(*rng));
    commitments.push_back(*Point::MulGenerator(coeffs.back()));
  }
  cc_share = rng->Bytes<32>();
  internal::CommitMessage m;
  m.nonce = rng->Bytes<32>();
  const crypto::CommitmentWithOpening c = crypto::Commit(
      Tag::kDkgCommit, sid0, self, CommitData(commitments, cc_share), *rng);
  m.commitment = c.commitment;
  rho = c.rho;
  Envelope e = Sign(1, kBroadcast, m.Encode());
  round1.AddOwn(self, e, m);
  return std::vector<Envelope>{std::move(e)};
}

absl::StatusOr<std::vector<Envelope>> DkgParty::State::Round1(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(round1.Collect(
      in, peers, sid0, [](uint32_t) { return true; }, "dkg round 1"));
  // sid = H("dkg-sid", sid0, [nonce_j, C_j] in id order).
  sid = Transcript(Tag::kDkgSid).Add(sid0).AddList(round1.Payloads()).H();
  pairwise.Begin(sid, self);

  std::vector<Envelope> out;
  // R2 broadcast: echo ‖ A_i ‖ cc_i ‖ ρ_i ‖ PoKs.
  DkgOpening opening{commitments, cc_share, rho, {}};
  for (uint32_t k = 0; k < t; ++k) {
    KAGI_ASSIGN_OR_RETURN(
        const crypto::SchnorrProof pi,
        crypto::ProveKnowledge(Pok(self, kCoefLabel, k, ByteSpan()), coeffs[k],
                               commitments[k], *rng));
    opening.poks.push_back(pi);
  }
  ByteWriter w;
  w.PutLengthPrefixed(EncodeEcho(round1.envelopes));
  w.PutRaw(opening.Encode());
  out.push_back(Sign(2, kBroadcast, std::move(w).Take()));
  // R2 direct: σ_{i→j} ‖ base-OT msg1 for (A = i, B = j).
  for (uint32_t j : peers) {
    const Bytes msg1 = pairwise.Start(j, j, *rng);
    out.push_back(Sign(
        2, j, DkgShareMessage::Encode(EvaluatePolynomial(coeffs, j), msg1)));
  }
  return out;
}

absl::Status DkgParty::State::AcceptOpening(uint32_t j, ByteSpan body) {
  KAGI_ASSIGN_OR_RETURN(DkgOpening m, DkgOpening::Decode(body, t, j));
  if (absl::Status st =
          crypto::VerifyOpening(Tag::kDkgCommit, sid0, j, CommitData(m.a, m.cc),
                                m.rho, round1.commitments.at(j));
      !st.ok()) {
    return BlameWith(j, st);
  }
  for (uint32_t k = 0; k < t; ++k) {
    if (absl::Status st = crypto::VerifyKnowledge(
            Pok(j, kCoefLabel, k, ByteSpan()), m.a[k], m.poks[k]);
        !st.ok()) {
      return BlameWith(j, st);
    }
  }
  a_of[j] = std::move(m.a);
  cc_of[j] = m.cc;
  return absl::OkStatus();
}

absl::Status DkgParty::State::AcceptShare(uint32_t j, const Envelope& d,
                                          Scalar& x) {
  KAGI_ASSIGN_OR_RETURN(const DkgShareMessage m,
                        DkgShareMessage::Decode(d.payload, j));
  // Feldman: σ·G = Σ_k i^k·A_j,k.
  KAGI_RETURN_IF_ERROR(internal::CheckDealtShare(
      m.sigma, a_of.at(j), self, j,
      absl::StrCat("dkg: share from party ", j, " fails the Feldman check")));
  x += m.sigma;
  return pairwise.Respond(j, j, m.ot_msg1, *rng);
}

// A_k = Σ_j A_j,k; X = A_0; X_m = Σ_k m^k·A_k; then cc and the view hash.
absl::Status DkgParty::State::CombineCommitments() {
  KAGI_ASSIGN_OR_RETURN(
      const std::vector<Point> sum_a,
      internal::SumCommitments(
          a_of, all, t, "dkg: combined commitment is the point at infinity"));
  group_key = sum_a[0];
  KAGI_ASSIGN_OR_RETURN(
      public_shares,
      internal::PublicShares(sum_a, static_cast<uint32_t>(all.size())));
  absl::StatusOr<Point> own = Point::MulGenerator(share);
  if (!own.ok() || *own != public_shares[self - 1]) {
    return absl::InternalError("dkg: own share does not match X_i");
  }
  std::vector<ByteSpan> ccs;
  for (const auto& [id, c] : cc_of) {
    ccs.emplace_back(c);
  }
  chain_code = Transcript(Tag::kChainCode).Add(sid).AddList(ccs).H();
  view = Transcript(Tag::kDkgView)
             .Add(sid)
             .AddPoint(group_key)
             .Add(chain_code)
             .AddPointList(public_shares)
             .H();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Envelope>> DkgParty::State::Round2(
    const RoundInput& in) {
  KAGI_ASSIGN_OR_RETURN(PayloadRest rest, OpenEchoRound(in, {2, true, true}));
  Scalar x;
  for (uint32_t j : peers) {
    KAGI_RETURN_IF_ERROR(CheckSession(in.broadcasts.at(j), sid));
    KAGI_RETURN_IF_ERROR(CheckSession(in.directs.at(j), sid));
    KAGI_RETURN_IF_ERROR(AcceptOpening(j, rest[j]));
    KAGI_RETURN_IF_ERROR(AcceptShare(j, in.directs.at(j), x));
  }
  // Own contribution.
  x += EvaluatePolynomial(coeffs, self);
  a_of[self] = commitments;
  cc_of[self] = cc_share;
  share = x;
  KAGI_RETURN_IF_ERROR(CombineCommitments());
  return SendRound3();
}

// R3: the PoK of x_i ‖ view to all; msg2 ‖ κ (if i < j) to each j.
absl::StatusOr<std::vector<Envelope>> DkgParty::State::SendRound3() {
  std::vector<Envelope> out;
  DkgShareProof m;
  KAGI_ASSIGN_OR_RETURN(m.pok, crypto::ProveKnowledge(
                                   Pok(self, kShareLabel, 0, ShareProofExtra()),
                                   share, public_shares[self - 1], *rng));
  m.view = view;
  out.push_back(Sign(3, kBroadcast, m.Encode()));
  for (uint32_t j : peers) {
    out.push_back(Sign(3, j, pairwise.Reply(j, j, *rng)));
  }
  return out;
}

absl::Status DkgParty::State::AcceptShareProof(uint32_t j, const Envelope& b,
                                               const Bytes& extra) {
  KAGI_ASSIGN_OR_RETURN(const DkgShareProof m,
                        DkgShareProof::Decode(b.payload, j));
  if (absl::Status st = crypto::VerifyKnowledge(Pok(j, kShareLabel, 0, extra),
                                                public_shares[j - 1], m.pok);
      !st.ok()) {
    return BlameWith(j, st);
  }
  if (m.view != view) {
    return BlameError(j,
                      "dkg: view hash differs (X, chain code or public "
                      "shares disagree)");
  }
  return absl::OkStatus();
}

KeyShare DkgParty::State::MakePendingShare(
    std::vector<PairwiseMaterial> pairwise_material) const {
  KeyShare s;
  s.pairwise = std::move(pairwise_material);
  s.parties = setup.parties;
  s.threshold = t;
  s.self = self;
  s.epoch = 0;
  s.sid_key = sid;
  s.secret_share = share;
  s.public_key = group_key;
  s.public_shares = public_shares;
  s.chain_code = chain_code;
  s.key_id = ComputeKeyId(group_key, chain_code, setup.parties, t);
  s.networks = networks;
  return s;
}

absl::StatusOr<std::vector<Envelope>> DkgParty::State::Round3(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, true));
  const Bytes extra = ShareProofExtra();
  std::vector<PairwiseMaterial> material;
  for (uint32_t j : peers) {
    const Envelope& d = in.directs.at(j);
    KAGI_RETURN_IF_ERROR(CheckSession(in.broadcasts.at(j), sid));
    KAGI_RETURN_IF_ERROR(CheckSession(d, sid));
    KAGI_RETURN_IF_ERROR(AcceptShareProof(j, in.broadcasts.at(j), extra));
    KAGI_RETURN_IF_ERROR(internal::ExpectSize(
        j, d.payload.size(), internal::PairwiseSetup::ReplyBytes(j, self),
        "dkg round 3: direct message must be "));
    KAGI_ASSIGN_OR_RETURN(PairwiseMaterial m, pairwise.Finish(j, j, d.payload));
    material.push_back(std::move(m));
  }
  outcome->pending = MakePendingShare(std::move(material));
  coeffs.clear();
  share = Scalar();  // the pending share holds it now
  // R4: ack = AckDigest(view of the pending share) (activation.h).
  outcome->view = ActivationView::Of(*outcome->pending, Op::kDkg);
  return internal::SendAck(*outcome, Signer());
}

absl::StatusOr<std::vector<Envelope>> DkgParty::State::Round4(
    const RoundInput& in) {
  return internal::CheckAcks(
      *outcome, in, peers, sid, self, all,
      "dkg: acknowledgement does not match (not over this party's activation "
      "view)");
}

}  // namespace kagi::protocol
