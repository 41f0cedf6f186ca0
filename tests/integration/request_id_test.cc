// Request ids are single-use per cluster, refusals are fast and bounded, and
// a lost answer can be read back: tried on a real cluster of four nodes
// (kagi-node x4 + kagi-gateway, mTLS, SQLite) under the strict demo policy.
//
//   * a request signed by node-1 and node-2 and then sent to node-3 and
//     node-4 is refused by both at once: no second signature, no second
//     velocity reservation (docs/api.md "Request ids");
//   * a member that was down while a request completed learns it from its
//     peers when the request reaches it;
//   * a member killed in its session holds nothing up;
//   * the gateway answers a refusal by one signer at once instead of waiting
//     for the other signer's session to time out;
//   * GetRequestStatus returns the signed PSBT;
//   * refusals are rate-limited per client identity, with one summary record;
//   * a request tampered with after approval in a way that no longer decodes
//     (a false change claim) is PERMISSION_DENIED like any other mismatch.
#include <sqlite3.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/chain/psbt.h"
#include "libs/policy/request_digest.h"
#include "tests/integration/approved_requests.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;

class RequestIdTest : public ClusterSuite<RequestIdTest> {
 public:
  static ClusterConfig Config() { return StrictCluster(KAGI_IT_BASE_PORT, 4); }

 protected:
  static void SetUpTestSuite() {
    ClusterSuite<RequestIdTest>::SetUpTestSuite();
    if (cluster_ == nullptr) return;
    absl::Status made = CreateApprovedKey(
        *cluster_, {"node-1", "node-2", "node-3", "node-4"}, 2, &key_);
    if (made.ok())
      made = CreateApprovedKey(*cluster_, {"node-3", "node-4"}, 2, &pair_);
    if (!made.ok()) setup_error_ = std::string(made.message());
  }

  static grpc::Status DirectSign(
      int node, const v1::SignRequest& r, const std::vector<uint32_t>& signers,
      v1::StartSignResponse* resp = nullptr,
      const std::string& initiator = "client/client-1") {
    return StartSignOn(*cluster_, node, r, signers, resp, initiator);
  }

  // Signs `r` with node-a and node-b (parties a and b of key_) at once.
  static void SignWith(int a, int b, const v1::SignRequest& r) {
    const absl::Status st = SignTogether(*cluster_, a, b, r);
    ASSERT_TRUE(st.ok()) << st;
  }

  static int64_t Count(int node, const std::string& sql) {
    absl::StatusOr<int64_t> n = QueryInt(cluster_->NodeDb(node), sql);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }
  static int64_t Reservations(int node, const std::string& request_id) {
    return Count(node, absl::StrCat("SELECT COUNT(*) FROM velocity WHERE "
                                    "request_id = '",
                                    request_id, "'"));
  }
  // Audit records of node i about `request_id` with `operation`.
  static std::vector<std::string> Audit(int node, const std::string& request_id,
                                        const std::string& operation) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<storage::AuditEntry>> log =
        VerifiedAudit(cluster_->NodeDb(node));
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return out;
    for (const storage::AuditEntry& e : *log) {
      if (e.request_id == request_id && e.operation == operation) {
        out.push_back(e.outcome);
      }
    }
    return out;
  }

  // How many signatures node i recorded for `request_id`.
  static int Signed(int node, const std::string& request_id) {
    int n = 0;
    for (const std::string& outcome : Audit(node, request_id, "sign")) {
      if (outcome == "ok") ++n;
    }
    return n;
  }

  static absl::Status Exec(int node, const std::string& sql) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(cluster_->NodeDb(node).c_str(), &db,
                        SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      return absl::InternalError("open");
    }
    sqlite3_busy_timeout(db, 10000);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    absl::Status out = rc == SQLITE_OK
                           ? absl::OkStatus()
                           : absl::InternalError(err != nullptr ? err : "exec");
    sqlite3_free(err);
    sqlite3_close(db);
    return out;
  }

  static inline v1::KeyInfo key_;   // 2-of-4 on node-1..node-4
  static inline v1::KeyInfo pair_;  // 2-of-2 on node-3, node-4
};

// The case: completed by {1,2}, resent to {3,4}.
TEST_F(RequestIdTest, CompletedRequestIsRefusedByTheRestOfTheCommittee) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 10000);
  SignWith(1, 2, r);
  EXPECT_EQ(Reservations(1, r.request_id()), 1);
  for (int node : {3, 4}) {
    const absl::Time start = absl::Now();
    v1::StartSignResponse resp;
    const grpc::Status st = DirectSign(node, r, {3, 4}, &resp);
    const absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(
        RpcError(st, grpc::StatusCode::ALREADY_EXISTS, "already completed"))
        << "node-" << node << ": " << Describe(st);
    EXPECT_LT(took, absl::Seconds(1)) << "node-" << node;
    EXPECT_EQ(resp.signatures_size(), 0);
    EXPECT_EQ(Reservations(node, r.request_id()), 0) << "node-" << node;
    EXPECT_EQ(Signed(node, r.request_id()), 0) << "node-" << node;
    EXPECT_TRUE(Audit(node, r.request_id(), "sign.admit").empty());
  }
  // The same resend through the gateway, whatever signer set it picks.
  const absl::Time start = absl::Now();
  v1::SignResponse resp;
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), r, &resp),
                       grpc::StatusCode::ALREADY_EXISTS, "already completed"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(resp.signatures_size(), 0);
  for (int node = 1; node <= 4; ++node) {
    EXPECT_EQ(Reservations(node, r.request_id()), node <= 2 ? 1 : 0);
    EXPECT_EQ(Signed(node, r.request_id()), node <= 2 ? 1 : 0)
        << "node-" << node;
  }
}

// node-4 is down while {1,2} sign; when the resend reaches it, it asks its
// peers before admitting and refuses.
TEST_F(RequestIdTest, MemberThatWasDownLearnsTheCompletionFromItsPeers) {
  ASSERT_TRUE(cluster_->StopNode(4, SIGTERM).ok());
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 20000);
  SignWith(1, 2, r);
  ASSERT_TRUE(cluster_->StartNode(4).ok());
  const absl::Time start = absl::Now();
  const grpc::Status st = DirectSign(4, r, {3, 4});
  EXPECT_TRUE(
      RpcError(st, grpc::StatusCode::ALREADY_EXISTS, "already completed"))
      << Describe(st);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(Reservations(4, r.request_id()), 0);
  ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
}

// node-3 admits a request and is killed in its session. Its claim holds
// nothing up (the same approved request in another session is no veto:
// request_claims.h): node-1 and node-2 sign it at once. Back, node-3 claims
// its dead session failed, and learns that the request was completed.
TEST_F(RequestIdTest, MemberKilledInItsSessionHoldsNothingUp) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 25000);
  std::thread lone([&] { DirectSign(3, r, {3, 4}); });  // node-4 never asked
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(cluster_->StopNode(3, SIGKILL).ok());
  lone.join();
  SignWith(1, 2, r);
  ASSERT_TRUE(cluster_->StartNode(3).ok());
  ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
  EXPECT_EQ(Count(3, absl::StrCat("SELECT COUNT(*) FROM key_request_claims "
                                  "WHERE request_id = '",
                                  r.request_id(), "' AND state = 'failed'")),
            1);
  EXPECT_TRUE(RpcError(DirectSign(3, r, {3, 4}),
                       grpc::StatusCode::ALREADY_EXISTS, "already completed"));
}

// One signer refuses (node-4 has banned node-3, so it refuses every session
// with it); the other would wait for the session until its round timeout.
TEST_F(RequestIdTest, RefusalByOneSignerAnswersAtOnce) {
  absl::StatusOr<v1::ListNodesResponse> nodes = ListNodes(cluster_->wallet());
  ASSERT_TRUE(nodes.ok());
  const std::string node3_key = nodes->nodes(2).identity_key();
  ASSERT_EQ(node3_key.size(), 32u);
  const std::string hex = HexEncode(AsBytes(node3_key));
  ASSERT_TRUE(
      Exec(4, absl::StrCat("INSERT INTO bans VALUES (x'", hex, "', 'test', 0)"))
          .ok());
  const v1::SignRequest r = ApprovedPsbt(*cluster_, pair_, 30000);
  const absl::Time start = absl::Now();
  v1::SignResponse resp;
  const grpc::Status st = Sign(cluster_->wallet(), r, &resp);
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(RpcError(st, grpc::StatusCode::FAILED_PRECONDITION, "banned"))
      << Describe(st);
  EXPECT_LT(took, absl::Seconds(1)) << "took " << took;
  ASSERT_TRUE(
      Exec(4, absl::StrCat("DELETE FROM bans WHERE party_key = x'", hex, "'"))
          .ok());
}

TEST_F(RequestIdTest, RequestStatusReturnsTheSignedPsbt) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 40000);
  v1::SignResponse signed_resp;
  ASSERT_TRUE(Sign(cluster_->wallet(), r, &signed_resp).ok());
  ASSERT_FALSE(signed_resp.signed_psbt().empty());
  v1::GetRequestStatusRequest q;
  q.set_request_id(r.request_id());
  v1::RequestStatus status;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  ASSERT_TRUE(cluster_->wallet()->GetRequestStatus(&ctx, q, &status).ok());
  EXPECT_EQ(status.state(), "succeeded");
  EXPECT_EQ(status.signed_psbt(), signed_resp.signed_psbt());
  EXPECT_EQ(status.signatures_size(), signed_resp.signatures_size());
}

// A flood of refused requests from one client certificate: beyond the limit
// the node answers RESOURCE_EXHAUSTED without a record per refusal, and
// writes one summary record; another client is not limited.
TEST_F(RequestIdTest, RefusalsAreRateLimitedPerClient) {
  const v1::SignRequest base = ApprovedPsbt(*cluster_, key_, 1000);
  std::vector<std::string> ids;
  int exhausted = 0;
  int refused = 0;
  const absl::Time start = absl::Now();
  for (int i = 0; i < 150; ++i) {
    v1::SignRequest r = base;
    r.set_request_id(NewRequestId("flood"));
    r.clear_approvals();  // refused by policy: needs approvals
    ids.push_back(r.request_id());
    const grpc::Status st = DirectSign(1, r, {1, 2});
    if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      EXPECT_THAT(st.error_message(), HasSubstr("client/client-1"));
    } else if (st.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      ++refused;
    } else {
      ADD_FAILURE() << Describe(st);
    }
  }
  const absl::Duration took = absl::Now() - start;
  EXPECT_GT(exhausted, 0) << "took " << took;
  int64_t rows = 0;
  for (const std::string& id : ids) {
    rows += static_cast<int64_t>(Audit(1, id, "sign").size());
  }
  EXPECT_EQ(rows, refused);
  // 20 at once, then 10 per second.
  EXPECT_LE(refused, 20 + 10 * absl::ToDoubleSeconds(took) + 2);
  // Another client's refusals are its own.
  v1::SignRequest other = base;
  other.set_request_id(NewRequestId("other"));
  other.clear_approvals();
  EXPECT_TRUE(RpcError(DirectSign(1, other, {1, 2}, nullptr, "client/other"),
                       grpc::StatusCode::PERMISSION_DENIED, "needs"));
  // Once the client is back under the limit, the episode is summed up in one
  // record.
  absl::SleepFor(absl::Milliseconds(2500));
  v1::SignRequest later = base;
  later.set_request_id(NewRequestId("later"));
  later.clear_approvals();
  EXPECT_TRUE(RpcError(DirectSign(1, later, {1, 2}),
                       grpc::StatusCode::PERMISSION_DENIED, "needs"));
  absl::StatusOr<std::vector<storage::AuditEntry>> log =
      VerifiedAudit(cluster_->NodeDb(1));
  ASSERT_TRUE(log.ok());
  std::vector<std::string> summaries;
  for (const storage::AuditEntry& e : *log) {
    if (e.operation == "refusals.rate_limited") summaries.push_back(e.outcome);
  }
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_THAT(summaries[0], HasSubstr("client/client-1"));
  EXPECT_THAT(summaries[0], HasSubstr(absl::StrCat(exhausted, " requests")));
}

// Approved, then given a false change claim (the change output's derivation
// names another path): the request no longer decodes, and it is not the one
// that was approved: PERMISSION_DENIED, from every node.
TEST_F(RequestIdTest, FalseChangeClaimAfterApprovalIsPermissionDenied) {
  const v1::SignRequest approved = ApprovedPsbt(*cluster_, key_, 50000);
  absl::StatusOr<chain::Psbt> psbt =
      chain::DecodePsbt(AsBytes(approved.payload().bitcoin_psbt().psbt()));
  ASSERT_TRUE(psbt.ok());
  ASSERT_EQ(psbt->outputs.size(), 2u);
  ASSERT_EQ(psbt->outputs[1].bip32_derivations.size(), 1u);
  psbt->outputs[1].bip32_derivations[0].path = {1, 5};
  const Bytes tampered_bytes = chain::EncodePsbt(*psbt);
  v1::SignRequest tampered = approved;
  tampered.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
      std::string(tampered_bytes.begin(), tampered_bytes.end()));
  for (int node = 1; node <= 4; ++node) {
    const grpc::Status st = DirectSign(
        node, tampered, {1, node == 1 ? 2u : static_cast<uint32_t>(node)});
    EXPECT_TRUE(RpcError(st, grpc::StatusCode::PERMISSION_DENIED,
                         "not the one that was approved"))
        << "node-" << node << ": " << Describe(st);
  }
  v1::SignResponse resp;
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), tampered, &resp),
                       grpc::StatusCode::PERMISSION_DENIED, "approved"));
}

}  // namespace
}  // namespace kagi::integration
