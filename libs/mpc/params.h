// File: libs/mpc/params.h
//
// Fixed parameters of Kagi's OT stack (PROTOCOL.md §3.2–3.3). Every message
// size follows from these, and decoders reject any other length.
#ifndef KAGI_LIBS_MPC_PARAMS_H_
#define KAGI_LIBS_MPC_PARAMS_H_

#include <cstddef>

namespace kagi::mpc {

// λ_c: base OTs per ordered pair, and the width (in bits) of an OT row.
inline constexpr size_t kBaseOts = 256;
inline constexpr size_t kBaseOtBytes = kBaseOts / 8;  // 32: Δ, one row
// ξ = κ + 2·λ_s: OT-extension instances per RVOLE.
inline constexpr size_t kXi = 512;
// ξ' = ξ + 128: columns of the extended matrix, the last 128 for the check.
inline constexpr size_t kXiPrime = kXi + 128;
inline constexpr size_t kXiPrimeBytes = kXiPrime / 8;  // 80
// KOS check: the ξ' columns cut into five 128-bit blocks; χ has four.
inline constexpr size_t kKosBlocks = kXiPrime / 128;  // 5
// RVOLE: two inputs (a_0, a_1) plus one check column.
inline constexpr size_t kRvoleInputs = 2;
inline constexpr size_t kOtWidth = kRvoleInputs + 1;  // 3
// Session binding carried at the front of every message.
inline constexpr size_t kSessionBytes = 32;

}  // namespace kagi::mpc

#endif  // KAGI_LIBS_MPC_PARAMS_H_
