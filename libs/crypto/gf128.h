// File: libs/crypto/gf128.h
//
// Arithmetic in the binary field GF(2^128) = GF(2)[x] / (x^128 + x^7 + x^2 +
// x + 1), the field of the KOS / SoftSpokenOT consistency check (PROTOCOL.md
// §2 and §3.3: x̃ = Σ_j χ_j ⊗ x_j ⊕ x_4). The polynomial is the one of
// Silence Laboratories' sl-crypto `mul_poly`.
//
// Representation (fixed; the KAT files and the wire depend on it):
//
//   * An element is a polynomial a(x) = Σ_{i<128} a_i·x^i with a_i ∈ {0,1}.
//     It is held as the 128-bit unsigned integer A = Σ a_i·2^i, i.e. bit i
//     of A is the coefficient of x^i. `Gf128::lo` holds bits 0..63 of A
//     (x^0..x^63, bit 0 of `lo` is x^0) and `Gf128::hi` holds bits 64..127
//     (bit 0 of `hi` is x^64, bit 63 of `hi` is x^127).
//   * The 16-byte wire form is A in little-endian order: byte k holds the
//     coefficients of x^(8k)..x^(8k+7), with the least significant bit of the
//     byte being x^(8k). So {0x01, 0, ..., 0} is 1, {0x02, 0, ..., 0} is x and
//     {0, ..., 0, 0x80} is x^127. Every 16-byte string is a valid element.
//   * This is NOT the bit-reflected convention of GCM/GHASH (where the most
//     significant bit of byte 0 is x^0). There is no reflection anywhere.
//
// Addition is XOR. Multiplication is carry-less polynomial multiplication
// followed by reduction modulo x^128 + x^7 + x^2 + x + 1; in particular
// x^128 = x^7 + x^2 + x + 1 (the integer 0x87).
//
// Constant time: every function here runs in time independent of the values
// of its field-element arguments (lengths of spans are public). There are no
// secret-dependent branches, memory indices or variable-time instructions:
//
//   * On x86 CPUs with PCLMULQDQ the carry-less products use that instruction
//     (selected once at run time, so the binary still runs without it).
//   * Otherwise a portable path computes 64x64 -> 128-bit carry-less products
//     with ordinary integer multiplications on operands split into five
//     interleaved bit classes with four-bit "holes" between the bits, so that
//     no carry can reach a bit that is kept (see gf128.cc). This assumes the
//     CPU's 64x64 -> 128-bit integer multiply is constant time, which holds on
//     current x86-64 cores (MUL) and on AArch64 (MUL/UMULH are in ARM's list
//     of data-independent-timing instructions).
//
// Thread safety: all functions are pure and thread-safe.
#ifndef KAGI_LIBS_CRYPTO_GF128_H_
#define KAGI_LIBS_CRYPTO_GF128_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace kagi::crypto {

// Gf128 is one element of GF(2^128), in the representation described at the
// top of this file: `lo` holds the coefficients of x^0..x^63 (bit i = x^i),
// `hi` those of x^64..x^127 (bit i = x^(64+i)). Value-initialised it is 0.
//
// Gf128 is a plain value type; when it holds secret material (OT rows, the
// sender's Δ), the owner is responsible for wiping it.
struct Gf128 {
  uint64_t lo = 0;
  uint64_t hi = 0;

  // Gf128::Zero returns the additive identity 0.
  static constexpr Gf128 Zero() { return Gf128{0, 0}; }
  // Gf128::One returns the multiplicative identity 1.
  static constexpr Gf128 One() { return Gf128{1, 0}; }

  // Gf128::FromBytes parses the 16-byte little-endian wire form (byte 0
  // holds x^0..x^7, bit 0 of byte 0 is x^0). It reads exactly 16 bytes from
  // `in`, which must not be null. Every input is valid.
  static Gf128 FromBytes(const uint8_t in[16]);
  // Gf128::FromBytes parses the 16-byte little-endian wire form.
  static Gf128 FromBytes(const std::array<uint8_t, 16>& in);

  // Gf128::ToBytes writes the 16-byte little-endian wire form to `out`,
  // which must have room for 16 bytes. FromBytes(ToBytes(a)) == a.
  void ToBytes(uint8_t out[16]) const;
  // Gf128::ToBytes returns the 16-byte little-endian wire form.
  std::array<uint8_t, 16> ToBytes() const;
};

// Gf128Xor returns a + b (= a - b) in GF(2^128), i.e. the bitwise XOR.
constexpr Gf128 Gf128Xor(Gf128 a, Gf128 b) {
  return Gf128{a.lo ^ b.lo, a.hi ^ b.hi};
}

// operator^ is Gf128Xor (field addition).
constexpr Gf128 operator^(Gf128 a, Gf128 b) { return Gf128Xor(a, b); }

// operator^= adds `b` to `a` in place.
constexpr Gf128& operator^=(Gf128& a, Gf128 b) {
  a = Gf128Xor(a, b);
  return a;
}

// Gf128Equal reports whether a == b. The comparison does not branch on or
// leak anything about the operands beyond the single result bit, so it may be
// used for the KOS check (q̃ = t̃ ⊕ Δ·x̃).
inline bool Gf128Equal(Gf128 a, Gf128 b) {
  const uint64_t diff = (a.lo ^ b.lo) | (a.hi ^ b.hi);
  // (diff | -diff) has its top bit set iff diff != 0.
  return (((diff | (0 - diff)) >> 63) ^ 1) != 0;
}

// operator== is Gf128Equal (constant time).
inline bool operator==(Gf128 a, Gf128 b) { return Gf128Equal(a, b); }
// operator!= is the negation of Gf128Equal (constant time).
inline bool operator!=(Gf128 a, Gf128 b) { return !Gf128Equal(a, b); }

// Gf128Mul returns the product a·b in GF(2^128). Constant time. Uses
// PCLMULQDQ when the CPU has it, the portable code otherwise; both give the
// same result.
Gf128 Gf128Mul(Gf128 a, Gf128 b);

// Gf128MulAdd sets acc = acc + a·b. Constant time. For sums of many products
// prefer Gf128InnerProduct, which reduces only once.
void Gf128MulAdd(Gf128& acc, Gf128 a, Gf128 b);

// Gf128InnerProduct returns Σ_i a[i]·b[i] (0 for empty spans). The 256-bit
// unreduced products are summed and reduced once at the end, which is cheaper
// than summing Gf128Mul results. This is the shape of the KOS check: one row
// t̃_ℓ = Gf128InnerProduct(χ[0..4), T_ℓ[0..4)) ^ T_ℓ[4].
//
// `a` and `b` must have the same length (checked; a mismatch aborts, since it
// is a programmer error). Constant time in the contents; the running time
// depends only on the length.
Gf128 Gf128InnerProduct(absl::Span<const Gf128> a, absl::Span<const Gf128> b);

// Internal: the two implementations, exposed for tests and benchmarks only.
// Production code calls the dispatching functions above.
namespace gf128_internal {

// HasClmul reports whether this CPU supports PCLMULQDQ (and SSE2), i.e.
// whether the *Clmul functions below may be called. Always false on non-x86
// builds. The answer is computed once and cached.
bool HasClmul();

// MulPortable is Gf128Mul computed with integer multiplications only (no
// PCLMULQDQ). Runs on every CPU.
Gf128 MulPortable(Gf128 a, Gf128 b);

// InnerProductPortable is Gf128InnerProduct over `n` elements of `a` and `b`
// on the portable path.
Gf128 InnerProductPortable(const Gf128* a, const Gf128* b, size_t n);

// MulClmul is Gf128Mul computed with PCLMULQDQ. It requires HasClmul()
// (checked: the process aborts otherwise).
Gf128 MulClmul(Gf128 a, Gf128 b);

// InnerProductClmul is Gf128InnerProduct over `n` elements of `a` and `b`
// with PCLMULQDQ. It requires HasClmul() (checked: aborts otherwise).
Gf128 InnerProductClmul(const Gf128* a, const Gf128* b, size_t n);

}  // namespace gf128_internal
}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_GF128_H_
