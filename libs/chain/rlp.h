// File: libs/chain/rlp.h
//
// Recursive Length Prefix (RLP), the serialization of Ethereum (yellow
// paper, appendix B). An item is either a byte string or a list of items:
//
//   string, 1 byte < 0x80 :  the byte itself
//   string, 0..55 bytes    :  0x80 + len ‖ bytes
//   string, >= 56 bytes    :  0xb7 + len(len) ‖ len (big-endian) ‖ bytes
//   list, payload 0..55    :  0xc0 + len ‖ concatenated items
//   list, payload >= 56    :  0xf7 + len(len) ‖ len (big-endian) ‖ items
//
// The decoder is strict: it accepts exactly the encodings RlpEncode
// produces, so that decode → encode gives back the input bytes and a value
// has one encoding only. It refuses a single byte below 0x80 wrapped as
// 0x81 ‖ b, a long form for a length below 56, a length with a leading zero
// byte, an item that runs past the end of the input or of its enclosing
// list, trailing bytes after the top-level item, nesting deeper than
// RlpLimits::max_depth, inputs larger than RlpLimits::max_input_bytes and
// more than RlpLimits::max_items items.
// Errors are InvalidArgument "rlp: <rule> at offset <n>" where n is the
// offset of the offending item's first byte in the input.
//
// Integers (nonces, amounts) are big-endian byte strings without leading
// zero bytes; zero is the empty string. RlpToUint64 / RlpToUint256 refuse
// any other form (InvalidArgument naming the field).
#ifndef KAGI_LIBS_CHAIN_RLP_H_
#define KAGI_LIBS_CHAIN_RLP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"

namespace kagi::chain {

// RlpItem is a decoded item: a byte string (is_list == false, `bytes`) or a
// list (is_list == true, `items`).
struct RlpItem {
  bool is_list = false;
  Bytes bytes;
  std::vector<RlpItem> items;

  static RlpItem String(Bytes b) {
    RlpItem item;
    item.bytes = std::move(b);
    return item;
  }
  static RlpItem List(std::vector<RlpItem> children) {
    RlpItem item;
    item.is_list = true;
    item.items = std::move(children);
    return item;
  }

  friend bool operator==(const RlpItem& a, const RlpItem& b) {
    return a.is_list == b.is_list && a.bytes == b.bytes && a.items == b.items;
  }
  friend bool operator!=(const RlpItem& a, const RlpItem& b) {
    return !(a == b);
  }
};

// RlpLimits bounds what RlpDecode accepts. max_depth counts list levels: a
// top-level list is depth 1, a list inside it depth 2.
struct RlpLimits {
  size_t max_depth = 16;
  size_t max_input_bytes = size_t{1} << 20;
  // max_items bounds the number of decoded items (strings and lists, the
  // top-level item included), which bounds the memory of the tree.
  size_t max_items = size_t{1} << 17;
};

// RlpDecode parses exactly one item spanning all of `input`. See the file
// comment for the rules; every violation is InvalidArgument.
absl::StatusOr<RlpItem> RlpDecode(ByteSpan input,
                                  const RlpLimits& limits = RlpLimits());

// RlpEncode returns the canonical encoding of `item`.
Bytes RlpEncode(const RlpItem& item);

// Canonical integer scalars. Uint256 values are 32-byte big-endian.
using Uint256 = std::array<uint8_t, 32>;

// RlpToUint64 reads a string item as a canonical integer below 2^64.
// Returns InvalidArgument naming `field` if the item is a list, longer than
// 8 bytes, or has a leading zero byte (including the one-byte string 0x00).
absl::StatusOr<uint64_t> RlpToUint64(const RlpItem& item,
                                     absl::string_view field);
// RlpToUint256 is RlpToUint64 for values below 2^256 (up to 32 bytes).
absl::StatusOr<Uint256> RlpToUint256(const RlpItem& item,
                                     absl::string_view field);

// RlpFromUint64 / RlpFromUint256 return the canonical string item of a value
// (minimal big-endian, zero as the empty string).
RlpItem RlpFromUint64(uint64_t value);
RlpItem RlpFromUint256(const Uint256& value);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_RLP_H_
