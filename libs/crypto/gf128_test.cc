#include "libs/crypto/gf128.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <random>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"

namespace kagi::crypto {

// Test-only printer so that failures show the element (as the 128-bit integer
// hi:lo in hex) instead of raw bytes.
void PrintTo(const Gf128& a, std::ostream* os) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx:%016llx",
                static_cast<unsigned long long>(a.hi),   // NOLINT(runtime/int)
                static_cast<unsigned long long>(a.lo));  // NOLINT(runtime/int)
  *os << buf;
}

namespace {

using gf128_internal::HasClmul;
using gf128_internal::InnerProductClmul;
using gf128_internal::InnerProductPortable;
using gf128_internal::MulClmul;
using gf128_internal::MulPortable;
using U128 = unsigned __int128;

U128 ToU128(Gf128 a) { return (static_cast<U128>(a.hi) << 64) | a.lo; }
Gf128 FromU128(U128 v) {
  return Gf128{static_cast<uint64_t>(v), static_cast<uint64_t>(v >> 64)};
}

// RefMul is an independent, deliberately naive reference: the 256-bit
// product by shift-and-add over the 128 bits of b, then schoolbook long
// division by x^128 + x^7 + x^2 + x + 1 from x^254 down to x^128.
Gf128 RefMul(Gf128 a, Gf128 b) {
  const U128 av = ToU128(a);
  const U128 bv = ToU128(b);
  U128 lo = 0;  // coefficients of x^0..x^127
  U128 hi = 0;  // coefficients of x^128..x^255
  for (int i = 0; i < 128; ++i) {
    if (((bv >> i) & 1) != 0) {
      lo ^= av << i;
      if (i != 0) {
        hi ^= av >> (128 - i);
      }
    }
  }
  for (int k = 254; k >= 128; --k) {
    if (((hi >> (k - 128)) & 1) != 0) {
      // Subtract x^(k-128) · (x^128 + x^7 + x^2 + x + 1).
      const int s = k - 128;
      hi ^= static_cast<U128>(1) << s;
      for (int e : {7, 2, 1, 0}) {
        const int pos = s + e;
        if (pos >= 128) {
          hi ^= static_cast<U128>(1) << (pos - 128);
        } else {
          lo ^= static_cast<U128>(1) << pos;
        }
      }
    }
  }
  EXPECT_EQ(hi, static_cast<U128>(0));
  return FromU128(lo);
}

Gf128 Monomial(int i) { return FromU128(static_cast<U128>(1) << i); }

Gf128 Random(std::mt19937_64& rng) { return Gf128{rng(), rng()}; }

// Random elements of varying density: uniform, dense (about 3/4 of the bits
// set, which maximises the per-lane counts in the portable multiply) and
// sparse.
Gf128 RandomMixed(std::mt19937_64& rng) {
  const uint64_t kind = rng() % 3;
  if (kind == 0) {
    return Random(rng);
  }
  if (kind == 1) {
    return Gf128{rng() | rng(), rng() | rng()};
  }
  return Gf128{rng() & rng() & rng(), rng() & rng() & rng()};
}

std::vector<Gf128> EdgeValues() {
  std::vector<Gf128> v = {
      Gf128::Zero(),
      Gf128::One(),
      Monomial(1),  // x
      Monomial(7),
      Monomial(63),
      Monomial(64),
      Monomial(126),
      Monomial(127),                      // x^127
      Gf128{~uint64_t{0}, ~uint64_t{0}},  // all ones
      Gf128{~uint64_t{0}, 0},
      Gf128{0, ~uint64_t{0}},
      Gf128{0x87, 0},  // x^7 + x^2 + x + 1
      Gf128{0x5555555555555555, 0x5555555555555555},
      Gf128{0xaaaaaaaaaaaaaaaa, 0xaaaaaaaaaaaaaaaa},
      Gf128{0x8000000000000001, 0x8000000000000001},
  };
  return v;
}

using MulFn = Gf128 (*)(Gf128, Gf128);

// CheckAgainstReference compares `mul` with RefMul on all pairs of edge
// values and on `num_random` random pairs.
void CheckAgainstReference(MulFn mul, int num_random, uint64_t seed) {
  const std::vector<Gf128> edges = EdgeValues();
  for (const Gf128& a : edges) {
    for (const Gf128& b : edges) {
      ASSERT_EQ(mul(a, b), RefMul(a, b))
          << "a=" << ::testing::PrintToString(a)
          << " b=" << ::testing::PrintToString(b);
    }
  }
  std::mt19937_64 rng(seed);
  for (int i = 0; i < num_random; ++i) {
    const Gf128 a = RandomMixed(rng);
    // Every 16th pair has an edge value as one operand.
    const Gf128 b = (i % 16 == 0)
                        ? edges[static_cast<size_t>(i / 16) % edges.size()]
                        : RandomMixed(rng);
    ASSERT_EQ(mul(a, b), RefMul(a, b))
        << "i=" << i << " seed=" << seed << " a=" << ::testing::PrintToString(a)
        << " b=" << ::testing::PrintToString(b);
  }
}

// The implementations under test, by name, so that the property tests run
// on each of them.
struct Impl {
  const char* name;
  MulFn mul;
  bool needs_clmul;
};

std::vector<Impl> Impls() {
  return {{"dispatched", &Gf128Mul, false},
          {"portable", &MulPortable, false},
          {"clmul", &MulClmul, true}};
}

TEST(Gf128Test, ByteOrderIsLittleEndianWithBitZeroAsConstantTerm) {
  std::array<uint8_t, 16> bytes{};
  bytes[0] = 0x01;
  EXPECT_EQ(Gf128::FromBytes(bytes), Gf128::One());
  bytes[0] = 0x02;
  EXPECT_EQ(Gf128::FromBytes(bytes), Monomial(1));  // x
  bytes[0] = 0x80;
  EXPECT_EQ(Gf128::FromBytes(bytes), Monomial(7));
  bytes[0] = 0;
  bytes[8] = 0x01;
  EXPECT_EQ(Gf128::FromBytes(bytes), Monomial(64));
  bytes[8] = 0;
  bytes[15] = 0x80;
  EXPECT_EQ(Gf128::FromBytes(bytes), Monomial(127));

  const Gf128 a{0x0807060504030201, 0x100f0e0d0c0b0a09};
  const std::array<uint8_t, 16> want = {1, 2,  3,  4,  5,  6,  7,  8,
                                        9, 10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(a.ToBytes(), want);
  uint8_t out[16] = {};
  a.ToBytes(out);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 16),
            std::vector<uint8_t>(want.begin(), want.end()));
  EXPECT_EQ(Gf128::FromBytes(want.data()), a);
}

TEST(Gf128Test, BytesRoundTrip) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) {
    std::array<uint8_t, 16> bytes{};
    for (uint8_t& byte : bytes) {
      byte = static_cast<uint8_t>(rng());
    }
    const Gf128 a = Gf128::FromBytes(bytes);
    EXPECT_EQ(a.ToBytes(), bytes);
    EXPECT_EQ(Gf128::FromBytes(bytes.data()), a);

    const Gf128 b = Random(rng);
    EXPECT_EQ(Gf128::FromBytes(b.ToBytes()), b);
    uint8_t raw[16];
    b.ToBytes(raw);
    EXPECT_EQ(Gf128::FromBytes(raw), b);
  }
}

TEST(Gf128Test, EqualityLooksAtBothWords) {
  const Gf128 a{1, 2};
  EXPECT_TRUE(a == (Gf128{1, 2}));
  EXPECT_FALSE(a == (Gf128{0, 2}));
  EXPECT_FALSE(a == (Gf128{1, 3}));
  EXPECT_TRUE(a != (Gf128{1, 0x8000000000000002}));
  EXPECT_TRUE(Gf128Equal(Gf128::Zero(), Gf128{}));
  EXPECT_FALSE(Gf128Equal(Gf128::Zero(), Monomial(127)));
}

TEST(Gf128Test, XorIsAddition) {
  const Gf128 a{0xf0f0, 0x1234};
  const Gf128 b{0xff00, 0x1000};
  EXPECT_EQ(Gf128Xor(a, b), (Gf128{0x0ff0, 0x0234}));
  EXPECT_EQ(a ^ b, Gf128Xor(a, b));
  Gf128 c = a;
  c ^= b;
  EXPECT_EQ(c, Gf128Xor(a, b));
  EXPECT_EQ(a ^ a, Gf128::Zero());
}

TEST(Gf128Test, ReferenceMultiplyKnownAnswers) {
  // Guards the reference itself, so the comparison tests mean something.
  EXPECT_EQ(RefMul(Monomial(127), Monomial(1)), (Gf128{0x87, 0}));
  EXPECT_EQ(RefMul(Monomial(3), Monomial(5)), Monomial(8));
  EXPECT_EQ(RefMul(Gf128{3, 0}, Gf128{3, 0}), (Gf128{5, 0}));  // (x+1)^2
}

TEST(Gf128Test, KnownProducts) {
  for (const Impl& impl : Impls()) {
    if (impl.needs_clmul && !HasClmul()) {
      continue;
    }
    SCOPED_TRACE(impl.name);
    // x^127 · x = x^128 = x^7 + x^2 + x + 1.
    EXPECT_EQ(impl.mul(Monomial(127), Monomial(1)), (Gf128{0x87, 0}));
    EXPECT_EQ(impl.mul(Monomial(64), Monomial(64)), (Gf128{0x87, 0}));
    EXPECT_EQ(impl.mul(Monomial(63), Monomial(64)), Monomial(127));
    // x^254 = x^127 + x^126 + x^12 + x^6 + x^5 + x^2 + x + 1 (two rounds of
    // reduction).
    EXPECT_EQ(impl.mul(Monomial(127), Monomial(127)),
              (Gf128{0x1067, 0xc000000000000000}));
    // Products computed with a separate Python implementation.
    const Gf128 a{0xfedcba9876543210, 0x0123456789abcdef};
    const Gf128 b{0x8899aabbccddeeff, 0x0011223344556677};
    const Gf128 ones{~uint64_t{0}, ~uint64_t{0}};
    EXPECT_EQ(impl.mul(a, b), (Gf128{0xe04c89c3c0d7a948, 0x78718a5a6fdd9de6}));
    EXPECT_EQ(impl.mul(ones, ones),
              (Gf128{0x555555555555402f, 0x5555555555555555}));
    EXPECT_EQ(impl.mul(a, ones),
              (Gf128{0x278db1260aa09c20, 0x72d8e4735ff5c975}));
    // Identities.
    std::mt19937_64 rng(2);
    for (int i = 0; i < 100; ++i) {
      const Gf128 r = RandomMixed(rng);
      EXPECT_EQ(impl.mul(Gf128::One(), r), r);
      EXPECT_EQ(impl.mul(r, Gf128::One()), r);
      EXPECT_EQ(impl.mul(Gf128::Zero(), r), Gf128::Zero());
      EXPECT_EQ(impl.mul(r, Gf128::Zero()), Gf128::Zero());
    }
  }
}

TEST(Gf128Test, PortableMatchesReference) {
  CheckAgainstReference(&MulPortable, 100000, 3);
}

TEST(Gf128Test, ClmulMatchesReference) {
  if (!HasClmul()) {
    GTEST_SKIP() << "CPU has no PCLMULQDQ";
  }
  CheckAgainstReference(&MulClmul, 100000, 4);
}

TEST(Gf128Test, DispatchedMatchesReference) {
  CheckAgainstReference(&Gf128Mul, 10000, 5);
}

TEST(Gf128Test, FermatIdentityHolds) {
  // In GF(2^128), a^(2^128) = a for every a: 128 squarings are the identity.
  // 127 squarings must not be (the Frobenius map has order exactly 128).
  for (const Impl& impl : Impls()) {
    if (impl.needs_clmul && !HasClmul()) {
      continue;
    }
    SCOPED_TRACE(impl.name);
    std::mt19937_64 rng(6);
    std::vector<Gf128> inputs = EdgeValues();
    for (int i = 0; i < 200; ++i) {
      inputs.push_back(RandomMixed(rng));
    }
    for (const Gf128& a : inputs) {
      Gf128 s = a;
      for (int i = 0; i < 128; ++i) {
        s = impl.mul(s, s);
      }
      EXPECT_EQ(s, a) << ::testing::PrintToString(a);
    }
    // x generates the whole field (the polynomial is irreducible), so
    // x^(2^k) = x only when 128 divides k: 127 squarings must move it.
    Gf128 s = Monomial(1);
    for (int i = 0; i < 127; ++i) {
      s = impl.mul(s, s);
    }
    EXPECT_NE(s, Monomial(1));
  }
}

TEST(Gf128Test, FieldLawsHold) {
  for (const Impl& impl : Impls()) {
    if (impl.needs_clmul && !HasClmul()) {
      continue;
    }
    SCOPED_TRACE(impl.name);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
      const Gf128 a = RandomMixed(rng);
      const Gf128 b = RandomMixed(rng);
      const Gf128 c = RandomMixed(rng);
      ASSERT_EQ(impl.mul(a, b ^ c), impl.mul(a, b) ^ impl.mul(a, c));
      ASSERT_EQ(impl.mul(a, b), impl.mul(b, a));
      ASSERT_EQ(impl.mul(impl.mul(a, b), c), impl.mul(a, impl.mul(b, c)));
    }
  }
}

TEST(Gf128Test, ImplementationsAgree) {
  if (!HasClmul()) {
    GTEST_SKIP() << "CPU has no PCLMULQDQ";
  }
  std::mt19937_64 rng(8);
  for (int i = 0; i < 200000; ++i) {
    const Gf128 a = RandomMixed(rng);
    const Gf128 b = RandomMixed(rng);
    ASSERT_EQ(MulPortable(a, b), MulClmul(a, b));
  }
}

TEST(Gf128Test, InnerProductMatchesSumOfReferenceProducts) {
  std::mt19937_64 rng(9);
  for (size_t n : std::vector<size_t>{0, 1, 2, 3, 4, 5, 17, 256}) {
    SCOPED_TRACE(n);
    std::vector<Gf128> a(n);
    std::vector<Gf128> b(n);
    Gf128 want = Gf128::Zero();
    Gf128 mul_add = Gf128::Zero();
    for (size_t i = 0; i < n; ++i) {
      a[i] = RandomMixed(rng);
      b[i] = RandomMixed(rng);
      want ^= RefMul(a[i], b[i]);
      Gf128MulAdd(mul_add, a[i], b[i]);
    }
    EXPECT_EQ(mul_add, want);
    EXPECT_EQ(Gf128InnerProduct(a, b), want);
    EXPECT_EQ(InnerProductPortable(a.data(), b.data(), n), want);
    if (HasClmul()) {
      EXPECT_EQ(InnerProductClmul(a.data(), b.data(), n), want);
    }
  }
  // All-ones rows: the largest unreduced sums.
  const std::vector<Gf128> ones(4, Gf128{~uint64_t{0}, ~uint64_t{0}});
  const Gf128 one_sq = RefMul(ones[0], ones[0]);
  EXPECT_EQ(Gf128InnerProduct(ones, ones), Gf128::Zero());  // 4 equal terms
  EXPECT_EQ(InnerProductPortable(ones.data(), ones.data(), 3), one_sq);
  if (HasClmul()) {
    EXPECT_EQ(InnerProductClmul(ones.data(), ones.data(), 3), one_sq);
  }
}

TEST(Gf128Test, KosCheckRowMatchesDefinition) {
  // t̃ = Σ_{j<4} χ_j ⊗ T_j ⊕ T_4, as PROTOCOL.md §3.3 writes it.
  std::mt19937_64 rng(10);
  std::array<Gf128, 4> chi{};
  std::array<Gf128, 5> row{};
  for (Gf128& c : chi) {
    c = Random(rng);
  }
  for (Gf128& t : row) {
    t = Random(rng);
  }
  Gf128 want = row[4];
  for (size_t j = 0; j < 4; ++j) {
    want ^= RefMul(chi[j], row[j]);
  }
  const Gf128 got =
      Gf128InnerProduct(chi, absl::MakeConstSpan(row.data(), 4)) ^ row[4];
  EXPECT_EQ(got, want);
}

TEST(Gf128DeathTest, InnerProductRejectsLengthMismatch) {
  const std::vector<Gf128> a(3);
  const std::vector<Gf128> b(4);
  EXPECT_DEATH(Gf128InnerProduct(a, b), "size");
}

}  // namespace
}  // namespace kagi::crypto
