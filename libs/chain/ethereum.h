// File: libs/chain/ethereum.h
//
// The Ethereum transactions Kagi is asked to sign, decoded so that what is
// shown to the approver is exactly what gets signed ("what you see is what
// you sign", issue 7).
//
// DecodeEthTransaction takes the UNSIGNED transaction, i.e. the exact bytes
// whose Keccak-256 is the ECDSA message:
//
//   legacy (EIP-155)      rlp([nonce, gasPrice, gas, to, value, data,
//                              chainId, 0, 0])
//   EIP-2930 (type 1)     0x01 ‖ rlp([chainId, nonce, gasPrice, gas, to,
//                                     value, data, accessList])
//   EIP-1559 (type 2)     0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas,
//                                     maxFeePerGas, gas, to, value, data,
//                                     accessList])
//
// with accessList = [[address, [storageKey, ...]], ...]. Once the threshold
// signature exists, EncodeSignedTransaction writes the signed form that is
// broadcast (v/r/s or y_parity/r/s appended). Decoding is strict
// (canonical RLP and integers, exact field counts, no trailing bytes), so
// EncodeUnsignedTransaction(DecodeEthTransaction(b)) == b and a transaction has
// one encoding only. Refused on purpose: pre-EIP-155 legacy transactions
// (6 fields, no chain id: replayable on every chain), chain id 0, and signed
// transactions (legacy with v/r/s in place of chainId/0/0, typed ones with
// 11 or 12 fields).
//
// Errors are InvalidArgument with a message starting "eth: " that names the
// field ("eth: tx.to must be 20 bytes (or empty for contract creation),
// got 19"); RLP syntax errors keep the RLP rule and offset ("eth: tx payload:
// rlp: non-canonical length ... at offset 3"; offsets count from the first
// byte after the type byte for typed transactions). Nothing here is secret;
// all functions are pure and thread-safe.
#ifndef KAGI_LIBS_CHAIN_ETHEREUM_H_
#define KAGI_LIBS_CHAIN_ETHEREUM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "libs/base/bytes.h"
#include "libs/chain/keccak.h"
#include "libs/chain/rlp.h"
#include "libs/crypto/point.h"

namespace kagi::chain {

inline constexpr size_t kEthAddressBytes = 20;
using EthAddress = std::array<uint8_t, kEthAddressBytes>;
// EthStorageKey is a 32-byte storage slot of an access list (opaque bytes,
// not an integer: leading zeros are kept).
using EthStorageKey = std::array<uint8_t, 32>;

// EthTxType is the EIP-2718 type; legacy transactions have none (0 here).
enum class EthTxType : uint8_t {
  kLegacy = 0,      // EIP-155
  kAccessList = 1,  // EIP-2930
  kDynamicFee = 2,  // EIP-1559
};

struct EthAccessTuple {
  EthAddress address{};
  std::vector<EthStorageKey> storage_keys;

  friend bool operator==(const EthAccessTuple& a, const EthAccessTuple& b) {
    return a.address == b.address && a.storage_keys == b.storage_keys;
  }
};

// EthTransaction is an unsigned transaction of any of the three types.
// Amounts are 256-bit big-endian; fields a type does not have are zero/empty.
struct EthTransaction {
  EthTxType type = EthTxType::kLegacy;
  uint64_t chain_id = 0;               // never 0 once decoded
  uint64_t nonce = 0;                  // EIP-2681: below 2^64
  Uint256 gas_price{};                 // legacy and type 1
  Uint256 max_priority_fee_per_gas{};  // type 2
  Uint256 max_fee_per_gas{};           // type 2
  uint64_t gas_limit = 0;
  absl::optional<EthAddress> to;  // nullopt: contract creation
  Uint256 value{};                // wei
  Bytes data;
  std::vector<EthAccessTuple> access_list;  // types 1 and 2
};

// DecodeEthTransaction parses an unsigned transaction (see the file comment).
absl::StatusOr<EthTransaction> DecodeEthTransaction(ByteSpan unsigned_tx);

// EncodeUnsignedTransaction returns the bytes signed for `tx`: the EIP-155
// RLP list for legacy, type byte ‖ RLP list for types 1 and 2. Fields the
// type does not have are ignored. Requires a known `tx.type` (KAGI_CHECK).
Bytes EncodeUnsignedTransaction(const EthTransaction& tx);

// EncodeSignedTransaction returns the network encoding of `tx` signed with
// (y_parity, r, s), the form eth_sendRawTransaction takes:
//   legacy   rlp([nonce, gasPrice, gas, to, value, data, v, r, s]) with
//            v = chainId * 2 + 35 + y_parity (EIP-155)
//   type 1/2 type ‖ rlp([...the unsigned fields..., y_parity, r, s])
// r and s are 32-byte big-endian and are written as canonical RLP integers
// (leading zero bytes stripped). The signature is not checked here. Requires
// y_parity <= 1 and a known `tx.type` (KAGI_CHECK).
Bytes EncodeSignedTransaction(const EthTransaction& tx, uint8_t y_parity,
                              const std::array<uint8_t, 32>& r,
                              const std::array<uint8_t, 32>& s);

// SigningHash returns Keccak256(EncodeUnsignedTransaction(tx)), the 32-byte
// message of the ECDSA signature.
Keccak256Digest SigningHash(const EthTransaction& tx);

// AddressFromPublicKey returns the last 20 bytes of the Keccak-256 of the
// 64-byte uncompressed public key (x ‖ y, without the 0x04 prefix).
EthAddress AddressFromPublicKey(const crypto::Point& pubkey);

// Eip55Checksum returns "0x" ‖ 40 hex digits of `address`, each letter upper
// case iff the matching nibble of Keccak256(lower-case hex) is >= 8 (EIP-55).
std::string Eip55Checksum(const EthAddress& address);

// Eip55Address is Eip55Checksum(AddressFromPublicKey(pubkey)).
std::string Eip55Address(const crypto::Point& pubkey);

// ParseAddress parses "0x" ‖ 40 hex digits. All-lower-case and
// all-upper-case letters carry no checksum and are accepted; mixed case must
// be exactly the EIP-55 checksum casing. Returns InvalidArgument otherwise.
absl::StatusOr<EthAddress> ParseAddress(absl::string_view text);

// --- ERC-20 calls in tx.data ----------------------------------------------

enum class Erc20Kind {
  kTransfer,  // transfer(address,uint256), selector a9059cbb
  kApprove,   // approve(address,uint256), selector 095ea7b3
};

// Erc20Call is a decoded transfer/approve: `to` is the recipient (transfer)
// or the spender (approve); `amount` is in the token's base units.
struct Erc20Call {
  Erc20Kind kind = Erc20Kind::kTransfer;
  EthAddress to{};
  Uint256 amount{};
};

// DecodeErc20Call decodes tx.data as an ERC-20 transfer or approve: the
// 4-byte selector and two 32-byte ABI words, exactly 68 bytes, the address
// word's top 12 bytes zero. Returns InvalidArgument for another selector, a
// wrong length or non-zero address padding.
absl::StatusOr<Erc20Call> DecodeErc20Call(ByteSpan data);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_ETHEREUM_H_
