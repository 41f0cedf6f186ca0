// The admin change a node rebuilds from its share and a request
// (admin_change.h): what it does with the key's network binding.
#include "services/node/admin_change.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/protocol/testing/dealer.h"
#include "libs/protocol/testing/simulation.h"

namespace kagi::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AdminChangeTest : public ::testing::Test {
 protected:
  AdminChangeTest() {
    std::array<uint8_t, 32> chain_code;
    chain_code.fill(0x42);
    shares_ = protocol::testing::DealShares(
        crypto::Scalar::FromUint64(987654321), chain_code, 2,
        protocol::testing::MakeIdentities(3, 11), 11);
  }

  NodeNameOf Names() const {
    std::map<std::array<uint8_t, 32>, std::string> names;
    for (const protocol::PartyInfo& p : shares_[0].parties) {
      names[p.identity_key] = "node-" + std::to_string(p.id);
    }
    return [names](const std::array<uint8_t, 32>& k) {
      auto it = names.find(k);
      return it == names.end() ? std::string() : it->second;
    };
  }

  // A refresh of the dealt key naming `networks`.
  v1::StartReshareRequest Refresh(std::vector<std::string> networks) const {
    v1::StartReshareRequest r;
    r.set_request_id("rf-1");
    r.set_operation("refresh");
    r.set_key_id(
        std::string(shares_[0].key_id.begin(), shares_[0].key_id.end()));
    r.set_new_threshold(2);
    for (const protocol::PartyInfo& p : shares_[0].parties) {
      const std::string key(p.identity_key.begin(), p.identity_key.end());
      r.add_old_party_identity_keys(key);
      r.add_new_party_identity_keys(key);
    }
    r.add_dealers(1);
    r.add_dealers(2);
    for (const std::string& n : networks) r.add_networks(n);
    return r;
  }

  std::vector<protocol::KeyShare> shares_;
};

// A bound key keeps its networks: an empty list carries them, another list
// is refused naming both.
TEST_F(AdminChangeTest, RefreshCarriesABoundKeysNetworks) {
  shares_[0].networks = {"bitcoin:mainnet", "ethereum:1"};
  absl::StatusOr<policy::AdminChange> c =
      ReshareChange(Refresh({}), &shares_[0], Names());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->networks, ElementsAre("bitcoin:mainnet", "ethereum:1"));
  c = ReshareChange(Refresh({"ethereum:1", "bitcoin:mainnet"}), &shares_[0],
                    Names());
  ASSERT_TRUE(c.ok()) << c.status();
  c = ReshareChange(Refresh({"bitcoin:testnet"}), &shares_[0], Names());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(c.status().message(),
              HasSubstr("carries the key's network binding "
                        "[bitcoin:mainnet,ethereum:1]; this request names "
                        "[bitcoin:testnet]"));
}

// A key made before bindings is bound by the refresh that names networks
// (and stays unbound by one that names none); a joining node takes them
// from the request.
TEST_F(AdminChangeTest, RefreshBindsAKeyMadeBeforeBindings) {
  ASSERT_TRUE(shares_[0].networks.empty());
  absl::StatusOr<policy::AdminChange> c = ReshareChange(
      Refresh({"ethereum:1", "bitcoin:mainnet"}), &shares_[0], Names());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->networks, ElementsAre("bitcoin:mainnet", "ethereum:1"));
  EXPECT_THAT(c->Summary(), HasSubstr("networks [bitcoin:mainnet,ethereum:1]"));
  c = ReshareChange(Refresh({}), &shares_[0], Names());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->networks.empty());
  v1::StartReshareRequest joining = Refresh({"bitcoin:regtest"});
  joining.set_operation("reshare");
  c = ReshareChange(joining, nullptr, Names());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->networks, ElementsAre("bitcoin:regtest"));
  c = ReshareChange(Refresh({"bitcoin:signet"}), &shares_[0], Names());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AdminChangeTest, KeyCreationNamesAtLeastOneNetwork) {
  v1::StartDkgRequest r;
  r.set_request_id("k-1");
  r.set_threshold(2);
  for (const protocol::PartyInfo& p : shares_[0].parties) {
    r.add_party_identity_keys(
        std::string(p.identity_key.begin(), p.identity_key.end()));
  }
  absl::StatusOr<policy::AdminChange> c = DkgChange(r, Names());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              HasSubstr("networks: a key names at least"));
  r.add_networks("raw_digest");
  r.add_networks("bitcoin:regtest");
  c = DkgChange(r, Names());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->networks, ElementsAre("bitcoin:regtest", "raw_digest"));
}

}  // namespace
}  // namespace kagi::node
