// File: libs/protocol/common/ids.h
//
// Identifiers and hard limits shared by every threshold protocol (PROTOCOL.md
// §3.1): the operation code carried in setups and envelope headers, the
// pseudo-recipient for broadcasts, and the bounds that decoders enforce before
// they allocate anything.
#ifndef KAGI_LIBS_PROTOCOL_COMMON_IDS_H_
#define KAGI_LIBS_PROTOCOL_COMMON_IDS_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace kagi::protocol {

// Op is the operation a session runs. The values are wire values (setup and
// envelope header byte); never renumber them.
enum class Op : uint8_t { kDkg = 1, kSign = 2, kReshare = 3 };

// kBroadcast is the envelope `to` of a broadcast (party ids start at 1).
inline constexpr uint32_t kBroadcast = 0;
// kMaxParties bounds n.
inline constexpr uint32_t kMaxParties = 16;
// kMaxSignItems bounds the number of digests one SIGN session signs.
inline constexpr size_t kMaxSignItems = 64;
// kMaxPathDepth bounds the length of a BIP32 derivation path.
inline constexpr size_t kMaxPathDepth = 255;

// OpName returns "dkg", "sign", "reshare", or "unknown" for any other value.
inline absl::string_view OpName(Op op) {
  switch (op) {
    case Op::kDkg:
      return "dkg";
    case Op::kSign:
      return "sign";
    case Op::kReshare:
      return "reshare";
  }
  return "unknown";
}

// OpFromWire maps a wire byte to an Op, or nullopt if it names no operation.
inline std::optional<Op> OpFromWire(uint8_t v) {
  switch (v) {
    case static_cast<uint8_t>(Op::kDkg):
      return Op::kDkg;
    case static_cast<uint8_t>(Op::kSign):
      return Op::kSign;
    case static_cast<uint8_t>(Op::kReshare):
      return Op::kReshare;
    default:
      return std::nullopt;
  }
}

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_COMMON_IDS_H_
