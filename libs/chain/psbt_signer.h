// File: libs/chain/psbt_signer.h
//
// What a node checks before it signs a PSBT for one wallet key, and how it
// puts its signatures back. Nothing in the PSBT is trusted: every claim it
// makes about an input or a change output is re-derived from the wallet's
// root extended public key and compared.
//
// AnalyzePsbt accepts a PSBT only if EVERY input is this wallet's:
//   * exactly one PSBT_IN_BIP32_DERIVATION carries root.Fingerprint()
//     (none: PermissionDenied "input i: not spendable by this key");
//   * its path is non-hardened and at most kPsbtMaxPathDepth steps, its
//     public key is 33-byte compressed, and DerivePath(root, path) gives
//     exactly that key;
//   * the spent output is read from the input's non-witness UTXO (the full
//     previous transaction), which must be present and hash to the prevout
//     txid; a witness UTXO, required for P2WPKH, must be that same output
//     (SpentOutput, psbt.h). It must be P2WPKH(HASH160(key)) or
//     P2PKH(HASH160(key)). Other script types, P2TR included, are refused:
//     a threshold ECDSA key makes no Schnorr signatures;
//   * no sighash type other than SIGHASH_ALL, no redeem or witness script
//     (no P2SH/P2WSH wrapping), not already finalized, no outpoint spent
//     twice.
// Why the non-witness UTXO for segwit inputs too: a BIP143 signature commits
// to its own input's amount only. Two PSBTs of one transaction, each
// understating another input's witness UTXO, each show a small fee; the
// signature each yields for its honest input is valid in the real
// transaction, and the two combine into one paying the understated amounts
// as fee. The full previous transaction makes every amount a fact.
// Outputs are listed with their address on `network` (or "script:<hex>" if
// the scriptPubKey has none). An output with one PSBT_OUT_BIP32_DERIVATION
// carrying our fingerprint must re-derive to its key and its scriptPubKey
// must be P2WPKH or P2PKH of that key; one that does not check out is an
// error ("output i: claims to be change but ..."), since a false change
// claim hides a payment from the approver. Such a verified self-payment is
// change only under the PsbtChangeRule (default m/1/i, i < 10000, P2WPKH);
// any other (m/1/2147483647, the receive branch, P2PKH in a P2WPKH wallet)
// counts as an external output, its reason in `self_payment`: money sent
// where the wallet does not look for change is money policy must judge.
// Derivations with other fingerprints are ignored.
// Amounts above kMaxMoney, totals that overflow it, and outputs exceeding
// inputs are refused.
//
// Errors are InvalidArgument (PermissionDenied for inputs without our
// fingerprint) with messages "input i: ...", "output i: ..." or "psbt: ...".
// Pure and thread-safe.
#ifndef KAGI_LIBS_CHAIN_PSBT_SIGNER_H_
#define KAGI_LIBS_CHAIN_PSBT_SIGNER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/chain/bech32.h"
#include "libs/chain/psbt.h"
#include "libs/chain/script.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"

namespace kagi::chain {

// kPsbtMaxPathDepth bounds the BIP32 paths AnalyzePsbt accepts.
inline constexpr size_t kPsbtMaxPathDepth = 16;

// PsbtSigningInput is one verified input: what to sign and with which key.
struct PsbtSigningInput {
  size_t index = 0;            // input index
  std::vector<uint32_t> path;  // non-hardened, under the wallet root
  crypto::Point public_key = crypto::Point::Generator();  // derived key
  ScriptType type = ScriptType::kOther;                   // kP2wpkh or kP2pkh
  uint64_t amount = 0;         // value of the spent output
  crypto::Digest32 sighash{};  // BIP143 (P2WPKH) or legacy, SIGHASH_ALL
};

// PsbtChangeRule says which outputs paying the wallet's own keys are
// change: those to the key at m/<branch>/<index> with index < index_limit,
// as one of `script_types`. Any other self-payment is an external output.
// The defaults are the policy's (docs/policy.md, "Change outputs").
struct PsbtChangeRule {
  uint32_t branch = 1;
  uint32_t index_limit = 10000;
  std::vector<ScriptType> script_types = {ScriptType::kP2wpkh};

  // ToString: "m/1/i (i < 10000; p2wpkh)".
  std::string ToString() const;
};

struct PsbtOutputSummary {
  size_t index = 0;
  std::string address;  // ScriptAddress, or "script:" + hex(scriptPubKey)
  uint64_t amount = 0;
  bool change = false;  // true only when verified by derivation and rule
  std::vector<uint32_t> change_path;
  // Non-empty when the output verifiably pays one of the wallet's own keys
  // but is not change under the rule: why ("pays this wallet's key at
  // m/1/2147483647, outside the change branch m/1/i (i < 10000; p2wpkh)").
  // Such an output counts as external.
  std::string self_payment;
};

struct PsbtAnalysis {
  std::vector<PsbtSigningInput> inputs;    // one per PSBT input, in order
  std::vector<PsbtOutputSummary> outputs;  // one per output, in order
  uint64_t input_total = 0;
  uint64_t external_total = 0;
  uint64_t change_total = 0;
  uint64_t fee = 0;  // input_total - external_total - change_total
};

// AnalyzePsbt checks `psbt` against the wallet root (see the file comment)
// and returns what each input signs and where the money goes. `network`
// only selects the address encoding; `change` says which self-payments are
// change.
absl::StatusOr<PsbtAnalysis> AnalyzePsbt(const Psbt& psbt,
                                         const crypto::ExtendedPublicKey& root,
                                         Network network,
                                         const PsbtChangeRule& change);

// SignPsbt adds, for each analysed input i, the partial signature
// DER(signatures[i]) ‖ 0x01 under the input's compressed public key and
// returns the encoded PSBT. `signatures[i]` is the compact low-S r ‖ s for
// analysis.inputs[i]. Returns InvalidArgument if the counts differ, the
// analysis does not describe `psbt` (index or recomputed sighash differs),
// a signature does not verify under its key for its sighash, or the PSBT
// refuses the signature (AddPartialSignature: finalized, already signed).
absl::StatusOr<Bytes> SignPsbt(
    const Psbt& psbt, const PsbtAnalysis& analysis,
    const std::vector<std::array<uint8_t, 64>>& signatures);

// EcdsaCompactToDer returns the strict DER encoding of a compact r ‖ s
// signature (no sighash byte). Does not validate the values.
Bytes EcdsaCompactToDer(const std::array<uint8_t, 64>& compact);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_PSBT_SIGNER_H_
