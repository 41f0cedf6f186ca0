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
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class AuditTest : public ClusterSuite<AuditTest> {
 public:
  static ClusterConfig Config() {
    ClusterConfig c;
    c.base_port = KAGI_IT_BASE_PORT;
    return c;
  }

 protected:
  // An approved 0.5 BTC withdrawal under the demo rule (which counts
  // velocity): every node of a 3-of-3 key admits it and reserves velocity.
  static void Withdraw(const v1::KeyInfo& key) {
    v1::SignRequest r;
    r.set_request_id(NewRequestId("btc"));
    r.set_key_id(key.key_id());
    r.set_expiry_unix_seconds(
        static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300));
    absl::StatusOr<Bytes> psbt =
        kagictl::DemoPsbt(key, "regtest", kagictl::DemoBitcoinDestination(),
                          50000000, 1000, 200000000);
    ASSERT_TRUE(psbt.ok()) << psbt.status();
    r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
    r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
        std::string(psbt->begin(), psbt->end()));
    const auto digest = *policy::SignRequestDigest(r);
    for (const char* name : {"alice", "bob", "carol"}) {
      absl::StatusOr<v1::Approval> a = kagictl::Approve(
          name, kagictl::ApproverKeyPath(cluster_->dir(), name), digest);
      ASSERT_TRUE(a.ok()) << a.status();
      *r.add_approvals() = *a;
    }
    v1::SignResponse resp;
    grpc::Status st = Sign(cluster_->wallet(), r, &resp);
    ASSERT_TRUE(st.ok()) << Describe(st);
  }

  static std::string Kagictl(const std::string& args) {
    return RunCommand(
        absl::StrCat(KAGICTL_PATH, " ", args, " 2>&1; echo exit=$?"));
  }

  static std::string NodeKeyHex(int i) {
    absl::StatusOr<v1::ListNodesResponse> nodes = ListNodes(cluster_->wallet());
    EXPECT_TRUE(nodes.ok());
    for (const auto& n : nodes->nodes()) {
      if (n.name() == cluster_->NodeName(i)) {
        return HexEncode(AsBytes(n.identity_key()));
      }
    }
    return "";
  }

  static std::vector<storage::AuditEntry> Log(int i) {
    auto store = storage::SqliteStore::OpenReadOnly(cluster_->NodeDb(i));
    EXPECT_TRUE(store.ok());
    return *(*store)->ReadAudit();
  }

  static void Sql(int i, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(cluster_->NodeDb(i).c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  // The red team's rewrite: `edit` record `seq`, recompute every hash from
  // there on and write them back.
  static void Rewrite(int i, uint64_t seq,
                      const std::function<void(storage::AuditEntry&)>& edit) {
    std::vector<storage::AuditEntry> log = Log(i);
    Sql(i, "DROP TRIGGER IF EXISTS audit_no_update");
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(cluster_->NodeDb(i).c_str(), &db), SQLITE_OK);
    for (size_t k = 0; k < log.size(); ++k) {
      storage::AuditEntry& e = log[k];
      if (e.seq < seq) continue;
      if (e.seq == seq) edit(e);
      e.prev_hash = log[k - 1].hash;
      e.hash = storage::AuditEntryHash(e);
      sqlite3_stmt* st = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db,
                                   "UPDATE audit SET outcome = ?, "
                                   "reservations = ?, prev_hash = ?, hash = ? "
                                   "WHERE seq = ?",
                                   -1, &st, nullptr),
                SQLITE_OK);
      sqlite3_bind_text(st, 1, e.outcome.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, e.reservations.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob(st, 3, e.prev_hash.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_blob(st, 4, e.hash.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 5, static_cast<int64_t>(e.seq));
      ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
  }

  static void CutTail(int i, int records) {
    Sql(i, absl::StrCat("DROP TRIGGER IF EXISTS audit_no_delete; DELETE FROM "
                        "audit WHERE seq > (SELECT max(seq) FROM audit) - ",
                        records));
  }

  static std::string NodeLog(int i) {
    return *ReadFile(
        absl::StrCat(kagictl::NodeDir(cluster_->dir(), i), "/node.log"));
  }
};

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
  Sql(1, "DELETE FROM velocity");
  EXPECT_FALSE(cluster_->StartNode(1).ok());
  EXPECT_THAT(NodeLog(1), HasSubstr("missing from the velocity table"));

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
