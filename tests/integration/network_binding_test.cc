// Keys bound to networks, tried on a real cluster (kagi-node x3 +
// kagi-gateway, mTLS, SQLite): a key signs only for the networks named when
// it was made (docs/policy.md "Keys bound to networks"). The demo policy
// gets a loose testnet rule (any destination, no approvals), the kind that
// let a request labelled testnet spend a mainnet key (issue 13 §3).
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/chain/bech32.h"
#include "libs/policy/request_digest.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

void AddLooseTestnetRule(v1::Policy& policy) {
  v1::PolicyRule* r = policy.add_rules();
  r->set_name("testnet-anything");
  r->set_chain("bitcoin");
  r->add_networks("testnet");
  r->add_assets("BTC");
  r->set_any_destination(true);
  r->set_max_amount("10000000000");
}

class NetworkBindingTest : public ClusterSuite<NetworkBindingTest> {
 public:
  static ClusterConfig Config() {
    ClusterConfig c;
    c.base_port = KAGI_IT_BASE_PORT;
    c.edit_policy = AddLooseTestnetRule;
    return c;
  }

 protected:
  static v1::KeyInfo MakeKey(const std::vector<std::string>& networks) {
    v1::KeyInfo key;
    grpc::Status st = CreateKey(cluster_->wallet(), 2, &key, networks);
    EXPECT_TRUE(st.ok()) << Describe(st);
    return key;
  }
  static uint64_t Expiry() {
    return static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300);
  }
  // A PSBT of `key` labelled `network`, paying 100000 sat to an address of
  // that network, approved by the demo quorum.
  static v1::SignRequest Psbt(const v1::KeyInfo& key,
                              const std::string& network) {
    const chain::Network net = *chain::NetworkFromName(network);
    const std::string to = *chain::EncodeSegwitAddress(net, 0, Bytes(20, 0x66));
    v1::SignRequest r;
    r.set_request_id(NewRequestId("btc"));
    r.set_key_id(key.key_id());
    r.set_expiry_unix_seconds(Expiry());
    absl::StatusOr<Bytes> psbt =
        kagictl::DemoPsbt(key, network, to, 100000, 1000, 200000000);
    EXPECT_TRUE(psbt.ok()) << psbt.status();
    r.mutable_payload()->mutable_bitcoin_psbt()->set_network(network);
    r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
        psbt.ok() ? std::string(psbt->begin(), psbt->end()) : "");
    Approve(r);
    return r;
  }
  static v1::SignRequest EthTx(const v1::KeyInfo& key, uint64_t chain_id) {
    v1::SignRequest r;
    r.set_request_id(NewRequestId("eth"));
    r.set_key_id(key.key_id());
    r.set_expiry_unix_seconds(Expiry());
    absl::StatusOr<Bytes> tx = kagictl::DemoEthTx(
        chain_id, 1, kagictl::kDemoEthDestination, 1000000000000000);
    EXPECT_TRUE(tx.ok()) << tx.status();
    r.mutable_payload()->mutable_ethereum_tx()->set_unsigned_tx(
        tx.ok() ? std::string(tx->begin(), tx->end()) : "");
    r.mutable_payload()->mutable_ethereum_tx()->add_path(0);
    r.mutable_payload()->mutable_ethereum_tx()->add_path(0);
    Approve(r);
    return r;
  }
  static void Approve(v1::SignRequest& r) {
    const auto digest = *policy::SignRequestDigest(r);
    for (const char* name : {"alice", "bob", "carol"}) {
      absl::StatusOr<v1::Approval> a = kagictl::Approve(
          name, kagictl::ApproverKeyPath(cluster_->dir(), name), digest);
      EXPECT_TRUE(a.ok()) << a.status();
      if (a.ok()) *r.add_approvals() = *a;
    }
  }
  // Every node refuses `r` itself, naming the key, the requested network
  // and the key's networks; so does the gateway.
  static void EveryNodeRefuses(const v1::SignRequest& r,
                               const std::string& requested,
                               const std::string& bound) {
    const std::string want = absl::StrCat(
        "key ", absl::BytesToHexString(r.key_id()), " is bound to ", bound,
        " and refuses a request for ", requested);
    for (int node = 1; node <= kNodes; ++node) {
      grpc::Status st = DirectSign(*cluster_, node, r);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << "node-" << node << ": " << Describe(st);
      EXPECT_THAT(st.error_message(), HasSubstr(want))
          << "node-" << node << ": " << Describe(st);
    }
    v1::SignResponse resp;
    grpc::Status st = Sign(cluster_->wallet(), r, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << Describe(st);
    EXPECT_THAT(st.error_message(), HasSubstr(want)) << Describe(st);
  }
};

// A mainnet key and a request labelled testnet, which the loose testnet
// rule would allow: every node refuses it (it was signed before).
TEST_F(NetworkBindingTest, MainnetKeyRefusesRequestLabelledTestnet) {
  const v1::KeyInfo key = MakeKey({"bitcoin:mainnet"});
  EveryNodeRefuses(Psbt(key, "testnet"), "bitcoin:testnet",
                   "[bitcoin:mainnet]");
}

// And the reverse: a testnet key signs testnet, and refuses mainnet.
TEST_F(NetworkBindingTest, TestnetKeyRefusesRequestLabelledMainnet) {
  const v1::KeyInfo key = MakeKey({"bitcoin:testnet"});
  v1::SignResponse resp;
  grpc::Status st = Sign(cluster_->wallet(), Psbt(key, "testnet"), &resp);
  EXPECT_TRUE(st.ok()) << Describe(st);
  EveryNodeRefuses(Psbt(key, "mainnet"), "bitcoin:mainnet",
                   "[bitcoin:testnet]");
}

// Ethereum chain ids likewise: a chain-1 key refuses chain 1337, which the
// demo policy allows (and signs it when bound to 1337).
TEST_F(NetworkBindingTest, EthereumKeyRefusesAnotherChainId) {
  const v1::KeyInfo key = MakeKey({"ethereum:1"});
  EveryNodeRefuses(EthTx(key, kagictl::kDemoEthChainId), "ethereum:1337",
                   "[ethereum:1]");
  const v1::KeyInfo local = MakeKey({"ethereum:1337"});
  v1::SignResponse resp;
  grpc::Status st =
      Sign(cluster_->wallet(), EthTx(local, kagictl::kDemoEthChainId), &resp);
  EXPECT_TRUE(st.ok()) << Describe(st);
}

// Raw digests are a network of their own: a key bound to bitcoin only
// refuses them, even where the config and a rule allow raw digests.
TEST_F(NetworkBindingTest, RawDigestsNeedTheirOwnBinding) {
  const v1::KeyInfo key = MakeKey({"bitcoin:regtest"});
  v1::SignResponse resp;
  grpc::Status st =
      Sign(cluster_->wallet(), SimpleSignRequest(key.key_id()), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(st);
  EXPECT_THAT(st.error_message(),
              HasSubstr("refuses a request for raw_digest"));
}

// The binding is what the key was made with: GetKey shows it (sorted) from
// every node, key creation refuses no networks or a malformed one, and a
// refresh carries it: naming other networks is refused.
TEST_F(NetworkBindingTest, BindingIsShownAndCarriedThroughRefresh) {
  const v1::KeyInfo key = MakeKey({"ethereum:1", "bitcoin:mainnet"});
  EXPECT_THAT(key.networks(), ElementsAre("bitcoin:mainnet", "ethereum:1"));
  for (int node = 1; node <= kNodes; ++node) {
    v1::KeyInfo info;
    grpc::Status st = cluster_->NodeGetKey(node, key.key_id(), &info);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_THAT(info.networks(), ElementsAre("bitcoin:mainnet", "ethereum:1"))
        << "node-" << node;
  }
  v1::KeyInfo none;
  grpc::Status st = CreateKey(cluster_->wallet(), 2, &none, {});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(st);
  EXPECT_THAT(st.error_message(), HasSubstr("networks: a key names at least"));
  st = CreateKey(cluster_->wallet(), 2, &none, {"bitcoin:signet"});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(st);
  EXPECT_THAT(st.error_message(), HasSubstr("networks[0]: 'bitcoin:signet'"));

  auto refresh = [&](const std::vector<std::string>& networks,
                     v1::KeyInfo* out) {
    v1::RefreshRequest req;
    req.set_request_id(NewRequestId("refresh"));
    req.set_key_id(key.key_id());
    req.set_expiry_unix_seconds(Expiry());
    for (const std::string& n : networks) req.add_networks(n);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
    return cluster_->wallet()->Refresh(&ctx, req, out);
  };
  // A key binds at most one bitcoin network: a PSBT does not say its
  // network, so with two the request's label would pick the rule.
  v1::KeyInfo two;
  st = CreateKey(cluster_->wallet(), 2, &two,
                 {"bitcoin:mainnet", "bitcoin:regtest", "ethereum:1"});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(st);
  EXPECT_THAT(st.error_message(),
              HasSubstr("at most one bitcoin network, got bitcoin:mainnet and "
                        "bitcoin:regtest"));
  v1::KeyInfo refreshed;
  st =
      refresh({"bitcoin:mainnet", "bitcoin:testnet", "ethereum:1"}, &refreshed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << Describe(st);
  EXPECT_THAT(st.error_message(),
              HasSubstr("got bitcoin:mainnet and bitcoin:testnet"));
  st = refresh({"bitcoin:mainnet", "ethereum:1", "ethereum:5"}, &refreshed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << Describe(st);
  EXPECT_THAT(st.error_message(), HasSubstr("carries the key's network binding "
                                            "[bitcoin:mainnet,ethereum:1]"));
  st = refresh({}, &refreshed);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(refreshed.epoch(), 1u);
  EXPECT_THAT(refreshed.networks(),
              ElementsAre("bitcoin:mainnet", "ethereum:1"));
  // The refreshed shares are bound as before.
  EveryNodeRefuses(Psbt(refreshed, "testnet"), "bitcoin:testnet",
                   "[bitcoin:mainnet,ethereum:1]");
}

}  // namespace
}  // namespace kagi::integration
