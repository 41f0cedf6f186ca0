// File: libs/chain/psbt_signer.cc
//
// PSBT analysis and signature insertion for one wallet key; see
// psbt_signer.h. Every check re-derives what the PSBT claims from the root
// extended public key; the PSBT's own fields are only ever compared.
#include "libs/chain/psbt_signer.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "libs/base/status_macros.h"
#include "libs/chain/bitcoin_tx.h"
#include "libs/chain/sighash.h"
#include "libs/crypto/ecdsa.h"

namespace kagi::chain {
namespace {

absl::Status InputError(size_t index, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("input ", index, ": ", message));
}

absl::Status OutputError(size_t index, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("output ", index, ": ", message));
}

std::string PathString(const std::vector<uint32_t>& path) {
  std::string out = "m";
  for (uint32_t step : path) {
    if (step & crypto::kBip32HardenedBit) {
      absl::StrAppend(&out, "/", step & ~crypto::kBip32HardenedBit, "'");
    } else {
      absl::StrAppend(&out, "/", step);
    }
  }
  return out;
}

// OwnDerivation returns the first derivation record carrying `fingerprint`
// (nullptr if none does) and sets `count` to how many carry it.
const PsbtBip32Derivation* OwnDerivation(
    const std::vector<PsbtBip32Derivation>& records,
    const crypto::Bip32Fingerprint& fingerprint, size_t* count) {
  const PsbtBip32Derivation* found = nullptr;
  *count = 0;
  for (const PsbtBip32Derivation& d : records) {
    if (d.fingerprint == fingerprint) {
      ++*count;
      if (found == nullptr) found = &d;
    }
  }
  return found;
}

// VerifyDerivation re-derives `d` from `root` and returns the key. Errors are
// bare reasons; the caller prefixes input/output and index.
absl::StatusOr<crypto::Point> VerifyDerivation(
    const PsbtBip32Derivation& d, const crypto::ExtendedPublicKey& root) {
  if (d.path.size() > kPsbtMaxPathDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("BIP32 path has ", d.path.size(), " steps, more than ",
                     kPsbtMaxPathDepth));
  }
  for (size_t s = 0; s < d.path.size(); ++s) {
    if (d.path[s] & crypto::kBip32HardenedBit) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BIP32 path ", PathString(d.path), " is hardened at step ", s,
          "; the wallet derives non-hardened keys only"));
    }
  }
  if (d.pubkey.size() != crypto::Point::kCompressedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("BIP32 derivation public key is ", d.pubkey.size(),
                     " bytes; only 33-byte compressed keys are accepted"));
  }
  absl::StatusOr<crypto::DerivedKey> derived = crypto::DerivePath(root, d.path);
  if (!derived.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot derive ",
                                                   PathString(d.path), ": ",
                                                   derived.status().message()));
  }
  const std::array<uint8_t, crypto::Point::kCompressedBytes> key =
      derived->xpub.key().ToCompressed();
  if (!std::equal(key.begin(), key.end(), d.pubkey.begin(), d.pubkey.end())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key derived at ", PathString(d.path), " is ", HexEncode(key),
        ", not the derivation record's ", HexEncode(d.pubkey)));
  }
  return derived->xpub.key();
}

Bytes KeyHash(const crypto::Point& key) {
  const std::array<uint8_t, crypto::Point::kCompressedBytes> sec1 =
      key.ToCompressed();
  const crypto::Digest20 h = crypto::Hash160(sec1);
  return Bytes(h.begin(), h.end());
}

// CheckInputShape refuses finalized inputs, scripts other than P2WPKH and
// P2PKH, and sighash types other than SIGHASH_ALL.
absl::Status CheckInputShape(const PsbtInput& in, size_t index) {
  if (in.final_script_sig.has_value() || in.final_script_witness.has_value()) {
    return InputError(index, "is already finalized");
  }
  if (in.redeem_script.has_value() || in.witness_script.has_value()) {
    return InputError(index,
                      "carries a redeem or witness script; only P2WPKH and "
                      "P2PKH inputs are signed (no P2SH/P2WSH)");
  }
  if (in.sighash_type.has_value() && *in.sighash_type != kSighashAll) {
    return InputError(index, absl::StrCat("sighash type ", *in.sighash_type,
                                          " is not SIGHASH_ALL (1)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PsbtSigningInput> AnalyzeInput(
    const Psbt& psbt, const Bip143Hashes& bip143, size_t index,
    const crypto::ExtendedPublicKey& root) {
  const PsbtInput& in = psbt.inputs[index];
  KAGI_RETURN_IF_ERROR(CheckInputShape(in, index));

  // Key: exactly one derivation record with our fingerprint, re-derived.
  const crypto::Bip32Fingerprint fingerprint = root.Fingerprint();
  size_t count = 0;
  const PsbtBip32Derivation* own =
      OwnDerivation(in.bip32_derivations, fingerprint, &count);
  if (own == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("input ", index,
                     ": not spendable by this key (no BIP32 derivation with "
                     "fingerprint ",
                     HexEncode(fingerprint), ")"));
  }
  if (count > 1) {
    return InputError(index,
                      absl::StrCat(count,
                                   " BIP32 derivations carry this "
                                   "wallet's fingerprint; expected one"));
  }
  absl::StatusOr<crypto::Point> key = VerifyDerivation(*own, root);
  if (!key.ok()) return InputError(index, key.status().message());

  // Spent output, proven by the full previous transaction.
  KAGI_ASSIGN_OR_RETURN(const TxOut spent, SpentOutput(psbt, index));
  const ClassifiedScript classified = ClassifyScript(spent.script_pubkey);
  const Bytes hash = KeyHash(*key);
  PsbtSigningInput result;
  result.index = index;
  result.path = own->path;
  result.public_key = *key;
  result.type = classified.type;
  result.amount = spent.amount;
  if (spent.amount > kMaxMoney) {
    return InputError(
        index, absl::StrCat("amount ", spent.amount, " exceeds 21e6 BTC"));
  }
  switch (classified.type) {
    case ScriptType::kP2wpkh: {
      if (!in.witness_utxo.has_value()) {
        return InputError(index, "P2WPKH input without witness_utxo");
      }
      if (spent.script_pubkey != P2wpkhScript(hash)) {
        return InputError(index, absl::StrCat("spent P2WPKH script is not "
                                              "the one of the key at ",
                                              PathString(own->path)));
      }
      KAGI_ASSIGN_OR_RETURN(result.sighash,
                            P2wpkhSighash(psbt.tx, bip143, index, spent));
      break;
    }
    case ScriptType::kP2pkh: {
      if (spent.script_pubkey != P2pkhScript(hash)) {
        return InputError(index, absl::StrCat("spent P2PKH script is not "
                                              "the one of the key at ",
                                              PathString(own->path)));
      }
      KAGI_ASSIGN_OR_RETURN(
          result.sighash,
          LegacySighash(psbt.tx, index, spent.script_pubkey, kSighashAll));
      break;
    }
    default:
      return InputError(
          index, absl::StrCat("spends a ", ScriptTypeName(classified.type),
                              " output; only P2WPKH and P2PKH inputs are "
                              "signed"));
  }
  return result;
}

// NotChangeReason returns "" if an output paying the wallet's key at `path`
// as `type` is change under `rule`, else why it is not.
std::string NotChangeReason(const std::vector<uint32_t>& path, ScriptType type,
                            const PsbtChangeRule& rule) {
  const bool in_branch =
      path.size() == 2 && path[0] == rule.branch && path[1] < rule.index_limit;
  if (!in_branch) {
    return absl::StrCat("pays this wallet's key at ", PathString(path),
                        ", outside the change branch ", rule.ToString());
  }
  if (std::find(rule.script_types.begin(), rule.script_types.end(), type) ==
      rule.script_types.end()) {
    return absl::StrCat("pays this wallet's key at ", PathString(path), " as ",
                        ScriptTypeName(type),
                        ", a script type the change branch ", rule.ToString(),
                        " does not use");
  }
  return "";
}

absl::StatusOr<PsbtOutputSummary> AnalyzeOutput(
    const Psbt& psbt, size_t index, const crypto::ExtendedPublicKey& root,
    Network network, const PsbtChangeRule& change) {
  const TxOut& out = psbt.tx.outputs[index];
  if (out.amount > kMaxMoney) {
    return OutputError(
        index, absl::StrCat("amount ", out.amount, " exceeds 21e6 BTC"));
  }
  PsbtOutputSummary summary;
  summary.index = index;
  summary.amount = out.amount;
  absl::StatusOr<std::string> address =
      ScriptAddress(out.script_pubkey, network);
  summary.address = address.ok()
                        ? *std::move(address)
                        : absl::StrCat("script:", HexEncode(out.script_pubkey));

  size_t count = 0;
  const PsbtBip32Derivation* own = OwnDerivation(
      psbt.outputs[index].bip32_derivations, root.Fingerprint(), &count);
  if (own == nullptr) return summary;
  const absl::string_view claim = "claims to be change but ";
  if (count > 1) {
    return OutputError(index,
                       absl::StrCat(claim, count,
                                    " BIP32 derivations carry this wallet's "
                                    "fingerprint"));
  }
  absl::StatusOr<crypto::Point> key = VerifyDerivation(*own, root);
  if (!key.ok()) {
    return OutputError(index, absl::StrCat(claim, key.status().message()));
  }
  const Bytes hash = KeyHash(*key);
  ScriptType type = ScriptType::kOther;
  if (out.script_pubkey == P2wpkhScript(hash)) {
    type = ScriptType::kP2wpkh;
  } else if (out.script_pubkey == P2pkhScript(hash)) {
    type = ScriptType::kP2pkh;
  } else {
    return OutputError(
        index, absl::StrCat(claim,
                            "its scriptPubKey is neither P2WPKH nor P2PKH of "
                            "the key at ",
                            PathString(own->path)));
  }
  summary.self_payment = NotChangeReason(own->path, type, change);
  if (summary.self_payment.empty()) {
    summary.change = true;
    summary.change_path = own->path;
  }
  return summary;
}

// CheckDistinctOutpoints refuses an input spending the outpoint of an
// earlier one, in O(n log n).
absl::Status CheckDistinctOutpoints(const Transaction& tx) {
  std::map<std::pair<TxHash, uint32_t>, size_t> first;
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    const OutPoint& prevout = tx.inputs[i].prevout;
    const auto [it, added] =
        first.emplace(std::make_pair(prevout.txid, prevout.index), i);
    if (!added) {
      return InputError(
          i, absl::StrCat("spends the same outpoint as input ", it->second));
    }
  }
  return absl::OkStatus();
}

// AddAmount adds `amount` to `total`, refusing sums above kMaxMoney.
bool AddAmount(uint64_t amount, uint64_t& total) {
  if (amount > kMaxMoney || total > kMaxMoney - amount) return false;
  total += amount;
  return true;
}

}  // namespace

Bytes EcdsaCompactToDer(const std::array<uint8_t, 64>& compact) {
  Bytes body;
  for (size_t half = 0; half < 2; ++half) {
    const uint8_t* v = compact.data() + 32 * half;
    size_t start = 0;
    while (start < 31 && v[start] == 0) ++start;
    const bool pad = (v[start] & 0x80) != 0;
    body.push_back(0x02);
    body.push_back(static_cast<uint8_t>(32 - start + (pad ? 1 : 0)));
    if (pad) body.push_back(0x00);
    body.insert(body.end(), v + start, v + 32);
  }
  Bytes der(2 + body.size());
  der[0] = 0x30;
  der[1] = static_cast<uint8_t>(body.size());
  std::copy(body.begin(), body.end(), der.begin() + 2);
  return der;
}

std::string PsbtChangeRule::ToString() const {
  std::vector<std::string> types;
  for (ScriptType t : script_types) types.emplace_back(ScriptTypeName(t));
  return absl::StrCat("m/", branch, "/i (i < ", index_limit, "; ",
                      absl::StrJoin(types, ", "), ")");
}

absl::StatusOr<PsbtAnalysis> AnalyzePsbt(const Psbt& psbt,
                                         const crypto::ExtendedPublicKey& root,
                                         Network network,
                                         const PsbtChangeRule& change) {
  if (psbt.inputs.size() != psbt.tx.inputs.size() ||
      psbt.outputs.size() != psbt.tx.outputs.size()) {
    return absl::InvalidArgumentError(
        "psbt: input/output maps do not match the unsigned transaction");
  }
  if (psbt.tx.inputs.empty()) {
    return absl::InvalidArgumentError("psbt: transaction has no inputs");
  }
  if (psbt.tx.outputs.empty()) {
    return absl::InvalidArgumentError("psbt: transaction has no outputs");
  }
  KAGI_RETURN_IF_ERROR(CheckDistinctOutpoints(psbt.tx));
  // Once per transaction: per input it would make the analysis quadratic.
  const Bip143Hashes bip143 = ComputeBip143Hashes(psbt.tx);
  PsbtAnalysis analysis;
  for (size_t i = 0; i < psbt.tx.inputs.size(); ++i) {
    KAGI_ASSIGN_OR_RETURN(PsbtSigningInput in,
                          AnalyzeInput(psbt, bip143, i, root));
    if (!AddAmount(in.amount, analysis.input_total)) {
      return InputError(i, "input amounts add up to more than 21e6 BTC");
    }
    analysis.inputs.push_back(std::move(in));
  }
  for (size_t i = 0; i < psbt.tx.outputs.size(); ++i) {
    KAGI_ASSIGN_OR_RETURN(PsbtOutputSummary out,
                          AnalyzeOutput(psbt, i, root, network, change));
    uint64_t& total =
        out.change ? analysis.change_total : analysis.external_total;
    if (!AddAmount(out.amount, total) ||
        analysis.change_total > kMaxMoney - analysis.external_total) {
      return OutputError(i, "output amounts add up to more than 21e6 BTC");
    }
    analysis.outputs.push_back(std::move(out));
  }
  const uint64_t spent = analysis.external_total + analysis.change_total;
  if (spent > analysis.input_total) {
    return absl::InvalidArgumentError(
        absl::StrCat("psbt: outputs (", spent, " sat) exceed inputs (",
                     analysis.input_total, " sat)"));
  }
  analysis.fee = analysis.input_total - spent;
  return analysis;
}

absl::StatusOr<Bytes> SignPsbt(
    const Psbt& psbt, const PsbtAnalysis& analysis,
    const std::vector<std::array<uint8_t, 64>>& signatures) {
  if (analysis.inputs.size() != psbt.inputs.size() ||
      psbt.inputs.size() != psbt.tx.inputs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("psbt: analysis has ", analysis.inputs.size(),
                     " inputs, the PSBT has ", psbt.inputs.size()));
  }
  if (signatures.size() != analysis.inputs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("psbt: got ", signatures.size(), " signatures for ",
                     analysis.inputs.size(), " inputs"));
  }
  Psbt signed_psbt = psbt;
  const Bip143Hashes bip143 = ComputeBip143Hashes(psbt.tx);
  for (size_t i = 0; i < analysis.inputs.size(); ++i) {
    const PsbtSigningInput& in = analysis.inputs[i];
    if (in.index != i) {
      return InputError(i, absl::StrCat("analysis lists input ", in.index,
                                        " in this position"));
    }
    // The analysis must describe this PSBT: recompute its digest.
    const Bytes hash = KeyHash(in.public_key);
    absl::StatusOr<crypto::Digest32> digest;
    if (in.type == ScriptType::kP2wpkh) {
      digest = P2wpkhSighash(psbt.tx, bip143, i,
                             TxOut{in.amount, P2wpkhScript(hash)});
    } else if (in.type == ScriptType::kP2pkh) {
      digest = LegacySighash(psbt.tx, i, P2pkhScript(hash), kSighashAll);
    } else {
      return InputError(i,
                        "analysis has an input type other than P2WPKH or "
                        "P2PKH");
    }
    if (!digest.ok()) return InputError(i, digest.status().message());
    if (*digest != in.sighash) {
      return InputError(i,
                        "analysis does not describe this PSBT (sighash "
                        "differs)");
    }
    const absl::Status verified =
        crypto::EcdsaVerify(in.public_key, in.sighash, signatures[i]);
    if (!verified.ok()) {
      return InputError(
          i, absl::StrCat("signature rejected: ", verified.message()));
    }
    Bytes sig = EcdsaCompactToDer(signatures[i]);
    sig.push_back(static_cast<uint8_t>(kSighashAll));
    const std::array<uint8_t, crypto::Point::kCompressedBytes> pub =
        in.public_key.ToCompressed();
    KAGI_RETURN_IF_ERROR(AddPartialSignature(signed_psbt, i, pub, sig));
  }
  return EncodePsbt(signed_psbt);
}

}  // namespace kagi::chain
