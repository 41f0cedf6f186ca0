#include "libs/base/bytes.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace kagi {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::string HexEncode(ByteSpan data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(data.size() * 2);
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

absl::StatusOr<Bytes> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex: odd length ", hex.size()));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hex: invalid digit at position ", hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

void ByteWriter::PutU32(uint32_t v) {
  uint8_t b[4];
  StoreBigEndian32(v, b);
  PutRaw(ByteSpan(b, 4));
}

void ByteWriter::PutU64(uint64_t v) {
  uint8_t b[8];
  StoreBigEndian64(v, b);
  PutRaw(ByteSpan(b, 8));
}

void ByteWriter::PutLengthPrefixed(ByteSpan data) {
  PutU32(static_cast<uint32_t>(data.size()));
  PutRaw(data);
}

absl::StatusOr<ByteSpan> ByteReader::ReadSpan(size_t len,
                                              absl::string_view field) {
  if (remaining() < len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncated ", field, ": need ", len, " bytes, have ", remaining()));
  }
  ByteSpan out = data_.subspan(pos_, len);
  pos_ += len;
  return out;
}

absl::StatusOr<uint8_t> ByteReader::ReadU8(absl::string_view field) {
  absl::StatusOr<ByteSpan> s = ReadSpan(1, field);
  if (!s.ok()) {
    return s.status();
  }
  return (*s)[0];
}

absl::StatusOr<uint8_t> ByteReader::PeekU8(absl::string_view field) const {
  if (remaining() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncated ", field, ": need 1 bytes, have ", remaining()));
  }
  return data_[pos_];
}

template <typename T>
absl::StatusOr<T> ByteReader::ReadLe(absl::string_view field) {
  absl::StatusOr<ByteSpan> s = ReadSpan(sizeof(T), field);
  if (!s.ok()) {
    return s.status();
  }
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<T>((*s)[i]) << (8 * i));
  }
  return v;
}

absl::StatusOr<uint16_t> ByteReader::ReadU16Le(absl::string_view field) {
  return ReadLe<uint16_t>(field);
}

absl::StatusOr<uint32_t> ByteReader::ReadU32Le(absl::string_view field) {
  return ReadLe<uint32_t>(field);
}

absl::StatusOr<uint64_t> ByteReader::ReadU64Le(absl::string_view field) {
  return ReadLe<uint64_t>(field);
}

absl::StatusOr<uint32_t> ByteReader::ReadU32(absl::string_view field) {
  absl::StatusOr<ByteSpan> s = ReadSpan(4, field);
  if (!s.ok()) {
    return s.status();
  }
  return LoadBigEndian32(s->data());
}

absl::StatusOr<uint64_t> ByteReader::ReadU64(absl::string_view field) {
  absl::StatusOr<ByteSpan> s = ReadSpan(8, field);
  if (!s.ok()) {
    return s.status();
  }
  return LoadBigEndian64(s->data());
}

absl::StatusOr<ByteSpan> ByteReader::ReadLengthPrefixed(
    size_t max_len, absl::string_view field) {
  absl::StatusOr<uint32_t> len = ReadU32(field);
  if (!len.ok()) {
    return len.status();
  }
  if (*len > max_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": length ", *len, " exceeds the limit of ", max_len));
  }
  return ReadSpan(*len, field);
}

absl::Status ByteReader::ExpectEnd(absl::string_view what) const {
  if (remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", remaining(), " trailing bytes"));
  }
  return absl::OkStatus();
}

}  // namespace kagi
