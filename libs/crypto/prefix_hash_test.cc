#include "libs/crypto/prefix_hash.h"

#include "gtest/gtest.h"
#include "libs/crypto/transcript.h"

namespace kagi::crypto {
namespace {

Digest32 Reference(Tag tag, const std::array<uint8_t, 32>& key, uint32_t index,
                   ByteSpan data, uint8_t counter) {
  const Bytes pad(PrefixHasher::PaddingLength(tag), 0);
  const uint8_t ctr[1] = {counter};
  return Transcript(tag)
      .Add(key)
      .Add(pad)
      .AddU32(index)
      .Add(data)
      .Add(ByteSpan(ctr, 1))
      .H();
}

TEST(PrefixHasherTest, EqualsTheTranscriptEncodingForEveryFastTag) {
  InsecureDeterministicRng rng(9);
  for (Tag tag : {Tag::kPrg, Tag::kCote, Tag::kGadget}) {
    const auto key = rng.Bytes<32>();
    const PrefixHasher h(tag, key);
    for (size_t len : {0u, 1u, 16u, 32u, 33u, 100u}) {
      Bytes data(len);
      rng.Fill(absl::MakeSpan(data));
      for (uint32_t index : {0u, 1u, 511u, 0xffffffffu}) {
        for (uint8_t ctr : {0, 1, 2, 255}) {
          ASSERT_EQ(h.Hash(index, data, ctr),
                    Reference(tag, key, index, data, ctr))
              << "tag " << static_cast<int>(tag) << " len " << len;
        }
      }
    }
  }
}

TEST(PrefixHasherTest, ExpandIsTheCounterStream) {
  const std::array<uint8_t, 32> key{1, 2, 3};
  const PrefixHasher h(Tag::kPrg, key);
  const Bytes seed(32, 7);
  std::array<uint8_t, 80> out{};
  h.Expand(5, seed, absl::MakeSpan(out));
  for (uint8_t c = 0; c < 3; ++c) {
    const Digest32 d = h.Hash(5, seed, c);
    for (size_t i = 0; i < 32 && 32 * c + i < out.size(); ++i) {
      ASSERT_EQ(out[32 * c + i], d[i]);
    }
  }
}

TEST(PrefixHasherTest, KeyIndexAndTagSeparate) {
  const std::array<uint8_t, 32> k1{1};
  const std::array<uint8_t, 32> k2{2};
  const Bytes d(32, 0);
  EXPECT_NE(PrefixHasher(Tag::kPrg, k1).Hash(0, d, 0),
            PrefixHasher(Tag::kPrg, k2).Hash(0, d, 0));
  EXPECT_NE(PrefixHasher(Tag::kPrg, k1).Hash(0, d, 0),
            PrefixHasher(Tag::kPrg, k1).Hash(1, d, 0));
  EXPECT_NE(PrefixHasher(Tag::kPrg, k1).Hash(0, d, 0),
            PrefixHasher(Tag::kCote, k1).Hash(0, d, 0));
}

}  // namespace
}  // namespace kagi::crypto
