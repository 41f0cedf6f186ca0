// File: libs/crypto/point.h
//
// `Point`: a point of secp256k1 other than the identity, backed by
// libsecp256k1 (Debian 12: 0.2.0) through one process-wide, randomized
// context (`secp_context.h`).
//
// libsecp256k1 cannot represent the point at infinity, and neither can
// `Point`: every operation whose result would be infinity returns an error
// (InvalidArgument "... is the point at infinity"). For honest inputs this has
// negligible probability, so callers treat it as misbehaviour of the party
// whose input caused it (PROTOCOL.md §2).
//
// The three multiplications say in their names which is which:
//   * `MulGenerator(secret)`            secret·G, constant time (ecmult_gen).
//   * `MulPublicScalarVartime(k)`        k·P for a PUBLIC k (tweak_mul, which
//                                        is variable time): Feldman powers,
//                                        Lagrange coefficients, challenges.
//   * `MulSecretScalar(secret)`          secret·P, constant time in the
//                                        secret (the ECDH path,
//                                        ecmult_const). P must be PUBLIC:
//                                        libsecp256k1 builds its table of
//                                        multiples of P in variable time.
//
// Wire encoding is 33-byte compressed SEC1 only (`FromCompressed`);
// `FromSec1` also takes 65-byte uncompressed keys for external formats.
// Points are public values and print their hex.
#ifndef KAGI_LIBS_CRYPTO_POINT_H_
#define KAGI_LIBS_CRYPTO_POINT_H_

#include <secp256k1.h>

#include <array>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/base/bytes.h"
#include "libs/base/secret.h"
#include "libs/crypto/scalar.h"

namespace kagi::crypto {

class Point {
 public:
  static constexpr size_t kCompressedBytes = 33;
  static constexpr size_t kUncompressedBytes = 65;

  // The generator G.
  static const Point& Generator();

  // FromCompressed parses exactly 33 bytes with prefix 0x02/0x03 whose x is on
  // the curve. `field` names the input in errors.
  static absl::StatusOr<Point> FromCompressed(
      ByteSpan bytes, absl::string_view field = "point");
  // FromSec1 also accepts 65-byte uncompressed (0x04) encodings. Hybrid
  // encodings (0x06/0x07) and the identity (0x00) are rejected.
  static absl::StatusOr<Point> FromSec1(ByteSpan bytes,
                                        absl::string_view field = "point");

  // MulGenerator returns secret·G in constant time. Fails if secret == 0.
  static absl::StatusOr<Point> MulGenerator(const Scalar& secret);

  // MulPublicScalarVartime returns k·P. VARIABLE TIME: k must be public.
  // Fails if k == 0.
  absl::StatusOr<Point> MulPublicScalarVartime(const Scalar& k) const;

  // MulSecretScalar returns secret·P in time independent of `secret`; *this
  // must be a public point (see the top of the file). Fails if secret == 0.
  // The product is read back into a Point by libsecp256k1's parser, which is
  // variable time: when the product is itself secret, use
  // MulSecretScalarCompressed.
  absl::StatusOr<Point> MulSecretScalar(const Scalar& secret) const;

  // MulSecretScalarCompressed returns the 33-byte compressed encoding of
  // secret·P as SecretBytes, for products that are themselves secret (the
  // base-OT keys). Fails if secret == 0.
  absl::StatusOr<SecretBytes> MulSecretScalarCompressed(
      const Scalar& secret) const;

  // Add returns *this + other; fails if the sum is infinity (other == -this).
  absl::StatusOr<Point> Add(const Point& other) const;
  // Negate returns -*this (never fails).
  Point Negate() const;
  // Sum returns the sum of `points`; fails if the list is empty or the sum is
  // infinity.
  static absl::StatusOr<Point> Sum(absl::Span<const Point> points);

  // ConditionalSwap swaps `a` and `b` when bit == 1 and leaves them when
  // bit == 0, in constant time (a masked swap of the internal
  // representation). `bit` must be 0 or 1; it may be secret.
  static void ConditionalSwap(uint64_t bit, Point& a, Point& b);

  std::array<uint8_t, kCompressedBytes> ToCompressed() const;
  std::array<uint8_t, kUncompressedBytes> ToUncompressed() const;
  // XModOrder returns the x-coordinate reduced mod n (the ECDSA r).
  Scalar XModOrder() const;
  // HasOddY tells the parity of the y-coordinate (the ECDSA recovery bit).
  bool HasOddY() const;

  std::string ToHex() const { return HexEncode(ToCompressed()); }

  friend bool operator==(const Point& a, const Point& b);
  friend bool operator!=(const Point& a, const Point& b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, const Point& p) {
    return os << "Point(" << p.ToHex() << ")";
  }
  template <typename Sink>
  friend void AbslStringify(Sink& sink, const Point& p) {
    sink.Append("Point(" + p.ToHex() + ")");
  }

  // Access for wrappers that call libsecp256k1 directly (ECDSA, BIP32).
  const secp256k1_pubkey& raw() const { return pk_; }
  static Point FromRaw(const secp256k1_pubkey& pk) { return Point(pk); }

 private:
  explicit Point(const secp256k1_pubkey& pk) : pk_(pk) {}
  secp256k1_pubkey pk_;
};

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_POINT_H_
