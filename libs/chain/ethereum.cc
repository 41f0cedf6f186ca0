// File: libs/chain/ethereum.cc
//
// Ethereum unsigned transactions, EIP-55 addresses and ERC-20 call data;
// see ethereum.h. Decoding goes through the strict RLP decoder and then
// checks the shape of each field; encoding rebuilds the RLP tree.
#include "libs/chain/ethereum.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/base/check.h"
#include "libs/base/status_macros.h"

namespace kagi::chain {
namespace {

constexpr size_t kLegacyFields = 9;
constexpr size_t kPreEip155Fields = 6;
constexpr size_t kAccessListFields = 8;
constexpr size_t kDynamicFeeFields = 9;
constexpr size_t kSignatureFields = 3;  // y_parity/v, r, s

constexpr std::array<uint8_t, 4> kTransferSelector = {0xa9, 0x05, 0x9c, 0xbb};
constexpr std::array<uint8_t, 4> kApproveSelector = {0x09, 0x5e, 0xa7, 0xb3};
constexpr size_t kAbiWordBytes = 32;
constexpr size_t kErc20CallBytes = 4 + 2 * kAbiWordBytes;

absl::Status EthError(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("eth: ", message));
}

// FromRlpFieldError turns "rlp: <field> ..." from the integer helpers into
// "eth: <field> ...".
absl::Status FromRlpFieldError(const absl::Status& status) {
  absl::string_view message = status.message();
  if (message.substr(0, 5) == "rlp: ") {
    message.remove_prefix(5);
  }
  return EthError(message);
}

// AsEthField restates a number field's RLP error as a transaction error.
template <typename T>
absl::StatusOr<T> AsEthField(absl::StatusOr<T> v) {
  if (!v.ok()) {
    return FromRlpFieldError(v.status());
  }
  return v;
}

absl::StatusOr<uint64_t> Uint64Field(const RlpItem& item,
                                     absl::string_view field) {
  return AsEthField(RlpToUint64(item, field));
}

absl::StatusOr<Uint256> Uint256Field(const RlpItem& item,
                                     absl::string_view field) {
  return AsEthField(RlpToUint256(item, field));
}

absl::StatusOr<ByteSpan> StringField(const RlpItem& item,
                                     absl::string_view field) {
  if (item.is_list) {
    return EthError(absl::StrCat(field, " must be a byte string, got a list"));
  }
  return ByteSpan(item.bytes);
}

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> FixedField(const RlpItem& item,
                                                  absl::string_view field) {
  KAGI_ASSIGN_OR_RETURN(ByteSpan bytes, StringField(item, field));
  if (bytes.size() != N) {
    return EthError(
        absl::StrCat(field, " must be ", N, " bytes, got ", bytes.size()));
  }
  std::array<uint8_t, N> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

absl::StatusOr<uint64_t> ChainIdField(const RlpItem& item) {
  KAGI_ASSIGN_OR_RETURN(uint64_t chain_id, Uint64Field(item, "tx.chain_id"));
  if (chain_id == 0) {
    return EthError(
        "tx.chain_id must not be 0 (the signature would be valid "
        "on every chain)");
  }
  return chain_id;
}

absl::StatusOr<absl::optional<EthAddress>> ToField(const RlpItem& item) {
  KAGI_ASSIGN_OR_RETURN(ByteSpan bytes, StringField(item, "tx.to"));
  if (bytes.empty()) {
    return absl::optional<EthAddress>();
  }
  if (bytes.size() != kEthAddressBytes) {
    return EthError(absl::StrCat(
        "tx.to must be 20 bytes (or empty for contract creation), got ",
        bytes.size()));
  }
  EthAddress to{};
  std::copy(bytes.begin(), bytes.end(), to.begin());
  return absl::optional<EthAddress>(to);
}

absl::StatusOr<std::vector<EthAccessTuple>> AccessListField(
    const RlpItem& item) {
  if (!item.is_list) {
    return EthError("tx.access_list must be a list, got a byte string");
  }
  std::vector<EthAccessTuple> out;
  out.reserve(item.items.size());
  for (size_t i = 0; i < item.items.size(); ++i) {
    const RlpItem& tuple = item.items[i];
    const std::string name = absl::StrCat("tx.access_list[", i, "]");
    if (!tuple.is_list || tuple.items.size() != 2) {
      return EthError(
          absl::StrCat(name, " must be a list [address, [storage keys]]"));
    }
    EthAccessTuple entry;
    KAGI_ASSIGN_OR_RETURN(entry.address,
                          FixedField<kEthAddressBytes>(
                              tuple.items[0], absl::StrCat(name, ".address")));
    const RlpItem& keys = tuple.items[1];
    if (!keys.is_list) {
      return EthError(absl::StrCat(name, ".storage_keys must be a list"));
    }
    entry.storage_keys.reserve(keys.items.size());
    for (size_t k = 0; k < keys.items.size(); ++k) {
      KAGI_ASSIGN_OR_RETURN(
          EthStorageKey key,
          FixedField<32>(keys.items[k],
                         absl::StrCat(name, ".storage_keys[", k, "]")));
      entry.storage_keys.push_back(key);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// DecodeList decodes `payload` as one RLP list; `what` names it in errors.
absl::StatusOr<RlpItem> DecodeList(ByteSpan payload, absl::string_view what) {
  absl::StatusOr<RlpItem> item = RlpDecode(payload);
  if (!item.ok()) {
    return EthError(absl::StrCat(what, ": ", item.status().message()));
  }
  if (!item->is_list) {
    return EthError(absl::StrCat(what, " must be an RLP list"));
  }
  return *std::move(item);
}

absl::StatusOr<EthTransaction> DecodeLegacy(ByteSpan input) {
  KAGI_ASSIGN_OR_RETURN(RlpItem list, DecodeList(input, "legacy tx"));
  const std::vector<RlpItem>& f = list.items;
  if (f.size() == kPreEip155Fields) {
    return EthError(
        "legacy tx has 6 fields: pre-EIP-155 transactions (no chain id) are "
        "refused");
  }
  if (f.size() != kLegacyFields) {
    return EthError(absl::StrCat(
        "legacy tx must have 9 fields [nonce, gasPrice, gas, to, value, data, "
        "chainId, 0, 0], got ",
        f.size()));
  }
  EthTransaction tx;
  tx.type = EthTxType::kLegacy;
  KAGI_ASSIGN_OR_RETURN(tx.nonce, Uint64Field(f[0], "tx.nonce"));
  KAGI_ASSIGN_OR_RETURN(tx.gas_price, Uint256Field(f[1], "tx.gas_price"));
  KAGI_ASSIGN_OR_RETURN(tx.gas_limit, Uint64Field(f[2], "tx.gas_limit"));
  KAGI_ASSIGN_OR_RETURN(tx.to, ToField(f[3]));
  KAGI_ASSIGN_OR_RETURN(tx.value, Uint256Field(f[4], "tx.value"));
  KAGI_ASSIGN_OR_RETURN(ByteSpan data, StringField(f[5], "tx.data"));
  tx.data = ToBytes(data);
  KAGI_ASSIGN_OR_RETURN(tx.chain_id, ChainIdField(f[6]));
  for (size_t i = 7; i < kLegacyFields; ++i) {
    if (f[i].is_list || !f[i].bytes.empty()) {
      return EthError(absl::StrCat(
          "legacy tx field ", i + 1,
          " must be empty (EIP-155 unsigned form [..., chainId, 0, 0]); a "
          "non-zero r/s means this is a signed transaction"));
    }
  }
  return tx;
}

absl::StatusOr<EthTransaction> DecodeTyped(EthTxType type, ByteSpan payload) {
  const bool dynamic = type == EthTxType::kDynamicFee;
  const absl::string_view name =
      dynamic ? "type-2 (EIP-1559) tx" : "type-1 (EIP-2930) tx";
  KAGI_ASSIGN_OR_RETURN(RlpItem list,
                        DecodeList(payload, absl::StrCat(name, " payload")));
  const std::vector<RlpItem>& f = list.items;
  const size_t expected = dynamic ? kDynamicFeeFields : kAccessListFields;
  if (f.size() == expected + kSignatureFields) {
    return EthError(absl::StrCat(name, " has ", f.size(),
                                 " fields: this is a signed transaction, "
                                 "expected the ",
                                 expected, " unsigned fields"));
  }
  if (f.size() != expected) {
    return EthError(
        absl::StrCat(name, " must have ", expected, " fields, got ", f.size()));
  }
  EthTransaction tx;
  tx.type = type;
  size_t i = 0;
  KAGI_ASSIGN_OR_RETURN(tx.chain_id, ChainIdField(f[i++]));
  KAGI_ASSIGN_OR_RETURN(tx.nonce, Uint64Field(f[i++], "tx.nonce"));
  if (dynamic) {
    KAGI_ASSIGN_OR_RETURN(tx.max_priority_fee_per_gas,
                          Uint256Field(f[i++], "tx.max_priority_fee_per_gas"));
    KAGI_ASSIGN_OR_RETURN(tx.max_fee_per_gas,
                          Uint256Field(f[i++], "tx.max_fee_per_gas"));
  } else {
    KAGI_ASSIGN_OR_RETURN(tx.gas_price, Uint256Field(f[i++], "tx.gas_price"));
  }
  KAGI_ASSIGN_OR_RETURN(tx.gas_limit, Uint64Field(f[i++], "tx.gas_limit"));
  KAGI_ASSIGN_OR_RETURN(tx.to, ToField(f[i++]));
  KAGI_ASSIGN_OR_RETURN(tx.value, Uint256Field(f[i++], "tx.value"));
  KAGI_ASSIGN_OR_RETURN(ByteSpan data, StringField(f[i++], "tx.data"));
  tx.data = ToBytes(data);
  KAGI_ASSIGN_OR_RETURN(tx.access_list, AccessListField(f[i++]));
  return tx;
}

RlpItem ToItem(const absl::optional<EthAddress>& to) {
  return to.has_value() ? RlpItem::String(Bytes(to->begin(), to->end()))
                        : RlpItem::String(Bytes{});
}

RlpItem AccessListItem(const std::vector<EthAccessTuple>& list) {
  std::vector<RlpItem> tuples;
  tuples.reserve(list.size());
  for (const EthAccessTuple& entry : list) {
    std::vector<RlpItem> keys;
    keys.reserve(entry.storage_keys.size());
    for (const EthStorageKey& key : entry.storage_keys) {
      keys.push_back(RlpItem::String(Bytes(key.begin(), key.end())));
    }
    tuples.push_back(RlpItem::List(
        {RlpItem::String(Bytes(entry.address.begin(), entry.address.end())),
         RlpItem::List(std::move(keys))}));
  }
  return RlpItem::List(std::move(tuples));
}

// TransactionFields returns the RLP fields every encoding of `tx` starts
// with: legacy [nonce, gasPrice, gas, to, value, data]; type 1 [chainId,
// nonce, gasPrice, gas, to, value, data, accessList]; type 2 [chainId,
// nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data,
// accessList]. The unsigned and signed encodings append their own tail.
std::vector<RlpItem> TransactionFields(const EthTransaction& tx) {
  std::vector<RlpItem> f;
  switch (tx.type) {
    case EthTxType::kLegacy:
      f.push_back(RlpFromUint64(tx.nonce));
      f.push_back(RlpFromUint256(tx.gas_price));
      f.push_back(RlpFromUint64(tx.gas_limit));
      f.push_back(ToItem(tx.to));
      f.push_back(RlpFromUint256(tx.value));
      f.push_back(RlpItem::String(tx.data));
      return f;
    case EthTxType::kAccessList:
    case EthTxType::kDynamicFee:
      f.push_back(RlpFromUint64(tx.chain_id));
      f.push_back(RlpFromUint64(tx.nonce));
      if (tx.type == EthTxType::kDynamicFee) {
        f.push_back(RlpFromUint256(tx.max_priority_fee_per_gas));
        f.push_back(RlpFromUint256(tx.max_fee_per_gas));
      } else {
        f.push_back(RlpFromUint256(tx.gas_price));
      }
      f.push_back(RlpFromUint64(tx.gas_limit));
      f.push_back(ToItem(tx.to));
      f.push_back(RlpFromUint256(tx.value));
      f.push_back(RlpItem::String(tx.data));
      f.push_back(AccessListItem(tx.access_list));
      return f;
  }
  KAGI_CHECK(false && "unknown EthTxType");
  return f;
}

// EncodeEnvelope returns rlp(fields) for legacy transactions and
// type ‖ rlp(fields) for typed ones (EIP-2718).
Bytes EncodeEnvelope(EthTxType type, std::vector<RlpItem> fields) {
  const Bytes body = RlpEncode(RlpItem::List(std::move(fields)));
  if (type == EthTxType::kLegacy) {
    return body;
  }
  Bytes out(1 + body.size());
  out[0] = static_cast<uint8_t>(type);
  std::copy(body.begin(), body.end(), out.begin() + 1);
  return out;
}

// Eip155V returns chain_id * 2 + 35 + y_parity as a 256-bit integer (it
// does not fit 64 bits for chain ids above (2^64 - 37) / 2).
Uint256 Eip155V(uint64_t chain_id, uint8_t y_parity) {
  const unsigned __int128 v =
      static_cast<unsigned __int128>(chain_id) * 2 + 35 + y_parity;
  Uint256 out{};
  StoreBigEndian64(static_cast<uint64_t>(v >> 64), out.data() + 16);
  StoreBigEndian64(static_cast<uint64_t>(v), out.data() + 24);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<EthTransaction> DecodeEthTransaction(ByteSpan unsigned_tx) {
  if (unsigned_tx.empty()) {
    return EthError("empty transaction");
  }
  const uint8_t first = unsigned_tx[0];
  if (first >= 0xc0) {
    return DecodeLegacy(unsigned_tx);
  }
  if (first == static_cast<uint8_t>(EthTxType::kAccessList) ||
      first == static_cast<uint8_t>(EthTxType::kDynamicFee)) {
    return DecodeTyped(static_cast<EthTxType>(first), unsigned_tx.subspan(1));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string byte = {kHex[first >> 4], kHex[first & 0xf]};
  if (first <= 0x7f) {
    return EthError(absl::StrCat("unknown transaction type 0x", byte,
                                 " (supported: legacy, 0x01, 0x02)"));
  }
  return EthError(absl::StrCat("first byte 0x", byte,
                               " is neither a transaction type nor the start "
                               "of an RLP list"));
}

Bytes EncodeUnsignedTransaction(const EthTransaction& tx) {
  std::vector<RlpItem> fields = TransactionFields(tx);
  if (tx.type == EthTxType::kLegacy) {
    // EIP-155: the chain id and two zeros stand in for v, r, s.
    fields.push_back(RlpFromUint64(tx.chain_id));
    fields.push_back(RlpFromUint64(0));
    fields.push_back(RlpFromUint64(0));
  }
  return EncodeEnvelope(tx.type, std::move(fields));
}

Bytes EncodeSignedTransaction(const EthTransaction& tx, uint8_t y_parity,
                              const std::array<uint8_t, 32>& r,
                              const std::array<uint8_t, 32>& s) {
  KAGI_CHECK(y_parity <= 1);
  std::vector<RlpItem> fields = TransactionFields(tx);
  if (tx.type == EthTxType::kLegacy) {
    fields.push_back(RlpFromUint256(Eip155V(tx.chain_id, y_parity)));
  } else {
    fields.push_back(RlpFromUint64(y_parity));
  }
  fields.push_back(RlpFromUint256(r));
  fields.push_back(RlpFromUint256(s));
  return EncodeEnvelope(tx.type, std::move(fields));
}

Keccak256Digest SigningHash(const EthTransaction& tx) {
  return Keccak256(EncodeUnsignedTransaction(tx));
}

EthAddress AddressFromPublicKey(const crypto::Point& pubkey) {
  const std::array<uint8_t, crypto::Point::kUncompressedBytes> sec1 =
      pubkey.ToUncompressed();
  const Keccak256Digest hash = Keccak256(ByteSpan(sec1).subspan(1));
  EthAddress out{};
  std::copy(hash.end() - static_cast<ptrdiff_t>(kEthAddressBytes), hash.end(),
            out.begin());
  return out;
}

std::string Eip55Checksum(const EthAddress& address) {
  const std::string lower = HexEncode(address);
  const Keccak256Digest hash = Keccak256(AsBytes(lower));
  std::string out = "0x";
  out.reserve(2 + lower.size());
  for (size_t i = 0; i < lower.size(); ++i) {
    const uint8_t nibble = (i % 2 == 0)
                               ? static_cast<uint8_t>(hash[i / 2] >> 4)
                               : static_cast<uint8_t>(hash[i / 2] & 0xf);
    char c = lower[i];
    if (c >= 'a' && c <= 'f' && nibble >= 8) {
      c = static_cast<char>(c - 'a' + 'A');
    }
    out.push_back(c);
  }
  return out;
}

std::string Eip55Address(const crypto::Point& pubkey) {
  return Eip55Checksum(AddressFromPublicKey(pubkey));
}

absl::StatusOr<EthAddress> ParseAddress(absl::string_view text) {
  if (text.size() < 2 || text[0] != '0' || text[1] != 'x') {
    return EthError("address must start with \"0x\"");
  }
  const absl::string_view hex = text.substr(2);
  if (hex.size() != 2 * kEthAddressBytes) {
    return EthError(
        absl::StrCat("address must have 40 hex digits after 0x, "
                     "got ",
                     hex.size(), " characters"));
  }
  bool has_lower = false;
  bool has_upper = false;
  EthAddress out{};
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    const int v = HexValue(c);
    if (v < 0) {
      return EthError(
          absl::StrCat("address has a non-hex character at "
                       "position ",
                       i + 2));
    }
    has_lower |= (c >= 'a' && c <= 'f');
    has_upper |= (c >= 'A' && c <= 'F');
    out[i / 2] = static_cast<uint8_t>(
        out[i / 2] | (static_cast<unsigned>(v) << (i % 2 == 0 ? 4u : 0u)));
  }
  if (has_lower && has_upper) {
    const std::string expected = Eip55Checksum(out);
    for (size_t i = 2; i < text.size(); ++i) {
      if (text[i] != expected[i]) {
        return EthError(absl::StrCat(
            "address fails its EIP-55 checksum (wrong case at position ", i,
            "); mixed case must match the checksum exactly"));
      }
    }
  }
  return out;
}

absl::StatusOr<Erc20Call> DecodeErc20Call(ByteSpan data) {
  if (data.size() < kTransferSelector.size()) {
    return EthError(absl::StrCat("ERC-20 call data of ", data.size(),
                                 " bytes has no 4-byte selector"));
  }
  Erc20Call call;
  absl::string_view name;
  const ByteSpan selector = data.subspan(0, 4);
  if (std::equal(selector.begin(), selector.end(), kTransferSelector.begin())) {
    call.kind = Erc20Kind::kTransfer;
    name = "transfer";
  } else if (std::equal(selector.begin(), selector.end(),
                        kApproveSelector.begin())) {
    call.kind = Erc20Kind::kApprove;
    name = "approve";
  } else {
    return EthError(absl::StrCat(
        "tx.data selector 0x", HexEncode(selector),
        " is neither ERC-20 transfer (0xa9059cbb) nor approve (0x095ea7b3)"));
  }
  if (data.size() != kErc20CallBytes) {
    return EthError(absl::StrCat("ERC-20 ", name,
                                 " data must be 68 bytes (selector and two "
                                 "32-byte words), got ",
                                 data.size()));
  }
  const ByteSpan address_word = data.subspan(4, kAbiWordBytes);
  const size_t padding = kAbiWordBytes - kEthAddressBytes;
  for (size_t i = 0; i < padding; ++i) {
    if (address_word[i] != 0) {
      return EthError(absl::StrCat("ERC-20 ", name,
                                   " address word has non-zero padding (its "
                                   "first 12 bytes must be zero)"));
    }
  }
  std::copy(address_word.begin() + static_cast<ptrdiff_t>(padding),
            address_word.end(), call.to.begin());
  const ByteSpan amount = data.subspan(4 + kAbiWordBytes, kAbiWordBytes);
  std::copy(amount.begin(), amount.end(), call.amount.begin());
  return call;
}

}  // namespace kagi::chain
