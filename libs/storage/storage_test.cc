#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/evp.h"
#include "libs/storage/audit.h"
#include "libs/storage/kek.h"
#include "libs/storage/sealed.h"
#include "libs/storage/sqlite_store.h"
#include "libs/storage/store.h"

namespace kagi::storage {
namespace {

using ::testing::HasSubstr;

// TempDir makes a unique directory under $TEST_TMPDIR (or /tmp) and removes it
// when destroyed.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp",
                                    "/kagi_storage_test.XXXXXX");
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const char* made = ::mkdtemp(buf.data());
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(absl::string_view name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, ByteSpan data, mode_t mode) {
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size()));
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

// RawExec runs SQL on its own connection, bypassing SqliteStore (to play the
// attacker who edits the database file).
void RawExec(const std::string& db_path, const std::string& sql,
             ByteSpan blob = {}, bool bind_blob = false) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  if (bind_blob) {
    static const uint8_t kEmpty = 0;
    ASSERT_EQ(
        sqlite3_bind_blob(stmt, 1, blob.empty() ? &kEmpty : blob.data(),
                          static_cast<int>(blob.size()), SQLITE_TRANSIENT),
        SQLITE_OK);
  }
  const int rc = sqlite3_step(stmt);
  EXPECT_EQ(rc, SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

int RawExecRc(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

SecretBytes TestKek(uint64_t seed) {
  InsecureDeterministicRng rng(seed);
  SecretBytes k(32);
  rng.Fill(k.mutable_span());
  return k;
}

KeyId TestKeyId(uint8_t b) {
  KeyId id{};
  id.fill(b);
  return id;
}

// --- KEK --------------------------------------------------------------------

TEST(KekTest, LoadsRawFile) {
  TempDir dir;
  SecretBytes want = TestKek(1);
  const std::string path = dir.File("kek.bin");
  WriteFile(path, want.secret(), 0600);
  absl::StatusOr<SecretBytes> got = LoadKek(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == want);
}

TEST(KekTest, LoadsHexFileWithNewline) {
  TempDir dir;
  SecretBytes want = TestKek(2);
  const std::string path = dir.File("kek.hex");
  const std::string hex = HexEncode(want.secret()) + "\n";
  WriteFile(path, AsBytes(hex), 0400);
  absl::StatusOr<SecretBytes> got = LoadKek(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == want);
}

TEST(KekTest, RejectsWrongLength) {
  TempDir dir;
  const std::string path = dir.File("short");
  const Bytes sixteen(16, 7);
  WriteFile(path, sixteen, 0600);
  EXPECT_EQ(LoadKek(path).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string bad_hex = std::string(64, 'z');
  WriteFile(path, AsBytes(bad_hex), 0600);
  EXPECT_EQ(LoadKek(path).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KekTest, RejectsGroupOrOtherPermissions) {
  TempDir dir;
  const std::string path = dir.File("kek.bin");
  SecretBytes k = TestKek(3);
  WriteFile(path, k.secret(), 0644);
  absl::Status s = LoadKek(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  EXPECT_THAT(std::string(s.message()), HasSubstr("0644"));
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_EQ(LoadKek(path).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(KekTest, MissingFile) {
  TempDir dir;
  absl::Status s = LoadKek(dir.File("nope")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("nope"));
}

TEST(KekTest, FromEnv) {
  SecretBytes want = TestKek(4);
  const std::string hex = HexEncode(want.secret());
  ASSERT_EQ(::setenv("KAGI_STORAGE_TEST_KEK", hex.c_str(), 1), 0);
  absl::StatusOr<SecretBytes> got = LoadKekFromEnv("KAGI_STORAGE_TEST_KEK");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == want);
  ASSERT_EQ(::setenv("KAGI_STORAGE_TEST_KEK", "abcd", 1), 0);
  EXPECT_EQ(LoadKekFromEnv("KAGI_STORAGE_TEST_KEK").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(::unsetenv("KAGI_STORAGE_TEST_KEK"), 0);
  EXPECT_EQ(LoadKekFromEnv("KAGI_STORAGE_TEST_KEK").status().code(),
            absl::StatusCode::kNotFound);
}

// --- Sealing ----------------------------------------------------------------

class SealTest : public ::testing::Test {
 protected:
  SecretBytes kek_ = TestKek(10);
  RecordContext ctx_{kRecordShare, TestKeyId(0xab), 3, 1};
  Bytes plaintext_ = Bytes(40, 0x5a);
  InsecureDeterministicRng rng_{99};

  void ExpectDataLoss(const absl::StatusOr<SecretBytes>& r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("sealed record failed authentication"));
  }
};

TEST_F(SealTest, RoundTrip) {
  absl::StatusOr<Bytes> sealed = Seal(kek_, ctx_, plaintext_, rng_);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->size(), 12 + plaintext_.size() + 16);
  absl::StatusOr<SecretBytes> opened = Open(kek_, ctx_, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(ToBytes(opened->secret()), plaintext_);
  // Fresh nonce each time.
  absl::StatusOr<Bytes> again = Seal(kek_, ctx_, plaintext_, rng_);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *sealed);
  // Empty plaintext works too.
  absl::StatusOr<Bytes> empty = Seal(kek_, ctx_, {}, rng_);
  ASSERT_TRUE(empty.ok());
  absl::StatusOr<SecretBytes> empty_opened = Open(kek_, ctx_, *empty);
  ASSERT_TRUE(empty_opened.ok());
  EXPECT_TRUE(empty_opened->empty());
}

TEST_F(SealTest, EveryBitFlipIsDataLoss) {
  absl::StatusOr<Bytes> sealed = Seal(kek_, ctx_, plaintext_, rng_);
  ASSERT_TRUE(sealed.ok());
  for (size_t bit = 0; bit < sealed->size() * 8; ++bit) {
    Bytes t = *sealed;
    t[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ExpectDataLoss(Open(kek_, ctx_, t));
  }
}

TEST_F(SealTest, WrongKeyOrContextIsDataLoss) {
  absl::StatusOr<Bytes> sealed = Seal(kek_, ctx_, plaintext_, rng_);
  ASSERT_TRUE(sealed.ok());
  ExpectDataLoss(Open(TestKek(11), ctx_, *sealed));
  ExpectDataLoss(Open(SecretBytes(16), ctx_, *sealed));

  RecordContext c = ctx_;
  c.record_type = kRecordPresignature;
  ExpectDataLoss(Open(kek_, c, *sealed));
  c = ctx_;
  c.key_id[31] ^= 1;
  ExpectDataLoss(Open(kek_, c, *sealed));
  c = ctx_;
  c.epoch = 4;
  ExpectDataLoss(Open(kek_, c, *sealed));
  c = ctx_;
  c.version = 2;
  ExpectDataLoss(Open(kek_, c, *sealed));
}

TEST_F(SealTest, TruncationAndExtensionAreDataLoss) {
  absl::StatusOr<Bytes> sealed = Seal(kek_, ctx_, plaintext_, rng_);
  ASSERT_TRUE(sealed.ok());
  for (size_t len = 0; len < sealed->size(); ++len) {
    ExpectDataLoss(Open(kek_, ctx_, ByteSpan(sealed->data(), len)));
  }
  Bytes longer = *sealed;
  longer.push_back(0);
  ExpectDataLoss(Open(kek_, ctx_, longer));
}

TEST_F(SealTest, BadKekLengthOnSeal) {
  EXPECT_EQ(Seal(SecretBytes(31), ctx_, plaintext_, rng_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- SqliteStore ------------------------------------------------------------

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<SqliteStore>> s = SqliteStore::Open(db_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  TempDir dir_;
  std::string db_ = dir_.File("kagi.db");
};

TEST_F(StoreTest, WalAndSynchronousFull) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::string> mode = store->PragmaValue("journal_mode");
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_EQ(*mode, "wal");
  absl::StatusOr<std::string> sync = store->PragmaValue("synchronous");
  ASSERT_TRUE(sync.ok()) << sync.status();
  EXPECT_EQ(*sync, "2");  // FULL
}

TEST_F(StoreTest, OpenFailsWithNamedError) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> s =
      SqliteStore::Open(dir_.File("no/such/dir/db"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("open"));
}

TEST_F(StoreTest, ShareLifecycle) {
  const KeyId key = TestKeyId(1);
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->GetActiveShare(key).status().code(),
              absl::StatusCode::kNotFound);
    ASSERT_TRUE(store->PutShare(key, 1, ShareState::kPending, Bytes{1}).ok());
    EXPECT_EQ(store->PutShare(key, 1, ShareState::kPending, Bytes{9}).code(),
              absl::StatusCode::kAlreadyExists);
    EXPECT_EQ(store->ActivateShare(key, 7).code(), absl::StatusCode::kNotFound);
    ASSERT_TRUE(store->ActivateShare(key, 1).ok());
    EXPECT_EQ(store->ActivateShare(key, 1).code(),
              absl::StatusCode::kFailedPrecondition);
    absl::StatusOr<StoredShare> a = store->GetActiveShare(key);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->epoch, 1u);
    EXPECT_EQ(a->sealed, Bytes{1});

    // Epoch 2 pending: epoch 1 stays active until activation.
    ASSERT_TRUE(store->PutShare(key, 2, ShareState::kPending, Bytes{2}).ok());
    a = store->GetActiveShare(key);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->epoch, 1u);
    ASSERT_TRUE(store->ActivateShare(key, 2).ok());
    a = store->GetActiveShare(key);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->epoch, 2u);
    EXPECT_EQ(a->sealed, Bytes{2});
    // The old epoch is RETIRED and cannot be re-activated.
    EXPECT_EQ(store->ActivateShare(key, 1).code(),
              absl::StatusCode::kFailedPrecondition);
    // Other keys are independent.
    EXPECT_EQ(store->GetActiveShare(TestKeyId(2)).status().code(),
              absl::StatusCode::kNotFound);
  }
  // Survives close and reopen.
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<StoredShare> a = store->GetActiveShare(key);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->epoch, 2u);
  EXPECT_EQ(a->sealed, Bytes{2});
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT state FROM shares WHERE epoch = 1",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
               "RETIRED");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(StoreTest, TamperedSealedShareIsDataLoss) {
  const SecretBytes kek = TestKek(20);
  const KeyId key = TestKeyId(3);
  const RecordContext ctx{kRecordShare, key, 5, 1};
  InsecureDeterministicRng rng(5);
  const Bytes share(32, 0x11);
  absl::StatusOr<Bytes> sealed = Seal(kek, ctx, share, rng);
  ASSERT_TRUE(sealed.ok());
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->PutShare(key, 5, ShareState::kPending, *sealed).ok());
    ASSERT_TRUE(store->ActivateShare(key, 5).ok());
    absl::StatusOr<StoredShare> a = store->GetActiveShare(key);
    ASSERT_TRUE(a.ok());
    absl::StatusOr<SecretBytes> opened = Open(kek, ctx, a->sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(ToBytes(opened->secret()), share);
  }
  Bytes tampered = *sealed;
  tampered[20] ^= 0x40;
  RawExec(db_, "UPDATE shares SET sealed = ? WHERE epoch = 5", tampered, true);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<StoredShare> a = store->GetActiveShare(key);
  ASSERT_TRUE(a.ok());
  absl::StatusOr<SecretBytes> opened = Open(kek, ctx, a->sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(StoreTest, Sid0IsInsertOnce) {
  const Bytes sid0(32, 0x77);
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->RecordSid0(sid0).ok());
    EXPECT_EQ(store->RecordSid0(sid0).code(), absl::StatusCode::kAlreadyExists);
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->RecordSid0(sid0).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(store->RecordSid0(Bytes(32, 0x78)).ok());
}

// A member's claims about a request id of a key: the latest replaces the
// earlier, except that a completion is never taken back (a delayed
// "admitted" or a replayed "failed" cannot reopen a signed request id); the
// same id of another key is another row.
TEST_F(StoreTest, RequestClaimsKeepTheLatestButNeverUndoACompletion) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  RequestClaimRow row;
  row.key_id = TestKeyId(0x01);
  row.request_id = "req-c";
  row.node_key = TestKeyId(0x21);
  row.state = "admitted";
  row.claim = Bytes{1};
  ASSERT_TRUE(store->PutRequestClaim(row).ok());
  row.state = "succeeded";
  row.claim = Bytes{2};
  ASSERT_TRUE(store->PutRequestClaim(row).ok());
  row.state = "failed";
  row.claim = Bytes{3};
  ASSERT_TRUE(store->PutRequestClaim(row).ok());
  RequestClaimRow other = row;
  other.node_key = TestKeyId(0x22);
  other.state = "admitted";
  other.claim = Bytes{4};
  ASSERT_TRUE(store->PutRequestClaim(other).ok());
  RequestClaimRow other_key = other;
  other_key.key_id = TestKeyId(0x02);
  other_key.claim = Bytes{5};
  ASSERT_TRUE(store->PutRequestClaim(other_key).ok());
  absl::StatusOr<std::vector<RequestClaimRow>> rows =
      store->GetRequestClaims(TestKeyId(0x01), "req-c");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].node_key, TestKeyId(0x21));
  EXPECT_EQ((*rows)[0].key_id, TestKeyId(0x01));
  EXPECT_EQ((*rows)[0].state, "succeeded");
  EXPECT_EQ((*rows)[0].claim, Bytes{2});
  EXPECT_EQ((*rows)[1].state, "admitted");
  EXPECT_EQ((*rows)[1].claim, Bytes{4});
  rows = store->GetRequestClaims(TestKeyId(0x02), "req-c");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].claim, Bytes{5});
  absl::StatusOr<std::vector<RequestClaimRow>> admitted =
      store->GetClaimsInState(TestKeyId(0x22), "admitted");
  ASSERT_TRUE(admitted.ok());
  ASSERT_EQ(admitted->size(), 2u);
  EXPECT_EQ((*admitted)[0].request_id, "req-c");
  EXPECT_TRUE(store->GetClaimsInState(TestKeyId(0x21), "admitted")->empty());
  ASSERT_TRUE(store->GetRequestClaims(TestKeyId(0x01), "req-none").ok());
  EXPECT_TRUE(store->GetRequestClaims(TestKeyId(0x01), "req-none")->empty());
  // A bad state is refused by the schema.
  row.request_id = "req-d";
  row.state = "maybe";
  EXPECT_FALSE(store->PutRequestClaim(row).ok());
}

TEST_F(StoreTest, AdmissionRecordsDecisionAndVelocityOnce) {
  const std::array<uint8_t, 32> digest = TestKeyId(0xc3);
  Admission admission;
  admission.decision.operation = "sign.admit";
  admission.decision.request_id = "req-v";
  admission.decision.outcome = "allowed by rule 'r'";
  VelocityReservation r;
  r.scope = "r|key|BTC";
  r.unix_time = 1000;
  r.amount = TestKeyId(0x01);
  admission.reservations.push_back(r);
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->BeginRequest("req-v", "sign", digest, Bytes(32, 9),
                                   Durability::kSynced, &admission)
                    .ok());
    // A retry of the same request reserves nothing more.
    ASSERT_TRUE(store
                    ->BeginRequest("req-v", "sign", digest, Bytes(32, 10),
                                   Durability::kSynced, &admission)
                    .ok());
    // A refused BeginRequest (reused id, other content) records nothing.
    EXPECT_FALSE(store
                     ->BeginRequest("req-v", "sign", TestKeyId(0xc4),
                                    Bytes(32, 11), Durability::kSynced,
                                    &admission)
                     .ok());
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<std::array<uint8_t, 32>>> amounts =
      store->VelocityAmounts("r|key|BTC", 999);
  ASSERT_TRUE(amounts.ok()) << amounts.status();
  ASSERT_EQ(amounts->size(), 1u);
  EXPECT_EQ((*amounts)[0], TestKeyId(0x01));
  EXPECT_TRUE(store->VelocityAmounts("r|key|BTC", 1001)->empty());
  EXPECT_TRUE(store->VelocityAmounts("other", 0)->empty());
  absl::StatusOr<std::vector<AuditEntry>> audit = store->ReadAudit();
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].operation, "sign.admit");
  EXPECT_TRUE(VerifyAuditChain(*audit).ok());
}

TEST_F(StoreTest, RequestIdBindsOneRequestForever) {
  const std::array<uint8_t, 32> digest_a = TestKeyId(0xa1);
  const std::array<uint8_t, 32> digest_b = TestKeyId(0xb2);
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->BeginRequest("req-1", "sign", digest_a, Bytes(32, 1),
                                   Durability::kSynced)
                    .ok());
    // The same session id twice is refused even for the same request.
    absl::Status again = store->BeginRequest("req-1", "sign", digest_a,
                                             Bytes(32, 1), Durability::kSynced);
    EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
    EXPECT_THAT(std::string(again.message()), HasSubstr("already started"));
    // Another content under the same id is refused.
    absl::Status other = store->BeginRequest("req-1", "sign", digest_b,
                                             Bytes(32, 2), Durability::kSynced);
    EXPECT_EQ(other.code(), absl::StatusCode::kAlreadyExists);
    EXPECT_THAT(std::string(other.message()),
                HasSubstr("already used for a different request"));
    // The same id for another operation is refused too.
    EXPECT_EQ(store
                  ->BeginRequest("req-1", "dkg", digest_a, Bytes(32, 3),
                                 Durability::kSynced)
                  .code(),
              absl::StatusCode::kAlreadyExists);
    // A retry of the same request (new session) is allowed while unfinished.
    ASSERT_TRUE(store
                    ->BeginRequest("req-1", "sign", digest_a, Bytes(32, 4),
                                   Durability::kSynced)
                    .ok());
    AuditEntry audit;
    audit.operation = "sign";
    audit.request_id = "req-1";
    audit.outcome = "ok";
    ASSERT_TRUE(store
                    ->FinishRequest("req-1", RequestState::kSucceeded, "ok",
                                    Bytes{1, 2, 3}, audit,
                                    Durability::kCrashSafe)
                    .ok());
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RequestRecord> rec = store->GetRequest("req-1");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->state, RequestState::kSucceeded);
  EXPECT_EQ(rec->attempts, 2u);
  EXPECT_EQ(rec->request_digest, digest_a);
  EXPECT_EQ(rec->result, (Bytes{1, 2, 3}));
  // Completed: even the same content cannot be run again, across restarts.
  absl::Status done = store->BeginRequest("req-1", "sign", digest_a,
                                          Bytes(32, 5), Durability::kSynced);
  EXPECT_EQ(done.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(done.message()), HasSubstr("already completed"));
  EXPECT_EQ(store->GetRequest("nope").status().code(),
            absl::StatusCode::kNotFound);
  // The finish wrote the audit entry in the same transaction.
  absl::StatusOr<std::vector<AuditEntry>> log = store->ReadAudit();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].request_id, "req-1");
  EXPECT_TRUE(VerifyAuditChain(*log).ok());
  // A failed BeginRequest left no sid0 behind: sid 2 was refused with the
  // request, so it can still be recorded.
  EXPECT_TRUE(store->RecordSid0(Bytes(32, 2)).ok());
}

// A request retried in a new session while the first still runs (the
// gateway cancelled it, the node did not stop it) must not have the first
// session's late failure undo the second's success: a completion is never
// taken back (red team 6: GetRequestStatus then read a signed request as
// unknown). The late outcome is still audited.
TEST_F(StoreTest, ALateFailureDoesNotUndoASuccess) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::array<uint8_t, 32> digest{7};
  ASSERT_TRUE(store
                  ->BeginRequest("req-9", "sign", digest, Bytes(32, 9),
                                 Durability::kSynced)
                  .ok());
  ASSERT_TRUE(store
                  ->BeginRequest("req-9", "sign", digest, Bytes(32, 10),
                                 Durability::kSynced)
                  .ok());
  AuditEntry audit;
  audit.operation = "sign";
  audit.request_id = "req-9";
  audit.outcome = "ok";
  ASSERT_TRUE(store
                  ->FinishRequest("req-9", RequestState::kSucceeded, "ok",
                                  Bytes{4, 5, 6}, audit, Durability::kSynced)
                  .ok());
  audit.outcome = "timeout in round 2";
  absl::StatusOr<AuditEntry> late =
      store->FinishRequest("req-9", RequestState::kFailed, "timeout in round 2",
                           Bytes{}, audit, Durability::kSynced);
  ASSERT_TRUE(late.ok()) << late.status();
  absl::StatusOr<RequestRecord> rec = store->GetRequest("req-9");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->state, RequestState::kSucceeded);
  EXPECT_EQ(rec->outcome, "ok");
  EXPECT_EQ(rec->result, (Bytes{4, 5, 6}));
  absl::StatusOr<std::vector<AuditEntry>> log = store->ReadAudit();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[1].outcome, "timeout in round 2");
  // An unknown id is still NotFound.
  EXPECT_EQ(store
                ->FinishRequest("nope", RequestState::kFailed, "x", Bytes{},
                                audit, Durability::kSynced)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, InSessionPresignatureIsConsumedOnce) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const Bytes id(36, 0x42);
  auto first = store->MarkPresignaturesConsumed(
      {{id, TestKeyId(1)}, {Bytes(36, 0x43), TestKeyId(1)}});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_TRUE((*first)[0].ok());
  EXPECT_TRUE((*first)[1].ok());
  // In a later batch, a recorded id fails alone; the new one is recorded.
  auto second = store->MarkPresignaturesConsumed(
      {{Bytes(36, 0x44), TestKeyId(1)}, {id, TestKeyId(1)}});
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE((*second)[0].ok());
  EXPECT_EQ((*second)[1].code(), absl::StatusCode::kFailedPrecondition);
  // The id space is shared with stored presignatures.
  EXPECT_EQ(store->PutPresignature(id, TestKeyId(1), Bytes{9}).code(),
            absl::StatusCode::kAlreadyExists);
  absl::StatusOr<uint64_t> n = store->CountPresignatures();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
}

TEST_F(StoreTest, ListAndGetShares) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store->PutShare(TestKeyId(1), 0, ShareState::kPending, Bytes{1}).ok());
  ASSERT_TRUE(store->ActivateShare(TestKeyId(1), 0).ok());
  ASSERT_TRUE(
      store->PutShare(TestKeyId(1), 1, ShareState::kPending, Bytes{2}).ok());
  ASSERT_TRUE(store->ActivateShare(TestKeyId(1), 1).ok());
  ASSERT_TRUE(
      store->PutShare(TestKeyId(2), 0, ShareState::kPending, Bytes{3}).ok());
  absl::StatusOr<std::vector<ShareRecord>> all = store->ListShares();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);  // the RETIRED epoch 0 of key 1 is left out
  EXPECT_EQ((*all)[0].key_id, TestKeyId(1));
  EXPECT_EQ((*all)[0].epoch, 1u);
  EXPECT_EQ((*all)[0].state, ShareState::kActive);
  EXPECT_EQ((*all)[1].state, ShareState::kPending);
  absl::StatusOr<ShareRecord> old = store->GetShare(TestKeyId(1), 0);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->state, ShareState::kRetired);
  EXPECT_TRUE(old->sealed.empty());  // erased on retirement
  ASSERT_TRUE(store->RetireShares(TestKeyId(1), 1).ok());
  EXPECT_EQ(store->GetActiveShare(TestKeyId(1)).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<ShareRecord> retired = store->GetShare(TestKeyId(1), 1);
  ASSERT_TRUE(retired.ok());
  EXPECT_EQ(retired->state, ShareState::kRetired);
  EXPECT_TRUE(retired->sealed.empty());
  EXPECT_EQ(store->GetShare(TestKeyId(3), 0).status().code(),
            absl::StatusCode::kNotFound);
}

// A pending share is never lost to a later session of the same epoch: each
// waits for its own certificate; activating one (with its certificate)
// erases the others and the old epoch.
TEST_F(StoreTest, PendingSharesOfSeveralSessionsWaitForTheirCertificate) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const KeyId key = TestKeyId(4);
  const Bytes s0 = {0}, s1 = {1}, s2 = {2}, s9 = {9};
  ASSERT_TRUE(
      store->PutShare(key, 0, ShareState::kPending, Bytes{10}, s0).ok());
  ASSERT_TRUE(store->ActivateShare(key, 0, s0, Bytes{0xc0}).ok());
  ASSERT_TRUE(
      store->PutShare(key, 1, ShareState::kPending, Bytes{11}, s1).ok());
  ASSERT_TRUE(
      store->PutShare(key, 1, ShareState::kPending, Bytes{12}, s2).ok());
  ASSERT_TRUE(
      store->PutShare(key, 2, ShareState::kPending, Bytes{13}, s9).ok());
  EXPECT_EQ(store->PutShare(key, 1, ShareState::kPending, Bytes{14}, s2).code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store->SetShareEvidence(key, 1, s1, Bytes{0xee}).ok());
  EXPECT_EQ(store->SetShareEvidence(key, 0, s0, Bytes{1}).code(),
            absl::StatusCode::kNotFound);  // not PENDING
  absl::StatusOr<std::vector<ShareRecord>> pending =
      store->GetPendingShares(key, 1);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].sid, s1);
  EXPECT_EQ((*pending)[0].evidence, Bytes{0xee});
  EXPECT_EQ((*pending)[1].sealed, Bytes{12});
  // The old epoch stays ACTIVE until a certificate activates epoch 1.
  EXPECT_EQ(store->GetActiveShare(key)->epoch, 0u);
  EXPECT_EQ(store->GetActiveShare(key)->certificate, Bytes{0xc0});

  ASSERT_TRUE(store->ActivateShare(key, 1, s2, Bytes{0xc1}).ok());
  absl::StatusOr<StoredShare> active = store->GetActiveShare(key);
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->epoch, 1u);
  EXPECT_EQ(active->sealed, Bytes{12});
  EXPECT_EQ(active->certificate, Bytes{0xc1});
  EXPECT_TRUE(store->GetPendingShares(key, 1)->empty());  // s1 erased
  // Another session's share of an epoch already ACTIVE never replaces it.
  ASSERT_TRUE(
      store->PutShare(key, 1, ShareState::kPending, Bytes{18}, s9).ok());
  EXPECT_EQ(store->ActivateShare(key, 1, s9, Bytes{0xc9}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->GetActiveShare(key)->sealed, Bytes{12});
  EXPECT_EQ(*store->RetirePendingShares(key, 1), 1);
  absl::StatusOr<ShareRecord> old = store->GetShare(key, 0);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->state, ShareState::kRetired);
  EXPECT_TRUE(old->sealed.empty());
  EXPECT_EQ(store->GetPendingShares(key, 2)->size(), 1u);  // a later epoch
  // At most kMaxPendingPerEpoch pending shares wait per key and epoch.
  for (int i = 0; i < kMaxPendingPerEpoch; ++i) {
    ASSERT_TRUE(store
                    ->PutShare(key, 3, ShareState::kPending, Bytes{16},
                               Bytes{static_cast<uint8_t>(100 + i)})
                    .ok());
  }
  EXPECT_EQ(store->PutShare(key, 3, ShareState::kPending, Bytes{17}, Bytes{99})
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*store->RetirePendingShares(key, 3), kMaxPendingPerEpoch);
  EXPECT_EQ(*store->RetirePendingShares(key, 3), 0);
  EXPECT_TRUE(store->GetPendingShares(key, 3)->empty());
  EXPECT_EQ(store->GetActiveShare(key)->epoch, 1u);  // untouched
  // A departure from epoch 0 leaves a later epoch alone...
  ASSERT_TRUE(store->RetireShares(key, 0).ok());
  EXPECT_EQ(store->GetActiveShare(key)->epoch, 1u);
  EXPECT_EQ(store->GetPendingShares(key, 2)->size(), 1u);
  // ...and erases everything up to its epoch, pending included.
  ASSERT_TRUE(store->RetireShares(key, 2).ok());
  EXPECT_TRUE(store->GetPendingShares(key, 2)->empty());
  EXPECT_EQ(store->GetActiveShare(key).status().code(),
            absl::StatusCode::kNotFound);
}

// A version-2 database (shares keyed by key and epoch) opens as version 4
// with its shares intact.
TEST_F(StoreTest, MigratesVersion2Shares) {
  const std::string path = dir_.File("v2.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v2 =
        "CREATE TABLE shares (key_id BLOB NOT NULL, epoch INTEGER NOT NULL, "
        "state TEXT NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (key_id, "
        "epoch));"
        "CREATE UNIQUE INDEX shares_one_active ON shares (key_id) WHERE "
        "state = 'ACTIVE';"
        "INSERT INTO shares VALUES (x'0505050505050505050505050505050505050505"
        "050505050505050505050505', 3, 'ACTIVE', x'aabb');"
        "PRAGMA user_version = 2;";
    ASSERT_EQ(sqlite3_exec(db, v2, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  KeyId key;
  key.fill(5);
  absl::StatusOr<StoredShare> active = (*store)->GetActiveShare(key);
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(active->epoch, 3u);
  EXPECT_EQ(active->sealed, (Bytes{0xaa, 0xbb}));
  EXPECT_EQ(*(*store)->PragmaValue("user_version"), "5");
}

// Version 4 -> 5: request records gain their key and initiator; a record
// made before keeps neither, and new ones record both.
TEST_F(StoreTest, MigratesRequestsFromV4) {
  const std::string path = dir_.File("v4.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v4 =
        "CREATE TABLE requests (request_id TEXT PRIMARY KEY, operation TEXT "
        "NOT NULL, request_digest BLOB NOT NULL, state TEXT NOT NULL, "
        "outcome TEXT NOT NULL, result BLOB NOT NULL, attempts INTEGER NOT "
        "NULL, updated_at INTEGER NOT NULL);"
        "INSERT INTO requests VALUES ('old', 'sign', x'0101010101010101010101"
        "010101010101010101010101010101010101010101', 'succeeded', 'ok', x'', "
        "1, 0);"
        "PRAGMA user_version = 4;";
    ASSERT_EQ(sqlite3_exec(db, v4, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->PragmaValue("user_version"), "5");
  absl::StatusOr<RequestRecord> old = (*store)->GetRequest("old");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->key_id.empty());
  EXPECT_TRUE(old->initiator.empty());
  Admission admission;
  admission.decision.operation = "sign.admit";
  admission.decision.request_id = "new";
  admission.key_id = Bytes(32, 7);
  admission.initiator = "client/exchange";
  ASSERT_TRUE((*store)
                  ->BeginRequest("new", "sign", TestKeyId(0xc5), Bytes(32, 12),
                                 Durability::kSynced, &admission)
                  .ok());
  absl::StatusOr<RequestRecord> rec = (*store)->GetRequest("new");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->key_id, Bytes(32, 7));
  EXPECT_EQ(rec->initiator, "client/exchange");
}

TEST_F(StoreTest, PresignatureConsumedOnce) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const Bytes id = {1, 2, 3};
  EXPECT_EQ(store->ConsumePresignature(id).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store->PutPresignature(id, TestKeyId(1), Bytes{9, 9}).ok());
  EXPECT_EQ(store->PutPresignature(id, TestKeyId(1), Bytes{8}).code(),
            absl::StatusCode::kAlreadyExists);
  absl::StatusOr<Bytes> got = store->ConsumePresignature(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (Bytes{9, 9}));
  absl::Status again = store->ConsumePresignature(id).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.message(), "presignature already consumed");
  store.reset();
  store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->ConsumePresignature(id).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, PresignatureRaceSameStore) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (uint8_t round = 0; round < 20; ++round) {
    const Bytes id = {round};
    ASSERT_TRUE(store->PutPresignature(id, TestKeyId(1), Bytes{round}).ok());
    std::atomic<int> ok{0};
    std::atomic<int> consumed{0};
    auto run = [&] {
      absl::StatusOr<Bytes> r = store->ConsumePresignature(id);
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
        ++consumed;
      }
    };
    std::thread a(run);
    std::thread b(run);
    a.join();
    b.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(consumed.load(), 1);
  }
}

TEST_F(StoreTest, PresignatureRaceTwoConnections) {
  auto s1 = OpenStore();
  auto s2 = OpenStore();
  ASSERT_NE(s1, nullptr);
  ASSERT_NE(s2, nullptr);
  for (uint8_t round = 0; round < 20; ++round) {
    const Bytes id = {round, 0xee};
    ASSERT_TRUE(s1->PutPresignature(id, TestKeyId(1), Bytes{round}).ok());
    std::atomic<int> ok{0};
    std::atomic<int> consumed{0};
    auto run = [&](SqliteStore* s) {
      absl::StatusOr<Bytes> r = s->ConsumePresignature(id);
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
        ++consumed;
      }
    };
    std::thread a(run, s1.get());
    std::thread b(run, s2.get());
    a.join();
    b.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(consumed.load(), 1);
  }
}

TEST_F(StoreTest, Bans) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const Bytes party(32, 0x42);
  absl::StatusOr<bool> b = store->IsBanned(party);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(*b);
  ASSERT_TRUE(store->AddBan(party, "equivocated in round 2").ok());
  ASSERT_TRUE(store->AddBan(party, "again").ok());
  store.reset();
  store = OpenStore();
  ASSERT_NE(store, nullptr);
  b = store->IsBanned(party);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(*b);
  b = store->IsBanned(Bytes(32, 0x43));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(*b);
}

// --- Audit log --------------------------------------------------------------

void AppendThree(Store& store, uint64_t first_seq = 1) {
  for (int i = 1; i <= 3; ++i) {
    AuditEntry e;
    e.unix_time = 1700000000 + i;
    e.operation = "sign";
    e.request_id = absl::StrCat("req-", i);
    e.parties = "1,2";
    e.outcome = "ok";
    e.signature = Bytes(64, static_cast<uint8_t>(i));
    absl::StatusOr<AuditEntry> got = store.AppendAudit(e);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->seq, first_seq + static_cast<uint64_t>(i) - 1);
  }
}

TEST_F(StoreTest, AuditChainVerifies) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    AppendThree(*store);
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  AppendThree(*store, 4);  // continues at seq 4 after reopen
  absl::StatusOr<std::vector<AuditEntry>> log = store->ReadAudit();
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 6u);
  EXPECT_EQ((*log)[0].prev_hash, (std::array<uint8_t, 32>{}));
  for (size_t i = 1; i < log->size(); ++i) {
    EXPECT_EQ((*log)[i].seq, i + 1);
    EXPECT_EQ((*log)[i].prev_hash, (*log)[i - 1].hash);
  }
  EXPECT_TRUE(VerifyAuditChain(*log).ok());
  EXPECT_TRUE(VerifyAuditChain({}).ok());
}

TEST_F(StoreTest, AuditIsAppendOnlyAtSqlLevel) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  AppendThree(*store);
  EXPECT_NE(RawExecRc(db_, "UPDATE audit SET outcome = 'x' WHERE seq = 2"),
            SQLITE_OK);
  EXPECT_NE(RawExecRc(db_, "DELETE FROM audit WHERE seq = 2"), SQLITE_OK);
}

class AuditTamperTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AuditTamperTest, ModifiedFieldIsCaught) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(db);
    ASSERT_TRUE(store.ok());
    AppendThree(**store);
  }
  // An attacker with file access can drop the append-only triggers.
  RawExec(db, "DROP TRIGGER audit_no_update");
  RawExec(db, "DROP TRIGGER audit_no_delete");
  RawExec(db, absl::StrCat("UPDATE audit SET ", GetParam(), " WHERE seq = 2"));
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(db);
  ASSERT_TRUE(store.ok());
  absl::StatusOr<std::vector<AuditEntry>> log = (*store)->ReadAudit();
  absl::Status s = log.ok() ? VerifyAuditChain(*log) : log.status();
  ASSERT_FALSE(s.ok()) << GetParam();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  if (!absl::StartsWith(GetParam(), "seq")) {
    EXPECT_THAT(std::string(s.message()), HasSubstr("seq 2:")) << s;
  } else {
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("audit chain broken at seq"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fields, AuditTamperTest,
    ::testing::Values("unix_time = unix_time + 1", "operation = 'dkg'",
                      "request_id = 'req-x'", "parties = '1,3'",
                      "outcome = 'failed'", "signature = x'00'",
                      "prev_hash = zeroblob(32)", "hash = zeroblob(32)",
                      "hash = x'01'", "seq = 10"));

TEST_F(StoreTest, DeletedMiddleRowIsCaught) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    AppendThree(*store);
  }
  RawExec(db_, "DROP TRIGGER audit_no_delete");
  RawExec(db_, "DELETE FROM audit WHERE seq = 2");
  // Reopen recreates the trigger; the gap is still there.
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<AuditEntry>> log = store->ReadAudit();
  ASSERT_TRUE(log.ok());
  absl::Status s = VerifyAuditChain(*log);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("seq 3:"));
  // Deleting the first row is caught too.
  std::vector<AuditEntry> no_first(log->begin() + 1, log->end());
  EXPECT_FALSE(VerifyAuditChain(no_first).ok());
}

// --- Signed audit log
// ---------------------------------------------------------

crypto::Ed25519PrivateKey TestNodeKey(uint64_t seed = 7) {
  InsecureDeterministicRng rng(seed);
  return crypto::Ed25519PrivateKey::Generate(rng);
}

// RewriteFrom plays the red team with sqlite3 on a stopped node's file:
// `edit` changes record `seq`, then every hash from there on is recomputed
// and written back (the append-only triggers dropped first).
void RewriteFrom(const std::string& db, uint64_t seq,
                 const std::function<void(AuditEntry&)>& edit) {
  std::vector<AuditEntry> log;
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store =
        SqliteStore::OpenReadOnly(db);
    ASSERT_TRUE(store.ok());
    log = *(*store)->ReadAudit();
  }
  RawExec(db, "DROP TRIGGER IF EXISTS audit_no_update");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  for (size_t i = 0; i < log.size(); ++i) {
    AuditEntry& e = log[i];
    if (e.seq < seq) continue;
    if (e.seq == seq) edit(e);
    e.prev_hash = i == 0 ? AuditHash{} : log[i - 1].hash;
    e.hash = AuditEntryHash(e);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw,
                                 "UPDATE audit SET outcome = ?, prev_hash = ?, "
                                 "hash = ?, reservations = ? WHERE seq = ?",
                                 -1, &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(st, 1, e.outcome.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, e.prev_hash.data(), 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, e.hash.data(), 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, e.reservations.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, static_cast<int64_t>(e.seq));
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  sqlite3_close(raw);
}

class SignedAuditTest : public StoreTest {
 protected:
  std::unique_ptr<SqliteStore> OpenSigned() {
    auto store = OpenStore();
    if (store != nullptr) store->SetAuditKey(&key_);
    return store;
  }
  std::vector<AuditEntry> Log() {
    auto store = OpenStore();
    return *store->ReadAudit();
  }
  crypto::Ed25519PrivateKey key_ = TestNodeKey();
};

TEST_F(SignedAuditTest, EveryHeadIsSignedAndTheLatestIsServed) {
  auto store = OpenSigned();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->LatestHead().status().code(), absl::StatusCode::kNotFound);
  AppendThree(*store);
  absl::StatusOr<AuditHead> head = store->LatestHead();
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->seq, 3u);
  EXPECT_TRUE(VerifyAuditHead(key_.PublicKey(), *head).ok());
  const std::vector<AuditEntry> log = Log();
  EXPECT_EQ(head->hash, log.back().hash);
  absl::StatusOr<AuditVerdict> v = VerifySignedAuditLog(log, key_.PublicKey());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records, 3u);
  EXPECT_EQ(v->override_seq, 0u);
  // Another node's key does not verify it.
  EXPECT_EQ(
      VerifySignedAuditLog(log, TestNodeKey(8).PublicKey()).status().code(),
      absl::StatusCode::kDataLoss);
}

// The red team's rewrite: hashes recomputed, so the chain alone says OK; the
// head signatures name the first rewritten record.
TEST_F(SignedAuditTest, RewriteWithRecomputedHashesIsCaughtAtItsFirstRecord) {
  AppendThree(*OpenSigned());
  RewriteFrom(db_, 2, [](AuditEntry& e) { e.outcome = "refused"; });
  const std::vector<AuditEntry> log = Log();
  ASSERT_EQ(log[1].outcome, "refused");
  EXPECT_TRUE(VerifyAuditChain(log).ok());
  for (SignatureCheck check :
       {SignatureCheck::kEveryRecord, SignatureCheck::kLastHead}) {
    absl::Status s =
        VerifySignedAuditLog(log, key_.PublicKey(), check).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(s.message()), HasSubstr("seq 2:"));
    EXPECT_THAT(std::string(s.message()), HasSubstr("head signature"));
    EXPECT_EQ(AuditBadSeq(s), 2u);
  }
}

TEST_F(SignedAuditTest, UnsignedRecordIsCaught) {
  AppendThree(*OpenSigned());
  AppendThree(*OpenStore(), 4);  // appended without the key
  for (SignatureCheck check :
       {SignatureCheck::kEveryRecord, SignatureCheck::kLastHead}) {
    absl::Status s =
        VerifySignedAuditLog(Log(), key_.PublicKey(), check).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("seq 4: record is not signed"));
  }
}

// An operator override record accepts the break before it; a rewrite after
// it is caught again.
TEST_F(SignedAuditTest, OverrideRecordAcceptsTheBreakBeforeIt) {
  AppendThree(*OpenSigned());
  RewriteFrom(db_, 2, [](AuditEntry& e) { e.outcome = "refused"; });
  ASSERT_TRUE(
      OpenSigned()
          ->AppendAudit(AuditOverrideRecord(
              Log(), 1700000100, "operator accepted the break at seq 2"))
          .ok());
  AppendThree(*OpenSigned(), 5);
  absl::StatusOr<AuditVerdict> v =
      VerifySignedAuditLog(Log(), key_.PublicKey());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->override_seq, 4u);
  EXPECT_THAT(v->accepted_error, HasSubstr("seq 2:"));
  // With an override in the log, the fast check looks at every record too.
  v = VerifySignedAuditLog(Log(), key_.PublicKey(), SignatureCheck::kLastHead);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->override_seq, 4u);
  EXPECT_THAT(v->accepted_error, HasSubstr("seq 2:"));
  // A new break after the override is named, not the accepted one.
  RewriteFrom(db_, 6, [](AuditEntry& e) { e.outcome = "refused"; });
  for (SignatureCheck check :
       {SignatureCheck::kEveryRecord, SignatureCheck::kLastHead}) {
    absl::Status s =
        VerifySignedAuditLog(Log(), key_.PublicKey(), check).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(s.message()), HasSubstr("seq 6:"));
  }
}

// The velocity rows are checked against the reservations the signed
// admission records hold: a wiped or edited row is found.
TEST_F(SignedAuditTest, WipedOrEditedVelocityRowIsCaught) {
  Admission admission;
  admission.decision.operation = "sign.admit";
  admission.decision.request_id = "req-v";
  VelocityReservation r;
  r.scope = "r|key|BTC";
  r.unix_time = 1000;
  r.amount = TestKeyId(0x01);
  admission.reservations.push_back(r);
  {
    auto store = OpenSigned();
    ASSERT_TRUE(store
                    ->BeginRequest("req-v", "sign", TestKeyId(0xd1),
                                   Bytes(32, 9), Durability::kSynced,
                                   &admission)
                    .ok());
    ASSERT_TRUE(store
                    ->BeginRequest("req-v", "sign", TestKeyId(0xd1),
                                   Bytes(32, 10), Durability::kSynced,
                                   &admission)
                    .ok());
  }
  std::vector<AuditEntry> log = Log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(*ParseReservations(log[0].reservations),
            std::vector<VelocityReservation>{r});
  EXPECT_TRUE(VerifySignedAuditLog(log, key_.PublicKey()).ok());
  EXPECT_TRUE(VerifyVelocityRows(log, *OpenStore()->ReadVelocity()).ok());

  RawExec(db_, "UPDATE velocity SET unix_time = 1");
  absl::Status s = VerifyVelocityRows(log, *OpenStore()->ReadVelocity());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("differs"));

  RawExec(db_, "DELETE FROM velocity");
  s = VerifyVelocityRows(log, *OpenStore()->ReadVelocity());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("request 'req-v'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("seq 1"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("missing"));
  // The break names the record, so an operator override can match it.
  EXPECT_EQ(AuditBadSeq(s), 1u);
}

Admission VelocityAdmission(const std::string& request_id, int64_t t,
                            uint8_t amount) {
  Admission a;
  a.decision.operation = "sign.admit";
  a.decision.request_id = request_id;
  a.decision.unix_time = t;
  VelocityReservation r;
  r.scope = "rule|key|BTC";
  r.unix_time = t;
  r.amount = TestKeyId(amount);
  a.reservations.push_back(r);
  return a;
}

// Red team (wt-red1): once the log held any override, every record before
// it could be edited in place unnoticed. The override pins the content of
// the records it accepted: an edit of any of them is a break named at the
// override (which an operator may accept again, with a new override).
TEST_F(SignedAuditTest, OverridePinsTheRecordsItAccepted) {
  AppendThree(*OpenSigned());
  ASSERT_TRUE(OpenSigned()
                  ->AppendAudit(AuditOverrideRecord(Log(), 1700000100,
                                                    "operator override"))
                  .ok());
  AppendThree(*OpenSigned(), 5);
  ASSERT_TRUE(VerifySignedAuditLog(Log(), key_.PublicKey()).ok());

  // Record seq 2 edited in place (its stored hash left as it was).
  RawExec(db_, "DROP TRIGGER audit_no_update");
  RawExec(db_,
          "UPDATE audit SET outcome = 'refused', signature = x'' WHERE seq = "
          "2");
  for (SignatureCheck check :
       {SignatureCheck::kEveryRecord, SignatureCheck::kLastHead}) {
    absl::Status s =
        VerifySignedAuditLog(Log(), key_.PublicKey(), check).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("seq 4: the records before this operator override "
                          "differ"));
    EXPECT_EQ(AuditBadSeq(s), 4u);
  }
  // Rewritten with recomputed hashes (and the override's own hash): the
  // override's signature no longer verifies.
  RewriteFrom(db_, 3, [](AuditEntry& e) { e.outcome = "refused"; });
  EXPECT_EQ(VerifySignedAuditLog(Log(), key_.PublicKey()).status().code(),
            absl::StatusCode::kDataLoss);
}

// An operator may accept an edited prefix again: the new override pins it.
TEST_F(SignedAuditTest, ASecondOverridePinsTheEditedPrefix) {
  AppendThree(*OpenSigned());
  ASSERT_TRUE(OpenSigned()
                  ->AppendAudit(AuditOverrideRecord(Log(), 1700000100, "o1"))
                  .ok());
  RawExec(db_, "DROP TRIGGER audit_no_update");
  RawExec(db_, "UPDATE audit SET outcome = 'x' WHERE seq = 2");
  ASSERT_EQ(AuditBadSeq(VerifySignedAuditLog(Log(), key_.PublicKey()).status()),
            4u);
  ASSERT_TRUE(OpenSigned()
                  ->AppendAudit(AuditOverrideRecord(Log(), 1700000200, "o2"))
                  .ok());
  absl::StatusOr<AuditVerdict> v =
      VerifySignedAuditLog(Log(), key_.PublicKey());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->override_seq, 5u);
  EXPECT_THAT(v->accepted_error, HasSubstr("seq 2:"));
}

// Red team (wt-red1): velocity rows of admissions before the last override
// were never checked. Every signed reservation is checked.
TEST_F(SignedAuditTest, VelocityRowsBeforeAnOverrideAreChecked) {
  {
    auto store = OpenSigned();
    Admission a = VelocityAdmission("req-big", 1000, 0x7f);
    ASSERT_TRUE(store
                    ->BeginRequest("req-big", "sign", TestKeyId(0xe1),
                                   Bytes(32, 1), Durability::kSynced, &a)
                    .ok());
  }
  ASSERT_TRUE(
      OpenSigned()
          ->AppendAudit(AuditOverrideRecord(Log(), 1001, "operator override"))
          .ok());
  RawExec(db_, "DELETE FROM velocity");
  const std::vector<AuditEntry> log = Log();
  ASSERT_TRUE(VerifySignedAuditLog(log, key_.PublicKey()).ok());
  const absl::Status s = VerifyVelocityRows(log, *OpenStore()->ReadVelocity());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("request 'req-big'"));
  EXPECT_EQ(AuditBadSeq(s), 1u);
}

// Red team (wt-red1): the ban table was not covered by the signed log. A ban
// is signed with its row; a deleted row is a break naming its record.
TEST_F(SignedAuditTest, DeletedBanRowIsCaught) {
  const Bytes node3(32, 0x33);
  {
    auto store = OpenSigned();
    AppendThree(*store);
    ASSERT_TRUE(store->AddBan(node3, "OT consistency check failed").ok());
    ASSERT_TRUE(store->AddBan(node3, "again").ok());  // no second record
  }
  const std::vector<AuditEntry> log = Log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[3].operation, kAuditBanOperation);
  EXPECT_EQ(log[3].parties, HexEncode(node3));
  EXPECT_EQ(log[3].outcome, "OT consistency check failed");
  ASSERT_TRUE(VerifySignedAuditLog(log, key_.PublicKey()).ok());
  ASSERT_TRUE(VerifyBanRows(log, *OpenStore()->ReadBans()).ok());

  RawExec(db_, "DELETE FROM bans");
  const absl::Status s = VerifyBanRows(log, *OpenStore()->ReadBans());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr(HexEncode(node3)));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("missing from the ban table"));
  EXPECT_EQ(AuditBadSeq(s), 4u);
}

// A ban is lifted only with a signed lift record (kagictl ban lift): then
// its row may be gone, and an override does not bring it back.
TEST_F(SignedAuditTest, LiftedBanIsSignedAndNotRestored) {
  const Bytes node3(32, 0x33);
  {
    auto store = OpenSigned();
    ASSERT_TRUE(store->AddBan(node3, "equivocated").ok());
    EXPECT_FALSE(*store->LiftBan(Bytes(32, 0x44), "not banned"));
    EXPECT_TRUE(*store->LiftBan(node3, "operator: reviewed"));
    EXPECT_FALSE(*store->IsBanned(node3));
  }
  const std::vector<AuditEntry> log = Log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].operation, kAuditBanLiftOperation);
  ASSERT_TRUE(VerifySignedAuditLog(log, key_.PublicKey()).ok());
  EXPECT_TRUE(VerifyBanRows(log, *OpenStore()->ReadBans()).ok());
  ASSERT_TRUE(OpenStore()->RestoreSignedRows(log).ok());
  EXPECT_FALSE(*OpenStore()->IsBanned(node3));
}

// The signed log is the truth: RestoreSignedRows (an operator override)
// writes back wiped or edited velocity rows and deleted bans.
TEST_F(SignedAuditTest, RestoreSignedRowsRebuildsVelocityAndBans) {
  const Bytes node3(32, 0x33);
  {
    auto store = OpenSigned();
    for (int i = 1; i <= 2; ++i) {
      const std::string id = absl::StrCat("req-", i);
      Admission a = VelocityAdmission(id, 1000 + i, 0x10);
      ASSERT_TRUE(store
                      ->BeginRequest(id, "sign", TestKeyId(0xd0 + i),
                                     Bytes(32, static_cast<uint8_t>(i)),
                                     Durability::kSynced, &a)
                      .ok());
    }
    ASSERT_TRUE(store->AddBan(node3, "equivocated").ok());
  }
  const std::vector<VelocityRow> velocity = *OpenStore()->ReadVelocity();
  RawExec(db_, "DELETE FROM velocity WHERE request_id = 'req-1'");
  RawExec(db_, "UPDATE velocity SET unix_time = 1");
  RawExec(db_, "DELETE FROM bans");
  const std::vector<AuditEntry> log = Log();
  ASSERT_FALSE(VerifyVelocityRows(log, *OpenStore()->ReadVelocity()).ok());
  ASSERT_TRUE(OpenStore()->RestoreSignedRows(log).ok());
  EXPECT_TRUE(VerifyVelocityRows(log, *OpenStore()->ReadVelocity()).ok());
  EXPECT_TRUE(VerifyBanRows(log, *OpenStore()->ReadBans()).ok());
  EXPECT_TRUE(*OpenStore()->IsBanned(node3));
  const std::vector<VelocityRow> rebuilt = *OpenStore()->ReadVelocity();
  ASSERT_EQ(rebuilt.size(), velocity.size());
  for (size_t i = 0; i < rebuilt.size(); ++i) {
    EXPECT_EQ(rebuilt[i].request_id, velocity[i].request_id);
    EXPECT_EQ(rebuilt[i].reservation, velocity[i].reservation);
  }
}

TEST_F(StoreTest, KekCheckIsStoredOnce) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->GetKekCheck().status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store->PutKekCheck(Bytes{1, 2, 3}).ok());
  EXPECT_EQ(store->PutKekCheck(Bytes{4}).code(),
            absl::StatusCode::kAlreadyExists);
  store.reset();
  store = OpenStore();
  EXPECT_EQ(*store->GetKekCheck(), (Bytes{1, 2, 3}));
}

TEST(AuditAnchorsTest, RoundTripAndMalformed) {
  AuditAnchor a;
  a.node = "node-2";
  a.head.seq = 42;
  a.head.hash.fill(0xab);
  a.head.signature.fill(0xcd);
  AuditAnchor b = a;
  b.node = "node-3";
  b.head.seq = 7;
  absl::StatusOr<std::vector<AuditAnchor>> parsed =
      ParseAnchors(EncodeAnchors({a, b}));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].node, "node-2");
  EXPECT_EQ((*parsed)[0].head.seq, 42u);
  EXPECT_EQ((*parsed)[1].head.signature, b.head.signature);
  EXPECT_TRUE(ParseAnchors("")->empty());
  for (const char* bad :
       {"node-2", "node-2:x:00:00", "node-2:1:00:00", ":1:"}) {
    EXPECT_EQ(ParseAnchors(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

// Found by the fuzz target tests/fuzz/stored_fuzz.cc (corpus
// regression-reservations-uppercase): the audit text fields parse only in
// the spelling their encoders write, so one record has one text.
TEST(AuditTextTest, OnlyTheCanonicalSpellingParses) {
  VelocityReservation r;
  r.scope = "btc|k|BTC";
  r.unix_time = 1795341914;
  r.amount[31] = 0x4a;
  const std::string good = EncodeReservations({r});
  ASSERT_TRUE(ParseReservations(good).ok());
  const std::string hex_amount = HexEncode(r.amount);
  for (const std::string& bad :
       {absl::StrReplaceAll(good,
                            {{hex_amount, absl::AsciiStrToUpper(hex_amount)}}),
        absl::StrReplaceAll(good, {{":1795341914:", ":+1795341914:"}}),
        absl::StrReplaceAll(good, {{":1795341914:", ":01795341914:"}})}) {
    EXPECT_EQ(ParseReservations(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  AuditAnchor a;
  a.node = "node-2";
  a.head.seq = 42;
  a.head.hash.fill(0xab);
  const std::string anchor = EncodeAnchors({a});
  ASSERT_TRUE(ParseAnchors(anchor).ok());
  for (const std::string& bad :
       {absl::StrReplaceAll(anchor, {{"abab", "ABAB"}}),
        absl::StrReplaceAll(anchor, {{":42:", ":+42:"}}),
        absl::StrReplaceAll(anchor, {{":42:", ":042:"}})}) {
    EXPECT_EQ(ParseAnchors(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace kagi::storage
