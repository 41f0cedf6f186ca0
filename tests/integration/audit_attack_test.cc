// The signed audit log under the second red team's attacks (branch wt-red1),
// on a real cluster (3 kagi-node processes + kagi-gateway, mTLS, SQLite):
//   * records before an operator override edited in place afterwards;
//   * a compromised gateway forging `kagictl audit verify` lines through the
//     request_id of a refused request;
//   * a compromised node over its quota making a peer verify audit heads.
#include <grpcpp/client_context.h>
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/protocol/common/envelope.h"
#include "libs/storage/audit.h"
#include "libs/transport/identity_key.h"
#include "tests/integration/audit_suite.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class AuditAttackTest : public AuditSuite<AuditAttackTest> {
 protected:
  // The seq the node's refusal to start offers to accept.
  static std::string OfferedOverride(int i) {
    const std::string text = NodeLog(i);
    const std::string flag = "--accept-audit-break-at ";
    const size_t at = text.rfind(flag);
    if (at == std::string::npos) return "";
    const size_t from = at + flag.size();
    return text.substr(from, text.find_first_not_of("0123456789", from) - from);
  }
};

// A compromised gateway chooses the request_id of a request the node
// refuses, and the refusal record keeps it: kagictl prints it escaped, so it
// cannot add report lines or terminal escapes.
TEST_F(AuditAttackTest, RequestIdOfARefusalCannotForgeReportLines) {
  auto node = cluster_->NodeStub(1, "gateway-1");
  ASSERT_TRUE(node.ok());
  v1::StartSignRequest req;
  req.mutable_request()->set_request_id(
      "x\n  #1 sign req-42 ok\naudit chain OK\n\x1b[31mfake\x1b[0m");
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::StartSignResponse resp;
  ASSERT_FALSE((*node)->StartSign(&ctx, req, &resp).ok());

  for (const std::string& args :
       {absl::StrCat("audit verify --db ", cluster_->NodeDb(1), " --node-key ",
                     NodeKeyHex(1)),
        absl::StrCat("audit show --db ", cluster_->NodeDb(1))}) {
    const std::string out = Kagictl(args);
    EXPECT_THAT(out, HasSubstr("exit=0")) << out;
    EXPECT_THAT(out, Not(HasSubstr("\n  #1 sign req-42 ok\n"))) << out;
    EXPECT_THAT(out, Not(HasSubstr("\naudit chain OK\n"))) << out;
    EXPECT_THAT(out, Not(HasSubstr("\x1b"))) << out;
    EXPECT_THAT(out, HasSubstr("x\\x0a  #1 sign req-42 ok\\x0a")) << out;
  }
}

// Once the log held an override, every record before it could be edited in
// place (stored hash left alone): the node started and `audit verify
// --cluster` said OK. The override pins what it accepted, and the peers'
// anchors are compared with hashes recomputed from the records.
TEST_F(AuditAttackTest, RecordsBeforeAnOverrideCannotBeEditedLater) {
  v1::KeyInfo key;
  grpc::Status created = CreateKey(cluster_->wallet(), 3, &key);
  ASSERT_TRUE(created.ok()) << Describe(created);
  Withdraw(key);
  Withdraw(key);
  const std::string verify_cluster =
      absl::StrCat("audit verify --cluster ", cluster_->dir());

  // A legitimate override: record seq 1 damaged, investigated, accepted.
  ASSERT_TRUE(cluster_->StopNode(1, SIGTERM).ok());
  Sql(1,
      "DROP TRIGGER IF EXISTS audit_no_update; UPDATE audit SET outcome = "
      "outcome || ' ' WHERE seq = 1");
  EXPECT_FALSE(cluster_->StartNode(1).ok());
  EXPECT_EQ(OfferedOverride(1), "1");
  ASSERT_TRUE(cluster_->StartNode(1, "", {"--accept-audit-break-at", "1"}).ok())
      << NodeLog(1);
  ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
  Withdraw(key);  // life goes on after the override
  {
    const std::string out = Kagictl(verify_cluster);
    EXPECT_THAT(out, HasSubstr("cluster audit OK")) << out;
    EXPECT_THAT(out, HasSubstr("exit=0")) << out;
  }

  // Later, node-1 stopped and the signing records between the accepted
  // break and the override edited to look refused; only text columns change.
  ASSERT_TRUE(cluster_->StopNode(1, SIGTERM).ok());
  uint64_t override_seq = 0;
  for (const storage::AuditEntry& e : Log(1)) {
    if (e.operation == storage::kAuditOverrideOperation) override_seq = e.seq;
  }
  ASSERT_GT(override_seq, 1u);
  Sql(1, absl::StrCat(
             "DROP TRIGGER IF EXISTS audit_no_update; UPDATE audit SET "
             "outcome = 'refused: PERMISSION_DENIED', "
             "signature = x'', reservations = '' WHERE seq > 1 AND seq < ",
             override_seq, " AND operation IN ('sign', 'sign.admit')"));

  // The node refuses to start, naming the override.
  EXPECT_FALSE(cluster_->StartNode(1).ok());
  EXPECT_THAT(NodeLog(1), HasSubstr("differ from those it accepted"));
  EXPECT_EQ(OfferedOverride(1), absl::StrCat(override_seq));
  // kagictl names it too, and the peers' anchors of the edited records no
  // longer match their content.
  {
    const std::string out = Kagictl(verify_cluster);
    EXPECT_THAT(out, HasSubstr("exit=1")) << out;
    EXPECT_THAT(out, HasSubstr(absl::StrCat("seq ", override_seq,
                                            ": the records before this "
                                            "operator override differ")))
        << out;
    EXPECT_THAT(out, HasSubstr("ANCHOR MISMATCH")) << out;
    EXPECT_THAT(out, HasSubstr("differs from it (rewritten)")) << out;
  }
}

// A compromised node-3 over its quota of waiting sessions on node-1: the
// quota answers before any signature work on the audit head it attaches, and
// a head it signs itself is not kept with a refused envelope.
TEST(AuditPeerTest, OverQuotaPeerGetsNoAuditHeadVerification) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT;
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  ASSERT_TRUE(cluster->StopNode(3, SIGTERM).ok());
  const std::string pem =
      absl::StrCat(kagictl::NodeDir(cluster->dir(), 3), "/identity.pem");
  absl::StatusOr<crypto::Ed25519PrivateKey> key =
      transport::LoadIdentityKey(pem);
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<crypto::Ed25519PrivateKey> signer_key =
      transport::LoadIdentityKey(pem);
  ASSERT_TRUE(signer_key.ok());
  protocol::Ed25519EnvelopeSigner signer(3, *std::move(signer_key));
  auto peer = cluster->PeerStub(1, "node-3");
  ASSERT_TRUE(peer.ok());
  OsRng rng;

  auto deliver = [&](const v1::AuditHead* head) {
    const std::array<uint8_t, 32> sid0 = rng.Bytes<32>();
    protocol::EnvelopeHeader h;
    h.op = protocol::Op::kSign;
    h.session = sid0;
    h.round = 1;
    h.from = 3;
    h.to = protocol::kBroadcast;
    const Bytes wire = protocol::EncodeEnvelope(
        protocol::SignEnvelope(signer, h, Bytes(16, 0x33)));
    v1::DeliverRequest req;
    req.set_sid0(std::string(sid0.begin(), sid0.end()));
    req.set_envelope(std::string(wire.begin(), wire.end()));
    if (head != nullptr) *req.mutable_audit_head() = *head;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::DeliverResponse resp;
    return (*peer)->Deliver(&ctx, req, &resp);
  };

  grpc::Status st;
  for (int sent = 0; sent < 5000 && st.ok(); ++sent) st = deliver(nullptr);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(st);

  // A bogus head over quota: the quota answers, not the head's signature.
  v1::AuditHead bogus;
  bogus.set_seq(1);
  bogus.set_hash(std::string(32, '\x01'));
  bogus.set_signature(std::string(64, '\x02'));
  st = deliver(&bogus);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(st);
  EXPECT_FALSE(absl::StrContains(Describe(st), "audit_head")) << Describe(st);

  // A head node-3 signs itself, with a refused envelope.
  storage::AuditHash hash{};
  hash.fill(0x42);
  const uint64_t seq = ~uint64_t{0};
  const auto sig =
      key->Sign(storage::AuditHeadDigest(key->PublicKey(), seq, hash));
  v1::AuditHead forged;
  forged.set_seq(seq);
  forged.set_hash(std::string(hash.begin(), hash.end()));
  forged.set_signature(std::string(sig.begin(), sig.end()));
  st = deliver(&forged);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(st);
}

}  // namespace
}  // namespace kagi::integration
