// File: libs/chain/script.h
//
// Standard output scripts (scriptPubKey) and their addresses:
//   P2PKH   76 a9 14 <20> 88 ac   base58check(0x00 | 0x6f ‖ hash)
//   P2SH    a9 14 <20> 87         base58check(0x05 | 0xc4 ‖ hash)
//   P2WPKH  00 14 <20>            bech32  (BIP173)
//   P2WSH   00 20 <32>            bech32  (BIP173)
//   P2TR    51 20 <32>            bech32m (BIP350)
// (version bytes: mainnet | testnet and regtest). Anything else is kOther and
// has no address. Pure and thread-safe.
#ifndef KAGI_LIBS_CHAIN_SCRIPT_H_
#define KAGI_LIBS_CHAIN_SCRIPT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/chain/bech32.h"

namespace kagi::chain {

enum class ScriptType { kP2wpkh, kP2pkh, kP2sh, kP2wsh, kP2tr, kOther };

// ScriptTypeName returns "p2wpkh", "p2pkh", "p2sh", "p2wsh", "p2tr", "other".
absl::string_view ScriptTypeName(ScriptType type);

// ClassifiedScript is a scriptPubKey's type and the hash or witness program
// it commits to (empty for kOther).
struct ClassifiedScript {
  ScriptType type = ScriptType::kOther;
  Bytes payload;
};
ClassifiedScript ClassifyScript(ByteSpan script_pubkey);

// ScriptAddress returns the address of a standard scriptPubKey on `network`.
// Returns InvalidArgument("script: no address for a non-standard
// scriptPubKey") for kOther.
absl::StatusOr<std::string> ScriptAddress(ByteSpan script_pubkey,
                                          Network network);

// Builders (KAGI_CHECK the payload length: 20 or 32 bytes as listed above).
Bytes P2pkhScript(ByteSpan hash160);
Bytes P2shScript(ByteSpan hash160);
Bytes P2wpkhScript(ByteSpan hash160);
Bytes P2wshScript(ByteSpan sha256);
Bytes P2trScript(ByteSpan output_key);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_SCRIPT_H_
