// Key administration under attack, tried on a real cluster (3 kagi-node
// processes + kagi-gateway, mTLS, SQLite) whose policy requires the admin
// quorum (1 of security: alice) and lists kagictl's client as the only admin
// initiator. The attacker holds the gateway's certificate and an approved
// refresh; every node must refuse to turn it into anything else.
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/status_macros.h"
#include "libs/policy/request_digest.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;

constexpr char kInitiator[] = "client/client-1";

class AdminTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterConfig config;
    config.base_port = KAGI_IT_BASE_PORT;
    config.allow_raw_digest = true;  // signing checks without approvals
    config.admin_without_approvals = false;
    absl::StatusOr<std::unique_ptr<Cluster>> c = Cluster::Start(config);
    if (!c.ok()) {
      setup_error_ = std::string(c.status().message());
      return;
    }
    cluster_ = c->release();
    absl::StatusOr<v1::ListNodesResponse> nodes = ListNodes(cluster_->wallet());
    if (!nodes.ok()) {
      setup_error_ = std::string(nodes.status().message());
      return;
    }
    nodes_ = *nodes;
    absl::Status st = Create({"node-1", "node-2", "node-3"}, &key3_);
    if (st.ok()) st = Create({"node-1", "node-2"}, &key2_);
    if (!st.ok()) setup_error_ = std::string(st.message());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static uint64_t Expiry() {
    return static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300);
  }
  static absl::StatusOr<v1::Approval> Alice(const policy::AdminChange& c) {
    return kagictl::Approve("alice",
                            kagictl::ApproverKeyPath(cluster_->dir(), "alice"),
                            policy::AdminDigest(c));
  }
  // Create: a 2-of-|nodes| key, approved by alice, through the gateway.
  static absl::Status Create(const std::vector<std::string>& nodes,
                             v1::KeyInfo* out) {
    v1::CreateKeyRequest req;
    req.set_request_id(NewRequestId("create"));
    req.set_threshold(2);
    for (const std::string& n : nodes) req.add_nodes(n);
    for (const std::string& n : TestNetworks()) req.add_networks(n);
    req.set_expiry_unix_seconds(Expiry());
    KAGI_ASSIGN_OR_RETURN(policy::AdminChange change,
                          kagictl::CreateKeyChange(&req, nodes_));
    KAGI_ASSIGN_OR_RETURN(*req.add_approvals(), Alice(change));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    grpc::Status st = cluster_->wallet()->CreateKey(&ctx, req, out);
    if (!st.ok()) return absl::InternalError("CreateKey: " + Describe(st));
    return absl::OkStatus();
  }
  // ApprovedRefresh: a refresh of `key` (dealers 1..t) that alice approved.
  static v1::RefreshRequest ApprovedRefresh(const v1::KeyInfo& key) {
    v1::RefreshRequest req;
    req.set_request_id(NewRequestId("refresh"));
    req.set_key_id(key.key_id());
    req.set_expiry_unix_seconds(Expiry());
    absl::StatusOr<policy::AdminChange> change =
        kagictl::RefreshChange(&req, key, nodes_);
    EXPECT_TRUE(change.ok()) << change.status();
    absl::StatusOr<v1::Approval> a = Alice(*change);
    EXPECT_TRUE(a.ok()) << a.status();
    *req.add_approvals() = *a;
    return req;
  }
  static std::string IdentityOf(const std::string& node) {
    for (const v1::NodeEntry& e : nodes_.nodes()) {
      if (e.name() == node) return e.identity_key();
    }
    ADD_FAILURE() << "no node " << node;
    return "";
  }
  // AsGateway: the StartReshare a gateway would send for `refresh`,
  // rewritten by an attacker holding the gateway's certificate.
  static v1::StartReshareRequest AsGateway(const v1::KeyInfo& key,
                                           const v1::RefreshRequest& refresh) {
    v1::StartReshareRequest r;
    r.set_request_id(refresh.request_id());
    r.set_key_id(key.key_id());
    r.set_epoch(key.epoch());
    for (uint32_t id : refresh.dealers()) {
      r.add_dealers(id);
      r.add_dealer_identity_keys(
          key.parties(static_cast<int>(id - 1)).identity_key());
    }
    for (const v1::KeyParty& p : key.parties()) {
      r.add_old_party_identity_keys(p.identity_key());
      r.add_new_party_identity_keys(p.identity_key());
    }
    r.set_new_threshold(key.threshold());
    r.set_initiator_nonce(std::string(32, '\x05'));
    r.set_expiry_unix_seconds(refresh.expiry_unix_seconds());
    *r.mutable_approvals() = refresh.approvals();
    r.set_initiator(kInitiator);
    r.set_operation("refresh");
    return r;
  }
  static grpc::Status DirectReshare(int node,
                                    const v1::StartReshareRequest& r) {
    absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
        cluster_->NodeStub(node, kagictl::kGatewayName);
    if (!stub.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "stub");
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::KeyInfo out;
    return (*stub)->StartReshare(&ctx, r, &out);
  }
  static uint64_t EpochOn(int node, const v1::KeyInfo& key) {
    v1::KeyInfo out;
    grpc::Status st = cluster_->NodeGetKey(node, key.key_id(), &out);
    EXPECT_TRUE(st.ok()) << node << ": " << Describe(st);
    return out.epoch();
  }
  // The audit outcomes of node `node` about `request_id`.
  static std::string AuditOf(int node, const std::string& request_id) {
    absl::StatusOr<std::vector<storage::AuditEntry>> log =
        VerifiedAudit(cluster_->NodeDb(node));
    EXPECT_TRUE(log.ok()) << log.status();
    std::string out;
    if (!log.ok()) return out;
    for (const storage::AuditEntry& e : *log) {
      if (e.request_id == request_id) {
        absl::StrAppend(&out, e.operation, ": ", e.outcome, "\n");
      }
    }
    return out;
  }
  static std::string GetRequestState(const std::string& id) {
    v1::GetRequestStatusRequest get;
    get.set_request_id(id);
    v1::RequestStatus out;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    grpc::Status st = cluster_->wallet()->GetRequestStatus(&ctx, get, &out);
    EXPECT_TRUE(st.ok()) << Describe(st);
    return out.state();
  }
  static void ExpectStillSigns(const v1::KeyInfo& key) {
    const v1::SignRequest r = SimpleSignRequest(key.key_id());
    v1::SignResponse resp;
    grpc::Status st = Sign(cluster_->wallet(), r, &resp);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_TRUE(SignaturesValid(key, r, resp.signatures()));
  }

  static Cluster* cluster_;
  static v1::ListNodesResponse nodes_;
  static v1::KeyInfo key3_;  // 2-of-3 on node-1..3
  static v1::KeyInfo key2_;  // 2-of-2 on node-1, node-2
  static std::string setup_error_;
};

Cluster* AdminTest::cluster_ = nullptr;
v1::ListNodesResponse AdminTest::nodes_;
v1::KeyInfo AdminTest::key3_;
v1::KeyInfo AdminTest::key2_;
std::string AdminTest::setup_error_;

// The DMM attack on key administration: alice approved a refresh; the
// attacker (the gateway's certificate) sends it to the nodes as something
// else. Every node it reaches refuses, audits why, and the key is unchanged.
TEST_F(AdminTest, ApprovedRefreshRewrittenInTransitIsRefusedByEveryNode) {
  struct Attack {
    std::string name;
    const v1::KeyInfo* key;
    std::function<void(v1::StartReshareRequest&)> rewrite;
    std::vector<int> targets;
  };
  const std::string k1 = IdentityOf("node-1"), k2 = IdentityOf("node-2"),
                    k3 = IdentityOf("node-3");
  const std::vector<Attack> attacks = {
      {"drop node-3 (as a refresh)",
       &key3_,
       [&](v1::StartReshareRequest& r) {
         r.clear_new_party_identity_keys();
         r.add_new_party_identity_keys(k1);
         r.add_new_party_identity_keys(k2);
       },
       {1, 2}},
      {"drop node-3 (as a reshare)",
       &key3_,
       [&](v1::StartReshareRequest& r) {
         r.set_operation("reshare");
         r.clear_new_party_identity_keys();
         r.add_new_party_identity_keys(k1);
         r.add_new_party_identity_keys(k2);
       },
       {1, 2}},
      {"3-of-3",
       &key3_,
       [](v1::StartReshareRequest& r) { r.set_new_threshold(3); },
       {1, 2, 3}},
      {"3-of-3 (as a reshare)",
       &key3_,
       [](v1::StartReshareRequest& r) {
         r.set_operation("reshare");
         r.set_new_threshold(3);
       },
       {1, 2, 3}},
      {"other dealers",
       &key3_,
       [&](v1::StartReshareRequest& r) {
         r.clear_dealers();
         r.clear_dealer_identity_keys();
         r.add_dealers(2);
         r.add_dealers(3);
         r.add_dealer_identity_keys(k2);
         r.add_dealer_identity_keys(k3);
       },
       {1, 2, 3}},
      {"add node-3 to a 2-of-2 (as a reshare)",
       &key2_,
       [&](v1::StartReshareRequest& r) {
         r.set_operation("reshare");
         r.add_new_party_identity_keys(k3);
       },
       {1, 2, 3}},
      {"add node-3 to a 2-of-2 (as a refresh)",
       &key2_,
       [&](v1::StartReshareRequest& r) { r.add_new_party_identity_keys(k3); },
       {1, 2, 3}},
  };
  for (const Attack& attack : attacks) {
    SCOPED_TRACE(attack.name);
    const v1::RefreshRequest approved = ApprovedRefresh(*attack.key);
    v1::StartReshareRequest forged = AsGateway(*attack.key, approved);
    attack.rewrite(forged);
    for (int node : attack.targets) {
      grpc::Status st = DirectReshare(node, forged);
      EXPECT_FALSE(st.ok()) << "node-" << node << " accepted: " << attack.name;
      EXPECT_TRUE(st.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                  st.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                  st.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
          << Describe(st);
      EXPECT_THAT(AuditOf(node, approved.request_id()), HasSubstr("refused"))
          << "node-" << node;
    }
    for (int node = 1; node <= attack.key->parties_size(); ++node) {
      EXPECT_EQ(EpochOn(node, *attack.key), attack.key->epoch())
          << "node-" << node;
    }
  }
  ExpectStillSigns(key3_);
  ExpectStillSigns(key2_);
}

// The same through the gateway: a reshare or a refresh with other dealers
// carrying the approval of the refresh is refused, and the approved refresh
// itself then goes through (new epoch, same public key, still signs).
TEST_F(AdminTest, ThroughTheGatewayOnlyTheApprovedRefreshRuns) {
  const v1::RefreshRequest approved = ApprovedRefresh(key3_);
  v1::ReshareRequest reshare;
  reshare.set_request_id(approved.request_id());
  reshare.set_key_id(key3_.key_id());
  reshare.set_new_threshold(2);
  reshare.add_new_nodes("node-1");
  reshare.add_new_nodes("node-2");
  reshare.set_expiry_unix_seconds(approved.expiry_unix_seconds());
  reshare.add_dealers(1);
  reshare.add_dealers(2);
  *reshare.mutable_approvals() = approved.approvals();
  grpc::ClientContext c1;
  c1.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  v1::KeyInfo out;
  EXPECT_TRUE(RpcError(cluster_->wallet()->Reshare(&c1, reshare, &out),
                       grpc::StatusCode::PERMISSION_DENIED,
                       "does not verify over the request digest"));

  v1::RefreshRequest other_dealers = approved;
  other_dealers.clear_dealers();
  other_dealers.add_dealers(2);
  other_dealers.add_dealers(3);
  grpc::ClientContext c2;
  c2.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  EXPECT_TRUE(RpcError(cluster_->wallet()->Refresh(&c2, other_dealers, &out),
                       grpc::StatusCode::PERMISSION_DENIED,
                       "does not verify over the request digest"));
  for (int node = 1; node <= 3; ++node) {
    EXPECT_EQ(EpochOn(node, key3_), key3_.epoch());
  }

  grpc::ClientContext c3;
  c3.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
  grpc::Status st = cluster_->wallet()->Refresh(&c3, approved, &out);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(out.epoch(), key3_.epoch() + 1);
  EXPECT_EQ(out.public_key(), key3_.public_key());
  key3_ = out;
  for (int node = 1; node <= 3; ++node)
    EXPECT_EQ(EpochOn(node, key3_), key3_.epoch());
  ExpectStillSigns(key3_);
}

std::string RunKagictl(const std::string& args, const std::string& dir) {
  return RunCommand(absl::StrCat(KAGICTL_PATH, " ", args, " --cluster ", dir));
}

// The commands docs/rotation.md gives approvers: --print-digest shows the
// change, every member's identity key and the digest, and sends nothing;
// the digest is the one this test computes for the same change.
TEST_F(AdminTest, KagictlPrintsTheAdminDigestAndSendsNothing) {
  const std::string key_hex = absl::BytesToHexString(key3_.key_id());
  const std::string refresh = RunKagictl(
      absl::StrCat("key refresh ", key_hex,
                   " --print-digest --request-id doc-r1 --expiry 4000000000"),
      cluster_->dir());
  v1::RefreshRequest req;
  req.set_request_id("doc-r1");
  req.set_key_id(key3_.key_id());
  req.set_expiry_unix_seconds(4000000000);
  absl::StatusOr<policy::AdminChange> change =
      kagictl::RefreshChange(&req, key3_, nodes_);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_THAT(refresh,
              HasSubstr(absl::StrCat("digest     ",
                                     HexEncode(policy::AdminDigest(*change)))));
  EXPECT_THAT(refresh, HasSubstr("change     refresh of key"));
  EXPECT_THAT(refresh, HasSubstr(absl::StrCat(
                           "member     node-3 identity ",
                           absl::BytesToHexString(IdentityOf("node-3")))));
  EXPECT_THAT(refresh, ::testing::Not(HasSubstr("key id")));  // nothing sent

  const std::string reshare = RunKagictl(
      absl::StrCat("key reshare ", key_hex,
                   " --threshold 2 --nodes node-1,node-2 --dealers 1,2 "
                   "--print-digest --request-id doc-r2 --expiry 4000000000"),
      cluster_->dir());
  EXPECT_THAT(reshare, HasSubstr("-> 2-of-2 [node-1,node-2], dealers 1,2"));
  for (int node = 1; node <= 3; ++node) {
    EXPECT_EQ(EpochOn(node, key3_), key3_.epoch());
  }
  EXPECT_EQ(GetRequestState("doc-r1"), "unknown");
}

// Only the policy's admin initiators may submit admin operations at all,
// whatever approvals they carry.
TEST_F(AdminTest, AdminRequestFromAnotherInitiatorIsRefused) {
  const v1::RefreshRequest approved = ApprovedRefresh(key2_);
  v1::StartReshareRequest r = AsGateway(key2_, approved);
  r.set_initiator("client/backend");
  for (int node = 1; node <= 2; ++node) {
    EXPECT_TRUE(RpcError(DirectReshare(node, r),
                         grpc::StatusCode::PERMISSION_DENIED,
                         "'client/backend' is not in admin.initiators"));
    EXPECT_THAT(AuditOf(node, approved.request_id()),
                HasSubstr("not in admin.initiators"));
  }
  EXPECT_EQ(EpochOn(1, key2_), key2_.epoch());
}

}  // namespace
}  // namespace kagi::integration
