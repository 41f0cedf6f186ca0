// File: services/gateway/gateway_test.cc
//
// The Gateway against in-process fake nodes (kagi.v1.Node servers on
// loopback, insecure channels): fan-out, health, signer-set retries, error
// forwarding, agreement and verification of what the nodes return. The fake
// nodes sign with a TestKey, exactly as an honest signer set would; each test
// changes one node's behaviour. TLS and client authorization are covered by
// planning_test (AuthorizeClient) and by the multi-process tests.
#include "services/gateway/gateway.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kagi/v1/node.grpc.pb.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/transport/tls.h"
#include "services/gateway/agreement.h"
#include "services/gateway/authorization.h"
#include "services/gateway/key_derivation.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/request_shape.h"
#include "services/gateway/signer_sets.h"
#include "services/gateway/testing/test_key.h"
#include "services/gateway/wallet_service.h"

namespace kagi::gateway {
namespace {

using ::kagi::gateway::testing::TestIdentityKey;
using ::kagi::gateway::testing::TestKey;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const char* const kNames[] = {"alpha", "bravo", "charlie", "delta"};

bool Contains(const google::protobuf::RepeatedField<uint32_t>& ids,
              uint32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// A kagi.v1.Node whose behaviour each test sets before the first call.
class FakeNode final : public kagi::v1::Node::Service {
 public:
  FakeNode(int index, const TestKey* key)
      : index_(index), name_(kNames[index]), key_(key) {
    keys.push_back(key->info);
    sign = [this](const kagi::v1::StartSignRequest& request,
                  kagi::v1::StartSignResponse* response) {
      *response = key_->Sign(request.request());
      return grpc::Status::OK;
    };
    dkg = [this](const kagi::v1::StartDkgRequest& request,
                 kagi::v1::KeyInfo* response) {
      *response = key_->info;
      response->clear_parties();
      response->set_threshold(request.threshold());
      for (int i = 0; i < request.party_identity_keys_size(); ++i) {
        kagi::v1::KeyParty* party = response->add_parties();
        party->set_id(static_cast<uint32_t>(i + 1));
        party->set_identity_key(request.party_identity_keys(i));
        party->set_node(absl::StrCat("as-", name_, "-knows-it-", i));
      }
      return grpc::Status::OK;
    };
    reshare = [this](const kagi::v1::StartReshareRequest& request,
                     kagi::v1::KeyInfo* response) {
      *response = key_->info;
      response->set_epoch(request.epoch() + 1);
      response->clear_parties();
      response->set_threshold(request.new_threshold());
      for (int i = 0; i < request.new_party_identity_keys_size(); ++i) {
        kagi::v1::KeyParty* party = response->add_parties();
        party->set_id(static_cast<uint32_t>(i + 1));
        party->set_identity_key(request.new_party_identity_keys(i));
      }
      return grpc::Status::OK;
    };
  }

  // Behaviour; set before the first call, read concurrently afterwards.
  std::function<grpc::Status(const kagi::v1::StartSignRequest&,
                             kagi::v1::StartSignResponse*)>
      sign;
  std::function<grpc::Status(const kagi::v1::StartDkgRequest&,
                             kagi::v1::KeyInfo*)>
      dkg;
  std::function<grpc::Status(const kagi::v1::StartReshareRequest&,
                             kagi::v1::KeyInfo*)>
      reshare;
  std::vector<kagi::v1::KeyInfo> keys;
  std::string request_state = "unknown";
  std::string status_initiator;  // what the last GetRequestStatus named

  std::atomic<int> sign_calls{0};
  std::atomic<int> dkg_calls{0};
  std::atomic<int> reshare_calls{0};

  std::vector<kagi::v1::StartSignRequest> SignRequests() const {
    absl::MutexLock lock(&mu_);
    return sign_requests_;
  }
  std::vector<kagi::v1::StartDkgRequest> DkgRequests() const {
    absl::MutexLock lock(&mu_);
    return dkg_requests_;
  }
  std::vector<kagi::v1::StartReshareRequest> ReshareRequests() const {
    absl::MutexLock lock(&mu_);
    return reshare_requests_;
  }

  // A node-side error, with details, as kagi-node reports it.
  grpc::Status NodeError(const absl::Status& status) const {
    return transport::ToGrpcStatus(status, name_, [](uint32_t party) {
      return std::string(kNames[party - 1]);
    });
  }

  grpc::Status GetNodeInfo(grpc::ServerContext*,
                           const kagi::v1::GetNodeInfoRequest*,
                           kagi::v1::NodeInfo* response) override {
    response->set_name(name_);
    response->set_identity_key(TestIdentityKey(index_));
    return grpc::Status::OK;
  }
  grpc::Status StartDkg(grpc::ServerContext*,
                        const kagi::v1::StartDkgRequest* request,
                        kagi::v1::KeyInfo* response) override {
    ++dkg_calls;
    {
      absl::MutexLock lock(&mu_);
      dkg_requests_.push_back(*request);
    }
    return dkg(*request, response);
  }
  grpc::Status StartSign(grpc::ServerContext*,
                         const kagi::v1::StartSignRequest* request,
                         kagi::v1::StartSignResponse* response) override {
    ++sign_calls;
    {
      absl::MutexLock lock(&mu_);
      sign_requests_.push_back(*request);
    }
    return sign(*request, response);
  }
  grpc::Status StartReshare(grpc::ServerContext*,
                            const kagi::v1::StartReshareRequest* request,
                            kagi::v1::KeyInfo* response) override {
    ++reshare_calls;
    {
      absl::MutexLock lock(&mu_);
      reshare_requests_.push_back(*request);
    }
    return reshare(*request, response);
  }
  grpc::Status GetKey(grpc::ServerContext*,
                      const kagi::v1::GetKeyRequest* request,
                      kagi::v1::KeyInfo* response) override {
    for (const kagi::v1::KeyInfo& key : keys) {
      if (key.key_id() == request->key_id()) {
        *response = key;
        return grpc::Status::OK;
      }
    }
    return NodeError(absl::NotFoundError("no such key"));
  }
  grpc::Status ListKeys(grpc::ServerContext*, const kagi::v1::ListKeysRequest*,
                        kagi::v1::ListKeysResponse* response) override {
    for (const kagi::v1::KeyInfo& key : keys) {
      *response->add_keys() = key;
    }
    return grpc::Status::OK;
  }
  grpc::Status Activate(grpc::ServerContext*,
                        const kagi::v1::ActivateRequest* request,
                        kagi::v1::ActivateResponse* response) override {
    absl::MutexLock lock(&mu_);
    activated_.push_back(request->certificate());
    response->set_outcome("activated");
    return grpc::Status::OK;
  }
  std::vector<std::string> Activated() const {
    absl::MutexLock lock(&mu_);
    return activated_;
  }
  grpc::Status GetRequestStatus(
      grpc::ServerContext*, const kagi::v1::GetRequestStatusRequest* request,
      kagi::v1::RequestStatus* response) override {
    response->set_request_id(request->request_id());
    response->set_state(request_state);
    status_initiator = request->initiator();
    return grpc::Status::OK;
  }

 private:
  const int index_;
  const std::string name_;
  const TestKey* const key_;
  mutable absl::Mutex mu_;
  std::vector<kagi::v1::StartSignRequest> sign_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<kagi::v1::StartDkgRequest> dkg_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<kagi::v1::StartReshareRequest> reshare_requests_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::string> activated_ ABSL_GUARDED_BY(mu_);
};

// The Gateway as a client sees it: each operation's result converted by
// ToClientStatus, as WalletService returns it (the tests assert what
// reaches the client).
class ClientView {
 public:
  explicit ClientView(Gateway* gateway) : gateway_(gateway) {}
  Gateway& coordinator() { return *gateway_; }

  grpc::Status CreateKey(const kagi::v1::CreateKeyRequest& request,
                         absl::string_view initiator, absl::Time deadline,
                         kagi::v1::KeyInfo* out) {
    return Convert(gateway_->CreateKey(request, initiator, deadline), out);
  }
  grpc::Status GetKey(const kagi::v1::GetKeyRequest& request,
                      absl::Time deadline, kagi::v1::KeyInfo* out) {
    return Convert(gateway_->GetKey(request, deadline), out);
  }
  grpc::Status ListKeys(const kagi::v1::ListKeysRequest& request,
                        absl::Time deadline, kagi::v1::ListKeysResponse* out) {
    return Convert(gateway_->ListKeys(request, deadline), out);
  }
  grpc::Status ListNodes(const kagi::v1::ListNodesRequest& request,
                         absl::Time deadline,
                         kagi::v1::ListNodesResponse* out) {
    return Convert(gateway_->ListNodes(request, deadline), out);
  }
  grpc::Status DerivePublicKey(const kagi::v1::DeriveRequest& request,
                               absl::Time deadline, kagi::v1::DerivedKey* out) {
    return Convert(gateway_->DerivePublicKey(request, deadline), out);
  }
  grpc::Status Sign(const kagi::v1::SignRequest& request,
                    absl::string_view initiator, absl::Time deadline,
                    kagi::v1::SignResponse* out) {
    return Convert(gateway_->Sign(request, initiator, deadline), out);
  }
  grpc::Status Refresh(const kagi::v1::RefreshRequest& request,
                       absl::string_view initiator, absl::Time deadline,
                       kagi::v1::KeyInfo* out) {
    return Convert(gateway_->Refresh(request, initiator, deadline), out);
  }
  grpc::Status Reshare(const kagi::v1::ReshareRequest& request,
                       absl::string_view initiator, absl::Time deadline,
                       kagi::v1::KeyInfo* out) {
    return Convert(gateway_->Reshare(request, initiator, deadline), out);
  }
  grpc::Status GetRequestStatus(
      const kagi::v1::GetRequestStatusRequest& request,
      absl::string_view initiator, absl::Time deadline,
      kagi::v1::RequestStatus* out) {
    return Convert(gateway_->GetRequestStatus(request, initiator, deadline),
                   out);
  }

 private:
  template <typename Response>
  grpc::Status Convert(absl::StatusOr<Response> result, Response* out) {
    if (result.ok()) *out = *std::move(result);
    return ToClientStatus(result.status(), gateway_->Name());
  }

  Gateway* gateway_;
};

// `num_nodes` fake nodes (the first `key_parties` hold a t-of-key_parties
// key) and a gateway over them. Nodes are started by Start(); the ones in
// `down` get an address nobody listens on.
class Cluster {
 public:
  Cluster(int num_nodes, int key_parties, uint32_t threshold)
      : key_(TestKey::Make(42, threshold, IdentityKeys(key_parties))) {
    for (int i = 0; i < num_nodes; ++i) {
      nodes_.push_back(std::make_unique<FakeNode>(i, &key_));
    }
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  Cluster(Cluster&&) = delete;
  Cluster& operator=(Cluster&&) = delete;
  ~Cluster() {
    for (auto& server : servers_) {
      server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    }
  }

  static std::vector<std::string> IdentityKeys(int n) {
    std::vector<std::string> keys;
    keys.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      keys.push_back(TestIdentityKey(i));
    }
    return keys;
  }

  FakeNode& Node(int i) { return *nodes_[static_cast<size_t>(i)]; }
  const TestKey& Key() const { return key_; }

  ClientView& Start(std::vector<int> down = {}) {
    std::vector<NodeChannel> channels;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const bool is_down = std::find(down.begin(), down.end(),
                                     static_cast<int>(i)) != down.end();
      const int port = is_down ? UnusedPort() : Serve(*nodes_[i]);
      if (!is_down) {
        servers_by_node_[static_cast<int>(i)] = servers_.back().get();
      }
      channels.push_back(NodeChannel{
          kNames[i], grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                         grpc::InsecureChannelCredentials())});
    }
    GatewayOptions options;
    options.name = "gw-test";
    options.request_timeout = absl::Seconds(10);
    options.health_timeout = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<Gateway>> gateway =
        Gateway::Create(std::move(options), std::move(channels));
    KAGI_CHECK(gateway.ok());
    gateway_ = *std::move(gateway);
    view_ = std::make_unique<ClientView>(gateway_.get());
    return *view_;
  }

  kagi::v1::SignRequest SignRequest(int items = 2) const {
    kagi::v1::SignRequest request;
    request.set_request_id("withdrawal-7");
    request.set_key_id(key_.info.key_id());
    request.set_expiry_unix_seconds(2000000000);
    for (int i = 0; i < items; ++i) {
      kagi::v1::DigestItem* item =
          request.mutable_payload()->mutable_raw_digest()->add_items();
      item->set_digest(std::string(32, static_cast<char>('a' + i)));
      item->add_path(0);
      item->add_path(static_cast<uint32_t>(i));
    }
    return request;
  }

  // StopNode shuts node i's server down (it must have been started).
  void StopNode(int i) {
    servers_by_node_[i]->Shutdown(
        absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }

  int TotalSignCalls() const {
    int total = 0;
    for (const auto& node : nodes_) {
      total += node->sign_calls;
    }
    return total;
  }

 private:
  int Serve(FakeNode& node) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&node);
    servers_.push_back(builder.BuildAndStart());
    KAGI_CHECK(servers_.back() != nullptr && port != 0);
    return port;
  }
  // A loopback port that was free a moment ago: connections are refused.
  static int UnusedPort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    KAGI_CHECK(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    KAGI_CHECK(bind(fd, reinterpret_cast<const sockaddr*>(&address),
                    sizeof(address)) == 0);
    socklen_t length = sizeof(address);
    KAGI_CHECK(
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    close(fd);
    return ntohs(address.sin_port);
  }

  TestKey key_;
  std::vector<std::unique_ptr<FakeNode>> nodes_;
  std::vector<std::unique_ptr<grpc::Server>> servers_;
  std::map<int, grpc::Server*> servers_by_node_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<ClientView> view_;
};

absl::Time Soon() { return absl::Now() + absl::Seconds(30); }

std::string Details(const grpc::Status& status) {
  std::optional<kagi::v1::ErrorDetails> details =
      transport::GetErrorDetails(status);
  return details.has_value() ? details->DebugString() : "<none>";
}

// --- Sign
// ------------------------------------------------------------------------

TEST(GatewaySignTest, SignsWithTheFirstSubsetAndVerifies) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start();
  const kagi::v1::SignRequest request = cluster.SignRequest();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(request, "client/test", Soon(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.attempts(), 1u);
  EXPECT_THAT(response.signer_nodes(), ElementsAre("alpha", "bravo"));
  ASSERT_EQ(response.signatures_size(), 2);
  kagi::v1::StartSignResponse as_returned;
  *as_returned.mutable_signatures() = response.signatures();
  EXPECT_TRUE(
      VerifySignResponse(cluster.Key().info, request, as_returned).ok());

  // Both signers got the same setup: the request, signers {1,2}, one nonce.
  const auto alpha = cluster.Node(0).SignRequests();
  const auto bravo = cluster.Node(1).SignRequests();
  ASSERT_EQ(alpha.size(), 1u);
  ASSERT_EQ(bravo.size(), 1u);
  EXPECT_THAT(alpha[0].signers(), ElementsAre(1u, 2u));
  EXPECT_EQ(alpha[0].initiator_nonce().size(), 32u);
  EXPECT_EQ(alpha[0].SerializeAsString(), bravo[0].SerializeAsString());
  EXPECT_EQ(alpha[0].request().SerializeAsString(),
            request.SerializeAsString());
  EXPECT_EQ(cluster.Node(2).sign_calls, 0);
}

TEST(GatewaySignTest, ConsecutiveRequestsRotateOverSubsets) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start();
  std::vector<std::vector<std::string>> used;
  for (int i = 0; i < 3; ++i) {
    kagi::v1::SignResponse response;
    ASSERT_TRUE(
        gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response)
            .ok());
    used.emplace_back(response.signer_nodes().begin(),
                      response.signer_nodes().end());
  }
  EXPECT_THAT(used, ElementsAre(ElementsAre("alpha", "bravo"),
                                ElementsAre("alpha", "charlie"),
                                ElementsAre("bravo", "charlie")));
}

TEST(GatewaySignTest, ServesConcurrentRequests) {
  Cluster cluster(4, 4, 3);
  ClientView& gateway = cluster.Start();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        kagi::v1::SignResponse response;
        if (gateway
                .Sign(cluster.SignRequest(3), "client/test", Soon(), &response)
                .ok() &&
            response.signatures_size() == 3) {
          ++ok;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(ok, 40);
  // Rotation spread the 40 requests over all four 3-subsets: each node
  // signed 30 times.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(cluster.Node(i).sign_calls, 30) << kNames[i];
  }
}

TEST(GatewaySignTest, AvoidsANodeThatIsDownAtTheHealthProbe) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start(/*down=*/{1});
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.attempts(), 1u);
  EXPECT_THAT(response.signer_nodes(), ElementsAre("alpha", "charlie"));
}

TEST(GatewaySignTest, FailsFastWhenTooFewNodesAnswerProbes) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start();
  kagi::v1::ListKeysResponse list;
  ASSERT_TRUE(gateway.ListKeys({}, Soon(), &list).ok());  // learns identities
  cluster.StopNode(0);
  cluster.StopNode(2);
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // Its KeyInfo has no activation certificate, so one node's word is not
  // enough: two must report it identically (key_check.h).
  EXPECT_THAT(status.error_message(),
              HasSubstr("fewer than its threshold of 2 reachable nodes"));
  EXPECT_THAT(status.error_message(), HasSubstr("alpha: UNAVAILABLE"));
  EXPECT_THAT(status.error_message(), HasSubstr("charlie: UNAVAILABLE"));
  EXPECT_EQ(cluster.TotalSignCalls(), 0);
}

TEST(GatewaySignTest, NamesNodesNeverReachedWhenPartiesCannotBePlaced) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start(/*down=*/{0, 2});
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(),
              HasSubstr("fewer than its threshold of 2 reachable nodes"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("never reached (identity unknown): alpha: "
                        "UNAVAILABLE"));
  EXPECT_EQ(cluster.TotalSignCalls(), 0);
}

TEST(GatewaySignTest, RetriesWithAnotherSubsetWhenASignerBecomesUnavailable) {
  Cluster cluster(3, 3, 2);
  // bravo answers probes but is unreachable for signing; its co-signers time
  // out waiting for it (class A, nobody blamed).
  cluster.Node(1).sign = [](const kagi::v1::StartSignRequest&,
                            kagi::v1::StartSignResponse*) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset");
  };
  for (int i : {0, 2}) {
    FakeNode* node = &cluster.Node(i);
    const TestKey* key = &cluster.Key();
    node->sign = [node, key](const kagi::v1::StartSignRequest& request,
                             kagi::v1::StartSignResponse* response) {
      if (Contains(request.signers(), 2)) {
        return node->NodeError(AbortError(AbortClass::kTimeout, {},
                                          "round 1: no message from party 2"));
      }
      *response = key->Sign(request.request());
      return grpc::Status::OK;
    };
  }
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.attempts(), 2u);
  EXPECT_THAT(response.signer_nodes(), ElementsAre("alpha", "charlie"));
  // Each attempt used a fresh nonce.
  const auto alpha = cluster.Node(0).SignRequests();
  ASSERT_EQ(alpha.size(), 2u);
  EXPECT_NE(alpha[0].initiator_nonce(), alpha[1].initiator_nonce());
}

TEST(GatewaySignTest, RetriesAfterAClassAAbortWithoutCulprit) {
  Cluster cluster(3, 3, 2);
  for (int i = 0; i < 3; ++i) {
    FakeNode* node = &cluster.Node(i);
    const TestKey* key = &cluster.Key();
    node->sign = [node, key](const kagi::v1::StartSignRequest& request,
                             kagi::v1::StartSignResponse* response) {
      if (Contains(request.signers(), 2)) {
        return node->NodeError(
            AbortError(AbortClass::kTimeout, {}, "round 2 timed out"));
      }
      *response = key->Sign(request.request());
      return grpc::Status::OK;
    };
  }
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  ASSERT_TRUE(
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response)
          .ok());
  EXPECT_EQ(response.attempts(), 2u);
  EXPECT_THAT(response.signer_nodes(), ElementsAre("alpha", "charlie"));
}

TEST(GatewaySignTest, ReturnsABlamedAbortUnchangedWithoutRetrying) {
  Cluster cluster(3, 3, 2);
  grpc::Status blamed;
  for (int i = 0; i < 3; ++i) {
    FakeNode* node = &cluster.Node(i);
    node->sign = [node](const kagi::v1::StartSignRequest&,
                        kagi::v1::StartSignResponse*) {
      return node->NodeError(BlameError(2, "round 2: bad proof from party 2"));
    };
  }
  blamed = cluster.Node(0).NodeError(
      BlameError(2, "round 2: bad proof from party 2"));
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  // One attempt only; the first blame cancels the other signer's call,
  // which may not have reached it yet.
  EXPECT_GE(cluster.TotalSignCalls(), 1);
  EXPECT_LE(cluster.TotalSignCalls(), 2);
  const std::optional<kagi::v1::ErrorDetails> details =
      transport::GetErrorDetails(status);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->abort_class(), "B");
  EXPECT_THAT(details->culprit_nodes(), ElementsAre("bravo"));
  EXPECT_EQ(status.error_message(), blamed.error_message());
}

TEST(GatewaySignTest, ForwardsARequestErrorWithItsDetails) {
  Cluster cluster(3, 3, 2);
  FakeNode* bravo = &cluster.Node(1);
  bravo->sign = [bravo](const kagi::v1::StartSignRequest&,
                        kagi::v1::StartSignResponse*) {
    return bravo->NodeError(absl::FailedPreconditionError(
        "expiry_unix_seconds: the request expired"));
  };
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "expiry_unix_seconds: the request expired");
  const grpc::Status expected = bravo->NodeError(absl::FailedPreconditionError(
      "expiry_unix_seconds: the request expired"));
  EXPECT_EQ(status.error_details(), expected.error_details());
  EXPECT_GE(cluster.TotalSignCalls(), 1);  // one attempt; see above
  EXPECT_LE(cluster.TotalSignCalls(), 2);
}

// One signer refuses at once; the other's session would only end at its
// round timeout: the gateway answers the refusal without waiting for it.
TEST(GatewaySignTest, EndsTheAttemptAtOnceWhenOneSignerRefuses) {
  Cluster cluster(3, 3, 2);
  for (int i = 0; i < 3; ++i) {
    FakeNode* node = &cluster.Node(i);
    node->sign = [node, i](const kagi::v1::StartSignRequest&,
                           kagi::v1::StartSignResponse*) {
      if (i != 1) {
        absl::SleepFor(absl::Seconds(3));  // waiting for the refuser
        return node->NodeError(absl::AbortedError("timeout in round 1"));
      }
      return node->NodeError(absl::AlreadyExistsError(
          "request id 'r' was already completed (signed by node-9)"));
    };
  }
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const absl::Time start = absl::Now();
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("already completed"));
  EXPECT_LT(took, absl::Seconds(1)) << took;
}

TEST(GatewaySignTest, RefusesSignersThatDisagree) {
  Cluster cluster(3, 3, 2);
  const TestKey* key = &cluster.Key();
  cluster.Node(1).sign = [key](const kagi::v1::StartSignRequest& request,
                               kagi::v1::StartSignResponse* response) {
    *response = key->Sign(request.request(), /*variant=*/9);  // also valid
    return grpc::Status::OK;
  };
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(
      status.error_message(),
      HasSubstr("nodes disagree on the signatures: [alpha] vs [bravo]"));
  EXPECT_EQ(response.signatures_size(), 0);
}

TEST(GatewaySignTest, RefusesSignaturesThatDoNotVerify) {
  Cluster cluster(3, 3, 2);
  const TestKey* key = &cluster.Key();
  for (int i = 0; i < 3; ++i) {
    cluster.Node(i).sign = [key](const kagi::v1::StartSignRequest& request,
                                 kagi::v1::StartSignResponse* response) {
      // Signatures over another digest: consistent, but not what was asked.
      kagi::v1::SignRequest other = request.request();
      other.mutable_payload()
          ->mutable_raw_digest()
          ->mutable_items(1)
          ->set_digest(std::string(32, 'z'));
      *response = key->Sign(other);
      response->mutable_signatures(1)->set_digest(
          request.request().payload().raw_digest().items(1).digest());
      return grpc::Status::OK;
    };
  }
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(),
              HasSubstr("signature 1 (path m/0/1): does not verify"));
  EXPECT_EQ(transport::GetErrorDetails(status)->reporting_node(), "gw-test");
}

TEST(GatewaySignTest, KeepsSignaturesWhenACoSignerOnlyTimedOut) {
  Cluster cluster(3, 3, 2);
  cluster.Node(1).sign = [](const kagi::v1::StartSignRequest&,
                            kagi::v1::StartSignResponse*) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline");
  };
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.attempts(), 1u);
  EXPECT_EQ(response.signatures_size(), 2);
}

TEST(GatewaySignTest, ReportsEveryAttemptWhenAllFail) {
  Cluster cluster(4, 4, 2);
  for (int i = 0; i < 4; ++i) {
    cluster.Node(i).sign = [](const kagi::v1::StartSignRequest&,
                              kagi::v1::StartSignResponse*) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "store offline");
    };
  }
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // {alpha, bravo} fail, then {charlie, delta}; every other pair contains a
  // node that already failed.
  EXPECT_THAT(status.error_message(),
              HasSubstr("every signer set tried (2 attempts)"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("attempt 1 [alpha, bravo]: alpha: UNAVAILABLE: store "
                        "offline; bravo: UNAVAILABLE: store offline"));
  EXPECT_THAT(status.error_message(), HasSubstr("attempt 2 [charlie, delta]"));
  EXPECT_EQ(cluster.TotalSignCalls(), 4);
}

TEST(GatewaySignTest, RefusesBadRequestsAndUnknownKeysBeforeSigning) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  kagi::v1::SignRequest bad = cluster.SignRequest();
  bad.set_request_id("has space");
  grpc::Status status = gateway.Sign(bad, "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(Details(status), HasSubstr("gw-test"));

  kagi::v1::SignRequest unknown = cluster.SignRequest();
  unknown.set_key_id(std::string(32, '\x07'));
  status = gateway.Sign(unknown, "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(),
              HasSubstr("not known to any reachable node (asked [alpha, "
                        "bravo, charlie])"));
  EXPECT_EQ(cluster.TotalSignCalls(), 0);
}

TEST(GatewaySignTest, GivesUpWhenFewerThanThresholdNodesAreKnown) {
  // The key's third party is a node this gateway is not configured with.
  Cluster cluster(2, 3, 3);
  ClientView& gateway = cluster.Start();
  kagi::v1::SignResponse response;
  const grpc::Status status =
      gateway.Sign(cluster.SignRequest(), "client/test", Soon(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(),
              HasSubstr("fewer than its threshold of 3 reachable nodes"));
  EXPECT_THAT(status.error_message(), HasSubstr("2 answered"));
}

// --- CreateKey
// --------------------------------------------------------------------

TEST(GatewayCreateKeyTest, RunsTheDkgOnEveryNodeAndNamesParties) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start();
  kagi::v1::CreateKeyRequest request;
  request.set_request_id("create-1");
  request.set_threshold(2);
  kagi::v1::KeyInfo key;
  const absl::Time before = absl::Now();
  const grpc::Status status =
      gateway.CreateKey(request, "client/test", Soon(), &key);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(key.parties_size(), 3);
  EXPECT_EQ(key.parties(0).node(), "alpha");
  EXPECT_EQ(key.parties(1).node(), "bravo");
  EXPECT_EQ(key.parties(2).node(), "charlie");
  EXPECT_EQ(key.threshold(), 2u);

  const auto sent = cluster.Node(0).DkgRequests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].initiator_nonce().size(), 32u);
  EXPECT_THAT(
      sent[0].party_identity_keys(),
      ElementsAre(TestIdentityKey(0), TestIdentityKey(1), TestIdentityKey(2)));
  const int64_t expiry = static_cast<int64_t>(sent[0].expiry_unix_seconds());
  EXPECT_GE(expiry, absl::ToUnixSeconds(before) + 119);
  EXPECT_LE(expiry, absl::ToUnixSeconds(absl::Now()) + 121);
  for (int i = 1; i < 3; ++i) {
    ASSERT_EQ(cluster.Node(i).DkgRequests().size(), 1u);
    EXPECT_EQ(cluster.Node(i).DkgRequests()[0].SerializeAsString(),
              sent[0].SerializeAsString());
  }
}

TEST(GatewayCreateKeyTest, UsesTheRequestedNodesInOrder) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start();
  kagi::v1::CreateKeyRequest request;
  request.set_request_id("create-2");
  request.set_threshold(2);
  request.add_nodes("charlie");
  request.add_nodes("alpha");
  kagi::v1::KeyInfo key;
  ASSERT_TRUE(gateway.CreateKey(request, "client/test", Soon(), &key).ok());
  EXPECT_EQ(cluster.Node(1).dkg_calls, 0);
  ASSERT_EQ(key.parties_size(), 2);
  EXPECT_EQ(key.parties(0).node(), "charlie");
  EXPECT_EQ(key.parties(1).node(), "alpha");
}

TEST(GatewayCreateKeyTest, RefusesWhenNodesDisagree) {
  Cluster cluster(3, 3, 2);
  auto honest = cluster.Node(2).dkg;
  cluster.Node(2).dkg = [honest](const kagi::v1::StartDkgRequest& request,
                                 kagi::v1::KeyInfo* response) {
    grpc::Status status = honest(request, response);
    response->set_chain_code(std::string(32, '\x01'));
    return status;
  };
  ClientView& gateway = cluster.Start();
  kagi::v1::CreateKeyRequest request;
  request.set_request_id("create-3");
  request.set_threshold(2);
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.CreateKey(request, "client/test", Soon(), &key);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(),
              HasSubstr("nodes disagree on the new key: [alpha, bravo] vs "
                        "[charlie]"));
}

TEST(GatewayCreateKeyTest, RefusesWhenAChosenNodeIsDown) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start(/*down=*/{2});
  kagi::v1::CreateKeyRequest request;
  request.set_request_id("create-4");
  request.set_threshold(2);
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.CreateKey(request, "client/test", Soon(), &key);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("charlie: UNAVAILABLE"));
  EXPECT_EQ(cluster.Node(0).dkg_calls, 0);
}

TEST(GatewayCreateKeyTest, ForwardsANodesRefusal) {
  Cluster cluster(3, 3, 2);
  FakeNode* bravo = &cluster.Node(1);
  bravo->dkg = [bravo](const kagi::v1::StartDkgRequest&, kagi::v1::KeyInfo*) {
    return bravo->NodeError(
        absl::AlreadyExistsError("request_id create-5 was used before"));
  };
  ClientView& gateway = cluster.Start();
  kagi::v1::CreateKeyRequest request;
  request.set_request_id("create-5");
  request.set_threshold(2);
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.CreateKey(request, "client/test", Soon(), &key);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(transport::GetErrorDetails(status)->reporting_node(), "bravo");
}

// --- keys, derivation, status
// --------------------------------------------------------

TEST(GatewayKeysTest, GetKeyListKeysAndDerive) {
  Cluster cluster(3, 3, 2);
  const TestKey other =
      TestKey::Make(7, 2, {TestIdentityKey(1), TestIdentityKey(2)});
  kagi::v1::KeyInfo other_next = other.info;
  other_next.set_epoch(1);
  // Without activation certificates (these fakes have none) a description
  // counts where as many nodes as the key's threshold report it identically:
  // both parties at epoch 1.
  cluster.Node(1).keys.push_back(other_next);
  cluster.Node(2).keys.push_back(other_next);
  ClientView& gateway = cluster.Start();

  kagi::v1::GetKeyRequest get;
  get.set_key_id(other.info.key_id());
  kagi::v1::KeyInfo key;
  ASSERT_TRUE(gateway.GetKey(get, Soon(), &key).ok());
  EXPECT_EQ(key.epoch(), 1u);
  EXPECT_EQ(key.parties(0).node(), "bravo");
  EXPECT_EQ(key.parties(1).node(), "charlie");

  kagi::v1::ListKeysResponse list;
  ASSERT_TRUE(gateway.ListKeys({}, Soon(), &list).ok());
  ASSERT_EQ(list.keys_size(), 2);
  for (const kagi::v1::KeyInfo& k : list.keys()) {
    if (k.key_id() == other.info.key_id()) {
      EXPECT_EQ(k.epoch(), 1u);
    }
  }

  kagi::v1::DeriveRequest derive;
  derive.set_key_id(cluster.Key().info.key_id());
  derive.add_path(0);
  derive.add_path(5);
  derive.set_network("testnet");
  kagi::v1::DerivedKey derived;
  ASSERT_TRUE(gateway.DerivePublicKey(derive, Soon(), &derived).ok());
  const absl::StatusOr<kagi::v1::DerivedKey> expected =
      DeriveFromKeyInfo(cluster.Key().info, {0, 5}, chain::Network::kTestnet);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(derived.SerializeAsString(), expected->SerializeAsString());
  EXPECT_EQ(derived.p2wpkh_address().substr(0, 3), "tb1");

  derive.set_path(1, 0x80000005u);
  EXPECT_EQ(gateway.DerivePublicKey(derive, Soon(), &derived).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// One node alone cannot make the gateway believe in a newer epoch (or
// another public key) of a key without an activation certificate.
TEST(GatewayKeysTest, OneNodesUncertifiedClaimIsNotBelieved) {
  Cluster cluster(3, 3, 2);
  const TestKey other =
      TestKey::Make(7, 2, {TestIdentityKey(1), TestIdentityKey(2)});
  kagi::v1::KeyInfo lie = other.info;
  lie.set_epoch(1000);
  lie.set_public_key(cluster.Node(0).keys.empty()
                         ? other.info.public_key()
                         : cluster.Node(0).keys[0].public_key());
  cluster.Node(1).keys.push_back(other.info);
  cluster.Node(2).keys.push_back(lie);
  ClientView& gateway = cluster.Start();
  kagi::v1::GetKeyRequest get;
  get.set_key_id(other.info.key_id());
  kagi::v1::KeyInfo key;
  const grpc::Status status = gateway.GetKey(get, Soon(), &key);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(),
              HasSubstr("fewer than its threshold of 2 reachable nodes"));
}

// The most advanced answer two nodes agree on; a "succeeded" without a key
// and valid signatures is one node's word and not believed
// (request_status.h); the nodes are asked on behalf of the caller.
TEST(GatewayKeysTest, ReturnsTheMostAdvancedBelievableRequestStatus) {
  Cluster cluster(3, 3, 2);
  cluster.Node(0).request_state = "in_progress";
  cluster.Node(1).request_state = "succeeded";
  cluster.Node(2).request_state = "in_progress";
  ClientView& gateway = cluster.Start();
  kagi::v1::GetRequestStatusRequest request;
  request.set_request_id("withdrawal-7");
  request.set_initiator("client/someone-else");  // replaced by the gateway
  kagi::v1::RequestStatus status;
  ASSERT_TRUE(
      gateway.GetRequestStatus(request, "client/exchange", Soon(), &status)
          .ok());
  EXPECT_EQ(status.state(), "in_progress");
  EXPECT_EQ(status.request_id(), "withdrawal-7");
  EXPECT_EQ(cluster.Node(2).status_initiator, "client/exchange");
}

TEST(GatewayKeysTest, NoReachableNodeIsUnavailable) {
  Cluster cluster(2, 2, 2);
  ClientView& gateway = cluster.Start(/*down=*/{0, 1});
  kagi::v1::ListKeysResponse list;
  const grpc::Status status = gateway.ListKeys({}, Soon(), &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("no node is reachable"));
  EXPECT_THAT(status.error_message(), HasSubstr("alpha: UNAVAILABLE"));
}

// --- Refresh and Reshare
// ------------------------------------------------------------

TEST(GatewayReshareTest, RefreshKeepsTheCommitteeOnEveryParty) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start();
  kagi::v1::RefreshRequest request;
  request.set_request_id("refresh-1");
  request.set_key_id(cluster.Key().info.key_id());
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.Refresh(request, "client/test", Soon(), &key);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(key.epoch(), 1u);
  EXPECT_EQ(key.parties(2).node(), "charlie");
  for (int i = 0; i < 3; ++i) {
    const auto sent = cluster.Node(i).ReshareRequests();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_THAT(sent[0].dealers(), ElementsAre(1u, 2u));
    EXPECT_THAT(sent[0].dealer_identity_keys(),
                ElementsAre(TestIdentityKey(0), TestIdentityKey(1)));
    EXPECT_EQ(sent[0].new_threshold(), 2u);
    EXPECT_EQ(sent[0].epoch(), 0u);
    EXPECT_THAT(sent[0].new_party_identity_keys(),
                ElementsAre(TestIdentityKey(0), TestIdentityKey(1),
                            TestIdentityKey(2)));
  }
}

TEST(GatewayReshareTest, RefreshNeedsEveryParty) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start(/*down=*/{1});
  kagi::v1::RefreshRequest request;
  request.set_request_id("refresh-2");
  request.set_key_id(cluster.Key().info.key_id());
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.Refresh(request, "client/test", Soon(), &key);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("party 2 "));
  EXPECT_THAT(status.error_message(),
              HasSubstr("never reached (identity unknown): bravo: "
                        "UNAVAILABLE"));
  EXPECT_EQ(cluster.Node(0).reshare_calls, 0);
}

TEST(GatewayReshareTest, RefreshNamesAPartyWhoseNodeWentDown) {
  Cluster cluster(3, 3, 2);
  ClientView& gateway = cluster.Start();
  kagi::v1::ListKeysResponse list;
  ASSERT_TRUE(gateway.ListKeys({}, Soon(), &list).ok());  // learns identities
  cluster.StopNode(1);
  kagi::v1::RefreshRequest request;
  request.set_request_id("refresh-3");
  request.set_key_id(cluster.Key().info.key_id());
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.Refresh(request, "client/test", Soon(), &key);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("party 2 bravo: UNAVAILABLE"));
  EXPECT_EQ(cluster.Node(0).reshare_calls, 0);
}

TEST(GatewayReshareTest, ReshareRunsOnDealersAndTheNewCommittee) {
  // Key on alpha, bravo, charlie (2-of-3); move it to delta, charlie, bravo.
  Cluster cluster(4, 3, 2);
  // alpha leaves: as a dealer it answers with what it knows (the old key).
  const TestKey* old_key = &cluster.Key();
  cluster.Node(0).reshare = [old_key](const kagi::v1::StartReshareRequest&,
                                      kagi::v1::KeyInfo* response) {
    *response = old_key->info;
    return grpc::Status::OK;
  };
  ClientView& gateway = cluster.Start();
  kagi::v1::ReshareRequest request;
  request.set_request_id("reshare-1");
  request.set_key_id(cluster.Key().info.key_id());
  request.set_new_threshold(2);
  request.add_new_nodes("delta");
  request.add_new_nodes("charlie");
  request.add_new_nodes("bravo");
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.Reshare(request, "client/test", Soon(), &key);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(key.epoch(), 1u);
  ASSERT_EQ(key.parties_size(), 3);
  EXPECT_EQ(key.parties(0).node(), "delta");
  EXPECT_EQ(key.parties(1).node(), "charlie");
  EXPECT_EQ(key.parties(2).node(), "bravo");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(cluster.Node(i).reshare_calls, 1) << kNames[i];
  }
  const auto sent = cluster.Node(3).ReshareRequests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_THAT(sent[0].dealers(), ElementsAre(1u, 2u));
  EXPECT_THAT(sent[0].dealer_identity_keys(),
              ElementsAre(TestIdentityKey(0), TestIdentityKey(1)));
  EXPECT_THAT(
      sent[0].new_party_identity_keys(),
      ElementsAre(TestIdentityKey(3), TestIdentityKey(2), TestIdentityKey(1)));
}

// The new committee's members all fail (one withheld its ack from the
// other and then answered with an error), but the leaving dealers finished
// and returned the certificate: the gateway hands it to the members (and
// the leaving dealers), and says that no member finished.
TEST(GatewayReshareTest, LeavingDealersCertificateReachesTheMembers) {
  Cluster cluster(4, 3, 2);
  const TestKey* old_key = &cluster.Key();
  for (int dealer : {0, 1}) {
    cluster.Node(dealer).reshare = [old_key](
                                       const kagi::v1::StartReshareRequest&,
                                       kagi::v1::KeyInfo* response) {
      *response = old_key->info;
      response->set_activation_certificate("certificate-of-the-session");
      return grpc::Status::OK;
    };
  }
  for (int member : {2, 3}) {
    FakeNode* node = &cluster.Node(member);
    node->reshare = [node](const kagi::v1::StartReshareRequest&,
                           kagi::v1::KeyInfo*) {
      return node->NodeError(absl::DeadlineExceededError("timeout in round 4"));
    };
  }
  ClientView& gateway = cluster.Start();
  kagi::v1::ReshareRequest request;
  request.set_request_id("reshare-dealers");
  request.set_key_id(cluster.Key().info.key_id());
  request.set_new_threshold(2);
  request.add_new_nodes("charlie");
  request.add_new_nodes("delta");
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.Reshare(request, "client/test", Soon(), &key);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("no member of the new "
                                                "committee finished"));
  for (int i : {2, 3}) {
    EXPECT_THAT(cluster.Node(i).Activated(),
                ElementsAre("certificate-of-the-session"))
        << kNames[i];
  }
  EXPECT_THAT(cluster.Node(0).Activated(),
              ElementsAre("certificate-of-the-session"));
}

TEST(GatewayReshareTest, ReshareChoosesReachableDealers) {
  Cluster cluster(4, 3, 2);
  ClientView& gateway = cluster.Start(/*down=*/{0});
  kagi::v1::ReshareRequest request;
  request.set_request_id("reshare-2");
  request.set_key_id(cluster.Key().info.key_id());
  request.set_new_threshold(2);
  request.add_new_nodes("bravo");
  request.add_new_nodes("charlie");
  request.add_new_nodes("delta");
  kagi::v1::KeyInfo key;
  const grpc::Status status =
      gateway.Reshare(request, "client/test", Soon(), &key);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto sent = cluster.Node(1).ReshareRequests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_THAT(sent[0].dealers(), ElementsAre(2u, 3u));
  EXPECT_THAT(sent[0].dealer_identity_keys(),
              ElementsAre(TestIdentityKey(1), TestIdentityKey(2)));
}

// --- WalletService
// ------------------------------------------------------------------

TEST(WalletServiceTest, RefusesCallersWithoutAClientCertificate) {
  Cluster cluster(2, 2, 2);
  ClientView& gateway = cluster.Start();
  WalletService service(&gateway.coordinator(), {});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::unique_ptr<kagi::v1::Wallet::Stub> stub = kagi::v1::Wallet::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  kagi::v1::ListKeysResponse response;
  const grpc::Status status = stub->ListKeys(&ctx, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("gw-test"));
  server->Shutdown();
}

TEST(GatewayCreateTest, RefusesBadNodeLists) {
  GatewayOptions options;
  options.name = "gw";
  EXPECT_FALSE(Gateway::Create(options, std::vector<NodeChannel>{}).ok());
  auto channel =
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  EXPECT_FALSE(Gateway::Create(options, {{"a", channel}, {"a", channel}}).ok());
  EXPECT_FALSE(Gateway::Create(options, {{"a", nullptr}}).ok());
  options.name = "";
  EXPECT_FALSE(Gateway::Create(options, {{"a", channel}}).ok());
}

}  // namespace
}  // namespace kagi::gateway
