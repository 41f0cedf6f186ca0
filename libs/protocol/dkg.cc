#include "libs/protocol/dkg.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/commitment.h"
#include "libs/crypto/hedged_rng.h"
#include "libs/crypto/schnorr.h"
#include "libs/crypto/transcript.h"
#include "libs/mpc/base_ot.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/lagrange.h"

namespace kagi::protocol {
namespace {

using crypto::Point;
using crypto::Scalar;
using crypto::Tag;
using crypto::Transcript;
using Hash32 = std::array<uint8_t, 32>;

constexpr size_t kPoint = Point::kCompressedBytes;
constexpr size_t kScalar = Scalar::kBytes;
constexpr size_t kProof = crypto::SchnorrProof::kBytes;
constexpr absl::string_view kCoefLabel = "dkg-coef";
constexpr absl::string_view kShareLabel = "dkg-share";

enum class Phase { kNew, kRound1, kRound2, kRound3, kRound4, kDone, kFailed };

Bytes EncodePoints(const std::vector<Point>& pts) {
  Bytes out;
  for (const Point& p : pts) {
    const auto c = p.ToCompressed();
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

// Commitment data: A_i,0..t-1 ‖ cc_i.
Bytes CommitData(const std::vector<Point>& a, const Hash32& cc) {
  Bytes d = EncodePoints(a);
  d.insert(d.end(), cc.begin(), cc.end());
  return d;
}

}  // namespace

struct DkgParty::State {
  SessionSetup setup;
  std::vector<std::string> networks;  // the new share's binding
  const EnvelopeSigner* signer = nullptr;
  Rng* rng = nullptr;  // the hedged source below
  std::unique_ptr<crypto::HedgedRng> hedged;
  std::unique_ptr<IdentityVerifier> verifier;
  uint32_t self = 0;
  uint32_t t = 0;
  uint32_t n = 0;
  std::vector<uint32_t> peers;
  std::vector<uint32_t> all;
  Hash32 sid0{};
  Hash32 sid{};
  Phase phase = Phase::kNew;
  absl::Status failure;

  // Own secrets and commitments.
  std::vector<Scalar> coeffs;
  std::vector<Point> commitments;  // A_i,k
  Hash32 cc_share{};
  Hash32 rho{};
  Hash32 nonce{};
  Hash32 commitment{};

  std::map<uint32_t, Envelope> round1;   // every party's R1, own included
  std::map<uint32_t, Hash32> commit_of;  // C_j
  std::map<uint32_t, std::vector<Point>> a_of;  // A_j
  std::map<uint32_t, Hash32> cc_of;
  Scalar share;  // x_i
  Point group_key = Point::Generator();
  std::vector<Point> public_shares;
  Hash32 chain_code{};
  Hash32 view{};

  std::map<uint32_t, mpc::BaseOtReceiver> ot_receivers;    // (A = self, B = j)
  std::map<uint32_t, mpc::BaseOtSenderResult> ot_senders;  // (A = j, B = self)
  std::map<uint32_t, SecretBytes> zero_seeds;
  std::optional<KeyShare> pending;
  // Round 4: what this party acks, its own signed ack, the acks received
  // (kept whatever they say, as evidence) and, once every ack matched, the
  // activation certificate.
  ActivationView activation;
  Envelope own_ack;
  std::map<uint32_t, Envelope> received_acks;
  std::optional<ActivationCertificate> certificate;

  Envelope Sign(uint32_t round, uint32_t to, Bytes payload) const {
    return SignRoundEnvelope(*signer, Op::kDkg, round, sid0, sid, to,
                             std::move(payload));
  }

  absl::Status Fail(absl::Status st) {
    phase = Phase::kFailed;
    failure = st;
    coeffs.clear();
    share = Scalar();
    ot_receivers.clear();
    ot_senders.clear();
    zero_seeds.clear();
    // `pending` is kept: a share that exists (after R3) is never lost on an
    // abort. The caller keeps it PENDING until a certificate activates it
    // (activation.h), or until the key provably moved on.
    return st;
  }

  crypto::PokContext Pok(uint32_t prover, absl::string_view label,
                         uint32_t index, ByteSpan extra) const {
    return MakePokContext(sid, prover, label, index, extra);
  }

  Bytes ShareProofExtra() const {
    Bytes extra(chain_code.begin(), chain_code.end());
    const auto x = group_key.ToCompressed();
    extra.insert(extra.end(), x.begin(), x.end());
    return extra;
  }

  // Round 1 → 2.
  absl::StatusOr<std::vector<Envelope>> Round1(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round2(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round3(const RoundInput& in);
  absl::Status Round4(const RoundInput& in);
};

DkgParty::DkgParty(std::unique_ptr<State> state) : s_(std::move(state)) {}
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
  s->setup = setup;
  s->networks = std::move(networks);
  s->signer = &signer;
  s->verifier = std::make_unique<IdentityVerifier>(setup);
  s->self = self;
  s->t = setup.threshold;
  s->n = setup.n();
  for (const PartyInfo& p : setup.parties) {
    s->all.push_back(p.id);
    if (p.id != self) {
      s->peers.push_back(p.id);
    }
  }
  s->sid0 = Sid0(setup);
  // Hedge every draw with the session (no secret exists before a DKG).
  s->hedged = std::make_unique<crypto::HedgedRng>(rng, ByteSpan(), s->sid0);
  s->rng = s->hedged.get();
  return std::unique_ptr<DkgParty>(new DkgParty(std::move(s)));
}

uint32_t DkgParty::self() const { return s_->self; }
const std::vector<uint32_t>& DkgParty::peers() const { return s_->peers; }
bool DkgParty::finished() const { return s_->phase == Phase::kDone; }
const KeyShare* DkgParty::pending_share() const {
  return s_->pending.has_value() ? &*s_->pending : nullptr;
}
const ActivationCertificate* DkgParty::certificate() const {
  return s_->certificate.has_value() ? &*s_->certificate : nullptr;
}
const std::map<uint32_t, Envelope>& DkgParty::received_acks() const {
  return s_->received_acks;
}

RoundSpec DkgParty::expecting() const {
  switch (s_->phase) {
    case Phase::kRound1:
      return {1, true, false};
    case Phase::kRound2:
      return {2, true, true};
    case Phase::kRound3:
      return {3, true, true};
    case Phase::kRound4:
      return {4, true, false};
    default:
      return {0, false, false};
  }
}

absl::StatusOr<std::vector<Envelope>> DkgParty::Start() {
  State& s = *s_;
  if (s.phase != Phase::kNew) {
    return absl::FailedPreconditionError("dkg: already started");
  }
  for (uint32_t k = 0; k < s.t; ++k) {
    s.coeffs.push_back(Scalar::RandomNonZero(*s.rng));
    s.commitments.push_back(*Point::MulGenerator(s.coeffs.back()));
  }
  s.cc_share = s.rng->Bytes<32>();
  s.nonce = s.rng->Bytes<32>();
  const crypto::CommitmentWithOpening c =
      crypto::Commit(Tag::kDkgCommit, s.sid0, s.self,
                     CommitData(s.commitments, s.cc_share), *s.rng);
  s.commitment = c.commitment;
  s.rho = c.rho;
  ByteWriter w;
  w.PutRaw(s.nonce);
  w.PutRaw(s.commitment);
  Envelope e = s.Sign(1, kBroadcast, std::move(w).Take());
  s.round1[s.self] = e;
  s.commit_of[s.self] = s.commitment;
  s.phase = Phase::kRound1;
  return std::vector<Envelope>{std::move(e)};
}

absl::StatusOr<std::vector<Envelope>> DkgParty::Advance(
    const RoundInput& input) {
  State& s = *s_;
  switch (s.phase) {
    case Phase::kFailed:
      return s.failure;
    case Phase::kRound1: {
      absl::StatusOr<std::vector<Envelope>> out = s.Round1(input);
      if (!out.ok()) {
        return s.Fail(out.status());
      }
      s.phase = Phase::kRound2;
      return out;
    }
    case Phase::kRound2: {
      absl::StatusOr<std::vector<Envelope>> out = s.Round2(input);
      if (!out.ok()) {
        return s.Fail(out.status());
      }
      s.phase = Phase::kRound3;
      return out;
    }
    case Phase::kRound3: {
      absl::StatusOr<std::vector<Envelope>> out = s.Round3(input);
      if (!out.ok()) {
        return s.Fail(out.status());
      }
      s.phase = Phase::kRound4;
      return out;
    }
    case Phase::kRound4: {
      if (absl::Status st = s.Round4(input); !st.ok()) {
        return s.Fail(st);
      }
      s.phase = Phase::kDone;
      return std::vector<Envelope>{};
    }
    default:
      return absl::FailedPreconditionError("dkg: not expecting a round");
  }
}

absl::StatusOr<std::vector<Envelope>> DkgParty::State::Round1(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  for (uint32_t j : peers) {
    const Envelope& e = in.broadcasts.at(j);
    KAGI_RETURN_IF_ERROR(CheckRound1Session(e, sid0));
    if (e.payload.size() != 64) {
      return BlameError(j, absl::StrCat("dkg round 1: payload must be 64 "
                                        "bytes, got ",
                                        e.payload.size()));
    }
    round1[j] = e;
    Hash32 c{};
    std::copy(e.payload.begin() + 32, e.payload.end(), c.begin());
    commit_of[j] = c;
  }
  // sid = H("dkg-sid", sid0, [nonce_j, C_j] in id order).
  std::vector<ByteSpan> items;
  for (const auto& [id, e] : round1) {
    items.emplace_back(e.payload);
  }
  sid = Transcript(Tag::kDkgSid).Add(sid0).AddList(items).H();

  std::vector<Envelope> out;
  // R2 broadcast: echo ‖ A_i ‖ cc_i ‖ ρ_i ‖ PoKs.
  ByteWriter w;
  w.PutLengthPrefixed(EncodeEcho(round1));
  w.PutRaw(EncodePoints(commitments));
  w.PutRaw(cc_share);
  w.PutRaw(rho);
  for (uint32_t k = 0; k < t; ++k) {
    KAGI_ASSIGN_OR_RETURN(
        const crypto::SchnorrProof pi,
        crypto::ProveKnowledge(Pok(self, kCoefLabel, k, ByteSpan()), coeffs[k],
                               commitments[k], *rng));
    w.PutRaw(pi.Encode());
  }
  out.push_back(Sign(2, kBroadcast, std::move(w).Take()));
  // R2 direct: σ_{i→j} ‖ base-OT msg1 for (A = i, B = j).
  for (uint32_t j : peers) {
    ByteWriter d;
    std::array<uint8_t, 32> sigma = EvaluatePolynomial(coeffs, j).ToBytes();
    d.PutRaw(sigma);
    SecureWipe(sigma.data(), sigma.size());
    Bytes msg1;
    ot_receivers.emplace(j, mpc::BaseOtReceiver::Start(
                                mpc::BaseOtSession{sid, self, j}, *rng, &msg1));
    d.PutRaw(msg1);
    out.push_back(Sign(2, j, std::move(d).Take()));
  }
  return out;
}

absl::StatusOr<std::vector<Envelope>> DkgParty::State::Round2(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, true));
  // Echoes first: an equivocated round 1 shows up as a different sid in the
  // headers, and must be attributed to the equivocator, not the reporter.
  KAGI_ASSIGN_OR_RETURN(PayloadRest rest,
                        CheckEchoes(in.broadcasts, peers, round1, *verifier));
  Scalar x;
  for (uint32_t j : peers) {
    const Envelope& b = in.broadcasts.at(j);
    const Envelope& d = in.directs.at(j);
    KAGI_RETURN_IF_ERROR(CheckSession(b, sid));
    KAGI_RETURN_IF_ERROR(CheckSession(d, sid));
    // Opening: A_j (t points) ‖ cc_j ‖ ρ_j ‖ t proofs.
    const size_t want = t * kPoint + 32 + 32 + t * kProof;
    const ByteSpan body = rest[j];
    if (body.size() != want) {
      return BlameError(
          j, absl::StrCat("dkg round 2: opening must be ", want,
                          " bytes for t = ", t, ", got ", body.size()));
    }
    std::vector<Point> a;
    for (uint32_t k = 0; k < t; ++k) {
      absl::StatusOr<Point> p = Point::FromCompressed(
          body.subspan(k * kPoint, kPoint), absl::StrCat("dkg.A[", k, "]"));
      if (!p.ok()) {
        return BlameWith(j, p.status());
      }
      a.push_back(*p);
    }
    Hash32 cc_j{}, rho_j{};
    std::copy_n(body.begin() + t * kPoint, 32, cc_j.begin());
    std::copy_n(body.begin() + t * kPoint + 32, 32, rho_j.begin());
    if (absl::Status st =
            crypto::VerifyOpening(Tag::kDkgCommit, sid0, j, CommitData(a, cc_j),
                                  rho_j, commit_of.at(j));
        !st.ok()) {
      return BlameWith(j, st);
    }
    for (uint32_t k = 0; k < t; ++k) {
      absl::StatusOr<crypto::SchnorrProof> pi = crypto::SchnorrProof::Decode(
          body.subspan(t * kPoint + 64 + k * kProof, kProof),
          absl::StrCat("dkg.pok[", k, "]"));
      if (!pi.ok()) {
        return BlameWith(j, pi.status());
      }
      if (absl::Status st = crypto::VerifyKnowledge(
              Pok(j, kCoefLabel, k, ByteSpan()), a[k], *pi);
          !st.ok()) {
        return BlameWith(j, st);
      }
    }
    // Direct: σ_{j→i} ‖ base-OT msg1 of (A = j, B = i).
    if (d.payload.size() != kScalar + mpc::kBaseOtMessageBytes) {
      return BlameError(j, absl::StrCat("dkg round 2: direct message must be ",
                                        kScalar + mpc::kBaseOtMessageBytes,
                                        " bytes, got ", d.payload.size()));
    }
    absl::StatusOr<Scalar> sigma = Scalar::FromCanonicalBytes(
        ByteSpan(d.payload).subspan(0, kScalar), "dkg.sigma");
    if (!sigma.ok()) {
      return BlameWith(j, sigma.status());
    }
    // Feldman: σ·G = Σ_k i^k·A_j,k.
    absl::StatusOr<Point> lhs = Point::MulGenerator(*sigma);
    absl::StatusOr<Point> rhs = EvaluateCommitments(a, self);
    if (!lhs.ok() || !rhs.ok() || *lhs != *rhs) {
      return BlameError(j, absl::StrCat("dkg: share from party ", j,
                                        " fails the Feldman check"));
    }
    x += *sigma;
    absl::StatusOr<mpc::BaseOtSenderResult> ot =
        mpc::BaseOtSenderRespond(mpc::BaseOtSession{sid, j, self},
                                 ByteSpan(d.payload).subspan(kScalar), *rng);
    if (!ot.ok()) {
      return ot.status();  // already a class-B abort naming j
    }
    ot_senders.emplace(j, std::move(*ot));
    a_of[j] = std::move(a);
    cc_of[j] = cc_j;
  }
  // Own contribution.
  x += EvaluatePolynomial(coeffs, self);
  a_of[self] = commitments;
  cc_of[self] = cc_share;
  // A_k = Σ_j A_j,k; X = A_0; X_m = Σ_k m^k·A_k.
  std::vector<Point> sum_a;
  for (uint32_t k = 0; k < t; ++k) {
    std::vector<Point> col;
    for (uint32_t id : all) {
      col.push_back(a_of.at(id)[k]);
    }
    absl::StatusOr<Point> s = Point::Sum(col);
    if (!s.ok()) {
      return AbortError(AbortClass::kBlame, {},
                        "dkg: combined commitment is the point at infinity");
    }
    sum_a.push_back(*s);
  }
  group_key = sum_a[0];
  for (uint32_t m : all) {
    KAGI_ASSIGN_OR_RETURN(Point xm, EvaluateCommitments(sum_a, m));
    public_shares.push_back(xm);
  }
  share = x;
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

  std::vector<Envelope> out;
  ByteWriter w;
  const Bytes extra = ShareProofExtra();
  KAGI_ASSIGN_OR_RETURN(
      const crypto::SchnorrProof pi,
      crypto::ProveKnowledge(Pok(self, kShareLabel, 0, extra), share,
                             public_shares[self - 1], *rng));
  w.PutRaw(pi.Encode());
  w.PutRaw(view);
  out.push_back(Sign(3, kBroadcast, std::move(w).Take()));
  for (uint32_t j : peers) {
    ByteWriter d;
    d.PutRaw(ot_senders.at(j).msg2);
    if (self < j) {
      SecretBytes kappa(32);
      rng->Fill(kappa.mutable_span());
      d.PutRaw(kappa.secret());
      zero_seeds[j] = std::move(kappa);
    }
    out.push_back(Sign(3, j, std::move(d).Take()));
  }
  return out;
}

absl::StatusOr<std::vector<Envelope>> DkgParty::State::Round3(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, true));
  const Bytes extra = ShareProofExtra();
  KeyShare share_out;
  for (uint32_t j : peers) {
    const Envelope& b = in.broadcasts.at(j);
    const Envelope& d = in.directs.at(j);
    KAGI_RETURN_IF_ERROR(CheckSession(b, sid));
    KAGI_RETURN_IF_ERROR(CheckSession(d, sid));
    if (b.payload.size() != kProof + 32) {
      return BlameError(
          j, absl::StrCat("dkg round 3: broadcast must be ", kProof + 32,
                          " bytes, got ", b.payload.size()));
    }
    absl::StatusOr<crypto::SchnorrProof> pi = crypto::SchnorrProof::Decode(
        ByteSpan(b.payload).subspan(0, kProof), "dkg.share_pok");
    if (!pi.ok()) {
      return BlameWith(j, pi.status());
    }
    if (absl::Status st = crypto::VerifyKnowledge(Pok(j, kShareLabel, 0, extra),
                                                  public_shares[j - 1], *pi);
        !st.ok()) {
      return BlameWith(j, st);
    }
    if (!std::equal(view.begin(), view.end(), b.payload.begin() + kProof)) {
      return BlameError(j,
                        "dkg: view hash differs (X, chain code or public "
                        "shares disagree)");
    }
    const size_t want = mpc::kBaseOtMessageBytes + (j < self ? 32 : 0);
    if (d.payload.size() != want) {
      return BlameError(
          j, absl::StrCat("dkg round 3: direct message must be ", want,
                          " bytes, got ", d.payload.size()));
    }
    auto it = ot_receivers.find(j);
    absl::StatusOr<mpc::CoteSenderSeeds> seeds =
        std::move(it->second)
            .Finish(ByteSpan(d.payload).subspan(0, mpc::kBaseOtMessageBytes));
    ot_receivers.erase(it);
    if (!seeds.ok()) {
      return seeds.status();
    }
    if (j < self) {
      zero_seeds[j] = SecretBytes(
          ByteSpan(d.payload).subspan(mpc::kBaseOtMessageBytes, 32));
    }
    PairwiseMaterial m;
    m.peer = j;
    m.as_sender = std::move(*seeds);
    m.as_receiver = std::move(ot_senders.at(j).seeds);
    m.zero_seed = std::move(zero_seeds.at(j));
    share_out.pairwise.push_back(std::move(m));
  }
  ot_senders.clear();
  share_out.parties = setup.parties;
  share_out.threshold = t;
  share_out.self = self;
  share_out.epoch = 0;
  share_out.sid_key = sid;
  share_out.secret_share = share;
  share_out.public_key = group_key;
  share_out.public_shares = public_shares;
  share_out.chain_code = chain_code;
  share_out.key_id = ComputeKeyId(group_key, chain_code, setup.parties, t);
  share_out.networks = networks;
  pending = std::move(share_out);
  coeffs.clear();

  // R4: ack = AckDigest(view of the pending share) (activation.h).
  activation = ActivationView::Of(*pending, Op::kDkg);
  const Hash32 ack = AckDigest(activation);
  own_ack = Sign(4, kBroadcast, Bytes(ack.begin(), ack.end()));
  return std::vector<Envelope>{own_ack};
}

absl::Status DkgParty::State::Round4(const RoundInput& in) {
  for (const auto& [j, e] : in.broadcasts) {
    received_acks[j] = e;
  }
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  const Hash32 ack = AckDigest(activation);
  for (uint32_t j : peers) {
    const Envelope& b = in.broadcasts.at(j);
    KAGI_RETURN_IF_ERROR(CheckSession(b, sid));
    if (b.payload.size() != ack.size() ||
        !std::equal(ack.begin(), ack.end(), b.payload.begin())) {
      return BlameError(j,
                        "dkg: acknowledgement does not match (not over this "
                        "party's activation view)");
    }
  }
  ActivationCertificate cert;
  cert.view = activation;
  for (uint32_t id : all) {
    cert.acks.push_back(id == self ? own_ack : in.broadcasts.at(id));
  }
  certificate = std::move(cert);
  return absl::OkStatus();
}

absl::StatusOr<KeyShare> DkgParty::TakeShare() {
  if (s_->phase != Phase::kDone || !s_->pending.has_value()) {
    return absl::FailedPreconditionError(
        "dkg: the share is final only after every acknowledgement");
  }
  KeyShare out = std::move(*s_->pending);
  s_->pending.reset();
  s_->share = Scalar();
  return out;
}

}  // namespace kagi::protocol
