// File: libs/chain/psbt.h
//
// BIP174 Partially Signed Bitcoin Transactions, version 0.
//
//   psbt   := "psbt" 0xff  global-map  input-map*  output-map*
//   map    := (compact-size keylen ‖ key ‖ compact-size valuelen ‖ value)* 0x00
//   key    := compact-size keytype ‖ keydata
//
// Decoding is strict. It refuses (InvalidArgument, message "psbt: ...", with
// "input N: " / "output N: " naming the map): wrong magic; a non-minimal
// compact size; a duplicate key in a map ("psbt: input 0: duplicate key type
// 0x00"); key data on a type that takes none, or of the wrong length (public
// keys are 33 or 65 bytes and must be valid points); a value that does not
// parse exactly (unsigned tx, UTXOs, sighash type, BIP32 path, witness);
// a missing unsigned tx, or one with scriptSigs or witnesses; fields that
// version 0 excludes (BIP370 types) or a PSBT_GLOBAL_VERSION other than 0;
// a non-witness UTXO whose txid is not the one the input spends; fewer
// input/output maps than the unsigned tx has inputs/outputs; trailing bytes.
// Unknown keys (including global xpubs, proprietary and taproot fields) are
// kept in order and re-encoded after the known ones.
//
// EncodePsbt writes each map's known fields in key-type order (repeated
// fields in stored order), then its unknown records; a PSBT written in that
// order (Bitcoin Core's) decodes and encodes back to identical bytes.
// Nothing here is secret; pure and thread-safe.
#ifndef KAGI_LIBS_CHAIN_PSBT_H_
#define KAGI_LIBS_CHAIN_PSBT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "libs/base/bytes.h"
#include "libs/chain/bitcoin_tx.h"

namespace kagi::chain {

// A key-value record this library does not interpret. `key` is the whole key
// (keytype ‖ keydata).
struct PsbtRecord {
  Bytes key;
  Bytes value;
};

// PSBT_IN_BIP32_DERIVATION / PSBT_OUT_BIP32_DERIVATION.
struct PsbtBip32Derivation {
  Bytes pubkey;  // 33 or 65 bytes
  std::array<uint8_t, 4> fingerprint{};
  std::vector<uint32_t> path;
};

// PSBT_IN_PARTIAL_SIG: DER signature ‖ sighash byte.
struct PsbtPartialSig {
  Bytes pubkey;  // 33 or 65 bytes
  Bytes signature;
};

struct PsbtInput {
  absl::optional<Transaction> non_witness_utxo;             // 0x00
  absl::optional<TxOut> witness_utxo;                       // 0x01
  std::vector<PsbtPartialSig> partial_sigs;                 // 0x02
  absl::optional<uint32_t> sighash_type;                    // 0x03
  absl::optional<Bytes> redeem_script;                      // 0x04
  absl::optional<Bytes> witness_script;                     // 0x05
  std::vector<PsbtBip32Derivation> bip32_derivations;       // 0x06
  absl::optional<Bytes> final_script_sig;                   // 0x07
  absl::optional<std::vector<Bytes>> final_script_witness;  // 0x08
  std::vector<PsbtRecord> unknown;
};

struct PsbtOutput {
  absl::optional<Bytes> redeem_script;                 // 0x00
  absl::optional<Bytes> witness_script;                // 0x01
  std::vector<PsbtBip32Derivation> bip32_derivations;  // 0x02
  std::vector<PsbtRecord> unknown;
};

struct Psbt {
  Transaction tx;                   // PSBT_GLOBAL_UNSIGNED_TX
  std::vector<PsbtRecord> unknown;  // every other global record
  std::vector<PsbtInput> inputs;    // one per tx input
  std::vector<PsbtOutput> outputs;  // one per tx output
};

// PsbtLimits bound the work DecodePsbt may do for an untrusted caller; the
// defaults bound nothing. Each is checked before the part it bounds is
// parsed: the byte size first; the unsigned transaction's input and output
// counts and then its size as soon as it is parsed (linear; before any input
// map, previous transaction or hash); each non-witness UTXO's size before it
// is parsed or hashed. A PSBT over a limit is refused with ResourceExhausted
// naming the count or size and the limit ("psbt: unsigned tx has 16000
// inputs; at most 64").
struct PsbtLimits {
  size_t max_bytes = SIZE_MAX;
  size_t max_unsigned_tx_bytes = SIZE_MAX;
  size_t max_inputs = SIZE_MAX;
  size_t max_outputs = SIZE_MAX;
  size_t max_prev_tx_bytes = SIZE_MAX;  // each non-witness UTXO
};

// DecodePsbt parses binary PSBT v0 (see the rules above) within `limits`.
absl::StatusOr<Psbt> DecodePsbt(ByteSpan data, const PsbtLimits& limits = {});
// DecodePsbtBase64 parses the canonical base64 text of a PSBT.
absl::StatusOr<Psbt> DecodePsbtBase64(absl::string_view text);

// EncodePsbt serializes `psbt`. Requires inputs/outputs to match tx
// (KAGI_CHECK).
Bytes EncodePsbt(const Psbt& psbt);
std::string EncodePsbtBase64(const Psbt& psbt);

// AddPartialSignature records `signature` (strict DER ‖ sighash byte) for
// `pubkey` (33-byte compressed or 65-byte uncompressed point) on input
// `index`, after the input's existing partial signatures. Returns
// InvalidArgument if the index is out of range, the pubkey is not a valid
// point, the signature is not strict DER, its sighash byte differs from the
// input's PSBT_IN_SIGHASH_TYPE (SIGHASH_ALL if absent), the input is already
// finalized, or a signature for the pubkey is already present.
absl::Status AddPartialSignature(Psbt& psbt, size_t index, ByteSpan pubkey,
                                 ByteSpan signature);

// InsertPartialSignature decodes `psbt`, adds the signature and re-encodes.
absl::StatusOr<Bytes> InsertPartialSignature(ByteSpan psbt, size_t index,
                                             ByteSpan pubkey,
                                             ByteSpan signature);

// SpentOutput is what input `index` spends, read from its non-witness UTXO
// (the full previous transaction): only that proves the amount. A witness
// UTXO alone is a claim, and BIP143 lets two PSBTs of one transaction, each
// understating another input, yield signatures that combine into one valid
// transaction with a much higher fee; Kagi therefore requires the
// non-witness UTXO for every input, segwit or not. Returns InvalidArgument
// "input <index>: ..." if it is missing, its txid is not the one the input
// spends, it has no output at the prevout index, or a witness UTXO given
// next to it is not that output.
absl::StatusOr<TxOut> SpentOutput(const Psbt& psbt, size_t index);

// Fee returns sum(spent amounts) - sum(output amounts), the spent amounts
// taken from SpentOutput. Returns InvalidArgument if an input's spent output
// is not proven (SpentOutput) or the outputs exceed the inputs.
absl::StatusOr<uint64_t> Fee(const Psbt& psbt);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_PSBT_H_
