// File: libs/chain/sighash.h
//
// The digests a Bitcoin ECDSA signature commits to, for SIGHASH_ALL only:
//   - BIP143 (segwit v0): P2WPKH (and P2SH-P2WPKH) inputs; the scriptCode of
//     a P2WPKH program h is 76 a9 14 h 88 ac.
//   - Legacy (pre-segwit) for P2PKH / P2PK inputs: the transaction with every
//     scriptSig emptied except the signed input's, which holds the scriptCode
//     (the spent scriptPubKey), then the 4-byte sighash type; HASH256.
// Other sighash types are refused (InvalidArgument "sighash: ..."): Kagi
// signs only what the whole transaction says. Pure and thread-safe.
#ifndef KAGI_LIBS_CHAIN_SIGHASH_H_
#define KAGI_LIBS_CHAIN_SIGHASH_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/chain/bitcoin_tx.h"
#include "libs/crypto/hash.h"

namespace kagi::chain {

inline constexpr uint32_t kSighashAll = 1;

// Bip143Hashes are the three per-transaction midstates of BIP143 (for
// SIGHASH_ALL without ANYONECANPAY).
struct Bip143Hashes {
  crypto::Digest32 hash_prevouts{};
  crypto::Digest32 hash_sequence{};
  crypto::Digest32 hash_outputs{};
};
Bip143Hashes ComputeBip143Hashes(const Transaction& tx);

// P2wpkhScriptCode returns 76 a9 14 <program> 88 ac. Returns InvalidArgument
// unless `script_pubkey` is a P2WPKH output (00 14 <20 bytes>).
absl::StatusOr<Bytes> P2wpkhScriptCode(ByteSpan script_pubkey);

// SegwitV0SighashPreimage returns the BIP143 preimage of input `index` with
// the given scriptCode (without its length prefix) and spent amount.
// Errors: index out of range, sighash type other than SIGHASH_ALL.
absl::StatusOr<Bytes> SegwitV0SighashPreimage(const Transaction& tx,
                                              size_t index,
                                              ByteSpan script_code,
                                              uint64_t amount,
                                              uint32_t sighash_type);
// The same with `hashes` = ComputeBip143Hashes(tx) computed once by the
// caller: signing every input of a transaction is then linear in its size
// (recomputing them per input is quadratic).
absl::StatusOr<Bytes> SegwitV0SighashPreimage(
    const Transaction& tx, const Bip143Hashes& hashes, size_t index,
    ByteSpan script_code, uint64_t amount, uint32_t sighash_type);
// SegwitV0Sighash = HASH256(SegwitV0SighashPreimage(...)).
absl::StatusOr<crypto::Digest32> SegwitV0Sighash(const Transaction& tx,
                                                 size_t index,
                                                 ByteSpan script_code,
                                                 uint64_t amount,
                                                 uint32_t sighash_type);
// P2wpkhSighash computes the BIP143 SIGHASH_ALL digest of input `index`
// spending the P2WPKH output `spent` (its scriptPubKey and amount).
absl::StatusOr<crypto::Digest32> P2wpkhSighash(const Transaction& tx,
                                               size_t index,
                                               const TxOut& spent);
// The same with `hashes` = ComputeBip143Hashes(tx) (see above).
absl::StatusOr<crypto::Digest32> P2wpkhSighash(const Transaction& tx,
                                               const Bip143Hashes& hashes,
                                               size_t index,
                                               const TxOut& spent);

// LegacySighash computes the pre-segwit SIGHASH_ALL digest of input `index`
// whose scriptCode is `script_code` (for P2PKH and P2PK: the spent
// scriptPubKey). Refuses a scriptCode containing OP_CODESEPARATOR (0xab)
// outside push data (it would have to be removed first), an unparsable
// script, an index out of range and other sighash types. Serializes the
// transaction once per call without copying it: O(size of tx) per input.
absl::StatusOr<crypto::Digest32> LegacySighash(const Transaction& tx,
                                               size_t index,
                                               ByteSpan script_code,
                                               uint32_t sighash_type);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_SIGHASH_H_
