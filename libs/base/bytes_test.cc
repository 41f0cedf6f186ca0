#include "libs/base/bytes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kagi {
namespace {

using ::testing::HasSubstr;

TEST(HexTest, RoundTripsAllByteValues) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) {
    all[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  }
  const std::string hex = HexEncode(all);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  absl::StatusOr<Bytes> back = HexDecode(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

TEST(HexTest, AcceptsUpperCase) {
  absl::StatusOr<Bytes> b = HexDecode("ABcd");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (Bytes{0xab, 0xcd}));
}

TEST(HexTest, RejectsOddLengthAndBadDigits) {
  EXPECT_THAT(HexDecode("abc").status().message(), HasSubstr("odd length"));
  EXPECT_THAT(HexDecode("0g").status().message(), HasSubstr("position 1"));
  EXPECT_FALSE(HexDecodeFixed<2>("00").ok());
  EXPECT_TRUE(HexDecodeFixed<1>("00").ok());
}

TEST(BigEndianTest, StoresMostSignificantByteFirst) {
  uint8_t b[8];
  StoreBigEndian32(0x01020304u, b);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[3], 4);
  EXPECT_EQ(LoadBigEndian32(b), 0x01020304u);
  StoreBigEndian64(0x0102030405060708ull, b);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[7], 8);
  EXPECT_EQ(LoadBigEndian64(b), 0x0102030405060708ull);
}

TEST(ByteReaderTest, ReadsWhatTheWriterWrote) {
  ByteWriter w;
  w.PutU8(7);
  w.PutU32(0xdeadbeef);
  w.PutU64(42);
  w.PutLengthPrefixed(AsBytes("hello"));
  w.PutRaw(AsBytes("xyz"));
  const Bytes buf = std::move(w).Take();
  ByteReader r(buf);
  EXPECT_EQ(*r.ReadU8("a"), 7);
  EXPECT_EQ(*r.ReadU32("b"), 0xdeadbeefu);
  EXPECT_EQ(*r.ReadU64("c"), 42u);
  absl::StatusOr<ByteSpan> s = r.ReadLengthPrefixed(16, "d");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(std::string(s->begin(), s->end()), "hello");
  absl::StatusOr<std::array<uint8_t, 3>> f = r.ReadFixed<3>("e");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[2], 'z');
  EXPECT_TRUE(r.ExpectEnd("msg").ok());
}

TEST(ByteReaderTest, NamesTheTruncatedField) {
  const Bytes buf = {0, 0, 0};
  ByteReader r(buf);
  absl::StatusOr<uint32_t> v = r.ReadU32("header.round");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr("truncated header.round"));
  EXPECT_THAT(v.status().message(), HasSubstr("need 4 bytes, have 3"));
}

TEST(ByteReaderTest, RejectsOverlongLengthBeforeReading) {
  ByteWriter w;
  w.PutU32(1000);
  const Bytes buf = std::move(w).Take();
  ByteReader r(buf);
  absl::StatusOr<ByteSpan> s = r.ReadLengthPrefixed(999, "payload");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("exceeds the limit of 999"));
}

TEST(ByteReaderTest, RejectsTrailingBytes) {
  const Bytes buf = {1, 2};
  ByteReader r(buf);
  ASSERT_TRUE(r.ReadU8("x").ok());
  absl::Status st = r.ExpectEnd("msg");
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("1 trailing bytes"));
}

}  // namespace
}  // namespace kagi
