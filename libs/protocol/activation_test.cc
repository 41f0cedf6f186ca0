// Activation certificates (activation.h): what VerifyCertificate,
// CheckCertificateFor and FindEquivocation accept and refuse, the strict
// encodings, and the attack they answer: a malicious member that acks
// differently to different honest members (a good ack to some, a bad one to
// others, none to the rest) can make some abort, but cannot split them: every
// honest member activates the same epoch on a finished member's certificate
// and they sign together.
#include "libs/protocol/activation.h"

#include <functional>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hash.h"
#include "libs/protocol/dkg.h"
#include "libs/protocol/reshare.h"
#include "libs/protocol/testing/simulation.h"
#include "tests/testing/openssl_ecdsa.h"

namespace kagi::protocol {
namespace {

using ::testing::HasSubstr;
using testing::Identities;

KeyShare CopyShare(const KeyShare& s) {
  return KeyShare::Deserialize(s.Serialize().secret()).value();
}

std::string Message(const absl::Status& st) {
  return std::string(st.message());
}

// The member FindEquivocation names, or 0.
uint32_t EvidenceAgainst(const ActivationCertificate& cert,
                         const Envelope& received) {
  const std::optional<Equivocation> ev = FindEquivocation(cert, received);
  return ev.has_value() ? ev->party : 0;
}

// ---- the certificate's own checks -------------------------------------

// HandCertificate builds the certificate of `view` from scratch: each
// member's ack, signed with its identity key (members are participants 1..n,
// as in a DKG).
ActivationCertificate HandCertificate(const ActivationView& view,
                                      const Identities& ids) {
  ActivationCertificate c;
  c.view = view;
  const std::array<uint8_t, 32> digest = AckDigest(view);
  for (const PartyInfo& p : view.parties) {
    EnvelopeHeader h;
    h.op = view.op;
    h.session = view.sid;
    h.round = kAckRound;
    h.from = p.id;
    h.to = kBroadcast;
    c.acks.push_back(
        SignEnvelope(ids.signer(p.id), h, Bytes(digest.begin(), digest.end())));
  }
  return c;
}

// The certificate of a 2-of-3 DKG's result.
struct Certified {
  testing::DkgRun dkg;
  ActivationCertificate cert;
  const KeyShare& pending() const { return dkg.shares[0]; }
};

Certified CleanCertificate() {
  Certified c{testing::RunDkg(2, 3, 54), {}};
  KAGI_CHECK(c.dkg.ok());
  c.cert =
      HandCertificate(ActivationView::Of(c.dkg.shares[0], Op::kDkg), c.dkg.ids);
  return c;
}

TEST(ActivationTest, VerifyRefusesMissingWrongAndExtraAcks) {
  Certified c = CleanCertificate();
  ASSERT_TRUE(VerifyCertificate(c.cert).ok()) << VerifyCertificate(c.cert);
  ASSERT_TRUE(CheckCertificateFor(c.pending(), Op::kDkg, c.cert).ok());
  EXPECT_FALSE(CheckCertificateFor(c.pending(), Op::kReshare, c.cert).ok());
  {  // One ack removed.
    ActivationCertificate x = c.cert;
    x.acks.erase(x.acks.begin() + 1);
    EXPECT_THAT(Message(VerifyCertificate(x)), HasSubstr("member 2: no ack"));
    EXPECT_FALSE(CheckCertificateFor(c.pending(), Op::kDkg, x).ok());
  }
  {  // One ack re-signed by another member's key.
    ActivationCertificate x = c.cert;
    Envelope& e = x.acks[1];
    e.signature = c.dkg.ids.signer(1).Sign(EnvelopeDigest(e.header, e.payload));
    EXPECT_THAT(Message(VerifyCertificate(x)),
                HasSubstr("member 2: ack signature does not verify"));
  }
  {  // One ack duplicated in place of another.
    ActivationCertificate x = c.cert;
    x.acks[1] = x.acks[0];
    EXPECT_THAT(Message(VerifyCertificate(x)),
                HasSubstr("member 1: duplicate ack"));
  }
  {  // An extra ack.
    ActivationCertificate x = c.cert;
    x.acks.push_back(x.acks[2]);
    EXPECT_THAT(Message(VerifyCertificate(x)), HasSubstr("4 acks for 3"));
  }
  {  // One ack over a different view, validly signed by its member.
    ActivationCertificate x = c.cert;
    ActivationView other = x.view;
    other.chain_code[0] ^= 1;
    const std::array<uint8_t, 32> d = AckDigest(other);
    Envelope& e = x.acks[2];
    e.payload.assign(d.begin(), d.end());
    testing::Resign(c.dkg.ids, e);
    EXPECT_THAT(Message(VerifyCertificate(x)),
                HasSubstr("member 3: ack is over another view"));
    // And it is evidence of equivocation against the clean certificate.
    EXPECT_EQ(EvidenceAgainst(c.cert, e), 3u);
  }
  {  // One ack for another session.
    ActivationCertificate x = c.cert;
    Envelope& e = x.acks[0];
    e.header.session[0] ^= 1;
    testing::Resign(c.dkg.ids, e);
    EXPECT_THAT(Message(VerifyCertificate(x)),
                HasSubstr("member 1: ack is for another session"));
  }
}

TEST(ActivationTest, AChangedViewIsRefusedNamingTheField) {
  Certified c = CleanCertificate();
  struct Case {
    const char* name;
    std::function<void(ActivationView&)> change;
    const char* verify_says;  // VerifyCertificate
    const char* check_says;   // CheckCertificateFor
  };
  const crypto::Point x1 = c.cert.view.public_shares[0];
  const std::vector<Case> cases = {
      {"epoch", [](ActivationView& v) { v.epoch = 1; }, "a DKG is epoch 0",
       "epoch"},
      {"threshold", [](ActivationView& v) { v.threshold = 3; },
       "ack is over another view", "threshold"},
      {"identity key",
       [](ActivationView& v) { v.parties[1].identity_key[0] ^= 1; },
       "member 2: ack signature does not verify", "identity key of member 2"},
      {"X_m", [x1](ActivationView& v) { v.public_shares[2] = x1; },
       "ack is over another view", "public share X_3"},
      {"X", [x1](ActivationView& v) { v.public_key = x1; },
       "ack is over another view", "group key X"},
      {"chain code", [](ActivationView& v) { v.chain_code[5] ^= 1; },
       "ack is over another view", "chain code"},
      {"sid", [](ActivationView& v) { v.sid[5] ^= 1; }, "another session",
       "session id"},
  };
  for (const Case& k : cases) {
    ActivationCertificate x = c.cert;
    k.change(x.view);
    EXPECT_THAT(Message(VerifyCertificate(x)), HasSubstr(k.verify_says))
        << k.name;
    EXPECT_THAT(Message(CheckCertificateFor(c.pending(), Op::kDkg, x)),
                HasSubstr(k.check_says))
        << k.name;
  }
}

TEST(ActivationTest, DepartureCertificateNeedsAReshareOfTheSameKeyForward) {
  const Certified c = CleanCertificate();
  // The committee's certificate of a (hand-made) epoch-1 reshare of the key.
  ActivationView next = ActivationView::Of(c.pending(), Op::kReshare);
  next.op = Op::kReshare;
  next.epoch = 1;
  next.sid[0] ^= 1;
  const ActivationCertificate cert = HandCertificate(next, c.dkg.ids);
  ASSERT_TRUE(VerifyCertificate(cert).ok()) << VerifyCertificate(cert);
  EXPECT_TRUE(CheckDepartureCertificate(c.dkg.shares[2], cert).ok())
      << CheckDepartureCertificate(c.dkg.shares[2], cert);
  // Not for an old share of another key...
  const testing::DkgRun other = testing::RunDkg(2, 3, 55);
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(Message(CheckDepartureCertificate(other.shares[2], cert)),
              HasSubstr("key id"));
  // ...nor one whose epoch is not before the certificate's...
  KeyShare later = CopyShare(c.dkg.shares[2]);
  later.epoch = 1;
  EXPECT_THAT(Message(CheckDepartureCertificate(later, cert)),
              HasSubstr("epoch 1 is not after"));
  // ...nor for a DKG certificate, nor an incomplete one.
  EXPECT_THAT(Message(CheckDepartureCertificate(c.dkg.shares[2], c.cert)),
              HasSubstr("reshare"));
  ActivationCertificate missing = cert;
  missing.acks.erase(missing.acks.begin());
  EXPECT_THAT(Message(CheckDepartureCertificate(c.dkg.shares[2], missing)),
              HasSubstr("member 1: no ack"));
}

// ---- encodings ------------------------------------------------------------

TEST(ActivationTest, EncodingsRoundTripAndAreStrict) {
  Certified c = CleanCertificate();
  const Bytes view = c.cert.view.Encode();
  const absl::StatusOr<ActivationView> v = ActivationView::Decode(view);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, c.cert.view);
  EXPECT_EQ(*v, ActivationView::Of(c.pending(), Op::kDkg));
  const Bytes enc = c.cert.Encode();
  const absl::StatusOr<ActivationCertificate> back =
      ActivationCertificate::Decode(enc);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Encode(), enc);
  EXPECT_TRUE(VerifyCertificate(*back).ok());
  // Every truncation fails.
  for (size_t len = 0; len < enc.size(); ++len) {
    EXPECT_FALSE(
        ActivationCertificate::Decode(ByteSpan(enc).subspan(0, len)).ok())
        << len;
  }
  for (size_t len = 0; len < view.size(); ++len) {
    EXPECT_FALSE(ActivationView::Decode(ByteSpan(view).subspan(0, len)).ok())
        << len;
  }
  // Trailing bytes.
  Bytes longer = enc;
  longer.push_back(0);
  EXPECT_THAT(Message(ActivationCertificate::Decode(longer).status()),
              HasSubstr("activation.certificate"));
  Bytes longer_view = view;
  longer_view.push_back(0);
  EXPECT_THAT(Message(ActivationView::Decode(longer_view).status()),
              HasSubstr("activation.view"));
  // Too many parties (the u32 n after version, op, sid, key id, epoch, t).
  constexpr size_t kNOffset = 1 + 1 + 32 + 32 + 8 + 4;
  Bytes many = view;
  many[kNOffset + 3] = 17;
  EXPECT_THAT(Message(ActivationView::Decode(many).status()),
              HasSubstr("activation.view.n"));
  ActivationView big = c.cert.view;
  while (big.parties.size() < kMaxParties + 1) {
    PartyInfo p;
    p.id = static_cast<uint32_t>(big.parties.size() + 1);
    p.identity_key[0] = static_cast<uint8_t>(p.id);
    big.parties.push_back(p);
    big.public_shares.push_back(big.public_key);
  }
  EXPECT_FALSE(ActivationView::Decode(big.Encode()).ok());
  // An invalid point for X (right after the party list).
  Bytes bad_x = view;
  bad_x[kNOffset + 4 + 3 * 36] = 0x05;
  EXPECT_THAT(Message(ActivationView::Decode(bad_x).status()),
              HasSubstr("activation.view.X"));
  // A view for a SIGN op.
  Bytes sign = view;
  sign[1] = static_cast<uint8_t>(Op::kSign);
  EXPECT_THAT(Message(ActivationView::Decode(sign).status()),
              HasSubstr("activation.view.op"));
  // A certificate with fewer acks than members.
  ActivationCertificate fewer = c.cert;
  fewer.acks.pop_back();
  EXPECT_THAT(Message(ActivationCertificate::Decode(fewer.Encode()).status()),
              HasSubstr("activation.certificate.count"));
  // An ack with an oversized payload.
  ActivationCertificate fat = c.cert;
  fat.acks[0].payload.push_back(0);
  EXPECT_THAT(Message(ActivationCertificate::Decode(fat.Encode()).status()),
              HasSubstr("activation.certificate.ack[0]"));
}

// Member `malicious` sends, in round 4, its good ack to everyone except:
// a different ack (validly re-signed with its own key) to `bad_to`, and
// nothing to `none_to`.
testing::AdversaryHook SplitAck(const Identities& ids, uint32_t malicious,
                                std::set<uint32_t> bad_to,
                                std::set<uint32_t> none_to) {
  return [&ids, malicious, bad_to, none_to](testing::Outgoing& o) {
    if (o.from != malicious || o.envelope.header.round != kAckRound) {
      return;
    }
    Envelope bad = o.envelope;
    bad.payload[0] ^= 1;
    testing::Resign(ids, bad);
    for (uint32_t id : bad_to) {
      o.per_recipient[id] = bad;
    }
    o.withhold_from = none_to;
  };
}

// Signs one digest with `subset` and checks the signature independently.
void ExpectSigns(const Identities& ids, const std::vector<KeyShare>& shares,
                 const std::vector<uint32_t>& subset, uint64_t seed) {
  std::vector<SignItem> items(1);
  items[0].digest =
      crypto::Sha256(AsBytes("after activation " + std::to_string(seed)));
  items[0].path = {3};
  const KeyShare& any = shares[subset[0] - 1];
  const SessionSetup setup = testing::MakeSignSetup(any, subset, items, seed);
  const testing::SignRun run = testing::RunSign(ids, shares, setup, seed);
  ASSERT_TRUE(run.ok()) << run.result.status.begin()->second << " seed "
                        << seed;
  const Signature& sig = run.signatures.at(subset[0])[0];
  EXPECT_TRUE(
      crypto::EcdsaVerify(sig.public_key, sig.digest, sig.Compact()).ok());
  EXPECT_TRUE(kagi::testing::OpenSslVerifyEcdsa(sig.public_key.ToCompressed(),
                                                sig.digest, sig.r, sig.s)
                  .ok());
}

// A DKG whose parties outlive the session.
struct Dkg {
  Identities ids;
  SessionSetup setup;
  std::vector<std::unique_ptr<InsecureDeterministicRng>> rngs;
  std::vector<std::unique_ptr<DkgParty>> parties;  // index id - 1
  testing::SimulationResult result;

  DkgParty& party(uint32_t id) { return *parties[id - 1]; }
  const absl::Status& status(uint32_t id) const { return result.status.at(id); }
};

std::unique_ptr<Dkg> MakeDkg(uint32_t t, uint32_t n, uint64_t seed) {
  auto d = std::make_unique<Dkg>();
  d->ids = testing::MakeIdentities(n, seed);
  d->setup.op = Op::kDkg;
  d->setup.parties = d->ids.parties;
  d->setup.threshold = t;
  d->setup.initiator_nonce[0] = static_cast<uint8_t>(seed);
  for (uint32_t id = 1; id <= n; ++id) {
    d->rngs.push_back(
        std::make_unique<InsecureDeterministicRng>(seed * 100 + id));
    d->parties.push_back(
        DkgParty::Create(d->setup, d->ids.signer(id), *d->rngs.back()).value());
  }
  return d;
}

void Drive(Dkg& d, uint64_t seed, const testing::AdversaryHook& hook) {
  std::vector<RoundProtocol*> ptrs;
  for (auto& p : d.parties) {
    ptrs.push_back(p.get());
  }
  d.result = testing::RunSession(ptrs, d.setup, seed, hook);
}

// Checks every honest member can activate the same epoch from `cert`.
void ExpectActivates(const KeyShare& pending, Op op,
                     const ActivationCertificate& cert) {
  EXPECT_TRUE(CheckCertificateFor(pending, op, cert).ok())
      << CheckCertificateFor(pending, op, cert);
  // Also after the certificate travelled as bytes.
  const absl::StatusOr<ActivationCertificate> back =
      ActivationCertificate::Decode(cert.Encode());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(CheckCertificateFor(pending, op, *back).ok());
}

TEST(ActivationTest, DkgTwoOfThreeMaliciousAckerCannotSplitHonestMembers) {
  std::unique_ptr<Dkg> d = MakeDkg(2, 3, 41);
  Drive(*d, 41, SplitAck(d->ids, 3, {2}, {}));
  ASSERT_TRUE(d->status(1).ok()) << d->status(1);
  ASSERT_FALSE(d->status(2).ok());
  EXPECT_EQ(GetAbortInfo(d->status(2))->culprits, std::vector<uint32_t>{3});
  // Party 1 holds the certificate; party 2 holds none but keeps its share.
  const ActivationCertificate* cert = d->party(1).certificate();
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(d->party(2).certificate(), nullptr);
  ASSERT_NE(d->party(2).pending_share(), nullptr);
  EXPECT_TRUE(VerifyCertificate(*cert).ok()) << VerifyCertificate(*cert);
  EXPECT_EQ(cert->acks.size(), 3u);
  ExpectActivates(*d->party(1).pending_share(), Op::kDkg, *cert);
  ExpectActivates(*d->party(2).pending_share(), Op::kDkg, *cert);
  // The bad ack party 2 received is evidence against member 3; party 1's copy
  // of the good one is not.
  const std::optional<Equivocation> ev =
      FindEquivocation(*cert, d->party(2).received_acks().at(3));
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->party, 3u);
  EXPECT_FALSE(SameSignedContent(ev->first, ev->second));
  EXPECT_FALSE(
      FindEquivocation(*cert, d->party(1).received_acks().at(3)).has_value());
  // An envelope no member signed is not evidence.
  Envelope forged = d->party(2).received_acks().at(3);
  forged.signature[0] ^= 1;
  EXPECT_FALSE(FindEquivocation(*cert, forged).has_value());
  // Both honest members, activated, sign together.
  std::vector<KeyShare> shares(3);
  shares[0] = d->party(1).TakeShare().value();
  shares[1] = CopyShare(*d->party(2).pending_share());
  ExpectSigns(d->ids, shares, {1, 2}, 42);
}

TEST(ActivationTest, DkgThreeOfFourGoodBadAndMissingAcks) {
  std::unique_ptr<Dkg> d = MakeDkg(3, 4, 43);
  Drive(*d, 43, SplitAck(d->ids, 4, {2}, {3}));
  ASSERT_TRUE(d->status(1).ok()) << d->status(1);
  EXPECT_EQ(GetAbortInfo(d->status(2))->culprits, std::vector<uint32_t>{4});
  ASSERT_FALSE(d->status(3).ok());
  EXPECT_EQ(GetAbortInfo(d->status(3))->abort_class, AbortClass::kTimeout);
  const ActivationCertificate* cert = d->party(1).certificate();
  ASSERT_NE(cert, nullptr);
  std::vector<KeyShare> shares(4);
  shares[0] = d->party(1).TakeShare().value();
  for (uint32_t id : {2u, 3u}) {
    ASSERT_NE(d->party(id).pending_share(), nullptr) << id;
    EXPECT_EQ(d->party(id).certificate(), nullptr);
    ExpectActivates(*d->party(id).pending_share(), Op::kDkg, *cert);
    shares[id - 1] = CopyShare(*d->party(id).pending_share());
  }
  // Party 3 got no ack from 4, so it has no evidence; party 2 has.
  EXPECT_EQ(d->party(3).received_acks().count(4), 0u);
  EXPECT_EQ(EvidenceAgainst(*cert, d->party(2).received_acks().at(4)), 4u);
  ExpectSigns(d->ids, shares, {1, 2, 3}, 44);
}

// ---- refresh and reshare -------------------------------------------------

Bytes NodeSeed(uint32_t k) {
  const crypto::Digest32 d =
      crypto::Sha256(AsBytes("activation node " + std::to_string(k)));
  return Bytes(d.begin(), d.end());
}

Identities NodesIdentities(const std::vector<uint32_t>& nodes) {
  std::vector<Bytes> seeds;
  for (uint32_t k : nodes) {
    seeds.push_back(NodeSeed(k));
  }
  return testing::IdentitiesFromSeeds(seeds);
}

// An epoch-0 2-of-3 key held by nodes 0, 1, 2.
const testing::DkgRun& OldKey() {
  static const testing::DkgRun* run = new testing::DkgRun(
      testing::RunDkgWith(NodesIdentities({0, 1, 2}), 2, 45));
  return *run;
}

struct Participant {
  uint32_t node;
  uint32_t old_id;  // 0: not a dealer
  uint32_t new_id;  // 0: leaves
};

// A reshare whose parties outlive the session.
struct Rs {
  Identities ids;  // by participant id
  SessionSetup setup;
  std::vector<uint32_t> new_nodes;  // node of each new id
  std::vector<std::unique_ptr<InsecureDeterministicRng>> rngs;
  std::vector<std::unique_ptr<ReshareParty>> parties;  // participant id - 1
  testing::SimulationResult result;

  ReshareParty& party(uint32_t p) { return *parties[p - 1]; }
  const absl::Status& status(uint32_t p) const { return result.status.at(p); }
};

std::unique_ptr<Rs> MakeReshare(const std::vector<KeyShare>& old,
                                const std::vector<Participant>& ps,
                                uint32_t t_new) {
  auto r = std::make_unique<Rs>();
  std::vector<uint32_t> nodes;
  uint32_t new_n = 0;
  for (const Participant& p : ps) {
    nodes.push_back(p.node);
    new_n += p.new_id != 0 ? 1 : 0;
  }
  r->ids = NodesIdentities(nodes);
  r->new_nodes.resize(new_n);
  SessionSetup& s = r->setup;
  s.op = Op::kReshare;
  s.key_id = old[0].key_id;
  s.epoch = old[0].epoch;
  s.parties = r->ids.parties;
  s.threshold = t_new;
  s.old_threshold = old[0].threshold;
  for (const Participant& p : ps) {
    s.reshare_roles.push_back({p.old_id, p.new_id});
    if (p.new_id != 0) {
      r->new_nodes[p.new_id - 1] = p.node;
    }
  }
  s.initiator_nonce[0] = static_cast<uint8_t>(t_new + 7 * ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    const uint32_t id = static_cast<uint32_t>(i + 1);
    r->rngs.push_back(std::make_unique<InsecureDeterministicRng>(500 + id));
    const KeyShare* share =
        ps[i].old_id != 0 ? &old[ps[i].old_id - 1] : nullptr;
    r->parties.push_back(
        ReshareParty::Create(s, share, r->ids.signer(id), *r->rngs.back())
            .value());
  }
  return r;
}

void Drive(Rs& r, uint64_t seed, const testing::AdversaryHook& hook) {
  std::vector<RoundProtocol*> ptrs;
  for (auto& p : r.parties) {
    ptrs.push_back(p.get());
  }
  r.result = testing::RunSession(ptrs, r.setup, seed, hook);
}

TEST(ActivationTest, RefreshTwoOfThreeMaliciousAckerCannotSplitHonestMembers) {
  const testing::DkgRun& old = OldKey();
  ASSERT_TRUE(old.ok());
  std::unique_ptr<Rs> r =
      MakeReshare(old.shares, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2);
  Drive(*r, 46, SplitAck(r->ids, 3, {2}, {}));
  ASSERT_TRUE(r->status(1).ok()) << r->status(1);
  ASSERT_FALSE(r->status(2).ok());
  EXPECT_EQ(GetAbortInfo(r->status(2))->culprits, std::vector<uint32_t>{3});
  const ActivationCertificate* cert = r->party(1).certificate();
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(cert->view.epoch, 1u);
  ASSERT_NE(r->party(2).pending_share(), nullptr);
  ExpectActivates(*r->party(2).pending_share(), Op::kReshare, *cert);
  EXPECT_EQ(EvidenceAgainst(*cert, r->party(2).received_acks().at(3)), 3u);
  std::vector<KeyShare> shares(3);
  shares[0] = r->party(1).TakeShare().value();
  shares[1] = CopyShare(*r->party(2).pending_share());
  EXPECT_EQ(shares[1].epoch, 1u);
  EXPECT_EQ(shares[1].public_key, old.shares[0].public_key);
  ExpectSigns(NodesIdentities(r->new_nodes), shares, {1, 2}, 47);
}

TEST(ActivationTest, ReshareTwoOfThreeToThreeOfFourGoodBadAndMissingAcks) {
  const testing::DkgRun& old = OldKey();
  // Node 10 joins as member 4; member 3 is malicious: a good ack to 1, a bad
  // one to 2, none to 4.
  std::unique_ptr<Rs> r =
      MakeReshare(old.shares, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}, {10, 0, 4}}, 3);
  Drive(*r, 48, SplitAck(r->ids, 3, {2}, {4}));
  ASSERT_TRUE(r->status(1).ok()) << r->status(1);
  EXPECT_EQ(GetAbortInfo(r->status(2))->culprits, std::vector<uint32_t>{3});
  EXPECT_EQ(GetAbortInfo(r->status(4))->abort_class, AbortClass::kTimeout);
  const ActivationCertificate* cert = r->party(1).certificate();
  ASSERT_NE(cert, nullptr);
  std::vector<KeyShare> shares(4);
  shares[0] = r->party(1).TakeShare().value();
  for (uint32_t p : {2u, 4u}) {
    ASSERT_NE(r->party(p).pending_share(), nullptr) << p;
    ExpectActivates(*r->party(p).pending_share(), Op::kReshare, *cert);
    shares[p - 1] = CopyShare(*r->party(p).pending_share());
  }
  EXPECT_EQ(EvidenceAgainst(*cert, r->party(2).received_acks().at(3)), 3u);
  ExpectSigns(NodesIdentities(r->new_nodes), shares, {1, 2, 4}, 49);
}

TEST(ActivationTest, RemovedMembersLearnTheKeyMovedOn) {
  const testing::DkgRun& old = OldKey();
  // Node 2 deals and leaves; node 1 stays without dealing (participant 3,
  // new id 2: participant and member ids differ); node 7 joins.
  std::unique_ptr<Rs> r =
      MakeReshare(old.shares, {{0, 1, 1}, {2, 3, 0}, {1, 0, 2}, {7, 0, 3}}, 2);
  Drive(*r, 50, nullptr);
  for (uint32_t p = 1; p <= 4; ++p) {
    ASSERT_TRUE(r->status(p).ok()) << p << ": " << r->status(p);
  }
  const ActivationCertificate* cert = r->party(1).certificate();
  ASSERT_NE(cert, nullptr);
  EXPECT_TRUE(VerifyCertificate(*cert).ok()) << VerifyCertificate(*cert);
  EXPECT_EQ(cert->acks.size(), 3u);  // the pure dealer's ack is not in it
  // The pure dealer holds the same certificate, and no new share.
  ASSERT_NE(r->party(2).certificate(), nullptr);
  EXPECT_EQ(r->party(2).certificate()->Encode(), cert->Encode());
  EXPECT_EQ(r->party(2).pending_share(), nullptr);
  // Both departing nodes (the pure dealer node 2, whose old id is 3) may
  // erase their epoch-0 shares.
  EXPECT_TRUE(CheckDepartureCertificate(old.shares[2], *cert).ok())
      << CheckDepartureCertificate(old.shares[2], *cert);
  // Not for another key...
  const testing::DkgRun other =
      testing::RunDkgWith(NodesIdentities({0, 1, 2}), 2, 51);
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(Message(CheckDepartureCertificate(other.shares[2], *cert)),
              HasSubstr("key id"));
  // ...nor a non-increasing epoch...
  KeyShare later = CopyShare(old.shares[2]);
  later.epoch = 1;
  EXPECT_THAT(Message(CheckDepartureCertificate(later, *cert)),
              HasSubstr("epoch"));
  // ...nor a certificate with a missing ack...
  ActivationCertificate missing = *cert;
  missing.acks.pop_back();
  EXPECT_THAT(Message(CheckDepartureCertificate(old.shares[2], missing)),
              HasSubstr("member 3: no ack"));
  // ...nor a DKG certificate.
  std::unique_ptr<Dkg> d = MakeDkg(2, 3, 52);
  Drive(*d, 52, nullptr);
  ASSERT_NE(d->party(1).certificate(), nullptr);
  EXPECT_THAT(Message(CheckDepartureCertificate(old.shares[2],
                                                *d->party(1).certificate())),
              HasSubstr("reshare"));
  // A pure dealer's ack in place of a member's is signed by no member.
  ActivationCertificate dealer = *cert;
  dealer.acks[2] = r->party(1).received_acks().at(2);
  EXPECT_THAT(Message(VerifyCertificate(dealer)),
              HasSubstr("participant 2 is signed by no member"));
  // The members sign at epoch 1.
  std::vector<KeyShare> shares(3);
  shares[0] = r->party(1).TakeShare().value();
  shares[1] = r->party(3).TakeShare().value();
  shares[2] = r->party(4).TakeShare().value();
  ExpectSigns(NodesIdentities(r->new_nodes), shares, {2, 3}, 53);
}

TEST(ActivationTest, TheProtocolsCertificateIsTheCommitteesSignedAcks) {
  std::unique_ptr<Dkg> d = MakeDkg(2, 3, 56);
  Drive(*d, 56, nullptr);
  for (uint32_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(d->status(id).ok()) << d->status(id);
    const ActivationCertificate* cert = d->party(id).certificate();
    ASSERT_NE(cert, nullptr);
    // Ed25519 is deterministic: the acks are exactly what each member's key
    // signs over AckDigest(view of its share).
    const ActivationCertificate hand = HandCertificate(
        ActivationView::Of(*d->party(id).pending_share(), Op::kDkg), d->ids);
    EXPECT_EQ(cert->Encode(), hand.Encode()) << id;
    EXPECT_TRUE(VerifyCertificate(*cert).ok());
  }
}

}  // namespace
}  // namespace kagi::protocol
