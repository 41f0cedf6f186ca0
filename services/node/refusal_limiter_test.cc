#include "services/node/refusal_limiter.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kagi::node {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

TEST(RefusalLimiterTest, BurstThenRateThenOneSummaryPerEpisode) {
  RefusalLimiter limiter({/*per_second=*/10, /*burst=*/20, 16});
  absl::Time now = kT0;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(limiter.Check("client/a", now).ok()) << i;
    limiter.Refused("client/a", now);
  }
  const absl::Status limited = limiter.Check("client/a", now);
  EXPECT_TRUE(absl::IsResourceExhausted(limited));
  EXPECT_THAT(limited.message(), HasSubstr("client/a"));
  // Another client is not affected.
  EXPECT_TRUE(limiter.Check("client/b", now).ok());
  // 100 ms later one more refusal is allowed, and spent.
  now += absl::Milliseconds(100);
  ASSERT_TRUE(limiter.Check("client/a", now).ok());
  limiter.Refused("client/a", now);
  EXPECT_FALSE(limiter.Check("client/a", now).ok());
  EXPECT_TRUE(limiter.TakeEnded(now).empty());  // still limited
  // Once the bucket is full again the episode ends: one summary, once.
  now += absl::Seconds(2);
  const std::vector<RefusalEpisode> ended = limiter.TakeEnded(now);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].client, "client/a");
  EXPECT_EQ(ended[0].suppressed, 2u);
  EXPECT_THAT(ended[0].Summary(limiter.limits()),
              HasSubstr("client/a: 2 requests answered RESOURCE_EXHAUSTED"));
  EXPECT_TRUE(limiter.TakeEnded(now).empty());
  EXPECT_TRUE(limiter.Check("client/a", now).ok());
}

TEST(RefusalLimiterTest, BoundedNumberOfClients) {
  RefusalLimiter limiter({10, 1, /*max_clients=*/2});
  limiter.Refused("client/a", kT0);
  limiter.Refused("client/b", kT0);
  // A third client shares the overflow bucket; it is limited together with
  // every other client past the bound, never unbounded.
  limiter.Refused("client/c", kT0);
  EXPECT_FALSE(limiter.Check("client/d", kT0).ok());
  EXPECT_FALSE(limiter.Check("client/a", kT0).ok());
}

}  // namespace
}  // namespace kagi::node
