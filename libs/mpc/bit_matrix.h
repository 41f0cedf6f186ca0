// File: libs/mpc/bit_matrix.h
//
// Bit conventions of the OT stack and the transposition of the extended
// matrix.
//
// Bit i of a byte string is bit (i % 8) of byte i / 8, least significant bit
// first. Δ, β and every row follow it: the sender's Δ_ℓ is bit ℓ of its
// 32-byte Δ, the receiver's β_k is bit k of its 64-byte β.
//
// `TransposeToRows` turns the 256 × 640-bit matrix whose row ℓ is T_ℓ (80
// bytes, one per base OT) into its first `num_rows` columns, each a 256-bit
// row t_k (32 bytes) with bit ℓ of t_k = bit k of T_ℓ.
#ifndef KAGI_LIBS_MPC_BIT_MATRIX_H_
#define KAGI_LIBS_MPC_BIT_MATRIX_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "libs/base/bytes.h"

namespace kagi::mpc {

// GetBit returns bit i of `bytes` (0 or 1).
inline uint64_t GetBit(ByteSpan bytes, size_t i) {
  return static_cast<uint64_t>((bytes[i / 8] >> (i % 8)) & 1);
}

// TransposeToRows: `in` is 256 rows of 80 bytes (row-major, 20 480 bytes);
// `out` receives num_rows (≤ 640) rows of 32 bytes. Constant time.
void TransposeToRows(ByteSpan in, size_t num_rows, absl::Span<uint8_t> out);

}  // namespace kagi::mpc

#endif  // KAGI_LIBS_MPC_BIT_MATRIX_H_
