// File: libs/base/bytes.h
//
// Byte-string vocabulary shared by every Kagi library: the `Bytes` and
// `ByteSpan` aliases, hex encoding, fixed-width big-endian integers, and a
// strict `ByteReader` / `ByteWriter` pair for the canonical encodings of the
// wire formats and stored records.
//
// `ByteReader` is the one place where untrusted input is sliced. Every read
// names the field it reads, so a decoding error says what was wrong
// ("truncated ot.msg1.r0[17]: need 33 bytes, have 5"); `ExpectEnd` rejects
// trailing bytes. None of these functions treat their input as secret: do not
// pass key material through `HexEncode` outside of tests.
#ifndef KAGI_LIBS_BASE_BYTES_H_
#define KAGI_LIBS_BASE_BYTES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kagi {

using Bytes = std::vector<uint8_t>;
using ByteSpan = absl::Span<const uint8_t>;

// AsBytes views the characters of `s` as bytes (no copy).
inline ByteSpan AsBytes(absl::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// ToBytes copies a span into an owned `Bytes`.
inline Bytes ToBytes(ByteSpan s) { return Bytes(s.begin(), s.end()); }

// HexEncode returns lower-case hex of `data`.
std::string HexEncode(ByteSpan data);

// HexDecode parses an even-length hex string (either case). Returns
// InvalidArgument naming the offending position otherwise.
absl::StatusOr<Bytes> HexDecode(absl::string_view hex);

// HexDecodeFixed parses hex that must decode to exactly N bytes.
template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> HexDecodeFixed(absl::string_view hex);

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the byte-order helpers assume a little-endian host");

// Big-endian fixed-width integer helpers (inline: they sit in hot loops).
inline void StoreBigEndian32(uint32_t v, uint8_t out[4]) {
  v = __builtin_bswap32(v);
  std::memcpy(out, &v, 4);
}
inline void StoreBigEndian64(uint64_t v, uint8_t out[8]) {
  v = __builtin_bswap64(v);
  std::memcpy(out, &v, 8);
}
inline uint32_t LoadBigEndian32(const uint8_t in[4]) {
  uint32_t v;
  std::memcpy(&v, in, 4);
  return __builtin_bswap32(v);
}
inline uint64_t LoadBigEndian64(const uint8_t in[8]) {
  uint64_t v;
  std::memcpy(&v, in, 8);
  return __builtin_bswap64(v);
}

// ByteWriter appends canonical encodings to a growing buffer.
class ByteWriter {
 public:
  ByteWriter() = default;

  void PutU8(uint8_t v) { out_.push_back(v); }
  void PutU32(uint32_t v);
  void PutU64(uint64_t v);
  // PutRaw appends bytes without a length (fixed-size fields).
  void PutRaw(ByteSpan data) {
    out_.insert(out_.end(), data.begin(), data.end());
  }
  // PutLengthPrefixed appends u32 big-endian length ‖ data.
  void PutLengthPrefixed(ByteSpan data);

  const Bytes& bytes() const { return out_; }
  Bytes Take() && { return std::move(out_); }

 private:
  Bytes out_;
};

// ByteReader consumes a buffer front to back. Every read takes the name of the
// field being read and fails with InvalidArgument("truncated <field>: ...")
// when the input is too short. The reader does not own the buffer.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  absl::StatusOr<uint8_t> ReadU8(absl::string_view field);
  // PeekU8 returns the next byte without consuming it.
  absl::StatusOr<uint8_t> PeekU8(absl::string_view field) const;
  // ReadU32 / ReadU64: big-endian (the protocol's encodings).
  absl::StatusOr<uint32_t> ReadU32(absl::string_view field);
  absl::StatusOr<uint64_t> ReadU64(absl::string_view field);
  // ReadU16Le / ReadU32Le / ReadU64Le: little-endian (Bitcoin's encodings).
  absl::StatusOr<uint16_t> ReadU16Le(absl::string_view field);
  absl::StatusOr<uint32_t> ReadU32Le(absl::string_view field);
  absl::StatusOr<uint64_t> ReadU64Le(absl::string_view field);
  // ReadSpan returns a view of the next `len` bytes.
  absl::StatusOr<ByteSpan> ReadSpan(size_t len, absl::string_view field);
  // ReadFixed copies the next N bytes.
  template <size_t N>
  absl::StatusOr<std::array<uint8_t, N>> ReadFixed(absl::string_view field);
  // ReadLengthPrefixed reads u32 length ‖ bytes, refusing lengths above
  // `max_len` before looking at the bytes.
  absl::StatusOr<ByteSpan> ReadLengthPrefixed(size_t max_len,
                                              absl::string_view field);
  // ExpectEnd fails with InvalidArgument if any bytes remain.
  absl::Status ExpectEnd(absl::string_view what) const;

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  // ReadLe reads an N-byte little-endian unsigned integer.
  template <typename T>
  absl::StatusOr<T> ReadLe(absl::string_view field);

  ByteSpan data_;
  size_t pos_ = 0;
};

// --- template definitions ---

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> HexDecodeFixed(absl::string_view hex) {
  absl::StatusOr<Bytes> raw = HexDecode(hex);
  if (!raw.ok()) {
    return raw.status();
  }
  if (raw->size() != N) {
    return absl::InvalidArgumentError("hex: expected " + std::to_string(N) +
                                      " bytes, got " +
                                      std::to_string(raw->size()));
  }
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    out[i] = (*raw)[i];
  }
  return out;
}

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> ByteReader::ReadFixed(
    absl::string_view field) {
  absl::StatusOr<ByteSpan> s = ReadSpan(N, field);
  if (!s.ok()) {
    return s.status();
  }
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    out[i] = (*s)[i];
  }
  return out;
}

}  // namespace kagi

#endif  // KAGI_LIBS_BASE_BYTES_H_
