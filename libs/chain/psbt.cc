// File: libs/chain/psbt.cc
//
// BIP174 PSBT v0 decoding and encoding; see psbt.h.
#include "libs/chain/psbt.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/base/check.h"
#include "libs/base/status_macros.h"
#include "libs/chain/sighash.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/point.h"

namespace kagi::chain {
namespace {

constexpr std::array<uint8_t, 5> kMagic = {0x70, 0x73, 0x62, 0x74, 0xff};

// Global types.
constexpr uint64_t kGlobalUnsignedTx = 0x00;
constexpr uint64_t kGlobalXpub = 0x01;
constexpr uint64_t kGlobalFirstV2 = 0x02;  // 0x02..0x06: BIP370, v2 only
constexpr uint64_t kGlobalLastV2 = 0x06;
constexpr uint64_t kGlobalVersion = 0xfb;
// Input types.
constexpr uint64_t kInNonWitnessUtxo = 0x00;
constexpr uint64_t kInWitnessUtxo = 0x01;
constexpr uint64_t kInPartialSig = 0x02;
constexpr uint64_t kInSighashType = 0x03;
constexpr uint64_t kInRedeemScript = 0x04;
constexpr uint64_t kInWitnessScript = 0x05;
constexpr uint64_t kInBip32Derivation = 0x06;
constexpr uint64_t kInFinalScriptSig = 0x07;
constexpr uint64_t kInFinalScriptWitness = 0x08;
constexpr uint64_t kInFirstV2 = 0x0e;  // 0x0e..0x12: BIP370, v2 only
constexpr uint64_t kInLastV2 = 0x12;
// Output types.
constexpr uint64_t kOutRedeemScript = 0x00;
constexpr uint64_t kOutWitnessScript = 0x01;
constexpr uint64_t kOutBip32Derivation = 0x02;
constexpr uint64_t kOutFirstV2 = 0x03;  // 0x03..0x04: BIP370, v2 only
constexpr uint64_t kOutLastV2 = 0x04;

constexpr size_t kXpubBytes = 78;

// A raw record as read: the key type, the key data, the value.
struct RawRecord {
  uint64_t type = 0;
  ByteSpan key;  // whole key
  ByteSpan keydata;
  ByteSpan value;
};

std::string TypeName(uint64_t type) { return absl::StrFormat("0x%02x", type); }

absl::Status Error(absl::string_view where, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("psbt: ", where, message));
}

// ReadMap reads records up to and including the 0x00 separator, refusing
// duplicate keys.
absl::StatusOr<std::vector<RawRecord>> ReadMap(TxReader& reader,
                                               const std::string& where) {
  std::vector<RawRecord> records;
  std::set<Bytes> seen;
  while (true) {
    auto key = reader.ReadBytesWithSize("key");
    if (!key.ok()) return Error(where, key.status().message());
    if (key->empty()) {
      return records;
    }
    RawRecord r;
    r.key = *key;
    TxReader key_reader(*key);
    auto type = key_reader.ReadCompactSize("key type");
    if (!type.ok()) return Error(where, type.status().message());
    r.type = *type;
    r.keydata = key->subspan(key->size() - key_reader.remaining());
    auto value = reader.ReadBytesWithSize("value");
    if (!value.ok()) {
      return Error(where, absl::StrCat("key type ", TypeName(r.type), ": ",
                                       value.status().message()));
    }
    r.value = *value;
    if (!seen.insert(ToBytes(r.key)).second) {
      return Error(where,
                   absl::StrCat("duplicate key type ", TypeName(r.type)));
    }
    records.push_back(r);
  }
}

absl::Status NoKeyData(const RawRecord& r, const std::string& where) {
  if (!r.keydata.empty()) {
    return Error(where, absl::StrCat("key type ", TypeName(r.type),
                                     " must have no key data, has ",
                                     r.keydata.size(), " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckPubkey(const RawRecord& r, const std::string& where) {
  if (r.keydata.size() != 33 && r.keydata.size() != 65) {
    return Error(where, absl::StrCat("key type ", TypeName(r.type),
                                     ": public key must be 33 or 65 bytes, "
                                     "has ",
                                     r.keydata.size()));
  }
  auto point = crypto::Point::FromSec1(r.keydata, "public key");
  if (!point.ok()) {
    return Error(where, absl::StrCat("key type ", TypeName(r.type), ": ",
                                     point.status().message()));
  }
  return absl::OkStatus();
}

absl::Status ValueError(const RawRecord& r, const std::string& where,
                        absl::string_view message) {
  return Error(where,
               absl::StrCat("key type ", TypeName(r.type), ": ", message));
}

absl::StatusOr<PsbtBip32Derivation> ParseDerivation(const RawRecord& r,
                                                    const std::string& where) {
  KAGI_RETURN_IF_ERROR(CheckPubkey(r, where));
  if (r.value.size() < 4 || r.value.size() % 4 != 0) {
    return ValueError(r, where,
                      absl::StrCat("BIP32 derivation must be 4 + 4k bytes, "
                                   "has ",
                                   r.value.size()));
  }
  PsbtBip32Derivation d;
  d.pubkey = ToBytes(r.keydata);
  std::copy(r.value.begin(), r.value.begin() + 4, d.fingerprint.begin());
  TxReader vr(r.value.subspan(4));
  while (vr.remaining() > 0) {
    d.path.push_back(*vr.ReadU32Le("path"));
  }
  return d;
}

absl::StatusOr<uint32_t> ParseU32(const RawRecord& r,
                                  const std::string& where) {
  if (r.value.size() != 4) {
    return ValueError(
        r, where, absl::StrCat("value must be 4 bytes, has ", r.value.size()));
  }
  TxReader vr(r.value);
  return *vr.ReadU32Le("u32");
}

// OverLimit is the ResourceExhausted error of a PSBT over one of its limits.
absl::Status OverLimit(absl::string_view where, absl::string_view what,
                       size_t has, absl::string_view unit, size_t limit) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "psbt: ", where, what, " has ", has, " ", unit, "; at most ", limit));
}

// CheckUnsignedTxBounds runs before any input map is read: every later step
// (previous transactions, sighashes, derivations) is per input or output.
absl::Status CheckUnsignedTxBounds(const Transaction& tx, size_t bytes,
                                   const PsbtLimits& limits) {
  if (tx.inputs.size() > limits.max_inputs) {
    return OverLimit("", "unsigned tx", tx.inputs.size(), "inputs",
                     limits.max_inputs);
  }
  if (tx.outputs.size() > limits.max_outputs) {
    return OverLimit("", "unsigned tx", tx.outputs.size(), "outputs",
                     limits.max_outputs);
  }
  if (bytes > limits.max_unsigned_tx_bytes) {
    return OverLimit("", "unsigned tx", bytes, "bytes",
                     limits.max_unsigned_tx_bytes);
  }
  return absl::OkStatus();
}

absl::Status DecodeInput(const std::vector<RawRecord>& records,
                         const TxIn& txin, const std::string& where,
                         const PsbtLimits& limits, PsbtInput& in) {
  for (const RawRecord& r : records) {
    switch (r.type) {
      case kInNonWitnessUtxo: {
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        if (r.value.size() > limits.max_prev_tx_bytes) {
          return OverLimit(where, "non-witness UTXO", r.value.size(), "bytes",
                           limits.max_prev_tx_bytes);
        }
        auto tx = DecodeTransaction(r.value, TxFormat::kAny);
        if (!tx.ok()) return ValueError(r, where, tx.status().message());
        if (Txid(*tx) != txin.prevout.txid) {
          return ValueError(r, where,
                            "non-witness UTXO txid does not match the "
                            "input's prevout");
        }
        if (txin.prevout.index >= tx->outputs.size()) {
          return ValueError(r, where,
                            "non-witness UTXO has no output at the "
                            "prevout index");
        }
        in.non_witness_utxo = *std::move(tx);
        break;
      }
      case kInWitnessUtxo: {
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        auto out = DecodeTxOut(r.value);
        if (!out.ok()) return ValueError(r, where, out.status().message());
        in.witness_utxo = *std::move(out);
        break;
      }
      case kInPartialSig: {
        KAGI_RETURN_IF_ERROR(CheckPubkey(r, where));
        if (r.value.empty()) {
          return ValueError(r, where, "empty signature");
        }
        in.partial_sigs.push_back({ToBytes(r.keydata), ToBytes(r.value)});
        break;
      }
      case kInSighashType: {
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        KAGI_ASSIGN_OR_RETURN(uint32_t t, ParseU32(r, where));
        in.sighash_type = t;
        break;
      }
      case kInRedeemScript:
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        in.redeem_script = ToBytes(r.value);
        break;
      case kInWitnessScript:
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        in.witness_script = ToBytes(r.value);
        break;
      case kInBip32Derivation: {
        KAGI_ASSIGN_OR_RETURN(PsbtBip32Derivation d, ParseDerivation(r, where));
        in.bip32_derivations.push_back(std::move(d));
        break;
      }
      case kInFinalScriptSig:
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        in.final_script_sig = ToBytes(r.value);
        break;
      case kInFinalScriptWitness: {
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        auto stack = DecodeWitnessStack(r.value);
        if (!stack.ok()) return ValueError(r, where, stack.status().message());
        in.final_script_witness = *std::move(stack);
        break;
      }
      default:
        if (r.type >= kInFirstV2 && r.type <= kInLastV2) {
          return Error(where, absl::StrCat("key type ", TypeName(r.type),
                                           " is not allowed in PSBT v0"));
        }
        in.unknown.push_back({ToBytes(r.key), ToBytes(r.value)});
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeOutput(const std::vector<RawRecord>& records,
                          const std::string& where, PsbtOutput& out) {
  for (const RawRecord& r : records) {
    switch (r.type) {
      case kOutRedeemScript:
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        out.redeem_script = ToBytes(r.value);
        break;
      case kOutWitnessScript:
        KAGI_RETURN_IF_ERROR(NoKeyData(r, where));
        out.witness_script = ToBytes(r.value);
        break;
      case kOutBip32Derivation: {
        KAGI_ASSIGN_OR_RETURN(PsbtBip32Derivation d, ParseDerivation(r, where));
        out.bip32_derivations.push_back(std::move(d));
        break;
      }
      default:
        if (r.type >= kOutFirstV2 && r.type <= kOutLastV2) {
          return Error(where, absl::StrCat("key type ", TypeName(r.type),
                                           " is not allowed in PSBT v0"));
        }
        out.unknown.push_back({ToBytes(r.key), ToBytes(r.value)});
    }
  }
  return absl::OkStatus();
}

// --- encoding ---

void PutRecord(uint8_t type, ByteSpan keydata, ByteSpan value, Bytes& out) {
  AppendCompactSize(1 + keydata.size(), out);
  out.push_back(type);
  out.insert(out.end(), keydata.begin(), keydata.end());
  AppendBytesWithSize(value, out);
}

void PutDerivations(uint8_t type, const std::vector<PsbtBip32Derivation>& ds,
                    Bytes& out) {
  for (const PsbtBip32Derivation& d : ds) {
    Bytes value(d.fingerprint.begin(), d.fingerprint.end());
    for (uint32_t step : d.path) {
      AppendU32Le(step, value);
    }
    PutRecord(type, d.pubkey, value, out);
  }
}

void PutUnknown(const std::vector<PsbtRecord>& records, Bytes& out) {
  for (const PsbtRecord& r : records) {
    AppendBytesWithSize(r.key, out);
    AppendBytesWithSize(r.value, out);
  }
}

}  // namespace

absl::StatusOr<Psbt> DecodePsbt(ByteSpan data, const PsbtLimits& limits) {
  if (data.size() > limits.max_bytes) {
    return OverLimit("", "the PSBT", data.size(), "bytes", limits.max_bytes);
  }
  if (data.size() < kMagic.size() ||
      !std::equal(kMagic.begin(), kMagic.end(), data.begin())) {
    return absl::InvalidArgumentError("psbt: bad magic (want 70736274ff)");
  }
  TxReader reader(data.subspan(kMagic.size()));
  Psbt psbt;
  const std::string global = "global: ";
  KAGI_ASSIGN_OR_RETURN(std::vector<RawRecord> globals,
                        ReadMap(reader, global));
  bool have_tx = false;
  for (const RawRecord& r : globals) {
    if (r.type == kGlobalUnsignedTx) {
      KAGI_RETURN_IF_ERROR(NoKeyData(r, global));
      // Parsing it is linear (max_bytes bounds it); the counts, which bound
      // everything after, are the more telling refusal, so they come first.
      auto tx = DecodeTransaction(r.value, TxFormat::kLegacyOnly);
      if (!tx.ok()) {
        return ValueError(r, global,
                          absl::StrCat("unsigned ", tx.status().message()));
      }
      KAGI_RETURN_IF_ERROR(CheckUnsignedTxBounds(*tx, r.value.size(), limits));
      for (size_t i = 0; i < tx->inputs.size(); ++i) {
        if (!tx->inputs[i].script_sig.empty()) {
          return ValueError(r, global,
                            absl::StrCat("unsigned tx input ", i,
                                         " has a non-empty scriptSig"));
        }
      }
      psbt.tx = *std::move(tx);
      have_tx = true;
      continue;
    }
    if (r.type == kGlobalXpub) {
      if (r.keydata.size() != kXpubBytes) {
        return Error(global, absl::StrCat("key type 0x01: xpub must be 78 "
                                          "bytes, has ",
                                          r.keydata.size()));
      }
      if (r.value.size() < 4 || r.value.size() % 4 != 0) {
        return ValueError(r, global, "xpub origin must be 4 + 4k bytes");
      }
    } else if (r.type >= kGlobalFirstV2 && r.type <= kGlobalLastV2) {
      return Error(global, absl::StrCat("key type ", TypeName(r.type),
                                        " is not allowed in PSBT v0"));
    } else if (r.type == kGlobalVersion) {
      KAGI_RETURN_IF_ERROR(NoKeyData(r, global));
      KAGI_ASSIGN_OR_RETURN(uint32_t version, ParseU32(r, global));
      if (version != 0) {
        return Error(global,
                     absl::StrCat("unsupported PSBT version ", version));
      }
    }
    psbt.unknown.push_back({ToBytes(r.key), ToBytes(r.value)});
  }
  if (!have_tx) {
    return absl::InvalidArgumentError("psbt: missing unsigned transaction");
  }
  psbt.inputs.resize(psbt.tx.inputs.size());
  for (size_t i = 0; i < psbt.inputs.size(); ++i) {
    const std::string where = absl::StrCat("input ", i, ": ");
    if (reader.remaining() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "psbt: expected ", psbt.inputs.size(), " input maps, found ", i));
    }
    KAGI_ASSIGN_OR_RETURN(std::vector<RawRecord> records,
                          ReadMap(reader, where));
    KAGI_RETURN_IF_ERROR(
        DecodeInput(records, psbt.tx.inputs[i], where, limits, psbt.inputs[i]));
  }
  psbt.outputs.resize(psbt.tx.outputs.size());
  for (size_t i = 0; i < psbt.outputs.size(); ++i) {
    const std::string where = absl::StrCat("output ", i, ": ");
    if (reader.remaining() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "psbt: expected ", psbt.outputs.size(), " output maps, found ", i));
    }
    KAGI_ASSIGN_OR_RETURN(std::vector<RawRecord> records,
                          ReadMap(reader, where));
    KAGI_RETURN_IF_ERROR(DecodeOutput(records, where, psbt.outputs[i]));
  }
  if (reader.remaining() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "psbt: ", reader.remaining(), " trailing bytes after the last map"));
  }
  return psbt;
}

absl::StatusOr<Psbt> DecodePsbtBase64(absl::string_view text) {
  std::string raw;
  if (!absl::Base64Unescape(text, &raw) || absl::Base64Escape(raw) != text) {
    return absl::InvalidArgumentError("psbt: invalid or non-canonical base64");
  }
  return DecodePsbt(AsBytes(raw));
}

Bytes EncodePsbt(const Psbt& psbt) {
  KAGI_CHECK(psbt.inputs.size() == psbt.tx.inputs.size());
  KAGI_CHECK(psbt.outputs.size() == psbt.tx.outputs.size());
  Bytes out(kMagic.begin(), kMagic.end());
  PutRecord(kGlobalUnsignedTx, {},
            EncodeTransaction(psbt.tx, /*with_witness=*/false), out);
  PutUnknown(psbt.unknown, out);
  out.push_back(0x00);
  for (const PsbtInput& in : psbt.inputs) {
    if (in.non_witness_utxo.has_value()) {
      PutRecord(kInNonWitnessUtxo, {}, EncodeTransaction(*in.non_witness_utxo),
                out);
    }
    if (in.witness_utxo.has_value()) {
      PutRecord(kInWitnessUtxo, {}, EncodeTxOut(*in.witness_utxo), out);
    }
    for (const PsbtPartialSig& s : in.partial_sigs) {
      PutRecord(kInPartialSig, s.pubkey, s.signature, out);
    }
    if (in.sighash_type.has_value()) {
      Bytes v;
      AppendU32Le(*in.sighash_type, v);
      PutRecord(kInSighashType, {}, v, out);
    }
    if (in.redeem_script.has_value()) {
      PutRecord(kInRedeemScript, {}, *in.redeem_script, out);
    }
    if (in.witness_script.has_value()) {
      PutRecord(kInWitnessScript, {}, *in.witness_script, out);
    }
    PutDerivations(kInBip32Derivation, in.bip32_derivations, out);
    if (in.final_script_sig.has_value()) {
      PutRecord(kInFinalScriptSig, {}, *in.final_script_sig, out);
    }
    if (in.final_script_witness.has_value()) {
      PutRecord(kInFinalScriptWitness, {},
                EncodeWitnessStack(*in.final_script_witness), out);
    }
    PutUnknown(in.unknown, out);
    out.push_back(0x00);
  }
  for (const PsbtOutput& o : psbt.outputs) {
    if (o.redeem_script.has_value()) {
      PutRecord(kOutRedeemScript, {}, *o.redeem_script, out);
    }
    if (o.witness_script.has_value()) {
      PutRecord(kOutWitnessScript, {}, *o.witness_script, out);
    }
    PutDerivations(kOutBip32Derivation, o.bip32_derivations, out);
    PutUnknown(o.unknown, out);
    out.push_back(0x00);
  }
  return out;
}

std::string EncodePsbtBase64(const Psbt& psbt) {
  const Bytes raw = EncodePsbt(psbt);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

absl::Status AddPartialSignature(Psbt& psbt, size_t index, ByteSpan pubkey,
                                 ByteSpan signature) {
  if (index >= psbt.inputs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("psbt: input index ", index, " out of range (",
                     psbt.inputs.size(), " inputs)"));
  }
  const std::string where = absl::StrCat("input ", index, ": ");
  if (pubkey.size() != 33 && pubkey.size() != 65) {
    return Error(where, "partial signature public key must be 33 or 65 bytes");
  }
  auto point = crypto::Point::FromSec1(pubkey, "public key");
  if (!point.ok()) return Error(where, point.status().message());
  if (signature.size() < 2) {
    return Error(where, "partial signature too short");
  }
  auto der =
      crypto::EcdsaSignatureFromDer(signature.subspan(0, signature.size() - 1));
  if (!der.ok()) return Error(where, der.status().message());
  PsbtInput& in = psbt.inputs[index];
  const uint32_t want = in.sighash_type.value_or(kSighashAll);
  if (signature.back() != want) {
    return Error(where,
                 absl::StrCat("signature sighash byte ", signature.back(),
                              " differs from the input's type ", want));
  }
  if (in.final_script_sig.has_value() || in.final_script_witness.has_value()) {
    return Error(where, "input is already finalized");
  }
  for (const PsbtPartialSig& s : in.partial_sigs) {
    if (std::equal(s.pubkey.begin(), s.pubkey.end(), pubkey.begin(),
                   pubkey.end())) {
      return Error(where, "already has a signature for this public key");
    }
  }
  in.partial_sigs.push_back({ToBytes(pubkey), ToBytes(signature)});
  return absl::OkStatus();
}

absl::StatusOr<Bytes> InsertPartialSignature(ByteSpan psbt, size_t index,
                                             ByteSpan pubkey,
                                             ByteSpan signature) {
  KAGI_ASSIGN_OR_RETURN(Psbt decoded, DecodePsbt(psbt));
  KAGI_RETURN_IF_ERROR(AddPartialSignature(decoded, index, pubkey, signature));
  return EncodePsbt(decoded);
}

absl::StatusOr<TxOut> SpentOutput(const Psbt& psbt, size_t index) {
  if (index >= psbt.inputs.size() || index >= psbt.tx.inputs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("psbt: input index ", index, " out of range"));
  }
  auto error = [index](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", index, ": ", message));
  };
  const PsbtInput& in = psbt.inputs[index];
  if (!in.non_witness_utxo.has_value()) {
    return error(
        "non_witness_utxo missing: every input must carry the full "
        "transaction it spends, which alone proves the amount (a witness_utxo "
        "amount is only a claim)");
  }
  // DecodePsbt checked the txid and index; a hand-built Psbt may not have.
  const OutPoint& prevout = psbt.tx.inputs[index].prevout;
  if (Txid(*in.non_witness_utxo) != prevout.txid) {
    return error("non_witness_utxo's txid is not the txid the input spends");
  }
  if (prevout.index >= in.non_witness_utxo->outputs.size()) {
    return error(
        absl::StrCat("non_witness_utxo has no output ", prevout.index));
  }
  const TxOut& spent = in.non_witness_utxo->outputs[prevout.index];
  if (in.witness_utxo.has_value() &&
      (in.witness_utxo->amount != spent.amount ||
       in.witness_utxo->script_pubkey != spent.script_pubkey)) {
    return error(absl::StrCat(
        "witness_utxo (", in.witness_utxo->amount,
        " sat) differs from the output it spends in non_witness_utxo (",
        spent.amount, " sat)"));
  }
  return spent;
}

absl::StatusOr<uint64_t> Fee(const Psbt& psbt) {
  uint64_t in_sum = 0;
  for (size_t i = 0; i < psbt.inputs.size(); ++i) {
    KAGI_ASSIGN_OR_RETURN(TxOut spent, SpentOutput(psbt, i));
    if (spent.amount > kMaxMoney || in_sum + spent.amount > kMaxMoney) {
      return absl::InvalidArgumentError("psbt: input amounts exceed 21e6 BTC");
    }
    in_sum += spent.amount;
  }
  uint64_t out_sum = 0;
  for (const TxOut& o : psbt.tx.outputs) {
    if (o.amount > kMaxMoney || out_sum + o.amount > kMaxMoney) {
      return absl::InvalidArgumentError("psbt: output amounts exceed 21e6 BTC");
    }
    out_sum += o.amount;
  }
  if (out_sum > in_sum) {
    return absl::InvalidArgumentError(absl::StrCat(
        "psbt: outputs (", out_sum, ") exceed inputs (", in_sum, ")"));
  }
  return in_sum - out_sum;
}

}  // namespace kagi::chain
