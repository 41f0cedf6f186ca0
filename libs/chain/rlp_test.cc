// File: libs/chain/rlp_test.cc
//
// RLP against the examples of the RLP specification (Ethereum wiki "RLP" /
// yellow paper appendix B: "dog", ["cat","dog"], the empty string and list,
// the integers 0, 15 and 1024, the set-theoretic representation of three,
// and the 56-byte "Lorem ipsum" string), every non-canonical form, truncation,
// trailing bytes, the depth and size limits, and a seeded mutation test.
#include "libs/chain/rlp.h"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"

namespace kagi::chain {
namespace {

using ::testing::HasSubstr;

Bytes H(absl::string_view hex) {
  absl::StatusOr<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes{};
}

RlpItem S(absl::string_view s) { return RlpItem::String(ToBytes(AsBytes(s))); }
RlpItem L(std::vector<RlpItem> items) {
  return RlpItem::List(std::move(items));
}

void ExpectRoundTrip(const RlpItem& item, const Bytes& encoding) {
  EXPECT_EQ(HexEncode(RlpEncode(item)), HexEncode(encoding));
  absl::StatusOr<RlpItem> decoded = RlpDecode(encoding);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == item) << HexEncode(encoding);
}

void ExpectRejected(const Bytes& encoding, absl::string_view message_part) {
  absl::StatusOr<RlpItem> decoded = RlpDecode(encoding);
  ASSERT_FALSE(decoded.ok()) << HexEncode(encoding);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(decoded.status().message()),
              HasSubstr(std::string(message_part)))
      << HexEncode(encoding);
}

const char kLorem[] =
    "Lorem ipsum dolor sit amet, consectetur adipisicing elit";

TEST(Rlp, SpecificationExamples) {
  ExpectRoundTrip(S("dog"), H("83646f67"));
  ExpectRoundTrip(L({S("cat"), S("dog")}), H("c88363617483646f67"));
  ExpectRoundTrip(S(""), H("80"));
  ExpectRoundTrip(L({}), H("c0"));
  ExpectRoundTrip(RlpItem::String(Bytes{0x00}), H("00"));
  ExpectRoundTrip(RlpItem::String(Bytes{0x0f}), H("0f"));
  ExpectRoundTrip(RlpFromUint64(0), H("80"));
  ExpectRoundTrip(RlpFromUint64(15), H("0f"));
  ExpectRoundTrip(RlpFromUint64(1024), H("820400"));
  // [ [], [[]], [ [], [[]] ] ]
  ExpectRoundTrip(L({L({}), L({L({})}), L({L({}), L({L({})})})}),
                  H("c7c0c1c0c3c0c1c0"));
  ASSERT_EQ(std::string(kLorem).size(), 56u);
  Bytes lorem = H("b838");
  const Bytes text = ToBytes(AsBytes(kLorem));
  lorem.insert(lorem.end(), text.begin(), text.end());
  ExpectRoundTrip(S(kLorem), lorem);
}

TEST(Rlp, BoundaryLengths) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{255},
                   size_t{256}, size_t{70000}}) {
    const RlpItem item = RlpItem::String(Bytes(n, 0xaa));
    const Bytes enc = RlpEncode(item);
    absl::StatusOr<RlpItem> dec = RlpDecode(enc);
    ASSERT_TRUE(dec.ok()) << n << ": " << dec.status();
    EXPECT_TRUE(*dec == item) << n;
    const RlpItem list = L(std::vector<RlpItem>(n, S("")));
    dec = RlpDecode(RlpEncode(list));
    ASSERT_TRUE(dec.ok()) << n << ": " << dec.status();
    EXPECT_TRUE(*dec == list) << n;
  }
  EXPECT_EQ(HexEncode(RlpEncode(RlpItem::String(Bytes(55, 0xaa)))).substr(0, 2),
            "b7");
  EXPECT_EQ(HexEncode(RlpEncode(RlpItem::String(Bytes(56, 0xaa)))).substr(0, 4),
            "b838");
  EXPECT_EQ(
      HexEncode(RlpEncode(RlpItem::String(Bytes(256, 0xaa)))).substr(0, 6),
      "b90100");
}

TEST(Rlp, RejectsNonCanonicalForms) {
  // A single byte below 0x80 wrapped in a one-byte string.
  ExpectRejected(H("8100"), "must not be wrapped) at offset 0");
  ExpectRejected(H("817f"), "non-canonical single byte");
  ExpectRejected(H("c28105"), "must not be wrapped) at offset 1");
  EXPECT_TRUE(RlpDecode(H("8180")).ok());
  // Long form for a length below 56 (strings and lists).
  ExpectRejected(H("b803646f67"), "non-canonical length");
  ExpectRejected(H("b800"), "leading zero byte in length");
  Bytes long55 = H("b837");
  long55.insert(long55.end(), 55, 0xaa);
  ExpectRejected(long55,
                 "non-canonical length (long form for 55 bytes) at "
                 "offset 0");
  ExpectRejected(H("f803c0c0c0"), "non-canonical length");
  ExpectRejected(H("c3f801c0"),
                 "non-canonical length (long form for 1 bytes) at offset 1");
  // Leading zero bytes in the length.
  Bytes padded = H("b90038");
  padded.insert(padded.end(), 56, 0xaa);
  ExpectRejected(padded, "leading zero byte in length at offset 0");
  Bytes padded_list = H("f90038");
  padded_list.insert(padded_list.end(), 56, 0x01);
  ExpectRejected(padded_list, "leading zero byte in length");
}

TEST(Rlp, RejectsTruncationAndTrailingBytes) {
  ExpectRejected(Bytes{}, "truncated item");
  ExpectRejected(H("83646f"), "truncated string");
  ExpectRejected(H("b8"), "truncated length");
  ExpectRejected(H("b90100"), "truncated string");
  ExpectRejected(H("b838aaaa"), "truncated string");
  ExpectRejected(H("c88363617483646f"), "truncated list");
  ExpectRejected(H("ffffffffffffffffff"), "truncated list");
  ExpectRejected(H("bfffffffffffffffff"), "truncated string");
  // An item running past the end of its list (but not of the input).
  ExpectRejected(H("c283616263"),
                 "truncated string (declares 3 bytes, 1 "
                 "available) at offset 1");
  ExpectRejected(H("83646f6700"),
                 "1 trailing bytes after the top-level item "
                 "at offset 4");
  ExpectRejected(H("c0c0"), "trailing bytes");
}

TEST(Rlp, DepthAndSizeLimits) {
  RlpItem nested = L({});
  for (int i = 1; i < 16; ++i) {
    nested = L({nested});
  }
  EXPECT_TRUE(RlpDecode(RlpEncode(nested)).ok());  // depth 16
  nested = L({nested});
  ExpectRejected(RlpEncode(nested), "nested deeper than 16");
  RlpLimits small;
  small.max_input_bytes = 3;
  EXPECT_TRUE(RlpDecode(H("83646f"), small).status().code() ==
              absl::StatusCode::kInvalidArgument);
  absl::StatusOr<RlpItem> too_big = RlpDecode(H("83646f67"), small);
  ASSERT_FALSE(too_big.ok());
  RlpLimits few;
  few.max_items = 3;
  EXPECT_TRUE(RlpDecode(H("c28080"), few).ok());
  absl::StatusOr<RlpItem> many = RlpDecode(H("c3808080"), few);
  ASSERT_FALSE(many.ok());
  EXPECT_THAT(std::string(many.status().message()),
              HasSubstr("more than 3 items at offset 3"));
  EXPECT_THAT(std::string(too_big.status().message()),
              HasSubstr("exceeds the limit"));
}

TEST(Rlp, Integers) {
  EXPECT_EQ(RlpToUint64(S(""), "x").value(), 0u);
  EXPECT_EQ(RlpToUint64(RlpItem::String(H("0f")), "x").value(), 15u);
  EXPECT_EQ(RlpToUint64(RlpItem::String(H("0400")), "x").value(), 1024u);
  EXPECT_EQ(RlpToUint64(RlpItem::String(H("ffffffffffffffff")), "x").value(),
            UINT64_MAX);
  for (uint64_t v :
       {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{255},
        uint64_t{256}, uint64_t{1} << 32, UINT64_MAX}) {
    EXPECT_EQ(RlpToUint64(RlpFromUint64(v), "x").value(), v);
  }
  absl::StatusOr<uint64_t> bad =
      RlpToUint64(RlpItem::String(H("00")), "tx.nonce");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("tx.nonce is a non-canonical integer"));
  EXPECT_FALSE(RlpToUint64(RlpItem::String(H("0001")), "x").ok());
  bad = RlpToUint64(RlpItem::String(H("010000000000000000")), "tx.gas");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("tx.gas is 9 bytes long"));
  bad = RlpToUint64(L({}), "tx.gas");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("got a list"));

  Uint256 max{};
  max.fill(0xff);
  EXPECT_EQ(RlpToUint256(RlpItem::String(Bytes(32, 0xff)), "v").value(), max);
  EXPECT_EQ(RlpFromUint256(max).bytes.size(), 32u);
  Uint256 small{};
  small[31] = 0x10;
  small[30] = 0x01;
  EXPECT_EQ(HexEncode(RlpFromUint256(small).bytes), "0110");
  EXPECT_EQ(RlpToUint256(RlpFromUint256(small), "v").value(), small);
  EXPECT_EQ(RlpFromUint256(Uint256{}).bytes.size(), 0u);
  EXPECT_FALSE(RlpToUint256(RlpItem::String(Bytes(33, 0x01)), "v").ok());
  EXPECT_FALSE(RlpToUint256(RlpItem::String(H("00ff")), "v").ok());
}

TEST(Rlp, MutationsNeverCrashAndAcceptedInputsAreCanonical) {
  std::vector<Bytes> seeds = {
      H("83646f67"),
      H("c88363617483646f67"),
      H("c7c0c1c0c3c0c1c0"),
      H("820400"),
      RlpEncode(L({S(kLorem), L({S("a"), RlpFromUint64(70000)}),
                   RlpItem::String(Bytes(300, 0x42))})),
  };
  std::mt19937 rng(20260722);
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    Bytes m = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = m.empty() ? 0 : rng() % m.size();
      switch (rng() % 4) {
        case 0:
          if (!m.empty()) m[pos] = static_cast<uint8_t>(rng());
          break;
        case 1:
          if (!m.empty()) m[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 2:
          m.insert(m.begin() + static_cast<ptrdiff_t>(pos),
                   static_cast<uint8_t>(rng()));
          break;
        default:
          if (!m.empty()) m.erase(m.begin() + static_cast<ptrdiff_t>(pos));
          break;
      }
    }
    absl::StatusOr<RlpItem> dec = RlpDecode(m);
    if (dec.ok()) {
      ++accepted;
      // Strictness: anything accepted re-encodes to the same bytes.
      EXPECT_EQ(HexEncode(RlpEncode(*dec)), HexEncode(m));
    } else {
      EXPECT_EQ(dec.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(dec.status().message()), HasSubstr("rlp: "));
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace kagi::chain
