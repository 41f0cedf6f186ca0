#include "libs/crypto/hedged_rng.h"

#include "gtest/gtest.h"

namespace kagi::crypto {
namespace {

// A source that always returns the same bytes (broken, or cloned state).
class StuckRng final : public Rng {
 public:
  void Fill(absl::Span<uint8_t> out) override {
    for (uint8_t& b : out) {
      b = 0x42;
    }
  }
};

TEST(HedgedRngTest, StuckSourceStillGivesDifferentValuesPerSessionAndDraw) {
  StuckRng stuck;
  const Bytes secret = {1, 2, 3};
  HedgedRng a(stuck, secret, AsBytes("sid0-a"));
  HedgedRng b(stuck, secret, AsBytes("sid0-b"));
  const auto a1 = a.Bytes<32>();
  const auto a2 = a.Bytes<32>();
  const auto b1 = b.Bytes<32>();
  EXPECT_NE(a1, a2);  // successive draws differ
  EXPECT_NE(a1, b1);  // another session differs
  EXPECT_NE(a1, (std::array<uint8_t, 32>{}));
}

TEST(HedgedRngTest, SecretDigestChangesTheOutput) {
  StuckRng stuck;
  HedgedRng a(stuck, Bytes{1}, AsBytes("ctx"));
  HedgedRng b(stuck, Bytes{2}, AsBytes("ctx"));
  EXPECT_NE(a.Bytes<32>(), b.Bytes<32>());
}

TEST(HedgedRngTest, DeterministicForTheSameInputsAndFreshSourceMatters) {
  InsecureDeterministicRng s1(5), s2(5), s3(6);
  HedgedRng a(s1, Bytes{9}, AsBytes("ctx"));
  HedgedRng b(s2, Bytes{9}, AsBytes("ctx"));
  HedgedRng c(s3, Bytes{9}, AsBytes("ctx"));
  const auto x = a.Bytes<48>();
  EXPECT_EQ(x, b.Bytes<48>());
  EXPECT_NE(x, c.Bytes<48>());
  // The requested length is bound: a short draw is not a prefix of a long one.
  HedgedRng d(s1, Bytes{9}, AsBytes("ctx"));
  HedgedRng e(s2, Bytes{9}, AsBytes("ctx"));
  const auto short_draw = d.Bytes<16>();
  const auto long_draw = e.Bytes<32>();
  EXPECT_FALSE(
      std::equal(short_draw.begin(), short_draw.end(), long_draw.begin()));
}

}  // namespace
}  // namespace kagi::crypto
