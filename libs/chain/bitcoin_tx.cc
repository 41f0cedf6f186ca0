// File: libs/chain/bitcoin_tx.cc
//
// Bitcoin transaction (de)serialization; see bitcoin_tx.h.
#include "libs/chain/bitcoin_tx.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/hash.h"

namespace kagi::chain {
namespace {

// Smallest serialized sizes, used to bound counts by the bytes left.
constexpr size_t kMinTxInBytes = 32 + 4 + 1 + 4;
constexpr size_t kMinTxOutBytes = 8 + 1;

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  return absl::InvalidArgumentError(absl::StrCat(prefix, status.message()));
}

absl::StatusOr<std::vector<Bytes>> ReadWitness(TxReader& reader) {
  KAGI_ASSIGN_OR_RETURN(uint64_t count,
                        reader.ReadCompactSize("witness item count"));
  if (count > reader.remaining()) {
    return absl::InvalidArgumentError(
        absl::StrCat("witness item count ", count, " exceeds the ",
                     reader.remaining(), " bytes left"));
  }
  std::vector<Bytes> stack;
  stack.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    KAGI_ASSIGN_OR_RETURN(ByteSpan item,
                          reader.ReadBytesWithSize("witness item"));
    stack.push_back(ToBytes(item));
  }
  return stack;
}

absl::StatusOr<TxOut> ReadTxOut(TxReader& reader) {
  TxOut out;
  KAGI_ASSIGN_OR_RETURN(out.amount, reader.ReadU64Le("amount"));
  if (out.amount > kMaxMoney) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount ", out.amount, " exceeds 21e6 BTC"));
  }
  KAGI_ASSIGN_OR_RETURN(ByteSpan script,
                        reader.ReadBytesWithSize("script_pubkey"));
  out.script_pubkey = ToBytes(script);
  return out;
}

}  // namespace

bool Transaction::HasWitness() const {
  for (const TxIn& in : inputs) {
    if (!in.witness.empty()) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<uint64_t> TxReader::ReadCompactSize(absl::string_view field) {
  KAGI_ASSIGN_OR_RETURN(uint8_t first, ReadU8(field));
  uint64_t value = 0;
  uint64_t minimum = 0;
  if (first < 0xfd) {
    return first;
  } else if (first == 0xfd) {
    KAGI_ASSIGN_OR_RETURN(uint16_t v, ReadU16Le(field));
    value = v;
    minimum = 0xfd;
  } else if (first == 0xfe) {
    KAGI_ASSIGN_OR_RETURN(uint32_t v, ReadU32Le(field));
    value = v;
    minimum = 0x10000;
  } else {
    KAGI_ASSIGN_OR_RETURN(value, ReadU64Le(field));
    minimum = 0x100000000;
  }
  if (value < minimum) {
    return absl::InvalidArgumentError(
        absl::StrCat("non-canonical compact size for ", field));
  }
  return value;
}

absl::StatusOr<ByteSpan> TxReader::ReadBytesWithSize(absl::string_view field) {
  KAGI_ASSIGN_OR_RETURN(uint64_t len,
                        ReadCompactSize(absl::StrCat(field, " length")));
  return ReadSpan(len, field);
}

void AppendCompactSize(uint64_t value, Bytes& out) {
  if (value < 0xfd) {
    out.push_back(static_cast<uint8_t>(value));
  } else if (value <= 0xffff) {
    out.push_back(0xfd);
    out.push_back(static_cast<uint8_t>(value));
    out.push_back(static_cast<uint8_t>(value >> 8));
  } else if (value <= 0xffffffff) {
    out.push_back(0xfe);
    AppendU32Le(static_cast<uint32_t>(value), out);
  } else {
    out.push_back(0xff);
    AppendU64Le(value, out);
  }
}

void AppendBytesWithSize(ByteSpan data, Bytes& out) {
  AppendCompactSize(data.size(), out);
  out.insert(out.end(), data.begin(), data.end());
}

void AppendU32Le(uint32_t value, Bytes& out) {
  for (size_t i = 0; i < 4; ++i) {
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
}

void AppendU64Le(uint64_t value, Bytes& out) {
  for (size_t i = 0; i < 8; ++i) {
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
}

absl::StatusOr<Transaction> ReadTransaction(TxReader& reader, TxFormat format) {
  Transaction tx;
  KAGI_ASSIGN_OR_RETURN(uint32_t version, reader.ReadU32Le("tx: version"));
  tx.version = static_cast<int32_t>(version);
  bool witness_form = false;
  KAGI_ASSIGN_OR_RETURN(uint8_t first, reader.PeekU8("tx: input count"));
  if (first == 0x00 && reader.remaining() >= 2) {
    TxReader probe = reader;
    (void)probe.ReadU8("marker");
    KAGI_ASSIGN_OR_RETURN(uint8_t flag, probe.ReadU8("flag"));
    if (flag == 0x01) {
      if (format == TxFormat::kLegacyOnly) {
        return absl::InvalidArgumentError(
            "tx: witness serialization (marker 0x00, flag 0x01) not allowed");
      }
      witness_form = true;
      reader = probe;
    }
  }
  KAGI_ASSIGN_OR_RETURN(uint64_t n_in,
                        reader.ReadCompactSize("tx: input count"));
  if (n_in > reader.remaining() / kMinTxInBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tx: input count ", n_in, " exceeds what ",
                     reader.remaining(), " bytes can hold"));
  }
  tx.inputs.resize(static_cast<size_t>(n_in));
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    TxIn& in = tx.inputs[i];
    const std::string prefix = absl::StrCat("tx: input ", i, ": ");
    auto txid = reader.ReadSpan(32, "prevout txid");
    if (!txid.ok()) return WithPrefix(txid.status(), prefix);
    std::copy(txid->begin(), txid->end(), in.prevout.txid.begin());
    auto index = reader.ReadU32Le("prevout index");
    if (!index.ok()) return WithPrefix(index.status(), prefix);
    in.prevout.index = *index;
    auto script = reader.ReadBytesWithSize("script_sig");
    if (!script.ok()) return WithPrefix(script.status(), prefix);
    in.script_sig = ToBytes(*script);
    auto sequence = reader.ReadU32Le("sequence");
    if (!sequence.ok()) return WithPrefix(sequence.status(), prefix);
    in.sequence = *sequence;
  }
  KAGI_ASSIGN_OR_RETURN(uint64_t n_out,
                        reader.ReadCompactSize("tx: output count"));
  if (n_out > reader.remaining() / kMinTxOutBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tx: output count ", n_out, " exceeds what ",
                     reader.remaining(), " bytes can hold"));
  }
  tx.outputs.reserve(static_cast<size_t>(n_out));
  for (uint64_t i = 0; i < n_out; ++i) {
    auto out = ReadTxOut(reader);
    if (!out.ok()) {
      return WithPrefix(out.status(), absl::StrCat("tx: output ", i, ": "));
    }
    tx.outputs.push_back(*std::move(out));
  }
  if (witness_form) {
    if (tx.inputs.empty()) {
      return absl::InvalidArgumentError("tx: witness form with no inputs");
    }
    for (size_t i = 0; i < tx.inputs.size(); ++i) {
      auto stack = ReadWitness(reader);
      if (!stack.ok()) {
        return WithPrefix(stack.status(), absl::StrCat("tx: input ", i, ": "));
      }
      tx.inputs[i].witness = *std::move(stack);
    }
    if (!tx.HasWitness()) {
      return absl::InvalidArgumentError(
          "tx: witness form but every witness is empty");
    }
  }
  KAGI_ASSIGN_OR_RETURN(tx.locktime, reader.ReadU32Le("tx: locktime"));
  return tx;
}

absl::StatusOr<Transaction> DecodeTransaction(ByteSpan data, TxFormat format) {
  TxReader reader(data);
  KAGI_ASSIGN_OR_RETURN(Transaction tx, ReadTransaction(reader, format));
  if (reader.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tx: ", reader.remaining(), " trailing bytes"));
  }
  return tx;
}

Bytes EncodeTransaction(const Transaction& tx, bool with_witness) {
  const bool witness = with_witness && tx.HasWitness();
  Bytes out;
  AppendU32Le(static_cast<uint32_t>(tx.version), out);
  if (witness) {
    out.push_back(0x00);
    out.push_back(0x01);
  }
  AppendCompactSize(tx.inputs.size(), out);
  for (const TxIn& in : tx.inputs) {
    out.insert(out.end(), in.prevout.txid.begin(), in.prevout.txid.end());
    AppendU32Le(in.prevout.index, out);
    AppendBytesWithSize(in.script_sig, out);
    AppendU32Le(in.sequence, out);
  }
  AppendCompactSize(tx.outputs.size(), out);
  for (const TxOut& o : tx.outputs) {
    AppendU64Le(o.amount, out);
    AppendBytesWithSize(o.script_pubkey, out);
  }
  if (witness) {
    for (const TxIn& in : tx.inputs) {
      Bytes stack = EncodeWitnessStack(in.witness);
      out.insert(out.end(), stack.begin(), stack.end());
    }
  }
  AppendU32Le(tx.locktime, out);
  return out;
}

TxHash Txid(const Transaction& tx) {
  return crypto::Hash256(EncodeTransaction(tx, /*with_witness=*/false));
}

absl::StatusOr<TxOut> DecodeTxOut(ByteSpan data) {
  TxReader reader(data);
  auto out = ReadTxOut(reader);
  if (!out.ok()) return WithPrefix(out.status(), "txout: ");
  if (reader.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("txout: ", reader.remaining(), " trailing bytes"));
  }
  return out;
}

Bytes EncodeTxOut(const TxOut& out) {
  Bytes b;
  AppendU64Le(out.amount, b);
  AppendBytesWithSize(out.script_pubkey, b);
  return b;
}

absl::StatusOr<std::vector<Bytes>> DecodeWitnessStack(ByteSpan data) {
  TxReader reader(data);
  auto stack = ReadWitness(reader);
  if (!stack.ok()) return WithPrefix(stack.status(), "witness: ");
  if (reader.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("witness: ", reader.remaining(), " trailing bytes"));
  }
  return stack;
}

Bytes EncodeWitnessStack(const std::vector<Bytes>& stack) {
  Bytes out;
  AppendCompactSize(stack.size(), out);
  for (const Bytes& item : stack) {
    AppendBytesWithSize(item, out);
  }
  return out;
}

}  // namespace kagi::chain
