// Constant-time arithmetic modulo the secp256k1 group order.
//
// Reduction of a 512-bit product uses 2^256 ≡ NC (mod n) with
// NC = 2^256 - n (129 bits): fold the high half down three times, each time
// with fixed-length loops, then subtract n at most once with a mask.
#include "libs/crypto/scalar.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "libs/base/check.h"
#include "libs/base/ctime.h"
#include "libs/base/secret.h"

namespace kagi::crypto {
namespace {

using u128 = unsigned __int128;

constexpr uint64_t kN[4] = {0xBFD25E8CD0364141ULL, 0xBAAEDCE6AF48A03BULL,
                            0xFFFFFFFFFFFFFFFEULL, 0xFFFFFFFFFFFFFFFFULL};
// NC = 2^256 - n.
constexpr uint64_t kNC[3] = {0x402DA1732FC9BEBFULL, 0x4551231950B75FC4ULL,
                             1ULL};
// (n - 1) / 2, the largest low-S value.
constexpr uint64_t kHalfN[4] = {0xDFE92F46681B20A0ULL, 0x5D576E7357A4501DULL,
                                0xFFFFFFFFFFFFFFFFULL, 0x7FFFFFFFFFFFFFFFULL};

inline uint64_t Lo(u128 v) { return static_cast<uint64_t>(v); }
inline uint64_t Hi(u128 v) { return static_cast<uint64_t>(v >> 64); }

// AddCarry / SubBorrow: one limb of an add-with-carry / subtract-with-borrow
// chain. On x86-64 they compile to adc / sbb; elsewhere to the u128 form.
// Neither branches on its operands.
inline uint64_t AddCarry(uint64_t a, uint64_t b, unsigned char& carry) {
#if defined(__x86_64__)
  unsigned long long out;  // NOLINT(runtime/int): the intrinsic's type
  carry = _addcarry_u64(carry, a, b, &out);
  return out;
#else
  const u128 v = static_cast<u128>(a) + b + carry;
  carry = static_cast<unsigned char>(Hi(v));
  return Lo(v);
#endif
}

inline uint64_t SubBorrow(uint64_t a, uint64_t b, unsigned char& borrow) {
#if defined(__x86_64__)
  unsigned long long out;  // NOLINT(runtime/int)
  borrow = _subborrow_u64(borrow, a, b, &out);
  return out;
#else
  const u128 v = static_cast<u128>(a) - b - borrow;
  borrow = static_cast<unsigned char>(Hi(v) & 1);
  return Lo(v);
#endif
}

// Fold: out = in[0..4) + in[4..in_len) * NC. `out` has out_len limbs and must
// be large enough for the value (the callers size it with a margin). Running
// time depends only on in_len and out_len.
template <size_t kInLen, size_t kOutLen>
void Fold(const uint64_t (&in)[kInLen], uint64_t (&out)[kOutLen]) {
  static_assert(kInLen > 4 && kOutLen >= 5, "fold sizes");
  for (size_t k = 0; k < kOutLen; ++k) {
    out[k] = k < 4 ? in[k] : 0;
  }
  for (size_t i = 0; i + 4 < kInLen; ++i) {
    uint64_t carry = 0;
    for (size_t j = 0; j < 3; ++j) {
      if (i + j >= kOutLen) {
        break;  // public sizes only
      }
      const u128 t = static_cast<u128>(in[4 + i]) * kNC[j] + out[i + j] + carry;
      out[i + j] = Lo(t);
      carry = Hi(t);
    }
    for (size_t k = i + 3; k < kOutLen; ++k) {
      const u128 t = static_cast<u128>(out[k]) + carry;
      out[k] = Lo(t);
      carry = Hi(t);
    }
  }
}

// FinalReduce: given value = c·2^256 + w < 2n, returns value mod n.
inline __attribute__((always_inline)) void FinalReduce(const uint64_t w[4],
                                                       uint64_t c,
                                                       uint64_t out[4]) {
  uint64_t t[4];
  unsigned char carry = 0;
  t[0] = AddCarry(w[0], kNC[0], carry);
  t[1] = AddCarry(w[1], kNC[1], carry);
  t[2] = AddCarry(w[2], kNC[2], carry);
  t[3] = AddCarry(w[3], 0, carry);
  // value >= n  <=>  c == 1 or w + NC overflows.
  const uint64_t mask = CtMaskFromBit((c | carry) & 1);
  for (size_t i = 0; i < 4; ++i) {
    out[i] = (t[i] & mask) | (w[i] & ~mask);
  }
}

// ReduceFolded finishes a reduction from an 8-limb value below 2^402 (so
// a[7] == 0): two more folds and a final conditional subtraction.
void ReduceFolded(const uint64_t (&a)[8], uint64_t out[4]);

// Reduce512 reduces an 8-limb value modulo n.
void Reduce512(const uint64_t (&p)[8], uint64_t out[4]) {
  uint64_t a[8];
  Fold(p, a);  // < 2^386
  ReduceFolded(a, out);
  WipeInline(a);
}

// Reduce576 reduces a 9-limb value (a sum of up to 2^16 512-bit products).
void Reduce576(const uint64_t (&p)[9], uint64_t out[4]) {
  uint64_t a[8];
  Fold(p, a);  // < 2^256 + 2^(272+129) for at most 2^16 terms
  ReduceFolded(a, out);
  WipeInline(a);
}

void ReduceFolded(const uint64_t (&a)[8], uint64_t out[4]) {
  uint64_t b[6];
  uint64_t a7[7];
  for (size_t i = 0; i < 7; ++i) {
    a7[i] = a[i];
  }
  Fold(a7, b);  // < 2^275
  uint64_t c[6];
  Fold(b, c);  // < 2^256 + 2^134: c[4] in {0,1}, c[5] == 0
  FinalReduce(c, c[4], out);
  WipeInline(a7);
  WipeInline(b);
  WipeInline(c);
}

// LoadBigEndian256 reads 32 big-endian bytes into limbs.
inline void Load256(const uint8_t* in, uint64_t out[4]) {
  for (size_t i = 0; i < 4; ++i) {
    out[3 - i] = LoadBigEndian64(in + 8 * i);
  }
}

// GreaterOrEqualN: all-ones mask if limbs >= n.
uint64_t GeqNMask(const uint64_t x[4]) {
  uint64_t carry = 0;
  for (size_t i = 0; i < 4; ++i) {
    const u128 s = static_cast<u128>(x[i]) + (i < 3 ? kNC[i] : 0) + carry;
    carry = Hi(s);
  }
  return CtMaskFromBit(carry);
}

}  // namespace

Scalar::~Scalar() { WipeInline(limbs_); }

Scalar Scalar::FromUint64(uint64_t v) { return Scalar(Limbs{v, 0, 0, 0}); }

absl::StatusOr<Scalar> Scalar::FromCanonicalBytes(ByteSpan bytes,
                                                  absl::string_view field) {
  if (bytes.size() != kBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": scalar must be 32 bytes, got ", bytes.size()));
  }
  Limbs l;
  Load256(bytes.data(), l.data());
  // Public by design: a non-canonical encoding is refused with an error, and
  // every canonical value (every stored secret) takes the same path.
  if (CtDeclassifyValue(GeqNMask(l.data())) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": scalar is not canonical (>= group order)"));
  }
  return Scalar(l);
}

absl::StatusOr<Scalar> Scalar::FromCanonicalBytesNonZero(
    ByteSpan bytes, absl::string_view field) {
  absl::StatusOr<Scalar> s = FromCanonicalBytes(bytes, field);
  // Public by design, as above: zero is refused with an error.
  if (s.ok() && CtDeclassifyValue(s->IsZero())) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": scalar is zero"));
  }
  return s;
}

Scalar Scalar::FromBytesModOrder(const std::array<uint8_t, 32>& bytes) {
  uint64_t w[4];
  Load256(bytes.data(), w);
  Limbs out;
  FinalReduce(w, 0, out.data());
  WipeInline(w);
  return Scalar(out);
}

Scalar Scalar::FromWideBytes(const std::array<uint8_t, 64>& bytes) {
  uint64_t p[8];
  for (size_t i = 0; i < 8; ++i) {
    p[7 - i] = LoadBigEndian64(bytes.data() + 8 * i);
  }
  Limbs out;
  Reduce512(p, out.data());
  WipeInline(p);
  return Scalar(out);
}

Scalar Scalar::Random(Rng& rng) {
  std::array<uint8_t, 64> wide = rng.Bytes<64>();
  Scalar s = FromWideBytes(wide);
  SecureWipe(wide.data(), wide.size());
  return s;
}

Scalar Scalar::RandomNonZero(Rng& rng) {
  for (;;) {
    Scalar s = Random(rng);
    // Public by design: a draw is rejected with probability 2^-256, and a
    // rejected draw is discarded.
    if (!CtDeclassifyValue(s.IsZero())) {
      return s;
    }
  }
}

std::array<uint8_t, 32> Scalar::ToBytes() const {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 4; ++i) {
    StoreBigEndian64(limbs_[3 - i], out.data() + 8 * i);
  }
  return out;
}

Scalar Scalar::Add(const Scalar& b) const {
  uint64_t s[4];
  unsigned char carry = 0;
  for (size_t i = 0; i < 4; ++i) {
    s[i] = AddCarry(limbs_[i], b.limbs_[i], carry);
  }
  Limbs out;
  FinalReduce(s, carry, out.data());
  WipeInline(s);
  return Scalar(out);
}

Scalar Scalar::Sub(const Scalar& b) const {
  uint64_t d[4];
  unsigned char borrow = 0;
  for (size_t i = 0; i < 4; ++i) {
    d[i] = SubBorrow(limbs_[i], b.limbs_[i], borrow);  // wraps if a < b
  }
  // If it wrapped, add n back (mod 2^256).
  const uint64_t mask = CtMaskFromBit(borrow);
  Limbs out;
  unsigned char carry = 0;
  for (size_t i = 0; i < 4; ++i) {
    out[i] = AddCarry(d[i], kN[i] & mask, carry);
  }
  WipeInline(d);
  return Scalar(out);
}

Scalar Scalar::Negate() const {
  const uint64_t nonzero =
      ~CtIsZeroMask(limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]);
  Limbs out;
  uint64_t borrow = 0;
  for (size_t i = 0; i < 4; ++i) {
    const u128 t = static_cast<u128>(kN[i]) - limbs_[i] - borrow;
    out[i] = Lo(t) & nonzero;
    borrow = Hi(t) & 1;
  }
  return Scalar(out);
}

Scalar Scalar::Mul(const Scalar& b) const {
  uint64_t p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < 4; ++i) {
    uint64_t carry = 0;
    for (size_t j = 0; j < 4; ++j) {
      const u128 t =
          static_cast<u128>(limbs_[i]) * b.limbs_[j] + p[i + j] + carry;
      p[i + j] = Lo(t);
      carry = Hi(t);
    }
    p[i + 4] = carry;
  }
  Limbs out;
  Reduce512(p, out.data());
  WipeInline(p);
  return Scalar(out);
}

Scalar Scalar::InnerProduct(absl::Span<const Scalar> a,
                            absl::Span<const Scalar> b) {
  KAGI_CHECK(a.size() == b.size());
  KAGI_CHECK(a.size() <= (size_t{1} << 16));
  // Column sums without carry propagation: column c collects every
  // x_i·y_j with i + j = c as a 128-bit sum plus a 64-bit overflow count.
  u128 col_lo[7] = {0, 0, 0, 0, 0, 0, 0};
  uint64_t col_hi[7] = {0, 0, 0, 0, 0, 0, 0};
  for (size_t t = 0; t < a.size(); ++t) {
    const Limbs& x = a[t].limbs_;
    const Limbs& y = b[t].limbs_;
    for (size_t i = 0; i < 4; ++i) {
      for (size_t j = 0; j < 4; ++j) {
        const u128 m = static_cast<u128>(x[i]) * y[j];
        const u128 sum = col_lo[i + j] + m;
        col_hi[i + j] += static_cast<uint64_t>(sum < m);
        col_lo[i + j] = sum;
      }
    }
  }
  // value = Σ_c (col_hi[c]·2^128 + col_lo[c])·2^(64c), below 2^528.
  uint64_t acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t c = 0; c < 7; ++c) {
    const uint64_t parts[3] = {Lo(col_lo[c]), Hi(col_lo[c]), col_hi[c]};
    uint64_t carry = 0;
    for (size_t k = c; k < 9; ++k) {
      const u128 v =
          static_cast<u128>(acc[k]) + (k - c < 3 ? parts[k - c] : 0) + carry;
      acc[k] = Lo(v);
      carry = Hi(v);
    }
  }
  Limbs out;
  Reduce576(acc, out.data());
  WipeInline(acc);
  WipeInline(col_lo);
  WipeInline(col_hi);
  return Scalar(out);
}

Scalar Scalar::Invert() const {
  // Exponent n - 2, processed in 4-bit windows from the top. The exponent is
  // public, so indexing the table by its digits leaks nothing about *this.
  static constexpr uint64_t kExp[4] = {kN[0] - 2, kN[1], kN[2], kN[3]};
  Scalar table[16];
  table[0] = One();
  for (size_t i = 1; i < 16; ++i) {
    table[i] = table[i - 1].Mul(*this);
  }
  Scalar acc = One();
  for (int limb = 3; limb >= 0; --limb) {
    for (int nib = 15; nib >= 0; --nib) {
      acc = acc.Square().Square().Square().Square();
      const size_t digit = static_cast<size_t>((kExp[limb] >> (4 * nib)) & 0xf);
      acc = acc.Mul(table[digit]);
    }
  }
  return acc;
}

bool Scalar::IsZero() const {
  return CtIsZeroMask(limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) != 0;
}

bool Scalar::IsHigh() const {
  // value > (n-1)/2  <=>  (n-1)/2 - value borrows.
  uint64_t borrow = 0;
  for (size_t i = 0; i < 4; ++i) {
    const u128 t = static_cast<u128>(kHalfN[i]) - limbs_[i] - borrow;
    borrow = Hi(t) & 1;
  }
  return CtMaskFromBit(borrow) != 0;
}

Scalar Scalar::ConditionalSelect(uint64_t bit, const Scalar& if_one,
                                 const Scalar& if_zero) {
  const uint64_t mask = CtMaskFromBit(bit);
  Limbs out;
  for (size_t i = 0; i < 4; ++i) {
    out[i] = (if_one.limbs_[i] & mask) | (if_zero.limbs_[i] & ~mask);
  }
  return Scalar(out);
}

bool operator==(const Scalar& a, const Scalar& b) {
  uint64_t diff = 0;
  for (size_t i = 0; i < 4; ++i) {
    diff |= a.limbs_[i] ^ b.limbs_[i];
  }
  return CtIsZeroMask(diff) != 0;
}

}  // namespace kagi::crypto
