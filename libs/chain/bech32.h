// File: libs/chain/bech32.h
//
// Bech32 (BIP173) and Bech32m (BIP350) strings, and the segwit addresses
// written in them (P2WPKH, P2WSH, P2TR and future witness versions).
//
// A bech32 string is  hrp ‖ "1" ‖ data ‖ checksum : a human-readable part of
// 1..83 characters in ASCII 33..126, the separator (the LAST '1'), 5-bit
// values written in the alphabet "qpzry9x8gf2tvdw0s3jn54khce6mua7l", and a
// six-character BCH checksum over the expanded hrp and the data. The two
// encodings differ only in the constant the checksum must equal (1 for
// bech32, 0x2bc830a3 for bech32m). Strings are at most 90 characters and
// either all lower case or all upper case; encoders emit lower case.
//
// A segwit address is the bech32 string whose hrp names the network ("bc",
// "tb", "bcrt") and whose data is the witness version (0..16) followed by the
// witness program regrouped from 8-bit to 5-bit values. Version 0 uses
// bech32 and has a 20-byte (P2WPKH) or 32-byte (P2WSH) program; versions 1..16
// use bech32m and have 2..40-byte programs (BIP141, BIP350).
//
// Errors are InvalidArgument with a message starting "bech32:" (string
// syntax and checksum) or "segwit address:" (the meaning of the data) that
// says which rule was broken and where. Nothing here is secret; all functions
// are pure and thread-safe.
#ifndef KAGI_LIBS_CHAIN_BECH32_H_
#define KAGI_LIBS_CHAIN_BECH32_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/base/bytes.h"

namespace kagi::chain {

// kBech32MaxLength is the longest bech32 string accepted or produced.
inline constexpr size_t kBech32MaxLength = 90;
// kBech32MaxHrpLength is the longest human-readable part.
inline constexpr size_t kBech32MaxHrpLength = 83;
// kBech32ChecksumLength is the number of checksum characters.
inline constexpr size_t kBech32ChecksumLength = 6;

// Bech32Encoding selects the checksum constant.
enum class Bech32Encoding {
  kBech32,   // BIP173: segwit version 0
  kBech32m,  // BIP350: segwit versions 1..16
};

// Bech32Data is a decoded bech32 string: the lower-case hrp and the 5-bit
// data values (each < 32), checksum removed.
struct Bech32Data {
  Bech32Encoding encoding = Bech32Encoding::kBech32;
  std::string hrp;
  std::vector<uint8_t> values;
};

// Bech32Encode returns hrp ‖ "1" ‖ data ‖ checksum in lower case. Returns
// InvalidArgument if `hrp` is empty, longer than kBech32MaxHrpLength, has a
// character outside ASCII 33..126 or an upper-case letter, if a value is
// >= 32, or if the result would exceed kBech32MaxLength.
absl::StatusOr<std::string> Bech32Encode(absl::string_view hrp,
                                         absl::Span<const uint8_t> values,
                                         Bech32Encoding encoding);

// Bech32Decode parses and checks a bech32 or bech32m string and tells which
// of the two its checksum matches. Returns InvalidArgument if the string is
// longer than kBech32MaxLength, has a character outside ASCII 33..126, mixes
// upper and lower case, has no separator, an empty hrp, fewer than six
// characters after the separator, a data character outside the alphabet, or
// a checksum that matches neither encoding.
absl::StatusOr<Bech32Data> Bech32Decode(absl::string_view text);

// Network selects the segwit hrp: mainnet "bc", testnet (and signet) "tb",
// regtest "bcrt".
enum class Network { kMainnet, kTestnet, kRegtest };

// NetworkFromName parses "mainnet", "testnet" or "regtest" (exactly, lower
// case). Returns InvalidArgument naming the input otherwise.
absl::StatusOr<Network> NetworkFromName(absl::string_view name);
// NetworkName returns "mainnet", "testnet" or "regtest".
absl::string_view NetworkName(Network network);
// SegwitHrp returns "bc", "tb" or "bcrt".
absl::string_view SegwitHrp(Network network);

// SegwitProgram is the content of a segwit address.
struct SegwitProgram {
  Network network = Network::kMainnet;
  uint8_t version = 0;  // 0..16
  Bytes program;        // 2..40 bytes; 20 or 32 for version 0
};

// EncodeSegwitAddress returns the address of `program` with witness version
// `version` on `network` (bech32 for version 0, bech32m otherwise). Returns
// InvalidArgument if version > 16, the program is not 2..40 bytes, or a
// version-0 program is not 20 or 32 bytes.
absl::StatusOr<std::string> EncodeSegwitAddress(Network network,
                                                uint8_t version,
                                                ByteSpan program);

// DecodeSegwitAddress parses a segwit address of any of the three networks.
// Returns InvalidArgument for every Bech32Decode error and if the hrp is not
// "bc"/"tb"/"bcrt", the data is empty, the version is > 16, the encoding does
// not match the version (BIP350), the 5-to-8-bit regrouping leaves more than
// 4 bits of padding or non-zero padding, or the program length is invalid.
absl::StatusOr<SegwitProgram> DecodeSegwitAddress(absl::string_view address);

// SegwitScriptPubKey returns the output script of a witness program:
// OP_0 or OP_1..OP_16 (0x51..0x60), then a direct push of the program.
// Requires version <= 16 and a program of 2..40 bytes (checked: KAGI_CHECK).
Bytes SegwitScriptPubKey(const SegwitProgram& program);

// P2wpkhAddress returns the P2WPKH address (version 0, program
// HASH160(pubkey)) of a compressed secp256k1 public key. Returns
// InvalidArgument if `compressed_pubkey` is not a valid compressed point.
absl::StatusOr<std::string> P2wpkhAddress(
    const std::array<uint8_t, 33>& compressed_pubkey, Network network);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_BECH32_H_
