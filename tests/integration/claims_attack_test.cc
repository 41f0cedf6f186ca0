// Request claims and request status under one compromised node, on a real
// cluster of four nodes (kagi-node x4 + kagi-gateway, mTLS, SQLite) under the
// strict demo policy. The attacker holds node-4's certificate and identity
// key and runs modified code (compromised_node.cc) or pushes claims of its
// own making over the Peer channel. What must hold (docs/api.md "Request
// ids", docs/threat-model.md):
//   * a member cannot veto signing by what it claims: the other members
//     sign with a signer set without it;
//   * a claim nobody can check burns nothing, and claims about one key
//     never refuse another key's request;
//   * a member cannot make another store rows about requests nobody made;
//   * a request id used for a different approved request is still refused
//     by the members that did not see it;
//   * GetRequestStatus answers "succeeded" only with the signers' agreement
//     and valid signatures, and only to the request's initiator.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/policy/request_digest.h"
#include "libs/transport/identity_key.h"
#include "services/node/request_claims.h"
#include "tests/integration/approved_requests.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;

class ClaimsAttackTest : public ClusterSuite<ClaimsAttackTest> {
 public:
  static ClusterConfig Config() { return StrictCluster(KAGI_IT_BASE_PORT, 4); }

 protected:
  static void SetUpTestSuite() {
    ClusterSuite<ClaimsAttackTest>::SetUpTestSuite();
    if (cluster_ == nullptr) return;
    absl::Status made = CreateApprovedKey(
        *cluster_, {"node-1", "node-2", "node-3", "node-4"}, 2, &key_);
    if (made.ok()) {
      made = CreateApprovedKey(*cluster_, {"node-1", "node-2"}, 2, &pair_);
    }
    if (!made.ok()) setup_error_ = std::string(made.message());
  }

  // Replaces node-4 by the compromised node with `args` until Restore().
  static void Compromise(const std::vector<std::string>& args) {
    ASSERT_TRUE(cluster_->StopNode(4, SIGTERM).ok());
    const std::string cfg = cluster_->NodeConfigPath(4);
    const std::string log =
        absl::StrCat(cluster_->dir(), "/node-4/compromised.log");
    std::vector<std::string> argv = {KAGI_COMPROMISED_NODE, cfg};
    argv.insert(argv.end(), args.begin(), args.end());
    compromised_ = fork();
    if (compromised_ == 0) {
      freopen(log.c_str(), "a", stdout);
      std::vector<char*> raw;
      for (std::string& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      execv(raw[0], raw.data());
      _exit(127);
    }
    ASSERT_GT(compromised_, 0);
    absl::SleepFor(absl::Seconds(1));
  }
  static void Restore() {
    if (compromised_ > 0) {
      kill(compromised_, SIGTERM);
      waitpid(compromised_, nullptr, 0);
      compromised_ = -1;
    }
    ASSERT_TRUE(cluster_->StartNode(4).ok());
    ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
  }

  // node-4's own signed claim that `request_id` of key_ was `state` for
  // another request, pushed to node i over the Peer channel as node-4.
  static grpc::Status PushUnprovenClaim(int i, const std::string& request_id,
                                        absl::string_view state) {
    absl::StatusOr<crypto::Ed25519PrivateKey> identity =
        transport::LoadIdentityKey(
            absl::StrCat(cluster_->dir(), "/node-4/identity.pem"));
    if (!identity.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "id");
    node::ClaimSubject s;
    s.request_id = request_id;
    std::copy(key_.key_id().begin(), key_.key_id().end(), s.key_id.begin());
    s.request_digest.fill(0xEE);
    s.sid0.fill(0xEE);
    v1::RequestClaims req;
    req.set_request_id(request_id);
    *req.add_claims() =
        node::MakeClaim(s, state, v1::SignRequest(), {}, *identity);
    return Push(i, req);
  }
  static grpc::Status Push(int i, const v1::RequestClaims& req) {
    absl::StatusOr<std::unique_ptr<v1::Peer::Stub>> stub =
        cluster_->PeerStub(i, "node-4");
    if (!stub.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "stub");
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::RequestClaims out;
    return (*stub)->ExchangeRequestClaims(&ctx, req, &out);
  }

  // node-4's own validly signed claim in `state` about `r` (a request that
  // approvers really approved) carrying `r` and `sigs` whatever the state
  // (a compromised node sends what it likes), pushed to node i.
  static grpc::Status PushClaim(
      int i, const v1::SignRequest& r, absl::string_view state,
      const google::protobuf::RepeatedPtrField<v1::SignatureResult>& sigs) {
    absl::StatusOr<crypto::Ed25519PrivateKey> identity =
        transport::LoadIdentityKey(
            absl::StrCat(cluster_->dir(), "/node-4/identity.pem"));
    if (!identity.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "id");
    absl::StatusOr<policy::RequestDigest> digest = policy::SignRequestDigest(r);
    if (!digest.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "dg");
    node::ClaimSubject s;
    s.request_id = r.request_id();
    std::copy(r.key_id().begin(), r.key_id().end(), s.key_id.begin());
    s.request_digest = *digest;
    s.sid0.fill(0x44);
    v1::RequestClaims req;
    req.set_request_id(r.request_id());
    v1::RequestClaim* c = req.add_claims();
    *c = node::MakeClaim(s, state, r, sigs, *identity);
    *c->mutable_request() = r;  // not covered by the claim's signature
    return Push(i, req);
  }

  static int64_t Count(int node, const std::string& sql) {
    absl::StatusOr<int64_t> n = QueryInt(cluster_->NodeDb(node), sql);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  static inline v1::KeyInfo key_;   // 2-of-4 on node-1..node-4
  static inline v1::KeyInfo pair_;  // 2-of-2 on node-1, node-2
  static inline pid_t compromised_ = -1;
};

// node-4 answers every claims exchange with a claim of its own; nodes 1-3
// (t = 2) must sign regardless, whatever node-4 claims.
TEST_F(ClaimsAttackTest, OneCompromisedMemberCannotVetoByClaims) {
  for (const char* mode :
       {"succeeded-other", "succeeded-echo", "admitted-echo"}) {
    Compromise({absl::StrCat("claims=", mode)});
    for (int i = 0; i < 2; ++i) {
      v1::SignResponse resp;
      const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 12000 + i);
      const grpc::Status st = Sign(cluster_->wallet(), r, &resp);
      EXPECT_TRUE(st.ok()) << mode << ": " << Describe(st);
      EXPECT_EQ(resp.signatures_size(), 1) << mode;
    }
    Restore();
  }
}

// A claim without evidence burns nothing: a completion without its proof is
// refused when pushed, an admission is not kept; the client's first use of
// a predictable id signs.
TEST_F(ClaimsAttackTest, UnprovenClaimsAreRefusedAndBurnNothing) {
  v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 13000);
  r.set_request_id(NewRequestId("invoice"));
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &r).ok());
  for (int i = 1; i <= 3; ++i) {
    const grpc::Status pushed =
        PushUnprovenClaim(i, r.request_id(), "succeeded");
    EXPECT_TRUE(pushed.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                pushed.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
        << "node-" << i << " took an unproven completion: " << Describe(pushed);
    PushUnprovenClaim(i, r.request_id(), "admitted");
    EXPECT_EQ(Count(i, absl::StrCat("SELECT COUNT(*) FROM key_request_claims "
                                    "WHERE request_id = '",
                                    r.request_id(), "'")),
              0);
  }
  v1::SignResponse resp;
  const grpc::Status st = Sign(cluster_->wallet(), r, &resp);
  EXPECT_TRUE(st.ok()) << Describe(st);
}

// Claims are about one key: node-4 (not a member of pair_) claims the id of
// pair_'s request for key_; pair_'s request still signs.
TEST_F(ClaimsAttackTest, ClaimsAboutOneKeyDoNotRefuseAnother) {
  v1::SignRequest r = ApprovedPsbt(*cluster_, pair_, 14000);
  for (int i = 1; i <= 2; ++i) PushUnprovenClaim(i, r.request_id(), "admitted");
  v1::SignResponse resp;
  const grpc::Status st = Sign(cluster_->wallet(), r, &resp);
  EXPECT_TRUE(st.ok()) << Describe(st);
}

// One member cannot fill another's store with claims about ids nobody used.
TEST_F(ClaimsAttackTest, AMemberCannotStoreClaimsAboutNothing) {
  // Only the junk ids are counted: other tests' outcomes reach node-1 in
  // the background (ClaimBook::TellLater) while this one runs.
  const std::string rows =
      "SELECT COUNT(*) FROM key_request_claims WHERE request_id LIKE 'junk-%'";
  for (int i = 0; i < 500; ++i) {
    PushUnprovenClaim(1, NewRequestId("junk"), "admitted");
  }
  EXPECT_EQ(Count(1, rows), 0);
}

// The purpose of claims still holds: an id signed by {1,2} for one approved
// request is refused by node-3 and node-4 for another approved request.
TEST_F(ClaimsAttackTest, AnIdUsedForAnotherRequestIsStillRefused) {
  const v1::SignRequest first = ApprovedPsbt(*cluster_, key_, 15000);
  const absl::Status signed_by_1_2 = SignTogether(*cluster_, 1, 2, first);
  ASSERT_TRUE(signed_by_1_2.ok()) << signed_by_1_2;
  v1::SignRequest second = ApprovedPsbt(*cluster_, key_, 15500);
  second.set_request_id(first.request_id());
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &second).ok());
  for (int node : {3, 4}) {
    const grpc::Status st = StartSignOn(*cluster_, node, second, {3, 4});
    EXPECT_TRUE(RpcError(st, grpc::StatusCode::ALREADY_EXISTS,
                         "was already used for a different request"))
        << "node-" << node << ": " << Describe(st);
  }
}

// A compromised node answers GetRequestStatus with a forged success; the
// gateway returns a success only when the signers agree on valid
// signatures.
TEST_F(ClaimsAttackTest, RequestStatusIsNotTakenFromOneNode) {
  const v1::SignRequest real = ApprovedPsbt(*cluster_, key_, 16000);
  const absl::Status signed_by_1_2 = SignTogether(*cluster_, 1, 2, real);
  ASSERT_TRUE(signed_by_1_2.ok()) << signed_by_1_2;
  v1::NodeInfo info;
  {
    absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
        cluster_->NodeStub(4, kagictl::kGatewayName);
    ASSERT_TRUE(stub.ok());
    grpc::ClientContext ctx;
    ASSERT_TRUE(
        (*stub)->GetNodeInfo(&ctx, v1::GetNodeInfoRequest(), &info).ok());
  }
  const std::string info_file = absl::StrCat(cluster_->dir(), "/node-4.info");
  {
    std::ofstream f(info_file, std::ios::binary);
    f << info.SerializeAsString();
  }
  Compromise({"info=" + info_file, "status=forge"});
  absl::SleepFor(absl::Seconds(1));
  auto status = [](const std::string& id, v1::RequestStatus* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::GetRequestStatusRequest q;
    q.set_request_id(id);
    return cluster_->wallet()->GetRequestStatus(&ctx, q, out);
  };
  v1::RequestStatus never;
  const grpc::Status st = status(NewRequestId("never-sent"), &never);
  EXPECT_NE(never.state(), "succeeded") << Describe(st);
  EXPECT_TRUE(never.signed_psbt().empty());
  v1::RequestStatus signed_status;
  const grpc::Status real_st = status(real.request_id(), &signed_status);
  EXPECT_TRUE(real_st.ok()) << Describe(real_st);
  EXPECT_EQ(signed_status.state(), "succeeded");
  ASSERT_EQ(signed_status.signatures_size(), 1);
  const v1::SignatureResult& sig = signed_status.signatures(0);
  EXPECT_TRUE(SignatureValid(
      key_, sig, sig.digest(),
      std::vector<uint32_t>(sig.path().begin(), sig.path().end())));
  EXPECT_NE(signed_status.signed_psbt(), "FORGED-BY-A-COMPROMISED-NODE");
  Restore();
}

// A request's status is its initiator's: another client (as the gateway
// names it) learns nothing, not even that the id exists; the key asked
// about must be the request's.
TEST_F(ClaimsAttackTest, RequestStatusIsTheInitiatorsOwn) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 17000);
  v1::SignResponse signed_resp;
  const grpc::Status st = Sign(cluster_->wallet(), r, &signed_resp);
  ASSERT_TRUE(st.ok()) << Describe(st);
  auto ask = [&](int node, const std::string& initiator,
                 const std::string& key_id) {
    absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
        cluster_->NodeStub(node, kagictl::kGatewayName);
    EXPECT_TRUE(stub.ok());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::GetRequestStatusRequest q;
    q.set_request_id(r.request_id());
    q.set_initiator(initiator);
    q.set_key_id(key_id);
    v1::RequestStatus out;
    EXPECT_TRUE((*stub)->GetRequestStatus(&ctx, q, &out).ok());
    return out;
  };
  int signers = 0;
  for (int node = 1; node <= 4; ++node) {
    const v1::RequestStatus own = ask(node, "client/client-1", "");
    if (own.state() != "succeeded") continue;
    ++signers;
    EXPECT_EQ(own.key_id(), key_.key_id());
    const v1::RequestStatus other = ask(node, "client/other", "");
    EXPECT_EQ(other.state(), "unknown") << "node-" << node;
    EXPECT_TRUE(other.signatures().empty());
    EXPECT_TRUE(other.signed_psbt().empty());
    EXPECT_EQ(ask(node, "client/client-1", pair_.key_id()).state(), "unknown");
  }
  EXPECT_EQ(signers, 2);
  // Through the gateway, as client-1: the signers agree, it verifies.
  grpc::ClientContext ctx;
  v1::GetRequestStatusRequest q;
  q.set_request_id(r.request_id());
  q.set_key_id(key_.key_id());
  q.set_initiator("client/other");  // replaced by the gateway
  v1::RequestStatus status;
  ASSERT_TRUE(cluster_->wallet()->GetRequestStatus(&ctx, q, &status).ok());
  EXPECT_EQ(status.state(), "succeeded");
  EXPECT_EQ(status.signed_psbt(), signed_resp.signed_psbt());
  EXPECT_EQ(status.confirmed_by_size(), 2);
}

// A node's own request records are one namespace of ids across keys,
// operations and clients (docs/api.md "Request ids"): an id node-1 and
// node-2 signed on pair_ is refused by them for a request on key_ (red
// team 3 read the docs' "another key is another request" as covering this;
// the docs now say what holds: claims are per key, a node's records are
// not).
TEST_F(ClaimsAttackTest, ANodesRecordsAreOneNamespaceOfIds) {
  const v1::SignRequest other = ApprovedPsbt(*cluster_, pair_, 20000);
  const absl::Status on_pair = SignTogether(*cluster_, 1, 2, other);
  ASSERT_TRUE(on_pair.ok()) << on_pair;
  v1::SignRequest mine = ApprovedPsbt(*cluster_, key_, 20100);
  mine.set_request_id(other.request_id());
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &mine).ok());
  const absl::Status on_key = SignTogether(*cluster_, 1, 2, mine);
  EXPECT_THAT(on_key.message(),
              HasSubstr("was already used for a different request"));
}

// Red team 3: an approved request that no member ever admitted (every node
// refused it: it had expired) is resent under the same id with a fresh
// expiry and new approvals. node-4 claims it "admitted" the expired one;
// an admission proves nothing and is not kept, and the client's request
// signs.
TEST_F(ClaimsAttackTest, AnAdmissionClaimedForANeverRunRequestVetoesNothing) {
  v1::SignRequest expired = ApprovedPsbt(*cluster_, key_, 21000);
  expired.set_expiry_unix_seconds(
      static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())) - 60);
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &expired).ok());
  v1::SignResponse refused;
  const grpc::Status first = Sign(cluster_->wallet(), expired, &refused);
  ASSERT_FALSE(first.ok()) << "an expired request signed";
  const std::string rows = absl::StrCat(
      "SELECT COUNT(*) FROM key_request_claims WHERE request_id = '",
      expired.request_id(), "'");
  for (int i = 1; i <= 3; ++i) {
    PushClaim(i, expired, "admitted", {});
    EXPECT_EQ(Count(i, rows), 0) << "node-" << i << " kept an admission";
  }
  v1::SignRequest fresh = expired;
  fresh.set_expiry_unix_seconds(ExpiryIn(300));
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &fresh).ok());
  v1::SignResponse resp;
  const grpc::Status st = Sign(cluster_->wallet(), fresh, &resp);
  EXPECT_TRUE(st.ok()) << "node-4 vetoed the id: " << Describe(st);
  const absl::Status direct = SignTogether(*cluster_, 1, 2, fresh);
  EXPECT_TRUE(direct.ok() || st.ok()) << "node-1 and node-2 refuse: " << direct;
}

// Red team 3: a "succeeded" claim with ~7 MiB of junk signatures about an
// approved request was stored (signatures were not checked on receipt) and
// never replaced. Now it is refused: its signatures prove nothing.
TEST_F(ClaimsAttackTest, AnUnprovenCompletionIsNotStored) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 22000);
  google::protobuf::RepeatedPtrField<v1::SignatureResult> junk;
  for (int i = 0; i < 7 * 1024; ++i) {
    v1::SignatureResult* s = junk.Add();
    s->set_digest(std::string(32, 'd'));
    s->set_signature(std::string(1000, 's'));
  }
  const grpc::Status pushed = PushClaim(1, r, "succeeded", junk);
  const int64_t bytes =
      Count(1, absl::StrCat("SELECT COALESCE(MAX(LENGTH(claim)), 0) FROM "
                            "key_request_claims WHERE request_id = '",
                            r.request_id(), "'"));
  EXPECT_LT(bytes, 64 * 1024)
      << "node-1 stored a " << bytes << "-byte claim from node-4 ("
      << Describe(pushed) << ")";
  // And the client's real request still signs (it is not a veto).
  v1::SignResponse resp;
  const grpc::Status st = Sign(cluster_->wallet(), r, &resp);
  EXPECT_TRUE(st.ok()) << Describe(st);
}

// Red team 3: a relaying member could swap another member's completion
// proof for junk without breaking the claim's signature. The signature now
// covers the signatures too (and a receiver stores a completion only once
// its proof verifies).
TEST(ClaimsEvidence, ClaimSignatureCoversTheCompletionProof) {
  OsRng rng;
  const crypto::Ed25519PrivateKey victim =
      crypto::Ed25519PrivateKey::Generate(rng);
  v1::SignRequest r;
  r.set_request_id("relay-1");
  r.set_key_id(std::string(32, 'k'));
  r.set_expiry_unix_seconds(1);
  v1::DigestItem* item = r.mutable_payload()->mutable_raw_digest()->add_items();
  item->set_digest(std::string(32, 'x'));
  absl::StatusOr<policy::RequestDigest> digest = policy::SignRequestDigest(r);
  ASSERT_TRUE(digest.ok());
  node::ClaimSubject s;
  s.request_id = r.request_id();
  s.key_id.fill('k');
  s.request_digest = *digest;
  google::protobuf::RepeatedPtrField<v1::SignatureResult> real;
  real.Add()->set_signature(std::string(64, 'R'));
  v1::RequestClaim c = node::MakeClaim(s, "succeeded", r, real, victim);
  ASSERT_TRUE(node::VerifyClaim(c, "relay-1").ok());
  c.mutable_signatures(0)->set_signature(std::string(64, 'J'));  // relayed
  EXPECT_FALSE(node::VerifyClaim(c, "relay-1").ok())
      << "the victim's signed completion claim verifies with swapped proof";
}

int64_t ProcKb(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stoll(line.substr(field.size() + 1));
    }
  }
  return -1;
}

// Red team 3: node-4 pushed ~7 MiB "admitted" claims (an unknown field in
// the request, covered by nothing) from 16 threads for 15 s: node-1 grew
// from 28 MB to 638 MB and a client's Sign took 4.5 s. Now such a claim is
// refused (unknown fields), a peer has at most 4 x max_psbt_bytes of
// exchanges in work, and admissions are not stored. gRPC still reads each
// message whole before the handler (docs/threat-model.md), so the bound
// here is loose.
TEST_F(ClaimsAttackTest, AClaimExchangeFloodIsBounded) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 23000);
  v1::SignRequest fat = r;
  // Unknown fields are kept on parse and re-serialized: not in the digest,
  // not in the claim signature. Field 1000 of SignRequest (length-delim).
  fat.GetReflection()->MutableUnknownFields(&fat)->AddLengthDelimited(
      1000, std::string(7 * 1024 * 1024, 'u'));
  absl::StatusOr<pid_t> pid =
      kagictl::ReadPid(absl::StrCat(cluster_->dir(), "/node-1/node.pid"));
  ASSERT_TRUE(pid.ok()) << pid.status();
  const int64_t before = ProcKb(*pid, "VmRSS");
  std::atomic<int> ok{0}, failed{0};
  std::string last_error;
  absl::Mutex mu;
  const absl::Time until = absl::Now() + absl::Seconds(15);
  std::vector<std::thread> threads;
  const int n_threads = 16;
  for (int t = 0; t < n_threads; ++t) {
    threads.emplace_back([&] {
      while (absl::Now() < until) {
        const grpc::Status st = PushClaim(1, fat, "admitted", {});
        if (st.ok()) {
          ++ok;
        } else {
          ++failed;
          absl::MutexLock l(&mu);
          last_error = Describe(st);
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(5));
  const absl::Time t0 = absl::Now();
  v1::SignResponse resp;
  const grpc::Status signed_meanwhile =
      Sign(cluster_->wallet(), ApprovedPsbt(*cluster_, key_, 23100), &resp);
  const absl::Duration took = absl::Now() - t0;
  for (std::thread& t : threads) t.join();
  const int64_t peak = ProcKb(*pid, "VmHWM");
  const int64_t db = Count(1,
                           "SELECT page_count * page_size FROM "
                           "pragma_page_count(), pragma_page_size()");
  std::cerr << "[flood] pushes ok=" << ok << " failed=" << failed
            << " last error: " << last_error
            << "\n[flood] node-1 VmRSS before=" << before
            << " kB, VmHWM after=" << peak << " kB, db bytes=" << db
            << "\n[flood] a client's Sign during the flood: "
            << Describe(signed_meanwhile) << " in " << took << "\n";
  EXPECT_EQ(ok.load(), 0) << "a padded claim was taken";
  EXPECT_TRUE(signed_meanwhile.ok()) << Describe(signed_meanwhile);
#if !defined(__SANITIZE_ADDRESS__)  // ASAN's quarantine keeps freed memory
  // What is left is gRPC's: each call in flight holds the message as read
  // and as parsed (2 x 7 MiB here) before the handler refuses it.
  const int64_t bound_kb = n_threads * 2 * 8 * 1024 + 64 * 1024;
  EXPECT_LT(peak - before, bound_kb)
      << "node-1 grew by more than 2 messages per call in flight";
#endif
}

// node-4's own claim about `r` in `state`, carrying `r` padded with an
// unknown field (in neither the digest nor the claim signature) so that
// the RequestClaims message is `total` bytes.
v1::RequestClaims PaddedClaim(const v1::SignRequest& r, absl::string_view state,
                              size_t total,
                              const crypto::Ed25519PrivateKey& identity) {
  absl::StatusOr<policy::RequestDigest> digest = policy::SignRequestDigest(r);
  node::ClaimSubject s;
  s.request_id = r.request_id();
  std::copy(r.key_id().begin(), r.key_id().end(), s.key_id.begin());
  if (digest.ok()) s.request_digest = *digest;
  s.sid0.fill(0x45);
  size_t pad = total - 1024;
  v1::RequestClaims req;
  for (int round = 0; round < 4; ++round) {
    v1::SignRequest fat = r;
    fat.GetReflection()->MutableUnknownFields(&fat)->AddLengthDelimited(
        1000, std::string(pad, 'p'));
    req.Clear();
    req.set_request_id(r.request_id());
    v1::RequestClaim* c = req.add_claims();
    *c = node::MakeClaim(s, state, fat, {}, identity);
    *c->mutable_request() = fat;
    const size_t size = req.ByteSizeLong();
    if (size == total) break;
    pad = pad + total - size;
  }
  return req;
}

// Red team 3: node-3 missed the completion of R by node-1 and node-2 (it
// was down). node-4 stored on node-1 and node-2 a claim of its own about R
// padded to just under the 8 MiB message limit, so every answer about R
// (which carried every claim held) was over the limit, and node-3, reaching
// node-1 and node-2, learned nothing and admitted R again. Now the padded
// claim is refused and answers carry only completions.
TEST_F(ClaimsAttackTest, APaddedClaimHidesNoCompletion) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 24000);
  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  const absl::Status signed_by_1_2 = SignTogether(*cluster_, 1, 2, r);
  ASSERT_TRUE(signed_by_1_2.ok()) << signed_by_1_2;
  absl::StatusOr<crypto::Ed25519PrivateKey> identity =
      transport::LoadIdentityKey(
          absl::StrCat(cluster_->dir(), "/node-4/identity.pem"));
  ASSERT_TRUE(identity.ok());
  const v1::RequestClaims padded =
      PaddedClaim(r, "failed", 8 * 1024 * 1024 - 64, *identity);
  for (int i : {1, 2}) {
    absl::StatusOr<std::unique_ptr<v1::Peer::Stub>> stub =
        cluster_->PeerStub(i, "node-4");
    ASSERT_TRUE(stub.ok());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::RequestClaims out;
    const grpc::Status st = (*stub)->ExchangeRequestClaims(&ctx, padded, &out);
    std::cerr << "[flood] padded push (" << padded.ByteSizeLong()
              << " bytes) to node-" << i << ": " << Describe(st) << "\n";
  }
  ASSERT_TRUE(cluster_->StopNode(4, SIGTERM).ok());
  ASSERT_TRUE(cluster_->StartNode(3).ok());
  absl::SleepFor(absl::Seconds(2));
  const grpc::Status resent = StartSignOn(*cluster_, 3, r, {3, 4});
  std::cerr << "[flood] R resent to node-3 with {3,4}: " << Describe(resent)
            << "\n";
  EXPECT_TRUE(RpcError(resent, grpc::StatusCode::ALREADY_EXISTS,
                       "was already completed"))
      << "node-3 admitted a completed request: " << Describe(resent);
  ASSERT_TRUE(cluster_->StartNode(4).ok());
  ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
}

// Red team 4 (a documented limit, not fixed): a refusal by
// replayed signatures. docs/api.md: "the same digest under two ids is
// signed twice", so a client may send the same approved payload under a new
// id (B) after A signed. The items B decodes to are A's items, so A's real
// signatures "prove" a completion of B: node-4 (member of key_, holding
// nothing but its identity key and B as it saw it, e.g. when the gateway
// first picked it as a signer of B) claims B "succeeded" with A's
// signatures. Every honest member accepts the proof and refuses B: "already
// completed (signed by node-4)"; no signer set without node-4 signs B.
TEST_F(ClaimsAttackTest, ReplayedSignaturesOfTheSameItemsRefuseAsCompleted) {
  const v1::SignRequest a = ApprovedPsbt(*cluster_, key_, 31000);
  v1::SignResponse a_resp;
  const grpc::Status a_st = Sign(cluster_->wallet(), a, &a_resp);
  ASSERT_TRUE(a_st.ok()) << Describe(a_st);
  ASSERT_EQ(a_resp.signatures_size(), 1);
  // Control: the same payload under a fresh id signs (the documented
  // behaviour), with no attack.
  v1::SignRequest control = a;
  control.set_request_id(NewRequestId("same-payload-control"));
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &control).ok());
  v1::SignResponse control_resp;
  const grpc::Status control_st =
      Sign(cluster_->wallet(), control, &control_resp);
  ASSERT_TRUE(control_st.ok()) << "control: " << Describe(control_st);
  // The victim: the same payload under another fresh id.
  v1::SignRequest b = a;
  b.set_request_id(NewRequestId("same-payload-victim"));
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &b).ok());
  for (int i = 1; i <= 3; ++i) {
    const grpc::Status pushed =
        PushClaim(i, b, "succeeded", a_resp.signatures());
    std::cerr << "[red4] node-4's 'succeeded' for B with A's signatures to "
                 "node-"
              << i << ": " << Describe(pushed) << "\n";
  }
  // Documented (docs/api.md "What holds"): B's items are already signed
  // (under A), so B is refused as completed; the signatures are A's result.
  v1::SignResponse b_resp;
  const grpc::Status b_st = Sign(cluster_->wallet(), b, &b_resp);
  std::cerr << "[red4] client's Sign(B): " << Describe(b_st) << "\n";
  EXPECT_TRUE(
      RpcError(b_st, grpc::StatusCode::ALREADY_EXISTS, "already completed"))
      << Describe(b_st);
  for (int i = 1; i <= 3; ++i) {
    const grpc::Status direct = StartSignOn(
        *cluster_, i, b,
        i == 1 ? std::vector<uint32_t>{1, 2}
               : std::vector<uint32_t>{1, static_cast<uint32_t>(i)});
    std::cerr << "[red4] StartSign(B) on node-" << i << ": " << Describe(direct)
              << "\n";
  }
  // And what the client reads back about B.
  v1::RequestStatus b_status;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::GetRequestStatusRequest q;
    q.set_request_id(b.request_id());
    const grpc::Status st =
        cluster_->wallet()->GetRequestStatus(&ctx, q, &b_status);
    std::cerr << "[red4] GetRequestStatus(B): " << Describe(st)
              << " state=" << b_status.state() << "\n";
  }
}

// Red team 4: CPU/disk per claim exchange. node-4 replays one valid,
// proven completion (a real request's own claim, small) from many threads:
// each exchange costs the receiver approvals, a PSBT decode, BIP32 + ECDSA
// verifies and a SQLite write, with no rate bound (only bytes in work,
// 4 x max_psbt_bytes, which a ~2 KiB claim never reaches). Measures a
// client's Sign meanwhile.
TEST_F(ClaimsAttackTest, AReplayedCompletionFloodStillSigns) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 32000);
  v1::SignResponse resp;
  ASSERT_TRUE(Sign(cluster_->wallet(), r, &resp).ok());
  absl::StatusOr<crypto::Ed25519PrivateKey> identity =
      transport::LoadIdentityKey(
          absl::StrCat(cluster_->dir(), "/node-4/identity.pem"));
  ASSERT_TRUE(identity.ok());
  absl::StatusOr<policy::RequestDigest> digest = policy::SignRequestDigest(r);
  ASSERT_TRUE(digest.ok());
  node::ClaimSubject s;
  s.request_id = r.request_id();
  std::copy(r.key_id().begin(), r.key_id().end(), s.key_id.begin());
  s.request_digest = *digest;
  s.sid0.fill(0x46);
  v1::RequestClaims claim;
  claim.set_request_id(r.request_id());
  *claim.add_claims() =
      node::MakeClaim(s, "succeeded", r, resp.signatures(), *identity);
  ASSERT_TRUE(Push(1, claim).ok());
  std::cerr << "[red4] claim bytes: " << claim.ByteSizeLong() << "\n";
  auto timed_sign = [&](const char* label) {
    const v1::SignRequest x = ApprovedPsbt(*cluster_, key_, 32100);
    v1::SignResponse xr;
    const absl::Time t0 = absl::Now();
    const grpc::Status st = Sign(cluster_->wallet(), x, &xr);
    std::cerr << "[red4] " << label << " Sign: " << Describe(st) << " in "
              << absl::Now() - t0 << "\n";
    return absl::Now() - t0;
  };
  const absl::Duration quiet = timed_sign("quiet");
  std::atomic<bool> stop{false};
  std::atomic<int64_t> sent{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<std::unique_ptr<v1::Peer::Stub>> stub =
          cluster_->PeerStub(1 + (t % 3), "node-4");
      if (!stub.ok()) return;
      while (!stop.load()) {
        grpc::ClientContext ctx;
        ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
        v1::RequestClaims out;
        if ((*stub)->ExchangeRequestClaims(&ctx, claim, &out).ok()) ++ok;
        ++sent;
      }
    });
  }
  absl::SleepFor(absl::Seconds(3));
  const absl::Duration loaded = timed_sign("under flood");
  absl::SleepFor(absl::Seconds(5));
  stop = true;
  for (std::thread& t : threads) t.join();
  std::cerr << "[red4] exchanges sent " << sent.load() << ", ok " << ok.load()
            << "\n";
  EXPECT_LT(loaded, quiet * 5 + absl::Seconds(2))
      << "a replayed valid completion slows signing";
}

// Red team 4 (fixed: a completion counts only if the receiver's policy
// would have allowed its request; this was the PoC): a preemptive
// veto of any id the attacker can guess, by node-4 with ONE approval that
// the policy alone would never admit. ClaimBook::Accept asks only that the
// claimed request carry approvals of at least one approver the policy knows
// (approvers->empty()), not that the policy admits it (2 x treasury +
// 1 x risk here). carol (risk) alone approves "A's payload under the
// victim's id" (A: any request the key signed, its signatures public on
// chain); node-4 claims it completed with A's signatures before the client
// sends its real, fully approved request under that id. Every honest member
// then refuses the client: "used for a different request (completed on
// node-4)".
TEST_F(ClaimsAttackTest, ACompletionThePolicyWouldRefuseVetoesNothing) {
  const v1::SignRequest a = ApprovedPsbt(*cluster_, key_, 33000);
  v1::SignResponse a_resp;
  const grpc::Status a_st = Sign(cluster_->wallet(), a, &a_resp);
  ASSERT_TRUE(a_st.ok()) << Describe(a_st);
  const std::string victim_id = NewRequestId("invoice");  // guessable
  v1::SignRequest forged = a;
  forged.set_request_id(victim_id);
  forged.clear_approvals();
  absl::StatusOr<policy::RequestDigest> digest =
      policy::SignRequestDigest(forged);
  ASSERT_TRUE(digest.ok());
  absl::StatusOr<v1::Approval> carol = kagictl::Approve(
      "carol", kagictl::ApproverKeyPath(cluster_->dir(), "carol"), *digest);
  ASSERT_TRUE(carol.ok()) << carol.status();
  *forged.add_approvals() = *carol;
  // The policy refuses `forged` itself (one approval of three).
  {
    v1::RequestClaims unused;
    const grpc::Status direct = StartSignOn(*cluster_, 3, forged, {3, 4});
    std::cerr << "[red4] forged request itself on node-3: " << Describe(direct)
              << "\n";
    EXPECT_EQ(direct.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  for (int i = 1; i <= 3; ++i) {
    const grpc::Status pushed =
        PushClaim(i, forged, "succeeded", a_resp.signatures());
    std::cerr << "[red4] node-4's completion of the carol-only request to node-"
              << i << ": " << Describe(pushed) << "\n";
  }
  v1::SignRequest victim = ApprovedPsbt(*cluster_, key_, 33500);
  victim.set_request_id(victim_id);
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &victim).ok());
  v1::SignResponse resp;
  const grpc::Status st = Sign(cluster_->wallet(), victim, &resp);
  std::cerr << "[red4] client's fully approved Sign(" << victim_id
            << "): " << Describe(st) << "\n";
  EXPECT_TRUE(st.ok()) << "a sub-quorum approval + node-4 vetoed the id: "
                       << Describe(st);
}

// Red team 4: the gateway checks only successes. A non-success answer of one
// compromised node is returned as it is when it ranks highest: node-4
// answers "in_progress" (with a key and an outcome of its own) for ids the
// honest members never saw or that failed, and the client is told its
// request is still running (so it does not resend it).
TEST_F(ClaimsAttackTest, OneNodeCannotMakeTheGatewaySayInProgress) {
  v1::NodeInfo info;
  {
    absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
        cluster_->NodeStub(4, kagictl::kGatewayName);
    ASSERT_TRUE(stub.ok());
    grpc::ClientContext ctx;
    ASSERT_TRUE(
        (*stub)->GetNodeInfo(&ctx, v1::GetNodeInfoRequest(), &info).ok());
  }
  const std::string info_file = absl::StrCat(cluster_->dir(), "/node-4.info");
  {
    std::ofstream f(info_file, std::ios::binary);
    f << info.SerializeAsString();
  }
  Compromise({"info=" + info_file, "status=inprogress"});
  absl::SleepFor(absl::Seconds(1));
  v1::RequestStatus out;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::GetRequestStatusRequest q;
  q.set_request_id(NewRequestId("never-sent"));
  q.set_key_id(key_.key_id());
  const grpc::Status st = cluster_->wallet()->GetRequestStatus(&ctx, q, &out);
  std::cerr << "[red4] never-sent id, asked for key_: " << Describe(st)
            << " state=" << out.state() << " outcome='" << out.outcome()
            << "' key_id is key_: " << (out.key_id() == key_.key_id()) << "\n";
  EXPECT_NE(out.state(), "in_progress")
      << "one node's word made the gateway report a never-sent request as "
         "running";
  Restore();
}

// Red team 4: "a node answers only the request's initiator" holds for
// signing only: administrative records (dkg, refresh, reshare) are made
// without an initiator (AdmitAdmin's Admission never sets it), and a record
// without one "was made before initiators were recorded" and is answered to
// any client. client/other reads the state, outcome, digest and key of
// client-1's key creation.
TEST_F(ClaimsAttackTest, AdminRecordsAreTheInitiatorsOwn) {
  std::string dkg_id;
  {
    const std::string cmd =
        absl::StrCat("sqlite3 '", cluster_->NodeDb(1),
                     "' \"SELECT request_id FROM requests WHERE operation = "
                     "'dkg' LIMIT 1\"");
    FILE* f = popen(cmd.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char buf[512] = {0};
    if (fgets(buf, sizeof(buf), f) != nullptr) dkg_id = buf;
    pclose(f);
    while (!dkg_id.empty() && (dkg_id.back() == '\n')) dkg_id.pop_back();
  }
  ASSERT_FALSE(dkg_id.empty()) << "no dkg record (sqlite3 CLI needed)";
  absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
      cluster_->NodeStub(1, kagictl::kGatewayName);
  ASSERT_TRUE(stub.ok());
  grpc::ClientContext ctx;
  v1::GetRequestStatusRequest q;
  q.set_request_id(dkg_id);
  q.set_initiator("client/other");  // as the gateway names another client
  v1::RequestStatus out;
  ASSERT_TRUE((*stub)->GetRequestStatus(&ctx, q, &out).ok());
  std::cerr << "[red4] dkg '" << dkg_id
            << "' to client/other: state=" << out.state() << " outcome='"
            << out.outcome().substr(0, 160)
            << "' key_id bytes=" << out.key_id().size() << "\n";
  EXPECT_EQ(out.state(), "unknown")
      << "another client read client-1's key creation";
}

// Red team 4: a member that never answers claim exchanges made every
// signing request of its keys wait the full exchange timeout (1 s) twice on
// each signer (2.03 s instead of 40 ms). Now the timeout is 500 ms and the
// outcome is told in the background: once per signature.
TEST_F(ClaimsAttackTest, ASilentMemberVetoesNothing) {
  auto timed = [&](const char* label) {
    const v1::SignRequest x = ApprovedPsbt(*cluster_, key_, 34000);
    v1::SignResponse xr;
    const absl::Time t0 = absl::Now();
    const grpc::Status st = Sign(cluster_->wallet(), x, &xr);
    const absl::Duration d = absl::Now() - t0;
    EXPECT_TRUE(st.ok()) << label << ": " << Describe(st);
    std::cerr << "[red4] " << label << " Sign: " << Describe(st) << " in " << d
              << " signers="
              << (xr.signer_nodes_size() > 0 ? xr.signer_nodes(0) : "") << ","
              << (xr.signer_nodes_size() > 1 ? xr.signer_nodes(1) : "") << "\n";
    return d;
  };
  // Latency is measured, not asserted (docs/api.md: a silent member costs
  // each signer the 500 ms exchange timeout before admission; the outcome
  // is told in the background). What must hold: it vetoes nothing.
  timed("honest node-4");
  Compromise({"claims=hang"});
  for (int i = 0; i < 3; ++i) timed("silent node-4");
  Restore();
}

// Red team 4: storage is bounded by requests ONE approver signed, not by
// requests the policy admits: carol alone (risk; the policy needs 2 x
// treasury + 1 x risk) approving A's payload under 200 fresh ids lets node-4
// store 200 completion rows (each a whole SignRequest) on node-1.
TEST_F(ClaimsAttackTest, OneApproverAndAMemberStoreNothing) {
  const v1::SignRequest a = ApprovedPsbt(*cluster_, key_, 35000);
  v1::SignResponse a_resp;
  ASSERT_TRUE(Sign(cluster_->wallet(), a, &a_resp).ok());
  // Only the squatted ids: a's outcome reaches node-1 in the background.
  const std::string rows =
      "SELECT COUNT(*) FROM key_request_claims WHERE request_id LIKE "
      "'squat-%'";
  const int64_t before = Count(1, rows);
  int accepted = 0;
  for (int i = 0; i < 200; ++i) {
    v1::SignRequest forged = a;
    forged.set_request_id(NewRequestId("squat"));
    forged.clear_approvals();
    absl::StatusOr<policy::RequestDigest> digest =
        policy::SignRequestDigest(forged);
    ASSERT_TRUE(digest.ok());
    absl::StatusOr<v1::Approval> carol = kagictl::Approve(
        "carol", kagictl::ApproverKeyPath(cluster_->dir(), "carol"), *digest);
    ASSERT_TRUE(carol.ok());
    *forged.add_approvals() = *carol;
    if (PushClaim(1, forged, "succeeded", a_resp.signatures()).ok()) {
      ++accepted;
    }
  }
  const int64_t grown = Count(1, rows) - before;
  std::cerr << "[red4] carol-only completions accepted " << accepted
            << ", rows grown on node-1: " << grown << "\n";
  EXPECT_EQ(grown, 0) << "rows about requests the policy never admitted";
}

// Red team 4: a member's answer to a claim exchange was not bounded in
// claims: ClaimBook verified every claim in it. node-4 answered every
// exchange with ~7 MiB of copies of its own signed claim, and each
// signature took ~7 s (40 ms without). Now at most one claim per member of
// the key is looked at: signing stays within a client's ordinary deadline
// (4 s here, a wide margin; the latency itself is printed, not asserted).
TEST_F(ClaimsAttackTest, AFloodedAnswerIsCut) {
  auto timed = [&](const char* label) {
    const v1::SignRequest x = ApprovedPsbt(*cluster_, key_, 36000);
    v1::SignResponse xr;
    const absl::Time t0 = absl::Now();
    const grpc::Status st = Sign(cluster_->wallet(), x, &xr, absl::Seconds(4));
    const absl::Duration d = absl::Now() - t0;
    EXPECT_TRUE(st.ok()) << label << ": " << Describe(st);
    std::cerr << "[red4] " << label << " Sign: " << Describe(st) << " in " << d
              << "\n";
  };
  timed("honest node-4");
  Compromise({"claims=flood-answer"});
  for (int i = 0; i < 3; ++i) timed("flooding node-4");
  Restore();
}

// Red team 4 (edits one node's DB while it is stopped): a completion
// learned from peers never heals a corrupted row. node-3 learned that
// node-1 and node-2 completed R. While node-3 is stopped, its rows about R
// are overwritten with junk, state left 'succeeded'. Restarted, node-3
// skips the junk (it refuses nothing), asks node-1 and node-2, which answer
// their valid completions, but PutRequestClaim's upsert keeps a row whose
// *state column* says 'succeeded' ("never take a completion back"), so the
// valid proof is dropped and node-3 admits the completed request again.
TEST_F(ClaimsAttackTest, ACorruptedRowIsReplacedByAProvenCompletion) {
  const v1::SignRequest r = ApprovedPsbt(*cluster_, key_, 37000);
  const absl::Status signed_by_1_2 = SignTogether(*cluster_, 1, 2, r);
  ASSERT_TRUE(signed_by_1_2.ok()) << signed_by_1_2;
  absl::SleepFor(absl::Milliseconds(500));
  const std::string held = absl::StrCat(
      "SELECT COUNT(*) FROM key_request_claims WHERE request_id = '",
      r.request_id(), "' AND state = 'succeeded'");
  std::cerr << "[red4] node-3 holds " << Count(3, held)
            << " completions of R\n";
  // Control: untouched, node-3 refuses R.
  const grpc::Status control = StartSignOn(*cluster_, 3, r, {3, 4});
  std::cerr << "[red4] control, R on node-3: " << Describe(control) << "\n";
  ASSERT_TRUE(
      RpcError(control, grpc::StatusCode::ALREADY_EXISTS, "already completed"));
  ASSERT_TRUE(cluster_->StopNode(3, SIGTERM).ok());
  const std::string cmd = absl::StrCat(
      "sqlite3 '", cluster_->NodeDb(3),
      "' \"UPDATE key_request_claims SET claim = x'00' WHERE request_id = '",
      r.request_id(), "'\"");
  ASSERT_EQ(system(cmd.c_str()), 0);
  ASSERT_TRUE(cluster_->StartNode(3).ok());
  ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
  absl::SleepFor(absl::Seconds(1));
  const grpc::Status resent = StartSignOn(*cluster_, 3, r, {3, 4});
  std::cerr << "[red4] after the edit, R on node-3 (node-1, node-2 up): "
            << Describe(resent) << "\n";
  const int64_t recorded =
      Count(3, absl::StrCat("SELECT COUNT(*) FROM requests WHERE request_id "
                            "= '",
                            r.request_id(), "'"));
  std::cerr << "[red4] node-3 request records of R: " << recorded << "\n";
  EXPECT_TRUE(
      RpcError(resent, grpc::StatusCode::ALREADY_EXISTS, "already completed"))
      << "node-3 admitted a completed request its peers proved to it";
  EXPECT_EQ(recorded, 0);
}

// A completion another member proved is judged once, when it arrives, by
// the policy of that moment, and is kept. Before (red team 5), every Check
// judged the held completions again by the current policy, so a routine
// tightening (the bitcoin rule's max_amount lowered below an amount signed
// earlier) forgot the completions it would now refuse: the id of a request
// node-1 and node-2 signed was accepted by node-3 and node-4 for another
// approved request. Runs last: it restarts node-3 and node-4 twice.
TEST_F(ClaimsAttackTest, APolicyTighteningKeepsOtherMembersCompletions) {
  v1::SignRequest r1 = ApprovedPsbt(*cluster_, key_, 50000);
  const std::string id = r1.request_id();
  ASSERT_TRUE(SignTogether(*cluster_, 1, 2, r1).ok());
  absl::SleepFor(absl::Seconds(2));  // TellLater reaches node-3, node-4
  v1::SignRequest r2 = ApprovedPsbt(*cluster_, key_, 5000);
  r2.set_request_id(id);
  ASSERT_TRUE(ApproveSignRequest(*cluster_, &r2).ok());
  const absl::Status control = SignTogether(*cluster_, 3, 4, r2);
  std::cerr << "R2 under R1's id on {3,4}: " << control << "\n";
  EXPECT_FALSE(control.ok());
  // node-3 and node-4 restart with max_amount 20000 (R1 moved 50000).
  std::map<int, std::string> original;
  for (int i = 3; i <= 4; ++i) {
    ASSERT_TRUE(cluster_->StopNode(i, SIGTERM).ok());
    const std::string path = kagictl::NodePolicyPath(cluster_->dir(), i);
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    original[i] = text;
    const std::string from = "max_amount: \"100000000\"";
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, from.size(), "max_amount: \"20000\"");
    std::ofstream(path) << text;
    ASSERT_TRUE(cluster_->StartNode(i).ok());
  }
  ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
  const absl::Status after = SignTogether(*cluster_, 3, 4, r2);
  std::cerr << "after lowering max_amount on node-3/4, R2 under R1's id on "
               "{3,4}: "
            << after << "\n";
  for (const auto& [i, text] : original) {
    ASSERT_TRUE(cluster_->StopNode(i, SIGTERM).ok());
    std::ofstream(kagictl::NodePolicyPath(cluster_->dir(), i)) << text;
    ASSERT_TRUE(cluster_->StartNode(i).ok());
  }
  ASSERT_TRUE(cluster_->WaitGatewayReachesAll().ok());
  EXPECT_FALSE(after.ok())
      << "the id of R1 (signed by node-1, node-2) was used for R2 on node-3, "
         "node-4";
  EXPECT_THAT(std::string(after.message()), HasSubstr("completed"));
}

}  // namespace
}  // namespace kagi::integration
