#include "libs/policy/amount.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kagi::policy {

Amount Amount::FromU64(uint64_t v) {
  Amount a;
  a.limbs_[3] = v;
  return a;
}

absl::StatusOr<Amount> Amount::FromBigEndian(ByteSpan bytes) {
  if (bytes.size() > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount: ", bytes.size(), " bytes, at most 32"));
  }
  Amount a;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const size_t bit = (bytes.size() - 1 - i) * 8;  // from the low end
    a.limbs_[3 - bit / 64] |= static_cast<uint64_t>(bytes[i]) << (bit % 64);
  }
  return a;
}

absl::StatusOr<Amount> Amount::Parse(absl::string_view decimal) {
  if (decimal.empty() || decimal.size() > 78) {
    return absl::InvalidArgumentError(absl::StrCat(
        "amount '", decimal.substr(0, 80), "': must be 1..78 decimal digits"));
  }
  Amount a;
  for (char c : decimal) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(absl::StrCat(
          "amount '", decimal, "': only decimal digits are allowed"));
    }
    // a = a * 10 + digit, limb by limb from the low end.
    unsigned __int128 carry = static_cast<unsigned>(c - '0');
    for (size_t i = 4; i-- > 0;) {
      const unsigned __int128 v =
          static_cast<unsigned __int128>(a.limbs_[i]) * 10 + carry;
      a.limbs_[i] = static_cast<uint64_t>(v);
      carry = v >> 64;
    }
    if (carry != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("amount '", decimal, "': 2^256 or more"));
    }
  }
  return a;
}

std::array<uint8_t, 32> Amount::ToBigEndian() const {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 32; ++i) {
    out[i] = static_cast<uint8_t>(limbs_[i / 8] >> (56 - 8 * (i % 8)));
  }
  return out;
}

std::string Amount::ToString() const {
  std::array<uint64_t, 4> v = limbs_;
  std::string digits;
  auto is_zero = [&v] {
    return std::all_of(v.begin(), v.end(), [](uint64_t l) { return l == 0; });
  };
  do {
    // v /= 10, remainder into digits.
    unsigned __int128 rem = 0;
    for (size_t i = 0; i < 4; ++i) {
      const unsigned __int128 cur = (rem << 64) | v[i];
      v[i] = static_cast<uint64_t>(cur / 10);
      rem = cur % 10;
    }
    digits.push_back(static_cast<char>('0' + static_cast<int>(rem)));
  } while (!is_zero());
  std::reverse(digits.begin(), digits.end());
  return digits;
}

absl::StatusOr<Amount> Amount::Add(const Amount& other) const {
  Amount out;
  unsigned __int128 carry = 0;
  for (size_t i = 4; i-- > 0;) {
    const unsigned __int128 v =
        static_cast<unsigned __int128>(limbs_[i]) + other.limbs_[i] + carry;
    out.limbs_[i] = static_cast<uint64_t>(v);
    carry = v >> 64;
  }
  if (carry != 0) return absl::OutOfRangeError("amount overflows 2^256");
  return out;
}

absl::StatusOr<Amount> Amount::MulU64(uint64_t factor) const {
  Amount out;
  unsigned __int128 carry = 0;
  for (size_t i = 4; i-- > 0;) {
    const unsigned __int128 v =
        static_cast<unsigned __int128>(limbs_[i]) * factor + carry;
    out.limbs_[i] = static_cast<uint64_t>(v);
    carry = v >> 64;
  }
  if (carry != 0) return absl::OutOfRangeError("amount overflows 2^256");
  return out;
}

}  // namespace kagi::policy
