// The fee of an Ethereum transaction is a fact policy judges, tried on a
// real cluster (kagi-node x3 + kagi-gateway, mTLS, SQLite): a token
// transfer whose gas may cost more than its rule's max_fee is refused, and
// the gas of token transfers uses up the key's ETH velocity (docs/policy.md,
// "Fees and gas"). The demo policy gets a USDC rule and an ETH velocity
// window; node-3 is stopped after the key is made, so that every request
// goes to the same two signers and their velocity counts are predictable.
#include <csignal>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/chain/ethereum.h"
#include "libs/policy/request_digest.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;

constexpr char kUsdc[] = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";
// ETH velocity of the demo rule 'eth-withdrawals' here: 0.02 ETH per day.
constexpr uint64_t kEthVelocity = 20000000000000000;
// The USDC rule's max_fee: 0.01 ETH.
constexpr uint64_t kUsdcMaxFee = 10000000000000000;

chain::Uint256 U256(uint64_t v) {
  chain::Uint256 out{};
  for (size_t i = 0; i < 8; ++i) {
    out[31 - i] = static_cast<uint8_t>(v >> (8 * i));
  }
  return out;
}

void AddUsdcRuleAndEthVelocity(v1::Policy& policy) {
  for (v1::PolicyRule& r : *policy.mutable_rules()) {
    if (r.name() != "eth-withdrawals") continue;
    r.mutable_velocity()->set_window_seconds(86400);
    r.mutable_velocity()->set_max_amount(absl::StrCat(kEthVelocity));
    v1::PolicyRule usdc = r;
    usdc.set_name("usdc-withdrawals");
    usdc.clear_assets();
    usdc.add_assets(absl::StrCat("ERC20:", kUsdc));
    usdc.set_max_amount("1000000000000");
    usdc.set_max_fee(kUsdcMaxFee);
    usdc.mutable_velocity()->set_max_amount("5000000000000");
    *policy.add_rules() = usdc;
    return;
  }
}

class EthFeeTest : public ClusterSuite<EthFeeTest> {
 public:
  static ClusterConfig Config() {
    ClusterConfig c;
    c.base_port = KAGI_IT_BASE_PORT;
    c.allow_raw_digest = false;
    c.edit_policy = AddUsdcRuleAndEthVelocity;
    return c;
  }

 protected:
  static void SetUpTestSuite() {
    ClusterSuite<EthFeeTest>::SetUpTestSuite();
    if (cluster_ == nullptr) return;
    grpc::Status st = CreateKey(cluster_->wallet(), 2, &key_);
    if (!st.ok()) {
      setup_error_ = absl::StrCat("CreateKey: ", Describe(st));
      return;
    }
    absl::Status stopped = cluster_->StopNode(3, SIGTERM);
    if (!stopped.ok()) setup_error_ = std::string(stopped.message());
  }

  // A request to sign `tx` from m/0/0, approved by the demo quorum.
  static v1::SignRequest Request(const chain::EthTransaction& tx) {
    v1::SignRequest r;
    r.set_request_id(NewRequestId("eth"));
    r.set_key_id(key_.key_id());
    r.set_expiry_unix_seconds(
        static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300));
    const Bytes raw = chain::EncodeUnsignedTransaction(tx);
    r.mutable_payload()->mutable_ethereum_tx()->set_unsigned_tx(
        std::string(raw.begin(), raw.end()));
    r.mutable_payload()->mutable_ethereum_tx()->add_path(0);
    r.mutable_payload()->mutable_ethereum_tx()->add_path(0);
    const auto digest = *policy::SignRequestDigest(r);
    for (const char* name : {"alice", "bob", "carol"}) {
      absl::StatusOr<v1::Approval> a = kagictl::Approve(
          name, kagictl::ApproverKeyPath(cluster_->dir(), name), digest);
      EXPECT_TRUE(a.ok()) << a.status();
      if (a.ok()) *r.add_approvals() = *a;
    }
    return r;
  }

  static chain::EthTransaction Base(uint64_t nonce) {
    chain::EthTransaction tx;
    tx.type = chain::EthTxType::kDynamicFee;
    tx.chain_id = kagictl::kDemoEthChainId;
    tx.nonce = nonce;
    tx.max_priority_fee_per_gas = U256(1000000000);
    tx.to = *chain::ParseAddress(kagictl::kDemoEthDestination);
    return tx;
  }

  // A USDC transfer of 1 unit whose gas may cost gas_limit * fee_per_gas.
  static chain::EthTransaction Usdc(uint64_t nonce, uint64_t gas_limit,
                                    uint64_t fee_per_gas,
                                    chain::EthTxType type) {
    chain::EthTransaction tx = Base(nonce);
    tx.type = type;
    tx.gas_limit = gas_limit;
    tx.max_fee_per_gas = U256(fee_per_gas);
    tx.gas_price = U256(fee_per_gas);
    tx.to = *chain::ParseAddress(kUsdc);
    tx.data = {0xa9, 0x05, 0x9c, 0xbb};  // transfer(address,uint256)
    tx.data.insert(tx.data.end(), 12, 0);
    const chain::EthAddress to =
        *chain::ParseAddress(kagictl::kDemoEthDestination);
    tx.data.insert(tx.data.end(), to.begin(), to.end());
    const chain::Uint256 amount = U256(1);
    tx.data.insert(tx.data.end(), amount.begin(), amount.end());
    return tx;
  }

  static inline v1::KeyInfo key_;
};

// A token transfer of 0.000001 USDC whose gas may cost 100 ETH was signed
// under a USDC rule (issue 13 §2): refused now, for every transaction type,
// naming max_fee; within max_fee it is signed.
TEST_F(EthFeeTest, TokenTransferWithFeeAboveMaxFeeIsRefused) {
  for (chain::EthTxType type :
       {chain::EthTxType::kDynamicFee, chain::EthTxType::kAccessList,
        chain::EthTxType::kLegacy}) {
    v1::SignResponse resp;
    // 100000 gas at 10^15 wei: 100 ETH.
    grpc::Status st =
        Sign(cluster_->wallet(),
             Request(Usdc(1, 100000, 1000000000000000, type)), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << Describe(st);
    EXPECT_THAT(st.error_message(),
                HasSubstr("fee 100000000000000000000 is above max_fee "
                          "10000000000000000"))
        << Describe(st);
  }
}

// The gas of token transfers is ETH leaving the key: two USDC transfers
// whose gas may cost 0.009 ETH each leave 0.002 ETH of the 0.02 ETH window;
// a third is refused naming the ETH velocity, and so is an ETH payment of
// 0.002 ETH (its value plus its own fee limit no longer fits).
TEST_F(EthFeeTest, EthVelocityCountsTheGasOfTokenTransfers) {
  // 60000 gas at 1.5 * 10^11 wei = 0.009 ETH, under max_fee.
  for (uint64_t nonce : {10, 11}) {
    v1::SignResponse resp;
    grpc::Status st = Sign(cluster_->wallet(),
                           Request(Usdc(nonce, 60000, 150000000000,
                                        chain::EthTxType::kDynamicFee)),
                           &resp);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_EQ(resp.signatures_size(), 1);
  }
  v1::SignResponse resp;
  grpc::Status st = Sign(
      cluster_->wallet(),
      Request(Usdc(12, 60000, 150000000000, chain::EthTxType::kDynamicFee)),
      &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(st);
  EXPECT_THAT(st.error_message(),
              HasSubstr("gas: velocity of rule 'eth-withdrawals' (ETH): "
                        "18000000000000000 already admitted in the last "
                        "86400 s plus fee 9000000000000000 exceeds "
                        "20000000000000000"))
      << Describe(st);
  // ETH: 0.002 ETH + 21000 gas at 2 * 10^9 wei.
  chain::EthTransaction eth = Base(13);
  eth.gas_limit = 21000;
  eth.max_fee_per_gas = U256(2000000000);
  eth.value = U256(2000000000000000);
  st = Sign(cluster_->wallet(), Request(eth), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(st);
  EXPECT_THAT(st.error_message(),
              HasSubstr("velocity: 18000000000000000 already admitted"))
      << Describe(st);
}

}  // namespace
}  // namespace kagi::integration
