// File: services/gateway/coordinator_test.cc
//
// The Gateway coordinator in process, over FakeNodeClient (no sockets):
// its refusal paths, and what reaches the client (ToClientStatus, as
// WalletService returns it). gateway_test covers the same coordinator over
// the gRPC client and real loopback servers.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/transport/tls.h"
#include "services/gateway/gateway.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/testing/fake_node_client.h"
#include "services/gateway/testing/test_key.h"

namespace kagi::gateway {
namespace {

using ::kagi::gateway::testing::ChannelError;
using ::kagi::gateway::testing::FakeNode;
using ::kagi::gateway::testing::FakeNodeClient;
using ::kagi::gateway::testing::TestIdentityKey;
using ::kagi::gateway::testing::TestKey;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const char* const kNames[] = {"alpha", "bravo", "charlie", "delta"};

// `n` fake nodes holding a t-of-n TestKey, and a gateway over them.
class Coordinator {
 public:
  Coordinator(int n, uint32_t threshold)
      : key_(TestKey::Make(7, threshold, IdentityKeys(n))) {
    std::vector<FakeNode*> raw;
    for (int i = 0; i < n; ++i) {
      nodes_.push_back(std::make_unique<FakeNode>(i, kNames[i], &key_));
      raw.push_back(nodes_.back().get());
    }
    auto client = std::make_unique<FakeNodeClient>(raw);
    client_ = client.get();
    GatewayOptions options;
    options.name = "gw-unit";
    absl::StatusOr<std::unique_ptr<Gateway>> gateway =
        Gateway::Create(std::move(options), std::move(client));
    KAGI_CHECK(gateway.ok());
    gateway_ = *std::move(gateway);
  }

  static std::vector<std::string> IdentityKeys(int n) {
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i) keys.push_back(TestIdentityKey(i));
    return keys;
  }

  Gateway& gateway() { return *gateway_; }
  FakeNode& Node(int i) { return *nodes_[static_cast<size_t>(i)]; }
  const TestKey& Key() const { return key_; }
  const FakeNodeClient& Client() const { return *client_; }

  size_t TotalSignCalls() const {
    size_t total = 0;
    for (const auto& node : nodes_) total += node->sign_requests.size();
    return total;
  }

  kagi::v1::SignRequest SignRequest() const {
    kagi::v1::SignRequest request;
    request.set_request_id("withdrawal-9");
    request.set_key_id(key_.info.key_id());
    for (int i = 0; i < 2; ++i) {
      kagi::v1::DigestItem* item =
          request.mutable_payload()->mutable_raw_digest()->add_items();
      item->set_digest(std::string(32, static_cast<char>('a' + i)));
      item->add_path(static_cast<uint32_t>(i));
    }
    return request;
  }

  // Every node's signing handler.
  void SignEverywhere(
      const std::function<absl::StatusOr<kagi::v1::StartSignResponse>(
          int node, const kagi::v1::StartSignRequest&)>& sign) {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i]->sign = [sign, i](const kagi::v1::StartSignRequest& request) {
        return sign(static_cast<int>(i), request);
      };
    }
  }

  // Client: what WalletService returns for `result`.
  template <typename Response>
  grpc::Status Client(const absl::StatusOr<Response>& result) const {
    return ToClientStatus(result.status(), "gw-unit");
  }

 private:
  TestKey key_;
  std::vector<std::unique_ptr<FakeNode>> nodes_;
  FakeNodeClient* client_ = nullptr;
  std::unique_ptr<Gateway> gateway_;
};

absl::Time Soon() { return absl::Now() + absl::Seconds(30); }

std::string ReportingNode(const grpc::Status& status) {
  const std::optional<kagi::v1::ErrorDetails> details =
      transport::GetErrorDetails(status);
  return details.has_value() ? details->reporting_node() : "<none>";
}

bool HasSigner(const kagi::v1::StartSignRequest& request, uint32_t id) {
  return std::find(request.signers().begin(), request.signers().end(), id) !=
         request.signers().end();
}

// --- request shapes
// ----------------------------------------------------------------

TEST(CoordinatorTest, RefusesBadRequestShapesBeforeAskingAnyNode) {
  Coordinator c(3, 2);
  kagi::v1::SignRequest sign = c.SignRequest();
  sign.set_request_id("has space");
  absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(sign, "client/x", Soon());
  EXPECT_EQ(signed_.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReportingNode(c.Client(signed_)), "gw-unit");

  kagi::v1::CreateKeyRequest create;
  create.set_request_id("dkg-1");
  create.set_threshold(1);
  EXPECT_EQ(c.gateway().CreateKey(create, "client/x", Soon()).status().code(),
            absl::StatusCode::kInvalidArgument);

  kagi::v1::GetKeyRequest get;
  get.set_key_id("short");
  EXPECT_EQ(c.gateway().GetKey(get, Soon()).status().code(),
            absl::StatusCode::kInvalidArgument);

  kagi::v1::DeriveRequest derive;
  derive.set_key_id(c.Key().info.key_id());
  derive.set_network("moonnet");
  EXPECT_EQ(c.gateway().DerivePublicKey(derive, Soon()).status().code(),
            absl::StatusCode::kInvalidArgument);

  kagi::v1::ReshareRequest reshare;
  reshare.set_request_id("reshare-1");
  reshare.set_key_id(c.Key().info.key_id());
  reshare.add_new_nodes("zulu");
  reshare.set_new_threshold(2);
  absl::StatusOr<kagi::v1::KeyInfo> reshared =
      c.gateway().Reshare(reshare, "client/x", Soon());
  EXPECT_EQ(reshared.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reshared.status().message(), HasSubstr("zulu"));

  kagi::v1::GetRequestStatusRequest status;
  status.set_request_id("");
  EXPECT_EQ(
      c.gateway().GetRequestStatus(status, "client/x", Soon()).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.TotalSignCalls(), 0u);
  EXPECT_THAT(c.Node(0).dkg_requests, IsEmpty());
  EXPECT_THAT(c.Node(0).status_requests, IsEmpty());
}

// --- too few nodes
// -----------------------------------------------------------------

TEST(CoordinatorTest, TooFewReachableNodesIsUnavailable) {
  Coordinator c(3, 2);
  c.Node(0).reachable = false;
  c.Node(2).reachable = false;
  absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  EXPECT_EQ(signed_.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(signed_.status().message(),
              HasSubstr("never reached (identity unknown): alpha: "
                        "UNAVAILABLE"));
  EXPECT_EQ(c.TotalSignCalls(), 0u);

  kagi::v1::CreateKeyRequest create;
  create.set_request_id("dkg-1");
  create.set_threshold(2);
  absl::StatusOr<kagi::v1::KeyInfo> created =
      c.gateway().CreateKey(create, "client/x", Soon());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(created.status().message(),
              HasSubstr("every chosen node must be reachable"));
  EXPECT_THAT(c.Node(1).dkg_requests, IsEmpty());
}

// WithoutBravo: bravo (party 2) fails with `fault`; its co-signers, as in a
// real session, then time out waiting for it (a class-"A" abort).
std::function<absl::StatusOr<kagi::v1::StartSignResponse>(
    int, const kagi::v1::StartSignRequest&)>
WithoutBravo(Coordinator* c, absl::Status fault) {
  return [c, fault](int node, const kagi::v1::StartSignRequest& request)
             -> absl::StatusOr<kagi::v1::StartSignResponse> {
    if (node == 1) return fault;
    if (HasSigner(request, 2)) {
      return AbortError(AbortClass::kTimeout, {}, "round 1: no message");
    }
    return c->Key().Sign(request.request());
  };
}

// --- node errors reach the client unchanged
// ------------------------------------------------

TEST(CoordinatorTest, ANodesRefusalReachesTheClientWithItsDetailsUnchanged) {
  Coordinator c(3, 2);
  const absl::Status refusal =
      absl::FailedPreconditionError("expiry_unix_seconds: the request expired");
  c.Node(1).sign = [refusal](const kagi::v1::StartSignRequest&)
      -> absl::StatusOr<kagi::v1::StartSignResponse> { return refusal; };
  const grpc::Status client =
      c.Client(c.gateway().Sign(c.SignRequest(), "client/x", Soon()));
  // Exactly what bravo sent: code, message and ErrorDetails, byte for byte.
  const grpc::Status sent = transport::ToGrpcStatus(refusal, "bravo");
  EXPECT_EQ(client.error_code(), sent.error_code());
  EXPECT_EQ(client.error_message(), sent.error_message());
  EXPECT_EQ(client.error_details(), sent.error_details());
  EXPECT_EQ(ReportingNode(client), "bravo");
}

TEST(CoordinatorTest, ANodesDkgRefusalReachesTheClientUnchanged) {
  Coordinator c(3, 2);
  const absl::Status refusal =
      absl::PermissionDeniedError("admin approvals: 1 of 2");
  c.Node(2).dkg = [refusal](const kagi::v1::StartDkgRequest&)
      -> absl::StatusOr<kagi::v1::KeyInfo> { return refusal; };
  kagi::v1::CreateKeyRequest create;
  create.set_request_id("dkg-1");
  create.set_threshold(2);
  const grpc::Status client =
      c.Client(c.gateway().CreateKey(create, "client/x", Soon()));
  const grpc::Status sent = transport::ToGrpcStatus(refusal, "charlie");
  EXPECT_EQ(client.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(client.error_message(), sent.error_message());
  EXPECT_EQ(client.error_details(), sent.error_details());
}

TEST(CoordinatorTest, AChannelFaultIsRetriedWithoutThatNode) {
  Coordinator c(3, 2);
  c.SignEverywhere(WithoutBravo(
      &c, ChannelError(absl::StatusCode::kInternal, "stream reset")));
  // bravo's fault (no details: its channel) sends the request on without it.
  absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  ASSERT_TRUE(signed_.ok()) << signed_.status();
  EXPECT_THAT(signed_->signer_nodes(), ElementsAre("alpha", "charlie"));
}

TEST(CoordinatorTest, AChannelErrorIsTheGatewaysNamingTheNode) {
  Coordinator c(3, 2);
  c.Node(2).dkg = [](const kagi::v1::StartDkgRequest&)
      -> absl::StatusOr<kagi::v1::KeyInfo> {
    return ChannelError(absl::StatusCode::kUnavailable, "stream reset");
  };
  kagi::v1::CreateKeyRequest create;
  create.set_request_id("dkg-1");
  create.set_threshold(2);
  const grpc::Status client =
      c.Client(c.gateway().CreateKey(create, "client/x", Soon()));
  EXPECT_EQ(client.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(client.error_message(), "node charlie: stream reset");
  EXPECT_EQ(ReportingNode(client), "gw-unit");
}

// --- retries
// ------------------------------------------------------------------------

TEST(CoordinatorTest, ANodeFaultIsRetriedWithoutThatNode) {
  Coordinator c(3, 2);
  c.SignEverywhere(
      WithoutBravo(&c, absl::InternalError("share store: disk I/O error")));
  absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  ASSERT_TRUE(signed_.ok()) << signed_.status();
  EXPECT_EQ(signed_->attempts(), 2u);
  EXPECT_THAT(signed_->signer_nodes(), ElementsAre("alpha", "charlie"));
  EXPECT_EQ(c.Node(1).sign_requests.size(), 1u);
}

TEST(CoordinatorTest, ASignerThatLostTheKeyIsAFaultNotARefusal) {
  Coordinator c(3, 2);
  c.Node(0).sign = [](const kagi::v1::StartSignRequest&)
      -> absl::StatusOr<kagi::v1::StartSignResponse> {
    return absl::NotFoundError("key_id: unknown key");
  };
  absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  ASSERT_TRUE(signed_.ok()) << signed_.status();
  EXPECT_THAT(signed_->signer_nodes(), ElementsAre("bravo", "charlie"));
}

TEST(CoordinatorTest, WhenEveryNodeFaultsTheLastFaultKeepsItsDetails) {
  Coordinator c(3, 2);
  c.SignEverywhere([](int, const kagi::v1::StartSignRequest&)
                       -> absl::StatusOr<kagi::v1::StartSignResponse> {
    return absl::ResourceExhaustedError("client/x: too many requests");
  });
  const absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  EXPECT_EQ(signed_.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(signed_.status().message(),
              HasSubstr("signing failed with every signer set tried"));
  const grpc::Status client = c.Client(signed_);
  EXPECT_EQ(client.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(ReportingNode(client), "gw-unit");
  EXPECT_EQ(client.error_message(), std::string(signed_.status().message()));
}

TEST(CoordinatorTest, ANodeFaultBesideATransientFailureIsUnavailable) {
  Coordinator c(3, 2);
  c.Node(0).sign = [](const kagi::v1::StartSignRequest&)
      -> absl::StatusOr<kagi::v1::StartSignResponse> {
    return ChannelError(absl::StatusCode::kUnavailable, "connection reset");
  };
  c.Node(1).sign = [](const kagi::v1::StartSignRequest&)
      -> absl::StatusOr<kagi::v1::StartSignResponse> {
    return absl::InternalError("share store: disk I/O error");
  };
  // Both are left out after the first attempt; charlie alone is no set.
  const absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  EXPECT_EQ(signed_.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(signed_.status().message(),
              HasSubstr("signing failed with every signer set tried (1 "
                        "attempt)"));
  EXPECT_EQ(ReportingNode(c.Client(signed_)), "gw-unit");
}

TEST(CoordinatorTest, ATimeoutAbortIsRetriedWithAnotherSignerSet) {
  Coordinator c(3, 2);
  c.SignEverywhere([&c](int, const kagi::v1::StartSignRequest& request)
                       -> absl::StatusOr<kagi::v1::StartSignResponse> {
    if (HasSigner(request, 2)) {
      return AbortError(AbortClass::kTimeout, {}, "round 1: no message");
    }
    return c.Key().Sign(request.request());
  });
  absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  ASSERT_TRUE(signed_.ok()) << signed_.status();
  EXPECT_EQ(signed_->attempts(), 2u);
}

TEST(CoordinatorTest, ABlamedAbortStopsAtOnceAndIsForwarded) {
  Coordinator c(3, 2);
  c.SignEverywhere([](int, const kagi::v1::StartSignRequest&)
                       -> absl::StatusOr<kagi::v1::StartSignResponse> {
    return BlameError(2, "round 2: bad proof from party 2");
  });
  const absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  const grpc::Status client = c.Client(signed_);
  EXPECT_EQ(client.error_code(), grpc::StatusCode::ABORTED);
  const std::optional<kagi::v1::ErrorDetails> details =
      transport::GetErrorDetails(client);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->abort_class(), "B");
  EXPECT_THAT(details->culprit_nodes(), ElementsAre("bravo"));
  // The first blame stopped the fan-out: the co-signer was never asked.
  EXPECT_EQ(c.TotalSignCalls(), 1u);
}

// --- what the signers return
// ----------------------------------------------------------

TEST(CoordinatorTest, SignersThatDisagreeAreInternal) {
  Coordinator c(3, 2);
  c.Node(1).sign = [&c](const kagi::v1::StartSignRequest& request)
      -> absl::StatusOr<kagi::v1::StartSignResponse> {
    return c.Key().Sign(request.request(), /*variant=*/3);
  };
  const absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  EXPECT_EQ(signed_.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(signed_.status().message(),
              HasSubstr("nodes disagree on the signatures"));
  EXPECT_EQ(ReportingNode(c.Client(signed_)), "gw-unit");
}

TEST(CoordinatorTest, SignaturesThatDoNotVerifyAreInternal) {
  Coordinator c(3, 2);
  c.SignEverywhere([&c](int, const kagi::v1::StartSignRequest& request)
                       -> absl::StatusOr<kagi::v1::StartSignResponse> {
    kagi::v1::SignRequest other = request.request();
    other.mutable_payload()->mutable_raw_digest()->mutable_items(0)->set_digest(
        std::string(32, 'z'));
    kagi::v1::StartSignResponse response = c.Key().Sign(other);
    response.mutable_signatures(0)->set_digest(
        request.request().payload().raw_digest().items(0).digest());
    return response;
  });
  const absl::StatusOr<kagi::v1::SignResponse> signed_ =
      c.gateway().Sign(c.SignRequest(), "client/x", Soon());
  EXPECT_EQ(signed_.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(signed_.status().message(), HasSubstr("does not verify"));
}

// --- GetRequestStatus
// ----------------------------------------------------------------

TEST(CoordinatorTest, RequestStatusIsWhatTheNodesAgreeOn) {
  Coordinator c(3, 2);
  c.Node(0).request_state = "in_progress";
  c.Node(1).request_state = "succeeded";  // one node's word, no proof
  c.Node(2).request_state = "in_progress";
  kagi::v1::GetRequestStatusRequest request;
  request.set_request_id("withdrawal-9");
  request.set_initiator("client/someone-else");
  const absl::StatusOr<kagi::v1::RequestStatus> status =
      c.gateway().GetRequestStatus(request, "client/exchange", Soon());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state(), "in_progress");
  ASSERT_EQ(c.Node(2).status_requests.size(), 1u);
  EXPECT_EQ(c.Node(2).status_requests[0].initiator(), "client/exchange");
}

TEST(CoordinatorTest, RequestStatusWithNoNodeReachableIsUnavailable) {
  Coordinator c(2, 2);
  c.Node(0).reachable = false;
  c.Node(1).reachable = false;
  kagi::v1::GetRequestStatusRequest request;
  request.set_request_id("withdrawal-9");
  const absl::StatusOr<kagi::v1::RequestStatus> status =
      c.gateway().GetRequestStatus(request, "client/exchange", Soon());
  EXPECT_EQ(status.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.status().message(), HasSubstr("no node is reachable"));
}

}  // namespace
}  // namespace kagi::gateway
