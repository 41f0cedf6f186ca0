// Shamir helpers: Lagrange coefficients at zero recover f(0) from any t
// points of a degree t−1 polynomial (also in the exponent), Horner
// evaluation agrees with a naive power sum, and Feldman evaluation of the
// coefficient commitments agrees with f(x)·G.
#include "libs/protocol/lagrange.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"

namespace kagi::protocol {
namespace {

using crypto::Point;
using crypto::Scalar;

std::vector<Scalar> RandomPolynomial(size_t t, Rng& rng) {
  std::vector<Scalar> c;
  for (size_t k = 0; k < t; ++k) {
    c.push_back(Scalar::RandomNonZero(rng));
  }
  return c;
}

// Naive Σ c_k x^k with x^k computed by repeated multiplication.
Scalar NaiveEvaluate(const std::vector<Scalar>& c, uint32_t x) {
  Scalar sum;
  for (size_t k = 0; k < c.size(); ++k) {
    Scalar power = Scalar::One();
    for (size_t e = 0; e < k; ++e) {
      power *= Scalar::FromUint64(x);
    }
    sum += c[k] * power;
  }
  return sum;
}

uint64_t Draw(Rng& rng) {
  uint64_t v = 0;
  rng.Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(&v), sizeof(v)));
  return v;
}

// A random t-subset of {1..n}, in random order (order must not matter).
std::vector<uint32_t> RandomSubset(uint32_t t, uint32_t n, Rng& rng) {
  std::vector<uint32_t> all(n);
  std::iota(all.begin(), all.end(), 1u);
  for (uint32_t i = n - 1; i > 0; --i) {
    std::swap(all[i], all[Draw(rng) % (i + 1)]);
  }
  all.resize(t);
  return all;
}

TEST(LagrangeTest, InterpolatesRandomPolynomialsOnRandomSubsets) {
  InsecureDeterministicRng rng(1);
  for (int trial = 0; trial < 300; ++trial) {
    const uint32_t n = 1 + static_cast<uint32_t>(Draw(rng) % 16);
    const uint32_t t = 1 + static_cast<uint32_t>(Draw(rng) % n);
    const std::vector<Scalar> f = RandomPolynomial(t, rng);
    const std::vector<uint32_t> set = RandomSubset(t, n, rng);
    Scalar sum;
    for (uint32_t i : set) {
      sum += LagrangeAtZero(i, set) * EvaluatePolynomial(f, i);
    }
    EXPECT_EQ(sum, f[0]) << "trial " << trial << " t=" << t << " n=" << n;
  }
}

TEST(LagrangeTest, InterpolatesWithLargeIds) {
  // x-coordinates need not be small: any distinct nonzero ids work.
  InsecureDeterministicRng rng(2);
  for (int trial = 0; trial < 50; ++trial) {
    const size_t t = 2 + Draw(rng) % 6;
    std::vector<uint32_t> set;
    while (set.size() < t) {
      const uint32_t id = static_cast<uint32_t>(Draw(rng));
      if (id != 0 && std::find(set.begin(), set.end(), id) == set.end()) {
        set.push_back(id);
      }
    }
    set[0] = 0xffffffffu;  // the extreme id
    if (std::count(set.begin(), set.end(), 0xffffffffu) > 1) {
      continue;
    }
    const std::vector<Scalar> f = RandomPolynomial(t, rng);
    Scalar sum;
    for (uint32_t i : set) {
      sum += LagrangeAtZero(i, set) * EvaluatePolynomial(f, i);
    }
    EXPECT_EQ(sum, f[0]) << "trial " << trial;
  }
}

TEST(LagrangeTest, CoefficientsSumToOneAndKnownValues) {
  // Σ λ_i = 1 (interpolating the constant polynomial 1).
  const std::vector<uint32_t> set = {2, 5, 7, 11};
  Scalar sum;
  for (uint32_t i : set) {
    sum += LagrangeAtZero(i, set);
  }
  EXPECT_EQ(sum, Scalar::One());
  // {1, 2}: λ_1 = 2/(2−1) = 2, λ_2 = 1/(1−2) = −1.
  const std::vector<uint32_t> pair = {1, 2};
  EXPECT_EQ(LagrangeAtZero(1, pair), Scalar::FromUint64(2));
  EXPECT_EQ(LagrangeAtZero(2, pair), -Scalar::One());
  // A single point: λ = 1.
  const std::vector<uint32_t> one = {9};
  EXPECT_EQ(LagrangeAtZero(9, one), Scalar::One());
}

TEST(LagrangeTest, InterpolatesInTheExponent) {
  InsecureDeterministicRng rng(3);
  for (uint32_t t = 2; t <= 6; ++t) {
    const std::vector<Scalar> f = RandomPolynomial(t, rng);
    const std::vector<uint32_t> set = RandomSubset(t, 16, rng);
    std::vector<Point> terms;
    for (uint32_t i : set) {
      const Point xi = *Point::MulGenerator(EvaluatePolynomial(f, i));
      terms.push_back(*xi.MulPublicScalarVartime(LagrangeAtZero(i, set)));
    }
    EXPECT_EQ(*Point::Sum(terms), *Point::MulGenerator(f[0])) << "t=" << t;
  }
}

TEST(LagrangeTest, TooFewPointsDoNotInterpolate) {
  InsecureDeterministicRng rng(4);
  const std::vector<Scalar> f = RandomPolynomial(3, rng);
  const std::vector<uint32_t> set = {1, 2};
  Scalar sum;
  for (uint32_t i : set) {
    sum += LagrangeAtZero(i, set) * EvaluatePolynomial(f, i);
  }
  EXPECT_NE(sum, f[0]);
}

TEST(LagrangeTest, EvaluatePolynomialMatchesNaive) {
  InsecureDeterministicRng rng(5);
  for (size_t degree = 0; degree < 12; ++degree) {
    const std::vector<Scalar> f = RandomPolynomial(degree + 1, rng);
    for (uint32_t x : {0u, 1u, 2u, 3u, 16u, 1000u, 0x7fffffffu, 0xffffffffu,
                       static_cast<uint32_t>(Draw(rng))}) {
      EXPECT_EQ(EvaluatePolynomial(f, x), NaiveEvaluate(f, x))
          << "degree " << degree << " x " << x;
    }
    EXPECT_EQ(EvaluatePolynomial(f, 0), f[0]);
  }
  EXPECT_TRUE(EvaluatePolynomial({}, 5).IsZero());
  // 1 + 2x + 3x^2 at x = 10 is 321.
  const std::vector<Scalar> small = {
      Scalar::FromUint64(1), Scalar::FromUint64(2), Scalar::FromUint64(3)};
  EXPECT_EQ(EvaluatePolynomial(small, 10), Scalar::FromUint64(321));
}

TEST(LagrangeTest, EvaluateCommitmentsMatchesFeldman) {
  InsecureDeterministicRng rng(6);
  for (size_t t = 1; t <= 8; ++t) {
    const std::vector<Scalar> f = RandomPolynomial(t, rng);
    std::vector<Point> commitments;
    for (const Scalar& c : f) {
      commitments.push_back(*Point::MulGenerator(c));
    }
    for (uint32_t x : {1u, 2u, 7u, 16u, 0xffffffffu,
                       1u + static_cast<uint32_t>(Draw(rng) % 0xfffffffeu)}) {
      const absl::StatusOr<Point> got = EvaluateCommitments(commitments, x);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, *Point::MulGenerator(EvaluatePolynomial(f, x)))
          << "t=" << t << " x=" << x;
    }
  }
}

TEST(LagrangeTest, EvaluateCommitmentsReportsInfinity) {
  // C = [P, −P] at x = 1 sums to ∞: an error, not a crash.
  const Point p = *Point::MulGenerator(Scalar::FromUint64(12345));
  const std::vector<Point> c = {p, p.Negate()};
  EXPECT_FALSE(EvaluateCommitments(c, 1).ok());
  EXPECT_TRUE(EvaluateCommitments(c, 2).ok());  // P − 2P = −P
  EXPECT_EQ(*EvaluateCommitments(c, 2), p.Negate());
}

TEST(LagrangeDeathTest, ContractViolationsAbort) {
  const std::vector<uint32_t> set = {1, 2, 3};
  EXPECT_DEATH(LagrangeAtZero(4, set), "found");
  const std::vector<uint32_t> dup_self = {1, 2, 2};
  EXPECT_DEATH(LagrangeAtZero(2, dup_self), "set\\[a\\] != set\\[b\\]");
  const std::vector<uint32_t> zero = {0, 1};
  EXPECT_DEATH(LagrangeAtZero(1, zero), "0");
  EXPECT_DEATH((void)EvaluateCommitments({}, 1), "empty");
}

// lagrange.h promises a KAGI_CHECK that the ids are distinct, but
// LagrangeAtZero only notices a duplicate of `i` itself: a repeated *other*
// id (here 2 in {1, 2, 2} for i = 1) silently yields λ = 4 instead of dying.
// Disabled until lagrange.cc checks all pairs; enable it then.
TEST(LagrangeDeathTest, DuplicateOtherIdAborts) {
  const std::vector<uint32_t> dup_other = {1, 2, 2};
  EXPECT_DEATH(LagrangeAtZero(1, dup_other), "set\\[a\\] != set\\[b\\]");
}

}  // namespace
}  // namespace kagi::protocol
