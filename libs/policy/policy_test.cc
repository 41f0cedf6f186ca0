#include "libs/policy/policy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "libs/policy/approval.h"

namespace kagi::policy {
namespace {

using ::testing::HasSubstr;

constexpr char kDest[] = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
constexpr char kEthDest[] = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
constexpr char kUsdc[] = "ERC20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";

// Three treasury approvers (t1..t3), one risk approver (r1) and one (tr) in
// both groups.
std::string PolicyText() {
  std::string approvers;
  for (const char* name : {"t1", "t2", "t3", "r1", "tr"}) {
    const ApproverKey key =
        *ApproverKey::Generate(ApproverEntry::Scheme::kEd25519);
    const std::string n = name;
    std::string groups = n[0] == 't' && n != "tr" ? "\"treasury\""
                         : n == "r1"              ? "\"risk\""
                                                  : "\"treasury\", \"risk\"";
    absl::StrAppend(&approvers, "approvers { name: \"", n, "\" groups: [",
                    groups, "] ed25519_public_key: \"", key.PublicKeyHex(),
                    "\" }\n");
  }
  return absl::StrCat("version: 1\nrevision: \"r7\"\n", approvers, R"(
address_books { name: "cold" chain: "bitcoin" addresses: ")",
                      kDest, R"(" }
rules {
  name: "btc-withdrawals"
  chain: "bitcoin"
  networks: "regtest"
  assets: "BTC"
  address_books: "cold"
  max_amount: "100000000"
  max_fee: 50000
  velocity { window_seconds: 86400 max_amount: "150000000" }
  approvals { group: "treasury" count: 2 }
  approvals { group: "risk" count: 1 }
  tiers { above_amount: "50000000" approvals { group: "treasury" count: 3 } }
}
rules {
  name: "eth-hot"
  initiators: "client/backend"
  chain: "ethereum"
  networks: "1337"
  assets: "ETH"
  destinations: ")",
                      kEthDest, R"("
  max_amount: "1000000000000000000"
  velocity { window_seconds: 86400 max_amount: "1000000000000000000" }
  approvals { group: "treasury" count: 1 }
}
rules {
  name: "usdc-hot"
  chain: "ethereum"
  networks: "1337"
  assets: ")",
                      kUsdc, R"("
  destinations: ")",
                      kEthDest, R"("
  max_amount: "1000000000"
  max_fee: 1000000000000000
  velocity { window_seconds: 3600 max_amount: "5000000000" }
  approvals { group: "treasury" count: 1 }
}
rules { name: "digests" chain: "raw_digest" approvals { group: "risk" count: 1 } }
admin { approvals { group: "treasury" count: 2 } initiators: "client/ops" }
)");
}

Policy Load(const std::string& text) {
  v1::Policy proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto));
  absl::StatusOr<Policy> p = Policy::FromProto(proto);
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

absl::Status LoadError(const std::string& text) {
  v1::Policy proto;
  if (!google::protobuf::TextFormat::ParseFromString(text, &proto)) {
    return absl::InvalidArgumentError("text format");
  }
  return Policy::FromProto(proto).status();
}

RequestFacts Btc(uint64_t amount, const std::string& dest = kDest) {
  RequestFacts f;
  f.initiator = "client/backend";
  f.key_id = std::string(64, 'a');
  f.chain = "bitcoin";
  f.network = "regtest";
  f.asset = "BTC";
  f.fee = Amount::FromU64(1000);
  f.transfers.push_back({dest, Amount::FromU64(amount)});
  f.amount = Amount::FromU64(amount + 1000);
  return f;
}

TEST(PolicyTest, AllowsWithTheQuorum) {
  const Policy p = Load(PolicyText());
  const Decision d = p.Evaluate(Btc(1000000), {"t1", "t2", "r1"}, {});
  EXPECT_TRUE(d.allowed) << d.ToString();
  EXPECT_EQ(d.rule, "btc-withdrawals");
  ASSERT_EQ(d.reservations.size(), 1u);
  EXPECT_EQ(d.reservations[0].scope,
            VelocityScope("btc-withdrawals", std::string(64, 'a'), "BTC"));
  EXPECT_EQ(d.reservations[0].amount.ToString(), "1001000");
}

TEST(PolicyTest, QuorumNeedsDistinctApprovers) {
  const Policy p = Load(PolicyText());
  // Missing the risk approval.
  Decision d = p.Evaluate(Btc(1000000), {"t1", "t2", "t3"}, {});
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.ToString(), HasSubstr("needs 2 of treasury + 1 of risk"));
  // "tr" is in both groups but fills one slot only: t1 + tr is not 2+1.
  d = p.Evaluate(Btc(1000000), {"t1", "tr"}, {});
  EXPECT_FALSE(d.allowed) << d.ToString();
  // t1 + t2 + tr: tr fills the risk slot.
  EXPECT_TRUE(p.Evaluate(Btc(1000000), {"t1", "t2", "tr"}, {}).allowed);
}

TEST(PolicyTest, TierAddsApprovalsAboveAmount) {
  const Policy p = Load(PolicyText());
  EXPECT_FALSE(p.Evaluate(Btc(60000000), {"t1", "t2", "r1"}, {}).allowed);
  // 2 + 1 + 3 treasury slots = 5 treasury + 1 risk: t1, t2, t3, tr are 4.
  const Decision d =
      p.Evaluate(Btc(60000000), {"t1", "t2", "t3", "r1", "tr"}, {});
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.ToString(), HasSubstr("5 of treasury"));
}

TEST(PolicyTest, DestinationOutsideAllowlistDenied) {
  const Policy p = Load(PolicyText());
  const Decision d = p.Evaluate(
      Btc(1000,
          "bcrt1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qzf5sx2"),
      {"t1", "t2", "r1"}, {});
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.ToString(), HasSubstr("is not in the allowlist"));
  EXPECT_THAT(d.ToString(), HasSubstr("rule 'btc-withdrawals'"));
}

TEST(PolicyTest, AmountAndFeeLimits) {
  const Policy p = Load(PolicyText());
  EXPECT_THAT(
      p.Evaluate(Btc(100000000), {"t1", "t2", "t3", "r1"}, {}).ToString(),
      HasSubstr("above max_amount 100000000"));
  RequestFacts f = Btc(1000);
  f.fee = Amount::FromU64(60000);
  EXPECT_THAT(p.Evaluate(f, {"t1", "t2", "r1"}, {}).ToString(),
              HasSubstr("above max_fee"));
}

TEST(PolicyTest, VelocityCountsWhatWasAdmitted) {
  const Policy p = Load(PolicyText());
  const RequestFacts f = Btc(40000000);
  const std::vector<VelocityQuery> q = p.VelocityQueries(f);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].window_seconds, 86400u);
  VelocityUsed used;
  used[q[0].scope] = Amount::FromU64(100000000);
  EXPECT_TRUE(p.Evaluate(f, {"t1", "t2", "r1"}, used).allowed);
  used[q[0].scope] = Amount::FromU64(110000000);
  const Decision d = p.Evaluate(f, {"t1", "t2", "r1"}, used);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.ToString(), HasSubstr("velocity: 110000000 already admitted"));
}

TEST(PolicyTest, InitiatorNetworkAssetAndChain) {
  const Policy p = Load(PolicyText());
  RequestFacts f;
  f.initiator = "client/intruder";
  f.key_id = std::string(64, 'a');
  f.chain = "ethereum";
  f.network = "1337";
  f.asset = "ETH";
  f.transfers.push_back({kEthDest, Amount::FromU64(5)});
  f.amount = Amount::FromU64(5);
  EXPECT_THAT(p.Evaluate(f, {"t1"}, {}).ToString(),
              HasSubstr("initiator 'client/intruder'"));
  f.initiator = "client/backend";
  EXPECT_TRUE(p.Evaluate(f, {"t1"}, {}).allowed);
  f.network = "1";
  EXPECT_THAT(p.Evaluate(f, {"t1"}, {}).ToString(), HasSubstr("network 1"));
  f.network = "1337";
  f.contract_call = true;
  EXPECT_THAT(p.Evaluate(f, {"t1"}, {}).ToString(), HasSubstr("contract call"));
  f.contract_call = false;
  f.asset = "ERC20:0xdAC17F958D2ee523a2206206994597C13D831ec7";
  EXPECT_THAT(p.Evaluate(f, {"t1"}, {}).ToString(), HasSubstr("asset"));
}

// A USDC transfer of `amount` whose gas may cost up to `fee` wei.
RequestFacts Usdc(uint64_t amount, uint64_t fee) {
  RequestFacts f;
  f.initiator = "client/backend";
  f.key_id = std::string(64, 'a');
  f.chain = "ethereum";
  f.network = "1337";
  f.asset = kUsdc;
  f.transfers.push_back({kEthDest, Amount::FromU64(amount)});
  f.amount = Amount::FromU64(amount);
  f.fee = Amount::FromU64(fee);
  return f;
}

// The gas of a token transfer is not part of its (token) amount: the rule's
// max_fee bounds it, in wei.
TEST(PolicyTest, TokenTransferFeeAboveMaxFeeDenied) {
  const Policy p = Load(PolicyText());
  EXPECT_TRUE(p.Evaluate(Usdc(100, 1000000000000000), {"t1"}, {}).allowed);
  const Decision d = p.Evaluate(Usdc(100, 1000000000000001), {"t1"}, {});
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.ToString(),
              HasSubstr("rule 'usdc-hot': fee 1000000000000001 is above "
                        "max_fee 1000000000000000"));
}

// The gas of a token transfer is ETH leaving the key: it counts against the
// ETH velocity of every ETH rule that covers the key and network, and is
// reserved there.
TEST(PolicyTest, TokenGasCountsAgainstEthVelocity) {
  const Policy p = Load(PolicyText());
  const RequestFacts f = Usdc(100, 400000000000000);  // 0.0004 ETH of gas
  const std::string eth_scope =
      VelocityScope("eth-hot", std::string(64, 'a'), "ETH");
  const std::string usdc_scope =
      VelocityScope("usdc-hot", std::string(64, 'a'), kUsdc);
  std::set<std::string> scopes;
  for (const VelocityQuery& q : p.VelocityQueries(f)) scopes.insert(q.scope);
  EXPECT_EQ(scopes.count(eth_scope), 1u);
  EXPECT_EQ(scopes.count(usdc_scope), 1u);
  VelocityUsed used;
  used[eth_scope] = Amount::FromU64(999600000000000000);
  Decision d = p.Evaluate(f, {"t1"}, used);
  ASSERT_TRUE(d.allowed) << d.ToString();
  ASSERT_EQ(d.reservations.size(), 2u);
  EXPECT_EQ(d.reservations[0].scope, usdc_scope);
  EXPECT_EQ(d.reservations[0].amount.ToString(), "100");
  EXPECT_EQ(d.reservations[1].scope, eth_scope);
  EXPECT_EQ(d.reservations[1].amount.ToString(), "400000000000000");
  used[eth_scope] = Amount::FromU64(999600000000000001);
  d = p.Evaluate(f, {"t1"}, used);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.ToString(),
              HasSubstr("gas: velocity of rule 'eth-hot' (ETH): "
                        "999600000000000001 already admitted in the last "
                        "86400 s plus fee 400000000000000 exceeds "
                        "1000000000000000000"));
}

// An ETH transfer counts value + the most its gas can cost, once, under the
// rule that allows it.
TEST(PolicyTest, EthTransferReservesValuePlusFee) {
  const Policy p = Load(PolicyText());
  RequestFacts f = Usdc(0, 210000);
  f.asset = "ETH";
  f.transfers[0].amount = Amount::FromU64(5000);
  f.amount = Amount::FromU64(215000);
  const Decision d = p.Evaluate(f, {"t1"}, {});
  ASSERT_TRUE(d.allowed) << d.ToString();
  ASSERT_EQ(d.reservations.size(), 1u);
  EXPECT_EQ(d.reservations[0].scope,
            VelocityScope("eth-hot", std::string(64, 'a'), "ETH"));
  EXPECT_EQ(d.reservations[0].amount.ToString(), "215000");
}

TEST(PolicyTest, RawDigestIsItsOwnRule) {
  const Policy p = Load(PolicyText());
  RequestFacts f;
  f.chain = "raw_digest";
  f.key_id = std::string(64, 'a');
  EXPECT_FALSE(p.Evaluate(f, {}, {}).allowed);
  EXPECT_TRUE(p.Evaluate(f, {"r1"}, {}).allowed);
  // Without a raw_digest rule: denied, naming why.
  std::string text = PolicyText();
  text = absl::StrReplaceAll(text, {{"rules { name: \"digests\" chain: "
                                     "\"raw_digest\" approvals { group: "
                                     "\"risk\" count: 1 } }",
                                     ""}});
  const Decision d = Load(text).Evaluate(f, {"r1"}, {});
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.ToString(), HasSubstr("allows chain raw_digest"));
}

TEST(PolicyTest, DenyByDefault) {
  const Policy p = Load("version: 1");
  EXPECT_FALSE(p.Evaluate(Btc(1), {}, {}).allowed);
  EXPECT_FALSE(p.EvaluateAdmin({}, "client/ops").allowed);
}

TEST(PolicyTest, AdminQuorum) {
  const Policy p = Load(PolicyText());
  EXPECT_FALSE(p.EvaluateAdmin({"t1"}, "client/ops").allowed);
  EXPECT_TRUE(p.EvaluateAdmin({"t1", "t2"}, "client/ops").allowed);
}

// Only the listed client identities may submit admin operations at all,
// whatever approvals they carry; none when the list is empty.
TEST(PolicyTest, AdminInitiatorsMustBeListed) {
  const Policy p = Load(PolicyText());
  const Decision d = p.EvaluateAdmin({"t1", "t2"}, "client/backend");
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.ToString(),
              HasSubstr("'client/backend' is not in admin.initiators"));
  EXPECT_FALSE(p.EvaluateAdmin({"t1", "t2"}, "").allowed);
  const Policy none = Load(
      absl::StrReplaceAll(PolicyText(), {{" initiators: \"client/ops\"", ""}}));
  EXPECT_FALSE(none.EvaluateAdmin({"t1", "t2"}, "client/ops").allowed);
}

TEST(PolicyTest, InvalidPoliciesNameTheField) {
  const std::string good = PolicyText();
  struct Case {
    std::string from, to, error;
  };
  const std::vector<Case> cases = {
      {"version: 1", "version: 2", "version: must be 1"},
      {"initiators: \"client/ops\"", "initiators: \"\"",
       "admin.initiators[0]: must not be empty"},
      {"max_amount: \"100000000\"", "", "max_amount: required"},
      {"max_amount: \"100000000\"", "max_amount: \"1e8\"",
       "only decimal digits"},
      {"group: \"risk\" count: 1 } }", "group: \"audit\" count: 1 } }",
       "no approver is in group 'audit'"},
      {"count: 3 }", "count: 9 }", "but the group has 4 approvers"},
      {"networks: \"regtest\"", "networks: \"signet\"", "networks[0]"},
      {"networks: \"1337\"", "networks: \"0x539\"", "decimal chain id"},
      {"assets: \"ETH\"", "assets: \"USDT\"", "ERC20:"},
      {kEthDest, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
       "destinations[0]"},
      {"address_books: \"cold\"", "address_books: \"warm\"",
       "no address book 'warm'"},
      {"address_books: \"cold\"", "", "no destinations"},
      {"name: \"eth-hot\"", "name: \"btc-withdrawals\"",
       "rule name used twice"},
      {"approvals { group: \"risk\" count: 1 } }",
       "approvals { group: \"risk\" count: 1 } max_amount: \"5\" }",
       "a raw_digest rule has no"},
      {"window_seconds: 86400", "window_seconds: 0", "window_seconds"},
      {"max_fee: 1000000000000000", "",
       "max_fee: required for a rule with ERC-20 assets"},
      {"name: \"t2\"", "name: \"t1\"", "listed twice"},
  };
  for (const Case& c : cases) {
    const size_t at = good.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    std::string text = good;
    text.replace(at, c.from.size(), c.to);
    const absl::Status st = LoadError(text);
    EXPECT_FALSE(st.ok()) << c.from << " -> " << c.to;
    EXPECT_THAT(st.message(), HasSubstr(c.error)) << c.from << " -> " << c.to;
  }
}

// Change outputs: m/1/i with i < 10000, P2WPKH, unless the policy says
// otherwise; the section is validated as a whole.
TEST(PolicyTest, BitcoinChangeDefaultsAndValidation) {
  const chain::PsbtChangeRule defaults = Load(PolicyText()).bitcoin_change();
  EXPECT_EQ(defaults.ToString(), "m/1/i (i < 10000; p2wpkh)");
  const Policy configured = Load(
      absl::StrCat(PolicyText(), "bitcoin_change { branch: 0 index_limit: 500 ",
                   "script_types: [\"p2pkh\", \"p2wpkh\"] }\n"));
  EXPECT_EQ(configured.bitcoin_change().ToString(),
            "m/0/i (i < 500; p2pkh, p2wpkh)");
  struct Case {
    std::string section, error;
  };
  const std::vector<Case> cases = {
      {"branch: 2147483648 index_limit: 5 script_types: \"p2wpkh\"",
       "bitcoin_change.branch: must be below 2^31"},
      {"branch: 1 script_types: \"p2wpkh\"",
       "bitcoin_change.index_limit: must be 1..2^31"},
      {"branch: 1 index_limit: 2147483649 script_types: \"p2wpkh\"",
       "bitcoin_change.index_limit: must be 1..2^31"},
      {"branch: 1 index_limit: 5", "bitcoin_change.script_types: at least"},
      {"branch: 1 index_limit: 5 script_types: \"p2tr\"",
       "bitcoin_change.script_types[0]: 'p2tr'"},
      {"branch: 1 index_limit: 5 script_types: [\"p2wpkh\", \"p2wpkh\"]",
       "bitcoin_change.script_types[1]: 'p2wpkh' is listed twice"},
  };
  for (const Case& c : cases) {
    const absl::Status st = LoadError(
        absl::StrCat(PolicyText(), "bitcoin_change { ", c.section, " }\n"));
    EXPECT_THAT(st.message(), HasSubstr(c.error)) << c.section;
  }
}

}  // namespace
}  // namespace kagi::policy
