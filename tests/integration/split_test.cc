// Two sessions of one epoch must never both take effect, tried on a real
// cluster (3 kagi-node processes + gateway, mTLS, SQLite) the ways a red
// team split honest members before the fix: one approved refresh run as
// concurrent sessions by a compromised gateway (calling every node with the
// gateway's certificate) or sent several times at once by a client through
// the honest gateway, and a malicious member (node-3, kagi-node-misbehaving)
// that keeps the certificate of an aborted session and hands it in during a
// retry. Afterwards the honest members always hold the same session's share
// (the same certificate) and sign together.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"

namespace kagi::integration {
namespace {

constexpr char kInitiator[] = "client/client-1";

class SplitTest;
Cluster*& cluster_ = ClusterSuite<SplitTest>::cluster_;

std::unique_ptr<grpc::ClientContext> Ctx(int seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(seconds)));
  return ctx;
}

bool CopyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return false;
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  return static_cast<bool>(out);
}

void GatewaySeesAll() {
  absl::Status st = cluster_->WaitGatewayReachesAll();
  ASSERT_TRUE(st.ok()) << st;
}

void RestartNode3(const std::string& misbehave) {
  if (cluster_->NodePid(3).ok()) {
    ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  }
  if (misbehave.empty()) {
    ::unsetenv("KAGI_MISBEHAVE");
    ASSERT_TRUE(cluster_->StartNode(3).ok());
  } else {
    ::setenv("KAGI_MISBEHAVE", misbehave.c_str(), 1);
    ASSERT_TRUE(cluster_->StartNode(3, KAGI_MISBEHAVING_NODE).ok());
  }
  GatewaySeesAll();
}

v1::StartReshareRequest RefreshAsGateway(const v1::KeyInfo& key,
                                         const std::string& request_id,
                                         char nonce) {
  v1::StartReshareRequest r;
  r.set_request_id(request_id);
  r.set_key_id(key.key_id());
  r.set_epoch(key.epoch());
  for (uint32_t id = 1; id <= key.threshold(); ++id) {
    r.add_dealers(id);
    r.add_dealer_identity_keys(
        key.parties(static_cast<int>(id - 1)).identity_key());
  }
  for (const v1::KeyParty& p : key.parties()) {
    r.add_old_party_identity_keys(p.identity_key());
    r.add_new_party_identity_keys(p.identity_key());
  }
  r.set_new_threshold(key.threshold());
  r.set_initiator_nonce(std::string(32, nonce));
  r.set_expiry_unix_seconds(
      static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300));
  r.set_initiator(kInitiator);
  r.set_operation("refresh");
  return r;
}

struct FanOut {
  grpc::Status status[4];
  v1::KeyInfo out[4];
};

FanOut RunOnAll(const v1::StartReshareRequest& r) {
  FanOut f;
  std::vector<std::thread> threads;
  for (int i = 1; i <= 3; ++i) {
    threads.emplace_back([&f, &r, i] {
      absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
          cluster_->NodeStub(i, kagictl::kGatewayName);
      if (!stub.ok()) {
        f.status[i] = grpc::Status(grpc::StatusCode::INTERNAL, "stub");
        return;
      }
      f.status[i] = (*stub)->StartReshare(Ctx(60).get(), r, &f.out[i]);
    });
  }
  for (auto& t : threads) t.join();
  return f;
}

grpc::Status OnNode(int i, const std::string& key_id, v1::KeyInfo* out) {
  return cluster_->NodeGetKey(i, key_id, out);
}

class SplitTest : public ClusterSuite<SplitTest> {
 public:
  static ClusterConfig Config() {
    ClusterConfig config;
    config.base_port = KAGI_IT_BASE_PORT;
    return config;
  }

 protected:
};

// SameSessionEverywhere: every node that holds the key holds it at the same
// epoch with the same certificate, and every pair of nodes signs.
void ExpectOneSessionAndEveryPairSigns(const v1::KeyInfo& key) {
  std::string cert;
  uint64_t epoch = 0;
  for (int i = 1; i <= 3; ++i) {
    v1::KeyInfo on;
    grpc::Status st = OnNode(i, key.key_id(), &on);
    ASSERT_TRUE(st.ok()) << "node-" << i << ": " << Describe(st);
    if (i == 1) {
      cert = on.activation_certificate();
      epoch = on.epoch();
    }
    EXPECT_EQ(on.epoch(), epoch) << "node-" << i;
    EXPECT_EQ(on.activation_certificate(), cert)
        << "node-" << i << " holds another session's share";
  }
  for (int down = 1; down <= 3; ++down) {
    ASSERT_TRUE(cluster_->StopNode(down, SIGTERM).ok());
    v1::SignResponse resp;
    v1::SignRequest used;
    grpc::Status sign = SignEventually(
        cluster_->wallet(), SimpleSignRequest(key.key_id()), &resp, &used);
    EXPECT_TRUE(sign.ok()) << "without node-" << down << ": " << Describe(sign);
    ASSERT_TRUE(cluster_->StartNode(down).ok());
    GatewaySeesAll();
  }
}

// A compromised gateway runs one approved refresh as two concurrent sessions
// on every node (each node sees both, at its own offsets): a node runs one
// session of a request, and of a key, at a time, and acknowledges one
// session per epoch, so at most one session is certified anywhere.
TEST_F(SplitTest, ConcurrentSessionsOfOneRefreshNeverSplitTheCommittee) {
  RestartNode3("");
  std::srand(12345);
  for (int attempt = 0; attempt < 4; ++attempt) {
    SCOPED_TRACE(attempt);
    v1::KeyInfo key;
    grpc::Status st = CreateKey(cluster_->wallet(), 2, &key);
    ASSERT_TRUE(st.ok()) << Describe(st);
    const std::string rid = NewRequestId("refresh");
    int off[2][4];
    for (int s = 0; s < 2; ++s) {
      for (int i = 1; i <= 3; ++i) off[s][i] = std::rand() % 60;
    }
    std::vector<std::thread> ts;
    for (int s = 0; s < 2; ++s) {
      for (int i = 1; i <= 3; ++i) {
        ts.emplace_back([&, s, i] {
          absl::SleepFor(absl::Milliseconds(off[s][i]));
          absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
              cluster_->NodeStub(i, kagictl::kGatewayName);
          if (!stub.ok()) return;
          v1::KeyInfo out;
          (*stub)
              ->StartReshare(Ctx(60).get(),
                             RefreshAsGateway(key, rid, s ? '\x42' : '\x41'),
                             &out)
              .error_code();
        });
      }
    }
    for (auto& t : ts) t.join();
    ExpectOneSessionAndEveryPairSigns(key);
  }
}

// A client sends one refresh three times at once through the honest
// gateway (a retry after a timeout does the same).
TEST_F(SplitTest, OneRefreshSentThreeTimesAtOnceNeverSplitsTheCommittee) {
  RestartNode3("");
  for (int attempt = 0; attempt < 4; ++attempt) {
    SCOPED_TRACE(attempt);
    v1::KeyInfo key;
    grpc::Status st = CreateKey(cluster_->wallet(), 2, &key);
    ASSERT_TRUE(st.ok()) << Describe(st);
    v1::RefreshRequest refresh;
    refresh.set_request_id(NewRequestId("refresh"));
    refresh.set_key_id(key.key_id());
    refresh.set_expiry_unix_seconds(
        static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300));
    grpc::Status res[3];
    std::vector<std::thread> ts;
    for (int k = 0; k < 3; ++k) {
      ts.emplace_back([&, k] {
        absl::SleepFor(absl::Milliseconds(std::rand() % 30));
        v1::KeyInfo out;
        res[k] = cluster_->wallet()->Refresh(Ctx(60).get(), refresh, &out);
      });
    }
    for (auto& t : ts) t.join();
    ExpectOneSessionAndEveryPairSigns(key);
  }
}

// node-3 withholds its ack in session S1 from both honest members (they keep
// PENDING S1 shares; node-3 alone holds S1's certificate C1), rolls its own
// store back to epoch 0, and the refresh is retried as S2. The honest
// members refuse S2 (they hold S1's pending share: a node acknowledges one
// session per epoch); C1, handed in later, activates S1 on node-2, and the
// gateway's GetKey brings node-1 forward to the same session.
TEST_F(SplitTest, CertificateOfAnAbortedSessionCannotSplitTheHonestMembers) {
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster_->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  const std::string db = cluster_->NodeDb(3);
  const std::string backup = db + ".attacker-backup";
  ASSERT_TRUE(CopyFile(db, backup));
  const bool had_wal = CopyFile(db + "-wal", backup + "-wal");
  RestartNode3("no-ack:node-1,node-2");

  const std::string rid = NewRequestId("refresh");
  FanOut s1 = RunOnAll(RefreshAsGateway(key, rid, '\x11'));
  EXPECT_FALSE(s1.status[1].ok());
  EXPECT_FALSE(s1.status[2].ok());
  ASSERT_TRUE(s1.status[3].ok()) << Describe(s1.status[3]);
  const std::string c1 = s1.out[3].activation_certificate();
  ASSERT_FALSE(c1.empty());

  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  ASSERT_TRUE(CopyFile(backup, db));
  std::remove((db + "-wal").c_str());
  std::remove((db + "-shm").c_str());
  if (had_wal) {
    ASSERT_TRUE(CopyFile(backup + "-wal", db + "-wal"));
  }
  RestartNode3("no-ack:node-2");

  FanOut s2 = RunOnAll(RefreshAsGateway(key, rid, '\x22'));
  for (int i = 1; i <= 2; ++i) {
    EXPECT_TRUE(RpcError(s2.status[i], grpc::StatusCode::FAILED_PRECONDITION,
                         "holds a PENDING share"))
        << "node-" << i << ": " << Describe(s2.status[i]);
  }
  {
    absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
        cluster_->NodeStub(2, kagictl::kGatewayName);
    ASSERT_TRUE(stub.ok());
    v1::ActivateRequest a;
    a.set_certificate(c1);
    v1::ActivateResponse resp;
    grpc::Status ast = (*stub)->Activate(Ctx(20).get(), a, &resp);
    ASSERT_TRUE(ast.ok()) << Describe(ast);
  }
  v1::GetKeyRequest get;
  get.set_key_id(key.key_id());
  v1::KeyInfo via_gateway;
  RestartNode3("");
  ASSERT_TRUE(
      cluster_->wallet()->GetKey(Ctx(60).get(), get, &via_gateway).ok());
  v1::KeyInfo on1, on2;
  ASSERT_TRUE(OnNode(1, key.key_id(), &on1).ok());
  ASSERT_TRUE(OnNode(2, key.key_id(), &on2).ok());
  EXPECT_EQ(on1.epoch(), 1u);
  EXPECT_EQ(on2.epoch(), 1u);
  EXPECT_EQ(on1.activation_certificate(), c1);
  EXPECT_EQ(on2.activation_certificate(), c1);
  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  v1::SignResponse resp;
  v1::SignRequest used;
  grpc::Status sign = SignEventually(
      cluster_->wallet(), SimpleSignRequest(key.key_id()), &resp, &used);
  EXPECT_TRUE(sign.ok()) << Describe(sign);
  ASSERT_TRUE(cluster_->StartNode(3).ok());
}

}  // namespace
}  // namespace kagi::integration
