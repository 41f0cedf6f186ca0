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
#include "libs/protocol/internal/party_core.h"
#include "libs/protocol/internal/round_messages.h"
#include "libs/protocol/internal/sign_messages.h"
#include "libs/protocol/lagrange.h"

namespace kagi::protocol {
namespace {

using crypto::Point;
using crypto::Scalar;
using crypto::Tag;
using crypto::Transcript;
using internal::Hash32;

using internal::SignOnline;
using internal::SignP2;
using internal::SignP3;

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

  // What a presignature no longer needs, zeroised.
  void WipeSecrets() {
    r = Scalar();
    phi = Scalar();
    sk = Scalar();
    c_out.clear();
    d_out.clear();
    psi_in.clear();
  }
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

struct SignParty::State : internal::PartyCore {
  KeyShare share;
  ConsumeHook hook;
  std::vector<uint32_t> signers;
  Hash32 rho{};
  std::vector<Item> items;
  std::vector<Presignature> presigs;
  Bytes own_shares;  // per item s0 ‖ s1, as broadcast
  std::vector<Signature> signatures;

  // On failure: an aborted batch outputs no signature at all, and every
  // secret is dropped now rather than at destruction.
  void Wipe() {
    signatures.clear();
    for (Item& it : items) {
      it.receivers.clear();
      it.WipeSecrets();
    }
    presigs.clear();
    own_shares.clear();
    share.secret_share = Scalar();
    share.pairwise.clear();
  }

  Bytes CommitData() const {
    Bytes d;
    for (const Item& it : items) {
      const auto c = it.big_r.ToCompressed();
      d.insert(d.end(), c.begin(), c.end());
    }
    return d;
  }

  absl::Status Init(const SessionSetup& s, const KeyShare& k);
  absl::StatusOr<std::vector<Envelope>> Start();
  absl::StatusOr<std::vector<Envelope>> P1(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> P2(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> P3(const RoundInput& in);
  absl::StatusOr<std::vector<Envelope>> Online(const RoundInput& in);

  // Named steps.
  absl::Status ComputeKeyShares();
  absl::StatusOr<std::vector<Envelope>> SendP3();
  absl::Status AcceptP3(uint32_t j, const Envelope& e);
  absl::Status FinishItem(Item& it, uint32_t j, const SignP3::Item& m);
  absl::Status MakePresignatures();
  absl::StatusOr<std::vector<Envelope>> ReleaseShares();
  absl::StatusOr<Signature> Combine(uint32_t l, const Scalar& s0,
                                    const Scalar& s1) const;
};

namespace {

// CheckShareFits: the setup is a signing session of this share's key and
// epoch, with its party list and t, and `self` (the share's party) signs.
absl::Status CheckShareFits(const SessionSetup& setup, const KeyShare& share,
                            uint32_t self) {
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
  if (self != share.self) {
    return absl::InvalidArgumentError("sign: signer is not the share's party");
  }
  if (std::find(setup.signers.begin(), setup.signers.end(), self) ==
      setup.signers.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sign: party ", self, " is not among the signers"));
  }
  return absl::OkStatus();
}

// CheckOwnPublicShare: a share that does not match its own public share
// would make the session fail the unattributable Σ pk_j = X' check; refuse
// it up front.
absl::Status CheckOwnPublicShare(const KeyShare& share) {
  absl::StatusOr<crypto::Point> own = Point::MulGenerator(share.secret_share);
  // Public by design: x_i·G is this party's public share, in every share.
  CtDeclassifyObject(own);
  if (share.public_shares.size() != share.parties.size() || !own.ok() ||
      *own != share.public_shares[share.self - 1]) {
    return absl::InvalidArgumentError(
        "sign: the key share does not match its public share");
  }
  return absl::OkStatus();
}

// The share's material for this session: its public data, the secret and
// the pairwise material of the other signers only.
absl::StatusOr<KeyShare> SessionCopy(const KeyShare& share,
                                     const std::vector<uint32_t>& signers) {
  KeyShare s;
  s.key_id = share.key_id;
  s.sid_key = share.sid_key;
  s.epoch = share.epoch;
  s.self = share.self;
  s.threshold = share.threshold;
  s.parties = share.parties;
  s.secret_share = share.secret_share;
  s.public_key = share.public_key;
  s.public_shares = share.public_shares;
  s.chain_code = share.chain_code;
  for (uint32_t j : signers) {
    if (j == share.self) {
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
    s.pairwise.push_back(std::move(copy));
  }
  return s;
}

}  // namespace

SignParty::SignParty(std::unique_ptr<State> state)
    : PhasedParty(MakeTable<State>("sign", state.get(),
                                   {{{1, true, false}, &State::P1},
                                    {{2, false, true}, &State::P2},
                                    {{3, false, true}, &State::P3},
                                    {{4, true, false}, &State::Online}})),
      s_(std::move(state)) {}
SignParty::~SignParty() = default;

absl::StatusOr<std::unique_ptr<SignParty>> SignParty::Create(
    const SessionSetup& setup, const KeyShare& share,
    const EnvelopeSigner& signer, Rng& rng, ConsumeHook hook) {
  KAGI_RETURN_IF_ERROR(ValidateSetup(setup));
  KAGI_RETURN_IF_ERROR(CheckShareFits(setup, share, signer.party()));
  if (!hook) {
    return absl::InvalidArgumentError("sign: a consume hook is required");
  }
  KAGI_RETURN_IF_ERROR(CheckOwnPublicShare(share));
  auto s = std::make_unique<State>();
  // Hedge every draw with the session and a digest of the share.
  const crypto::Digest32 secret_digest = crypto::Transcript(Tag::kNonce)
                                             .AddScalar(share.secret_share)
                                             .Add(share.sid_key)
                                             .H();
  s->Bind(Op::kSign, setup, signer, share.self, rng, secret_digest);
  // Public by design: what this party sends. Its recipient sees it, and
  // all of a signing session's messages from this party together are the
  // view of the other t−1 signers, a coalition the protocol tolerates.
  // (Not true of DKG or reshare, whose direct messages carry Shamir
  // shares: they are not declassified.)
  s->sends_public = true;
  s->hook = std::move(hook);
  KAGI_RETURN_IF_ERROR(s->Init(setup, share));
  return std::unique_ptr<SignParty>(new SignParty(std::move(s)));
}

// Init copies what the session needs and derives every item's key.
absl::Status SignParty::State::Init(const SessionSetup& s, const KeyShare& k) {
  KAGI_ASSIGN_OR_RETURN(share, SessionCopy(k, s.signers));
  signers = s.signers;
  for (uint32_t j : s.signers) {
    if (j != self) {
      peers.push_back(j);
    }
  }
  const crypto::ExtendedPublicKey root =
      crypto::ExtendedPublicKey::Root(k.public_key, k.chain_code);
  for (const SignItem& si : s.items) {
    KAGI_ASSIGN_OR_RETURN(const crypto::DerivedKey d,
                          crypto::DerivePath(root, si.path));
    Item it;
    it.digest = si.digest;
    it.derived_key = d.xpub.key();
    it.tweak = d.tweak;
    items.push_back(std::move(it));
  }
  return absl::OkStatus();
}

const std::vector<Signature>& SignParty::signatures() const {
  return s_->signatures;
}

absl::StatusOr<std::vector<Envelope>> SignParty::State::Start() {
  for (Item& it : items) {
    it.r = Scalar::RandomNonZero(*rng);
    it.phi = Scalar::RandomNonZero(*rng);
    it.big_r = *Point::MulGenerator(it.r);
    // Public by design: R_i is committed to now and opened in P3.
    CtDeclassifyObject(it.big_r);
  }
  internal::CommitMessage m;
  m.nonce = rng->Bytes<32>();
  const crypto::CommitmentWithOpening c =
      crypto::Commit(Tag::kSignCommit, sid0, self, CommitData(), *rng);
  m.commitment = c.commitment;
  rho = c.rho;
  Envelope e = Sign(1, kBroadcast, m.Encode());
  round1.AddOwn(self, e, m);
  return std::vector<Envelope>{std::move(e)};
}

// Shares of x' = x + δ: sk_i = λ_i·x_i + ζ_i + [i = min S]·δ, and pk_i.
absl::Status SignParty::State::ComputeKeyShares() {
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
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Envelope>> SignParty::State::P1(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(round1.Collect(
      in, peers, sid0, [](uint32_t) { return true; }, "sign P1"));
  sid = Transcript(Tag::kSignSid)
            .Add(share.sid_key)
            .AddU64(share.epoch)
            .Add(sid0)
            .AddList(round1.Payloads())
            .H();
  KAGI_RETURN_IF_ERROR(ComputeKeyShares());
  // P2 to each j: echo ‖ per item RVOLE msg1 of (A = j, B = self).
  const Bytes echo = EncodeEcho(round1.envelopes);
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
  KAGI_ASSIGN_OR_RETURN(PayloadRest rest, OpenEchoRound(in, {2, false, true}));
  for (uint32_t j : peers) {
    KAGI_RETURN_IF_ERROR(CheckSession(in.directs.at(j), sid));
    KAGI_ASSIGN_OR_RETURN(const SignP2 m,
                          SignP2::Decode(rest[j], items.size(), j));
    for (size_t l = 0; l < items.size(); ++l) {
      Item& it = items[l];
      KAGI_ASSIGN_OR_RETURN(
          mpc::RvoleSenderOutput o,
          mpc::RvoleSenderRespond(share.Pairwise(j)->as_sender,
                                  mpc::RvoleSession{it.rvole_sid, self, j},
                                  {it.r, it.sk}, m.msg1[l], *rng));
      it.c_out[j] = o.c;
      it.msg2_out[j] = std::move(o.msg2);
    }
  }
  return SendP3();
}

// P3 to each j: ρ ‖ per item msg2 ‖ R_i ‖ pk_i ‖ Γ_u ‖ Γ_v ‖ ψ_{i→j}.
absl::StatusOr<std::vector<Envelope>> SignParty::State::SendP3() {
  std::vector<Envelope> out;
  for (uint32_t j : peers) {
    SignP3 m;
    m.rho = rho;
    for (Item& it : items) {
      SignP3::Item x;
      x.msg2 = it.msg2_out.at(j);
      x.r = it.big_r;
      x.pk = it.pk;
      for (size_t q = 0; q < 2; ++q) {
        absl::StatusOr<Point> gamma = Point::MulGenerator(it.c_out.at(j)[q]);
        if (!gamma.ok()) {
          return absl::InternalError("sign: zero RVOLE output");
        }
        x.gamma[q] = *gamma;
      }
      x.psi = it.phi - it.receivers.at(j).chi();
      m.items.push_back(std::move(x));
    }
    out.push_back(Sign(3, j, m.Encode()));
    for (Item& it : items) {
      it.msg2_out.erase(j);
    }
  }
  return out;
}

// FinishItem ends item `it`'s RVOLE with j and runs the Γ checks:
// χ·R_j = d_u·G + Γ_u and χ·pk_j = d_v·G + Γ_v.
absl::Status SignParty::State::FinishItem(Item& it, uint32_t j,
                                          const SignP3::Item& m) {
  auto rit = it.receivers.find(j);
  const Scalar chi = rit->second.chi();
  absl::StatusOr<std::array<Scalar, 2>> d =
      std::move(rit->second).Finish(m.msg2);
  it.receivers.erase(rit);
  if (!d.ok()) {
    return d.status();  // μ failure: class C naming j
  }
  // Both sides depend on the secrets χ and d, so they are compared in
  // constant time on their compressed encodings (Point's operator== stops
  // at the first differing byte), and the encodings are wiped afterwards.
  // χ·R_j comes out of ECDH as its encoding: parsing it back into a Point
  // would run libsecp256k1's variable-time parser on a secret.
  const std::array<const Point*, 2> lhs_points = {&m.r, &m.pk};
  for (size_t q = 0; q < 2; ++q) {
    absl::StatusOr<SecretBytes> lhs_enc =
        lhs_points[q]->MulSecretScalarCompressed(chi);
    absl::StatusOr<Point> dg = Point::MulGenerator((*d)[q]);
    absl::StatusOr<Point> rhs = dg.ok() ? dg->Add(m.gamma[q]) : dg.status();
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
  it.psi_in[j] = m.psi;
  return absl::OkStatus();
}

absl::Status SignParty::State::AcceptP3(uint32_t j, const Envelope& e) {
  KAGI_RETURN_IF_ERROR(CheckSession(e, sid));
  KAGI_ASSIGN_OR_RETURN(const SignP3 m,
                        SignP3::Decode(e.payload, items.size(), j));
  // The commitment covers every R_j.
  if (absl::Status st =
          crypto::VerifyOpening(Tag::kSignCommit, sid0, j, m.CommitData(),
                                m.rho, round1.commitments.at(j));
      !st.ok()) {
    return BlameWith(j, st);
  }
  for (size_t l = 0; l < items.size(); ++l) {
    items[l].peer_r.insert_or_assign(j, m.items[l].r);
    items[l].peer_pk.insert_or_assign(j, m.items[l].pk);
  }
  for (size_t l = 0; l < items.size(); ++l) {
    KAGI_RETURN_IF_ERROR(FinishItem(items[l], j, m.items[l]));
  }
  return absl::OkStatus();
}

// Σ pk_j = X', R = Σ R_j, then the presignatures; what they no longer need
// is zeroised.
absl::Status SignParty::State::MakePresignatures() {
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
    for (uint32_t j : peers) {
      phi_hat += it.psi_in.at(j);
    }
    Scalar u = it.r * phi_hat;
    Scalar w = it.sk * phi_hat;
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
    it.WipeSecrets();
  }
  return absl::OkStatus();
}

// Online: release each share only after the caller has durably marked the
// presignature consumed.
absl::StatusOr<std::vector<Envelope>> SignParty::State::ReleaseShares() {
  for (Presignature& p : presigs) {
    KAGI_ASSIGN_OR_RETURN(const auto share64, p.Release(p.digest(), hook));
    // Public by design: the share is broadcast in this round.
    CtDeclassifyObject(share64);
    own_shares.insert(own_shares.end(), share64.begin(), share64.end());
  }
  return std::vector<Envelope>{Sign(4, kBroadcast, own_shares)};
}

absl::StatusOr<std::vector<Envelope>> SignParty::State::P3(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, false, true));
  for (uint32_t j : peers) {
    KAGI_RETURN_IF_ERROR(AcceptP3(j, in.directs.at(j)));
  }
  KAGI_RETURN_IF_ERROR(MakePresignatures());
  return ReleaseShares();
}

// Combine makes item l's signature from the summed shares, low-S, with its
// recovery id, and verifies it.
absl::StatusOr<Signature> SignParty::State::Combine(uint32_t l,
                                                    const Scalar& s0,
                                                    const Scalar& s1) const {
  const Presignature& p = presigs[l];
  const Item& it = items[l];
  if (s1.IsZero()) {
    return AbortError(AbortClass::kInvalidSignature, {},
                      "sign: combined S1 is zero; presignature burned");
  }
  Scalar s = s0 * s1.Invert();
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
  return sig;
}

absl::StatusOr<std::vector<Envelope>> SignParty::State::Online(
    const RoundInput& in) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  for (uint32_t j : peers) {
    const Envelope& e = in.broadcasts.at(j);
    KAGI_RETURN_IF_ERROR(CheckSession(e, sid));
    KAGI_RETURN_IF_ERROR(internal::ExpectSize(
        j, e.payload.size(), items.size() * 64, "sign online: expected "));
  }
  KAGI_ASSIGN_OR_RETURN(SignOnline sum,
                        SignOnline::Decode(own_shares, items.size(), self));
  for (uint32_t j : peers) {
    KAGI_ASSIGN_OR_RETURN(
        const SignOnline m,
        SignOnline::Decode(in.broadcasts.at(j).payload, items.size(), j));
    for (size_t l = 0; l < items.size(); ++l) {
      sum.shares[l][0] += m.shares[l][0];
      sum.shares[l][1] += m.shares[l][1];
    }
  }
  for (uint32_t l = 0; l < items.size(); ++l) {
    KAGI_ASSIGN_OR_RETURN(Signature sig,
                          Combine(l, sum.shares[l][0], sum.shares[l][1]));
    signatures.push_back(sig);
  }
  presigs.clear();
  return std::vector<Envelope>{};
}

}  // namespace kagi::protocol
