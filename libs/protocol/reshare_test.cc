// Refresh and reshare in the in-memory simulation (PROTOCOL.md §3.7): after
// each, any t'-subset of the new committee signs under the same public key,
// chain code and derived keys; epochs never mix; a removed party is refused.
#include "libs/protocol/reshare.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hash.h"
#include "libs/protocol/testing/simulation.h"
#include "tests/testing/openssl_ecdsa.h"

namespace kagi::protocol {
namespace {

using testing::DkgRun;
using ::testing::HasSubstr;
using testing::Identities;
using testing::ReshareRun;

// A physical node's identity seed; node k keeps it across committees.
Bytes NodeSeed(uint32_t k) {
  const crypto::Digest32 d =
      crypto::Sha256(AsBytes("node " + std::to_string(k)));
  return Bytes(d.begin(), d.end());
}

Identities NodesIdentities(const std::vector<uint32_t>& nodes) {
  std::vector<Bytes> seeds;
  for (uint32_t k : nodes) {
    seeds.push_back(NodeSeed(k));
  }
  return testing::IdentitiesFromSeeds(seeds);
}

struct Participant {
  uint32_t node;
  uint32_t old_id;  // 0: not a dealer
  uint32_t new_id;  // 0: leaves
};

struct Reshared {
  std::vector<KeyShare> shares;     // by new id - 1
  std::vector<uint32_t> new_nodes;  // node of each new id
  ReshareRun run;
};

SessionSetup MakeReshareSetup(const KeyShare& old_share,
                              const Identities& participants,
                              const std::vector<Participant>& ps,
                              uint32_t t_new) {
  SessionSetup s;
  s.op = Op::kReshare;
  s.key_id = old_share.key_id;
  s.epoch = old_share.epoch;
  s.parties = participants.parties;
  s.threshold = t_new;
  s.old_threshold = old_share.threshold;
  for (const Participant& p : ps) {
    s.reshare_roles.push_back({p.old_id, p.new_id});
  }
  s.initiator_nonce[0] = static_cast<uint8_t>(t_new);
  return s;
}

Reshared Reshare(const std::vector<KeyShare>& old_shares,
                 const std::vector<Participant>& ps, uint32_t t_new,
                 uint64_t seed, const testing::AdversaryHook& hook = nullptr,
                 std::vector<KeyShare>* tampered = nullptr) {
  std::vector<uint32_t> nodes;
  for (const Participant& p : ps) {
    nodes.push_back(p.node);
  }
  const Identities ids = NodesIdentities(nodes);
  const SessionSetup setup = MakeReshareSetup(old_shares[0], ids, ps, t_new);
  std::map<uint32_t, const KeyShare*> olds;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].old_id != 0) {
      const std::vector<KeyShare>& src = tampered ? *tampered : old_shares;
      olds[static_cast<uint32_t>(i + 1)] = &src[ps[i].old_id - 1];
    }
  }
  Reshared out;
  out.run = testing::RunReshare(ids, setup, olds, seed, hook);
  for (std::optional<KeyShare>& s : out.run.new_shares) {
    if (s.has_value()) {
      out.shares.push_back(std::move(*s));
    }
  }
  out.new_nodes.resize(out.run.new_shares.size());
  for (const Participant& p : ps) {
    if (p.new_id != 0) {
      out.new_nodes[p.new_id - 1] = p.node;
    }
  }
  return out;
}

// Signs with `subset` (new ids) of a committee and checks the signature.
void ExpectSigns(const std::vector<KeyShare>& shares,
                 const std::vector<uint32_t>& nodes,
                 const std::vector<uint32_t>& subset, uint64_t seed,
                 const crypto::Point& expected_key) {
  const Identities ids = NodesIdentities(nodes);
  std::vector<SignItem> items(1);
  items[0].digest =
      crypto::Sha256(AsBytes("after reshare " + std::to_string(seed)));
  items[0].path = {1, 2};
  const SessionSetup setup =
      testing::MakeSignSetup(shares[0], subset, items, seed);
  const testing::SignRun run = testing::RunSign(ids, shares, setup, seed);
  ASSERT_TRUE(run.ok()) << run.result.status.begin()->second << " seed "
                        << seed;
  const Signature& sig = run.signatures.at(subset[0])[0];
  EXPECT_EQ(sig.public_key, expected_key);
  EXPECT_TRUE(
      crypto::EcdsaVerify(sig.public_key, sig.digest, sig.Compact()).ok());
  EXPECT_TRUE(kagi::testing::OpenSslVerifyEcdsa(sig.public_key.ToCompressed(),
                                                sig.digest, sig.r, sig.s)
                  .ok());
}

crypto::Point Derived(const KeyShare& s) {
  const uint32_t path[] = {1, 2};
  return crypto::DerivePath(
             crypto::ExtendedPublicKey::Root(s.public_key, s.chain_code), path)
      ->xpub.key();
}

const DkgRun& Key(uint32_t t, uint32_t n) {
  static auto* cache = new std::map<std::pair<uint32_t, uint32_t>, DkgRun>();
  auto it = cache->find({t, n});
  if (it == cache->end()) {
    std::vector<uint32_t> nodes;
    for (uint32_t k = 0; k < n; ++k) {
      nodes.push_back(k);
    }
    it = cache
             ->emplace(std::make_pair(t, n),
                       testing::RunDkgWith(NodesIdentities(nodes), t, 31 * n))
             .first;
  }
  return it->second;
}

void ExpectSameKey(const std::vector<KeyShare>& before,
                   const std::vector<KeyShare>& after, uint32_t t_new,
                   uint32_t n_new) {
  ASSERT_EQ(after.size(), n_new);
  for (const KeyShare& s : after) {
    EXPECT_EQ(s.public_key, before[0].public_key);
    EXPECT_EQ(s.chain_code, before[0].chain_code);
    EXPECT_EQ(s.key_id, before[0].key_id);
    EXPECT_EQ(s.epoch, before[0].epoch + 1);
    EXPECT_EQ(s.threshold, t_new);
    EXPECT_EQ(s.n(), n_new);
    EXPECT_EQ(*crypto::Point::MulGenerator(s.secret_share),
              s.public_shares[s.self - 1]);
    // Every share is new.
    for (const KeyShare& old : before) {
      EXPECT_FALSE(s.secret_share == old.secret_share);
    }
    // The new share survives its own serialization checks.
    EXPECT_TRUE(KeyShare::Deserialize(s.Serialize().secret()).ok());
  }
}

TEST(ReshareTest, RefreshReplacesEverySharesAndKeepsTheKey) {
  const DkgRun& dkg = Key(2, 3);
  ASSERT_TRUE(dkg.ok());
  const Reshared r =
      Reshare(dkg.shares, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2, 1);
  ASSERT_TRUE(r.run.ok()) << r.run.result.status.begin()->second;
  ExpectSameKey(dkg.shares, r.shares, 2, 3);
  // Fresh OT material too.
  EXPECT_FALSE(r.shares[0].pairwise[0].zero_seed ==
               dkg.shares[0].pairwise[0].zero_seed);
  EXPECT_FALSE(r.shares[0].pairwise[0].as_sender.keys ==
               dkg.shares[0].pairwise[0].as_sender.keys);
  ExpectSigns(r.shares, r.new_nodes, {1, 2}, 11, Derived(dkg.shares[0]));
  ExpectSigns(r.shares, r.new_nodes, {2, 3}, 12, Derived(dkg.shares[0]));
  ExpectSigns(r.shares, r.new_nodes, {1, 3}, 13, Derived(dkg.shares[0]));
}

// A refresh runs fresh base OTs, so shares made from legacy ones (format
// version 1, before the uniform base-OT fix) come out with the flag clear.
TEST(ReshareTest, RefreshOfLegacySharesClearsLegacyBaseOt) {
  const DkgRun& dkg = Key(2, 3);
  ASSERT_TRUE(dkg.ok());
  std::vector<KeyShare> legacy;
  for (const KeyShare& s : dkg.shares) {
    absl::StatusOr<KeyShare> copy =
        KeyShare::Deserialize(s.Serialize().secret());
    ASSERT_TRUE(copy.ok()) << copy.status();
    copy->legacy_base_ot = true;
    legacy.push_back(std::move(*copy));
  }
  const Reshared r = Reshare(legacy, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2, 5);
  ASSERT_TRUE(r.run.ok()) << r.run.result.status.begin()->second;
  ExpectSameKey(dkg.shares, r.shares, 2, 3);
  for (const KeyShare& s : r.shares) {
    EXPECT_FALSE(s.legacy_base_ot) << "party " << s.self;
    absl::StatusOr<KeyShare> back =
        KeyShare::Deserialize(s.Serialize().secret());
    ASSERT_TRUE(back.ok());
    EXPECT_FALSE(back->legacy_base_ot);
  }
}

TEST(ReshareTest, TwoOfThreeToThreeOfFive) {
  const DkgRun& dkg = Key(2, 3);
  const Reshared r =
      Reshare(dkg.shares,
              {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}, {10, 0, 4}, {11, 0, 5}}, 3, 2);
  ASSERT_TRUE(r.run.ok()) << r.run.result.status.begin()->second;
  ExpectSameKey(dkg.shares, r.shares, 3, 5);
  ExpectSigns(r.shares, r.new_nodes, {1, 2, 3}, 21, Derived(dkg.shares[0]));
  ExpectSigns(r.shares, r.new_nodes, {2, 4, 5}, 22, Derived(dkg.shares[0]));
}

TEST(ReshareTest, ThreeOfFiveToTwoOfThree) {
  const DkgRun& dkg = Key(3, 5);
  ASSERT_TRUE(dkg.ok());
  // Dealers: old 1, 2, 3. New committee: nodes 0, 1, 4. Node 2 deals and
  // leaves; node 4 (old id 5) stays without dealing.
  const Reshared r =
      Reshare(dkg.shares, {{0, 1, 1}, {1, 2, 2}, {2, 3, 0}, {4, 0, 3}}, 2, 3);
  ASSERT_TRUE(r.run.ok()) << r.run.result.status.begin()->second;
  ExpectSameKey(dkg.shares, r.shares, 2, 3);
  ExpectSigns(r.shares, r.new_nodes, {1, 3}, 31, Derived(dkg.shares[0]));
}

TEST(ReshareTest, ReplaceOneMemberOfTwoOfThree) {
  const DkgRun& dkg = Key(2, 3);
  // Node 2 is lost; node 7 takes its place.
  const Reshared r =
      Reshare(dkg.shares, {{0, 1, 1}, {1, 2, 2}, {7, 0, 3}}, 2, 4);
  ASSERT_TRUE(r.run.ok()) << r.run.result.status.begin()->second;
  ExpectSameKey(dkg.shares, r.shares, 2, 3);
  ExpectSigns(r.shares, r.new_nodes, {1, 3}, 41, Derived(dkg.shares[0]));
  ExpectSigns(r.shares, r.new_nodes, {2, 3}, 42, Derived(dkg.shares[0]));

  // The removed node's epoch-0 share cannot join an epoch-1 session.
  const Identities ids = NodesIdentities(r.new_nodes);
  std::vector<SignItem> items(1);
  const SessionSetup setup =
      testing::MakeSignSetup(r.shares[0], {1, 3}, items, 1);
  InsecureDeterministicRng rng(1);
  const ConsumeHook hook = [](const PresignatureId&) {
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<SignParty>> stale =
      SignParty::Create(setup, dkg.shares[2], ids.signer(1), rng, hook);
  ASSERT_FALSE(stale.ok());
  EXPECT_THAT(std::string(stale.status().message()), HasSubstr("epoch"));
}

TEST(ReshareTest, OldAndNewSharesNeverMixInOneSigningSession) {
  const DkgRun& dkg = Key(2, 3);
  const Reshared r =
      Reshare(dkg.shares, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2, 5);
  ASSERT_TRUE(r.run.ok());
  // Party 1 brings its epoch-1 share, party 2 its epoch-0 share.
  std::vector<KeyShare> mixed;
  mixed.push_back(
      KeyShare::Deserialize(r.shares[0].Serialize().secret()).value());
  mixed.push_back(
      KeyShare::Deserialize(dkg.shares[1].Serialize().secret()).value());
  mixed.push_back(
      KeyShare::Deserialize(r.shares[2].Serialize().secret()).value());
  std::vector<SignItem> items(1);
  const SessionSetup setup =
      testing::MakeSignSetup(r.shares[0], {1, 2}, items, 6);
  const testing::SignRun run =
      testing::RunSign(NodesIdentities(r.new_nodes), mixed, setup, 6);
  EXPECT_FALSE(run.ok());
  EXPECT_FALSE(run.result.status.at(2).ok());
  EXPECT_THAT(std::string(run.result.status.at(2).message()),
              HasSubstr("epoch"));
  EXPECT_TRUE(run.signatures.empty());
}

TEST(ReshareTest, MissingAcknowledgementKeepsTheOldEpoch) {
  const DkgRun& dkg = Key(2, 3);
  // Participant 3 never sends its round-4 ack.
  const testing::AdversaryHook drop_ack = [](testing::Outgoing& o) {
    if (o.from == 3 && o.envelope.header.round == 4) {
      o.drop = true;
    }
  };
  const Reshared r =
      Reshare(dkg.shares, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2, 7, drop_ack);
  for (uint32_t p : {1u, 2u}) {
    const absl::Status& st = r.run.result.status.at(p);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(GetAbortInfo(st)->abort_class, AbortClass::kTimeout);
  }
  // Nobody who missed an ack activates a new share...
  EXPECT_LT(r.shares.size(), 3u);
  // ...and the old epoch still signs.
  ExpectSigns(dkg.shares, {0, 1, 2}, {1, 2}, 71, Derived(dkg.shares[0]));
}

// Member 3 is malicious in round 4 of a 2-of-3 refresh: participant 1 gets
// its good ack, participant 2 a different, validly signed one. 1 finishes, 2
// aborts blaming 3, and 2 must still hold its pending epoch-1 share: the two
// honest members then sign at epoch 1 without member 3.
TEST(ReshareTest, MaliciousAckerCannotMakeAnHonestMemberLoseItsShare) {
  const DkgRun& dkg = Key(2, 3);
  const Identities ids = NodesIdentities({0, 1, 2});
  const SessionSetup setup = MakeReshareSetup(
      dkg.shares[0], ids, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2);
  InsecureDeterministicRng r1(1), r2(2), r3(3);
  std::unique_ptr<ReshareParty> p1 =
      *ReshareParty::Create(setup, &dkg.shares[0], ids.signer(1), r1);
  std::unique_ptr<ReshareParty> p2 =
      *ReshareParty::Create(setup, &dkg.shares[1], ids.signer(2), r2);
  std::unique_ptr<ReshareParty> p3 =
      *ReshareParty::Create(setup, nullptr, ids.signer(3), r3);
  const testing::AdversaryHook split = [&ids](testing::Outgoing& o) {
    if (o.from == 3 && o.envelope.header.round == 4) {
      Envelope bad = o.envelope;
      bad.payload[0] ^= 1;
      testing::Resign(ids, bad);
      o.per_recipient[2] = bad;
    }
  };
  const testing::SimulationResult r =
      testing::RunSession({p1.get(), p2.get(), p3.get()}, setup, 23, split);
  ASSERT_TRUE(r.status.at(1).ok()) << r.status.at(1);
  ASSERT_FALSE(r.status.at(2).ok());
  EXPECT_EQ(GetAbortInfo(r.status.at(2))->culprits, std::vector<uint32_t>{3});
  ASSERT_NE(p2->pending_share(), nullptr);
  std::vector<KeyShare> shares(3);
  shares[0] = p1->TakeShare().value();
  shares[1] =
      KeyShare::Deserialize(p2->pending_share()->Serialize().secret()).value();
  EXPECT_EQ(shares[1].epoch, 1u);
  ExpectSigns(shares, {0, 1, 2}, {1, 2}, 24, Derived(dkg.shares[0]));
}

TEST(ReshareTest, DealerWithWrongConstantTermIsNamed) {
  const DkgRun& dkg = Key(2, 3);
  // Old party 2 deals from a share that is not its real one.
  std::vector<KeyShare> tampered;
  for (const KeyShare& s : dkg.shares) {
    tampered.push_back(KeyShare::Deserialize(s.Serialize().secret()).value());
  }
  tampered[1].secret_share += crypto::Scalar::One();
  const Reshared r = Reshare(dkg.shares, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2,
                             8, nullptr, &tampered);
  for (uint32_t p : {1u, 3u}) {
    const absl::Status& st = r.run.result.status.at(p);
    ASSERT_FALSE(st.ok());
    const std::optional<AbortInfo> info = GetAbortInfo(st);
    ASSERT_TRUE(info.has_value()) << st;
    EXPECT_EQ(info->abort_class, AbortClass::kBlame);
    EXPECT_EQ(info->culprits, std::vector<uint32_t>{2}) << st;
    EXPECT_THAT(std::string(st.message()), HasSubstr("constant term"));
  }
  EXPECT_TRUE(r.shares.empty());
}

TEST(ReshareTest, DealerWithAnotherViewOfTheKeyIsNamed) {
  const DkgRun& dkg = Key(2, 3);
  std::vector<KeyShare> tampered;
  for (const KeyShare& s : dkg.shares) {
    tampered.push_back(KeyShare::Deserialize(s.Serialize().secret()).value());
  }
  tampered[1].chain_code[0] ^= 1;  // dealer 2 presents another chain code
  const Reshared r = Reshare(dkg.shares, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2,
                             9, nullptr, &tampered);
  // Dealer 1 holds the real share and names dealer 2.
  const absl::Status& st1 = r.run.result.status.at(1);
  ASSERT_FALSE(st1.ok());
  EXPECT_EQ(GetAbortInfo(st1)->culprits, std::vector<uint32_t>{2}) << st1;
  // The new member without a share sees disagreement and aborts.
  EXPECT_FALSE(r.run.result.status.at(3).ok());
  EXPECT_TRUE(r.shares.empty());
}

TEST(ReshareTest, BadProofAndWrongLengthAreBlamed) {
  const DkgRun& dkg = Key(2, 3);
  for (int variant = 0; variant < 2; ++variant) {
    const Identities ids = NodesIdentities({0, 1, 2});
    const testing::AdversaryHook hook = [&ids, variant](testing::Outgoing& o) {
      if (o.from == 2 && o.envelope.header.round == 2 &&
          o.envelope.header.to == kBroadcast) {
        if (variant == 0) {
          o.envelope.payload.back() ^= 1;  // last byte of the last PoK
        } else {
          o.envelope.payload.pop_back();
        }
        testing::Resign(ids, o.envelope);
      }
    };
    const Reshared r =
        Reshare(dkg.shares, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2, 10, hook);
    for (uint32_t p : {1u, 3u}) {
      const absl::Status& st = r.run.result.status.at(p);
      ASSERT_FALSE(st.ok()) << "variant " << variant;
      EXPECT_EQ(GetAbortInfo(st)->abort_class, AbortClass::kBlame) << st;
      EXPECT_EQ(GetAbortInfo(st)->culprits, std::vector<uint32_t>{2}) << st;
    }
    EXPECT_TRUE(r.shares.empty());
  }
}

TEST(ReshareTest, CreateRefusesWrongRolesAndShares) {
  const DkgRun& dkg = Key(2, 3);
  const Identities ids = NodesIdentities({0, 1, 2});
  const SessionSetup setup = MakeReshareSetup(
      dkg.shares[0], ids, {{0, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2);
  InsecureDeterministicRng rng(1);
  // A dealer without its share.
  EXPECT_FALSE(ReshareParty::Create(setup, nullptr, ids.signer(1), rng).ok());
  // A dealer with another party's share.
  EXPECT_FALSE(
      ReshareParty::Create(setup, &dkg.shares[1], ids.signer(1), rng).ok());
  // A share of another epoch.
  KeyShare later =
      KeyShare::Deserialize(dkg.shares[0].Serialize().secret()).value();
  later.epoch = 1;
  EXPECT_FALSE(ReshareParty::Create(setup, &later, ids.signer(1), rng).ok());
  // A dealer whose identity key is not the old committee's for that old id.
  const Identities impostor = NodesIdentities({9, 1, 2});
  const SessionSetup forged = MakeReshareSetup(
      dkg.shares[0], impostor, {{9, 1, 1}, {1, 2, 2}, {2, 0, 3}}, 2);
  absl::StatusOr<std::unique_ptr<ReshareParty>> f =
      ReshareParty::Create(forged, &dkg.shares[1], impostor.signer(2), rng);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("identity key"));
  // The member-only participant needs no share.
  EXPECT_TRUE(ReshareParty::Create(setup, nullptr, ids.signer(3), rng).ok());
}

}  // namespace
}  // namespace kagi::protocol
