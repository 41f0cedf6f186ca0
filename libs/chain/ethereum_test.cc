// File: libs/chain/ethereum_test.cc
//
// Ethereum transactions and addresses. Vectors:
//   * EIP-155 "Example": nonce 9, gasPrice 20 gwei, gas 21000, to 0x35..35,
//     value 1 ether, chainId 1 — signing data and signing hash as the EIP
//     prints them, and the signed transaction it prints (must be refused:
//     we decode unsigned transactions only).
//   * EIP-55 "Test Cases": the all-caps, all-lower and mixed-case groups.
//   * The addresses of the secret keys 1, 2 and 3 (G, 2G, 3G), as every
//     Ethereum client derives them.
//   * EIP-1559 and EIP-2930 transactions assembled by hand here, byte by byte
//     from the field values, with decode → encode round trips.
//   * Signed encodings: the EIP-155 example's signed transaction from its
//     published (v, r, s); typed transactions signed here with libsecp256k1
//     recoverable signatures, whose encoded y_parity/r/s recover the
//     signer's address; canonical stripping of leading zeros in r and s.
#include "libs/chain/ethereum.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/chain/keccak.h"
#include "libs/chain/rlp.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"

namespace kagi::chain {
namespace {

using ::testing::HasSubstr;

Bytes H(absl::string_view hex) {
  absl::StatusOr<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes{};
}

template <size_t N>
std::array<uint8_t, N> F(absl::string_view hex) {
  absl::StatusOr<std::array<uint8_t, N>> b = HexDecodeFixed<N>(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : std::array<uint8_t, N>{};
}

Uint256 U(uint64_t v) {
  Uint256 out{};
  StoreBigEndian64(v, out.data() + 24);
  return out;
}

void ExpectRefused(ByteSpan tx, absl::string_view message_part) {
  absl::StatusOr<EthTransaction> decoded = DecodeEthTransaction(tx);
  ASSERT_FALSE(decoded.ok()) << HexEncode(tx);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(decoded.status().message()),
              HasSubstr(std::string(message_part)))
      << HexEncode(tx);
  EXPECT_EQ(std::string(decoded.status().message()).substr(0, 5), "eth: ");
}

// EIP-155 example.
constexpr char kEip155SigningData[] =
    "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6"
    "b3a764000080018080";
constexpr char kEip155SigningHash[] =
    "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53";
constexpr char kEip155SignedTx[] =
    "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6"
    "b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620"
    "aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d"
    "83";

// EIP-1559, assembled by hand: chainId 1, nonce 42, maxPriorityFeePerGas
// 1 gwei (0x3b9aca00), maxFeePerGas 30 gwei (0x06fc23ac00), gas 65000
// (0xfde8), to 0xdac17f958d2ee523a2206206994597c13d831ec7, value 0, data =
// ERC-20 transfer(0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed, 1000000),
// empty access list. Payload 1+1+5+6+3+21+1+70+1 = 109 = 0x6d bytes.
const std::string& Eip1559Tx() {
  static const auto* tx = new std::string(absl::StrCat(
      "02", "f86d", "01", "2a", "843b9aca00", "8506fc23ac00", "82fde8",
      "94dac17f958d2ee523a2206206994597c13d831ec7", "80", "b844", "a9059cbb",
      "0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
      "00000000000000000000000000000000000000000000000000000000000f4240",
      "c0"));
  return *tx;
}

// EIP-2930, assembled by hand: chainId 5, nonce 0, gasPrice 20 gwei
// (0x04a817c800), gas 21000 (0x5208), to 0x35..35, value 1 wei, no data,
// access list [[0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae, [slot 0,
// slot 7]]]. Keys list: 2 * 33 = 66 (f842); tuple 21 + 68 = 89 (f859); list
// 91 (f85b); payload 1+1+6+3+21+1+1+93 = 127 (f87f).
const std::string& Eip2930Tx() {
  static const auto* tx = new std::string(absl::StrCat(
      "01", "f87f", "05", "80", "8504a817c800", "825208",
      "943535353535353535353535353535353535353535", "01", "80", "f85b", "f859",
      "94de0b295669a9fd93d5f28d9ec85e40f4cb697bae", "f842", "a0",
      "0000000000000000000000000000000000000000000000000000000000000000", "a0",
      "0000000000000000000000000000000000000000000000000000000000000007"));
  return *tx;
}

TEST(EthTransaction, Eip155Example) {
  const Bytes raw = H(kEip155SigningData);
  absl::StatusOr<EthTransaction> tx = DecodeEthTransaction(raw);
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(tx->type, EthTxType::kLegacy);
  EXPECT_EQ(tx->chain_id, 1u);
  EXPECT_EQ(tx->nonce, 9u);
  EXPECT_EQ(tx->gas_price, U(20000000000));
  EXPECT_EQ(tx->gas_limit, 21000u);
  ASSERT_TRUE(tx->to.has_value());
  EXPECT_EQ(HexEncode(*tx->to), "3535353535353535353535353535353535353535");
  EXPECT_EQ(tx->value, U(1000000000000000000));
  EXPECT_TRUE(tx->data.empty());
  EXPECT_TRUE(tx->access_list.empty());
  EXPECT_EQ(HexEncode(EncodeUnsignedTransaction(*tx)), kEip155SigningData);
  EXPECT_EQ(HexEncode(SigningHash(*tx)), kEip155SigningHash);

  // The same transaction built from fields.
  EthTransaction built;
  built.type = EthTxType::kLegacy;
  built.chain_id = 1;
  built.nonce = 9;
  built.gas_price = U(20000000000);
  built.gas_limit = 21000;
  built.to = F<20>("3535353535353535353535353535353535353535");
  built.value = U(1000000000000000000);
  EXPECT_EQ(HexEncode(EncodeUnsignedTransaction(built)), kEip155SigningData);
  EXPECT_EQ(HexEncode(SigningHash(built)), kEip155SigningHash);
}

TEST(EthTransaction, Eip1559HandBuilt) {
  const Bytes raw = H(Eip1559Tx());
  absl::StatusOr<EthTransaction> tx = DecodeEthTransaction(raw);
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(tx->type, EthTxType::kDynamicFee);
  EXPECT_EQ(tx->chain_id, 1u);
  EXPECT_EQ(tx->nonce, 42u);
  EXPECT_EQ(tx->max_priority_fee_per_gas, U(1000000000));
  EXPECT_EQ(tx->max_fee_per_gas, U(30000000000));
  EXPECT_EQ(tx->gas_price, Uint256{});
  EXPECT_EQ(tx->gas_limit, 65000u);
  ASSERT_TRUE(tx->to.has_value());
  EXPECT_EQ(Eip55Checksum(*tx->to),
            "0xdAC17F958D2ee523a2206206994597C13D831ec7");
  EXPECT_EQ(tx->value, Uint256{});
  EXPECT_EQ(tx->data.size(), 68u);
  EXPECT_TRUE(tx->access_list.empty());
  EXPECT_EQ(HexEncode(EncodeUnsignedTransaction(*tx)), Eip1559Tx());
  EXPECT_EQ(SigningHash(*tx), Keccak256(raw));

  absl::StatusOr<Erc20Call> call = DecodeErc20Call(tx->data);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->kind, Erc20Kind::kTransfer);
  EXPECT_EQ(Eip55Checksum(call->to),
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_EQ(call->amount, U(1000000));
}

TEST(EthTransaction, Eip2930HandBuilt) {
  const Bytes raw = H(Eip2930Tx());
  absl::StatusOr<EthTransaction> tx = DecodeEthTransaction(raw);
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(tx->type, EthTxType::kAccessList);
  EXPECT_EQ(tx->chain_id, 5u);
  EXPECT_EQ(tx->nonce, 0u);
  EXPECT_EQ(tx->gas_price, U(20000000000));
  EXPECT_EQ(tx->gas_limit, 21000u);
  EXPECT_EQ(tx->value, U(1));
  EXPECT_TRUE(tx->data.empty());
  ASSERT_EQ(tx->access_list.size(), 1u);
  EXPECT_EQ(HexEncode(tx->access_list[0].address),
            "de0b295669a9fd93d5f28d9ec85e40f4cb697bae");
  ASSERT_EQ(tx->access_list[0].storage_keys.size(), 2u);
  EXPECT_EQ(tx->access_list[0].storage_keys[0], EthStorageKey{});
  EXPECT_EQ(tx->access_list[0].storage_keys[1], U(7));
  EXPECT_EQ(HexEncode(EncodeUnsignedTransaction(*tx)), Eip2930Tx());
  EXPECT_EQ(SigningHash(*tx), Keccak256(raw));
}

TEST(EthTransaction, ContractCreationAndLargeValuesRoundTrip) {
  for (EthTxType type :
       {EthTxType::kLegacy, EthTxType::kAccessList, EthTxType::kDynamicFee}) {
    EthTransaction tx;
    tx.type = type;
    tx.chain_id = UINT64_MAX;
    tx.nonce = UINT64_MAX;
    if (type == EthTxType::kLegacy || type == EthTxType::kAccessList) {
      tx.gas_price.fill(0xff);
    } else {
      tx.gas_price = Uint256{};
      tx.max_fee_per_gas.fill(0xee);
      tx.max_priority_fee_per_gas = U(1);
    }
    tx.gas_limit = 3000000;
    tx.value[0] = 0x01;  // 2^248
    tx.data = Bytes(300, 0x60);
    if (type != EthTxType::kLegacy) {
      tx.access_list.push_back(
          {F<20>("0000000000000000000000000000000000000001"), {}});
    }
    const Bytes enc = EncodeUnsignedTransaction(tx);
    absl::StatusOr<EthTransaction> dec = DecodeEthTransaction(enc);
    ASSERT_TRUE(dec.ok()) << dec.status();
    EXPECT_FALSE(dec->to.has_value());
    EXPECT_EQ(dec->chain_id, UINT64_MAX);
    EXPECT_EQ(dec->nonce, UINT64_MAX);
    EXPECT_EQ(dec->gas_price, tx.gas_price);
    EXPECT_EQ(dec->max_fee_per_gas, tx.max_fee_per_gas);
    EXPECT_EQ(dec->max_priority_fee_per_gas, tx.max_priority_fee_per_gas);
    EXPECT_EQ(dec->value, tx.value);
    EXPECT_EQ(dec->data, tx.data);
    EXPECT_TRUE(dec->access_list == tx.access_list);
    EXPECT_EQ(EncodeUnsignedTransaction(*dec), enc);
  }
}

// LegacyFields returns the EIP-155 example's nine RLP fields for editing.
std::vector<RlpItem> LegacyFields() {
  absl::StatusOr<RlpItem> item = RlpDecode(H(kEip155SigningData));
  EXPECT_TRUE(item.ok());
  return item->items;
}

Bytes Legacy(std::vector<RlpItem> fields) {
  return RlpEncode(RlpItem::List(std::move(fields)));
}

Bytes Typed(uint8_t type, std::vector<RlpItem> fields) {
  Bytes out = {type};
  const Bytes body = RlpEncode(RlpItem::List(std::move(fields)));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<RlpItem> DynamicFields() {
  absl::StatusOr<RlpItem> item = RlpDecode(ByteSpan(H(Eip1559Tx())).subspan(1));
  EXPECT_TRUE(item.ok());
  return item.ok() ? item->items : std::vector<RlpItem>{};
}

TEST(EthTransaction, RefusesMalformedInput) {
  Bytes raw = H(kEip155SigningData);
  ExpectRefused(Bytes{}, "empty transaction");
  ExpectRefused(ByteSpan(raw).subspan(0, raw.size() - 1),
                "legacy tx: rlp: truncated list");
  Bytes trailing = raw;
  trailing.push_back(0x00);
  ExpectRefused(trailing, "trailing bytes");
  ExpectRefused(ByteSpan(H(Eip1559Tx())).subspan(0, 50),
                "type-2 (EIP-1559) tx payload: rlp: truncated");
  Bytes typed_trailing = H(Eip2930Tx());
  typed_trailing.push_back(0xc0);
  ExpectRefused(typed_trailing, "trailing bytes");
  ExpectRefused(H("02"), "truncated item");
  ExpectRefused(H("0283646f67"), "must be an RLP list");
  ExpectRefused(H("83646f67"), "first byte 0x83 is neither");

  // Wrong arity.
  std::vector<RlpItem> f = LegacyFields();
  f.pop_back();
  ExpectRefused(Legacy(f), "legacy tx must have 9 fields");
  f.resize(6);
  ExpectRefused(Legacy(f), "pre-EIP-155");
  std::vector<RlpItem> d = DynamicFields();
  d.pop_back();
  ExpectRefused(Typed(2, d), "type-2 (EIP-1559) tx must have 9 fields, got 8");
  ExpectRefused(Typed(1, DynamicFields()),
                "type-1 (EIP-2930) tx must have 8 fields, got 9");

  // Non-canonical integers.
  f = LegacyFields();
  f[0] = RlpItem::String(H("0009"));
  ExpectRefused(Legacy(f),
                "eth: tx.nonce is a non-canonical integer (leading zero byte)");
  f = LegacyFields();
  f[0] = RlpItem::String(H("00"));
  ExpectRefused(Legacy(f), "tx.nonce is a non-canonical integer");
  f = LegacyFields();
  f[4] = RlpItem::String(H("000de0b6b3a7640000"));
  ExpectRefused(Legacy(f), "tx.value is a non-canonical integer");
  f = LegacyFields();
  f[2] = RlpItem::String(Bytes(9, 0x01));
  ExpectRefused(Legacy(f), "tx.gas_limit is 9 bytes long");
  f = LegacyFields();
  f[1] = RlpItem::String(Bytes(33, 0x01));
  ExpectRefused(Legacy(f), "tx.gas_price is 33 bytes long");
  d = DynamicFields();
  d[3] = RlpItem::List({});
  ExpectRefused(Typed(2, d),
                "tx.max_fee_per_gas must be an integer, got a list");

  // `to` of the wrong size or type.
  f = LegacyFields();
  f[3] = RlpItem::String(Bytes(19, 0x35));
  ExpectRefused(Legacy(f),
                "eth: tx.to must be 20 bytes (or empty for contract creation), "
                "got 19");
  d = DynamicFields();
  d[5] = RlpItem::String(Bytes(21, 0x35));
  ExpectRefused(Typed(2, d),
                "tx.to must be 20 bytes (or empty for contract "
                "creation), got 21");
  d = DynamicFields();
  d[5] = RlpItem::List({});
  ExpectRefused(Typed(2, d), "tx.to must be a byte string, got a list");
  d = DynamicFields();
  d[7] = RlpItem::List({});
  ExpectRefused(Typed(2, d), "tx.data must be a byte string, got a list");

  // Chain id 0.
  f = LegacyFields();
  f[6] = RlpItem::String({});
  ExpectRefused(Legacy(f), "tx.chain_id must not be 0");
  d = DynamicFields();
  d[0] = RlpItem::String({});
  ExpectRefused(Typed(2, d), "tx.chain_id must not be 0");

  // Access lists.
  d = DynamicFields();
  d[8] = RlpItem::String({});
  ExpectRefused(Typed(2, d), "tx.access_list must be a list");
  d[8] = RlpItem::List(
      {RlpItem::List({RlpItem::String(Bytes(19, 1)), RlpItem::List({})})});
  ExpectRefused(Typed(2, d),
                "tx.access_list[0].address must be 20 bytes, got 19");
  d[8] = RlpItem::List(
      {RlpItem::List({RlpItem::String(Bytes(20, 1)), RlpItem::List({})}),
       RlpItem::List({RlpItem::String(Bytes(20, 1)),
                      RlpItem::List({RlpItem::String(Bytes(32, 0)),
                                     RlpItem::String(Bytes(31, 0))})})});
  ExpectRefused(Typed(2, d),
                "tx.access_list[1].storage_keys[1] must be 32 bytes, got 31");
  d[8] = RlpItem::List({RlpItem::List({RlpItem::String(Bytes(20, 1))})});
  ExpectRefused(Typed(2, d), "tx.access_list[0] must be a list");
  d[8] = RlpItem::List(
      {RlpItem::List({RlpItem::String(Bytes(20, 1)), RlpItem::String({})})});
  ExpectRefused(Typed(2, d), "tx.access_list[0].storage_keys must be a list");

  // Unknown types.
  ExpectRefused(H("03c0"), "unknown transaction type 0x03");
  ExpectRefused(H("00c0"), "unknown transaction type 0x00");
  ExpectRefused(H("7fc0"), "unknown transaction type 0x7f");
}

TEST(EthTransaction, RefusesSignedTransactions) {
  // EIP-155's signed example: v = 37, r and s non-zero.
  ExpectRefused(H(kEip155SignedTx), "signed transaction");
  std::vector<RlpItem> f = LegacyFields();
  f[8] = RlpItem::String(H("01"));
  ExpectRefused(Legacy(f), "legacy tx field 9 must be empty");
  f = LegacyFields();
  f[7] = RlpItem::List({});
  ExpectRefused(Legacy(f), "legacy tx field 8 must be empty");
  std::vector<RlpItem> d = DynamicFields();
  d.push_back(RlpFromUint64(1));
  d.push_back(RlpItem::String(Bytes(32, 0x11)));
  d.push_back(RlpItem::String(Bytes(32, 0x22)));
  ExpectRefused(Typed(2, d),
                "type-2 (EIP-1559) tx has 12 fields: this is a "
                "signed transaction");
}

// --- addresses --------------------------------------------------------------

TEST(EthAddress, Eip55TestCases) {
  const std::vector<std::string> cases = {
      // All caps
      "0x52908400098527886E0F7030069857D2E4169EE7",
      "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
      // All lower
      "0xde709f2102306220921060314715629080e2fb77",
      "0x27b1fdb04752bbc536007a920d24acb045561c26",
      // Normal
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
      "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
      "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
      "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
  };
  for (const std::string& text : cases) {
    absl::StatusOr<EthAddress> addr = ParseAddress(text);
    ASSERT_TRUE(addr.ok()) << text << ": " << addr.status();
    EXPECT_EQ(Eip55Checksum(*addr), text);
    std::string lower = text;
    std::string upper = text;
    for (size_t i = 2; i < text.size(); ++i) {
      lower[i] = static_cast<char>(std::tolower(lower[i]));
      upper[i] = static_cast<char>(std::toupper(upper[i]));
    }
    EXPECT_EQ(ParseAddress(lower).value(), *addr);
    EXPECT_EQ(ParseAddress(upper).value(), *addr);
  }
}

TEST(EthAddress, RefusesWrongChecksumAndSyntax) {
  const std::string good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
  // Flip the case of each letter in turn: every single flip must be caught
  // (unless it makes the string all-lower or all-upper, impossible here).
  for (size_t i = 2; i < good.size(); ++i) {
    std::string bad = good;
    const char c = bad[i];
    if (c >= 'a' && c <= 'f') {
      bad[i] = static_cast<char>(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'F') {
      bad[i] = static_cast<char>(c - 'A' + 'a');
    } else {
      continue;
    }
    absl::StatusOr<EthAddress> parsed = ParseAddress(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()),
                HasSubstr(absl::StrCat("EIP-55 checksum (wrong case at "
                                       "position ",
                                       i, ")")));
  }
  for (const char* bad : {"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                          "0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "",
                          "0x", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
                          "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00",
                          "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
                          "0x 5aeb6053f3e94c9b9a09f33669435e7ef1beaed"}) {
    absl::StatusOr<EthAddress> parsed = ParseAddress(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(EthAddress, FromPublicKey) {
  const crypto::Point& g = crypto::Point::Generator();
  EXPECT_EQ(Eip55Address(g), "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
  const crypto::Point g2 = g.Add(g).value();
  EXPECT_EQ(Eip55Address(g2), "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF");
  const crypto::Point g3 = g2.Add(g).value();
  EXPECT_EQ(Eip55Address(g3), "0x6813Eb9362372EEF6200f3b1dbC3f819671cBA69");
  EXPECT_EQ(AddressFromPublicKey(g),
            ParseAddress("0x7e5f4552091a69125d5dfcb7b8c2659029395bdf").value());
}

// --- Signed transactions ---------------------------------------------------

const secp256k1_context* Secp() {
  static secp256k1_context* ctx = secp256k1_context_create(
      SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  return ctx;
}

EthTransaction Eip155ExampleTx() {
  EthTransaction tx;
  tx.type = EthTxType::kLegacy;
  tx.chain_id = 1;
  tx.nonce = 9;
  tx.gas_price = U(20000000000);
  tx.gas_limit = 21000;
  tx.to = F<20>("3535353535353535353535353535353535353535");
  tx.value = U(1000000000000000000);
  return tx;
}

// Canonical strips leading zero bytes (the RLP integer form).
Bytes Canonical(ByteSpan v) {
  size_t i = 0;
  while (i < v.size() && v[i] == 0) ++i;
  return Bytes(v.begin() + static_cast<ptrdiff_t>(i), v.end());
}

// PadTo32 left-pads an RLP integer back to 32 bytes.
std::array<uint8_t, 32> PadTo32(const Bytes& v) {
  std::array<uint8_t, 32> out{};
  EXPECT_LE(v.size(), 32u);
  std::copy(v.begin(), v.end(), out.end() - static_cast<ptrdiff_t>(v.size()));
  return out;
}

// Recover returns the public key that signed `digest` with (recid, r, s).
absl::StatusOr<crypto::Point> Recover(const Keccak256Digest& digest, int recid,
                                      const std::array<uint8_t, 32>& r,
                                      const std::array<uint8_t, 32>& s) {
  std::array<uint8_t, 64> compact{};
  std::copy(r.begin(), r.end(), compact.begin());
  std::copy(s.begin(), s.end(), compact.begin() + 32);
  secp256k1_ecdsa_recoverable_signature sig;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(
          Secp(), &sig, compact.data(), recid) != 1) {
    return absl::InvalidArgumentError("bad recoverable signature");
  }
  secp256k1_pubkey pub;
  if (secp256k1_ecdsa_recover(Secp(), &pub, &sig, digest.data()) != 1) {
    return absl::InvalidArgumentError("recovery failed");
  }
  return crypto::Point::FromRaw(pub);
}

EthAddress AddressOfSecret(const std::array<uint8_t, 32>& secret) {
  absl::StatusOr<crypto::Scalar> k =
      crypto::Scalar::FromCanonicalBytesNonZero(secret);
  EXPECT_TRUE(k.ok());
  return AddressFromPublicKey(crypto::Point::MulGenerator(*k).value());
}

TEST(EthSignedTransaction, Eip155Example) {
  const EthTransaction tx = Eip155ExampleTx();
  const auto r =
      F<32>("28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276");
  const auto s =
      F<32>("67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
  EXPECT_EQ(HexEncode(EncodeSignedTransaction(tx, 0, r, s)), kEip155SignedTx);

  // The EIP's signature is by the key 0x4646...46 (v = 37: y_parity 0).
  absl::StatusOr<crypto::Point> signer =
      Recover(SigningHash(tx), /*recid=*/0, r, s);
  ASSERT_TRUE(signer.ok()) << signer.status();
  std::array<uint8_t, 32> secret{};
  secret.fill(0x46);
  EXPECT_EQ(AddressFromPublicKey(*signer), AddressOfSecret(secret));

  // The decoder takes unsigned transactions only.
  EXPECT_FALSE(DecodeEthTransaction(EncodeSignedTransaction(tx, 0, r, s)).ok());
}

TEST(EthSignedTransaction, LegacyVFollowsEip155) {
  EthTransaction tx = Eip155ExampleTx();
  std::array<uint8_t, 32> r{};
  std::array<uint8_t, 32> s{};
  r.fill(0x11);
  s.fill(0x22);
  struct Case {
    uint64_t chain_id;
    uint8_t y_parity;
    std::string v_hex;
  };
  const std::vector<Case> cases = {
      {1, 0, "25"},                                  // 37
      {1, 1, "26"},                                  // 38
      {5, 1, "2e"},                                  // 46
      {137, 0, "0135"},                              // 309
      {uint64_t{1} << 63, 1, "010000000000000024"},  // 2^64 + 36
      {~uint64_t{0}, 1, "020000000000000022"},       // 2^65 - 2 + 36
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.chain_id);
    tx.chain_id = c.chain_id;
    absl::StatusOr<RlpItem> item =
        RlpDecode(EncodeSignedTransaction(tx, c.y_parity, r, s));
    ASSERT_TRUE(item.ok()) << item.status();
    ASSERT_TRUE(item->is_list);
    ASSERT_EQ(item->items.size(), 9u);
    EXPECT_EQ(HexEncode(item->items[6].bytes), c.v_hex);
    EXPECT_EQ(item->items[7].bytes, Bytes(r.begin(), r.end()));
    EXPECT_EQ(item->items[8].bytes, Bytes(s.begin(), s.end()));
  }
}

TEST(EthSignedTransaction, TypedTransactionsSignedAndRecovered) {
  const auto secret =
      F<32>("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
  const EthAddress signer = AddressOfSecret(secret);
  for (const std::string& unsigned_hex : {Eip1559Tx(), Eip2930Tx()}) {
    SCOPED_TRACE(unsigned_hex.substr(0, 2));
    absl::StatusOr<EthTransaction> tx = DecodeEthTransaction(H(unsigned_hex));
    ASSERT_TRUE(tx.ok()) << tx.status();
    const size_t unsigned_fields = tx->type == EthTxType::kDynamicFee ? 9u : 8u;
    const Keccak256Digest digest = SigningHash(*tx);

    secp256k1_ecdsa_recoverable_signature sig;
    ASSERT_EQ(secp256k1_ecdsa_sign_recoverable(Secp(), &sig, digest.data(),
                                               secret.data(), nullptr, nullptr),
              1);
    std::array<uint8_t, 64> compact{};
    int recid = -1;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(
        Secp(), compact.data(), &recid, &sig);
    ASSERT_TRUE(recid == 0 || recid == 1);
    std::array<uint8_t, 32> r{};
    std::array<uint8_t, 32> s{};
    std::copy(compact.begin(), compact.begin() + 32, r.begin());
    std::copy(compact.begin() + 32, compact.end(), s.begin());

    const Bytes signed_tx =
        EncodeSignedTransaction(*tx, static_cast<uint8_t>(recid), r, s);
    ASSERT_FALSE(signed_tx.empty());
    EXPECT_EQ(signed_tx[0], static_cast<uint8_t>(tx->type));
    absl::StatusOr<RlpItem> list = RlpDecode(ByteSpan(signed_tx).subspan(1));
    ASSERT_TRUE(list.ok()) << list.status();
    ASSERT_TRUE(list->is_list);
    ASSERT_EQ(list->items.size(), unsigned_fields + 3);

    // The unsigned fields are exactly those of the unsigned encoding.
    absl::StatusOr<RlpItem> unsigned_list =
        RlpDecode(ByteSpan(H(unsigned_hex)).subspan(1));
    ASSERT_TRUE(unsigned_list.ok());
    for (size_t i = 0; i < unsigned_fields; ++i) {
      EXPECT_EQ(list->items[i], unsigned_list->items[i]) << i;
    }
    const RlpItem& y = list->items[unsigned_fields];
    const RlpItem& r_item = list->items[unsigned_fields + 1];
    const RlpItem& s_item = list->items[unsigned_fields + 2];
    absl::StatusOr<uint64_t> y_value = RlpToUint64(y, "y_parity");
    ASSERT_TRUE(y_value.ok()) << y_value.status();
    EXPECT_EQ(*y_value, static_cast<uint64_t>(recid));
    EXPECT_TRUE(RlpToUint256(r_item, "r").ok());
    EXPECT_TRUE(RlpToUint256(s_item, "s").ok());
    EXPECT_EQ(r_item.bytes, Canonical(r));
    EXPECT_EQ(s_item.bytes, Canonical(s));

    // Recovering from what was encoded gives the signer's address.
    absl::StatusOr<crypto::Point> recovered =
        Recover(digest, static_cast<int>(*y_value), PadTo32(r_item.bytes),
                PadTo32(s_item.bytes));
    ASSERT_TRUE(recovered.ok()) << recovered.status();
    EXPECT_EQ(AddressFromPublicKey(*recovered), signer);

    // A signed typed transaction is refused by the unsigned decoder.
    absl::StatusOr<EthTransaction> decoded = DecodeEthTransaction(signed_tx);
    ASSERT_FALSE(decoded.ok());
    EXPECT_THAT(std::string(decoded.status().message()),
                HasSubstr("signed transaction"));
  }
}

TEST(EthSignedTransaction, StripsLeadingZerosOfRAndS) {
  const EthTransaction tx = Eip155ExampleTx();
  auto r =
      F<32>("00ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276");
  auto s =
      F<32>("0000000000000000000000000000000000000000000000000000000000000005");
  const Bytes signed_tx = EncodeSignedTransaction(tx, 0, r, s);
  // r is 31 bytes (0x9f), s is the single byte 0x05 (its own encoding).
  const std::string expected_tail =
      "25"
      "9fef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276"
      "05";
  const std::string hex = HexEncode(signed_tx);
  ASSERT_GE(hex.size(), expected_tail.size());
  EXPECT_EQ(hex.substr(hex.size() - expected_tail.size()), expected_tail);
  absl::StatusOr<RlpItem> item = RlpDecode(signed_tx);
  ASSERT_TRUE(item.ok()) << item.status();
  ASSERT_EQ(item->items.size(), 9u);
  EXPECT_EQ(item->items[7].bytes.size(), 31u);
  EXPECT_TRUE(RlpToUint256(item->items[7], "r").ok());
  EXPECT_EQ(HexEncode(item->items[8].bytes), "05");

  // A typed transaction with y_parity 0 writes it as the empty string, and
  // an all-zero s as well.
  absl::StatusOr<EthTransaction> typed = DecodeEthTransaction(H(Eip1559Tx()));
  ASSERT_TRUE(typed.ok());
  s.fill(0);
  r[0] = 0;
  r[1] = 0;
  const Bytes typed_signed = EncodeSignedTransaction(*typed, 0, r, s);
  absl::StatusOr<RlpItem> typed_item =
      RlpDecode(ByteSpan(typed_signed).subspan(1));
  ASSERT_TRUE(typed_item.ok()) << typed_item.status();
  ASSERT_EQ(typed_item->items.size(), 12u);
  EXPECT_TRUE(typed_item->items[9].bytes.empty());
  EXPECT_EQ(typed_item->items[10].bytes.size(), 30u);
  EXPECT_TRUE(typed_item->items[11].bytes.empty());
}

// --- ERC-20 ----------------------------------------------------------------

Bytes Erc20Data(absl::string_view selector, absl::string_view address_word,
                absl::string_view amount_word) {
  return H(absl::StrCat(selector, address_word, amount_word));
}

constexpr char kRecipientWord[] =
    "000000000000000000000000d1220a0cf47c7b9be7a2e6ba89f429762e7b9adb";
constexpr char kAmountWord[] =
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

TEST(Erc20, TransferAndApprove) {
  absl::StatusOr<Erc20Call> call =
      DecodeErc20Call(Erc20Data("a9059cbb", kRecipientWord, kAmountWord));
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->kind, Erc20Kind::kTransfer);
  EXPECT_EQ(Eip55Checksum(call->to),
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb");
  Uint256 max{};
  max.fill(0xff);
  EXPECT_EQ(call->amount, max);

  call = DecodeErc20Call(Erc20Data(
      "095ea7b3", kRecipientWord,
      "0000000000000000000000000000000000000000000000000000000000000000"));
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->kind, Erc20Kind::kApprove);
  EXPECT_EQ(call->amount, Uint256{});
}

TEST(Erc20, RefusesMalformedCalls) {
  const Bytes good = Erc20Data("a9059cbb", kRecipientWord, kAmountWord);
  auto expect_refused = [](ByteSpan data, absl::string_view part) {
    absl::StatusOr<Erc20Call> call = DecodeErc20Call(data);
    ASSERT_FALSE(call.ok()) << HexEncode(data);
    EXPECT_EQ(call.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(call.status().message()),
                HasSubstr(std::string(part)));
  };
  expect_refused(ByteSpan(good).subspan(0, 67),
                 "ERC-20 transfer data must be 68 bytes");
  Bytes longer = good;
  longer.push_back(0);
  expect_refused(longer, "got 69");
  expect_refused(H(""), "no 4-byte selector");
  expect_refused(H("a9059c"), "no 4-byte selector");
  expect_refused(H("a9059cbb"), "got 4");
  expect_refused(Erc20Data("23b872dd", kRecipientWord, kAmountWord),
                 "selector 0x23b872dd is neither ERC-20 transfer");
  for (size_t i = 4; i < 16; ++i) {
    Bytes padded = good;
    padded[i] = 0x01;
    expect_refused(padded, "address word has non-zero padding");
  }
  Bytes approve = H(absl::StrCat("095ea7b3", kRecipientWord, kAmountWord));
  approve[5] = 0xff;
  expect_refused(approve, "ERC-20 approve address word has non-zero padding");
}

// --- robustness
// ---------------------------------------------------------------

TEST(EthTransaction, MutationsNeverCrash) {
  const std::vector<Bytes> seeds = {H(kEip155SigningData), H(Eip1559Tx()),
                                    H(Eip2930Tx()), H(kEip155SignedTx)};
  std::mt19937 rng(155);
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    Bytes m = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = m.empty() ? 0 : rng() % m.size();
      switch (rng() % 5) {
        case 0:
          if (!m.empty()) m[pos] = static_cast<uint8_t>(rng());
          break;
        case 1:
          if (!m.empty()) m[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 2:
          m.insert(m.begin() + static_cast<ptrdiff_t>(pos),
                   static_cast<uint8_t>(rng()));
          break;
        case 3:
          if (!m.empty()) m.erase(m.begin() + static_cast<ptrdiff_t>(pos));
          break;
        default:
          m.resize(pos);
          break;
      }
    }
    absl::StatusOr<EthTransaction> tx = DecodeEthTransaction(m);
    if (tx.ok()) {
      ++accepted;
      EXPECT_EQ(HexEncode(EncodeUnsignedTransaction(*tx)), HexEncode(m));
      (void)DecodeErc20Call(tx->data);
    } else {
      EXPECT_EQ(tx.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(std::string(tx.status().message()).substr(0, 5), "eth: ");
    }
    absl::StatusOr<Erc20Call> call = DecodeErc20Call(m);
    EXPECT_TRUE(call.ok() ||
                call.status().code() == absl::StatusCode::kInvalidArgument);
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace kagi::chain
