// File: libs/chain/bech32.cc
//
// Bech32/bech32m and segwit addresses; see bech32.h. The checksum is the
// BCH code of BIP173: a polynomial over GF(32) kept as a 30-bit integer,
// multiplied by x and reduced with the five generator constants per input
// value.
#include "libs/chain/bech32.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/base/check.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"

namespace kagi::chain {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr uint32_t kBech32Constant = 1;
constexpr uint32_t kBech32mConstant = 0x2bc830a3;
constexpr uint8_t kMaxWitnessVersion = 16;
constexpr size_t kMinProgramBytes = 2;
constexpr size_t kMaxProgramBytes = 40;

// The value of each character of kCharset, or kNotInCharset.
constexpr int8_t kNotInCharset = -1;
constexpr std::array<int8_t, 128> MakeCharsetTable() {
  std::array<int8_t, 128> table{};
  for (auto& entry : table) {
    entry = kNotInCharset;
  }
  for (int8_t i = 0; i < 32; ++i) {
    table[static_cast<unsigned char>(kCharset[i])] = i;
  }
  return table;
}
constexpr std::array<int8_t, 128> kCharsetTable = MakeCharsetTable();

uint32_t ChecksumConstant(Bech32Encoding encoding) {
  return encoding == Bech32Encoding::kBech32 ? kBech32Constant
                                             : kBech32mConstant;
}

// PolymodStep multiplies the checksum state by x and adds `value`.
uint32_t PolymodStep(uint32_t chk, uint8_t value) {
  static constexpr std::array<uint32_t, 5> kGenerator = {
      0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  const uint32_t top = chk >> 25;
  chk = ((chk & 0x1ffffff) << 5) ^ value;
  for (size_t i = 0; i < kGenerator.size(); ++i) {
    if (((top >> i) & 1) != 0) {
      chk ^= kGenerator[i];
    }
  }
  return chk;
}

// Polymod of hrp-expansion ‖ values (the hrp must already be lower case).
uint32_t Polymod(absl::string_view hrp, absl::Span<const uint8_t> values) {
  uint32_t chk = 1;
  for (char c : hrp) {
    chk = PolymodStep(chk, static_cast<uint8_t>(static_cast<uint8_t>(c) >> 5));
  }
  chk = PolymodStep(chk, 0);
  for (char c : hrp) {
    chk = PolymodStep(chk, static_cast<uint8_t>(static_cast<uint8_t>(c) & 31));
  }
  for (uint8_t v : values) {
    chk = PolymodStep(chk, v);
  }
  return chk;
}

std::string Printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) {
    return absl::StrCat("'", absl::string_view(&c, 1), "'");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  return absl::StrCat("byte 0x", absl::string_view(&kHex[u >> 4], 1),
                      absl::string_view(&kHex[u & 0xf], 1));
}

// RegroupBits converts between 8-bit bytes and 5-bit values (BIP173's
// convertbits). With `pad`, a final partial group is padded with zero bits;
// without, at most from_bits-1 padding bits may remain and they must be zero.
absl::StatusOr<std::vector<uint8_t>> RegroupBits(absl::Span<const uint8_t> in,
                                                 unsigned from_bits,
                                                 unsigned to_bits, bool pad) {
  const uint32_t max_out = (1u << to_bits) - 1;
  uint32_t acc = 0;
  unsigned bits = 0;
  std::vector<uint8_t> out;
  out.reserve(in.size() * from_bits / to_bits + 1);
  for (uint8_t v : in) {
    acc = (acc << from_bits) | v;
    bits += from_bits;
    while (bits >= to_bits) {
      bits -= to_bits;
      out.push_back(static_cast<uint8_t>((acc >> bits) & max_out));
    }
    acc &= (1u << bits) - 1;
  }
  if (pad) {
    if (bits > 0) {
      out.push_back(static_cast<uint8_t>((acc << (to_bits - bits)) & max_out));
    }
  } else if (bits >= from_bits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "segwit address: ", bits, " bits of padding (at most 4 allowed)"));
  } else if (acc != 0) {
    return absl::InvalidArgumentError(
        "segwit address: non-zero padding bits in the witness program");
  }
  return out;
}

absl::Status CheckProgram(uint8_t version, size_t program_size) {
  if (version > kMaxWitnessVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "segwit address: witness version ", version, " is above 16"));
  }
  if (program_size < kMinProgramBytes || program_size > kMaxProgramBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("segwit address: witness program of ", program_size,
                     " bytes (must be 2..40)"));
  }
  if (version == 0 && program_size != 20 && program_size != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("segwit address: version-0 witness program of ",
                     program_size, " bytes (must be 20 or 32)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Bech32Encode(absl::string_view hrp,
                                         absl::Span<const uint8_t> values,
                                         Bech32Encoding encoding) {
  if (hrp.empty() || hrp.size() > kBech32MaxHrpLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("bech32: human-readable part of ", hrp.size(),
                     " characters (must be 1..83)"));
  }
  for (size_t i = 0; i < hrp.size(); ++i) {
    const char c = hrp[i];
    if (c < 33 || c > 126 || (c >= 'A' && c <= 'Z')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bech32: human-readable part has ", Printable(c), " at position ", i,
          " (must be ASCII 33..126, not upper case)"));
    }
  }
  const size_t length = hrp.size() + 1 + values.size() + kBech32ChecksumLength;
  if (length > kBech32MaxLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bech32: encoding would be ", length, " characters (at most 90)"));
  }
  std::string out;
  out.reserve(length);
  out.append(hrp.data(), hrp.size());
  out.push_back('1');
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] >= 32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bech32: data value ", values[i], " at index ", i, " is not 5-bit"));
    }
    out.push_back(kCharset[values[i]]);
  }
  std::vector<uint8_t> padded(values.begin(), values.end());
  padded.resize(values.size() + kBech32ChecksumLength, 0);
  const uint32_t mod = Polymod(hrp, padded) ^ ChecksumConstant(encoding);
  for (size_t i = 0; i < kBech32ChecksumLength; ++i) {
    out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  }
  return out;
}

absl::StatusOr<Bech32Data> Bech32Decode(absl::string_view text) {
  if (text.size() > kBech32MaxLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bech32: string of ", text.size(), " characters (at most 90)"));
  }
  bool has_lower = false;
  bool has_upper = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c < 33 || c > 126) {
      return absl::InvalidArgumentError(
          absl::StrCat("bech32: invalid character ", Printable(c),
                       " at position ", i, " (must be ASCII 33..126)"));
    }
    has_lower |= (c >= 'a' && c <= 'z');
    has_upper |= (c >= 'A' && c <= 'Z');
  }
  if (has_lower && has_upper) {
    return absl::InvalidArgumentError(
        "bech32: mixes upper-case and lower-case letters");
  }
  const size_t separator = text.rfind('1');
  if (separator == absl::string_view::npos) {
    return absl::InvalidArgumentError("bech32: no separator '1'");
  }
  if (separator == 0) {
    return absl::InvalidArgumentError("bech32: empty human-readable part");
  }
  if (separator > kBech32MaxHrpLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("bech32: human-readable part of ", separator,
                     " characters (must be 1..83)"));
  }
  if (text.size() - separator - 1 < kBech32ChecksumLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("bech32: only ", text.size() - separator - 1,
                     " characters after the separator (a checksum needs 6)"));
  }
  Bech32Data out;
  out.hrp.reserve(separator);
  for (size_t i = 0; i < separator; ++i) {
    const char c = text[i];
    out.hrp.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a')
                                           : c);
  }
  std::vector<uint8_t> values;
  values.reserve(text.size() - separator - 1);
  for (size_t i = separator + 1; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    const int8_t v = kCharsetTable[static_cast<unsigned char>(c)];
    if (v == kNotInCharset) {
      return absl::InvalidArgumentError(
          absl::StrCat("bech32: invalid data character ", Printable(text[i]),
                       " at position ", i));
    }
    values.push_back(static_cast<uint8_t>(v));
  }
  const uint32_t mod = Polymod(out.hrp, values);
  if (mod == kBech32Constant) {
    out.encoding = Bech32Encoding::kBech32;
  } else if (mod == kBech32mConstant) {
    out.encoding = Bech32Encoding::kBech32m;
  } else {
    return absl::InvalidArgumentError(
        "bech32: checksum matches neither bech32 nor bech32m");
  }
  values.resize(values.size() - kBech32ChecksumLength);
  out.values = std::move(values);
  return out;
}

absl::StatusOr<Network> NetworkFromName(absl::string_view name) {
  if (name == "mainnet") {
    return Network::kMainnet;
  }
  if (name == "testnet") {
    return Network::kTestnet;
  }
  if (name == "regtest") {
    return Network::kRegtest;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown network \"", absl::CHexEscape(name),
                   "\" (expected mainnet, testnet or regtest)"));
}

absl::string_view NetworkName(Network network) {
  switch (network) {
    case Network::kMainnet:
      return "mainnet";
    case Network::kTestnet:
      return "testnet";
    case Network::kRegtest:
      return "regtest";
  }
  return "unknown";
}

absl::string_view SegwitHrp(Network network) {
  switch (network) {
    case Network::kMainnet:
      return "bc";
    case Network::kTestnet:
      return "tb";
    case Network::kRegtest:
      return "bcrt";
  }
  return "";
}

absl::StatusOr<std::string> EncodeSegwitAddress(Network network,
                                                uint8_t version,
                                                ByteSpan program) {
  KAGI_RETURN_IF_ERROR(CheckProgram(version, program.size()));
  KAGI_ASSIGN_OR_RETURN(std::vector<uint8_t> values,
                        RegroupBits(program, 8, 5, /*pad=*/true));
  values.insert(values.begin(), version);
  return Bech32Encode(
      SegwitHrp(network), values,
      version == 0 ? Bech32Encoding::kBech32 : Bech32Encoding::kBech32m);
}

absl::StatusOr<SegwitProgram> DecodeSegwitAddress(absl::string_view address) {
  KAGI_ASSIGN_OR_RETURN(Bech32Data data, Bech32Decode(address));
  SegwitProgram out;
  if (data.hrp == "bc") {
    out.network = Network::kMainnet;
  } else if (data.hrp == "tb") {
    out.network = Network::kTestnet;
  } else if (data.hrp == "bcrt") {
    out.network = Network::kRegtest;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("segwit address: unknown human-readable part \"",
                     absl::CHexEscape(data.hrp), "\" (expected bc, tb, bcrt)"));
  }
  if (data.values.empty()) {
    return absl::InvalidArgumentError(
        "segwit address: empty data (no witness version)");
  }
  out.version = data.values[0];
  if (out.version > kMaxWitnessVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "segwit address: witness version ", out.version, " is above 16"));
  }
  const Bech32Encoding expected =
      out.version == 0 ? Bech32Encoding::kBech32 : Bech32Encoding::kBech32m;
  if (data.encoding != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "segwit address: witness version ", out.version, " must use ",
        expected == Bech32Encoding::kBech32 ? "bech32" : "bech32m",
        ", the checksum is ",
        data.encoding == Bech32Encoding::kBech32 ? "bech32" : "bech32m"));
  }
  KAGI_ASSIGN_OR_RETURN(
      std::vector<uint8_t> program,
      RegroupBits(absl::MakeConstSpan(data.values).subspan(1), 5, 8,
                  /*pad=*/false));
  KAGI_RETURN_IF_ERROR(CheckProgram(out.version, program.size()));
  out.program = std::move(program);
  return out;
}

Bytes SegwitScriptPubKey(const SegwitProgram& program) {
  KAGI_CHECK(program.version <= kMaxWitnessVersion);
  KAGI_CHECK(program.program.size() >= kMinProgramBytes &&
             program.program.size() <= kMaxProgramBytes);
  Bytes out;
  out.reserve(2 + program.program.size());
  out.push_back(program.version == 0
                    ? uint8_t{0x00}
                    : static_cast<uint8_t>(0x50 + program.version));
  out.push_back(static_cast<uint8_t>(program.program.size()));
  out.insert(out.end(), program.program.begin(), program.program.end());
  return out;
}

absl::StatusOr<std::string> P2wpkhAddress(
    const std::array<uint8_t, 33>& compressed_pubkey, Network network) {
  KAGI_RETURN_IF_ERROR(
      crypto::Point::FromCompressed(compressed_pubkey, "P2WPKH public key")
          .status());
  const crypto::Digest20 program = crypto::Hash160(compressed_pubkey);
  return EncodeSegwitAddress(network, 0, program);
}

}  // namespace kagi::chain
