#include "libs/crypto/prefix_hash.h"

#include <vector>

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

class PrefixHasherTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    previous_ = PrefixHasher::SetShaExtensionsEnabledForTesting(GetParam());
  }
  void TearDown() override {
    PrefixHasher::SetShaExtensionsEnabledForTesting(previous_);
  }
  bool previous_ = false;
};

INSTANTIATE_TEST_SUITE_P(ShaNiAndOpenSsl, PrefixHasherTest,
                         ::testing::Values(true, false));

TEST_P(PrefixHasherTest, EqualsTheTranscriptEncodingForEveryFastTag) {
  std::printf("SHA-NI path in use: %d\n", PrefixHasher::ShaExtensionsInUse());
  InsecureDeterministicRng rng(9);
  for (Tag tag : {Tag::kPrg, Tag::kCote, Tag::kGadget}) {
    const auto key = rng.Bytes<32>();
    const PrefixHasher h(tag, key);
    for (size_t len : {0u, 1u, 16u, 32u, 33u, 38u, 39u, 55u, 100u}) {
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

TEST_P(PrefixHasherTest, ExpandIsTheCounterStream) {
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

TEST_P(PrefixHasherTest, Hash3EqualsThreeHashes) {
  InsecureDeterministicRng rng(10);
  const auto key = rng.Bytes<32>();
  const PrefixHasher h(Tag::kCote, key);
  for (size_t len : {0u, 32u, 38u, 39u, 64u}) {
    Bytes data(len);
    rng.Fill(absl::MakeSpan(data));
    std::array<Digest32, 3> three;
    h.Hash3(77, data, three);
    for (uint8_t c = 0; c < 3; ++c) {
      ASSERT_EQ(three[c], Reference(Tag::kCote, key, 77, data, c)) << len;
    }
  }
}

TEST_P(PrefixHasherTest, HashBatchEqualsSingleHashesForEveryBatchSize) {
  InsecureDeterministicRng rng(11);
  const auto key = rng.Bytes<32>();
  const PrefixHasher h(Tag::kCote, key);
  std::vector<Bytes> data;
  for (size_t i = 0; i < 20; ++i) {
    data.emplace_back(i % 5 == 4 ? 40 : 32);  // some too long for one block
    rng.Fill(absl::MakeSpan(data.back()));
  }
  for (size_t n : {0u, 1u, 3u, 5u, 6u, 7u, 12u, 13u, 20u}) {
    for (bool all_short : {true, false}) {
      std::vector<PrefixHashInput> in;
      for (size_t i = 0; i < n; ++i) {
        const Bytes& d = all_short ? data[i % 4] : data[i];
        in.push_back(
            {static_cast<uint32_t>(i * 7), d, static_cast<uint8_t>(i % 3)});
      }
      std::vector<Digest32> out(n);
      h.HashBatch(in, absl::MakeSpan(out));
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(out[i], Reference(Tag::kCote, key, in[i].index, in[i].data,
                                    in[i].counter))
            << "n=" << n << " i=" << i;
      }
    }
  }
}

TEST_P(PrefixHasherTest, KeyIndexAndTagSeparate) {
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
