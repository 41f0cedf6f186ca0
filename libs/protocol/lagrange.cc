#include "libs/protocol/lagrange.h"

#include "libs/base/check.h"

namespace kagi::protocol {

using crypto::Point;
using crypto::Scalar;

Scalar LagrangeAt(uint32_t x, uint32_t i, absl::Span<const uint32_t> set) {
  // Distinct, nonzero ids (a duplicate would make a denominator zero or,
  // for duplicates of another id, silently give a wrong coefficient).
  for (size_t a = 0; a < set.size(); ++a) {
    KAGI_CHECK(set[a] != 0);
    for (size_t b = a + 1; b < set.size(); ++b) {
      KAGI_CHECK(set[a] != set[b]);
    }
  }
  Scalar num = Scalar::One();
  Scalar den = Scalar::One();
  bool found = false;
  const Scalar xs = Scalar::FromUint64(x);
  for (uint32_t j : set) {
    if (j == i) {
      found = true;
      continue;
    }
    num *= xs - Scalar::FromUint64(j);
    den *= Scalar::FromUint64(i) - Scalar::FromUint64(j);
  }
  KAGI_CHECK(found);
  return num * den.Invert();
}

Scalar LagrangeAtZero(uint32_t i, absl::Span<const uint32_t> set) {
  return LagrangeAt(0, i, set);
}

Scalar EvaluatePolynomial(absl::Span<const Scalar> coeffs, uint32_t x) {
  const Scalar xs = Scalar::FromUint64(x);
  Scalar acc;
  for (size_t k = coeffs.size(); k-- > 0;) {
    acc = acc * xs + coeffs[k];
  }
  return acc;
}

absl::StatusOr<Point> EvaluateCommitments(absl::Span<const Point> commitments,
                                          uint32_t x) {
  KAGI_CHECK(!commitments.empty());
  std::vector<Point> terms;
  terms.reserve(commitments.size());
  Scalar power = Scalar::One();
  const Scalar xs = Scalar::FromUint64(x);
  for (const Point& c : commitments) {
    absl::StatusOr<Point> term = c.MulPublicScalarVartime(power);
    if (!term.ok()) {
      return term.status();
    }
    terms.push_back(*term);
    power *= xs;
  }
  return Point::Sum(terms);
}

}  // namespace kagi::protocol
