// Integration: the happy paths of a real 3-node cluster behind a gateway
// (DKG, signing with every signer pair, batches, derivation, request status,
// audit chains, refresh, a node stopped and restarted). Every signature is
// verified independently (OpenSSL, and the public key derived here).
#include "tools/kagictl/cluster.h"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "libs/crypto/bip32.h"
#include "libs/transport/config.h"
#include "libs/transport/pki.h"
#include "tests/integration/integration_util.h"

namespace kagi::integration {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration t = absl::Seconds(30)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + t));
  return ctx;
}

std::string Pair(const v1::SignResponse& resp) {
  std::vector<std::string> names = Strings(resp.signer_nodes());
  std::sort(names.begin(), names.end());
  return absl::StrJoin(names, "+");
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Cluster>> c =
        Cluster::Start({KAGI_IT_BASE_PORT, /*round_timeout_ms=*/3000,
                        /*allow_raw_digest=*/true});
    if (!c.ok()) {
      setup_error_ = c.status().ToString();
      return;
    }
    cluster_ = *std::move(c);
    grpc::Status st = CreateKey(cluster_->wallet(), 2, &key_);
    if (!st.ok()) setup_error_ = absl::StrCat("CreateKey: ", Describe(st));
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << setup_error_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  // SignOk signs `req`, requires success and independently valid signatures
  // from t = 2 distinct signers, and records every r (nonce reuse would
  // repeat one).
  static void SignOk(const v1::SignRequest& req, v1::SignResponse* resp) {
    grpc::Status st = Sign(cluster_->wallet(), req, resp);
    ASSERT_TRUE(st.ok()) << req.request_id() << ": " << Describe(st);
    CheckResponse(req, *resp);
  }
  static void CheckResponse(const v1::SignRequest& req,
                            const v1::SignResponse& resp) {
    EXPECT_TRUE(SignaturesValid(key_, req, resp.signatures()));
    ASSERT_EQ(resp.signer_nodes_size(), 2) << Pair(resp);
    EXPECT_NE(resp.signer_nodes(0), resp.signer_nodes(1));
    for (const v1::SignatureResult& s : resp.signatures()) {
      EXPECT_TRUE(rs_.insert(s.signature().substr(0, 32)).second)
          << "r repeated: " << absl::BytesToHexString(s.signature());
    }
  }

  // SignUntilEveryPair signs until every 2-subset of the 3 nodes has signed.
  static void SignUntilEveryPair() {
    std::set<std::string> pairs;
    for (int i = 0; i < 15 && pairs.size() < 3; ++i) {
      v1::SignResponse resp;
      ASSERT_NO_FATAL_FAILURE(SignOk(
          SimpleSignRequest(key_.key_id(), {0, static_cast<uint32_t>(i)}),
          &resp));
      pairs.insert(Pair(resp));
    }
    EXPECT_THAT(pairs, UnorderedElementsAre("node-1+node-2", "node-1+node-3",
                                            "node-2+node-3"));
  }

  static inline std::unique_ptr<Cluster> cluster_;
  static inline std::string setup_error_;
  static inline v1::KeyInfo key_;
  static inline std::set<std::string> rs_;
};

// Core: the key without what differs by who reports it (certificate,
// pending epochs, holders, warnings).
v1::KeyInfo Core(v1::KeyInfo key) {
  key.clear_activation_certificate();
  key.clear_pending_epochs();
  key.clear_holders();
  key.clear_warnings();
  return key;
}

TEST_F(ClusterTest, CreateKeyIsConsistentAcrossGatewayAndNodes) {
  EXPECT_EQ(key_.key_id().size(), 32u);
  EXPECT_EQ(key_.public_key().size(), 33u);
  EXPECT_EQ(key_.chain_code().size(), 32u);
  EXPECT_EQ(key_.threshold(), 2u);
  EXPECT_EQ(key_.epoch(), 0u);
  ASSERT_EQ(key_.parties_size(), 3);
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(key_.parties(p).id(), static_cast<uint32_t>(p + 1));
    EXPECT_EQ(key_.parties(p).node(), cluster_->NodeName(p + 1));
    EXPECT_EQ(key_.parties(p).identity_key().size(), 32u);
  }
  // The xpub is the root of (public key, chain code).
  absl::StatusOr<std::string> root = DerivePublicKey(key_, {});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, key_.public_key());

  v1::GetKeyRequest get;
  get.set_key_id(key_.key_id());
  v1::KeyInfo via_gateway;
  grpc::Status st = cluster_->wallet()->GetKey(Ctx().get(), get, &via_gateway);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_TRUE(MessageDifferencer::Equals(Core(via_gateway), Core(key_)))
      << via_gateway.DebugString() << " vs " << key_.DebugString();
  // Every member activated epoch 0 on the same certificate, and the gateway
  // reports each node's holding.
  EXPECT_FALSE(key_.activation_certificate().empty());
  EXPECT_EQ(via_gateway.activation_certificate(),
            key_.activation_certificate());
  EXPECT_TRUE(key_.warnings().empty()) << key_.DebugString();
  ASSERT_EQ(via_gateway.holders_size(), kNodes);
  for (const v1::KeyHolder& h : via_gateway.holders()) {
    EXPECT_EQ(h.state(), "active") << h.DebugString();
    EXPECT_EQ(h.epoch(), 0u);
    EXPECT_TRUE(h.member());
  }
  EXPECT_TRUE(via_gateway.warnings().empty()) << via_gateway.DebugString();

  v1::ListKeysResponse list;
  st = cluster_->wallet()->ListKeys(Ctx().get(), v1::ListKeysRequest(), &list);
  ASSERT_TRUE(st.ok()) << Describe(st);
  ASSERT_EQ(list.keys_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(Core(list.keys(0)), Core(key_)));

  // Every node holds a share of the same key, and the party identities are
  // the nodes' own identity keys.
  for (int i = 1; i <= kNodes; ++i) {
    SCOPED_TRACE(cluster_->NodeName(i));
    auto node = cluster_->NodeStub(i, "gateway-1");
    ASSERT_TRUE(node.ok()) << node.status();
    v1::NodeInfo info;
    st = (*node)->GetNodeInfo(Ctx().get(), v1::GetNodeInfoRequest(), &info);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_EQ(info.name(), cluster_->NodeName(i));
    EXPECT_EQ(info.identity_key(), key_.parties(i - 1).identity_key());
    v1::KeyInfo on_node;
    st = (*node)->GetKey(Ctx().get(), get, &on_node);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_TRUE(MessageDifferencer::Equals(Core(on_node), Core(key_)))
        << on_node.DebugString();
    EXPECT_EQ(on_node.activation_certificate(), key_.activation_certificate());
    EXPECT_TRUE(on_node.pending_epochs().empty());
  }
}

TEST_F(ClusterTest, EveryPairOfNodesSigns) { SignUntilEveryPair(); }

TEST_F(ClusterTest, BatchSignsThreeDigestsOnDifferentPaths) {
  const std::vector<Item> items = {
      {RandomDigest(), {}},
      {RandomDigest(), {0, 1}},
      {RandomDigest(), {0x7fffffff, 5, 9}},
  };
  const v1::SignRequest req =
      MakeSignRequest(key_.key_id(), NewRequestId("batch"), items);
  v1::SignResponse resp;
  ASSERT_NO_FATAL_FAILURE(SignOk(req, &resp));
  ASSERT_EQ(resp.signatures_size(), 3);
  EXPECT_EQ(resp.signatures(0).public_key(), key_.public_key());
  EXPECT_NE(resp.signatures(1).public_key(), resp.signatures(0).public_key());
  EXPECT_NE(resp.signatures(2).public_key(), resp.signatures(1).public_key());
}

TEST_F(ClusterTest, DerivePublicKeyGivesTheKeySignaturesVerifyUnder) {
  const std::vector<uint32_t> path = {3, 14, 15};
  v1::SignRequest req = SimpleSignRequest(key_.key_id(), path);
  v1::SignResponse resp;
  ASSERT_NO_FATAL_FAILURE(SignOk(req, &resp));

  v1::DeriveRequest derive;
  derive.set_key_id(key_.key_id());
  for (uint32_t i : path) derive.add_path(i);
  derive.set_network("regtest");
  v1::DerivedKey derived;
  grpc::Status st =
      cluster_->wallet()->DerivePublicKey(Ctx().get(), derive, &derived);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(derived.public_key(), resp.signatures(0).public_key());
  absl::StatusOr<std::string> mine = DerivePublicKey(key_, path);
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(derived.public_key(), *mine);
  EXPECT_THAT(derived.path(), ElementsAre(3u, 14u, 15u));
  EXPECT_EQ(derived.p2wpkh_address().rfind("bcrt1q", 0), 0u)
      << derived.p2wpkh_address();
  absl::StatusOr<crypto::ExtendedPublicKey> xpub =
      crypto::ExtendedPublicKey::Decode(derived.xpub());
  ASSERT_TRUE(xpub.ok()) << xpub.status() << " " << derived.xpub();
  const auto compressed = xpub->key().ToCompressed();
  EXPECT_EQ(std::string(compressed.begin(), compressed.end()), *mine);
  EXPECT_EQ(xpub->depth(), 3);
  EXPECT_EQ(xpub->child_number(), 15u);

  // The root, mainnet: the key itself and the KeyInfo's xpub.
  derive.clear_path();
  derive.set_network("");
  st = cluster_->wallet()->DerivePublicKey(Ctx().get(), derive, &derived);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(derived.public_key(), key_.public_key());
  EXPECT_EQ(derived.xpub(), key_.xpub());
  EXPECT_EQ(derived.p2wpkh_address().rfind("bc1q", 0), 0u);
}

TEST_F(ClusterTest, GetRequestStatusShowsTheSignatures) {
  const v1::SignRequest req =
      MakeSignRequest(key_.key_id(), NewRequestId("status"),
                      {{RandomDigest(), {1}}, {RandomDigest(), {2}}});
  v1::SignResponse resp;
  ASSERT_NO_FATAL_FAILURE(SignOk(req, &resp));

  // Ask several times: the gateway rotates nothing here, but every node
  // answers and one of the three never saw the request.
  for (int round = 0; round < 3; ++round) {
    v1::GetRequestStatusRequest q;
    q.set_request_id(req.request_id());
    v1::RequestStatus status;
    grpc::Status st =
        cluster_->wallet()->GetRequestStatus(Ctx().get(), q, &status);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_EQ(status.request_id(), req.request_id());
    EXPECT_EQ(status.state(), "succeeded")
        << "gateway picked " << status.DebugString();
    ASSERT_EQ(status.signatures_size(), resp.signatures_size());
    for (int i = 0; i < status.signatures_size(); ++i) {
      EXPECT_TRUE(
          MessageDifferencer::Equals(status.signatures(i), resp.signatures(i)));
    }
    EXPECT_EQ(status.request_digest().size(), 32u);
  }
  // The signers themselves say so to its initiator (as the gateway names
  // it), the third node does not know it.
  for (int i = 1; i <= kNodes; ++i) {
    auto node = cluster_->NodeStub(i, "gateway-1");
    ASSERT_TRUE(node.ok()) << node.status();
    v1::GetRequestStatusRequest q;
    q.set_request_id(req.request_id());
    q.set_initiator("client/client-1");
    v1::RequestStatus status;
    grpc::Status st = (*node)->GetRequestStatus(Ctx().get(), q, &status);
    ASSERT_TRUE(st.ok()) << Describe(st);
    const bool signer =
        std::count(resp.signer_nodes().begin(), resp.signer_nodes().end(),
                   cluster_->NodeName(i)) == 1;
    EXPECT_EQ(status.state(), signer ? "succeeded" : "unknown")
        << cluster_->NodeName(i);
  }

  v1::GetRequestStatusRequest q;
  q.set_request_id(NewRequestId("never-used"));
  v1::RequestStatus status;
  grpc::Status st =
      cluster_->wallet()->GetRequestStatus(Ctx().get(), q, &status);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(status.state(), "unknown");
}

TEST_F(ClusterTest, AuditChainOfEveryNodeVerifiesAndRecordsTheSign) {
  const v1::SignRequest req = SimpleSignRequest(key_.key_id());
  v1::SignResponse resp;
  ASSERT_NO_FATAL_FAILURE(SignOk(req, &resp));
  for (int i = 1; i <= kNodes; ++i) {
    SCOPED_TRACE(cluster_->NodeName(i));
    absl::StatusOr<std::vector<storage::AuditEntry>> log =
        VerifiedAudit(cluster_->NodeDb(i));
    ASSERT_TRUE(log.ok()) << log.status();
    int dkg = 0;
    int sign_records = 0;
    for (const storage::AuditEntry& e : *log) {
      if (e.operation == "dkg" && e.outcome == "ok") ++dkg;
      if (e.operation == "sign" && e.request_id == req.request_id()) {
        ++sign_records;
        EXPECT_EQ(e.outcome, "ok");
        EXPECT_EQ(std::string(e.signature.begin(), e.signature.end()),
                  resp.signatures(0).signature());
        EXPECT_NE(e.parties.find(absl::BytesToHexString(key_.key_id())),
                  std::string::npos)
            << e.parties;
      }
    }
    EXPECT_EQ(dkg, 1);
    const bool signer =
        std::count(resp.signer_nodes().begin(), resp.signer_nodes().end(),
                   cluster_->NodeName(i)) == 1;
    EXPECT_EQ(sign_records, signer ? 1 : 0);
  }
}

TEST_F(ClusterTest, RefreshKeepsTheKeyAndEverySignerPairStillSigns) {
  v1::RefreshRequest refresh;
  refresh.set_request_id(NewRequestId("refresh"));
  refresh.set_key_id(key_.key_id());
  v1::KeyInfo refreshed;
  grpc::Status st = cluster_->wallet()->Refresh(Ctx(absl::Seconds(120)).get(),
                                                refresh, &refreshed);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(refreshed.epoch(), key_.epoch() + 1);
  EXPECT_EQ(refreshed.epoch(), 1u);
  EXPECT_EQ(refreshed.key_id(), key_.key_id());
  EXPECT_EQ(refreshed.public_key(), key_.public_key());
  EXPECT_EQ(refreshed.chain_code(), key_.chain_code());
  EXPECT_EQ(refreshed.xpub(), key_.xpub());
  EXPECT_EQ(refreshed.threshold(), key_.threshold());
  ASSERT_EQ(refreshed.parties_size(), key_.parties_size());
  for (int p = 0; p < refreshed.parties_size(); ++p) {
    EXPECT_TRUE(
        MessageDifferencer::Equals(refreshed.parties(p), key_.parties(p)));
  }
  // Every node moved to epoch 1.
  for (int i = 1; i <= kNodes; ++i) {
    auto node = cluster_->NodeStub(i, "gateway-1");
    ASSERT_TRUE(node.ok()) << node.status();
    v1::GetKeyRequest get;
    get.set_key_id(key_.key_id());
    v1::KeyInfo on_node;
    st = (*node)->GetKey(Ctx().get(), get, &on_node);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_EQ(on_node.epoch(), 1u) << cluster_->NodeName(i);
  }
  key_ = refreshed;
  // The refreshed shares of every pair still produce valid signatures under
  // the same public key.
  SignUntilEveryPair();
}

TEST_F(ClusterTest, StoppedNodeIsAvoidedAndSignsAgainAfterRestart) {
  // node-3 stops cleanly (SIGTERM; StopPid fails if it had to SIGKILL).
  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  for (int i = 0; i < 3; ++i) {
    v1::SignResponse resp;
    ASSERT_NO_FATAL_FAILURE(SignOk(SimpleSignRequest(key_.key_id()), &resp));
    EXPECT_THAT(Strings(resp.signer_nodes()),
                UnorderedElementsAre("node-1", "node-2"));
  }
  ASSERT_TRUE(cluster_->StartNode(3).ok());

  // With node-1 down, every signer set needs node-3: its share survived the
  // restart.
  ASSERT_TRUE(cluster_->StopNode(1, SIGTERM).ok());
  {
    v1::SignRequest used;
    v1::SignResponse resp;
    grpc::Status st = SignEventually(
        cluster_->wallet(), SimpleSignRequest(key_.key_id()), &resp, &used);
    ASSERT_TRUE(st.ok()) << Describe(st);
    CheckResponse(used, resp);
    EXPECT_THAT(Strings(resp.signer_nodes()),
                UnorderedElementsAre("node-2", "node-3"));
  }
  ASSERT_TRUE(cluster_->StartNode(1).ok());
  // And with node-2 down, node-1 and node-3 (both restarted) sign together.
  ASSERT_TRUE(cluster_->StopNode(2, SIGTERM).ok());
  {
    v1::SignRequest used;
    v1::SignResponse resp;
    grpc::Status st = SignEventually(
        cluster_->wallet(), SimpleSignRequest(key_.key_id()), &resp, &used);
    ASSERT_TRUE(st.ok()) << Describe(st);
    CheckResponse(used, resp);
    EXPECT_THAT(Strings(resp.signer_nodes()),
                UnorderedElementsAre("node-1", "node-3"));
  }
  ASSERT_TRUE(cluster_->StartNode(2).ok());
  // Their audit chains are intact after the restarts.
  for (int i = 1; i <= kNodes; ++i) {
    absl::StatusOr<std::vector<storage::AuditEntry>> log =
        VerifiedAudit(cluster_->NodeDb(i));
    EXPECT_TRUE(log.ok()) << cluster_->NodeName(i) << ": " << log.status();
  }
}

// A restarted node must be used again as soon as it serves. While node-3 is
// down, the test listens on its port itself and closes every connection the
// gateway opens (a failed connection attempt, as for a down node): so it sees
// the gateway's reconnect attempts. Right after the 4th, node-3 restarts. A
// gateway that builds a fresh channel after a failure uses node-3 at once; one
// that keeps a failed channel waits out gRPC's reconnect backoff (1 s growing
// by 1.6x per attempt, up to 120 s: after the 4th attempt at least 3.3 s, and
// minutes after a long outage).
TEST_F(ClusterTest, RestartedNodeIsUsedAgainPromptly) {
  // Start from a cluster where the gateway reaches every node (earlier tests
  // restarted nodes): wait until every pair has signed once more.
  std::set<std::string> pairs;
  const absl::Time settle_end = absl::Now() + absl::Seconds(30);
  while (pairs.size() < 3 && absl::Now() < settle_end) {
    const v1::SignRequest req = SimpleSignRequest(key_.key_id());
    v1::SignResponse resp;
    grpc::Status st = Sign(cluster_->wallet(), req, &resp);
    if (!st.ok()) {
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    CheckResponse(req, resp);
    pairs.insert(Pair(resp));
  }
  ASSERT_EQ(pairs.size(), 3u) << "the cluster did not settle";

  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  const int port = KAGI_IT_BASE_PORT + 3;
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      ::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)),
      0)
      << std::strerror(errno);
  ASSERT_EQ(::listen(listener, 16), 0);

  // Traffic while node-3 is down: every request probes node-3.
  std::atomic<bool> stop{false};
  // Requests begun once node-3 is starting again may use it: not counted.
  std::atomic<bool> restarting{false};
  absl::Mutex mu;
  std::vector<std::pair<v1::SignRequest, v1::SignResponse>> done;
  std::thread traffic([&] {
    while (!stop.load()) {
      v1::SignRequest req = SimpleSignRequest(key_.key_id());
      v1::SignResponse resp;
      const bool during_outage = !restarting.load();
      if (Sign(cluster_->wallet(), req, &resp).ok() && during_outage) {
        absl::MutexLock lock(&mu);
        done.emplace_back(std::move(req), std::move(resp));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  int attempts = 0;
  const absl::Time outage_end = absl::Now() + absl::Seconds(15);
  while (attempts < 4 && absl::Now() < outage_end) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) {
      const int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        ::close(conn);
        ++attempts;
      }
    }
  }
  ::close(listener);
  restarting = true;
  absl::Status started = cluster_->StartNode(3);
  const absl::Time back = absl::Now();  // node-3 answers health checks now
  stop = true;
  traffic.join();
  ASSERT_TRUE(started.ok()) << started;
  ASSERT_EQ(attempts, 4) << "the gateway did not try to reach node-3";
  {
    absl::MutexLock lock(&mu);
    EXPECT_FALSE(done.empty());
    for (const auto& [req, resp] : done) {
      CheckResponse(req, resp);
      EXPECT_THAT(Strings(resp.signer_nodes()),
                  UnorderedElementsAre("node-1", "node-2"));
    }
  }

  ASSERT_TRUE(cluster_->StopNode(1, SIGTERM).ok());  // node-3 is needed now
  grpc::Status st;
  v1::SignRequest req;
  v1::SignResponse resp;
  int tries = 0;
  do {
    req = SimpleSignRequest(key_.key_id());
    resp.Clear();
    st = Sign(cluster_->wallet(), req, &resp);
    ++tries;
    if (!st.ok()) absl::SleepFor(absl::Milliseconds(50));
  } while (!st.ok() && absl::Now() < back + absl::Seconds(30));
  const absl::Duration waited = absl::Now() - back;
  std::cerr << "[restart] node-3 used again " << absl::FormatDuration(waited)
            << " after it served (" << tries << " tries)\n";
  ASSERT_TRUE(st.ok()) << Describe(st);
  CheckResponse(req, resp);
  EXPECT_THAT(Strings(resp.signer_nodes()),
              UnorderedElementsAre("node-2", "node-3"));
  EXPECT_LT(waited, absl::Seconds(2))
      << "the gateway kept treating the restarted node-3 as unreachable "
         "(its channel waited out the reconnect backoff)";
  ASSERT_TRUE(cluster_->StartNode(1).ok());
}

}  // namespace
}  // namespace kagi::integration

namespace kagi::integration {
namespace {

// Gateways hold no state: a second gateway process (same identity, another
// port) serves the same cluster at the same time, and what one gateway did
// is known to the other through the nodes (a completed request id).
TEST_F(ClusterTest, TwoGatewaysServeTheSameClusterAtOnce) {
  const std::string dir = cluster_->dir();
  absl::StatusOr<v1::GatewayConfig> conf = transport::LoadGatewayConfig(
      absl::StrCat(kagictl::GatewayDir(dir), "/gateway.conf"));
  ASSERT_TRUE(conf.ok()) << conf.status();
  const std::string second_address =
      absl::StrCat("127.0.0.1:", KAGI_IT_BASE_PORT + 50);
  conf->set_listen_address(second_address);
  const std::string second_conf =
      absl::StrCat(kagictl::GatewayDir(dir), "/second.conf");
  ASSERT_TRUE(transport::WriteFileAtomically(
                  second_conf, transport::RenderConfig(*conf), 0644)
                  .ok());
  absl::StatusOr<pid_t> pid =
      kagictl::StartGateway(dir, absl::Seconds(20), second_conf);
  ASSERT_TRUE(pid.ok()) << pid.status();
  absl::StatusOr<v1::ClientConfig> client =
      kagictl::LoadClientConfig(kagictl::ClientConfigPath(dir));
  ASSERT_TRUE(client.ok());
  client->set_gateway_address(second_address);
  const std::string second_client = absl::StrCat(dir, "/second-client.conf");
  ASSERT_TRUE(transport::WriteFileAtomically(
                  second_client, transport::RenderConfig(*client), 0644)
                  .ok());
  absl::StatusOr<std::unique_ptr<v1::Wallet::Stub>> second =
      kagictl::WalletClient(second_client);
  ASSERT_TRUE(second.ok()) << second.status();

  // Both gateways sign concurrently.
  std::vector<v1::SignRequest> requests;
  for (int i = 0; i < 6; ++i) {
    requests.push_back(
        SimpleSignRequest(key_.key_id(), {4, static_cast<uint32_t>(i)}));
  }
  std::vector<grpc::Status> results(requests.size());
  std::vector<v1::SignResponse> responses(requests.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < requests.size(); ++i) {
    threads.emplace_back([&, i] {
      v1::Wallet::Stub* w = i % 2 == 0 ? cluster_->wallet() : second->get();
      results[i] = Sign(w, requests[i], &responses[i]);
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << Describe(results[i]);
    CheckResponse(requests[i], responses[i]);
  }
  // A request completed through the first gateway cannot run again through
  // the second: the nodes remember it.
  v1::SignResponse again;
  grpc::Status replay = Sign(second->get(), requests[0], &again);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::ALREADY_EXISTS)
      << Describe(replay);
  EXPECT_TRUE(kagictl::StopPid(*pid, SIGTERM, absl::Seconds(10)).ok());
}

}  // namespace
}  // namespace kagi::integration
