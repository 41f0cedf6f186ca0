#include "libs/mpc/bit_matrix.h"

#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/mpc/params.h"

namespace kagi::mpc {
namespace {

TEST(BitMatrixTest, TransposeMatchesBitByBitDefinition) {
  InsecureDeterministicRng rng(4);
  for (int trial = 0; trial < 3; ++trial) {
    Bytes in(kBaseOts * kXiPrimeBytes);
    rng.Fill(absl::MakeSpan(in));
    for (size_t rows : {kXi, kXiPrime, size_t{8}}) {
      Bytes out(rows * kBaseOtBytes);
      TransposeToRows(in, rows, absl::MakeSpan(out));
      for (size_t k = 0; k < rows; ++k) {
        for (size_t l = 0; l < kBaseOts; ++l) {
          const uint64_t want =
              GetBit(ByteSpan(in).subspan(l * kXiPrimeBytes, kXiPrimeBytes), k);
          const uint64_t got =
              GetBit(ByteSpan(out).subspan(k * kBaseOtBytes, kBaseOtBytes), l);
          ASSERT_EQ(got, want) << "k=" << k << " l=" << l;
        }
      }
    }
  }
}

TEST(BitMatrixTest, SingleBitLandsInTheRightPlace) {
  Bytes in(kBaseOts * kXiPrimeBytes, 0);
  // Row ℓ = 37, column k = 300.
  in[37 * kXiPrimeBytes + 300 / 8] = static_cast<uint8_t>(1u << (300 % 8));
  Bytes out(kXiPrime * kBaseOtBytes);
  TransposeToRows(in, kXiPrime, absl::MakeSpan(out));
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t want = i == 300 * kBaseOtBytes + 37 / 8
                             ? static_cast<uint8_t>(1u << (37 % 8))
                             : 0;
    ASSERT_EQ(out[i], want) << "byte " << i;
  }
}

TEST(BitMatrixTest, GetBitIsLeastSignificantFirst) {
  const Bytes b = {0x01, 0x80};
  EXPECT_EQ(GetBit(b, 0), 1u);
  EXPECT_EQ(GetBit(b, 1), 0u);
  EXPECT_EQ(GetBit(b, 15), 1u);
  EXPECT_EQ(GetBit(b, 8), 0u);
}

}  // namespace
}  // namespace kagi::mpc
