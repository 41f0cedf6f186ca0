// File: libs/crypto/scalar.h
//
// `Scalar`: an integer modulo the secp256k1 group order
//   n = FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFE BAAEDCE6 AF48A03B BFD25E8C
//   D0364141.
//
// Representation: four 64-bit limbs, least significant first, always fully
// reduced (0 <= value < n). Every arithmetic operation runs in time that does
// not depend on the values: fixed loop bounds, no secret-dependent branches or
// table indices, masks instead of conditionals (PROTOCOL.md §2). Inversion is
// Fermat's a^(n-2) over the public exponent.
//
// Scalars hold key shares, nonces and OT outputs, so they wipe their limbs on
// destruction and never print their value (AbslStringify / operator<< print
// "Scalar(<redacted>)"). Use `ToBytes` to encode; the caller owns the copy.
//
// Decoding untrusted bytes goes through `FromCanonicalBytes` (rejects values
// >= n) or `FromCanonicalBytesNonZero`; the reducing constructors
// (`FromBytesModOrder`, `FromWideBytes`) are for hash outputs and message
// digests, never for wire scalars.
#ifndef KAGI_LIBS_CRYPTO_SCALAR_H_
#define KAGI_LIBS_CRYPTO_SCALAR_H_

#include <array>
#include <cstdint>
#include <ostream>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"

namespace kagi::crypto {

class Scalar {
 public:
  static constexpr size_t kBytes = 32;

  // Zero.
  Scalar() : limbs_{0, 0, 0, 0} {}
  Scalar(const Scalar&) = default;
  Scalar& operator=(const Scalar&) = default;
  ~Scalar();

  static Scalar Zero() { return Scalar(); }
  static Scalar One() { return FromUint64(1); }
  static Scalar FromUint64(uint64_t v);

  // FromCanonicalBytes decodes 32 big-endian bytes. Returns InvalidArgument if
  // the length is not 32 or the value is >= n. `field` names the input in the
  // error ("sign.p3.psi").
  static absl::StatusOr<Scalar> FromCanonicalBytes(
      ByteSpan bytes, absl::string_view field = "scalar");
  // As FromCanonicalBytes, and also rejects zero.
  static absl::StatusOr<Scalar> FromCanonicalBytesNonZero(
      ByteSpan bytes, absl::string_view field = "scalar");
  // FromBytesModOrder reads 32 big-endian bytes and reduces mod n (used for
  // ECDSA message digests and x-coordinates).
  static Scalar FromBytesModOrder(const std::array<uint8_t, 32>& bytes);
  // FromWideBytes reads 64 big-endian bytes and reduces mod n (used for hash
  // outputs, giving a bias below 2^-256).
  static Scalar FromWideBytes(const std::array<uint8_t, 64>& bytes);

  // Random draws a uniformly distributed scalar (64 bytes reduced mod n).
  static Scalar Random(Rng& rng);
  // RandomNonZero draws from [1, n-1].
  static Scalar RandomNonZero(Rng& rng);

  // ToBytes encodes 32 big-endian bytes. The result is as secret as *this.
  std::array<uint8_t, 32> ToBytes() const;

  Scalar Add(const Scalar& b) const;
  Scalar Sub(const Scalar& b) const;
  Scalar Negate() const;
  Scalar Mul(const Scalar& b) const;
  Scalar Square() const { return Mul(*this); }
  // Invert returns a^(n-2): the inverse for a != 0, and 0 for a == 0.
  Scalar Invert() const;

  // InnerProduct returns Σ a[i]·b[i] mod n, accumulating the 512-bit
  // products unreduced and reducing once (so a long sum costs about one
  // schoolbook product per term). Constant time for the given length (the
  // length is public). KAGI_CHECKs that the spans have equal length, at most
  // 2^16 terms.
  static Scalar InnerProduct(absl::Span<const Scalar> a,
                             absl::Span<const Scalar> b);

  // IsZero and operator== run in constant time; their result is revealed.
  bool IsZero() const;
  // IsHigh: value > (n-1)/2 (the "high-S" half). Constant time.
  bool IsHigh() const;

  // ConditionalSelect returns `if_one` when bit == 1 and `if_zero` when
  // bit == 0, in constant time. `bit` must be 0 or 1.
  static Scalar ConditionalSelect(uint64_t bit, const Scalar& if_one,
                                  const Scalar& if_zero);

  Scalar operator+(const Scalar& b) const { return Add(b); }
  Scalar operator-(const Scalar& b) const { return Sub(b); }
  Scalar operator-() const { return Negate(); }
  Scalar operator*(const Scalar& b) const { return Mul(b); }
  Scalar& operator+=(const Scalar& b) { return *this = Add(b); }
  Scalar& operator-=(const Scalar& b) { return *this = Sub(b); }
  Scalar& operator*=(const Scalar& b) { return *this = Mul(b); }

  friend bool operator==(const Scalar& a, const Scalar& b);
  friend bool operator!=(const Scalar& a, const Scalar& b) { return !(a == b); }

  template <typename Sink>
  friend void AbslStringify(Sink& sink, const Scalar& /*s*/) {
    sink.Append("Scalar(<redacted>)");
  }
  friend std::ostream& operator<<(std::ostream& os, const Scalar& /*s*/) {
    return os << "Scalar(<redacted>)";
  }

 private:
  using Limbs = std::array<uint64_t, 4>;
  explicit Scalar(const Limbs& limbs) : limbs_(limbs) {}

  Limbs limbs_;
};

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_SCALAR_H_
