// A second approved reshare of the same key and epoch, sent to a node over
// and over while the first one concludes there (a compromised gateway's
// timing attack, found by a red team before the fix): the node reads its
// share only under the key's lifecycle claim and checks the epoch its store
// is ACTIVE at, so the second session never runs on a node the first one
// moved on, honest members never end on two sessions of one epoch, and a
// node that deals and leaves never erases a share of a later epoch.
//
// Attacker: a compromised gateway (gateway certificate, calls Node RPCs);
// A and B are two reshares of the same key/epoch (the test cluster runs
// admin operations without approvals, standing in for approved ones).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"

namespace kagi::integration {
namespace {

constexpr char kInitiator[] = "client/client-1";
class SecondReshareTest;
Cluster*& cluster_ = ClusterSuite<SecondReshareTest>::cluster_;

std::unique_ptr<grpc::ClientContext> Ctx(int seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(seconds)));
  return ctx;
}

const v1::KeyParty& PartyOfNode(const v1::KeyInfo& key, int node) {
  const std::string name = absl::StrCat("node-", node);
  for (const v1::KeyParty& p : key.parties()) {
    if (p.node() == name) return p;
  }
  ADD_FAILURE() << "no party on " << name;
  return key.parties(0);
}

// A reshare of `key` (epoch e) dealt by nodes d1,d2 to committee {d1,d2}.
v1::StartReshareRequest ReshareTo(const v1::KeyInfo& key, int d1, int d2,
                                  const std::string& request_id, char nonce) {
  v1::StartReshareRequest r;
  r.set_request_id(request_id);
  r.set_key_id(key.key_id());
  r.set_epoch(key.epoch());
  for (int n : {d1, d2}) {
    r.add_dealers(PartyOfNode(key, n).id());
    r.add_dealer_identity_keys(PartyOfNode(key, n).identity_key());
  }
  for (const v1::KeyParty& p : key.parties()) {
    r.add_old_party_identity_keys(p.identity_key());
  }
  for (int n : {d1, d2}) {
    r.add_new_party_identity_keys(PartyOfNode(key, n).identity_key());
  }
  r.set_new_threshold(2);
  r.set_initiator_nonce(std::string(32, nonce));
  r.set_expiry_unix_seconds(
      static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300));
  r.set_initiator(kInitiator);
  r.set_operation("reshare");
  return r;
}

grpc::Status OnNode(int i, const std::string& key_id, v1::KeyInfo* out) {
  auto stub = cluster_->NodeStub(i, kagictl::kGatewayName);
  if (!stub.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "stub");
  v1::GetKeyRequest get;
  get.set_key_id(key_id);
  return (*stub)->GetKey(Ctx(20).get(), get, out);
}

class SecondReshareTest : public ClusterSuite<SecondReshareTest> {
 public:
  static ClusterConfig Config() {
    ClusterConfig config;
    config.base_port = KAGI_IT_BASE_PORT;
    // The trials race by resending refused StartReshare calls in tight
    // loops, which the per-client refusal limit (docs/api.md) would cut off
    // before the race it provokes; this suite tests the race, not the limit.
    config.edit_node_config = [](v1::NodeConfig& c) {
      c.mutable_limits()->set_refusal_burst(100000);
      c.mutable_limits()->set_refusals_per_second(100000);
    };
    return config;
  }

 protected:
};

// One trial: returns true if node-1 ran session B after concluding A.
bool Trial(int trial, v1::KeyInfo* key_out) {
  v1::KeyInfo key;
  grpc::Status created = CreateKey(cluster_->wallet(), 2, &key);
  if (!created.ok()) {
    ADD_FAILURE() << "create: " << Describe(created);
    return false;
  }
  *key_out = key;
  const auto a = ReshareTo(key, 1, 3, NewRequestId("toctou-a"), 'a');
  const auto b = ReshareTo(key, 1, 2, NewRequestId("toctou-b"), 'b');
  std::atomic<bool> a_done{false};
  std::atomic<bool> b_on_node1{false};
  grpc::Status a_st[4], b2_st;
  v1::KeyInfo a_out[4], b2_out;
  std::vector<std::thread> threads;
  // Session A on node-1 and node-3 (node-2 is removed and not a dealer).
  for (int i : {1, 3}) {
    threads.emplace_back([&, i] {
      auto stub = cluster_->NodeStub(i, kagictl::kGatewayName);
      a_st[i] = (*stub)->StartReshare(Ctx(60).get(), a, &a_out[i]);
      if (i == 1) a_done = true;
    });
  }
  absl::SleepFor(absl::Milliseconds(30));
  // Session B on node-2: it holds epoch e and no pending share.
  threads.emplace_back([&] {
    absl::SleepFor(absl::Milliseconds(200));
    auto stub = cluster_->NodeStub(2, kagictl::kGatewayName);
    b2_st = stub.value()->StartReshare(Ctx(60).get(), b, &b2_out);
  });
  // Session B on node-1, sent over and over while A concludes there.
  std::atomic<int> refused_claim{0}, refused_epoch{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      auto stub = cluster_->NodeStub(1, kagictl::kGatewayName);
      const absl::Time until = absl::Now() + absl::Seconds(15);
      while (absl::Now() < until && !b_on_node1) {
        v1::KeyInfo out;
        const absl::Time t0 = absl::Now();
        grpc::Status st = (*stub)->StartReshare(Ctx(60).get(), b, &out);
        const std::string m = st.error_message();
        if (m.find("already running") != std::string::npos) {
          ++refused_claim;
          continue;
        }
        if (m.find("this node holds epoch") != std::string::npos) {
          ++refused_epoch;
          if (a_done) break;
          continue;
        }
        // Anything else: B ran (or started) on node-1.
        b_on_node1 = true;
        fprintf(stderr, "trial %d: node-1 ran B (%.0f ms): %s\n", trial,
                absl::ToDoubleMilliseconds(absl::Now() - t0),
                st.ok() ? "OK" : Describe(st).c_str());
      }
    });
  }
  for (auto& t : threads) t.join();
  fprintf(stderr,
          "trial %d: A node-1 %s, node-3 %s; B node-2 %s; node-1 B refusals: "
          "claim %d, epoch %d\n",
          trial, Describe(a_st[1]).c_str(), Describe(a_st[3]).c_str(),
          Describe(b2_st).c_str(), refused_claim.load(), refused_epoch.load());
  return b_on_node1 && b2_st.ok();
}

TEST_F(SecondReshareTest, SecondReshareOfSameEpochNeverSplitsHonestMembers) {
  for (int trial = 1; trial <= 2; ++trial) {
    v1::KeyInfo key;
    EXPECT_FALSE(Trial(trial, &key)) << "B ran on node-1 after A";
    // A's committee {1,3} holds one session's share.
    v1::KeyInfo on1, on3;
    ASSERT_TRUE(OnNode(1, key.key_id(), &on1).ok());
    ASSERT_TRUE(OnNode(3, key.key_id(), &on3).ok());
    EXPECT_EQ(on1.epoch(), 1u);
    EXPECT_EQ(on1.activation_certificate(), on3.activation_certificate());
  }
}

// Generic: a reshare of `key` (epoch e) dealt by nodes {da,db} to committee
// {ma,mb}.
v1::StartReshareRequest Reshare(const v1::KeyInfo& key, int da, int db, int ma,
                                int mb, const std::string& request_id,
                                char nonce) {
  v1::StartReshareRequest r = ReshareTo(key, da, db, request_id, nonce);
  r.clear_new_party_identity_keys();
  for (int n : {ma, mb}) {
    r.add_new_party_identity_keys(PartyOfNode(key, n).identity_key());
  }
  return r;
}

int64_t LiveRows(int node, const std::string& key_id, const char* state) {
  std::string hex;
  static const char* d = "0123456789abcdef";
  for (unsigned char c : key_id) {
    hex += d[c >> 4];
    hex += d[c & 15];
  }
  absl::StatusOr<int64_t> n =
      QueryInt(cluster_->NodeDb(node),
               absl::StrCat("SELECT count(*) FROM shares WHERE key_id = x'",
                            hex, "' AND state = '", state, "'"));
  return n.ok() ? *n : -1;
}

// The same race, but node-1 is a LEAVING DEALER of B: B's run ends OK on it
// (it got every ack), and StartReshare's non-member branch calls
// RetireShares(key) -- which erases ALL of node-1's shares of the key,
// including the ACTIVE epoch e+1 share that A just gave it. A = reshare
// {1,2,3} -> {1,3} dealt by 1,3; B = reshare {1,2,3} -> {2,3} dealt by 1,2
// (node-3 also joins B through the same stale-cache window). Afterwards A's
// committee {1,3} has lost node-1's share, and B's committee {2,3} has
// node-3's share stuck PENDING (ActivateShare refuses it over A's ACTIVE
// share of the same epoch): no pair of nodes can sign any more.
TEST_F(SecondReshareTest, LeavingDealerOfASecondReshareKeepsItsNewShare) {
  for (int trial = 1; trial <= 2; ++trial) {
    v1::KeyInfo key;
    grpc::Status created = CreateKey(cluster_->wallet(), 2, &key);
    ASSERT_TRUE(created.ok()) << Describe(created);
    const auto a = Reshare(key, 1, 3, 1, 3, NewRequestId("erase-a"), 'c');
    const auto b = Reshare(key, 1, 2, 2, 3, NewRequestId("erase-b"), 'd');
    std::atomic<bool> ran[4] = {false, false, false, false};
    grpc::Status a_st[4], b_st[4];
    std::vector<std::thread> threads;
    for (int i : {1, 3}) {
      threads.emplace_back([&, i] {
        auto stub = cluster_->NodeStub(i, kagictl::kGatewayName);
        v1::KeyInfo out;
        a_st[i] = (*stub)->StartReshare(Ctx(60).get(), a, &out);
      });
    }
    absl::SleepFor(absl::Milliseconds(30));
    threads.emplace_back([&] {
      absl::SleepFor(absl::Milliseconds(200));
      auto stub = cluster_->NodeStub(2, kagictl::kGatewayName);
      v1::KeyInfo out;
      b_st[2] = stub.value()->StartReshare(Ctx(60).get(), b, &out);
    });
    for (int i : {1, 3}) {
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, i] {
          auto stub = cluster_->NodeStub(i, kagictl::kGatewayName);
          const absl::Time until = absl::Now() + absl::Seconds(15);
          int epoch_refusals = 0;
          while (absl::Now() < until && !ran[i]) {
            v1::KeyInfo out;
            grpc::Status st = (*stub)->StartReshare(Ctx(60).get(), b, &out);
            const std::string m = st.error_message();
            if (m.find("already running") != std::string::npos) continue;
            if (m.find("this node holds") != std::string::npos ||
                m.find("unknown key") != std::string::npos) {
              if (++epoch_refusals > 20) break;
              continue;
            }
            if (!ran[i].exchange(true)) b_st[i] = st;
          }
        });
      }
    }
    for (auto& t : threads) t.join();
    fprintf(stderr,
            "trial %d: A [%s | %s]; B node-1 %s | node-2 %s | node-3 %s\n",
            trial, Describe(a_st[1]).c_str(), Describe(a_st[3]).c_str(),
            ran[1] ? Describe(b_st[1]).c_str() : "(not run)",
            Describe(b_st[2]).c_str(),
            ran[3] ? Describe(b_st[3]).c_str() : "(not run)");
    EXPECT_FALSE(ran[1] && ran[3] && b_st[2].ok()) << "B ran after A";
    // node-1 keeps A's epoch-1 share, and A's committee signs.
    EXPECT_EQ(LiveRows(1, key.key_id(), "ACTIVE"), 1);
    EXPECT_EQ(LiveRows(3, key.key_id(), "ACTIVE"), 1);
    v1::KeyInfo on1, on3;
    ASSERT_TRUE(OnNode(1, key.key_id(), &on1).ok());
    ASSERT_TRUE(OnNode(3, key.key_id(), &on3).ok());
    EXPECT_EQ(on1.epoch(), 1u);
    EXPECT_EQ(on1.activation_certificate(), on3.activation_certificate());
    v1::SignResponse resp;
    v1::SignRequest used;
    grpc::Status sign = SignEventually(
        cluster_->wallet(), SimpleSignRequest(key.key_id()), &resp, &used);
    EXPECT_TRUE(sign.ok()) << Describe(sign);
  }
}

}  // namespace
}  // namespace kagi::integration
