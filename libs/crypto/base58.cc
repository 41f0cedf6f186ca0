#include "libs/crypto/base58.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "libs/base/secret.h"
#include "libs/crypto/hash.h"

namespace kagi::crypto {
namespace {

constexpr char kAlphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr uint32_t kRadix = 58;

// Digit value of each byte, or kNotADigit if it is not in the alphabet.
constexpr uint8_t kNotADigit = 0xff;
constexpr std::array<uint8_t, 256> MakeDigitTable() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table) {
    entry = kNotADigit;
  }
  for (uint8_t i = 0; i < kRadix; ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = i;
  }
  return table;
}
constexpr std::array<uint8_t, 256> kDigitTable = MakeDigitTable();

// A growable scratch buffer that is wiped when freed.
template <typename T>
using ScratchVector = std::vector<T, WipingAllocator<T>>;

std::string Printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) {
    return std::string("'") + c + "'";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
}

}  // namespace

std::string Base58Encode(ByteSpan data) {
  size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) {
    ++zeros;
  }
  // Base-58 digits of the remaining big-endian number, least significant
  // first. log(256)/log(58) < 1.37, so 138% of the length is enough.
  ScratchVector<uint8_t> digits;
  digits.reserve((data.size() - zeros) * 138 / 100 + 1);
  for (size_t i = zeros; i < data.size(); ++i) {
    uint32_t carry = data[i];
    for (uint8_t& digit : digits) {
      carry += static_cast<uint32_t>(digit) << 8;
      digit = static_cast<uint8_t>(carry % kRadix);
      carry /= kRadix;
    }
    while (carry != 0) {
      digits.push_back(static_cast<uint8_t>(carry % kRadix));
      carry /= kRadix;
    }
  }
  std::string out(zeros, kAlphabet[0]);
  out.reserve(zeros + digits.size());
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    out.push_back(kAlphabet[*it]);
  }
  return out;
}

absl::StatusOr<Bytes> Base58Decode(absl::string_view text) {
  if (text.size() > kBase58MaxDecodeChars) {
    return absl::InvalidArgumentError("base58: input is " +
                                      std::to_string(text.size()) +
                                      " characters, more than the limit of " +
                                      std::to_string(kBase58MaxDecodeChars));
  }
  size_t ones = 0;
  while (ones < text.size() && text[ones] == kAlphabet[0]) {
    ++ones;
  }
  // Base-256 digits of the number, least significant first.
  ScratchVector<uint8_t> bytes;
  bytes.reserve((text.size() - ones) * 733 / 1000 + 1);  // log(58)/log(256)
  for (size_t i = ones; i < text.size(); ++i) {
    const uint8_t value = kDigitTable[static_cast<unsigned char>(text[i])];
    if (value == kNotADigit) {
      return absl::InvalidArgumentError("base58: invalid character " +
                                        Printable(text[i]) + " at position " +
                                        std::to_string(i));
    }
    uint32_t carry = value;
    for (uint8_t& byte : bytes) {
      carry += static_cast<uint32_t>(byte) * kRadix;
      byte = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry != 0) {
      bytes.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  Bytes out(ones, 0);
  out.reserve(ones + bytes.size());
  out.insert(out.end(), bytes.rbegin(), bytes.rend());
  return out;
}

std::string Base58CheckEncode(ByteSpan payload) {
  ScratchVector<uint8_t> buf(payload.begin(), payload.end());
  const Digest32 check = Hash256(payload);
  buf.insert(buf.end(), check.begin(),
             check.begin() + kBase58CheckChecksumBytes);
  return Base58Encode(ByteSpan(buf.data(), buf.size()));
}

absl::StatusOr<Bytes> Base58CheckDecode(absl::string_view text) {
  absl::StatusOr<Bytes> raw = Base58Decode(text);
  if (!raw.ok()) {
    return raw.status();
  }
  if (raw->size() < kBase58CheckChecksumBytes) {
    const size_t got = raw->size();
    SecureWipe(raw->data(), raw->size());
    return absl::InvalidArgumentError(
        "base58check: too short: need at least " +
        std::to_string(kBase58CheckChecksumBytes) +
        " checksum bytes, decoded " + std::to_string(got));
  }
  const size_t payload_len = raw->size() - kBase58CheckChecksumBytes;
  const ByteSpan payload(raw->data(), payload_len);
  const Digest32 check = Hash256(payload);
  if (!std::equal(check.begin(), check.begin() + kBase58CheckChecksumBytes,
                  raw->begin() + static_cast<std::ptrdiff_t>(payload_len))) {
    SecureWipe(raw->data(), raw->size());
    return absl::InvalidArgumentError("base58check: checksum mismatch");
  }
  raw->resize(payload_len);
  return raw;
}

}  // namespace kagi::crypto
