// What a node decodes from a payload and hands to policy (payload.h).
#include "services/node/payload.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/chain/script.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/hash.h"
#include "libs/protocol/testing/dealer.h"
#include "libs/protocol/testing/simulation.h"

namespace kagi::node {
namespace {

using ::testing::HasSubstr;

// Raw digests (moved from request_test.cc with the decoding).
v1::SignRequest RawDigestRequest() {
  v1::SignRequest r;
  r.set_request_id("req-1");
  r.set_key_id(std::string(32, '\x11'));
  r.set_expiry_unix_seconds(2000000000);
  v1::DigestItem* item = r.mutable_payload()->mutable_raw_digest()->add_items();
  item->set_digest(std::string(32, '\x22'));
  item->add_path(0);
  item->add_path(5);
  return r;
}

RequestLimits AllowRaw() {
  RequestLimits l;
  l.allow_raw_digest = true;
  return l;
}

std::string RawDigestError(const v1::SignRequest& r, const RequestLimits& l) {
  return std::string(SignItemsFromRequest(r, l, "node-1").status().message());
}

TEST(RawDigestTest, OffUnlessConfigured) {
  absl::StatusOr<std::vector<protocol::SignItem>> refused =
      SignItemsFromRequest(RawDigestRequest(), RequestLimits{}, "node-1");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("raw-digest signing is disabled on node-1"));
  absl::StatusOr<std::vector<protocol::SignItem>> ok =
      SignItemsFromRequest(RawDigestRequest(), AllowRaw(), "node-1");
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].path, (std::vector<uint32_t>{0, 5}));
}

TEST(RawDigestTest, EveryMalformedFieldIsNamed) {
  v1::SignRequest r = RawDigestRequest();
  r.set_request_id("");
  EXPECT_THAT(RawDigestError(r, AllowRaw()), HasSubstr("request_id"));
  r = RawDigestRequest();
  r.set_request_id("has space");
  EXPECT_THAT(RawDigestError(r, AllowRaw()), HasSubstr("request_id"));
  r = RawDigestRequest();
  r.set_key_id(std::string(31, 'k'));
  EXPECT_THAT(RawDigestError(r, AllowRaw()), HasSubstr("key_id"));
  r = RawDigestRequest();
  r.clear_payload();
  EXPECT_THAT(RawDigestError(r, AllowRaw()), HasSubstr("payload"));
  r = RawDigestRequest();
  r.mutable_payload()->mutable_raw_digest()->mutable_items(0)->set_digest(
      std::string(33, 'd'));
  EXPECT_THAT(RawDigestError(r, AllowRaw()), HasSubstr("items[0].digest"));
  r = RawDigestRequest();
  r.mutable_payload()->mutable_raw_digest()->mutable_items(0)->add_path(
      0x80000000u);
  EXPECT_THAT(RawDigestError(r, AllowRaw()), HasSubstr("hardened"));
  r = RawDigestRequest();
  for (int i = 0; i < 64; ++i) {
    *r.mutable_payload()->mutable_raw_digest()->add_items() =
        r.payload().raw_digest().items(0);
  }
  EXPECT_THAT(RawDigestError(r, AllowRaw()), HasSubstr("1..64 items"));
}

constexpr char kToken[] = "0xdAC17F958D2ee523a2206206994597C13D831ec7";
constexpr char kRecipient[] = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const chain::PsbtChangeRule kChange;  // the default: m/1/i, i < 10000

chain::Uint256 U256(uint64_t v) {
  chain::Uint256 out{};
  for (size_t i = 0; i < 8; ++i)
    out[31 - i] = static_cast<uint8_t>(v >> (8 * i));
  return out;
}

class PayloadTest : public ::testing::Test {
 protected:
  PayloadTest() {
    std::array<uint8_t, 32> chain_code;
    chain_code.fill(0x42);
    shares_ = protocol::testing::DealShares(
        crypto::Scalar::FromUint64(123456789), chain_code, 2,
        protocol::testing::MakeIdentities(3, 7), 7);
  }

  static chain::EthTransaction Base() {
    chain::EthTransaction tx;
    tx.type = chain::EthTxType::kDynamicFee;
    tx.chain_id = 1337;
    tx.max_priority_fee_per_gas = U256(1);
    tx.max_fee_per_gas = U256(10);
    tx.gas_limit = 21000;
    tx.to = *chain::ParseAddress(kRecipient);
    tx.value = U256(5000);
    return tx;
  }

  absl::StatusOr<DecodedPayload> Decode(const chain::EthTransaction& tx,
                                        std::vector<uint32_t> path = {0, 3}) {
    v1::SignRequest r;
    r.set_request_id("eth-1");
    r.set_key_id(std::string(32, '\x01'));
    const Bytes raw = chain::EncodeUnsignedTransaction(tx);
    r.mutable_payload()->mutable_ethereum_tx()->set_unsigned_tx(
        std::string(raw.begin(), raw.end()));
    for (uint32_t i : path)
      r.mutable_payload()->mutable_ethereum_tx()->add_path(i);
    return DecodePayload(r, shares_[0], RequestLimits{}, kChange, "node-1");
  }

  static Bytes Erc20(uint8_t selector_last, uint64_t amount) {
    // transfer(address,uint256) a9059cbb / approve(address,uint256) 095ea7b3
    Bytes data = selector_last == 0xbb ? Bytes{0xa9, 0x05, 0x9c, 0xbb}
                                       : Bytes{0x09, 0x5e, 0xa7, 0xb3};
    data.insert(data.end(), 12, 0);
    const chain::EthAddress to = *chain::ParseAddress(kRecipient);
    data.insert(data.end(), to.begin(), to.end());
    const chain::Uint256 a = U256(amount);
    data.insert(data.end(), a.begin(), a.end());
    return data;
  }

  std::vector<protocol::KeyShare> shares_;
};

TEST_F(PayloadTest, EthTransferCountsValuePlusMaxFee) {
  absl::StatusOr<DecodedPayload> d = Decode(Base());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->facts.chain, "ethereum");
  EXPECT_EQ(d->facts.network, "1337");
  EXPECT_EQ(d->facts.asset, "ETH");
  ASSERT_EQ(d->facts.transfers.size(), 1u);
  EXPECT_EQ(d->facts.transfers[0].destination, kRecipient);
  EXPECT_EQ(d->facts.transfers[0].amount.ToString(), "5000");
  EXPECT_EQ(d->facts.amount.ToString(), "215000");  // 5000 + 21000 * 10
  EXPECT_EQ(d->facts.fee.ToString(), "210000");     // 21000 * 10
  EXPECT_FALSE(d->facts.contract_call);
  // The node signs the signing hash it computed, at the requested path.
  ASSERT_EQ(d->items.size(), 1u);
  const chain::Keccak256Digest hash = chain::SigningHash(Base());
  EXPECT_TRUE(std::equal(hash.begin(), hash.end(), d->items[0].digest.begin()));
  EXPECT_EQ(d->items[0].path, (std::vector<uint32_t>{0, 3}));
}

TEST_F(PayloadTest, Erc20TransferAndApproveDecodedToTokenFacts) {
  for (uint8_t kind : {uint8_t{0xbb}, uint8_t{0xb3}}) {
    chain::EthTransaction tx = Base();
    tx.value = U256(0);
    tx.to = *chain::ParseAddress(kToken);
    tx.data = Erc20(kind, 777);
    absl::StatusOr<DecodedPayload> d = Decode(tx);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->facts.asset, absl::StrCat("ERC20:", kToken));
    ASSERT_EQ(d->facts.transfers.size(), 1u);
    EXPECT_EQ(d->facts.transfers[0].destination, kRecipient);
    EXPECT_EQ(d->facts.amount.ToString(), "777");
    EXPECT_FALSE(d->facts.contract_call);
  }
  // A token call that also sends ETH is refused.
  chain::EthTransaction tx = Base();
  tx.to = *chain::ParseAddress(kToken);
  tx.data = Erc20(0xbb, 777);
  EXPECT_THAT(std::string(Decode(tx).status().message()),
              HasSubstr("ERC-20 call that also sends ETH"));
}

// The most a transaction's gas can cost is a fact for every transaction
// type, token transfers included (where it is not part of the amount).
TEST_F(PayloadTest, MaxFeeIsAFactForEveryTransactionType) {
  struct Case {
    chain::EthTxType type;
    bool token;
  };
  for (const Case& c : {Case{chain::EthTxType::kDynamicFee, false},
                        Case{chain::EthTxType::kDynamicFee, true},
                        Case{chain::EthTxType::kAccessList, true},
                        Case{chain::EthTxType::kLegacy, true},
                        Case{chain::EthTxType::kLegacy, false}}) {
    chain::EthTransaction tx = Base();
    tx.type = c.type;
    tx.gas_limit = 100000;
    tx.gas_price = U256(1000000000000000);  // legacy and EIP-2930
    tx.max_fee_per_gas = U256(1000000000000000);
    if (c.token) {
      tx.value = U256(0);
      tx.to = *chain::ParseAddress(kToken);
      tx.data = Erc20(0xbb, 1);
    }
    absl::StatusOr<DecodedPayload> d = Decode(tx);
    ASSERT_TRUE(d.ok()) << d.status();
    // 100000 * 10^15 wei = 100 ETH of gas.
    EXPECT_EQ(d->facts.fee.ToString(), "100000000000000000000")
        << static_cast<int>(c.type) << " token " << c.token;
    EXPECT_EQ(d->facts.amount.ToString(),
              c.token ? "1" : "100000000000000005000");
  }
}

TEST_F(PayloadTest, OtherCallDataAndCreationAreContractCalls) {
  chain::EthTransaction call = Base();
  call.data = {0xde, 0xad, 0xbe, 0xef};
  absl::StatusOr<DecodedPayload> d = Decode(call);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->facts.contract_call);
  chain::EthTransaction create = Base();
  create.to.reset();
  create.data = {0x60, 0x00};
  d = Decode(create);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->facts.contract_call);
  EXPECT_TRUE(d->facts.transfers.empty());
}

TEST_F(PayloadTest, BadEthereumPayloadsNameTheField) {
  EXPECT_THAT(std::string(Decode(Base(), {0x80000000u}).status().message()),
              HasSubstr("payload.ethereum_tx.path: hardened index"));
  v1::SignRequest r;
  r.set_request_id("eth-2");
  r.mutable_payload()->mutable_ethereum_tx()->set_unsigned_tx("\x02\xc1\x80");
  absl::Status st =
      DecodePayload(r, shares_[0], RequestLimits{}, kChange, "node-1").status();
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("payload.ethereum_tx.unsigned_tx"));
  // A gas limit times fee per gas above 2^256 is refused, not wrapped.
  chain::EthTransaction huge = Base();
  huge.max_fee_per_gas.fill(0xff);
  huge.max_priority_fee_per_gas.fill(0xff);
  EXPECT_THAT(std::string(Decode(huge).status().message()),
              HasSubstr("overflows"));
}

TEST_F(PayloadTest, BitcoinPayloadChecksNetworkAndPsbt) {
  v1::SignRequest r;
  r.set_request_id("btc-1");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_network("signet");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt("psbt\xff");
  EXPECT_THAT(
      std::string(DecodePayload(r, shares_[0], RequestLimits{}, kChange, "n")
                      .status()
                      .message()),
      HasSubstr("payload.bitcoin_psbt.network"));
  r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
  EXPECT_THAT(
      std::string(DecodePayload(r, shares_[0], RequestLimits{}, kChange, "n")
                      .status()
                      .message()),
      HasSubstr("payload.bitcoin_psbt.psbt"));
  v1::SignRequest none;
  none.set_request_id("x");
  EXPECT_FALSE(
      DecodePayload(none, shares_[0], RequestLimits{}, kChange, "n").ok());
}

// A PSBT spending 1000000 sat at m/0/1 of the share's key: 60000 sat to an
// external P2WPKH, 749000 sat to the key's own P2WPKH at `own` (with a true
// derivation record), 191000 sat fee.
v1::SignRequest SelfPaymentRequest(const protocol::KeyShare& share,
                                   const std::vector<uint32_t>& own,
                                   bool with_previous_tx) {
  const crypto::ExtendedPublicKey root =
      crypto::ExtendedPublicKey::Root(share.public_key, share.chain_code);
  auto derivation = [&root](std::vector<uint32_t> path) {
    chain::PsbtBip32Derivation d;
    const auto key = crypto::DerivePath(root, path)->xpub.key().ToCompressed();
    d.pubkey.assign(key.begin(), key.end());
    d.fingerprint = root.Fingerprint();
    d.path = std::move(path);
    return d;
  };
  auto p2wpkh = [](const chain::PsbtBip32Derivation& d) {
    return chain::P2wpkhScript(crypto::Hash160(d.pubkey));
  };
  chain::Transaction prev;
  prev.inputs.emplace_back();
  prev.outputs.push_back({1000000, p2wpkh(derivation({0, 1}))});
  chain::Psbt psbt;
  chain::TxIn in;
  in.prevout = {chain::Txid(prev), 0};
  psbt.tx.inputs.push_back(in);
  chain::PsbtInput pin;
  if (with_previous_tx) pin.non_witness_utxo = prev;
  pin.witness_utxo = prev.outputs[0];
  pin.bip32_derivations.push_back(derivation({0, 1}));
  psbt.inputs.push_back(pin);
  psbt.tx.outputs.push_back({60000, chain::P2wpkhScript(Bytes(20, 0x11))});
  psbt.tx.outputs.push_back({749000, p2wpkh(derivation(own))});
  psbt.outputs.resize(2);
  psbt.outputs[1].bip32_derivations.push_back(derivation(own));
  const Bytes bytes = chain::EncodePsbt(psbt);
  v1::SignRequest r;
  r.set_request_id("btc-self");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
      std::string(bytes.begin(), bytes.end()));
  return r;
}

// The red team's 749000 sat to m/1/2147483647 is a transfer policy sees,
// not change; at m/1/5 it is change.
TEST_F(PayloadTest, SelfPaymentOutsideTheChangeBranchIsATransfer) {
  absl::StatusOr<DecodedPayload> d =
      DecodePayload(SelfPaymentRequest(shares_[0], {1, 0x7fffffff}, true),
                    shares_[0], RequestLimits{}, kChange, "n");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->facts.transfers.size(), 2u);
  EXPECT_EQ(d->facts.transfers[1].amount.ToString(), "749000");
  EXPECT_THAT(d->facts.transfers[1].destination,
              ::testing::StartsWith("bcrt1q"));
  EXPECT_EQ(d->facts.fee.ToString(), "191000");
  EXPECT_EQ(d->facts.amount.ToString(), "1000000");
  EXPECT_THAT(absl::StrJoin(d->facts.notes, "; "),
              HasSubstr("output 1 pays this wallet's key at m/1/2147483647, "
                        "outside the change branch m/1/i (i < 10000; "
                        "p2wpkh): counted as a transfer"));

  d = DecodePayload(SelfPaymentRequest(shares_[0], {1, 5}, true), shares_[0],
                    RequestLimits{}, kChange, "n");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->facts.transfers.size(), 1u);
  EXPECT_EQ(d->facts.amount.ToString(), "251000");
}

// Every input needs its previous transaction; the refusal names it.
TEST_F(PayloadTest, PsbtInputWithoutPreviousTransactionRefused) {
  const absl::Status st =
      DecodePayload(SelfPaymentRequest(shares_[0], {1, 5}, false), shares_[0],
                    RequestLimits{}, kChange, "n")
          .status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("payload.bitcoin_psbt.psbt: input 0: non_witness_utxo "
                        "missing"));
}

// A PSBT with more inputs than max_sign_items is refused on its input count
// before it is analysed: these 65 inputs have no previous transaction and no
// derivation (the analysis would refuse input 0 for that), so only a bound
// checked right after the cheap decode names the count.
TEST_F(PayloadTest, PsbtInputCountBoundedBeforeAnalysis) {
  chain::Psbt psbt;
  for (uint32_t i = 0; i < 65; ++i) {
    chain::TxIn in;
    in.prevout.txid.fill(0xab);
    in.prevout.index = i;
    psbt.tx.inputs.push_back(in);
  }
  psbt.inputs.resize(65);
  psbt.tx.outputs.push_back({1000, chain::P2wpkhScript(Bytes(20, 0x11))});
  psbt.outputs.resize(1);
  const Bytes bytes = chain::EncodePsbt(psbt);
  v1::SignRequest r;
  r.set_request_id("btc-many");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
      std::string(bytes.begin(), bytes.end()));
  const absl::Status st =
      DecodePayload(r, shares_[0], RequestLimits{}, kChange, "node-1").status();
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("payload.bitcoin_psbt.psbt: psbt: unsigned tx has 65 "
                        "inputs; at most 64"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("btc-many"));
}

// Every size bound is checked before the part it bounds is decoded, and the
// refusal names the request, the field, the size and the limit.
TEST_F(PayloadTest, PayloadSizesBoundedBeforeDecoding) {
  const v1::SignRequest btc = SelfPaymentRequest(shares_[0], {1, 5}, true);
  auto refusal = [&](const v1::SignRequest& r, const RequestLimits& limits) {
    const absl::Status st =
        DecodePayload(r, shares_[0], limits, kChange, "node-1").status();
    EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
    return std::string(st.message());
  };
  RequestLimits l;
  l.max_psbt_bytes = 100;
  EXPECT_THAT(refusal(btc, l),
              ::testing::MatchesRegex("request btc-self: payload.bitcoin_psbt."
                                      "psbt: psbt: the PSBT has [0-9]+ bytes; "
                                      "at most 100"));
  l = RequestLimits{};
  l.max_psbt_unsigned_tx_bytes = 50;
  EXPECT_THAT(refusal(btc, l),
              ::testing::MatchesRegex(".*unsigned tx has [0-9]+ bytes; at "
                                      "most 50"));
  l = RequestLimits{};
  l.max_psbt_outputs = 1;
  EXPECT_THAT(refusal(btc, l),
              HasSubstr("unsigned tx has 2 outputs; at most 1"));
  l = RequestLimits{};
  l.max_psbt_prev_tx_bytes = 10;
  EXPECT_THAT(refusal(btc, l),
              ::testing::MatchesRegex(".*psbt: input 0: non-witness UTXO has "
                                      "[0-9]+ bytes; at most 10"));

  v1::SignRequest eth;
  eth.set_request_id("eth-big");
  eth.mutable_payload()->mutable_ethereum_tx()->set_unsigned_tx(
      std::string(129u << 10, '\xff'));  // not even RLP: never decoded
  EXPECT_EQ(refusal(eth, RequestLimits{}),
            "request eth-big: payload.ethereum_tx.unsigned_tx: has 132096 "
            "bytes; at most 131072");
}

TEST_F(PayloadTest, RawDigestNeedsTheConfigSwitch) {
  v1::SignRequest r;
  r.set_request_id("raw-1");
  r.set_key_id(std::string(32, '\x01'));
  v1::DigestItem* item = r.mutable_payload()->mutable_raw_digest()->add_items();
  item->set_digest(std::string(32, '\x02'));
  EXPECT_EQ(DecodePayload(r, shares_[0], RequestLimits{}, kChange, "n")
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  RequestLimits allow;
  allow.allow_raw_digest = true;
  absl::StatusOr<DecodedPayload> d =
      DecodePayload(r, shares_[0], allow, kChange, "n");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->facts.chain, "raw_digest");
  EXPECT_EQ(d->items.size(), 1u);
}

}  // namespace
}  // namespace kagi::node
