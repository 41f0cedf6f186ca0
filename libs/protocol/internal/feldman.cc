#include "libs/protocol/internal/feldman.h"

#include "libs/base/abort.h"
#include "libs/base/status_macros.h"
#include "libs/protocol/lagrange.h"

namespace kagi::protocol::internal {

using crypto::Point;

absl::StatusOr<std::vector<Point>> SumCommitments(
    const std::map<uint32_t, std::vector<Point>>& a_of,
    const std::vector<uint32_t>& dealers, uint32_t t,
    absl::string_view infinity) {
  std::vector<Point> sum_a;
  for (uint32_t k = 0; k < t; ++k) {
    std::vector<Point> col;
    for (uint32_t p : dealers) {
      col.push_back(a_of.at(p)[k]);
    }
    absl::StatusOr<Point> s = Point::Sum(col);
    if (!s.ok()) {
      return AbortError(AbortClass::kBlame, {}, infinity);
    }
    sum_a.push_back(*s);
  }
  return sum_a;
}

absl::StatusOr<std::vector<Point>> PublicShares(const std::vector<Point>& sum_a,
                                                uint32_t count) {
  std::vector<Point> out;
  for (uint32_t m = 1; m <= count; ++m) {
    KAGI_ASSIGN_OR_RETURN(Point xm, EvaluateCommitments(sum_a, m));
    out.push_back(xm);
  }
  return out;
}

absl::Status CheckDealtShare(const crypto::Scalar& share,
                             const std::vector<Point>& a, uint32_t x,
                             uint32_t dealer, absl::string_view failure) {
  absl::StatusOr<Point> lhs = Point::MulGenerator(share);
  absl::StatusOr<Point> rhs = EvaluateCommitments(a, x);
  if (!lhs.ok() || !rhs.ok() || *lhs != *rhs) {
    return BlameError(dealer, failure);
  }
  return absl::OkStatus();
}

}  // namespace kagi::protocol::internal
