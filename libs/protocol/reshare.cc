#include "libs/protocol/reshare.h"

#include <map>
#include <optional>

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
constexpr absl::string_view kCoefLabel = "rs-coef";
constexpr absl::string_view kShareLabel = "rs-share";

enum class Phase { kNew, kRound1, kRound2, kRound3, kRound4, kDone, kFailed };

// The epoch-e public data a dealer presents: X, X_1..X_n, cc, key_id.
struct PublicView {
  Point x = Point::Generator();
  std::vector<Point> shares;
  Hash32 chain_code{};
  Hash32 key_id{};

  Bytes Encode() const {
    ByteWriter w;
    w.PutRaw(x.ToCompressed());
    w.PutU32(static_cast<uint32_t>(shares.size()));
    for (const Point& p : shares) {
      w.PutRaw(p.ToCompressed());
    }
    w.PutRaw(chain_code);
    w.PutRaw(key_id);
    return std::move(w).Take();
  }
  bool operator==(const PublicView& o) const { return Encode() == o.Encode(); }
};

absl::StatusOr<PublicView> DecodeView(ByteReader& r) {
  PublicView v;
  KAGI_ASSIGN_OR_RETURN(ByteSpan x, r.ReadSpan(kPoint, "reshare.pub.X"));
  KAGI_ASSIGN_OR_RETURN(v.x, Point::FromCompressed(x, "reshare.pub.X"));
  KAGI_ASSIGN_OR_RETURN(const uint32_t n, r.ReadU32("reshare.pub.count"));
  if (n < 2 || n > kMaxParties) {
    return absl::InvalidArgumentError(
        absl::StrCat("reshare.pub: old committee size ", n, " out of range"));
  }
  for (uint32_t m = 0; m < n; ++m) {
    KAGI_ASSIGN_OR_RETURN(ByteSpan p, r.ReadSpan(kPoint, "reshare.pub.X_m"));
    KAGI_ASSIGN_OR_RETURN(Point pt,
                          Point::FromCompressed(p, "reshare.pub.X_m"));
    v.shares.push_back(pt);
  }
  KAGI_ASSIGN_OR_RETURN(v.chain_code, r.ReadFixed<32>("reshare.pub.cc"));
  KAGI_ASSIGN_OR_RETURN(v.key_id, r.ReadFixed<32>("reshare.pub.key_id"));
  return v;
}

Bytes EncodePoints(const std::vector<Point>& pts) {
  Bytes out;
  for (const Point& p : pts) {
    const auto c = p.ToCompressed();
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

}  // namespace

struct ReshareParty::State {
  SessionSetup setup;
  std::vector<std::string> networks;  // the new share's binding
  const KeyShare* old_share = nullptr;
  const EnvelopeSigner* signer = nullptr;
  Rng* rng = nullptr;  // the hedged source below
  std::unique_ptr<crypto::HedgedRng> hedged;
  std::unique_ptr<IdentityVerifier> verifier;
  uint32_t self = 0;  // participant id
  ReshareRole role;
  std::vector<uint32_t> peers;             // other participants
  std::vector<uint32_t> dealers;           // participant ids of dealers
  std::vector<uint32_t> old_ids;           // their old ids, same order
  std::map<uint32_t, uint32_t> new_id_of;  // participant -> new id (members)
  uint32_t new_n = 0;
  uint32_t t_new = 0;
  Hash32 sid0{};
  Hash32 sid{};
  Phase phase = Phase::kNew;
  absl::Status failure;

  // Dealer secrets.
  std::vector<Scalar> coeffs;
  std::vector<Point> commitments;
  Hash32 rho{};
  Hash32 nonce{};
  std::optional<PublicView> own_view;  // from the old share, if any

  std::map<uint32_t, Envelope> round1;
  std::map<uint32_t, Hash32> commit_of;  // dealers' C
  std::optional<PublicView> view;        // agreed epoch-e data
  std::vector<Point> new_public_shares;  // X'_1..X'_n'
  Scalar new_share;
  Hash32 view_hash{};

  std::map<uint32_t, mpc::BaseOtReceiver> ot_receivers;    // by participant
  std::map<uint32_t, mpc::BaseOtSenderResult> ot_senders;  // by participant
  std::map<uint32_t, SecretBytes> zero_seeds;              // by participant
  std::optional<KeyShare> pending;
  // Round 4: what this participant acks (a pure dealer builds the same view
  // from the data it has after R3), its own signed ack, the acks received
  // (kept whatever they say, as evidence) and, once every ack matched, the
  // certificate (the new committee's acks only).
  ActivationView activation;
  Envelope own_ack;
  std::map<uint32_t, Envelope> received_acks;
  std::optional<ActivationCertificate> certificate;

  bool IsDealer(uint32_t p) const {
    return setup.reshare_roles[p - 1].old_id != 0;
  }
  bool IsMember(uint32_t p) const {
    return setup.reshare_roles[p - 1].new_id != 0;
  }
  uint32_t NewId(uint32_t p) const { return setup.reshare_roles[p - 1].new_id; }
  uint32_t OldId(uint32_t p) const { return setup.reshare_roles[p - 1].old_id; }

  Envelope Sign(uint32_t round, uint32_t to, Bytes payload) const {
    return SignRoundEnvelope(*signer, Op::kReshare, round, sid0, sid, to,
                             std::move(payload));
  }

  absl::Status Fail(absl::Status st) {
    phase = Phase::kFailed;
    failure = st;
    coeffs.clear();
    new_share = Scalar();
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
  Bytes ShareExtra() const {
    Bytes e(view->chain_code.begin(), view->chain_code.end());
    const auto x = view->x.ToCompressed();
    e.insert(e.end(), x.begin(), x.end());
    return e;
  }
  Bytes CommitData() const {
    Bytes d = EncodePoints(commitments);
    const Bytes v = own_view->Encode();
    d.insert(d.end(), v.begin(), v.end());
    return d;
  }

  absl::StatusOr<std::vector<Envelope>> Round1(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round2(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Round3(const RoundInput& in);
  absl::Status Round4(const RoundInput& in);
};

ReshareParty::ReshareParty(std::unique_ptr<State> s) : s_(std::move(s)) {}
ReshareParty::~ReshareParty() = default;

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
  s->setup = setup;
  s->networks = std::move(networks);
  s->role = setup.reshare_roles[self - 1];
  if (s->role.old_id != 0 && old_share == nullptr) {
    return absl::InvalidArgumentError("reshare: a dealer needs its old share");
  }
  if (old_share != nullptr) {
    if (old_share->key_id != setup.key_id) {
      return absl::InvalidArgumentError("reshare: old share is another key");
    }
    if (old_share->epoch != setup.epoch) {
      return absl::FailedPreconditionError(
          absl::StrCat("reshare: old share is epoch ", old_share->epoch,
                       ", the setup reshares epoch ", setup.epoch));
    }
    if (s->role.old_id != 0 && old_share->self != s->role.old_id) {
      return absl::InvalidArgumentError(
          "reshare: old share does not belong to this dealer's old id");
    }
    if (s->role.old_id != 0 && old_share->threshold != setup.old_threshold) {
      return absl::InvalidArgumentError(
          "reshare: setup's old threshold differs from the share's");
    }
    // Every dealer must be the old committee's holder of that old id: its
    // identity key in the setup must be the one the old share lists.
    for (const PartyInfo& p : setup.parties) {
      const uint32_t old_id = setup.reshare_roles[p.id - 1].old_id;
      if (old_id == 0) {
        continue;
      }
      if (old_id > old_share->parties.size() ||
          old_share->parties[old_id - 1].identity_key != p.identity_key) {
        return absl::InvalidArgumentError(absl::StrCat(
            "reshare: participant ", p.id, " claims old id ", old_id,
            " but its identity key is not that party's in epoch ",
            old_share->epoch));
      }
    }
    PublicView v;
    v.x = old_share->public_key;
    v.shares = old_share->public_shares;
    v.chain_code = old_share->chain_code;
    v.key_id = old_share->key_id;
    s->own_view = v;
  }
  s->old_share = old_share;
  s->signer = &signer;
  s->verifier = std::make_unique<IdentityVerifier>(setup);
  s->self = self;
  s->t_new = setup.threshold;
  for (const PartyInfo& p : setup.parties) {
    const ReshareRole& r = setup.reshare_roles[p.id - 1];
    if (p.id != self) {
      s->peers.push_back(p.id);
    }
    if (r.old_id != 0) {
      s->dealers.push_back(p.id);
      s->old_ids.push_back(r.old_id);
    }
    if (r.new_id != 0) {
      s->new_id_of[p.id] = r.new_id;
      ++s->new_n;
    }
  }
  s->sid0 = Sid0(setup);
  // Hedge every draw with the session and, for a holder, a digest of its
  // share.
  crypto::Digest32 secret_digest{};
  if (old_share != nullptr) {
    secret_digest = crypto::Transcript(Tag::kNonce)
                        .AddScalar(old_share->secret_share)
                        .Add(old_share->sid_key)
                        .H();
  }
  s->hedged = std::make_unique<crypto::HedgedRng>(rng, secret_digest, s->sid0);
  s->rng = s->hedged.get();
  return std::unique_ptr<ReshareParty>(new ReshareParty(std::move(s)));
}

uint32_t ReshareParty::self() const { return s_->self; }
const std::vector<uint32_t>& ReshareParty::peers() const { return s_->peers; }
bool ReshareParty::finished() const { return s_->phase == Phase::kDone; }
bool ReshareParty::is_member() const { return s_->role.new_id != 0; }
const KeyShare* ReshareParty::pending_share() const {
  return s_->pending.has_value() ? &*s_->pending : nullptr;
}
const ActivationCertificate* ReshareParty::certificate() const {
  return s_->certificate.has_value() ? &*s_->certificate : nullptr;
}
const std::map<uint32_t, Envelope>& ReshareParty::received_acks() const {
  return s_->received_acks;
}

RoundSpec ReshareParty::expecting() const {
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

absl::StatusOr<std::vector<Envelope>> ReshareParty::Start() {
  State& s = *s_;
  if (s.phase != Phase::kNew) {
    return absl::FailedPreconditionError("reshare: already started");
  }
  s.nonce = s.rng->Bytes<32>();
  ByteWriter w;
  w.PutRaw(s.nonce);
  if (s.role.old_id != 0) {
    // y = λ_i^D·x_i; g(0) = y, other coefficients random and nonzero.
    const Scalar y =
        LagrangeAtZero(s.role.old_id, s.old_ids) * s.old_share->secret_share;
    s.coeffs.push_back(y);
    for (uint32_t k = 1; k < s.t_new; ++k) {
      s.coeffs.push_back(Scalar::RandomNonZero(*s.rng));
    }
    for (const Scalar& c : s.coeffs) {
      absl::StatusOr<Point> a = Point::MulGenerator(c);
      if (!a.ok()) {
        return s.Fail(absl::InternalError("reshare: zero coefficient"));
      }
      s.commitments.push_back(*a);
    }
    const crypto::CommitmentWithOpening c = crypto::Commit(
        Tag::kReshareCommit, s.sid0, s.self, s.CommitData(), *s.rng);
    s.rho = c.rho;
    s.commit_of[s.self] = c.commitment;
    w.PutRaw(c.commitment);
  }
  Envelope e = s.Sign(1, kBroadcast, std::move(w).Take());
  s.round1[s.self] = e;
  s.phase = Phase::kRound1;
  return std::vector<Envelope>{std::move(e)};
}

absl::StatusOr<std::vector<Envelope>> ReshareParty::Advance(
    const RoundInput& input) {
  State& s = *s_;
  absl::StatusOr<std::vector<Envelope>> out;
  switch (s.phase) {
    case Phase::kFailed:
      return s.failure;
    case Phase::kRound1:
      out = s.Round1(input);
      break;
    case Phase::kRound2:
      out = s.Round2(input);
      break;
    case Phase::kRound3:
      out = s.Round3(input);
      break;
    case Phase::kRound4: {
      if (absl::Status st = s.Round4(input); !st.ok()) {
        return s.Fail(st);
      }
      s.phase = Phase::kDone;
      return std::vector<Envelope>{};
    }
    default:
      return absl::FailedPreconditionError("reshare: not expecting a round");
  }
  if (!out.ok()) {
    return s.Fail(out.status());
  }
  s.phase = static_cast<Phase>(static_cast<int>(s.phase) + 1);
  return out;
}

absl::StatusOr<std::vector<Envelope>> ReshareParty::State::Round1(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  for (uint32_t p : peers) {
    const Envelope& e = in.broadcasts.at(p);
    KAGI_RETURN_IF_ERROR(CheckRound1Session(e, sid0));
    const size_t want = IsDealer(p) ? 64 : 32;
    if (e.payload.size() != want) {
      return BlameError(p,
                        absl::StrCat("reshare round 1: payload must be ", want,
                                     " bytes, got ", e.payload.size()));
    }
    round1[p] = e;
    if (IsDealer(p)) {
      Hash32 c{};
      std::copy(e.payload.begin() + 32, e.payload.end(), c.begin());
      commit_of[p] = c;
    }
  }
  std::vector<ByteSpan> items;
  for (const auto& [id, e] : round1) {
    items.emplace_back(e.payload);
  }
  sid = Transcript(Tag::kReshareSid).Add(sid0).AddList(items).H();

  std::vector<Envelope> out;
  ByteWriter w;
  w.PutLengthPrefixed(EncodeEcho(round1));
  if (role.old_id != 0) {
    w.PutRaw(EncodePoints(commitments));
    w.PutRaw(own_view->Encode());
    w.PutRaw(rho);
    for (uint32_t k = 0; k < t_new; ++k) {
      KAGI_ASSIGN_OR_RETURN(
          const crypto::SchnorrProof pi,
          crypto::ProveKnowledge(Pok(self, kCoefLabel, k, ByteSpan()),
                                 coeffs[k], commitments[k], *rng));
      w.PutRaw(pi.Encode());
    }
  }
  out.push_back(Sign(2, kBroadcast, std::move(w).Take()));
  for (uint32_t q : peers) {
    ByteWriter d;
    if (role.old_id != 0 && IsMember(q)) {
      std::array<uint8_t, 32> g =
          EvaluatePolynomial(coeffs, NewId(q)).ToBytes();
      d.PutRaw(g);
      SecureWipe(g.data(), g.size());
    }
    if (role.new_id != 0 && IsMember(q)) {
      Bytes msg1;
      ot_receivers.emplace(
          q, mpc::BaseOtReceiver::Start(
                 mpc::BaseOtSession{sid, role.new_id, NewId(q)}, *rng, &msg1));
      d.PutRaw(msg1);
    }
    out.push_back(Sign(2, q, std::move(d).Take()));
  }
  return out;
}

absl::StatusOr<std::vector<Envelope>> ReshareParty::State::Round2(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, true));
  KAGI_ASSIGN_OR_RETURN(PayloadRest rest,
                        CheckEchoes(in.broadcasts, peers, round1, *verifier));
  // Dealers' openings (own included).
  std::map<uint32_t, std::vector<Point>> a_of;
  std::map<uint32_t, PublicView> views;
  if (role.old_id != 0) {
    a_of[self] = commitments;
    views[self] = *own_view;
  }
  for (uint32_t p : peers) {
    KAGI_RETURN_IF_ERROR(CheckSession(in.broadcasts.at(p), sid));
    KAGI_RETURN_IF_ERROR(CheckSession(in.directs.at(p), sid));
    if (!IsDealer(p)) {
      if (!rest[p].empty()) {
        return BlameError(p, "reshare round 2: a non-dealer sent an opening");
      }
      continue;
    }
    ByteReader r(rest[p]);
    std::vector<Point> a;
    for (uint32_t k = 0; k < t_new; ++k) {
      absl::StatusOr<ByteSpan> b = r.ReadSpan(kPoint, "reshare.A'");
      if (!b.ok()) {
        return BlameWith(p, b.status());
      }
      absl::StatusOr<Point> pt = Point::FromCompressed(*b, "reshare.A'");
      if (!pt.ok()) {
        return BlameWith(p, pt.status());
      }
      a.push_back(*pt);
    }
    absl::StatusOr<PublicView> v = DecodeView(r);
    if (!v.ok()) {
      return BlameWith(p, v.status());
    }
    absl::StatusOr<std::array<uint8_t, 32>> rho_p =
        r.ReadFixed<32>("reshare.rho");
    if (!rho_p.ok()) {
      return BlameWith(p, rho_p.status());
    }
    Bytes data = EncodePoints(a);
    const Bytes venc = v->Encode();
    data.insert(data.end(), venc.begin(), venc.end());
    if (absl::Status st = crypto::VerifyOpening(Tag::kReshareCommit, sid0, p,
                                                data, *rho_p, commit_of.at(p));
        !st.ok()) {
      return BlameWith(p, st);
    }
    for (uint32_t k = 0; k < t_new; ++k) {
      absl::StatusOr<ByteSpan> b = r.ReadSpan(kProof, "reshare.pok");
      if (!b.ok()) {
        return BlameWith(p, b.status());
      }
      absl::StatusOr<crypto::SchnorrProof> pi =
          crypto::SchnorrProof::Decode(*b, "reshare.pok");
      if (!pi.ok()) {
        return BlameWith(p, pi.status());
      }
      if (absl::Status st = crypto::VerifyKnowledge(
              Pok(p, kCoefLabel, k, ByteSpan()), a[k], *pi);
          !st.ok()) {
        return BlameWith(p, st);
      }
    }
    if (absl::Status end = r.ExpectEnd("reshare round 2 opening"); !end.ok()) {
      return BlameWith(p, end);
    }
    if (v->key_id != setup.key_id) {
      return BlameError(p, "reshare: dealer presents another key id");
    }
    if (own_view.has_value() && !(*v == *own_view)) {
      return BlameError(p,
                        "reshare: dealer's X, public shares or chain code "
                        "differ from this party's epoch-e share");
    }
    a_of[p] = std::move(a);
    views[p] = std::move(*v);
  }
  // Every dealer presents the same epoch-e data.
  const PublicView& first = views.begin()->second;
  for (const auto& [p, v] : views) {
    if (!(v == first)) {
      return AbortError(AbortClass::kBlame, {},
                        "reshare: dealers disagree on X, the public shares or "
                        "the chain code");
    }
  }
  view = first;
  // Each dealer's constant term matches its old public share, attributably:
  // A'_{p,0} = λ_p^D·X_p.
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
  // New public shares X'_m = Σ_k m^k·Σ_D A'_{p,k}.
  std::vector<Point> sum_a;
  for (uint32_t k = 0; k < t_new; ++k) {
    std::vector<Point> col;
    for (uint32_t p : dealers) {
      col.push_back(a_of.at(p)[k]);
    }
    absl::StatusOr<Point> s = Point::Sum(col);
    if (!s.ok()) {
      return AbortError(AbortClass::kBlame, {},
                        "reshare: combined commitment is infinity");
    }
    sum_a.push_back(*s);
  }
  for (uint32_t m = 1; m <= new_n; ++m) {
    KAGI_ASSIGN_OR_RETURN(Point xm, EvaluateCommitments(sum_a, m));
    new_public_shares.push_back(xm);
  }
  // Members: the shares from every dealer (Feldman), base-OT replies.
  if (role.new_id != 0) {
    Scalar x;
    if (role.old_id != 0) {
      x += EvaluatePolynomial(coeffs, role.new_id);
    }
    for (uint32_t p : peers) {
      const Envelope& d = in.directs.at(p);
      const size_t want = (IsDealer(p) ? kScalar : 0) +
                          (IsMember(p) ? mpc::kBaseOtMessageBytes : 0);
      if (d.payload.size() != want) {
        return BlameError(p,
                          absl::StrCat("reshare round 2: direct message "
                                       "must be ",
                                       want, " bytes, got ", d.payload.size()));
      }
      size_t off = 0;
      if (IsDealer(p)) {
        absl::StatusOr<Scalar> g = Scalar::FromCanonicalBytes(
            ByteSpan(d.payload).subspan(0, kScalar), "reshare.g");
        if (!g.ok()) {
          return BlameWith(p, g.status());
        }
        absl::StatusOr<Point> lhs = Point::MulGenerator(*g);
        absl::StatusOr<Point> rhs =
            EvaluateCommitments(a_of.at(p), role.new_id);
        if (!lhs.ok() || !rhs.ok() || *lhs != *rhs) {
          return BlameError(p, absl::StrCat("reshare: share from dealer ", p,
                                            " fails the Feldman check"));
        }
        x += *g;
        off = kScalar;
      }
      if (IsMember(p)) {
        absl::StatusOr<mpc::BaseOtSenderResult> ot = mpc::BaseOtSenderRespond(
            mpc::BaseOtSession{sid, NewId(p), role.new_id},
            ByteSpan(d.payload).subspan(off), *rng);
        if (!ot.ok()) {
          // The base-OT layer names new ids; the culprit is participant p.
          return BlameError(p, ot.status().message());
        }
        ot_senders.emplace(p, std::move(*ot));
      }
    }
    new_share = x;
    absl::StatusOr<Point> own = Point::MulGenerator(new_share);
    if (!own.ok() || *own != new_public_shares[role.new_id - 1]) {
      return absl::InternalError("reshare: new share does not match X'_j");
    }
  } else {
    for (uint32_t p : peers) {
      if (!in.directs.at(p).payload.empty()) {
        return BlameError(p,
                          "reshare round 2: unexpected direct payload for a "
                          "non-member");
      }
    }
  }
  view_hash = Transcript(Tag::kReshareView)
                  .Add(sid)
                  .AddPoint(view->x)
                  .Add(view->chain_code)
                  .AddPointList(new_public_shares)
                  .H();
  coeffs.clear();

  std::vector<Envelope> out;
  ByteWriter w;
  if (role.new_id != 0) {
    const Bytes extra = ShareExtra();
    KAGI_ASSIGN_OR_RETURN(
        const crypto::SchnorrProof pi,
        crypto::ProveKnowledge(Pok(self, kShareLabel, 0, extra), new_share,
                               new_public_shares[role.new_id - 1], *rng));
    w.PutRaw(pi.Encode());
  }
  w.PutRaw(view_hash);
  out.push_back(Sign(3, kBroadcast, std::move(w).Take()));
  for (uint32_t q : peers) {
    ByteWriter d;
    if (role.new_id != 0 && IsMember(q)) {
      d.PutRaw(ot_senders.at(q).msg2);
      if (role.new_id < NewId(q)) {
        SecretBytes kappa(32);
        rng->Fill(kappa.mutable_span());
        d.PutRaw(kappa.secret());
        zero_seeds[q] = std::move(kappa);
      }
    }
    out.push_back(Sign(3, q, std::move(d).Take()));
  }
  return out;
}

absl::StatusOr<std::vector<Envelope>> ReshareParty::State::Round3(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, true));
  KeyShare share_out;
  for (uint32_t p : peers) {
    const Envelope& b = in.broadcasts.at(p);
    const Envelope& d = in.directs.at(p);
    KAGI_RETURN_IF_ERROR(CheckSession(b, sid));
    KAGI_RETURN_IF_ERROR(CheckSession(d, sid));
    const size_t want_b = (IsMember(p) ? kProof : 0) + 32;
    if (b.payload.size() != want_b) {
      return BlameError(
          p, absl::StrCat("reshare round 3: broadcast must be ", want_b,
                          " bytes, got ", b.payload.size()));
    }
    if (IsMember(p)) {
      absl::StatusOr<crypto::SchnorrProof> pi = crypto::SchnorrProof::Decode(
          ByteSpan(b.payload).subspan(0, kProof), "reshare.share_pok");
      if (!pi.ok()) {
        return BlameWith(p, pi.status());
      }
      if (absl::Status st =
              crypto::VerifyKnowledge(Pok(p, kShareLabel, 0, ShareExtra()),
                                      new_public_shares[NewId(p) - 1], *pi);
          !st.ok()) {
        return BlameWith(p, st);
      }
    }
    if (!std::equal(view_hash.begin(), view_hash.end(), b.payload.end() - 32)) {
      return BlameError(p, "reshare: view hash differs");
    }
    const bool pair = role.new_id != 0 && IsMember(p);
    const size_t want_d =
        pair ? mpc::kBaseOtMessageBytes + (NewId(p) < role.new_id ? 32 : 0) : 0;
    if (d.payload.size() != want_d) {
      return BlameError(p,
                        absl::StrCat("reshare round 3: direct message "
                                     "must be ",
                                     want_d, " bytes, got ", d.payload.size()));
    }
    if (!pair) {
      continue;
    }
    auto it = ot_receivers.find(p);
    absl::StatusOr<mpc::CoteSenderSeeds> seeds =
        std::move(it->second)
            .Finish(ByteSpan(d.payload).subspan(0, mpc::kBaseOtMessageBytes));
    ot_receivers.erase(it);
    if (!seeds.ok()) {
      return BlameError(p, seeds.status().message());
    }
    if (NewId(p) < role.new_id) {
      zero_seeds[p] = SecretBytes(
          ByteSpan(d.payload).subspan(mpc::kBaseOtMessageBytes, 32));
    }
    PairwiseMaterial m;
    m.peer = NewId(p);
    m.as_sender = std::move(*seeds);
    m.as_receiver = std::move(ot_senders.at(p).seeds);
    m.zero_seed = std::move(zero_seeds.at(p));
    share_out.pairwise.push_back(std::move(m));
  }
  ot_senders.clear();
  // The view every participant acks: the new committee (new ids with their
  // identity keys), epoch e + 1 and the new public data.
  activation.op = Op::kReshare;
  activation.sid = sid;
  activation.key_id = setup.key_id;
  activation.epoch = setup.epoch + 1;
  activation.threshold = t_new;
  activation.parties.clear();
  for (uint32_t id = 1; id <= new_n; ++id) {
    for (const PartyInfo& p : setup.parties) {
      if (setup.reshare_roles[p.id - 1].new_id == id) {
        activation.parties.push_back(PartyInfo{id, p.identity_key});
      }
    }
  }
  activation.public_key = view->x;
  activation.public_shares = new_public_shares;
  activation.chain_code = view->chain_code;
  if (role.new_id != 0) {
    std::sort(share_out.pairwise.begin(), share_out.pairwise.end(),
              [](const PairwiseMaterial& a, const PairwiseMaterial& b) {
                return a.peer < b.peer;
              });
    share_out.parties = activation.parties;
    share_out.key_id = setup.key_id;
    share_out.sid_key = sid;
    share_out.epoch = setup.epoch + 1;
    share_out.self = role.new_id;
    share_out.threshold = t_new;
    share_out.secret_share = new_share;
    share_out.public_key = view->x;
    share_out.public_shares = new_public_shares;
    share_out.chain_code = view->chain_code;
    share_out.networks = networks;
    pending = std::move(share_out);
    if (ActivationView::Of(*pending, Op::kReshare) != activation) {
      return absl::InternalError(
          "reshare: the new share's activation view differs from the "
          "session's");
    }
  }
  // R4: ack = AckDigest(activation view) (activation.h).
  const Hash32 ack = AckDigest(activation);
  own_ack = Sign(4, kBroadcast, Bytes(ack.begin(), ack.end()));
  return std::vector<Envelope>{own_ack};
}

absl::Status ReshareParty::State::Round4(const RoundInput& in) {
  for (const auto& [p, e] : in.broadcasts) {
    received_acks[p] = e;
  }
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  const Hash32 ack = AckDigest(activation);
  for (uint32_t p : peers) {
    const Envelope& b = in.broadcasts.at(p);
    KAGI_RETURN_IF_ERROR(CheckSession(b, sid));
    if (b.payload.size() != ack.size() ||
        !std::equal(ack.begin(), ack.end(), b.payload.begin())) {
      return BlameError(p,
                        "reshare: acknowledgement does not match (not over "
                        "this participant's activation view)");
    }
  }
  // The certificate: the new committee's acks in new-id order; pure
  // dealers' acks are checked above but are not part of it.
  ActivationCertificate cert;
  cert.view = activation;
  for (uint32_t id = 1; id <= new_n; ++id) {
    for (const PartyInfo& p : setup.parties) {
      if (NewId(p.id) == id) {
        cert.acks.push_back(p.id == self ? own_ack : in.broadcasts.at(p.id));
      }
    }
  }
  certificate = std::move(cert);
  return absl::OkStatus();
}

absl::StatusOr<KeyShare> ReshareParty::TakeShare() {
  if (s_->phase != Phase::kDone || !s_->pending.has_value()) {
    return absl::FailedPreconditionError(
        "reshare: the new share is final only after every acknowledgement "
        "(and only for members of the new committee)");
  }
  KeyShare out = std::move(*s_->pending);
  s_->pending.reset();
  s_->new_share = Scalar();
  return out;
}

}  // namespace kagi::protocol
