// File: libs/chain/bitcoin_tx.h
//
// Bitcoin transactions in network serialization (BIP144 for the witness
// form): version, inputs (outpoint, scriptSig, sequence), outputs (amount,
// scriptPubKey), per-input witness stacks, locktime.
//
// Decoding is strict: compact-size integers must be minimally encoded, the
// witness form needs marker 0x00 and flag 0x01 and at least one non-empty
// witness (else the legacy form must be used), amounts are at most 21e6 BTC,
// counts are bounded by the bytes left, and trailing bytes are refused.
// Errors are InvalidArgument starting "tx:" that name the field ("tx: input
// 1: truncated script_sig: need 25 bytes, have 3"). Pure and thread-safe.
#ifndef KAGI_LIBS_CHAIN_BITCOIN_TX_H_
#define KAGI_LIBS_CHAIN_BITCOIN_TX_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"

namespace kagi::chain {

// kMaxMoney is 21 million BTC in satoshis; larger amounts are refused.
inline constexpr uint64_t kMaxMoney = 2100000000000000;

// TxHash is a transaction id in internal byte order (as serialized in an
// outpoint; the displayed hex is reversed).
using TxHash = std::array<uint8_t, 32>;

struct OutPoint {
  TxHash txid{};
  uint32_t index = 0;
};

struct TxIn {
  OutPoint prevout;
  Bytes script_sig;
  uint32_t sequence = 0xffffffff;
  std::vector<Bytes> witness;  // empty: no witness for this input
};

struct TxOut {
  uint64_t amount = 0;  // satoshis
  Bytes script_pubkey;
};

struct Transaction {
  int32_t version = 2;
  std::vector<TxIn> inputs;
  std::vector<TxOut> outputs;
  uint32_t locktime = 0;

  // HasWitness is true if any input has a non-empty witness.
  bool HasWitness() const;
};

// TxFormat selects which serializations DecodeTransaction accepts.
enum class TxFormat {
  kAny,         // legacy, or witness form if marker/flag present
  kLegacyOnly,  // refuse marker 0x00 flag 0x01 (PSBT unsigned tx)
};

// DecodeTransaction parses a whole transaction. A legacy transaction with
// zero inputs and exactly one output cannot be told from the witness form
// and is refused under kLegacyOnly (and read as witness form under kAny).
absl::StatusOr<Transaction> DecodeTransaction(ByteSpan data,
                                              TxFormat format = TxFormat::kAny);

// EncodeTransaction serializes `tx`, in witness form iff `with_witness` and
// tx.HasWitness().
Bytes EncodeTransaction(const Transaction& tx, bool with_witness = true);

// Txid returns HASH256 of the legacy serialization (internal byte order).
TxHash Txid(const Transaction& tx);

// DecodeTxOut parses exactly amount ‖ compact-size ‖ scriptPubKey.
absl::StatusOr<TxOut> DecodeTxOut(ByteSpan data);
Bytes EncodeTxOut(const TxOut& out);

// DecodeWitnessStack parses exactly compact-size count ‖ (len ‖ item)*.
absl::StatusOr<std::vector<Bytes>> DecodeWitnessStack(ByteSpan data);
Bytes EncodeWitnessStack(const std::vector<Bytes>& stack);

// Compact-size ("var_int") integers as used by transactions and PSBT.
void AppendCompactSize(uint64_t value, Bytes& out);
void AppendBytesWithSize(ByteSpan data, Bytes& out);
void AppendU32Le(uint32_t value, Bytes& out);
void AppendU64Le(uint64_t value, Bytes& out);

// TxReader reads the little-endian and compact-size fields of transactions
// and PSBTs. `ReadCompactSize` refuses non-minimal encodings.
// The fixed-width reads and truncation errors are ByteReader's.
class TxReader : public ByteReader {
 public:
  explicit TxReader(ByteSpan data) : ByteReader(data) {}
  absl::StatusOr<uint64_t> ReadCompactSize(absl::string_view field);
  // ReadBytesWithSize reads compact-size length ‖ bytes.
  absl::StatusOr<ByteSpan> ReadBytesWithSize(absl::string_view field);
};

// ReadTransaction reads one transaction from `reader` (no end check).
absl::StatusOr<Transaction> ReadTransaction(TxReader& reader, TxFormat format);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_BITCOIN_TX_H_
