// The bounds of message_bounds.h against the envelopes the real parties
// send: every envelope of a DKG, a sign and a refresh fits its bound, and
// the largest one of each (op, round, kind) meets it exactly (the encodings
// are fixed length, so a bound above the real size would be slack an
// attacker could fill).
#include "libs/protocol/message_bounds.h"

#include <map>
#include <tuple>

#include "gtest/gtest.h"
#include "libs/protocol/testing/simulation.h"

namespace kagi::protocol {
namespace {

using Slot = std::tuple<Op, uint32_t, bool>;  // op, round, broadcast

// Recorder keeps the largest payload seen per slot.
struct Recorder {
  std::map<Slot, size_t> largest;
  testing::AdversaryHook Hook() {
    return [this](testing::Outgoing& out) {
      const EnvelopeHeader& h = out.envelope.header;
      size_t& most = largest[{h.op, h.round, h.to == kBroadcast}];
      most = std::max(most, out.envelope.payload.size());
    };
  }
  void ExpectExact(const MessageShape& shape) const {
    for (const auto& [slot, most] : largest) {
      const auto& [op, round, broadcast] = slot;
      SCOPED_TRACE(::testing::Message()
                   << OpName(op) << " round " << round
                   << (broadcast ? " broadcast" : " direct"));
      EXPECT_EQ(most, MaxPayloadBytes(op, round, broadcast, shape));
    }
  }
};

TEST(MessageBoundsTest, DkgEnvelopesMeetTheirBoundsExactly) {
  for (auto [t, n] : {std::pair<uint32_t, uint32_t>{2, 3}, {3, 4}}) {
    Recorder rec;
    testing::DkgRun run = testing::RunDkg(t, n, 5, rec.Hook());
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(rec.largest.size(), 6u);  // R1 b, R2 b+p2p, R3 b+p2p, R4 b
    rec.ExpectExact(ShapeOf(run.setup, WorstShape(n, 1)));
  }
}

TEST(MessageBoundsTest, SignEnvelopesMeetTheirBoundsExactly) {
  testing::DkgRun dkg = testing::RunDkg(2, 3, 6);
  ASSERT_TRUE(dkg.ok());
  std::vector<SignItem> items(3);
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].digest.fill(static_cast<uint8_t>(i + 1));
    items[i].path = {0, static_cast<uint32_t>(i)};
  }
  const SessionSetup setup =
      testing::MakeSignSetup(dkg.shares[0], {1, 3}, items, 7);
  Recorder rec;
  testing::SignRun run =
      testing::RunSign(dkg.ids, dkg.shares, setup, 8, rec.Hook());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(rec.largest.size(), 4u);  // P1 b, P2 p2p, P3 p2p, online b
  rec.ExpectExact(ShapeOf(setup, WorstShape(3, 64)));
}

TEST(MessageBoundsTest, RefreshEnvelopesMeetTheirBoundsExactly) {
  testing::DkgRun dkg = testing::RunDkg(2, 3, 9);
  ASSERT_TRUE(dkg.ok());
  SessionSetup s;
  s.op = Op::kReshare;
  s.key_id = dkg.shares[0].key_id;
  s.epoch = dkg.shares[0].epoch;
  s.parties = dkg.ids.parties;
  s.threshold = 2;
  s.old_threshold = 2;
  s.reshare_roles = {{1, 1}, {2, 2}, {0, 3}};  // node 3 deals no share
  s.initiator_nonce[0] = 1;
  std::map<uint32_t, const KeyShare*> olds = {{1, &dkg.shares[0]},
                                              {2, &dkg.shares[1]}};
  Recorder rec;
  testing::ReshareRun run =
      testing::RunReshare(dkg.ids, s, olds, 10, rec.Hook());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(rec.largest.size(), 6u);
  rec.ExpectExact(ShapeOf(s, WorstShape(3, 64)));
}

TEST(MessageBoundsTest, MessagesNoProtocolSendsHaveNoRoom) {
  const MessageShape worst = WorstShape(16, 64);
  for (Op op : {Op::kDkg, Op::kSign, Op::kReshare}) {
    EXPECT_EQ(MaxPayloadBytes(op, 0, true, worst), 0u);
    EXPECT_EQ(MaxPayloadBytes(op, 1, false, worst), 0u);
    EXPECT_EQ(MaxPayloadBytes(op, kLastRound + 1, true, worst), 0u);
    EXPECT_EQ(MaxPayloadBytes(op, 1, true, worst), 64u);
  }
  EXPECT_EQ(MaxPayloadBytes(Op::kSign, 2, true, worst), 0u);
  EXPECT_EQ(MaxPayloadBytes(Op::kSign, 4, false, worst), 0u);
}

TEST(MessageBoundsTest, TheLargestMessageIsSignRoundThreeAtFullBatch) {
  // The figure docs/threat-model.md quotes.
  const MessageShape worst = WorstShape(16, 64);
  EXPECT_EQ(MaxEnvelopePayloadBytes(worst),
            MaxPayloadBytes(Op::kSign, 3, false, worst));
  EXPECT_EQ(MaxEnvelopePayloadBytes(worst), 3'164'448u);
  // A cluster's own limits shrink it: 3 nodes signing at most 8 digests.
  EXPECT_EQ(MaxEnvelopePayloadBytes(WorstShape(3, 8)), 395'584u);
}

}  // namespace
}  // namespace kagi::protocol
