// DKG-specific behaviour: the two-phase share lifecycle and the pairwise
// material every ordered pair must end up agreeing on. (Signing with the
// result is in sign_test.cc; attacks are in sign_adversary_test.cc.)
#include "libs/protocol/dkg.h"

#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hash.h"
#include "libs/mpc/bit_matrix.h"
#include "libs/protocol/lagrange.h"
#include "libs/protocol/testing/simulation.h"
#include "tests/testing/openssl_ecdsa.h"

namespace kagi::protocol {
namespace {

TEST(DkgTest, ShareIsPendingAfterRoundThreeAndFinalOnlyAfterEveryAck) {
  testing::Identities ids = testing::MakeIdentities(3, 5);
  SessionSetup setup;
  setup.op = Op::kDkg;
  setup.parties = ids.parties;
  setup.threshold = 2;
  InsecureDeterministicRng r1(1), r2(2), r3(3);
  std::unique_ptr<DkgParty> p1 = *DkgParty::Create(setup, ids.signer(1), r1);
  std::unique_ptr<DkgParty> p2 = *DkgParty::Create(setup, ids.signer(2), r2);
  std::unique_ptr<DkgParty> p3 = *DkgParty::Create(setup, ids.signer(3), r3);
  // Party 3's acknowledgements never arrive.
  const testing::AdversaryHook drop = [](testing::Outgoing& o) {
    o.drop = o.from == 3 && o.envelope.header.round == 4;
  };
  const testing::SimulationResult r =
      testing::RunSession({p1.get(), p2.get(), p3.get()}, setup, 5, drop);
  EXPECT_FALSE(r.status.at(1).ok());
  EXPECT_FALSE(r.status.at(2).ok());
  // The share exists as pending, but cannot be taken as final.
  ASSERT_NE(p1->pending_share(), nullptr);
  EXPECT_FALSE(p1->TakeShare().ok());
  // Party 3 got every ack and may activate.
  EXPECT_TRUE(p3->TakeShare().ok());
  EXPECT_FALSE(p3->TakeShare().ok());  // once
}

KeyShare CopyShare(const KeyShare& s) {
  return KeyShare::Deserialize(s.Serialize().secret()).value();
}

// Member 3 is malicious in round 4: party 1 gets its good ack, party 2 a
// different one (validly signed: member 3 holds its own identity key). Party
// 1 finishes, party 2 aborts blaming 3; neither may lose the new key: party 2
// keeps its pending share, and the two honest members sign together with it.
TEST(DkgTest, MaliciousAckerCannotMakeAnHonestMemberLoseItsShare) {
  testing::Identities ids = testing::MakeIdentities(3, 21);
  SessionSetup setup;
  setup.op = Op::kDkg;
  setup.parties = ids.parties;
  setup.threshold = 2;
  InsecureDeterministicRng r1(1), r2(2), r3(3);
  std::unique_ptr<DkgParty> p1 = *DkgParty::Create(setup, ids.signer(1), r1);
  std::unique_ptr<DkgParty> p2 = *DkgParty::Create(setup, ids.signer(2), r2);
  std::unique_ptr<DkgParty> p3 = *DkgParty::Create(setup, ids.signer(3), r3);
  const testing::AdversaryHook split = [&ids](testing::Outgoing& o) {
    if (o.from == 3 && o.envelope.header.round == 4) {
      Envelope bad = o.envelope;
      bad.payload[0] ^= 1;
      testing::Resign(ids, bad);
      o.per_recipient[2] = bad;
    }
  };
  const testing::SimulationResult r =
      testing::RunSession({p1.get(), p2.get(), p3.get()}, setup, 21, split);
  ASSERT_TRUE(r.status.at(1).ok()) << r.status.at(1);
  ASSERT_FALSE(r.status.at(2).ok());
  EXPECT_EQ(GetAbortInfo(r.status.at(2))->culprits, std::vector<uint32_t>{3});
  // The aborted honest member still holds its pending share...
  ASSERT_NE(p2->pending_share(), nullptr);
  // ...which signs with the finished honest member's share.
  std::vector<KeyShare> shares(3);
  shares[0] = p1->TakeShare().value();
  shares[1] = CopyShare(*p2->pending_share());
  std::vector<SignItem> items(1);
  items[0].digest = crypto::Sha256(AsBytes("after a split ack"));
  const SessionSetup sign =
      testing::MakeSignSetup(shares[0], {1, 2}, items, 22);
  const testing::SignRun run = testing::RunSign(ids, shares, sign, 22);
  ASSERT_TRUE(run.ok()) << run.result.status.begin()->second;
  const Signature& sig = run.signatures.at(1)[0];
  EXPECT_EQ(sig.public_key, shares[1].public_key);
  EXPECT_TRUE(kagi::testing::OpenSslVerifyEcdsa(sig.public_key.ToCompressed(),
                                                sig.digest, sig.r, sig.s)
                  .ok());
}

TEST(DkgTest, PairwiseMaterialAgreesForEveryOrderedPair) {
  const testing::DkgRun run = testing::RunDkg(3, 4, 6);
  ASSERT_TRUE(run.ok());
  for (const KeyShare& a : run.shares) {
    for (const KeyShare& b : run.shares) {
      if (a.self == b.self) {
        continue;
      }
      const PairwiseMaterial* ab = a.Pairwise(b.self);
      const PairwiseMaterial* ba = b.Pairwise(a.self);
      ASSERT_NE(ab, nullptr);
      ASSERT_NE(ba, nullptr);
      // The zero-share seed is the same on both sides...
      EXPECT_TRUE(ab->zero_seed == ba->zero_seed);
      // ...and a's sender keys are b's receiver keys at a's choice bits.
      for (size_t l = 0; l < mpc::kBaseOts; ++l) {
        const uint64_t c = mpc::GetBit(ab->as_sender.delta.secret(), l);
        const ByteSpan mine = ab->as_sender.keys.secret().subspan(32 * l, 32);
        const ByteSpan theirs =
            (c ? ba->as_receiver.keys1 : ba->as_receiver.keys0)
                .secret()
                .subspan(32 * l, 32);
        ASSERT_TRUE(ConstantTimeEqual(mine, theirs))
            << a.self << "->" << b.self;
      }
    }
  }
  // Any t public shares interpolate the same X.
  const uint32_t subsets[][3] = {{1, 2, 3}, {2, 3, 4}, {1, 3, 4}};
  for (const auto& set : subsets) {
    std::vector<crypto::Point> terms;
    for (uint32_t i : set) {
      terms.push_back(
          *run.shares[0].public_shares[i - 1].MulPublicScalarVartime(
              LagrangeAtZero(i, set)));
    }
    EXPECT_EQ(*crypto::Point::Sum(terms), run.shares[0].public_key);
  }
}

TEST(DkgTest, DifferentSessionsGiveDifferentKeys) {
  const testing::DkgRun a = testing::RunDkg(2, 3, 7);
  const testing::DkgRun b = testing::RunDkg(2, 3, 8);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.shares[0].public_key, b.shares[0].public_key);
  EXPECT_NE(a.shares[0].chain_code, b.shares[0].chain_code);
  EXPECT_NE(a.shares[0].key_id, b.shares[0].key_id);
}

TEST(DkgTest, CreateRefusesWrongOpAndOutsiders) {
  testing::Identities ids = testing::MakeIdentities(3, 9);
  testing::Identities other = testing::MakeIdentities(4, 10);
  SessionSetup setup;
  setup.op = Op::kDkg;
  setup.parties = ids.parties;
  setup.threshold = 2;
  InsecureDeterministicRng rng(1);
  EXPECT_FALSE(DkgParty::Create(setup, other.signer(4), rng).ok());
  SessionSetup sign = setup;
  sign.op = Op::kSign;
  EXPECT_FALSE(DkgParty::Create(sign, ids.signer(1), rng).ok());
  SessionSetup big = setup;
  big.threshold = 4;
  EXPECT_FALSE(DkgParty::Create(big, ids.signer(1), rng).ok());
}

}  // namespace
}  // namespace kagi::protocol
