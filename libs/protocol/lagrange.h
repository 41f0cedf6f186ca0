// File: libs/protocol/lagrange.h
//
// Shamir helpers over the party indices (Shamir x-coordinates are the party
// ids, PROTOCOL.md intro): Lagrange coefficients at 0 and polynomial
// evaluation. All inputs here are public.
#ifndef KAGI_LIBS_PROTOCOL_LAGRANGE_H_
#define KAGI_LIBS_PROTOCOL_LAGRANGE_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"

namespace kagi::protocol {

// LagrangeAtZero returns λ_i = Π_{j ∈ set, j ≠ i} j / (j − i) mod n.
// KAGI_CHECKs that i is in `set`, ids are nonzero and distinct.
crypto::Scalar LagrangeAtZero(uint32_t i, absl::Span<const uint32_t> set);

// LagrangeAt returns λ_i(x) = Π_{j ∈ set, j ≠ i} (x − j) / (i − j) mod n,
// the coefficient of f(i) in f(x) for a polynomial of degree < |set|.
// Same preconditions as LagrangeAtZero (which is LagrangeAt(0, ...)).
crypto::Scalar LagrangeAt(uint32_t x, uint32_t i,
                          absl::Span<const uint32_t> set);

// EvaluatePolynomial returns Σ_k coeffs[k]·x^k (Horner; constant time in
// the coefficients).
crypto::Scalar EvaluatePolynomial(absl::Span<const crypto::Scalar> coeffs,
                                  uint32_t x);

// EvaluateCommitments returns Σ_k x^k·commitments[k] (Feldman), with public
// x. Fails only if the sum is the point at infinity.
absl::StatusOr<crypto::Point> EvaluateCommitments(
    absl::Span<const crypto::Point> commitments, uint32_t x);

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_LAGRANGE_H_
