// File: libs/chain/rlp.cc
//
// Strict RLP decoding and canonical encoding; see rlp.h. The decoder walks
// the input once, recursively, with the end of the enclosing list as the
// bound for every item inside it.
#include "libs/chain/rlp.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"

namespace kagi::chain {
namespace {

constexpr uint8_t kShortStringBase = 0x80;
constexpr uint8_t kLongStringBase = 0xb7;
constexpr uint8_t kShortListBase = 0xc0;
constexpr uint8_t kLongListBase = 0xf7;
constexpr size_t kMaxShortLength = 55;

absl::Status Error(absl::string_view rule, size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("rlp: ", rule, " at offset ", offset));
}

class Decoder {
 public:
  Decoder(ByteSpan input, const RlpLimits& limits)
      : input_(input), limits_(limits) {}

  // DecodeItem decodes the item starting at `pos`, which must end at or
  // before `end`; advances `pos` past it. `depth` is the list depth of the
  // item's parent.
  absl::StatusOr<RlpItem> DecodeItem(size_t& pos, size_t end, size_t depth) {
    const size_t offset = pos;
    if (pos >= end) {
      return Error("truncated item (no header byte)", offset);
    }
    if (++items_ > limits_.max_items) {
      return Error(absl::StrCat("more than ", limits_.max_items, " items"),
                   offset);
    }
    const uint8_t prefix = input_[pos++];
    if (prefix < kShortStringBase) {
      return RlpItem::String(Bytes{prefix});
    }
    const bool is_list = prefix >= kShortListBase;
    const uint8_t short_base = is_list ? kShortListBase : kShortStringBase;
    const uint8_t long_base = is_list ? kLongListBase : kLongStringBase;
    size_t length = 0;
    if (prefix <= long_base) {
      length = static_cast<size_t>(prefix - short_base);
    } else {
      const size_t length_of_length = static_cast<size_t>(prefix - long_base);
      if (end - pos < length_of_length) {
        return Error("truncated length", offset);
      }
      if (input_[pos] == 0) {
        return Error("leading zero byte in length", offset);
      }
      uint64_t value = 0;
      for (size_t i = 0; i < length_of_length; ++i) {
        value = (value << 8) | input_[pos + i];
      }
      pos += length_of_length;
      if (value <= kMaxShortLength) {
        return Error(absl::StrCat("non-canonical length (long form for ", value,
                                  " bytes)"),
                     offset);
      }
      if (value > end - pos) {
        return Error(absl::StrCat("truncated ", is_list ? "list" : "string",
                                  " (declares ", value, " bytes, ", end - pos,
                                  " available)"),
                     offset);
      }
      length = static_cast<size_t>(value);
    }
    if (length > end - pos) {
      return Error(
          absl::StrCat("truncated ", is_list ? "list" : "string", " (declares ",
                       length, " bytes, ", end - pos, " available)"),
          offset);
    }
    if (!is_list) {
      if (length == 1 && input_[pos] < kShortStringBase) {
        return Error(
            "non-canonical single byte (a byte below 0x80 must not "
            "be wrapped)",
            offset);
      }
      RlpItem item = RlpItem::String(
          Bytes(input_.begin() + static_cast<ptrdiff_t>(pos),
                input_.begin() + static_cast<ptrdiff_t>(pos + length)));
      pos += length;
      return item;
    }
    if (depth + 1 > limits_.max_depth) {
      return Error(absl::StrCat("lists nested deeper than ", limits_.max_depth),
                   offset);
    }
    const size_t list_end = pos + length;
    RlpItem list = RlpItem::List({});
    while (pos < list_end) {
      KAGI_ASSIGN_OR_RETURN(RlpItem child,
                            DecodeItem(pos, list_end, depth + 1));
      list.items.push_back(std::move(child));
    }
    return list;
  }

 private:
  ByteSpan input_;
  const RlpLimits& limits_;
  size_t items_ = 0;
};

void AppendLength(size_t length, uint8_t short_base, uint8_t long_base,
                  Bytes& out) {
  if (length <= kMaxShortLength) {
    out.push_back(static_cast<uint8_t>(short_base + length));
    return;
  }
  uint8_t be[8];
  StoreBigEndian64(static_cast<uint64_t>(length), be);
  size_t skip = 0;
  while (be[skip] == 0) {
    ++skip;
  }
  out.push_back(static_cast<uint8_t>(long_base + (8 - skip)));
  out.insert(out.end(), be + skip, be + 8);
}

void EncodeInto(const RlpItem& item, Bytes& out) {
  if (!item.is_list) {
    if (item.bytes.size() == 1 && item.bytes[0] < kShortStringBase) {
      out.push_back(item.bytes[0]);
      return;
    }
    AppendLength(item.bytes.size(), kShortStringBase, kLongStringBase, out);
    out.insert(out.end(), item.bytes.begin(), item.bytes.end());
    return;
  }
  Bytes payload;
  for (const RlpItem& child : item.items) {
    EncodeInto(child, payload);
  }
  AppendLength(payload.size(), kShortListBase, kLongListBase, out);
  out.insert(out.end(), payload.begin(), payload.end());
}

// CanonicalScalar checks `item` is a canonical integer of at most
// `max_bytes` bytes and returns its bytes.
absl::StatusOr<ByteSpan> CanonicalScalar(const RlpItem& item, size_t max_bytes,
                                         absl::string_view field) {
  if (item.is_list) {
    return absl::InvalidArgumentError(
        absl::StrCat("rlp: ", field, " must be an integer, got a list"));
  }
  if (item.bytes.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rlp: ", field, " is ", item.bytes.size(),
        " bytes long (an integer of at most ", max_bytes, " bytes expected)"));
  }
  if (!item.bytes.empty() && item.bytes[0] == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rlp: ", field, " is a non-canonical integer (leading zero byte)"));
  }
  return ByteSpan(item.bytes);
}

}  // namespace

absl::StatusOr<RlpItem> RlpDecode(ByteSpan input, const RlpLimits& limits) {
  if (input.size() > limits.max_input_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("rlp: input of ", input.size(),
                     " bytes exceeds the limit of ", limits.max_input_bytes));
  }
  Decoder decoder(input, limits);
  size_t pos = 0;
  KAGI_ASSIGN_OR_RETURN(RlpItem item, decoder.DecodeItem(pos, input.size(), 0));
  if (pos != input.size()) {
    return Error(absl::StrCat(input.size() - pos,
                              " trailing bytes after the top-level item"),
                 pos);
  }
  return item;
}

Bytes RlpEncode(const RlpItem& item) {
  Bytes out;
  EncodeInto(item, out);
  return out;
}

absl::StatusOr<uint64_t> RlpToUint64(const RlpItem& item,
                                     absl::string_view field) {
  KAGI_ASSIGN_OR_RETURN(ByteSpan bytes, CanonicalScalar(item, 8, field));
  uint64_t value = 0;
  for (uint8_t b : bytes) {
    value = (value << 8) | b;
  }
  return value;
}

absl::StatusOr<Uint256> RlpToUint256(const RlpItem& item,
                                     absl::string_view field) {
  KAGI_ASSIGN_OR_RETURN(ByteSpan bytes, CanonicalScalar(item, 32, field));
  Uint256 value{};
  std::copy(bytes.begin(), bytes.end(),
            value.begin() + static_cast<ptrdiff_t>(32 - bytes.size()));
  return value;
}

RlpItem RlpFromUint64(uint64_t value) {
  uint8_t be[8];
  StoreBigEndian64(value, be);
  size_t skip = 0;
  while (skip < 8 && be[skip] == 0) {
    ++skip;
  }
  return RlpItem::String(Bytes(be + skip, be + 8));
}

RlpItem RlpFromUint256(const Uint256& value) {
  size_t skip = 0;
  while (skip < value.size() && value[skip] == 0) {
    ++skip;
  }
  return RlpItem::String(
      Bytes(value.begin() + static_cast<ptrdiff_t>(skip), value.end()));
}

}  // namespace kagi::chain
