// File: libs/policy/amount.h
//
// Amount: an unsigned 256-bit quantity of an asset in its base unit (satoshi,
// wei, token units), as policy limits and velocity windows count them.
// Arithmetic refuses overflow instead of wrapping.
#ifndef KAGI_LIBS_POLICY_AMOUNT_H_
#define KAGI_LIBS_POLICY_AMOUNT_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"

namespace kagi::policy {

class Amount {
 public:
  Amount() = default;
  static Amount FromU64(uint64_t v);
  // FromBigEndian reads up to 32 big-endian bytes.
  static absl::StatusOr<Amount> FromBigEndian(ByteSpan bytes);
  // Parse reads a decimal string of digits only (no sign, no separators,
  // at most 78 digits), refusing values of 2^256 or more.
  static absl::StatusOr<Amount> Parse(absl::string_view decimal);

  std::array<uint8_t, 32> ToBigEndian() const;
  std::string ToString() const;  // decimal

  // Add returns *this + other, or OutOfRange on overflow.
  absl::StatusOr<Amount> Add(const Amount& other) const;
  // MulU64 returns *this * factor, or OutOfRange on overflow.
  absl::StatusOr<Amount> MulU64(uint64_t factor) const;

  friend bool operator<(const Amount& a, const Amount& b) {
    return a.limbs_ < b.limbs_;
  }
  friend bool operator>(const Amount& a, const Amount& b) { return b < a; }
  friend bool operator<=(const Amount& a, const Amount& b) { return !(b < a); }
  friend bool operator==(const Amount& a, const Amount& b) {
    return a.limbs_ == b.limbs_;
  }

 private:
  // Most significant limb first, so std::array's ordering is numeric.
  std::array<uint64_t, 4> limbs_{};
};

}  // namespace kagi::policy

#endif  // KAGI_LIBS_POLICY_AMOUNT_H_
