#include "libs/crypto/transcript.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/crypto/hash.h"

namespace kagi::crypto {
namespace {

// An independent re-implementation of enc() for the known-answer checks.
void Enc(Bytes& out, ByteSpan field) {
  uint8_t len[4];
  StoreBigEndian32(static_cast<uint32_t>(field.size()), len);
  out.insert(out.end(), len, len + 4);
  out.insert(out.end(), field.begin(), field.end());
}

Bytes Prefix(absl::string_view tag_name, uint8_t version) {
  Bytes out;
  Enc(out, AsBytes("kagi/v1"));
  Bytes tag(tag_name.begin(), tag_name.end());
  tag.push_back(version);
  Enc(out, tag);
  return out;
}

TEST(TranscriptTest, EncodingIsLengthPrefixedFieldByField) {
  Transcript t(Tag::kPok);
  t.Add(AsBytes("ab")).AddU32(5);
  Bytes want = Prefix("pok", 1);
  Enc(want, AsBytes("ab"));
  Enc(want, Bytes{0, 0, 0, 5});
  EXPECT_EQ(HexEncode(t.EncodedForTesting()), HexEncode(want));
  EXPECT_EQ(t.H(), Sha256(want));
}

TEST(TranscriptTest, SameConcatenationDifferentFieldsHashDifferently) {
  const Digest32 a =
      Transcript(Tag::kEcho).Add(AsBytes("ab")).Add(AsBytes("c")).H();
  const Digest32 b =
      Transcript(Tag::kEcho).Add(AsBytes("a")).Add(AsBytes("bc")).H();
  const Digest32 c = Transcript(Tag::kEcho).Add(AsBytes("abc")).H();
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
  // The same holds inside a list field, and a list is not its items inlined.
  const ByteSpan l1[] = {AsBytes("ab"), AsBytes("c")};
  const ByteSpan l2[] = {AsBytes("a"), AsBytes("bc")};
  const Digest32 d = Transcript(Tag::kEcho).AddList(l1).H();
  const Digest32 e = Transcript(Tag::kEcho).AddList(l2).H();
  EXPECT_NE(d, e);
  EXPECT_NE(d, a);
  // An empty field is not "no field".
  EXPECT_NE(Transcript(Tag::kEcho).H(),
            Transcript(Tag::kEcho).Add(ByteSpan()).H());
}

TEST(TranscriptTest, ListEncodingIsCountThenEncodedItems) {
  const ByteSpan items[] = {AsBytes("x"), AsBytes("yz")};
  Transcript t(Tag::kEcho);
  t.AddList(items);
  Bytes field = {0, 0, 0, 2};
  Enc(field, AsBytes("x"));
  Enc(field, AsBytes("yz"));
  Bytes want = Prefix("echo", 1);
  Enc(want, field);
  EXPECT_EQ(HexEncode(t.EncodedForTesting()), HexEncode(want));
}

TEST(TranscriptTest, TagsSeparateDomains) {
  std::set<Digest32> seen;
  for (size_t i = 0; i < kNumTags; ++i) {
    seen.insert(Transcript(static_cast<Tag>(i)).Add(AsBytes("same")).H());
  }
  EXPECT_EQ(seen.size(), kNumTags);
}

TEST(TranscriptTest, RegistryNamesAreUniqueAndOrdered) {
  std::set<std::string> names;
  const TagInfo* all = AllTags();
  for (size_t i = 0; i < kNumTags; ++i) {
    EXPECT_EQ(static_cast<size_t>(all[i].tag), i);
    EXPECT_FALSE(all[i].name.empty());
    EXPECT_GE(all[i].version, 1);
    names.insert(std::string(all[i].name));
    EXPECT_EQ(&TagInfoFor(all[i].tag), &all[i]);
  }
  EXPECT_EQ(names.size(), kNumTags);
}

TEST(TranscriptTest, HnIsWideShakeReducedAndXofIsAPrefixStream) {
  Bytes input = Prefix("gadget", 1);
  Enc(input, AsBytes("sid"));
  std::array<uint8_t, 64> wide{};
  Shake256(input, absl::MakeSpan(wide));
  EXPECT_EQ(Transcript(Tag::kGadget).Add(AsBytes("sid")).Hn(),
            Scalar::FromWideBytes(wide));

  std::array<uint8_t, 100> long_out{};
  std::array<uint8_t, 20> short_out{};
  Transcript(Tag::kPrg).Add(AsBytes("seed")).Xof(absl::MakeSpan(long_out));
  Transcript(Tag::kPrg).Add(AsBytes("seed")).Xof(absl::MakeSpan(short_out));
  EXPECT_TRUE(std::equal(short_out.begin(), short_out.end(), long_out.begin()));
  // H and XOF of the same input are different functions.
  const Digest32 h = Transcript(Tag::kPrg).Add(AsBytes("seed")).H();
  EXPECT_FALSE(std::equal(h.begin(), h.end(), long_out.begin()));
}

TEST(TranscriptTest, ScalarsAndPointsUseFixedWidthEncodings) {
  Transcript t(Tag::kPok);
  t.AddScalar(Scalar::FromUint64(1)).AddPoint(Point::Generator()).AddU64(7);
  Bytes want = Prefix("pok", 1);
  Bytes one(32, 0);
  one[31] = 1;
  Enc(want, one);
  const auto g = Point::Generator().ToCompressed();
  Enc(want, g);
  Enc(want, Bytes{0, 0, 0, 0, 0, 0, 0, 7});
  EXPECT_EQ(HexEncode(t.EncodedForTesting()), HexEncode(want));
}

}  // namespace
}  // namespace kagi::crypto
