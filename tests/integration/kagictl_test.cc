// kagictl as a program: what an operator runs. Config generation and checks
// on a cluster directory it wrote, and `audit verify` on a real store, intact
// and after someone edited a record behind the chain's back.
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/chain/psbt.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/point.h"
#include "libs/storage/audit.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/config.h"
#include "libs/transport/identity_key.h"
#include "libs/transport/pki.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi {
namespace {

using ::testing::HasSubstr;

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr
};

Output Kagictl(const std::string& args) {
  Output out;
  const std::string cmd = absl::StrCat(KAGICTL_PATH, " ", args, " 2>&1");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
    out.text.append(buf.data(), n);
  }
  const int status = ::pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl =
      absl::StrCat(base != nullptr ? base : "/tmp", "/kagictl_test.XXXXXX");
  const char* made = ::mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

TEST(KagictlTest, ClusterInitWritesConfigsThatCheckAndRefusesTwice) {
  const std::string dir = absl::StrCat(TempDir(), "/c");
  Output init = Kagictl(absl::StrCat("cluster init --dir ", dir, " --nodes 3"));
  ASSERT_EQ(init.exit_code, 0) << init.text;
  for (int i = 1; i <= 3; ++i) {
    Output check = Kagictl(
        absl::StrCat("config check --node ", kagictl::NodeConfigPath(dir, i)));
    EXPECT_EQ(check.exit_code, 0) << check.text;
    EXPECT_THAT(check.text, HasSubstr("config OK"));
  }
  Output again = Kagictl(absl::StrCat("cluster init --dir ", dir));
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.text, HasSubstr("already holds a cluster"));
  // A missing file the config names is caught by the check.
  ASSERT_EQ(::unlink(absl::StrCat(kagictl::NodeDir(dir, 2), "/kek").c_str()),
            0);
  Output missing = Kagictl(
      absl::StrCat("config check --node ", kagictl::NodeConfigPath(dir, 2)));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.text, HasSubstr("kek"));
}

// What an approver is shown: the fee as the nodes count it, from each
// input's previous transaction. A PSBT whose input has only a witness UTXO
// (whose amount is a claim) shows no fee, and says every node refuses it.
TEST(KagictlTest, ApproveShowsTheFeeOnlyFromPreviousTransactions) {
  const std::string dir = absl::StrCat(TempDir(), "/c");
  ASSERT_EQ(Kagictl(absl::StrCat("cluster init --dir ", dir)).exit_code, 0);
  v1::KeyInfo key;
  const auto g = crypto::Point::Generator().ToCompressed();
  key.set_public_key(std::string(g.begin(), g.end()));
  key.set_chain_code(std::string(32, '\x07'));
  absl::StatusOr<Bytes> proven = kagictl::DemoPsbt(
      key, "regtest", kagictl::DemoBitcoinDestination(), 50000, 1000, 100000);
  ASSERT_TRUE(proven.ok()) << proven.status();
  absl::StatusOr<chain::Psbt> witness_only = chain::DecodePsbt(*proven);
  ASSERT_TRUE(witness_only.ok()) << witness_only.status();
  witness_only->inputs[0].non_witness_utxo.reset();
  const std::string approve = absl::StrCat(
      "approve --as alice --approver-key ",
      kagictl::ApproverKeyPath(dir, "alice"), " --key ", std::string(64, 'a'),
      " --network regtest --request-id w-1 --psbt ");
  struct Case {
    Bytes psbt;
    std::string shown;
  };
  for (const Case& c :
       {Case{*proven, "  fee 1000 sat\n"},
        Case{chain::EncodePsbt(*witness_only),
             "  fee unknown: input 0: non_witness_utxo missing"}}) {
    const std::string file = absl::StrCat(dir, "/w-1.psbt");
    ASSERT_TRUE(transport::WriteFileAtomically(
                    file, std::string(c.psbt.begin(), c.psbt.end()), 0600)
                    .ok());
    Output out = Kagictl(absl::StrCat(approve, file));
    EXPECT_EQ(out.exit_code, 0) << out.text;
    EXPECT_THAT(out.text, HasSubstr(c.shown));
  }
}

TEST(KagictlTest, ConfigNodePrintsAValidConfig) {
  const std::string key2(64, 'a');
  const std::string key3(64, 'b');
  Output out = Kagictl(absl::StrCat(
      "config node --name node-1 --listen 10.0.0.1:7101 --tls-dir /etc/t "
      "--identity-key /etc/i.pem --storage /var/lib/kagi/node.db --kek-env "
      "KAGI_KEK --peer node-2=10.0.0.2:7101=",
      key2, " --peer node-3=10.0.0.3:7101=", key3, " --gateway gateway-1"));
  ASSERT_EQ(out.exit_code, 0) << out.text;
  absl::StatusOr<v1::NodeConfig> parsed =
      transport::ParseNodeConfig(out.text, "generated");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->name(), "node-1");
  ASSERT_EQ(parsed->peers_size(), 2);
  EXPECT_EQ(parsed->peers(1).identity_public_key(), key3);
  EXPECT_EQ(parsed->tls().cert_file(), "/etc/t/node-1.pem");
  EXPECT_EQ(parsed->seal_key_env(), "KAGI_KEK");
  EXPECT_FALSE(parsed->allow_raw_digest());
  // A bad identity key is refused, naming the field.
  Output bad = Kagictl(
      "config node --name node-1 --listen 10.0.0.1:7101 --tls-dir /t "
      "--identity-key /i --storage /s --kek-file /k --peer "
      "node-2=10.0.0.2:7101=zz --gateway g");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.text, HasSubstr("peers[0].identity_public_key"));
}

TEST(KagictlTest, AuditVerifyFindsAnEditedRecordAndATruncatedTail) {
  const std::string db = absl::StrCat(TempDir(), "/node.db");
  InsecureDeterministicRng rng(11);
  const crypto::Ed25519PrivateKey node_key =
      crypto::Ed25519PrivateKey::Generate(rng);
  const std::string key_hex = HexEncode(node_key.PublicKey());
  std::string last_hash;
  {
    absl::StatusOr<std::unique_ptr<storage::SqliteStore>> store =
        storage::SqliteStore::Open(db);
    ASSERT_TRUE(store.ok()) << store.status();
    (*store)->SetAuditKey(&node_key);
    for (int i = 0; i < 3; ++i) {
      storage::AuditEntry e;
      e.operation = "sign";
      e.request_id = absl::StrCat("req-", i);
      e.outcome = "ok";
      absl::StatusOr<storage::AuditEntry> stored = (*store)->AppendAudit(e);
      ASSERT_TRUE(stored.ok());
      last_hash = HexEncode(stored->hash);
    }
  }
  Output ok = Kagictl(absl::StrCat("audit verify --db ", db, " --node-key ",
                                   key_hex, " --last-hash ", last_hash));
  EXPECT_EQ(ok.exit_code, 0) << ok.text;
  EXPECT_THAT(ok.text,
              HasSubstr("audit chain OK: 3 records, every head signed"));
  // Without the node's key there is nothing to check signatures against.
  Output no_key = Kagictl(absl::StrCat("audit verify --db ", db));
  EXPECT_NE(no_key.exit_code, 0);
  EXPECT_THAT(no_key.text, HasSubstr("--node-key"));
  // Another node's key does not verify it.
  Output other = Kagictl(absl::StrCat("audit verify --db ", db, " --node-key ",
                                      std::string(64, 'a')));
  EXPECT_NE(other.exit_code, 0);
  EXPECT_THAT(other.text, HasSubstr("audit chain broken at seq 1"));

  // Someone with write access to the file drops the append-only trigger and
  // rewrites record 2's outcome.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "DROP TRIGGER audit_no_update; UPDATE audit SET "
                         "outcome = 'refused' WHERE seq = 2;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  Output edited =
      Kagictl(absl::StrCat("audit verify --db ", db, " --node-key ", key_hex));
  EXPECT_NE(edited.exit_code, 0);
  EXPECT_THAT(edited.text, HasSubstr("audit chain broken at seq 2"));

  // Restore it, then cut the tail: alone, only the kept last hash (or the
  // peers' anchors, audit verify --cluster) shows it.
  ASSERT_EQ(sqlite3_exec(raw,
                         "UPDATE audit SET outcome = 'ok' WHERE seq = 2; DROP "
                         "TRIGGER audit_no_delete; DELETE FROM audit WHERE "
                         "seq = 3;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  Output chain_only =
      Kagictl(absl::StrCat("audit verify --db ", db, " --node-key ", key_hex));
  EXPECT_EQ(chain_only.exit_code, 0) << chain_only.text;
  Output with_hash =
      Kagictl(absl::StrCat("audit verify --db ", db, " --node-key ", key_hex,
                           " --last-hash ", last_hash));
  EXPECT_NE(with_hash.exit_code, 0);
  EXPECT_THAT(with_hash.text, HasSubstr("records were removed from its end"));
}

// The operator's way out when no activation certificate will come: the
// PENDING shares of one key and epoch are erased (not only marked), the
// ACTIVE share stays, and the audit log says who did what.
TEST(KagictlTest, ShareRetirePendingErasesPendingSharesAndAudits) {
  const std::string db = absl::StrCat(TempDir(), "/node.db");
  storage::KeyId key;
  key.fill(7);
  {
    absl::StatusOr<std::unique_ptr<storage::SqliteStore>> store =
        storage::SqliteStore::Open(db);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->PutShare(key, 0, storage::ShareState::kPending, Bytes{1},
                               Bytes{0})
                    .ok());
    ASSERT_TRUE((*store)->ActivateShare(key, 0, Bytes{0}).ok());
    ASSERT_TRUE((*store)
                    ->PutShare(key, 1, storage::ShareState::kPending, Bytes{2},
                               Bytes{1})
                    .ok());
    ASSERT_TRUE((*store)
                    ->PutShare(key, 1, storage::ShareState::kPending, Bytes{3},
                               Bytes{2})
                    .ok());
  }
  const std::string hex = HexEncode(key);
  // The node's identity key, so that the record is signed like the node's.
  const std::string identity = absl::StrCat(TempDir(), "/identity.pem");
  {
    InsecureDeterministicRng rng(12);
    ASSERT_TRUE(transport::WriteIdentityKey(
                    identity, crypto::Ed25519PrivateKey::Generate(rng))
                    .ok());
  }
  Output no_identity = Kagictl(absl::StrCat("share retire-pending --db ", db,
                                            " --key ", hex, " --epoch 1"));
  EXPECT_NE(no_identity.exit_code, 0);
  EXPECT_THAT(no_identity.text, HasSubstr("--identity-key"));
  Output bad =
      Kagictl(absl::StrCat("share retire-pending --db ", db, " --identity-key ",
                           identity, " --key ", hex));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.text, HasSubstr("--epoch"));
  Output out =
      Kagictl(absl::StrCat("share retire-pending --db ", db, " --identity-key ",
                           identity, " --key ", hex, " --epoch 1"));
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_THAT(out.text, HasSubstr("2 PENDING share(s)"));
  absl::StatusOr<std::unique_ptr<storage::SqliteStore>> store =
      storage::SqliteStore::Open(db);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->GetPendingShares(key, 1)->empty());
  EXPECT_EQ((*store)->GetActiveShare(key)->epoch, 0u);
  absl::StatusOr<std::vector<storage::AuditEntry>> log = (*store)->ReadAudit();
  ASSERT_TRUE(log.ok());
  ASSERT_FALSE(log->empty());
  EXPECT_EQ(log->back().operation, "retire-pending");
  EXPECT_THAT(log->back().outcome, HasSubstr("2 PENDING share(s) erased"));
  EXPECT_EQ(log->back().head_signature.size(), 64u);
}

}  // namespace
}  // namespace kagi
