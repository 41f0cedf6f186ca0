// File: libs/protocol/internal/feldman.h  (not API)
//
// Feldman commitments as DKG and reshare use them (PROTOCOL.md §3.4–3.5):
// the combined commitment A_k = Σ_p A_p,k, the public shares
// X_m = Σ_k m^k·A_k, and the check of one dealt share.
#ifndef KAGI_LIBS_PROTOCOL_INTERNAL_FELDMAN_H_
#define KAGI_LIBS_PROTOCOL_INTERNAL_FELDMAN_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"

namespace kagi::protocol::internal {

// SumCommitments returns A_k = Σ_{p in dealers} a_of[p][k] for k < t; a sum
// at infinity is a class-B abort without culprit, reading `infinity`.
absl::StatusOr<std::vector<crypto::Point>> SumCommitments(
    const std::map<uint32_t, std::vector<crypto::Point>>& a_of,
    const std::vector<uint32_t>& dealers, uint32_t t,
    absl::string_view infinity);

// PublicShares returns X_m = Σ_k m^k·A_k for m = 1..count.
absl::StatusOr<std::vector<crypto::Point>> PublicShares(
    const std::vector<crypto::Point>& sum_a, uint32_t count);

// CheckDealtShare blames `dealer` (reading `failure`) unless
// share·G = Σ_k x^k·a[k].
absl::Status CheckDealtShare(const crypto::Scalar& share,
                             const std::vector<crypto::Point>& a, uint32_t x,
                             uint32_t dealer, absl::string_view failure);

}  // namespace kagi::protocol::internal

#endif  // KAGI_LIBS_PROTOCOL_INTERNAL_FELDMAN_H_
