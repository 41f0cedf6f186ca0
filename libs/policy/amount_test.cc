#include "libs/policy/amount.h"

#include "gtest/gtest.h"

namespace kagi::policy {
namespace {

TEST(AmountTest, ParsesAndPrintsDecimal) {
  for (const char* s :
       {"0", "1", "18446744073709551615", "18446744073709551616",
        "21000000000000000000000000",
        "115792089237316195423570985008687907853269984665640564039457584007913"
        "129639935"}) {
    absl::StatusOr<Amount> a = Amount::Parse(s);
    ASSERT_TRUE(a.ok()) << s << ": " << a.status();
    EXPECT_EQ(a->ToString(), s);
  }
}

TEST(AmountTest, RefusesBadDecimal) {
  for (const char* s :
       {"", "-1", "1.5", "1e3", " 1", "0x10",
        "115792089237316195423570985008687907853269984665640564039457584007913"
        "129639936"}) {
    EXPECT_FALSE(Amount::Parse(s).ok()) << s;
  }
}

TEST(AmountTest, AddsWithCarryAndRefusesOverflow) {
  const Amount a = *Amount::Parse("18446744073709551615");
  const absl::StatusOr<Amount> sum = a.Add(Amount::FromU64(1));
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->ToString(), "18446744073709551616");
  const Amount max = *Amount::Parse(
      "115792089237316195423570985008687907853269984665640564039457584007913"
      "129639935");
  EXPECT_EQ(max.Add(Amount::FromU64(1)).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(AmountTest, MultipliesWithCarryAndRefusesOverflow) {
  // 21000 gas at 100 gwei.
  EXPECT_EQ(Amount::FromU64(100000000000).MulU64(21000)->ToString(),
            "2100000000000000");
  EXPECT_EQ(Amount::FromU64(~uint64_t{0}).MulU64(~uint64_t{0})->ToString(),
            "340282366920938463426481119284349108225");
  const Amount big = *Amount::Parse(
      "57896044618658097711785492504343953926634992332820282019728792003956"
      "564819968");  // 2^255
  EXPECT_EQ(big.MulU64(2).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(AmountTest, ComparesNumerically) {
  EXPECT_LT(Amount::FromU64(5), *Amount::Parse("18446744073709551616"));
  EXPECT_FALSE(Amount::FromU64(7) < Amount::FromU64(7));
  EXPECT_LE(Amount::FromU64(7), Amount::FromU64(7));
}

TEST(AmountTest, BigEndianRoundTrip) {
  const Amount a = *Amount::Parse("1000000000000000000");  // 1 ether in wei
  const std::array<uint8_t, 32> be = a.ToBigEndian();
  EXPECT_EQ(be[31], 0x00);
  EXPECT_EQ(be[24], 0x0d);  // 0x0de0b6b3a7640000
  absl::StatusOr<Amount> back = Amount::FromBigEndian(be);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, a);
  const uint8_t short_be[] = {0x01, 0x00};
  EXPECT_EQ(Amount::FromBigEndian(short_be)->ToString(), "256");
  Bytes too_long(33, 0);
  EXPECT_FALSE(Amount::FromBigEndian(too_long).ok());
}

}  // namespace
}  // namespace kagi::policy
