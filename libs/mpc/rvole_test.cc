#include "libs/mpc/rvole.h"

#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/mpc/base_ot.h"

namespace kagi::mpc {
namespace {

using crypto::Scalar;

// Base OTs for the ordered pair (A = 1, B = 2), then RVOLE runs on them.
struct Pair {
  CoteSenderSeeds a;
  CoteReceiverSeeds b;
};

Pair SetUpPair(Rng& rng, uint32_t a_id = 1, uint32_t b_id = 2) {
  BaseOtSession s;
  s.sid = rng.Bytes<32>();
  s.cote_sender = a_id;
  s.cote_receiver = b_id;
  Bytes msg1;
  BaseOtReceiver recv = BaseOtReceiver::Start(s, rng, &msg1);
  absl::StatusOr<BaseOtSenderResult> sent = BaseOtSenderRespond(s, msg1, rng);
  EXPECT_TRUE(sent.ok()) << sent.status();
  absl::StatusOr<CoteSenderSeeds> got = std::move(recv).Finish(sent->msg2);
  EXPECT_TRUE(got.ok()) << got.status();
  return Pair{std::move(*got), std::move(sent->seeds)};
}

TEST(RvoleTest, OutputsAreSharesOfInputTimesChiForManySeeds) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    InsecureDeterministicRng rng(seed);
    const Pair pair = SetUpPair(rng);
    for (int run = 0; run < 3; ++run) {
      RvoleSession session{rng.Bytes<32>(), 1, 2};
      Bytes msg1;
      RvoleReceiver receiver =
          RvoleReceiver::Start(pair.b, session, rng, &msg1);
      ASSERT_EQ(msg1.size(), kRvoleMsg1Bytes);
      const std::array<Scalar, 2> a = {Scalar::Random(rng),
                                       Scalar::Random(rng)};
      absl::StatusOr<RvoleSenderOutput> sent =
          RvoleSenderRespond(pair.a, session, a, msg1, rng);
      ASSERT_TRUE(sent.ok()) << sent.status() << " seed=" << seed;
      ASSERT_EQ(sent->msg2.size(), kRvoleMsg2Bytes);
      const Scalar chi = receiver.chi();
      absl::StatusOr<std::array<Scalar, 2>> d =
          std::move(receiver).Finish(sent->msg2);
      ASSERT_TRUE(d.ok()) << d.status() << " seed=" << seed;
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(sent->c[i] + (*d)[i], a[i] * chi)
            << "i=" << i << " seed=" << seed << " run=" << run;
      }
      EXPECT_FALSE(chi.IsZero());
    }
  }
}

}  // namespace
}  // namespace kagi::mpc
