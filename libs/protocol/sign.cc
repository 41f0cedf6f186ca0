#include "libs/protocol/sign.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/base/ctime.h"
#include "libs/base/secret.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/commitment.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hedged_rng.h"
#include "libs/crypto/transcript.h"
#include "libs/mpc/rvole.h"
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
// Per item in P3: msg2 ‖ R ‖ pk ‖ Γ_u ‖ Γ_v ‖ ψ.
constexpr size_t kP3Item = mpc::kRvoleMsg2Bytes + 4 * kPoint + kScalar;

enum class Phase { kNew, kP1, kP2, kP3, kOnline, kDone, kFailed };

struct Item {
  Hash32 digest{};
  Point derived_key = Point::Generator();  // X'
  Scalar tweak;                            // δ
  Scalar r;                                // nonce share r_i
  Scalar phi;                              // φ_i
  Point big_r = Point::Generator();        // R_i
  Scalar sk;                               // sk_i
  Point pk = Point::Generator();           // pk_i
  Hash32 rvole_sid{};
  // Per peer: RVOLE receiver state (instance A = j, B = self) and outputs.
  std::map<uint32_t, mpc::RvoleReceiver> receivers;
  std::map<uint32_t, std::array<Scalar, 2>>
      c_out;  // instance (A = self, B = j)
  std::map<uint32_t, Bytes> msg2_out;
  std::map<uint32_t, Point> peer_r;   // R_j
  std::map<uint32_t, Point> peer_pk;  // pk_j
  std::map<uint32_t, Scalar> psi_in;  // ψ_{j→i}
  std::map<uint32_t, std::array<Scalar, 2>>
      d_out;  // instance (A = j, B = self)
};

}  // namespace

std::array<uint8_t, 64> Signature::Compact() const {
  std::array<uint8_t, 64> out{};
  std::copy(r.begin(), r.end(), out.begin());
  std::copy(s.begin(), s.end(), out.begin() + 32);
  return out;
}

Presignature Presignature::CreateForTesting(const PresignatureId& id,
                                            const Hash32& digest,
                                            const Point& r_point,
                                            const Scalar& phi, const Scalar& u,
                                            const Scalar& w) {
  Presignature p;
  p.id_ = id;
  p.digest_ = digest;
  p.r_point_ = r_point;
  p.phi_ = phi;
  p.u_ = u;
  p.w_ = w;
  return p;
}

absl::StatusOr<std::array<uint8_t, 64>> Presignature::Release(
    const Hash32& digest,
    const std::function<absl::Status(const PresignatureId&)>& mark_consumed) {
  if (used_) {
    return absl::FailedPreconditionError(
        "presignature already used: a second release would reveal the key");
  }
  used_ = true;  // burned from here on, whatever happens next
  // On every exit below the secret values are dropped.
  struct Wipe {
    Presignature* p;
    ~Wipe() {
      p->phi_ = Scalar();
      p->u_ = Scalar();
      p->w_ = Scalar();
    }
  } wipe{this};
  if (digest != digest_) {
    return absl::InvalidArgumentError(
        "presignature is bound to another message digest");
  }
  KAGI_RETURN_IF_ERROR(mark_consumed(id_));
  // s0 = m·φ_i + r·w_i, s1 = u_i (ε = 0 on demand).
  const Scalar m = Scalar::FromBytesModOrder(digest);
  const Scalar r = r_point_.XModOrder();
  const Scalar s0 = m * phi_ + r * w_;
  std::array<uint8_t, 64> out{};
  const auto a = s0.ToBytes();
  const auto b = u_.ToBytes();
  std::copy(a.begin(), a.end(), out.begin());
  std::copy(b.begin(), b.end(), out.begin() + 32);
  return out;
}

struct SignParty::State {
  SessionSetup setup;
  KeyShare share;
  const EnvelopeSigner* signer = nullptr;
  Rng* rng = nullptr;  // the hedged source below
  std::unique_ptr<crypto::HedgedRng> hedged;
  ConsumeHook hook;
  std::unique_ptr<IdentityVerifier> verifier;
  uint32_t self = 0;
  std::vector<uint32_t> signers;
  std::vector<uint32_t> peers;
  Hash32 sid0{};
  Hash32 sid{};
  Hash32 nonce{};
  Hash32 commitment{};
  Hash32 rho{};
  Phase phase = Phase::kNew;
  absl::Status failure;
  std::map<uint32_t, Envelope> round1;
  std::map<uint32_t, Hash32> commit_of;
  std::vector<Item> items;
  std::vector<Presignature> presigs;
  std::vector<std::array<uint8_t, 64>> own_shares;
  std::vector<Signature> signatures;

  Envelope Sign(uint32_t round, uint32_t to, Bytes payload) const {
    // Public by design: what this party sends. Its recipient sees it, and
    // all of a signing session's messages from this party together are the
    // view of the other t−1 signers, a coalition the protocol tolerates.
    // (Not true of DKG or reshare, whose direct messages carry Shamir
    // shares: they are not declassified.)
    CtDeclassify(payload.data(), payload.size());
    return SignRoundEnvelope(*signer, Op::kSign, round, sid0, sid, to,
                             std::move(payload));
  }

  absl::Status Fail(absl::Status st) {
    phase = Phase::kFailed;
    failure = st;
    signatures.clear();  // an aborted batch outputs no signature at all
    // Drop every secret now rather than at destruction.
    for (Item& it : items) {
      it.receivers.clear();
      it.r = Scalar();
      it.phi = Scalar();
      it.sk = Scalar();
      it.c_out.clear();
      it.d_out.clear();
      it.psi_in.clear();
    }
    presigs.clear();
    own_shares.clear();
    share.secret_share = Scalar();
    share.pairwise.clear();
    return st;
  }

  Bytes CommitData() const {
    Bytes d;
    for (const Item& it : items) {
      const auto c = it.big_r.ToCompressed();
      d.insert(d.end(), c.begin(), c.end());
    }
    return d;
  }

  absl::StatusOr<std::vector<Envelope>> P1(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> P2(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> P3(const RoundInput& in);
  absl::Status Online(const RoundInput& in);
};

SignParty::SignParty(std::unique_ptr<State> state) : s_(std::move(state)) {}
SignParty::~SignParty() = default;

absl::StatusOr<std::unique_ptr<SignParty>> SignParty::Create(
    const SessionSetup& setup, const KeyShare& share,
    const EnvelopeSigner& signer, Rng& rng, ConsumeHook hook) {
  KAGI_RETURN_IF_ERROR(ValidateSetup(setup));
  if (setup.op != Op::kSign) {
    return absl::InvalidArgumentError("sign: setup is not for signing");
  }
  if (setup.key_id != share.key_id) {
    return absl::InvalidArgumentError("sign: setup is for another key");
  }
  if (setup.epoch != share.epoch) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sign: setup is for epoch ", setup.epoch, " but this share is epoch ",
        share.epoch, " (shares of different epochs never mix)"));
  }
  if (setup.threshold != share.threshold ||
      setup.parties.size() != share.parties.size()) {
    return absl::InvalidArgumentError("sign: setup and share disagree on t/n");
  }
  for (size_t i = 0; i < setup.parties.size(); ++i) {
    if (setup.parties[i].id != share.parties[i].id ||
        setup.parties[i].identity_key != share.parties[i].identity_key) {
      return absl::InvalidArgumentError(
          "sign: setup and share disagree on the party list");
    }
  }
  const uint32_t self = signer.party();
  if (self != share.self) {
    return absl::InvalidArgumentError("sign: signer is not the share's party");
  }
  bool signing = false;
  for (uint32_t j : setup.signers) {
    signing = signing || j == self;
  }
  if (!signing) {
    return absl::InvalidArgumentError(
        absl::StrCat("sign: party ", self, " is not among the signers"));
  }
  if (!hook) {
    return absl::InvalidArgumentError("sign: a consume hook is required");
  }
  // A share that does not match its own public share would make the
  // session fail the unattributable Σ pk_j = X' check; refuse it up front.
  absl::StatusOr<crypto::Point> own = Point::MulGenerator(share.secret_share);
  // Public by design: x_i·G is this party's public share, in every share.
  CtDeclassifyObject(own);
  if (share.public_shares.size() != share.parties.size() || !own.ok() ||
      *own != share.public_shares[share.self - 1]) {
    return absl::InvalidArgumentError(
        "sign: the key share does not match its public share");
  }
  auto s = std::make_unique<State>();
  s->setup = setup;
  s->share.key_id = share.key_id;
  s->share.sid_key = share.sid_key;
  s->share.epoch = share.epoch;
  s->share.self = share.self;
  s->share.threshold = share.threshold;
  s->share.parties = share.parties;
  s->share.secret_share = share.secret_share;
  s->share.public_key = share.public_key;
  s->share.public_shares = share.public_shares;
  s->share.chain_code = share.chain_code;
  for (uint32_t j : setup.signers) {
    if (j == self) {
      continue;
    }
    const PairwiseMaterial* m = share.Pairwise(j);
    if (m == nullptr) {
      return absl::InvalidArgumentError("sign: no OT material for a signer");
    }
    PairwiseMaterial copy;
    copy.peer = j;
    copy.as_sender.delta = m->as_sender.delta.Clone();
    copy.as_sender.keys = m->as_sender.keys.Clone();
    copy.as_receiver.keys0 = m->as_receiver.keys0.Clone();
    copy.as_receiver.keys1 = m->as_receiver.keys1.Clone();
    copy.zero_seed = m->zero_seed.Clone();
    s->share.pairwise.push_back(std::move(copy));
  }
  s->signer = &signer;
  s->hook = std::move(hook);
  s->verifier = std::make_unique<IdentityVerifier>(setup);
  s->self = self;
  s->signers = setup.signers;
  for (uint32_t j : setup.signers) {
    if (j != self) {
      s->peers.push_back(j);
    }
  }
  s->sid0 = Sid0(setup);
  // Hedge every draw with the session and a digest of the share.
  const crypto::Digest32 secret_digest = crypto::Transcript(Tag::kNonce)
                                             .AddScalar(share.secret_share)
                                             .Add(share.sid_key)
                                             .H();
  s->hedged = std::make_unique<crypto::HedgedRng>(rng, secret_digest, s->sid0);
  s->rng = s->hedged.get();
  const crypto::ExtendedPublicKey root =
      crypto::ExtendedPublicKey::Root(share.public_key, share.chain_code);
  for (const SignItem& si : setup.items) {
    absl::StatusOr<crypto::DerivedKey> d = crypto::DerivePath(root, si.path);
    if (!d.ok()) {
      return d.status();
    }
    Item it;
    it.digest = si.digest;
    it.derived_key = d->xpub.key();
    it.tweak = d->tweak;
    s->items.push_back(std::move(it));
  }
  return std::unique_ptr<SignParty>(new SignParty(std::move(s)));
}

uint32_t SignParty::self() const { return s_->self; }
const std::vector<uint32_t>& SignParty::peers() const { return s_->peers; }
bool SignParty::finished() const { return s_->phase == Phase::kDone; }
const std::vector<Signature>& SignParty::signatures() const {
  return s_->signatures;
}

RoundSpec SignParty::expecting() const {
  switch (s_->phase) {
    case Phase::kP1:
      return {1, true, false};
    case Phase::kP2:
      return {2, false, true};
    case Phase::kP3:
      return {3, false, true};
    case Phase::kOnline:
      return {4, true, false};
    default:
      return {0, false, false};
  }
}

absl::StatusOr<std::vector<Envelope>> SignParty::Start() {
  State& s = *s_;
  if (s.phase != Phase::kNew) {
    return absl::FailedPreconditionError("sign: already started");
  }
  for (Item& it : s.items) {
    it.r = Scalar::RandomNonZero(*s.rng);
    it.phi = Scalar::RandomNonZero(*s.rng);
    it.big_r = *Point::MulGenerator(it.r);
    // Public by design: R_i is committed to now and opened in P3.
    CtDeclassifyObject(it.big_r);
  }
  s.nonce = s.rng->Bytes<32>();
  const crypto::CommitmentWithOpening c =
      crypto::Commit(Tag::kSignCommit, s.sid0, s.self, s.CommitData(), *s.rng);
  s.commitment = c.commitment;
  s.rho = c.rho;
  ByteWriter w;
  w.PutRaw(s.nonce);
  w.PutRaw(s.commitment);
  Envelope e = s.Sign(1, kBroadcast, std::move(w).Take());
  s.round1[s.self] = e;
  s.commit_of[s.self] = s.commitment;
  s.phase = Phase::kP1;
  return std::vector<Envelope>{std::move(e)};
}

absl::StatusOr<std::vector<Envelope>> SignParty::Advance(
    const RoundInput& input) {
  State& s = *s_;
  absl::StatusOr<std::vector<Envelope>> out;
  switch (s.phase) {
    case Phase::kFailed:
      return s.failure;
    case Phase::kP1:
      out = s.P1(input);
      break;
    case Phase::kP2:
      out = s.P2(input);
      break;
    case Phase::kP3:
      out = s.P3(input);
      break;
    case Phase::kOnline: {
      absl::Status st = s.Online(input);
      if (!st.ok()) {
        return s.Fail(st);
      }
      s.phase = Phase::kDone;
      return std::vector<Envelope>{};
    }
    default:
      return absl::FailedPreconditionError("sign: not expecting a round");
  }
  if (!out.ok()) {
    return s.Fail(out.status());
  }
  s.phase = static_cast<Phase>(static_cast<int>(s.phase) + 1);
  return out;
}

absl::StatusOr<std::vector<Envelope>> SignParty::State::P1(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  for (uint32_t j : peers) {
    const Envelope& e = in.broadcasts.at(j);
    KAGI_RETURN_IF_ERROR(CheckRound1Session(e, sid0));
    if (e.payload.size() != 64) {
      return BlameError(j, absl::StrCat("sign P1: payload must be 64 bytes, "
                                        "got ",
                                        e.payload.size()));
    }
    round1[j] = e;
    Hash32 c{};
    std::copy(e.payload.begin() + 32, e.payload.end(), c.begin());
    commit_of[j] = c;
  }
  std::vector<ByteSpan> r1;
  for (const auto& [id, e] : round1) {
    r1.emplace_back(e.payload);
  }
  sid = Transcript(Tag::kSignSid)
            .Add(share.sid_key)
            .AddU64(share.epoch)
            .Add(sid0)
            .AddList(r1)
            .H();
  // Shares of x' = x + δ: sk_i = λ_i·x_i + ζ_i + [i = min S]·δ.
  const Scalar lambda = LagrangeAtZero(self, signers);
  for (uint32_t l = 0; l < items.size(); ++l) {
    Item& it = items[l];
    it.rvole_sid = Transcript(Tag::kSignItem).Add(sid).AddU32(l).H();
    Scalar zeta;
    for (uint32_t j : peers) {
      const Scalar z = Transcript(Tag::kZeta)
                           .Add(share.Pairwise(j)->zero_seed.secret())
                           .Add(sid)
                           .AddU32(l)
                           .Hn();
      zeta = j < self ? zeta + z : zeta - z;
    }
    it.sk = lambda * share.secret_share + zeta;
    if (self == signers.front()) {
      it.sk += it.tweak;
    }
    absl::StatusOr<Point> pk = Point::MulGenerator(it.sk);
    if (!pk.ok()) {
      return absl::InternalError("sign: zero key share");
    }
    it.pk = *pk;
    // Public by design: pk_i is sent in P3 (and Σ pk_j = X' is checked).
    CtDeclassifyObject(it.pk);
  }
  // P2 to each j: echo ‖ per item RVOLE msg1 of (A = j, B = self).
  const Bytes echo = EncodeEcho(round1);
  std::vector<Envelope> out;
  for (uint32_t j : peers) {
    ByteWriter w;
    w.PutLengthPrefixed(echo);
    for (Item& it : items) {
      Bytes msg1;
      it.receivers.emplace(
          j, mpc::RvoleReceiver::Start(share.Pairwise(j)->as_receiver,
                                       mpc::RvoleSession{it.rvole_sid, j, self},
                                       *rng, &msg1));
      w.PutRaw(msg1);
    }
    out.push_back(Sign(2, j, std::move(w).Take()));
  }
  return out;
}

absl::StatusOr<std::vector<Envelope>> SignParty::State::P2(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, false, true));
  KAGI_ASSIGN_OR_RETURN(PayloadRest rest,
                        CheckEchoes(in.directs, peers, round1, *verifier));
  for (uint32_t j : peers) {
    KAGI_RETURN_IF_ERROR(CheckSession(in.directs.at(j), sid));
    const ByteSpan body = rest[j];
    const size_t want = items.size() * mpc::kRvoleMsg1Bytes;
    if (body.size() != want) {
      return BlameError(
          j, absl::StrCat("sign P2: expected ", want,
                          " bytes of RVOLE messages, got ", body.size()));
    }
    for (size_t l = 0; l < items.size(); ++l) {
      Item& it = items[l];
      KAGI_ASSIGN_OR_RETURN(
          mpc::RvoleSenderOutput o,
          mpc::RvoleSenderRespond(
              share.Pairwise(j)->as_sender,
              mpc::RvoleSession{it.rvole_sid, self, j}, {it.r, it.sk},
              body.subspan(l * mpc::kRvoleMsg1Bytes, mpc::kRvoleMsg1Bytes),
              *rng));
      it.c_out[j] = o.c;
      it.msg2_out[j] = std::move(o.msg2);
    }
  }
  // P3 to each j: ρ ‖ per item msg2 ‖ R_i ‖ pk_i ‖ Γ_u ‖ Γ_v ‖ ψ_{i→j}.
  std::vector<Envelope> out;
  for (uint32_t j : peers) {
    ByteWriter w;
    w.PutRaw(rho);
    for (Item& it : items) {
      w.PutRaw(it.msg2_out.at(j));
      w.PutRaw(it.big_r.ToCompressed());
      w.PutRaw(it.pk.ToCompressed());
      for (const Scalar& c : it.c_out.at(j)) {
        absl::StatusOr<Point> gamma = Point::MulGenerator(c);
        if (!gamma.ok()) {
          return absl::InternalError("sign: zero RVOLE output");
        }
        w.PutRaw(gamma->ToCompressed());
      }
      const Scalar psi = it.phi - it.receivers.at(j).chi();
      w.PutRaw(psi.ToBytes());
      it.msg2_out.erase(j);
    }
    out.push_back(Sign(3, j, std::move(w).Take()));
  }
  return out;
}

absl::StatusOr<std::vector<Envelope>> SignParty::State::P3(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, false, true));
  for (uint32_t j : peers) {
    const Envelope& e = in.directs.at(j);
    KAGI_RETURN_IF_ERROR(CheckSession(e, sid));
    const size_t want = 32 + items.size() * kP3Item;
    if (e.payload.size() != want) {
      return BlameError(j, absl::StrCat("sign P3: expected ", want,
                                        " bytes, got ", e.payload.size()));
    }
    const ByteSpan p(e.payload);
    Hash32 rho_j{};
    std::copy_n(p.begin(), 32, rho_j.begin());
    // Decode every R_j first: the commitment covers all of them.
    Bytes commit_data;
    for (size_t l = 0; l < items.size(); ++l) {
      const ByteSpan item = p.subspan(32 + l * kP3Item, kP3Item);
      const ByteSpan pts = item.subspan(mpc::kRvoleMsg2Bytes);
      absl::StatusOr<Point> rj = Point::FromCompressed(
          pts.subspan(0, kPoint), absl::StrCat("sign.P3[", l, "].R"));
      absl::StatusOr<Point> pkj = Point::FromCompressed(
          pts.subspan(kPoint, kPoint), absl::StrCat("sign.P3[", l, "].pk"));
      if (!rj.ok()) {
        return BlameWith(j, rj.status());
      }
      if (!pkj.ok()) {
        return BlameWith(j, pkj.status());
      }
      items[l].peer_r.insert_or_assign(j, *rj);
      items[l].peer_pk.insert_or_assign(j, *pkj);
      commit_data.insert(commit_data.end(), pts.begin(), pts.begin() + kPoint);
    }
    if (absl::Status st = crypto::VerifyOpening(
            Tag::kSignCommit, sid0, j, commit_data, rho_j, commit_of.at(j));
        !st.ok()) {
      return BlameWith(j, st);
    }
    for (size_t l = 0; l < items.size(); ++l) {
      Item& it = items[l];
      const ByteSpan item = p.subspan(32 + l * kP3Item, kP3Item);
      const ByteSpan pts = item.subspan(mpc::kRvoleMsg2Bytes);
      absl::StatusOr<Point> gu = Point::FromCompressed(
          pts.subspan(2 * kPoint, kPoint), "sign.P3.gamma_u");
      absl::StatusOr<Point> gv = Point::FromCompressed(
          pts.subspan(3 * kPoint, kPoint), "sign.P3.gamma_v");
      absl::StatusOr<Scalar> psi = Scalar::FromCanonicalBytes(
          pts.subspan(4 * kPoint, kScalar), "sign.P3.psi");
      if (!gu.ok()) {
        return BlameWith(j, gu.status());
      }
      if (!gv.ok()) {
        return BlameWith(j, gv.status());
      }
      if (!psi.ok()) {
        return BlameWith(j, psi.status());
      }
      auto rit = it.receivers.find(j);
      const Scalar chi = rit->second.chi();
      absl::StatusOr<std::array<Scalar, 2>> d =
          std::move(rit->second).Finish(item.subspan(0, mpc::kRvoleMsg2Bytes));
      it.receivers.erase(rit);
      if (!d.ok()) {
        return d.status();  // μ failure: class C naming j
      }
      // Γ checks: χ·R_j = d_u·G + Γ_u and χ·pk_j = d_v·G + Γ_v. Both sides
      // depend on the secrets χ and d, so they are compared in constant time
      // on their compressed encodings (Point's operator== stops at the
      // first differing byte), and the encodings are wiped afterwards.
      // χ·R_j comes out of ECDH as its encoding: parsing it back into a
      // Point would run libsecp256k1's variable-time parser on a secret.
      const std::array<std::pair<const Point*, const Point*>, 2> eqs = {
          std::make_pair(&it.peer_r.at(j), &*gu),
          std::make_pair(&it.peer_pk.at(j), &*gv)};
      for (size_t q = 0; q < 2; ++q) {
        absl::StatusOr<SecretBytes> lhs_enc =
            eqs[q].first->MulSecretScalarCompressed(chi);
        absl::StatusOr<Point> dg = Point::MulGenerator((*d)[q]);
        absl::StatusOr<Point> rhs =
            dg.ok() ? dg->Add(*eqs[q].second) : dg.status();
        bool equal = false;
        if (lhs_enc.ok() && rhs.ok()) {
          std::array<uint8_t, Point::kCompressedBytes> rhs_enc =
              rhs->ToCompressed();
          equal = ConstantTimeEqual(lhs_enc->secret(), rhs_enc);
          WipeInline(rhs_enc);
        }
        // Public by design: the outcome, which aborts and bans j.
        if (!CtDeclassifyValue(equal)) {
          return BanError(j, absl::StrCat("sign: Gamma check ",
                                          q == 0 ? "(nonce R)" : "(key pk)",
                                          " failed for party ", j));
        }
      }
      it.d_out[j] = *d;
      it.psi_in[j] = *psi;
    }
  }
  // Σ pk_j = X', R = Σ R_j, then the presignatures.
  for (uint32_t l = 0; l < items.size(); ++l) {
    Item& it = items[l];
    std::vector<Point> pks = {it.pk};
    std::vector<Point> rs = {it.big_r};
    for (uint32_t j : peers) {
      pks.push_back(it.peer_pk.at(j));
      rs.push_back(it.peer_r.at(j));
    }
    absl::StatusOr<Point> sum_pk = Point::Sum(pks);
    if (!sum_pk.ok() || *sum_pk != it.derived_key) {
      return AbortError(AbortClass::kBlame, {},
                        "sign: the signers' key shares do not sum to the "
                        "derived public key (someone lied about pk_j; it "
                        "cannot be attributed)");
    }
    absl::StatusOr<Point> big_r = Point::Sum(rs);
    if (!big_r.ok() || big_r->XModOrder().IsZero()) {
      return AbortError(AbortClass::kBlame, {},
                        "sign: the nonce R is degenerate");
    }
    Scalar phi_hat = it.phi;
    Scalar u = it.r * Scalar();  // zero
    Scalar w;
    for (uint32_t j : peers) {
      phi_hat += it.psi_in.at(j);
    }
    u = it.r * phi_hat;
    w = it.sk * phi_hat;
    for (uint32_t j : peers) {
      u += it.c_out.at(j)[0] + it.d_out.at(j)[0];
      w += it.c_out.at(j)[1] + it.d_out.at(j)[1];
    }
    Presignature p;
    p.id_ = PresignatureId{sid, l};
    p.digest_ = it.digest;
    p.r_point_ = *big_r;
    p.phi_ = it.phi;
    p.u_ = u;
    p.w_ = w;
    presigs.push_back(std::move(p));
    // Zeroise what the presignature no longer needs.
    it.r = Scalar();
    it.phi = Scalar();
    it.sk = Scalar();
    it.c_out.clear();
    it.d_out.clear();
    it.psi_in.clear();
  }
  // Online: release each share only after the caller has durably marked the
  // presignature consumed.
  ByteWriter w;
  for (Presignature& p : presigs) {
    KAGI_ASSIGN_OR_RETURN(const auto share64, p.Release(p.digest(), hook));
    // Public by design: the share is broadcast in this round.
    CtDeclassifyObject(share64);
    w.PutRaw(share64);
    own_shares.push_back(share64);
  }
  return std::vector<Envelope>{Sign(4, kBroadcast, std::move(w).Take())};
}

absl::Status SignParty::State::Online(const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  for (uint32_t j : peers) {
    const Envelope& e = in.broadcasts.at(j);
    KAGI_RETURN_IF_ERROR(CheckSession(e, sid));
    if (e.payload.size() != items.size() * 64) {
      return BlameError(
          j, absl::StrCat("sign online: expected ", items.size() * 64,
                          " bytes, got ", e.payload.size()));
    }
  }
  for (uint32_t l = 0; l < items.size(); ++l) {
    Scalar s0_sum, s1_sum;
    auto add = [&](ByteSpan v, uint32_t from) -> absl::Status {
      absl::StatusOr<Scalar> s0 =
          Scalar::FromCanonicalBytes(v.subspan(0, 32), "sign.online.s0");
      absl::StatusOr<Scalar> s1 =
          Scalar::FromCanonicalBytes(v.subspan(32, 32), "sign.online.s1");
      if (!s0.ok()) {
        return BlameWith(from, s0.status());
      }
      if (!s1.ok()) {
        return BlameWith(from, s1.status());
      }
      s0_sum += *s0;
      s1_sum += *s1;
      return absl::OkStatus();
    };
    KAGI_RETURN_IF_ERROR(add(own_shares[l], self));
    for (uint32_t j : peers) {
      KAGI_RETURN_IF_ERROR(
          add(ByteSpan(in.broadcasts.at(j).payload).subspan(l * 64, 64), j));
    }
    const Presignature& p = presigs[l];
    const Item& it = items[l];
    if (s1_sum.IsZero()) {
      return AbortError(AbortClass::kInvalidSignature, {},
                        "sign: combined S1 is zero; presignature burned");
    }
    Scalar s = s0_sum * s1_sum.Invert();
    const bool flip = s.IsHigh();
    if (flip) {
      s = -s;
    }
    Signature sig;
    sig.r = p.nonce_point().XModOrder().ToBytes();
    sig.s = s.ToBytes();
    sig.public_key = it.derived_key;
    sig.digest = it.digest;
    const auto rx = p.nonce_point().ToCompressed();
    const bool x_overflow =
        !Scalar::FromCanonicalBytes(ByteSpan(rx).subspan(1, 32)).ok();
    sig.recovery_id = static_cast<uint8_t>(
        ((p.nonce_point().HasOddY() ? 1 : 0) ^ (flip ? 1 : 0)) |
        (x_overflow ? 2 : 0));
    if (absl::Status v =
            crypto::EcdsaVerify(it.derived_key, it.digest, sig.Compact());
        !v.ok()) {
      return AbortError(AbortClass::kInvalidSignature, {},
                        absl::StrCat("sign: combined signature for item ", l,
                                     " does not verify (", v.message(),
                                     "); presignature burned, raise an "
                                     "incident"));
    }
    signatures.push_back(sig);
  }
  presigs.clear();
  return absl::OkStatus();
}

}  // namespace kagi::protocol
