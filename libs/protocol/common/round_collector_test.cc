#include "libs/protocol/common/round_collector.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/base/rng.h"
#include "libs/crypto/evp.h"

namespace kagi::protocol {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint32_t kRound = 2;

class RoundCollectorTest : public ::testing::Test {
 protected:
  RoundCollectorTest() : rng_(5) {
    setup_.op = Op::kSign;
    setup_.threshold = 2;
    for (uint32_t id = 1; id <= 4; ++id) {
      auto signer = std::make_unique<Ed25519EnvelopeSigner>(
          id, crypto::Ed25519PrivateKey::Generate(rng_));
      setup_.parties.push_back(PartyInfo{id, signer->public_key()});
      signers_.push_back(std::move(signer));
    }
    verifier_ = std::make_unique<IdentityVerifier>(setup_);
    session_ = rng_.Bytes<32>();
  }

  // Party 1 collecting from 2, 3 and 4.
  RoundCollector Collector(bool broadcast, bool direct) const {
    return RoundCollector(Op::kSign, kRound, 1, {2, 3, 4}, broadcast, direct,
                          verifier_.get());
  }

  Envelope Make(uint32_t from, uint32_t to, Bytes payload,
                uint32_t round = kRound, Op op = Op::kSign) const {
    EnvelopeHeader h;
    h.op = op;
    h.session = session_;
    h.round = round;
    h.from = from;
    h.to = to;
    return SignEnvelope(*signers_[from - 1], h, std::move(payload));
  }

  static void ExpectBlame(const absl::StatusOr<OfferResult>& r,
                          uint32_t culprit, absl::string_view reason) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
    const std::optional<AbortInfo> info = GetAbortInfo(r.status());
    ASSERT_TRUE(info.has_value()) << r.status();
    EXPECT_EQ(info->abort_class, AbortClass::kBlame);
    EXPECT_THAT(info->culprits, ElementsAre(culprit));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(reason));
  }

  InsecureDeterministicRng rng_;
  SessionSetup setup_;
  std::vector<std::unique_ptr<Ed25519EnvelopeSigner>> signers_;
  std::unique_ptr<IdentityVerifier> verifier_;
  std::array<uint8_t, 32> session_{};
};

TEST_F(RoundCollectorTest, CompleteAfterOneBroadcastFromEach) {
  RoundCollector c = Collector(true, false);
  EXPECT_FALSE(c.Complete());
  EXPECT_THAT(c.Missing(), ElementsAre(2, 3, 4));
  for (uint32_t from : {4u, 2u, 3u}) {
    EXPECT_FALSE(c.Complete());
    absl::StatusOr<OfferResult> r = c.Offer(from, Make(from, kBroadcast, {1}));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, OfferResult::kAccepted);
  }
  EXPECT_TRUE(c.Complete());
  EXPECT_THAT(c.Missing(), IsEmpty());
  EXPECT_EQ(c.broadcasts().size(), 3u);
  EXPECT_TRUE(c.directs().empty());
  EXPECT_FALSE(c.equivocation().has_value());
}

TEST_F(RoundCollectorTest, CompleteNeedsBothKindsWhenBothExpected) {
  RoundCollector c = Collector(true, true);
  for (uint32_t from : {2u, 3u, 4u}) {
    ASSERT_EQ(*c.Offer(from, Make(from, kBroadcast, {1})),
              OfferResult::kAccepted);
  }
  EXPECT_FALSE(c.Complete());
  EXPECT_THAT(c.Missing(), ElementsAre(2, 3, 4));
  ASSERT_EQ(*c.Offer(3, Make(3, 1, {2})), OfferResult::kAccepted);
  EXPECT_THAT(c.Missing(), ElementsAre(2, 4));
  ASSERT_EQ(*c.Offer(2, Make(2, 1, {2})), OfferResult::kAccepted);
  ASSERT_EQ(*c.Offer(4, Make(4, 1, {2})), OfferResult::kAccepted);
  EXPECT_TRUE(c.Complete());
  EXPECT_EQ(c.broadcasts().size(), 3u);
  EXPECT_EQ(c.directs().size(), 3u);
  EXPECT_EQ(c.directs().at(3).payload, Bytes{2});
}

TEST_F(RoundCollectorTest, MissingListsTheSilentParties) {
  RoundCollector c = Collector(false, true);
  ASSERT_EQ(*c.Offer(3, Make(3, 1, {7})), OfferResult::kAccepted);
  EXPECT_THAT(c.Missing(), ElementsAre(2, 4));
  EXPECT_FALSE(c.Complete());
}

TEST_F(RoundCollectorTest,
       UnauthenticatedEnvelopesAreDroppedAndRoundCompletes) {
  RoundCollector c = Collector(true, false);
  const Envelope genuine2 = Make(2, kBroadcast, {0x22});
  const Envelope genuine3 = Make(3, kBroadcast, {0x33});
  const Envelope genuine4 = Make(4, kBroadcast, {0x44});

  // Validly signed by 2 but relayed on 3's connection: the transport peer
  // must be the author.
  EXPECT_EQ(*c.Offer(3, genuine2), OfferResult::kDropped);
  // A forged envelope claiming to be from 2 (payload changed after signing).
  Envelope forged = genuine2;
  forged.payload = {0x66};
  EXPECT_EQ(*c.Offer(2, forged), OfferResult::kDropped);
  // Signed by 3's key but claiming to be from 2.
  Envelope impersonated = genuine2;
  impersonated.signature =
      signers_[2]->Sign(EnvelopeDigest(impersonated.header, {0x22}));
  EXPECT_EQ(*c.Offer(2, impersonated), OfferResult::kDropped);
  // Unknown sender (not in the setup) with its own valid key.
  InsecureDeterministicRng other(123);
  const Ed25519EnvelopeSigner outsider(
      9, crypto::Ed25519PrivateKey::Generate(other));
  EnvelopeHeader h = genuine2.header;
  h.from = 9;
  EXPECT_EQ(*c.Offer(9, SignEnvelope(outsider, h, {0x99})),
            OfferResult::kDropped);
  // Our own id (a reflected or spoofed envelope) is not an expected sender.
  EXPECT_EQ(*c.Offer(1, Make(1, kBroadcast, {0x11})), OfferResult::kDropped);
  // Even junk that is wrong in every other way is only dropped.
  Envelope junk = Make(2, 3, {0}, kRound + 5, Op::kDkg);
  junk.signature[0] ^= 1;
  EXPECT_EQ(*c.Offer(2, junk), OfferResult::kDropped);

  EXPECT_TRUE(c.broadcasts().empty());
  EXPECT_THAT(c.Missing(), ElementsAre(2, 3, 4));

  // The genuine envelopes still fill their slots (no duplicate, no
  // equivocation with the dropped ones).
  EXPECT_EQ(*c.Offer(2, genuine2), OfferResult::kAccepted);
  EXPECT_EQ(*c.Offer(3, genuine3), OfferResult::kAccepted);
  EXPECT_EQ(*c.Offer(4, genuine4), OfferResult::kAccepted);
  EXPECT_TRUE(c.Complete());
  EXPECT_TRUE(SameEnvelope(c.broadcasts().at(2), genuine2));
  EXPECT_TRUE(SameEnvelope(c.broadcasts().at(3), genuine3));
  EXPECT_TRUE(SameEnvelope(c.broadcasts().at(4), genuine4));
  EXPECT_FALSE(c.equivocation().has_value());
}

TEST_F(RoundCollectorTest, IdenticalResendIsADuplicate) {
  RoundCollector c = Collector(true, true);
  const Envelope b = Make(2, kBroadcast, {1, 2, 3});
  const Envelope d = Make(2, 1, {4, 5});
  EXPECT_EQ(*c.Offer(2, b), OfferResult::kAccepted);
  EXPECT_EQ(*c.Offer(2, d), OfferResult::kAccepted);
  EXPECT_EQ(*c.Offer(2, b), OfferResult::kDuplicate);
  EXPECT_EQ(*c.Offer(2, d), OfferResult::kDuplicate);
  EXPECT_EQ(c.broadcasts().size(), 1u);
  EXPECT_EQ(c.directs().size(), 1u);
  EXPECT_FALSE(c.equivocation().has_value());
}

TEST_F(RoundCollectorTest, BroadcastEquivocationIsBlamedWithEvidence) {
  RoundCollector c = Collector(true, false);
  const Envelope first = Make(3, kBroadcast, {1});
  const Envelope second = Make(3, kBroadcast, {2});
  EXPECT_EQ(*c.Offer(3, first), OfferResult::kAccepted);
  ExpectBlame(c.Offer(3, second), 3, "equivocation");
  ASSERT_TRUE(c.equivocation().has_value());
  EXPECT_EQ(c.equivocation()->party, 3u);
  EXPECT_TRUE(SameEnvelope(c.equivocation()->first, first));
  EXPECT_TRUE(SameEnvelope(c.equivocation()->second, second));
  // Both halves of the evidence verify under 3's identity key.
  EXPECT_TRUE(verifier_->Verify(c.equivocation()->first).ok());
  EXPECT_TRUE(verifier_->Verify(c.equivocation()->second).ok());
  // The first envelope keeps its slot.
  EXPECT_TRUE(SameEnvelope(c.broadcasts().at(3), first));
}

TEST_F(RoundCollectorTest, DirectEquivocationIsBlamedWithEvidence) {
  RoundCollector c = Collector(false, true);
  const Envelope first = Make(4, 1, {1});
  const Envelope second = Make(4, 1, {1, 0});
  EXPECT_EQ(*c.Offer(4, first), OfferResult::kAccepted);
  ExpectBlame(c.Offer(4, second), 4, "equivocation");
  ASSERT_TRUE(c.equivocation().has_value());
  EXPECT_EQ(c.equivocation()->party, 4u);
  EXPECT_TRUE(SameEnvelope(c.equivocation()->first, first));
  EXPECT_TRUE(SameEnvelope(c.equivocation()->second, second));
}

TEST_F(RoundCollectorTest,
       AnotherSessionInAFilledSlotIsDroppedNotEquivocation) {
  // A slot is keyed by (session, round, from): a validly signed envelope of
  // another session is not a second message for this slot. Calling it
  // equivocation would let a driver that mixes sessions frame the sender.
  RoundCollector c = Collector(true, false);
  Envelope a = Make(2, kBroadcast, {1});
  EXPECT_EQ(*c.Offer(2, a), OfferResult::kAccepted);
  EnvelopeHeader h = a.header;
  h.session[0] ^= 1;
  absl::StatusOr<OfferResult> r =
      c.Offer(2, SignEnvelope(*signers_[1], h, {1}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, OfferResult::kDropped);
  EXPECT_FALSE(c.equivocation().has_value());
  EXPECT_TRUE(SameEnvelope(c.broadcasts().at(2), a));
  // The same session with other content is still equivocation.
  ExpectBlame(c.Offer(2, Make(2, kBroadcast, {9})), 2, "equivocation");
}

TEST_F(RoundCollectorTest, WrongRoundIsBlamed) {
  for (uint32_t round : {kRound - 1, kRound + 1}) {
    RoundCollector c = Collector(true, false);
    ExpectBlame(c.Offer(3, Make(3, kBroadcast, {1}, round)), 3, "round");
    EXPECT_TRUE(c.broadcasts().empty());
  }
}

TEST_F(RoundCollectorTest, WrongOpIsBlamed) {
  for (Op op : {Op::kDkg, Op::kReshare}) {
    RoundCollector c = Collector(true, false);
    ExpectBlame(c.Offer(2, Make(2, kBroadcast, {1}, kRound, op)), 2, "op");
  }
}

TEST_F(RoundCollectorTest, WrongVersionIsBlamed) {
  RoundCollector c = Collector(true, false);
  EnvelopeHeader h;
  h.version = 2;
  h.op = Op::kSign;
  h.round = kRound;
  h.from = 4;
  h.to = kBroadcast;
  ExpectBlame(c.Offer(4, SignEnvelope(*signers_[3], h, {1})), 4, "version");
}

TEST_F(RoundCollectorTest, WrongRecipientIsBlamed) {
  RoundCollector c = Collector(true, true);
  ExpectBlame(c.Offer(2, Make(2, 3, {1})), 2, "addressed to party 3");
  RoundCollector c2 = Collector(true, true);
  ExpectBlame(c2.Offer(4, Make(4, 77, {1})), 4, "addressed to party 77");
}

TEST_F(RoundCollectorTest, UnexpectedKindIsBlamed) {
  RoundCollector broadcast_only = Collector(true, false);
  ExpectBlame(broadcast_only.Offer(2, Make(2, 1, {1})), 2, "direct");
  EXPECT_TRUE(broadcast_only.directs().empty());
  RoundCollector direct_only = Collector(false, true);
  ExpectBlame(direct_only.Offer(3, Make(3, kBroadcast, {1})), 3, "broadcast");
  EXPECT_TRUE(direct_only.broadcasts().empty());
}

TEST_F(RoundCollectorTest, SelfAmongSendersIsAProgrammingError) {
  EXPECT_DEATH(RoundCollector(Op::kSign, kRound, 1, {1, 2}, true, false,
                              verifier_.get()),
               "IsSender");
}

}  // namespace
}  // namespace kagi::protocol
