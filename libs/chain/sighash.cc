// File: libs/chain/sighash.cc
//
// BIP143 and legacy SIGHASH_ALL digests; see sighash.h.
#include "libs/chain/sighash.h"

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"

namespace kagi::chain {
namespace {

constexpr uint8_t kOpCodeSeparator = 0xab;
constexpr uint8_t kOpPushData1 = 0x4c;
constexpr uint8_t kOpPushData2 = 0x4d;
constexpr uint8_t kOpPushData4 = 0x4e;

absl::Status CheckArgs(const Transaction& tx, size_t index,
                       uint32_t sighash_type) {
  if (index >= tx.inputs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sighash: input index ", index, " out of range (",
                     tx.inputs.size(), " inputs)"));
  }
  if (sighash_type != kSighashAll) {
    return absl::InvalidArgumentError(
        absl::StrCat("sighash: unsupported sighash type ", sighash_type,
                     " (only SIGHASH_ALL)"));
  }
  return absl::OkStatus();
}

// CheckNoCodeSeparator walks the script's opcodes.
absl::Status CheckNoCodeSeparator(ByteSpan script) {
  size_t pos = 0;
  while (pos < script.size()) {
    const uint8_t op = script[pos++];
    size_t len = 0;
    if (op >= 0x01 && op <= 0x4b) {
      len = op;
    } else if (op == kOpPushData1 || op == kOpPushData2 || op == kOpPushData4) {
      const size_t width = op == kOpPushData1 ? 1 : op == kOpPushData2 ? 2 : 4;
      if (script.size() - pos < width) {
        return absl::InvalidArgumentError("sighash: truncated script push");
      }
      for (size_t i = 0; i < width; ++i) {
        len |= static_cast<size_t>(script[pos + i]) << (8 * i);
      }
      pos += width;
    } else if (op == kOpCodeSeparator) {
      return absl::InvalidArgumentError(
          "sighash: scriptCode contains OP_CODESEPARATOR");
    }
    if (script.size() - pos < len) {
      return absl::InvalidArgumentError("sighash: truncated script push");
    }
    pos += len;
  }
  return absl::OkStatus();
}

}  // namespace

Bip143Hashes ComputeBip143Hashes(const Transaction& tx) {
  Bytes prevouts;
  Bytes sequences;
  for (const TxIn& in : tx.inputs) {
    prevouts.insert(prevouts.end(), in.prevout.txid.begin(),
                    in.prevout.txid.end());
    AppendU32Le(in.prevout.index, prevouts);
    AppendU32Le(in.sequence, sequences);
  }
  Bytes outputs;
  for (const TxOut& out : tx.outputs) {
    Bytes o = EncodeTxOut(out);
    outputs.insert(outputs.end(), o.begin(), o.end());
  }
  Bip143Hashes h;
  h.hash_prevouts = crypto::Hash256(prevouts);
  h.hash_sequence = crypto::Hash256(sequences);
  h.hash_outputs = crypto::Hash256(outputs);
  return h;
}

absl::StatusOr<Bytes> P2wpkhScriptCode(ByteSpan script_pubkey) {
  if (script_pubkey.size() != 22 || script_pubkey[0] != 0x00 ||
      script_pubkey[1] != 0x14) {
    return absl::InvalidArgumentError(
        "sighash: spent scriptPubKey is not P2WPKH");
  }
  Bytes code = {0x76, 0xa9, 0x14};
  code.insert(code.end(), script_pubkey.begin() + 2, script_pubkey.end());
  code.push_back(0x88);
  code.push_back(0xac);
  return code;
}

absl::StatusOr<Bytes> SegwitV0SighashPreimage(const Transaction& tx,
                                              size_t index,
                                              ByteSpan script_code,
                                              uint64_t amount,
                                              uint32_t sighash_type) {
  KAGI_RETURN_IF_ERROR(CheckArgs(tx, index, sighash_type));
  return SegwitV0SighashPreimage(tx, ComputeBip143Hashes(tx), index,
                                 script_code, amount, sighash_type);
}

absl::StatusOr<Bytes> SegwitV0SighashPreimage(
    const Transaction& tx, const Bip143Hashes& h, size_t index,
    ByteSpan script_code, uint64_t amount, uint32_t sighash_type) {
  KAGI_RETURN_IF_ERROR(CheckArgs(tx, index, sighash_type));
  const TxIn& in = tx.inputs[index];
  Bytes pre;
  AppendU32Le(static_cast<uint32_t>(tx.version), pre);
  pre.insert(pre.end(), h.hash_prevouts.begin(), h.hash_prevouts.end());
  pre.insert(pre.end(), h.hash_sequence.begin(), h.hash_sequence.end());
  pre.insert(pre.end(), in.prevout.txid.begin(), in.prevout.txid.end());
  AppendU32Le(in.prevout.index, pre);
  AppendBytesWithSize(script_code, pre);
  AppendU64Le(amount, pre);
  AppendU32Le(in.sequence, pre);
  pre.insert(pre.end(), h.hash_outputs.begin(), h.hash_outputs.end());
  AppendU32Le(tx.locktime, pre);
  AppendU32Le(sighash_type, pre);
  return pre;
}

absl::StatusOr<crypto::Digest32> SegwitV0Sighash(const Transaction& tx,
                                                 size_t index,
                                                 ByteSpan script_code,
                                                 uint64_t amount,
                                                 uint32_t sighash_type) {
  KAGI_ASSIGN_OR_RETURN(
      Bytes pre,
      SegwitV0SighashPreimage(tx, index, script_code, amount, sighash_type));
  return crypto::Hash256(pre);
}

absl::StatusOr<crypto::Digest32> P2wpkhSighash(const Transaction& tx,
                                               size_t index,
                                               const TxOut& spent) {
  KAGI_ASSIGN_OR_RETURN(Bytes code, P2wpkhScriptCode(spent.script_pubkey));
  return SegwitV0Sighash(tx, index, code, spent.amount, kSighashAll);
}

absl::StatusOr<crypto::Digest32> P2wpkhSighash(const Transaction& tx,
                                               const Bip143Hashes& hashes,
                                               size_t index,
                                               const TxOut& spent) {
  KAGI_ASSIGN_OR_RETURN(Bytes code, P2wpkhScriptCode(spent.script_pubkey));
  KAGI_ASSIGN_OR_RETURN(
      Bytes pre, SegwitV0SighashPreimage(tx, hashes, index, code, spent.amount,
                                         kSighashAll));
  return crypto::Hash256(pre);
}

absl::StatusOr<crypto::Digest32> LegacySighash(const Transaction& tx,
                                               size_t index,
                                               ByteSpan script_code,
                                               uint32_t sighash_type) {
  KAGI_RETURN_IF_ERROR(CheckArgs(tx, index, sighash_type));
  KAGI_RETURN_IF_ERROR(CheckNoCodeSeparator(script_code));
  // The transaction without witnesses, every scriptSig empty but the signed
  // input's, which is the scriptCode; written straight from `tx`.
  Bytes pre;
  AppendU32Le(static_cast<uint32_t>(tx.version), pre);
  AppendCompactSize(tx.inputs.size(), pre);
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    const TxIn& in = tx.inputs[i];
    pre.insert(pre.end(), in.prevout.txid.begin(), in.prevout.txid.end());
    AppendU32Le(in.prevout.index, pre);
    AppendBytesWithSize(i == index ? script_code : ByteSpan(), pre);
    AppendU32Le(in.sequence, pre);
  }
  AppendCompactSize(tx.outputs.size(), pre);
  for (const TxOut& out : tx.outputs) {
    AppendU64Le(out.amount, pre);
    AppendBytesWithSize(out.script_pubkey, pre);
  }
  AppendU32Le(tx.locktime, pre);
  AppendU32Le(sighash_type, pre);
  return crypto::Hash256(pre);
}

}  // namespace kagi::chain
