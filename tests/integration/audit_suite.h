// File: tests/integration/audit_suite.h
//
// A cluster suite for the audit-log tests: approved withdrawals that count
// velocity, kagictl, and the attacker's tools on a stopped node's file
// (sqlite3 edits, rewrites with recomputed hashes, tail cuts).
#ifndef KAGI_TESTS_INTEGRATION_AUDIT_SUITE_H_
#define KAGI_TESTS_INTEGRATION_AUDIT_SUITE_H_

#include <sqlite3.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/policy/request_digest.h"
#include "libs/storage/sqlite_store.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {

template <typename Derived>
class AuditSuite : public ClusterSuite<Derived> {
 public:
  using ClusterSuite<Derived>::cluster_;

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

}  // namespace kagi::integration

#endif  // KAGI_TESTS_INTEGRATION_AUDIT_SUITE_H_
