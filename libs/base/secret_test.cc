#include "libs/base/secret.h"

#include <sstream>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kagi {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Debian 12's Abseil predates StrCat support for AbslStringify; drive the hook
// through a minimal sink so the redaction is checked for later Abseil too.
struct StringSink {
  std::string out;
  void Append(absl::string_view v) { out.append(v.data(), v.size()); }
};

TEST(SecretBytesTest, NeverPrintsItsContents) {
  const Bytes raw = {0xde, 0xad, 0xbe, 0xef};
  SecretBytes s(raw);
  StringSink sink;
  AbslStringify(sink, s);
  const std::string via_absl = sink.out;
  std::ostringstream os;
  os << s;
  for (const std::string& text : {via_absl, os.str()}) {
    EXPECT_THAT(text, HasSubstr("<redacted>"));
    EXPECT_THAT(text, Not(HasSubstr("dead")));
    EXPECT_THAT(text, Not(HasSubstr("DEAD")));
    EXPECT_THAT(text, Not(HasSubstr("222")));  // 0xde in decimal
  }
  EXPECT_THAT(via_absl, HasSubstr("4 bytes"));
}

TEST(SecretBytesTest, EqualityComparesContents) {
  SecretBytes a(Bytes{1, 2, 3});
  SecretBytes b(Bytes{1, 2, 3});
  SecretBytes c(Bytes{1, 2, 4});
  SecretBytes d(Bytes{1, 2});
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d);
  EXPECT_TRUE(a != c);
}

TEST(SecretBytesTest, MoveLeavesSourceEmptyAndCloneCopies) {
  SecretBytes a(Bytes{9, 9});
  SecretBytes b = a.Clone();
  SecretBytes c = std::move(a);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_TRUE(b == c);
  c = SecretBytes(Bytes{1});
  EXPECT_EQ(c.size(), 1u);
}

TEST(SecretBytesTest, WipeZeroesTheBuffer) {
  SecretBytes s(Bytes{1, 2, 3, 4});
  uint8_t* p = s.mutable_data();
  SecureWipe(p, 2);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[1], 0);
  EXPECT_EQ(p[2], 3);
  s.Wipe();
  EXPECT_TRUE(s.empty());
}

TEST(WipingAllocatorTest, WipesBlocksOnDeallocate) {
  WipingAllocator<uint8_t> alloc;
  uint8_t* p = alloc.allocate(64);
  for (int i = 0; i < 64; ++i) {
    p[i] = 0xaa;
  }
  // Wiping happens before the block goes back to the heap; observe it through
  // SecureWipe's contract directly (reading freed memory would be UB).
  SecureWipe(p, 64);
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(p[i], 0);
  }
  alloc.deallocate(p, 64);
}

TEST(ConstantTimeTest, EqualAndMasks) {
  const Bytes a = {1, 2, 3};
  const Bytes b = {1, 2, 3};
  const Bytes c = {1, 2, 0};
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_FALSE(ConstantTimeEqual(a, c));
  EXPECT_FALSE(ConstantTimeEqual(a, ByteSpan(a.data(), 2)));
  EXPECT_TRUE(ConstantTimeEqual(ByteSpan(), ByteSpan()));
  EXPECT_EQ(CtMaskFromBit(1), ~uint64_t{0});
  EXPECT_EQ(CtMaskFromBit(0), 0u);
  EXPECT_EQ(CtIsZeroMask(0), ~uint64_t{0});
  EXPECT_EQ(CtIsZeroMask(1), 0u);
  EXPECT_EQ(CtIsZeroMask(uint64_t{1} << 63), 0u);
  EXPECT_EQ(CtIsZeroMask(~uint64_t{0}), 0u);
}

}  // namespace
}  // namespace kagi
