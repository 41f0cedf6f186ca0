#include "libs/crypto/hash.h"

#include "gtest/gtest.h"
#include "libs/base/bytes.h"

namespace kagi::crypto {
namespace {

// FIPS 180-2 / FIPS 202 / the RIPEMD-160 reference "abc" vectors.
TEST(HashTest, KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha512(AsBytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(HexEncode(Ripemd160(AsBytes("abc"))),
            "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
  std::array<uint8_t, 32> shake{};
  Shake256(ByteSpan(), absl::MakeSpan(shake));
  EXPECT_EQ(HexEncode(shake),
            "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f");
}

TEST(HashTest, BitcoinCompositions) {
  // HASH160 of the generator's compressed key: the witness program of the
  // BIP173 example address bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.
  const Bytes g = *HexDecode(
      "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  EXPECT_EQ(HexEncode(Hash160(g)), "751e76e8199196d454941c45d1b3a323f1433bd6");
  EXPECT_EQ(Hash256(AsBytes("abc")), Sha256(Sha256(AsBytes("abc"))));
}

TEST(HashTest, StreamingMatchesOneShot) {
  HashStream s(HashStream::Algorithm::kSha256);
  s.Update(AsBytes("a"));
  s.Update(AsBytes("bc"));
  EXPECT_EQ(s.FinalSha256(), Sha256(AsBytes("abc")));
  HashStream x(HashStream::Algorithm::kShake256);
  x.Update(AsBytes("ab"));
  x.Update(AsBytes("c"));
  std::array<uint8_t, 40> a{}, b{};
  x.FinalXof(absl::MakeSpan(a));
  Shake256(AsBytes("abc"), absl::MakeSpan(b));
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace kagi::crypto
