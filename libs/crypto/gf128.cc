// File: libs/crypto/gf128.cc
//
// GF(2^128) arithmetic; see gf128.h for the representation. Both paths
// compute the 256-bit carry-less product (Karatsuba on the portable path,
// schoolbook on the CLMUL path, where a fourth PCLMULQDQ is cheaper than the
// extra XORs) and then reduce it modulo x^128 + x^7 + x^2 + x + 1.
#include "libs/crypto/gf128.h"

#include <cstddef>
#include <cstdint>

#include "libs/base/check.h"

#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>
#include <wmmintrin.h>
#define KAGI_GF128_X86 1
#else
#define KAGI_GF128_X86 0
#endif

namespace kagi::crypto {
namespace {

using U128 = unsigned __int128;

uint64_t Load64Le(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | in[i];
  }
  return v;
}

void Store64Le(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

uint64_t Low64(U128 v) { return static_cast<uint64_t>(v); }
uint64_t High64(U128 v) { return static_cast<uint64_t>(v >> 64); }

// Wide is an unreduced product: a polynomial of degree <= 254, coefficient of
// x^(64k+i) in bit i of w[k].
struct Wide {
  uint64_t w0;
  uint64_t w1;
  uint64_t w2;
  uint64_t w3;
};

// Reduce returns p mod (x^128 + x^7 + x^2 + x + 1).
//
// Write p = L + H·x^128 with H = (w2, w3). Since x^128 ≡ x^7 + x^2 + x + 1,
// H·x^128 ≡ H·(1 + x + x^2 + x^7) = H ^ H<<1 ^ H<<2 ^ H<<7 (as polynomials of
// degree < 135). The bits shifted past x^127 form t = H>>127 ^ H>>126 ^
// H>>121 (7 bits) standing at x^128, and t·x^128 ≡ t·(1 + x + x^2 + x^7),
// which has degree < 14. Because truncation to 128 bits is linear,
// low128(H·0x87) ^ t·0x87 = low128((H ^ t)·0x87), so one pass over
// D = H ^ t finishes the reduction.
Gf128 Reduce(const Wide& p) {
  const uint64_t t = (p.w3 >> 63) ^ (p.w3 >> 62) ^ (p.w3 >> 57);
  const uint64_t d0 = p.w2 ^ t;
  const uint64_t d1 = p.w3;
  const uint64_t r0 = d0 ^ (d0 << 1) ^ (d0 << 2) ^ (d0 << 7);
  const uint64_t r1 = d1 ^ ((d1 << 1) | (d0 >> 63)) ^ ((d1 << 2) | (d0 >> 62)) ^
                      ((d1 << 7) | (d0 >> 57));
  return Gf128{p.w0 ^ r0, p.w1 ^ r1};
}

// --- Portable path --------------------------------------------------------
//
// ClMul64 computes the 128-bit carry-less product of two 64-bit words with
// integer multiplications ("multiplication with holes").
//
// Split x into five classes x_r = x & M_r, where M_r has the bits at positions
// ≡ r (mod 5); likewise y. A class has at most 13 bits. In the integer
// product x_a·y_b every partial product 2^(i+j) lands on a position
// k ≡ a + b (mod 5), and at most 13 of them land on the same k. So the integer
// coefficient at k is at most 13 < 2^5 and it occupies bits k..k+4 without
// reaching the next position of the class (k+5): bit k of the integer product
// is exactly the parity of the partial products at k, i.e. the carry-less
// coefficient. XOR-ing the five products with a + b ≡ c (mod 5) and keeping
// only the bits ≡ c (mod 5) of the 128-bit result gives class c of the
// carry-less product; the five classes are disjoint.
//
// In the 128-bit result, position 64 + j is ≡ c (mod 5) iff j ≡ c + 1
// (mod 5), so the mask for class c is (M_{c+1 mod 5} : M_c).
//
// No branches and no memory indices depend on x or y; the running time is
// that of 25 integer multiplications and a fixed number of logic operations.
constexpr uint64_t kM0 = 0x1084210842108421;  // bits 0, 5, 10, ..., 60
constexpr uint64_t kM1 = kM0 << 1;
constexpr uint64_t kM2 = kM0 << 2;
constexpr uint64_t kM3 = kM0 << 3;
constexpr uint64_t kM4 = kM0 << 4;  // bit 64 falls off: 4, 9, ..., 59

constexpr U128 Mask128(uint64_t high, uint64_t low) {
  return (static_cast<U128>(high) << 64) | low;
}

// M is the full 128-bit integer product of a and b.
inline U128 M(uint64_t a, uint64_t b) { return static_cast<U128>(a) * b; }

inline U128 ClMul64(uint64_t x, uint64_t y) {
  const uint64_t x0 = x & kM0;
  const uint64_t x1 = x & kM1;
  const uint64_t x2 = x & kM2;
  const uint64_t x3 = x & kM3;
  const uint64_t x4 = x & kM4;
  const uint64_t y0 = y & kM0;
  const uint64_t y1 = y & kM1;
  const uint64_t y2 = y & kM2;
  const uint64_t y3 = y & kM3;
  const uint64_t y4 = y & kM4;
  const U128 z0 = M(x0, y0) ^ M(x1, y4) ^ M(x2, y3) ^ M(x3, y2) ^ M(x4, y1);
  const U128 z1 = M(x0, y1) ^ M(x1, y0) ^ M(x2, y4) ^ M(x3, y3) ^ M(x4, y2);
  const U128 z2 = M(x0, y2) ^ M(x1, y1) ^ M(x2, y0) ^ M(x3, y4) ^ M(x4, y3);
  const U128 z3 = M(x0, y3) ^ M(x1, y2) ^ M(x2, y1) ^ M(x3, y0) ^ M(x4, y4);
  const U128 z4 = M(x0, y4) ^ M(x1, y3) ^ M(x2, y2) ^ M(x3, y1) ^ M(x4, y0);
  return (z0 & Mask128(kM1, kM0)) | (z1 & Mask128(kM2, kM1)) |
         (z2 & Mask128(kM3, kM2)) | (z3 & Mask128(kM4, kM3)) |
         (z4 & Mask128(kM0, kM4));
}

// KaratsubaParts holds the three 128-bit Karatsuba products of a·b: lo =
// a.lo·b.lo, hi = a.hi·b.hi, mid = (a.lo+a.hi)·(b.lo+b.hi). All three are
// linear in each argument, so sums of products can be accumulated part-wise
// and combined once.
struct KaratsubaParts {
  U128 lo;
  U128 mid;
  U128 hi;
};

inline KaratsubaParts KaratsubaPortable(Gf128 a, Gf128 b) {
  return KaratsubaParts{ClMul64(a.lo, b.lo), ClMul64(a.lo ^ a.hi, b.lo ^ b.hi),
                        ClMul64(a.hi, b.hi)};
}

inline Wide CombineKaratsuba(const KaratsubaParts& p) {
  const U128 mid = p.mid ^ p.lo ^ p.hi;  // a.lo·b.hi + a.hi·b.lo
  return Wide{Low64(p.lo), High64(p.lo) ^ Low64(mid), Low64(p.hi) ^ High64(mid),
              High64(p.hi)};
}

Gf128 MulPortableImpl(Gf128 a, Gf128 b) {
  return Reduce(CombineKaratsuba(KaratsubaPortable(a, b)));
}

Gf128 InnerProductPortableImpl(const Gf128* a, const Gf128* b, size_t n) {
  KaratsubaParts acc{0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    const KaratsubaParts p = KaratsubaPortable(a[i], b[i]);
    acc.lo ^= p.lo;
    acc.mid ^= p.mid;
    acc.hi ^= p.hi;
  }
  return Reduce(CombineKaratsuba(acc));
}

// --- PCLMULQDQ path -------------------------------------------------------
#if KAGI_GF128_X86

#define KAGI_GF128_CLMUL __attribute__((target("pclmul,sse2")))

// LoadClmul puts a.lo in the low lane and a.hi in the high lane. On x86-64
// this goes through MOVQ + PUNPCKLQDQ; _mm_set_epi64x tends to compile to two
// 8-byte stores and a 16-byte reload, which stalls store forwarding.
KAGI_GF128_CLMUL inline __m128i LoadClmul(Gf128 a) {
#if defined(__x86_64__)
  return _mm_unpacklo_epi64(
      _mm_cvtsi64_si128(static_cast<long long>(a.lo)),   // NOLINT(runtime/int)
      _mm_cvtsi64_si128(static_cast<long long>(a.hi)));  // NOLINT(runtime/int)
#else
  return _mm_set_epi64x(static_cast<long long>(a.hi),   // NOLINT(runtime/int)
                        static_cast<long long>(a.lo));  // NOLINT(runtime/int)
#endif
}

// LoadClmulFrom loads *p straight from memory: Gf128 is {lo, hi} with no
// padding and x86 is little-endian, so the 16 bytes are exactly the lanes.
static_assert(sizeof(Gf128) == 16, "Gf128 must be two packed words");
KAGI_GF128_CLMUL inline __m128i LoadClmulFrom(const Gf128* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

KAGI_GF128_CLMUL inline Gf128 StoreClmul(__m128i v) {
  alignas(16) uint64_t w[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(w), v);
  return Gf128{w[0], w[1]};
}

// ReduceClmul returns (lo + hi·x^128) mod the field polynomial, where lo =
// (p0, p1) and hi = (p2, p3) hold the 256-bit product p0 + p1·x^64 +
// p2·x^128 + p3·x^192 (64-bit words, p0 in the low lane).
//
// Step 1: p3·x^192 ≡ (p3·0x87)·x^64. T = p3·0x87 has degree < 71; its low
// word is added to p1 and its high word (< 2^7) to p2.
// Step 2: p2'·x^128 ≡ p2'·0x87, which has degree < 71 and is added to (p0, p1).
KAGI_GF128_CLMUL inline __m128i ReduceClmul(__m128i lo, __m128i hi) {
  const __m128i k = _mm_set_epi64x(0, 0x87);
  const __m128i t = _mm_clmulepi64_si128(hi, k, 0x01);  // p3 · 0x87
  lo = _mm_xor_si128(lo, _mm_slli_si128(t, 8));
  hi = _mm_xor_si128(hi, _mm_srli_si128(t, 8));
  const __m128i u = _mm_clmulepi64_si128(hi, k, 0x00);  // p2' · 0x87
  return _mm_xor_si128(lo, u);
}

// MulPartsClmul adds the schoolbook parts of a·b to (lo, mid, hi): lo +=
// a0·b0, hi += a1·b1, mid += a0·b1 + a1·b0.
KAGI_GF128_CLMUL inline void MulPartsClmul(__m128i a, __m128i b, __m128i& lo,
                                           __m128i& mid, __m128i& hi) {
  lo = _mm_xor_si128(lo, _mm_clmulepi64_si128(a, b, 0x00));
  hi = _mm_xor_si128(hi, _mm_clmulepi64_si128(a, b, 0x11));
  mid = _mm_xor_si128(mid, _mm_clmulepi64_si128(a, b, 0x01));
  mid = _mm_xor_si128(mid, _mm_clmulepi64_si128(a, b, 0x10));
}

KAGI_GF128_CLMUL inline Gf128 FinishClmul(__m128i lo, __m128i mid, __m128i hi) {
  lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
  hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
  return StoreClmul(ReduceClmul(lo, hi));
}

KAGI_GF128_CLMUL Gf128 MulClmulImpl(Gf128 a, Gf128 b) {
  __m128i lo = _mm_setzero_si128();
  __m128i mid = _mm_setzero_si128();
  __m128i hi = _mm_setzero_si128();
  MulPartsClmul(LoadClmul(a), LoadClmul(b), lo, mid, hi);
  return FinishClmul(lo, mid, hi);
}

KAGI_GF128_CLMUL Gf128 InnerProductClmulImpl(const Gf128* a, const Gf128* b,
                                             size_t n) {
  __m128i lo = _mm_setzero_si128();
  __m128i mid = _mm_setzero_si128();
  __m128i hi = _mm_setzero_si128();
  for (size_t i = 0; i < n; ++i) {
    MulPartsClmul(LoadClmulFrom(a + i), LoadClmulFrom(b + i), lo, mid, hi);
  }
  return FinishClmul(lo, mid, hi);
}

bool DetectClmul() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
}

#else  // !KAGI_GF128_X86

// Never called: HasClmul() is false and the public entry points check it.
Gf128 MulClmulImpl(Gf128 a, Gf128 b) { return MulPortableImpl(a, b); }
Gf128 InnerProductClmulImpl(const Gf128* a, const Gf128* b, size_t n) {
  return InnerProductPortableImpl(a, b, n);
}
bool DetectClmul() { return false; }

#endif  // KAGI_GF128_X86

// HasClmulCached is gf128_internal::HasClmul, defined here so that the
// dispatching functions inline the (already initialised) static's check.
inline bool HasClmulCached() {
  static const bool has_clmul = DetectClmul();
  return has_clmul;
}

}  // namespace

Gf128 Gf128::FromBytes(const uint8_t in[16]) {
  return Gf128{Load64Le(in), Load64Le(in + 8)};
}

Gf128 Gf128::FromBytes(const std::array<uint8_t, 16>& in) {
  return FromBytes(in.data());
}

void Gf128::ToBytes(uint8_t out[16]) const {
  Store64Le(lo, out);
  Store64Le(hi, out + 8);
}

std::array<uint8_t, 16> Gf128::ToBytes() const {
  std::array<uint8_t, 16> out{};
  ToBytes(out.data());
  return out;
}

Gf128 Gf128Mul(Gf128 a, Gf128 b) {
  // The branch depends only on the CPU, never on the operands.
  return HasClmulCached() ? MulClmulImpl(a, b) : MulPortableImpl(a, b);
}

void Gf128MulAdd(Gf128& acc, Gf128 a, Gf128 b) { acc ^= Gf128Mul(a, b); }

Gf128 Gf128InnerProduct(absl::Span<const Gf128> a, absl::Span<const Gf128> b) {
  KAGI_CHECK(a.size() == b.size());
  return HasClmulCached()
             ? InnerProductClmulImpl(a.data(), b.data(), a.size())
             : InnerProductPortableImpl(a.data(), b.data(), a.size());
}

namespace gf128_internal {

bool HasClmul() { return HasClmulCached(); }

Gf128 MulPortable(Gf128 a, Gf128 b) { return MulPortableImpl(a, b); }

Gf128 InnerProductPortable(const Gf128* a, const Gf128* b, size_t n) {
  return InnerProductPortableImpl(a, b, n);
}

Gf128 MulClmul(Gf128 a, Gf128 b) {
  KAGI_CHECK(HasClmul());
  return MulClmulImpl(a, b);
}

Gf128 InnerProductClmul(const Gf128* a, const Gf128* b, size_t n) {
  KAGI_CHECK(HasClmul());
  return InnerProductClmulImpl(a, b, n);
}

}  // namespace gf128_internal
}  // namespace kagi::crypto
