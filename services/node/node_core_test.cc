// NodeCore in process (node.h): no sockets. node-1 of a 2-of-3 cluster
// runs over the real SQLite store in a temporary file (":memory:" is
// refused: the store needs WAL), a fake peer
// transport that records what it is asked to send and reaches nobody, and
// a ManualClock. Each refusal path of the pipeline (operation.h) is driven
// once, and each refusal is checked to be on the node's own audit record.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/clock.h"
#include "libs/policy/approval.h"
#include "libs/policy/request_digest.h"
#include "libs/protocol/testing/simulation.h"
#include "libs/storage/sealed.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/config.h"
#include "services/node/admin_change.h"
#include "services/node/node.h"

namespace kagi::node {
namespace {

using ::testing::HasSubstr;
using Key32 = std::array<uint8_t, 32>;

constexpr int64_t kNow = 1900000000;

// FakePeers: a peer transport that reaches nobody and remembers to whom it
// was asked to send (a session that starts sends round 1 at once).
class FakePeers final : public PeerTransport {
 public:
  void Send(const std::string& node, const Sid0&, Bytes,
            std::function<void(absl::Status)> on_done) override {
    {
      absl::MutexLock lock(&mu_);
      sent_to_.push_back(node);
    }
    on_done(absl::UnavailableError(absl::StrCat(node, ": unreachable")));
  }
  size_t sends() {
    absl::MutexLock lock(&mu_);
    return sent_to_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> sent_to_ ABSL_GUARDED_BY(mu_);
};

std::vector<Bytes> Seeds() {
  return {Bytes(32, 0xb1), Bytes(32, 0xb2), Bytes(32, 0xb3)};
}

// The cluster's key, made once by an honest in-process DKG.
const protocol::testing::DkgRun& Dkg() {
  static const auto* dkg =
      new protocol::testing::DkgRun(protocol::testing::RunDkgWith(
          protocol::testing::IdentitiesFromSeeds(Seeds()), 2, 7));
  return *dkg;
}

const Key32& KeyOf(uint32_t party) {
  return Dkg().ids.parties[party - 1].identity_key;
}

std::string PolicyText(const policy::ApproverKey& alice,
                       const policy::ApproverKey& bob) {
  return absl::StrCat(
      "version: 1\nrevision: \"core-test\"\n"
      "approvers { name: \"alice\" groups: [\"treasury\"] "
      "ed25519_public_key: \"",
      alice.PublicKeyHex(),
      "\" }\n"
      "approvers { name: \"bob\" groups: [\"treasury\", \"risk\"] "
      "ed25519_public_key: \"",
      bob.PublicKeyHex(),
      "\" }\n"
      "rules { name: \"digests\" chain: \"raw_digest\" "
      "approvals { group: \"risk\" count: 1 } }\n"
      "admin { approvals { group: \"treasury\" count: 2 } "
      "initiators: \"client/ops\" }\n");
}

class NodeCoreTest : public ::testing::Test {
 protected:
  NodeCoreTest() : clock_(absl::FromUnixSeconds(kNow)) {
    char tmpl[] = "/tmp/kagi-node-core-test-XXXXXX";
    dir_ = mkdtemp(tmpl) != nullptr ? tmpl : "/tmp";
    db_path_ = dir_ + "/node.db";
  }
  ~NodeCoreTest() override {
    core_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // StartNode builds node-1 holding the key bound to `networks`, with a
  // policy unless `with_policy` is false.
  void StartNode(std::vector<std::string> networks = {"raw_digest"},
                 bool with_policy = true) {
    ASSERT_TRUE(Dkg().ok());
    v1::NodeConfig config;
    config.set_name("node-1");
    for (uint32_t id = 2; id <= 3; ++id) {
      v1::PeerConfig* peer = config.add_peers();
      peer->set_name(absl::StrCat("node-", id));
      peer->set_address(absl::StrCat("127.0.0.1:", id));
      peer->set_identity_public_key(HexEncode(KeyOf(id)));
    }
    config.set_storage_path(db_path_);
    config.set_allow_raw_digest(true);
    config.mutable_limits()->set_round_timeout_ms(2000);
    absl::StatusOr<std::unique_ptr<storage::SqliteStore>> store =
        storage::SqliteStore::Open(db_path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->get();
    PutShare(std::move(networks));
    std::shared_ptr<const policy::Policy> policy;
    if (with_policy) {
      v1::Policy proto;
      ASSERT_TRUE(
          transport::ParseTextProto(PolicyText(alice_, bob_), "policy", &proto)
              .ok());
      absl::StatusOr<policy::Policy> parsed = policy::Policy::FromProto(proto);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      policy = std::make_shared<const policy::Policy>(*std::move(parsed));
    }
    absl::StatusOr<crypto::Ed25519PrivateKey> identity =
        crypto::Ed25519PrivateKey::FromSeed(SecretBytes(Seeds()[0]));
    ASSERT_TRUE(identity.ok());
    absl::StatusOr<std::unique_ptr<NodeCore>> core =
        NodeCore::Create(config, *std::move(store), Kek(), *std::move(identity),
                         &peers_, std::move(policy), nullptr, &clock_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
    ASSERT_TRUE(core_->CheckKek().ok());
  }

  static SecretBytes Kek() { return SecretBytes(Bytes(32, 0x42)); }

  void PutShare(std::vector<std::string> networks) {
    absl::StatusOr<protocol::KeyShare> share =
        protocol::KeyShare::Deserialize(Dkg().shares[0].Serialize().secret());
    ASSERT_TRUE(share.ok());
    share->networks = std::move(networks);
    key_id_ = share->key_id;
    const SecretBytes plain = share->Serialize();
    InsecureDeterministicRng rng(3);
    const storage::RecordContext ctx{storage::kRecordShare, share->key_id,
                                     share->epoch, 1};
    absl::StatusOr<Bytes> sealed =
        storage::Seal(Kek(), ctx, plain.secret(), rng);
    ASSERT_TRUE(sealed.ok());
    ASSERT_TRUE(store_
                    ->PutShare(share->key_id, share->epoch,
                               storage::ShareState::kActive, *sealed,
                               share->sid_key)
                    .ok());
  }

  // A raw-digest signing request of the key by parties 1 and 2, expiring
  // an hour from the clock's now, approved by `approvers`.
  v1::StartSignRequest SignRequest(
      const std::string& request_id,
      const std::vector<const policy::ApproverKey*>& approvers) {
    v1::StartSignRequest request;
    request.set_initiator("client/ops");
    request.add_signers(1);
    request.add_signers(2);
    request.set_initiator_nonce(std::string(32, '\x05'));
    v1::SignRequest& r = *request.mutable_request();
    r.set_request_id(request_id);
    r.set_key_id(std::string(key_id_.begin(), key_id_.end()));
    r.set_expiry_unix_seconds(kNow + 3600);
    v1::DigestItem* item =
        r.mutable_payload()->mutable_raw_digest()->add_items();
    item->set_digest(std::string(32, '\x22'));
    item->add_path(0);
    Approve(approvers, r);
    return request;
  }

  void Approve(const std::vector<const policy::ApproverKey*>& approvers,
               v1::SignRequest& r) {
    r.clear_approvals();
    absl::StatusOr<policy::RequestDigest> digest = policy::SignRequestDigest(r);
    ASSERT_TRUE(digest.ok());
    for (const policy::ApproverKey* key : approvers)
      AddApproval(*key, *digest, r.mutable_approvals());
  }

  void AddApproval(const policy::ApproverKey& key, const Key32& digest,
                   google::protobuf::RepeatedPtrField<v1::Approval>* out) {
    absl::StatusOr<Bytes> sig = key.Sign(digest);
    ASSERT_TRUE(sig.ok());
    v1::Approval* a = out->Add();
    a->set_approver(&key == &alice_ ? "alice" : "bob");
    a->set_signature(std::string(sig->begin(), sig->end()));
  }

  // A key creation by all three nodes, approved by alice and bob over the
  // admin digest of `approved` (the request itself unless given).
  v1::StartDkgRequest DkgRequest(
      const v1::StartDkgRequest* approved = nullptr) {
    v1::StartDkgRequest request;
    request.set_request_id("create-1");
    request.set_threshold(2);
    for (uint32_t id = 1; id <= 3; ++id) {
      request.add_party_identity_keys(
          std::string(KeyOf(id).begin(), KeyOf(id).end()));
    }
    request.set_initiator_nonce(std::string(32, '\x06'));
    request.set_expiry_unix_seconds(kNow + 3600);
    request.set_initiator("client/ops");
    request.add_networks("bitcoin:regtest");
    const NodeNameOf name_of = [](const Key32& k) -> std::string {
      for (uint32_t id = 1; id <= 3; ++id) {
        if (k == KeyOf(id)) return absl::StrCat("node-", id);
      }
      return "";
    };
    absl::StatusOr<policy::AdminChange> change =
        DkgChange(approved != nullptr ? *approved : request, name_of);
    EXPECT_TRUE(change.ok()) << change.status();
    const Key32 digest = policy::AdminDigest(*change);
    AddApproval(alice_, digest, request.mutable_approvals());
    AddApproval(bob_, digest, request.mutable_approvals());
    return request;
  }

  // Refused: `status` has `code` and `text`, the call did not reach the
  // store, and the node's audit log ends with the refusal.
  void ExpectRefused(const absl::Status& status, const CallInfo& info,
                     absl::StatusCode code, const std::string& text) {
    EXPECT_EQ(status.code(), code) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(text));
    EXPECT_FALSE(info.recorded);
    absl::StatusOr<std::vector<storage::AuditEntry>> log = store_->ReadAudit();
    ASSERT_TRUE(log.ok());
    ASSERT_FALSE(log->empty());
    EXPECT_THAT(log->back().outcome, HasSubstr("refused: "));
    EXPECT_THAT(log->back().outcome, HasSubstr(text));
    EXPECT_EQ(log->back().unix_time, absl::ToUnixSeconds(clock_.Now()));
  }

  absl::Status Sign(const v1::StartSignRequest& request, CallInfo* info) {
    return core_->StartSign(request, info).status();
  }

  std::string dir_;
  std::string db_path_;
  ManualClock clock_;
  FakePeers peers_;
  policy::ApproverKey alice_ =
      *policy::ApproverKey::Generate(policy::ApproverEntry::Scheme::kEd25519);
  policy::ApproverKey bob_ =
      *policy::ApproverKey::Generate(policy::ApproverEntry::Scheme::kEd25519);
  storage::SqliteStore* store_ = nullptr;  // owned by core_
  Key32 key_id_{};
  std::unique_ptr<NodeCore> core_;
};

TEST_F(NodeCoreTest, ExpiredRequestIsRefusedByTheInjectedClock) {
  StartNode();
  const v1::StartSignRequest request = SignRequest("sign-1", {&alice_, &bob_});
  clock_.Advance(absl::Hours(2));
  CallInfo info;
  ExpectRefused(Sign(request, &info), info,
                absl::StatusCode::kFailedPrecondition, "the request expired");
  EXPECT_EQ(peers_.sends(), 0u);
}

TEST_F(NodeCoreTest, ApprovalsOverAnotherRequestAreRefused) {
  StartNode();
  v1::StartSignRequest request = SignRequest("sign-1", {&alice_, &bob_});
  // Changed after approval: the approvals are over the old digest.
  request.mutable_request()->set_expiry_unix_seconds(kNow + 1800);
  CallInfo info;
  const absl::Status st = Sign(request, &info);
  ExpectRefused(st, info, absl::StatusCode::kPermissionDenied,
                "the request is not the one that was approved");
}

TEST_F(NodeCoreTest, PolicyRefusalNamesNodeAndRevision) {
  StartNode();
  // The raw-digest rule needs one of "risk": alice is not.
  const v1::StartSignRequest request = SignRequest("sign-1", {&alice_});
  CallInfo info;
  ExpectRefused(Sign(request, &info), info, absl::StatusCode::kPermissionDenied,
                "policy of node-1 (revision 'core-test') refuses");
}

TEST_F(NodeCoreTest, NoPolicyRefusesEverything) {
  StartNode({"raw_digest"}, /*with_policy=*/false);
  CallInfo info;
  ExpectRefused(Sign(SignRequest("sign-1", {&alice_, &bob_}), &info), info,
                absl::StatusCode::kFailedPrecondition, "node-1 has no policy");
}

TEST_F(NodeCoreTest, RequestOutsideTheKeysNetworksIsRefused) {
  StartNode({"bitcoin:regtest"});
  CallInfo info;
  const absl::Status st = Sign(SignRequest("sign-1", {&alice_, &bob_}), &info);
  ExpectRefused(st, info, absl::StatusCode::kPermissionDenied, "raw_digest");
}

TEST_F(NodeCoreTest, UnknownKeyIsRefused) {
  StartNode();
  v1::StartSignRequest request = SignRequest("sign-1", {});
  request.mutable_request()->set_key_id(std::string(32, '\x77'));
  Approve({&alice_, &bob_}, *request.mutable_request());
  CallInfo info;
  ExpectRefused(Sign(request, &info), info, absl::StatusCode::kNotFound,
                "unknown key");
}

TEST_F(NodeCoreTest, BannedSignerIsRefused) {
  StartNode();
  ASSERT_TRUE(store_->AddBan(KeyOf(2), "test ban").ok());
  CallInfo info;
  ExpectRefused(Sign(SignRequest("sign-1", {&alice_, &bob_}), &info), info,
                absl::StatusCode::kFailedPrecondition,
                "node-2 is banned on node-1");
  EXPECT_EQ(peers_.sends(), 0u);
}

TEST_F(NodeCoreTest, AdmittedRequestIsRecordedAndItsIdIsNotReusable) {
  StartNode();
  CallInfo first;
  const absl::Status ran =
      Sign(SignRequest("sign-1", {&alice_, &bob_}), &first);
  // Admitted: the session started (round 1 went to node-2) and its failure
  // is the request's recorded outcome.
  EXPECT_FALSE(ran.ok());
  EXPECT_TRUE(first.recorded);
  EXPECT_GE(peers_.sends(), 1u);
  EXPECT_EQ(first.names.at(2), "node-2");
  absl::StatusOr<storage::RequestRecord> rec = store_->GetRequest("sign-1");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->state, storage::RequestState::kFailed);
  // Another request under the same id is refused before any session.
  v1::StartSignRequest other = SignRequest("sign-1", {});
  other.mutable_request()
      ->mutable_payload()
      ->mutable_raw_digest()
      ->mutable_items(0)
      ->set_digest(std::string(32, '\x33'));
  Approve({&alice_, &bob_}, *other.mutable_request());
  const size_t sends = peers_.sends();
  CallInfo second;
  const absl::Status reused = Sign(other, &second);
  EXPECT_FALSE(reused.ok());
  EXPECT_FALSE(second.recorded);
  EXPECT_EQ(peers_.sends(), sends);
  EXPECT_THAT(std::string(reused.message()), HasSubstr("sign-1"));
}

TEST_F(NodeCoreTest, AdminApprovalsOverAnotherChangeAreRefused) {
  StartNode();
  v1::StartDkgRequest approved = DkgRequest();
  approved.set_threshold(3);
  v1::StartDkgRequest request = DkgRequest(&approved);
  CallInfo info;
  ExpectRefused(core_->StartDkg(request, &info).status(), info,
                absl::StatusCode::kPermissionDenied,
                "the request is not the one that was approved");
}

TEST_F(NodeCoreTest, AdminInitiatorMustBeListed) {
  StartNode();
  v1::StartDkgRequest request = DkgRequest();
  request.set_initiator("client/someone");
  CallInfo info;
  ExpectRefused(core_->StartDkg(request, &info).status(), info,
                absl::StatusCode::kPermissionDenied, "client/someone");
}

TEST_F(NodeCoreTest, AdmittedKeyCreationReachesTheStore) {
  StartNode();
  CallInfo info;
  const absl::Status st = core_->StartDkg(DkgRequest(), &info).status();
  EXPECT_FALSE(st.ok());  // the peers are unreachable
  EXPECT_TRUE(info.recorded);
  absl::StatusOr<storage::RequestRecord> rec = store_->GetRequest("create-1");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->state, storage::RequestState::kFailed);
}

TEST_F(NodeCoreTest, ReshareOfAnUnknownEpochIsRefused) {
  StartNode();
  v1::StartReshareRequest request;
  request.set_request_id("refresh-1");
  request.set_key_id(std::string(key_id_.begin(), key_id_.end()));
  request.set_epoch(5);
  request.set_new_threshold(2);
  for (uint32_t id = 1; id <= 2; ++id) {
    request.add_dealers(id);
    request.add_dealer_identity_keys(
        std::string(KeyOf(id).begin(), KeyOf(id).end()));
  }
  for (uint32_t id = 1; id <= 3; ++id) {
    request.add_new_party_identity_keys(
        std::string(KeyOf(id).begin(), KeyOf(id).end()));
  }
  request.set_initiator_nonce(std::string(32, '\x07'));
  request.set_expiry_unix_seconds(kNow + 3600);
  request.set_initiator("client/ops");
  CallInfo info;
  ExpectRefused(core_->StartReshare(request, &info).status(), info,
                absl::StatusCode::kFailedPrecondition,
                "this node holds epoch 0, request says 5");
}

}  // namespace
}  // namespace kagi::node
