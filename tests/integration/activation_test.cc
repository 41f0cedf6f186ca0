// Two-phase activation on a real cluster (3 kagi-node processes + gateway,
// mTLS, SQLite): a malicious member that acknowledges a new epoch to some
// members only, or differently to each, cannot leave the honest members in
// different epochs; members a reshare removes erase their shares, dealer or
// not, reachable at once or later.
//
// The malicious member is node-3 restarted as kagi-node-misbehaving (a real
// node process whose round-4 acknowledgements are tampered with and validly
// re-signed with node-3's identity key, misbehaving_node.cc).
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/protocol/keyshare.h"
#include "libs/storage/kek.h"
#include "libs/storage/sealed.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/config.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;

// RawUpdateSealed replaces the sealed bytes of a key's ACTIVE share row.
void RawUpdateSealed(const std::string& db_path, const std::string& key_id,
                     const Bytes& sealed) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "UPDATE shares SET sealed = ? WHERE key_id = ? "
                               "AND state = 'ACTIVE'",
                               -1, &st, nullptr),
            SQLITE_OK);
  sqlite3_bind_blob(st, 1, sealed.data(), static_cast<int>(sealed.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_blob(st, 2, key_id.data(), static_cast<int>(key_id.size()),
                    SQLITE_TRANSIENT);
  EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// RunKagictl runs kagictl against the cluster and returns its output.
std::string RunKagictl(const std::string& args);

class ActivationTest : public ClusterSuite<ActivationTest> {
 public:
  static ClusterConfig Config() {
    ClusterConfig config;
    config.base_port = KAGI_IT_BASE_PORT;
    return config;
  }

 protected:
  void TearDown() override {
    if (cluster_ == nullptr) return;  // the cluster never started
    // Every test leaves node-3 honest, every node running and no ban (a
    // test that makes a node ban node-3 checks the ban itself; the bans are
    // lifted here as an operator does, audited: a deleted row alone is a
    // break at the next start-up).
    for (int i = 1; i <= kNodes; ++i) LiftBans(i);
    Node3Honest();
    for (int i = 1; i <= kNodes; ++i) {
      if (!cluster_->NodePid(i).ok()) {
        ASSERT_TRUE(cluster_->StartNode(i).ok());
      }
    }
  }

  static void LiftBans(int i) {
    std::vector<storage::BanRow> bans;
    {
      auto store = storage::SqliteStore::OpenReadOnly(cluster_->NodeDb(i));
      ASSERT_TRUE(store.ok()) << store.status();
      absl::StatusOr<std::vector<storage::BanRow>> rows = (*store)->ReadBans();
      ASSERT_TRUE(rows.ok()) << rows.status();
      bans = *std::move(rows);
    }
    for (const storage::BanRow& ban : bans) {
      const std::string out = RunCommand(
          absl::StrCat(KAGICTL_PATH, " ban lift --db ", cluster_->NodeDb(i),
                       " --identity-key ", kagictl::NodeDir(cluster_->dir(), i),
                       "/identity.pem --party ", HexEncode(ban.party_key),
                       " --reason test-reset 2>&1"));
      ASSERT_THAT(out, ::testing::HasSubstr("lifted (audited)")) << out;
    }
  }

  static void GatewaySeesAll() {
    absl::Status st = cluster_->WaitGatewayReachesAll();
    ASSERT_TRUE(st.ok()) << st;
  }
  static void Node3Misbehaves(const std::string& how) {
    ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
    ::setenv("KAGI_MISBEHAVE", how.c_str(), 1);
    absl::Status st = cluster_->StartNode(3, KAGI_MISBEHAVING_NODE);
    ASSERT_TRUE(st.ok()) << st;
    GatewaySeesAll();
  }
  static void Node3Honest() {
    ::unsetenv("KAGI_MISBEHAVE");
    if (cluster_->NodePid(3).ok()) {
      ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
    }
    ASSERT_TRUE(cluster_->StartNode(3).ok());
    GatewaySeesAll();
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 120) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(seconds)));
    return ctx;
  }
  static grpc::Status OnNode(int i, const std::string& key_id,
                             v1::KeyInfo* out) {
    return cluster_->NodeGetKey(i, key_id, out);
  }
  static void ExpectEpochEverywhere(const v1::KeyInfo& key,
                                    const std::vector<int>& nodes) {
    for (int i : nodes) {
      v1::KeyInfo on;
      grpc::Status st = OnNode(i, key.key_id(), &on);
      ASSERT_TRUE(st.ok()) << "node-" << i << ": " << Describe(st);
      EXPECT_EQ(on.epoch(), key.epoch()) << "node-" << i;
      EXPECT_TRUE(on.pending_epochs().empty()) << "node-" << i;
      EXPECT_EQ(on.activation_certificate(), key.activation_certificate())
          << "node-" << i;
    }
  }
  // SignsWithout: the key signs through the gateway with node `down`
  // stopped (so the other two sign), verified with OpenSSL.
  static void SignsWithout(int down, const v1::KeyInfo& key) {
    ASSERT_TRUE(cluster_->StopNode(down, SIGTERM).ok());
    const v1::SignRequest r = SimpleSignRequest(key.key_id());
    v1::SignResponse resp;
    v1::SignRequest used;
    grpc::Status st = SignEventually(cluster_->wallet(), r, &resp, &used);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_TRUE(SignaturesValid(key, used, resp.signatures()));
    EXPECT_THAT(Strings(resp.signer_nodes()),
                ::testing::Not(::testing::Contains(cluster_->NodeName(down))));
    ASSERT_TRUE(cluster_->StartNode(down).ok());
    GatewaySeesAll();
  }
  // LiveShareRows: rows of `key_id` in node i's store that still hold
  // sealed share bytes (RETIRED rows are erased).
  static int64_t LiveShareRows(int i, const std::string& key_id) {
    absl::StatusOr<int64_t> n =
        QueryInt(cluster_->NodeDb(i),
                 absl::StrCat("SELECT count(*) FROM shares WHERE key_id = x'",
                              absl::BytesToHexString(key_id),
                              "' AND length(sealed) > 0"));
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }
  static std::string Audit(int i) {
    absl::StatusOr<std::vector<storage::AuditEntry>> log =
        VerifiedAudit(cluster_->NodeDb(i));
    EXPECT_TRUE(log.ok()) << log.status();
    std::string out;
    if (!log.ok()) return out;
    for (const storage::AuditEntry& e : *log) {
      absl::StrAppend(&out, e.operation, " ", e.parties, " ", e.outcome, "\n");
    }
    return out;
  }
  static v1::KeyInfo NewKey() {
    v1::KeyInfo key;
    grpc::Status st = CreateKey(cluster_->wallet(), 2, &key);
    EXPECT_TRUE(st.ok()) << "CreateKey: " << Describe(st);
    return key;
  }
  static grpc::Status Reshare(const v1::KeyInfo& key,
                              const std::vector<std::string>& nodes,
                              const std::vector<uint32_t>& dealers,
                              v1::KeyInfo* out) {
    v1::ReshareRequest req;
    req.set_request_id(NewRequestId("reshare"));
    req.set_key_id(key.key_id());
    req.set_new_threshold(2);
    for (const std::string& n : nodes) req.add_new_nodes(n);
    for (uint32_t d : dealers) req.add_dealers(d);
    req.set_expiry_unix_seconds(
        static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300));
    return cluster_->wallet()->Reshare(Ctx().get(), req, out);
  }
  static std::string Warnings(const v1::KeyInfo& key) {
    std::string out;
    for (const std::string& w : key.warnings()) absl::StrAppend(&out, w, "\n");
    return out;
  }

 public:
  static std::string Dir() { return cluster_->dir(); }
};

std::string RunKagictl(const std::string& args) {
  return RunCommand(absl::StrCat(KAGICTL_PATH, " ", args, " --cluster ",
                                 ActivationTest::Dir()));
}

// DKG, node-3 withholds its acknowledgement from node-2: node-2's session
// times out in round 4, node-1 and node-3 finish. The gateway hands node-2
// the certificate; every member ends at epoch 0 and the honest pair signs.
TEST_F(ActivationTest, DkgAckWithheldFromOneMemberStillActivatesEveryone) {
  Node3Misbehaves("no-ack:node-2");
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster_->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_THAT(Warnings(key), HasSubstr("node-2: its session ended with"));
  EXPECT_THAT(Warnings(key), HasSubstr("activated by the certificate"));
  ExpectEpochEverywhere(key, {1, 2, 3});
  EXPECT_THAT(Audit(2), HasSubstr("activate key"));
  Node3Honest();
  SignsWithout(3, key);
}

// Refresh, node-3 withholds its acknowledgement from node-1.
TEST_F(ActivationTest, RefreshAckWithheldFromOneMemberStillActivatesEveryone) {
  const v1::KeyInfo key = NewKey();
  Node3Misbehaves("no-ack:node-1");
  v1::RefreshRequest refresh;
  refresh.set_request_id(NewRequestId("refresh"));
  refresh.set_key_id(key.key_id());
  v1::KeyInfo refreshed;
  grpc::Status st =
      cluster_->wallet()->Refresh(Ctx().get(), refresh, &refreshed);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(refreshed.epoch(), key.epoch() + 1);
  EXPECT_THAT(Warnings(refreshed), HasSubstr("node-1: its session ended"));
  ExpectEpochEverywhere(refreshed, {1, 2, 3});
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(LiveShareRows(i, key.key_id()), 1);
  Node3Honest();
  SignsWithout(3, refreshed);
}

// A reshare that removes node-3, which is not a dealer: it never takes part
// in the session, so only the certificate tells it the key moved on. It
// erases its share (the sealed bytes are gone, not just marked), audits the
// departure, and can no longer take part in signing.
TEST_F(ActivationTest, ReshareRemovingANonDealerErasesItsShare) {
  const v1::KeyInfo key = NewKey();
  v1::KeyInfo out;
  grpc::Status st = Reshare(key, {"node-1", "node-2"}, {1, 2}, &out);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(out.epoch(), key.epoch() + 1);
  ExpectEpochEverywhere(out, {1, 2});
  EXPECT_EQ(LiveShareRows(3, key.key_id()), 0);
  v1::KeyInfo on3;
  EXPECT_EQ(OnNode(3, key.key_id(), &on3).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(Audit(3), HasSubstr("removed from the committee"));
  v1::KeyInfo via_gateway;
  v1::GetKeyRequest get;
  get.set_key_id(key.key_id());
  ASSERT_TRUE(cluster_->wallet()->GetKey(Ctx().get(), get, &via_gateway).ok());
  ASSERT_EQ(via_gateway.holders_size(), 3);
  EXPECT_EQ(via_gateway.holders(2).state(), "none");
  EXPECT_FALSE(via_gateway.holders(2).member());
  SignsWithout(3, out);
}

// A reshare that removes node-1, a dealer.
TEST_F(ActivationTest, ReshareRemovingADealerErasesItsShare) {
  const v1::KeyInfo key = NewKey();
  v1::KeyInfo out;
  grpc::Status st = Reshare(key, {"node-2", "node-3"}, {1, 2}, &out);
  ASSERT_TRUE(st.ok()) << Describe(st);
  ExpectEpochEverywhere(out, {2, 3});
  EXPECT_EQ(LiveShareRows(1, key.key_id()), 0);
  EXPECT_THAT(Audit(1), HasSubstr("left the committee"));
  SignsWithout(1, out);
}

// A removed member that is down during the reshare keeps its share until it
// can be reached: the result and GetKey say so; the next GetKey that
// reaches it delivers the certificate and it erases its share.
TEST_F(ActivationTest, UnreachableRemovedMemberIsReportedThenRetired) {
  const v1::KeyInfo key = NewKey();
  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  v1::KeyInfo out;
  grpc::Status st = Reshare(key, {"node-1", "node-2"}, {1, 2}, &out);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_THAT(Warnings(out),
              HasSubstr("node-3 is no longer in the committee but still "
                        "holds its old share"));
  EXPECT_EQ(LiveShareRows(3, key.key_id()), 1);
  ASSERT_TRUE(cluster_->StartNode(3).ok());
  GatewaySeesAll();
  v1::GetKeyRequest get;
  get.set_key_id(key.key_id());
  v1::KeyInfo via_gateway;
  ASSERT_TRUE(cluster_->wallet()->GetKey(Ctx().get(), get, &via_gateway).ok());
  ASSERT_EQ(via_gateway.holders_size(), 3);
  EXPECT_THAT(via_gateway.holders(2).note(),
              HasSubstr("removed member: share erased"));
  EXPECT_EQ(LiveShareRows(3, key.key_id()), 0);
  EXPECT_THAT(Audit(3), HasSubstr("depart key"));
}

// Reshare 2-of-3 -> 3-of-3, node-3 withholds its ack from node-2.
TEST_F(ActivationTest, ReshareAckWithheldFromOneMemberStillActivatesEveryone) {
  const v1::KeyInfo key = NewKey();
  Node3Misbehaves("no-ack:node-2");
  v1::ReshareRequest req;
  req.set_request_id(NewRequestId("reshare"));
  req.set_key_id(key.key_id());
  req.set_new_threshold(3);
  for (int i = 1; i <= 3; ++i) req.add_new_nodes(cluster_->NodeName(i));
  v1::KeyInfo out;
  grpc::Status st = cluster_->wallet()->Reshare(Ctx().get(), req, &out);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(out.threshold(), 3u);
  EXPECT_THAT(Warnings(out), HasSubstr("node-2: its session ended"));
  ExpectEpochEverywhere(out, {1, 2, 3});
}

// DKG, node-3 sends node-1 a different ack and none to node-2: neither
// honest member finishes its session, but node-3 (which received both
// honest acks) holds the certificate, and so does the gateway: both honest
// members activate on it, and node-1 bans node-3 for the two acks.
TEST_F(ActivationTest, AckEquivocatedToOneAndWithheldFromTheOther) {
  Node3Misbehaves("bad-ack:node-1;no-ack:node-2");
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster_->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_THAT(Warnings(key), HasSubstr("node-1: its session ended"));
  EXPECT_THAT(Warnings(key), HasSubstr("node-2: its session ended"));
  ExpectEpochEverywhere(key, {1, 2, 3});
  EXPECT_THAT(Audit(1), HasSubstr("node-3 banned: equivocated"));
  Node3Honest();
  SignsWithout(3, key);
}

// MarkLegacy rewrites node i's ACTIVE share of `key_id` as a share made
// before the uniform base-OT fix would decode (legacy_base_ot set), sealed
// under the node's own KEK, as an upgraded node finds an old share.
void MarkLegacy(Cluster* cluster, int i, const std::string& key_id) {
  absl::StatusOr<v1::NodeConfig> config =
      transport::LoadNodeConfig(cluster->NodeConfigPath(i));
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<SecretBytes> kek = storage::LoadKek(config->seal_key_file());
  ASSERT_TRUE(kek.ok()) << kek.status();
  absl::StatusOr<std::unique_ptr<storage::SqliteStore>> store =
      storage::SqliteStore::Open(config->storage_path());
  ASSERT_TRUE(store.ok()) << store.status();
  storage::KeyId id;
  std::copy(key_id.begin(), key_id.end(), id.begin());
  absl::StatusOr<storage::StoredShare> stored = (*store)->GetActiveShare(id);
  ASSERT_TRUE(stored.ok()) << stored.status();
  const storage::RecordContext ctx{storage::kRecordShare, id, stored->epoch, 1};
  absl::StatusOr<SecretBytes> plain = storage::Open(*kek, ctx, stored->sealed);
  ASSERT_TRUE(plain.ok()) << plain.status();
  absl::StatusOr<protocol::KeyShare> share =
      protocol::KeyShare::Deserialize(plain->secret());
  ASSERT_TRUE(share.ok()) << share.status();
  share->legacy_base_ot = true;
  OsRng rng;
  absl::StatusOr<Bytes> sealed =
      storage::Seal(*kek, ctx, share->Serialize().secret(), rng);
  ASSERT_TRUE(sealed.ok());
  store->reset();
  RawUpdateSealed(config->storage_path(), key_id, *sealed);
}

// A share made before the uniform base-OT fix is reported by the node's
// start-up log, its GetKey, the gateway and kagictl key show, until a
// refresh replaces the OT material.
TEST_F(ActivationTest, LegacyBaseOtShareIsReportedUntilRefreshed) {
  const v1::KeyInfo key = NewKey();
  ASSERT_FALSE(key.legacy_base_ot());
  ASSERT_TRUE(cluster_->StopNode(1, SIGTERM).ok());
  MarkLegacy(cluster_, 1, key.key_id());
  ASSERT_TRUE(cluster_->StartNode(1).ok());
  GatewaySeesAll();
  absl::StatusOr<std::string> log =
      ReadFile(absl::StrCat(kagictl::NodeDir(cluster_->dir(), 1), "/node.log"));
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(*log, HasSubstr(absl::StrCat(
                        "WARNING key ", absl::BytesToHexString(key.key_id()),
                        " epoch 0: share made before base OT sampled "
                        "uniformly")));
  v1::KeyInfo on1;
  ASSERT_TRUE(OnNode(1, key.key_id(), &on1).ok());
  EXPECT_TRUE(on1.legacy_base_ot());
  v1::KeyInfo on2;
  ASSERT_TRUE(OnNode(2, key.key_id(), &on2).ok());
  EXPECT_FALSE(on2.legacy_base_ot());
  const std::string shown = RunKagictl(
      absl::StrCat("key show ", absl::BytesToHexString(key.key_id())));
  EXPECT_THAT(shown, HasSubstr("WARNING    shares of this key were made "
                               "before base OT sampled uniformly"));
  EXPECT_THAT(shown, HasSubstr("node-1 holds a share with legacy base-OT"));

  v1::RefreshRequest refresh;
  refresh.set_request_id(NewRequestId("refresh"));
  refresh.set_key_id(key.key_id());
  v1::KeyInfo refreshed;
  grpc::Status st =
      cluster_->wallet()->Refresh(Ctx().get(), refresh, &refreshed);
  ASSERT_TRUE(st.ok()) << Describe(st);
  ASSERT_TRUE(OnNode(1, key.key_id(), &on1).ok());
  EXPECT_FALSE(on1.legacy_base_ot());
  EXPECT_THAT(RunKagictl(absl::StrCat("key show ",
                                      absl::BytesToHexString(key.key_id()))),
              ::testing::Not(HasSubstr("WARNING")));
}

// Refresh, node-3 sends node-2 a different, validly signed ack: node-2
// aborts, blaming node-3; the gateway hands it the certificate (which holds
// node-3's other ack): node-2 activates the same epoch as everyone and bans
// node-3 with both envelopes as evidence.
TEST_F(ActivationTest, EquivocatedAckIsActivatedAnywayAndTheAckerBanned) {
  const v1::KeyInfo key = NewKey();
  Node3Misbehaves("bad-ack:node-2");
  v1::RefreshRequest refresh;
  refresh.set_request_id(NewRequestId("refresh"));
  refresh.set_key_id(key.key_id());
  v1::KeyInfo refreshed;
  grpc::Status st =
      cluster_->wallet()->Refresh(Ctx().get(), refresh, &refreshed);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_THAT(Warnings(refreshed), HasSubstr("node-2: its session ended"));
  EXPECT_THAT(Warnings(refreshed), HasSubstr("node-3"));  // the culprit
  ExpectEpochEverywhere(refreshed, {1, 2, 3});
  const std::string audit = Audit(2);
  EXPECT_THAT(audit, HasSubstr("node-3 banned: equivocated in the "
                               "acknowledgements"));
  absl::StatusOr<int64_t> bans =
      QueryInt(cluster_->NodeDb(2), "SELECT count(*) FROM bans");
  ASSERT_TRUE(bans.ok());
  EXPECT_EQ(*bans, 1);
  Node3Honest();
  SignsWithout(3, refreshed);
}

}  // namespace
}  // namespace kagi::integration
