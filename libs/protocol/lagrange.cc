#include "libs/protocol/lagrange.h"

#include "libs/base/check.h"

namespace kagi::protocol {

using crypto::Point;
using crypto::Scalar;

Scalar LagrangeAtZero(uint32_t i, absl::Span<const uint32_t> set) {
  Scalar num = Scalar::One();
  Scalar den = Scalar::One();
  bool found = false;
  for (uint32_t j : set) {
    KAGI_CHECK(j != 0);
    if (j == i) {
      KAGI_CHECK(!found);
      found = true;
      continue;
    }
    num *= Scalar::FromUint64(j);
    den *= Scalar::FromUint64(j) - Scalar::FromUint64(i);
  }
  KAGI_CHECK(found);
  KAGI_CHECK(!den.IsZero());
  return num * den.Invert();
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
