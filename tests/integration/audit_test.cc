// The audit log under the red team's attack, on a real cluster (3 kagi-node
// processes + kagi-gateway, mTLS, SQLite): with a node stopped, its records
// are rewritten with sqlite3, every hash recomputed, its tail cut and its
// velocity rows wiped. The node's own start-up check finds it (signed chain
// heads, velocity rows against the signed admissions) and refuses to serve;
// `kagictl audit verify` finds it from the files, and `--cluster` finds even
// a clean tail cut through the signed heads the other nodes hold.
#include <sqlite3.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/policy/request_digest.h"
#include "libs/storage/sqlite_store.h"
#include "tests/integration/audit_suite.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class AuditTest : public AuditSuite<AuditTest> {};

TEST_F(AuditTest, RewrittenLogIsFoundAtStartUpAndByClusterVerify) {
  v1::KeyInfo key;
  grpc::Status created = CreateKey(cluster_->wallet(), 3, &key);
  ASSERT_TRUE(created.ok()) << Describe(created);
  for (int k = 0; k < 3; ++k) Withdraw(key);
  const std::string verify_cluster =
      absl::StrCat("audit verify --cluster ", cluster_->dir());
  {
    const std::string out = Kagictl(verify_cluster);
    EXPECT_THAT(out, HasSubstr("cluster audit OK: 3 nodes")) << out;
    EXPECT_THAT(out, HasSubstr("exit=0"));
    EXPECT_THAT(out, Not(HasSubstr(" 0 anchors checked")));
  }

  // 1. A clean tail cut on node-3 (its signed prefix stays valid, and its
  // velocity rows go with the records): the others' anchors show it.
  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  const uint64_t node3_end = Log(3).back().seq;
  CutTail(3, 4);
  Sql(3,
      "DELETE FROM velocity WHERE request_id NOT IN (SELECT request_id "
      "FROM audit)");
  {
    const std::string out = Kagictl(verify_cluster);
    EXPECT_THAT(out, HasSubstr("exit=1")) << out;
    EXPECT_THAT(out, HasSubstr(absl::StrCat("node-3's log ends at seq ",
                                            node3_end - 4)))
        << out;
    EXPECT_THAT(out, HasSubstr("records were removed from its end")) << out;
  }

  // 2. The red team's rewrite on node-2: the first admission's outcome and
  // reservation rewritten, every later hash recomputed, the tail cut and the
  // velocity rows wiped.
  ASSERT_TRUE(cluster_->StopNode(2, SIGTERM).ok());
  uint64_t admit_seq = 0;
  for (const storage::AuditEntry& e : Log(2)) {
    if (e.operation == "sign.admit" && !e.reservations.empty()) {
      admit_seq = e.seq;
      break;
    }
  }
  ASSERT_GT(admit_seq, 1u);
  Rewrite(2, admit_seq, [](storage::AuditEntry& e) {
    e.outcome = "refused: PERMISSION_DENIED: no rule allows it";
    e.reservations.clear();
  });
  CutTail(2, 3);
  Sql(2, "DELETE FROM velocity");
  ASSERT_TRUE(storage::VerifyAuditChain(Log(2)).ok());  // hashes recomputed

  // The node refuses to start, naming the first rewritten record.
  const std::string seq_text = absl::StrCat("seq ", admit_seq, ":");
  EXPECT_FALSE(cluster_->StartNode(2).ok());
  EXPECT_THAT(NodeLog(2), HasSubstr("refuses to serve: its audit log does not "
                                    "verify"));
  EXPECT_THAT(NodeLog(2), HasSubstr(seq_text));
  EXPECT_THAT(NodeLog(2),
              HasSubstr(absl::StrCat("--accept-audit-break-at ", admit_seq)));
  {
    const std::string out =
        Kagictl(absl::StrCat("audit verify --db ", cluster_->NodeDb(2),
                             " --node-key ", NodeKeyHex(2)));
    EXPECT_THAT(out, HasSubstr("exit=1")) << out;
    EXPECT_THAT(out, HasSubstr(seq_text)) << out;
    EXPECT_THAT(out, HasSubstr("head signature")) << out;
  }
  {
    const std::string out = Kagictl(verify_cluster);
    EXPECT_THAT(out, HasSubstr("exit=1")) << out;
    EXPECT_THAT(out, HasSubstr(absl::StrCat("node-2: "))) << out;
    EXPECT_THAT(out, HasSubstr(seq_text)) << out;
  }

  // An override that names another seq is refused; the exact one starts the
  // node, and the decision is in its signed log.
  EXPECT_FALSE(
      cluster_
          ->StartNode(2, "",
                      {"--accept-audit-break-at", absl::StrCat(admit_seq + 1)})
          .ok());
  ASSERT_TRUE(
      cluster_
          ->StartNode(2, "",
                      {"--accept-audit-break-at", absl::StrCat(admit_seq)})
          .ok());
  const storage::AuditEntry last = Log(2).back();
  EXPECT_EQ(last.operation, "audit.override");
  EXPECT_THAT(last.outcome, HasSubstr(seq_text));
  // Once accepted, the break does not stop the next start.
  ASSERT_TRUE(cluster_->StopNode(2, SIGTERM).ok());
  ASSERT_TRUE(cluster_->StartNode(2).ok()) << NodeLog(2);
  {
    const std::string out =
        Kagictl(absl::StrCat("audit verify --db ", cluster_->NodeDb(2),
                             " --node-key ", NodeKeyHex(2)));
    EXPECT_THAT(out, HasSubstr("exit=0")) << out;
    EXPECT_THAT(out, HasSubstr("accepted by an operator override")) << out;
  }
  // 3. Only the velocity rows wiped (node-1): the signed admissions show it.
  ASSERT_TRUE(cluster_->StopNode(1, SIGTERM).ok());
  const std::vector<storage::VelocityRow> rows =
      *(*storage::SqliteStore::OpenReadOnly(cluster_->NodeDb(1)))
           ->ReadVelocity();
  ASSERT_FALSE(rows.empty());
  Sql(1, "DELETE FROM velocity");
  EXPECT_FALSE(cluster_->StartNode(1).ok());
  EXPECT_THAT(NodeLog(1), HasSubstr("missing from the velocity table"));
  // The break names the admission's record, so the operator can override
  // it; the node then rebuilds the rows from its signed records.
  const std::string text = NodeLog(1);
  const std::string flag = "--accept-audit-break-at ";
  const size_t at = text.rfind(flag);
  ASSERT_NE(at, std::string::npos) << text;
  const std::string velocity_seq = text.substr(
      at + flag.size(), text.find_first_not_of("0123456789", at + flag.size()) -
                            (at + flag.size()));
  ASSERT_TRUE(
      cluster_->StartNode(1, "", {"--accept-audit-break-at", velocity_seq})
          .ok())
      << NodeLog(1);
  EXPECT_THAT(Log(1).back().outcome,
              HasSubstr("velocity and ban rows rebuilt from the signed"));
  EXPECT_EQ((*(*storage::SqliteStore::OpenReadOnly(cluster_->NodeDb(1)))
                  ->ReadVelocity())
                .size(),
            rows.size());

  // The peers still hold node-2's signed heads of the rewritten records.
  {
    const std::string out = Kagictl(verify_cluster);
    EXPECT_THAT(out, HasSubstr("exit=1")) << out;
    EXPECT_THAT(out, HasSubstr("node-2: ")) << out;
    EXPECT_THAT(out, HasSubstr("ANCHOR MISMATCH")) << out;
  }
}

// §8: the KEK and the shares it seals. A wrong but well-formed KEK is found
// at start-up, not at the first signing; one share that does not open fails
// only its own key in ListKeys; the key-creation record names the real key.
class KekTest : public ClusterSuite<KekTest> {
 public:
  static ClusterConfig Config() {
    ClusterConfig c;
    c.base_port = KAGI_IT_BASE_PORT;
    return c;
  }
};

TEST_F(KekTest, KeyCreationRecordNamesTheRealKeyId) {
  v1::KeyInfo key;
  grpc::Status created = CreateKey(cluster_->wallet(), 2, &key);
  ASSERT_TRUE(created.ok()) << Describe(created);
  absl::StatusOr<std::vector<storage::AuditEntry>> log =
      VerifiedAudit(cluster_->NodeDb(1));
  ASSERT_TRUE(log.ok()) << log.status();
  const storage::AuditEntry* dkg = nullptr;
  for (const storage::AuditEntry& e : *log) {
    if (e.operation == "dkg" && e.outcome == "ok") dkg = &e;
  }
  ASSERT_NE(dkg, nullptr);
  EXPECT_THAT(dkg->parties, HasSubstr(absl::StrCat(
                                "key ", HexEncode(AsBytes(key.key_id())))));
}

TEST_F(KekTest, OneShareThatDoesNotOpenFailsOnlyItsOwnKey) {
  v1::KeyInfo good, bad;
  ASSERT_TRUE(CreateKey(cluster_->wallet(), 2, &good).ok());
  ASSERT_TRUE(CreateKey(cluster_->wallet(), 2, &bad).ok());
  ASSERT_TRUE(cluster_->StopNode(1, SIGTERM).ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(cluster_->NodeDb(1).c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db,
                     absl::StrCat("UPDATE shares SET sealed = "
                                  "zeroblob(length(sealed)) WHERE key_id = x'",
                                  HexEncode(AsBytes(bad.key_id())),
                                  "' AND state = 'ACTIVE'")
                         .c_str(),
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  ASSERT_TRUE(cluster_->StartNode(1).ok());
  absl::StatusOr<std::unique_ptr<v1::Node::Stub>> node =
      cluster_->NodeStub(1, "gateway-1");
  ASSERT_TRUE(node.ok());
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::ListKeysResponse listed;
  grpc::Status st = (*node)->ListKeys(&ctx, v1::ListKeysRequest(), &listed);
  ASSERT_TRUE(st.ok()) << Describe(st);
  std::vector<std::string> ids;
  for (const v1::KeyInfo& k : listed.keys()) ids.push_back(k.key_id());
  EXPECT_THAT(ids, ::testing::Contains(good.key_id()));
  EXPECT_THAT(ids, Not(::testing::Contains(bad.key_id())));
  ASSERT_EQ(listed.errors_size(), 1);
  EXPECT_EQ(listed.errors(0).key_id(), bad.key_id());
  EXPECT_THAT(listed.errors(0).error(), HasSubstr("sealed record"));
  // Through the gateway, too, with the node named.
  grpc::ClientContext wctx;
  wctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::ListKeysResponse merged;
  st = cluster_->wallet()->ListKeys(&wctx, v1::ListKeysRequest(), &merged);
  ASSERT_TRUE(st.ok()) << Describe(st);
  ASSERT_GE(merged.errors_size(), 1);
  EXPECT_EQ(merged.errors(0).node(), "node-1");
}

TEST_F(KekTest, WrongWellFormedKekIsFoundAtStartUp) {
  ASSERT_TRUE(cluster_->StopNode(2, SIGTERM).ok());
  const std::string kek =
      absl::StrCat(kagictl::NodeDir(cluster_->dir(), 2), "/kek");
  const std::string saved = *ReadFile(kek);
  // Another valid KEK (64 hex characters), as a restore from the wrong
  // backup would leave.
  {
    FILE* f = std::fopen(kek.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(std::string(64, 'a').c_str(), f);
    std::fclose(f);
  }
  EXPECT_FALSE(cluster_->StartNode(2).ok());
  EXPECT_THAT(*ReadFile(absl::StrCat(kagictl::NodeDir(cluster_->dir(), 2),
                                     "/node.log")),
              HasSubstr("key-encryption key"));
  {
    FILE* f = std::fopen(kek.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(saved.data(), 1, saved.size(), f);
    std::fclose(f);
  }
  EXPECT_TRUE(cluster_->StartNode(2).ok());
}

}  // namespace
}  // namespace kagi::integration
