#include "libs/mpc/cote.h"

#include "gtest/gtest.h"
#include "libs/mpc/bit_matrix.h"

namespace kagi::mpc {
namespace {

struct Seeds {
  CoteSenderSeeds a;
  CoteReceiverSeeds b;
};

Seeds BaseOts(Rng& rng) {
  BaseOtSession s{rng.Bytes<32>(), 1, 2};
  Bytes msg1;
  BaseOtReceiver recv = BaseOtReceiver::Start(s, rng, &msg1);
  BaseOtSenderResult sent = *BaseOtSenderRespond(s, msg1, rng);
  return Seeds{*std::move(recv).Finish(sent.msg2), std::move(sent.seeds)};
}

TEST(CoteTest, RowsSatisfyTheCorrelationAndSessionsAreIndependent) {
  InsecureDeterministicRng rng(31);
  const Seeds seeds = BaseOts(rng);
  SecretBytes previous_q;
  for (int run = 0; run < 2; ++run) {
    const CoteSession session{rng.Bytes<32>(), 1, 2};
    SecretBytes x(kXiPrimeBytes);
    rng.Fill(x.mutable_span());
    const CoteReceiverOutput r = CoteReceiverExtend(seeds.b, session, x);
    EXPECT_EQ(r.msg.size(), kCoteMessageBytes);
    absl::StatusOr<SecretBytes> q = CoteSenderExtend(seeds.a, session, r.msg);
    ASSERT_TRUE(q.ok()) << q.status();
    for (size_t k = 0; k < kXi; ++k) {
      const uint64_t beta_k = GetBit(x.secret(), k);
      for (size_t b = 0; b < 32; ++b) {
        const uint8_t want =
            static_cast<uint8_t>(r.t_rows.secret()[32 * k + b] ^
                                 (beta_k ? seeds.a.delta.secret()[b] : 0));
        ASSERT_EQ(q->secret()[32 * k + b], want) << "row " << k;
      }
    }
    // The same base OTs give unrelated rows in another session.
    EXPECT_FALSE(*q == previous_q);
    previous_q = std::move(*q);
  }
}

}  // namespace
}  // namespace kagi::mpc
