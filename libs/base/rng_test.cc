#include "libs/base/rng.h"

#include <set>

#include "gtest/gtest.h"

namespace kagi {
namespace {

TEST(InsecureDeterministicRngTest, SameSeedSameStream) {
  InsecureDeterministicRng a(42);
  InsecureDeterministicRng b(42);
  EXPECT_EQ(a.Bytes<64>(), b.Bytes<64>());
  // Chunking does not change the stream.
  std::array<uint8_t, 48> whole{};
  InsecureDeterministicRng c(7);
  c.Fill(absl::MakeSpan(whole));
  InsecureDeterministicRng d(7);
  std::array<uint8_t, 48> parts{};
  d.Fill(absl::MakeSpan(parts.data(), 5));
  d.Fill(absl::MakeSpan(parts.data() + 5, 43));
  EXPECT_EQ(whole, parts);
}

TEST(InsecureDeterministicRngTest, EmptyFillIsANoOp) {
  InsecureDeterministicRng a(3);
  InsecureDeterministicRng b(3);
  a.Fill(absl::Span<uint8_t>());
  EXPECT_EQ(a.Bytes<16>(), b.Bytes<16>());
  OsRng os;
  os.Fill(absl::Span<uint8_t>());
}

TEST(InsecureDeterministicRngTest, DifferentSeedsDiffer) {
  InsecureDeterministicRng a(1);
  InsecureDeterministicRng b(2);
  EXPECT_NE(a.Bytes<32>(), b.Bytes<32>());
}

TEST(OsRngTest, ProducesDistinctNonZeroOutputs) {
  OsRng rng;
  std::set<std::array<uint8_t, 32>> seen;
  for (int i = 0; i < 100; ++i) {
    seen.insert(rng.Bytes<32>());
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.count(std::array<uint8_t, 32>{}), 0u);
}

}  // namespace
}  // namespace kagi
