// Request claims and request status under one compromised node, on a real
// cluster of four nodes (kagi-node x4 + kagi-gateway, mTLS, SQLite) under the
// strict demo policy. The attacker holds node-4's certificate and identity
// key and runs modified code (compromised_node.cc) or pushes claims of its
// own making over the Peer channel. What must hold (docs/api.md "Request
// ids", docs/threat-model.md):
//   * a member cannot veto signing by what it claims: the other members
//     sign with a signer set without it;
//   * a claim nobody can check burns nothing, and claims about one key
//     never refuse another key's request;
//   * a member cannot make another store rows about requests nobody made;
//   * a request id used for a different approved request is still refused
//     by the members that did not see it;
//   * GetRequestStatus answers "succeeded" only with the signers' agreement
//     and valid signatures, and only to the request's initiator.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/transport/identity_key.h"
#include "services/node/request_claims.h"
#include "tests/integration/approved_requests.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;

class ClaimsAttackTest : public ClusterSuite<ClaimsAttackTest> {
 public:
  static ClusterConfig Config() { return StrictCluster(KAGI_IT_BASE_PORT, 4); }

 protected:
  static void SetUpTestSuite() {
    ClusterSuite<ClaimsAttackTest>::SetUpTestSuite();
    if (cluster_ == nullptr) return;
    absl::Status made = CreateApprovedKey(
        *cluster_, {"node-1", "node-2", "node-3", "node-4"}, 2, &key_);
    if (made.ok()) {
      made = CreateApprovedKey(*cluster_, {"node-1", "node-2"}, 2, &pair_);
    }
    if (!made.ok()) setup_error_ = std::string(made.message());
  }

  // Replaces node-4 by the compromised node with `args` until Restore().
  static void Compromise(const std::vector<std::string>& args) {
    ASSERT_TRUE(cluster_->StopNode(4, SIGTERM).ok());
    const std::string cfg = cluster_->NodeConfigPath(4);
    const std::string log =
        absl::StrCat(cluster_->dir(), "/node-4/compromised.log");
    std::vector<std::string> argv = {KAGI_COMPROMISED_NODE, cfg};
    argv.insert(argv.end(), args.begin(), args.end());
    compromised_ = fork();
    if (compromised_ == 0) {
      freopen(log.c_str(), "a", stdout);
      std::vector<char*> raw;
      for (std::string& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      execv(raw[0], raw.data());
      _exit(127);
    }
    ASSERT_GT(compromised_, 0);
    absl::SleepFor(absl::Seconds(1));
  }
  static void Restore() {
    if (compromised_ > 0) {
      kill(compromised_, SIGTERM);
      waitpid(compromised_, nullptr, 0);
      compromised_ = -1;
    }
    ASSERT_TRUE(cluster_->StartNode(4).ok());
    ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
  }

  // node-4's own signed claim that `request_id` of key_ was `state` for
  // another request, pushed to node i over the Peer channel as node-4.
  static grpc::Status PushUnprovenClaim(int i, const std::string& request_id,
                                        absl::string_view state) {
    absl::StatusOr<crypto::Ed25519PrivateKey> identity =
        transport::LoadIdentityKey(
            absl::StrCat(cluster_->dir(), "/node-4/identity.pem"));
    if (!identity.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "id");
    node::ClaimSubject s;
    s.request_id = request_id;
    std::copy(key_.key_id().begin(), key_.key_id().end(), s.key_id.begin());
    s.request_digest.fill(0xEE);
    s.sid0.fill(0xEE);
    v1::RequestClaims req;
    req.set_request_id(request_id);
    *req.add_claims() =
        node::MakeClaim(s, state, v1::SignRequest(), {}, *identity);
    return Push(i, req);
  }
  static grpc::Status Push(int i, const v1::RequestClaims& req) {
    absl::StatusOr<std::unique_ptr<v1::Peer::Stub>> stub =
        cluster_->PeerStub(i, "node-4");
    if (!stub.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "stub");
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::RequestClaims out;
    return (*stub)->ExchangeRequestClaims(&ctx, req, &out);
  }

  static int64_t Count(int node, const std::string& sql) {
    absl::StatusOr<int64_t> n = QueryInt(cluster_->NodeDb(node), sql);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  static inline v1::KeyInfo key_;   // 2-of-4 on node-1..node-4
  static inline v1::KeyInfo pair_;  // 2-of-2 on node-1, node-2
  static inline pid_t compromised_ = -1;
};

// node-4 answers every claims exchange with a claim of its own; nodes 1-3
// (t = 2) must sign regardless, whatever node-4 claims.
TEST_F(ClaimsAttackTest, OneCompromisedMemberCannotVetoByClaims) {
  for (const char* mode :
       {"succeeded-other", "succeeded-echo", "admitted-echo"}) {
    Compromise({absl::StrCat("claims=", mode)});
    for (int i = 0; i < 2; ++i) {
      v1::SignResponse resp;
      const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 12000 + i);
      const grpc::Status st = Sign(cluster_->wallet(), r, &resp);
      EXPECT_TRUE(st.ok()) << mode << ": " << Describe(st);
      EXPECT_EQ(resp.signatures_size(), 1) << mode;
    }
    Restore();
  }
}

// A claim without evidence is refused when pushed and burns nothing: the
// client's first use of a predictable id signs.
TEST_F(ClaimsAttackTest, UnprovenClaimsAreRefusedAndBurnNothing) {
  v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 13000);
  r.set_request_id(NewRequestId("invoice"));
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &r).ok());
  for (int i = 1; i <= 3; ++i) {
    for (const char* state : {"succeeded", "admitted"}) {
      const grpc::Status pushed = PushUnprovenClaim(i, r.request_id(), state);
      EXPECT_TRUE(pushed.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                  pushed.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
          << "node-" << i << " took an unproven '" << state
          << "' claim: " << Describe(pushed);
    }
  }
  v1::SignResponse resp;
  const grpc::Status st = Sign(cluster_->wallet(), r, &resp);
  EXPECT_TRUE(st.ok()) << Describe(st);
}

// Claims are about one key: node-4 (not a member of pair_) claims the id of
// pair_'s request for key_; pair_'s request still signs.
TEST_F(ClaimsAttackTest, ClaimsAboutOneKeyDoNotRefuseAnother) {
  v1::SignRequest r = ApprovedPsbt(*cluster_, pair_, 14000);
  for (int i = 1; i <= 2; ++i) PushUnprovenClaim(i, r.request_id(), "admitted");
  v1::SignResponse resp;
  const grpc::Status st = Sign(cluster_->wallet(), r, &resp);
  EXPECT_TRUE(st.ok()) << Describe(st);
}

// One member cannot fill another's store with claims about ids nobody used.
TEST_F(ClaimsAttackTest, AMemberCannotStoreClaimsAboutNothing) {
  const std::string rows = "SELECT COUNT(*) FROM key_request_claims";
  const int64_t before = Count(1, rows);
  for (int i = 0; i < 500; ++i) {
    PushUnprovenClaim(1, NewRequestId("junk"), "admitted");
  }
  EXPECT_EQ(Count(1, rows) - before, 0);
}

// The purpose of claims still holds: an id signed by {1,2} for one approved
// request is refused by node-3 and node-4 for another approved request.
TEST_F(ClaimsAttackTest, AnIdUsedForAnotherRequestIsStillRefused) {
  const v1::SignRequest first = ApprovedPsbt(*cluster_, key_, 15000);
  const absl::Status signed_by_1_2 = SignTogether(*cluster_, 1, 2, first);
  ASSERT_TRUE(signed_by_1_2.ok()) << signed_by_1_2;
  v1::SignRequest second = ApprovedPsbt(*cluster_, key_, 15500);
  second.set_request_id(first.request_id());
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &second).ok());
  for (int node : {3, 4}) {
    const grpc::Status st = StartSignOn(*cluster_, node, second, {3, 4});
    EXPECT_TRUE(RpcError(st, grpc::StatusCode::ALREADY_EXISTS,
                         "was already used for a different request"))
        << "node-" << node << ": " << Describe(st);
  }
}

// A compromised node answers GetRequestStatus with a forged success; the
// gateway returns a success only when the signers agree on valid
// signatures.
TEST_F(ClaimsAttackTest, RequestStatusIsNotTakenFromOneNode) {
  const v1::SignRequest real = ApprovedPsbt(*cluster_, key_, 16000);
  const absl::Status signed_by_1_2 = SignTogether(*cluster_, 1, 2, real);
  ASSERT_TRUE(signed_by_1_2.ok()) << signed_by_1_2;
  v1::NodeInfo info;
  {
    absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
        cluster_->NodeStub(4, kagictl::kGatewayName);
    ASSERT_TRUE(stub.ok());
    grpc::ClientContext ctx;
    ASSERT_TRUE(
        (*stub)->GetNodeInfo(&ctx, v1::GetNodeInfoRequest(), &info).ok());
  }
  const std::string info_file = absl::StrCat(cluster_->dir(), "/node-4.info");
  {
    std::ofstream f(info_file, std::ios::binary);
    f << info.SerializeAsString();
  }
  Compromise({"info=" + info_file, "status=forge"});
  absl::SleepFor(absl::Seconds(1));
  auto status = [](const std::string& id, v1::RequestStatus* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::GetRequestStatusRequest q;
    q.set_request_id(id);
    return cluster_->wallet()->GetRequestStatus(&ctx, q, out);
  };
  v1::RequestStatus never;
  const grpc::Status st = status(NewRequestId("never-sent"), &never);
  EXPECT_NE(never.state(), "succeeded") << Describe(st);
  EXPECT_TRUE(never.signed_psbt().empty());
  v1::RequestStatus signed_status;
  const grpc::Status real_st = status(real.request_id(), &signed_status);
  EXPECT_TRUE(real_st.ok()) << Describe(real_st);
  EXPECT_EQ(signed_status.state(), "succeeded");
  ASSERT_EQ(signed_status.signatures_size(), 1);
  const v1::SignatureResult& sig = signed_status.signatures(0);
  EXPECT_TRUE(SignatureValid(
      key_, sig, sig.digest(),
      std::vector<uint32_t>(sig.path().begin(), sig.path().end())));
  EXPECT_NE(signed_status.signed_psbt(), "FORGED-BY-A-COMPROMISED-NODE");
  Restore();
}

// A request's status is its initiator's: another client (as the gateway
// names it) learns nothing, not even that the id exists; the key asked
// about must be the request's.
TEST_F(ClaimsAttackTest, RequestStatusIsTheInitiatorsOwn) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 17000);
  v1::SignResponse signed_resp;
  const grpc::Status st = Sign(cluster_->wallet(), r, &signed_resp);
  ASSERT_TRUE(st.ok()) << Describe(st);
  auto ask = [&](int node, const std::string& initiator,
                 const std::string& key_id) {
    absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
        cluster_->NodeStub(node, kagictl::kGatewayName);
    EXPECT_TRUE(stub.ok());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::GetRequestStatusRequest q;
    q.set_request_id(r.request_id());
    q.set_initiator(initiator);
    q.set_key_id(key_id);
    v1::RequestStatus out;
    EXPECT_TRUE((*stub)->GetRequestStatus(&ctx, q, &out).ok());
    return out;
  };
  int signers = 0;
  for (int node = 1; node <= 4; ++node) {
    const v1::RequestStatus own = ask(node, "client/client-1", "");
    if (own.state() != "succeeded") continue;
    ++signers;
    EXPECT_EQ(own.key_id(), key_.key_id());
    const v1::RequestStatus other = ask(node, "client/other", "");
    EXPECT_EQ(other.state(), "unknown") << "node-" << node;
    EXPECT_TRUE(other.signatures().empty());
    EXPECT_TRUE(other.signed_psbt().empty());
    EXPECT_EQ(ask(node, "client/client-1", pair_.key_id()).state(), "unknown");
  }
  EXPECT_EQ(signers, 2);
  // Through the gateway, as client-1: the signers agree, it verifies.
  grpc::ClientContext ctx;
  v1::GetRequestStatusRequest q;
  q.set_request_id(r.request_id());
  q.set_key_id(key_.key_id());
  q.set_initiator("client/other");  // replaced by the gateway
  v1::RequestStatus status;
  ASSERT_TRUE(cluster_->wallet()->GetRequestStatus(&ctx, q, &status).ok());
  EXPECT_EQ(status.state(), "succeeded");
  EXPECT_EQ(status.signed_psbt(), signed_resp.signed_psbt());
  EXPECT_EQ(status.confirmed_by_size(), 2);
}

}  // namespace
}  // namespace kagi::integration
