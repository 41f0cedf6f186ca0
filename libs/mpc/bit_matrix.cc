#include "libs/mpc/bit_matrix.h"

#include <emmintrin.h>

#include "libs/base/check.h"
#include "libs/mpc/params.h"

namespace kagi::mpc {

// For each group of 16 input rows and each input byte column, gather the 16
// bytes into one SSE2 register; _mm_movemask_epi8 then extracts bit 7 of
// every byte, i.e. 16 bits of one output row, and a left shift brings the
// next bit up. SSE2 is part of the x86-64 baseline.
void TransposeToRows(ByteSpan in, size_t num_rows, absl::Span<uint8_t> out) {
  KAGI_CHECK(in.size() == kBaseOts * kXiPrimeBytes);
  KAGI_CHECK(num_rows <= kXiPrime && num_rows % 8 == 0);
  KAGI_CHECK(out.size() == num_rows * kBaseOtBytes);
  for (size_t row_block = 0; row_block < kBaseOts; row_block += 16) {
    for (size_t col_byte = 0; col_byte < num_rows / 8; ++col_byte) {
      alignas(16) uint8_t gather[16];
      for (size_t r = 0; r < 16; ++r) {
        gather[r] = in[(row_block + r) * kXiPrimeBytes + col_byte];
      }
      __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(gather));
      for (int bit = 7; bit >= 0; --bit) {
        const int mask = _mm_movemask_epi8(v);
        const size_t k = col_byte * 8 + static_cast<size_t>(bit);
        uint8_t* dst = out.data() + k * kBaseOtBytes + row_block / 8;
        dst[0] = static_cast<uint8_t>(mask & 0xff);
        dst[1] = static_cast<uint8_t>((mask >> 8) & 0xff);
        v = _mm_slli_epi64(v, 1);
      }
    }
  }
}

}  // namespace kagi::mpc
