// One compromised node must not decide what the gateway says about a key. A
// red team's proof of concept (before services/gateway/key_check.h) had
// node-3, replaced by a process with node-3's TLS identity
// (compromised_node.cc), answer GetKey with X = G (private key 1) at epoch
// 1000: the gateway took the highest epoch and handed clients the attacker's
// key and deposit address; a lie about the threshold blocked signing by the
// honest pair. The gateway now believes only what the key's committee
// certified.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"

namespace kagi::integration {
namespace {

std::unique_ptr<grpc::ClientContext> Ctx(int seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(seconds)));
  return ctx;
}

// SignsAroundNode3: `rounds` requests in a row are signed through the
// gateway and verify (the gateway rotates its first signer set per request,
// so three requests start from each of the three 2-of-3 sets); none was
// signed by node-3.
void SignsAroundNode3(Cluster& cluster, const v1::KeyInfo& key,
                      int rounds = 3) {
  for (int i = 0; i < rounds; ++i) {
    const v1::SignRequest request = SimpleSignRequest(key.key_id());
    v1::SignResponse resp;
    grpc::Status sign = Sign(cluster.wallet(), request, &resp);
    fprintf(stderr, "sign %d: %s, signers %s, %u attempt(s)\n", i,
            Describe(sign).c_str(),
            absl::StrJoin(resp.signer_nodes(), ",").c_str(), resp.attempts());
    ASSERT_TRUE(sign.ok()) << "request " << i << ": " << Describe(sign);
    EXPECT_TRUE(SignaturesValid(key, request, resp.signatures()));
    EXPECT_THAT(Strings(resp.signer_nodes()),
                ::testing::Not(::testing::Contains("node-3")));
  }
}

// StartCompromisedNode3 replaces node-3 by compromised_node.cc holding its
// identity, answering GetNodeInfo with node-3's real NodeInfo (so the
// gateway probes it healthy), GetKey with `key`, and StartSign with
// UNIMPLEMENTED; `extra_args` switch on more lies. Returns its pid.
pid_t StartCompromisedNode3(Cluster& cluster, const v1::KeyInfo& key,
                            const std::string& tag,
                            const std::vector<std::string>& extra_args = {}) {
  auto stub = cluster.NodeStub(3, kagictl::kGatewayName);
  v1::NodeInfo info;
  if (!stub.ok() ||
      !(*stub)
           ->GetNodeInfo(Ctx(20).get(), v1::GetNodeInfoRequest(), &info)
           .ok()) {
    return -1;
  }
  const std::string info_file = cluster.dir() + "/" + tag + "-info.pb";
  const std::string key_file = cluster.dir() + "/" + tag + "-key.pb";
  std::ofstream(info_file, std::ios::binary) << info.SerializeAsString();
  std::ofstream(key_file, std::ios::binary) << key.SerializeAsString();
  if (!cluster.StopNode(3, SIGTERM).ok()) return -1;
  const std::string cfg = cluster.NodeConfigPath(3);
  std::vector<std::string> args = {KAGI_COMPROMISED_NODE, cfg,
                                   "info=" + info_file, "key=" + key_file};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    execv(KAGI_COMPROMISED_NODE, argv.data());
    _exit(127);
  }
  absl::SleepFor(absl::Seconds(3));
  return pid;
}

TEST(LyingNodeTest, OneNodeCannotChooseTheReportedPublicKey) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT;
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  v1::DeriveRequest dr;
  dr.set_key_id(key.key_id());
  dr.add_path(0);
  dr.add_path(7);
  v1::DerivedKey honest;
  st = cluster->wallet()->DerivePublicKey(Ctx(20).get(), dr, &honest);
  ASSERT_TRUE(st.ok()) << Describe(st);

  // node-3's real NodeInfo and KeyInfo, then the forged KeyInfo.
  auto stub = cluster->NodeStub(3, kagictl::kGatewayName);
  ASSERT_TRUE(stub.ok());
  v1::NodeInfo info;
  ASSERT_TRUE((*stub)
                  ->GetNodeInfo(Ctx(20).get(), v1::GetNodeInfoRequest(), &info)
                  .ok());
  v1::KeyInfo forged;
  v1::GetKeyRequest get;
  get.set_key_id(key.key_id());
  ASSERT_TRUE((*stub)->GetKey(Ctx(20).get(), get, &forged).ok());
  const std::string g = absl::HexStringToBytes(
      "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  forged.set_public_key(g);  // X = 1*G: the attacker knows its private key
  forged.set_epoch(1000);
  forged.clear_xpub();
  forged.clear_activation_certificate();
  const std::string info_file = cluster->dir() + "/liar-info.pb";
  const std::string key_file = cluster->dir() + "/liar-key.pb";
  std::ofstream(info_file, std::ios::binary) << info.SerializeAsString();
  std::ofstream(key_file, std::ios::binary) << forged.SerializeAsString();

  ASSERT_TRUE(cluster->StopNode(3, SIGTERM).ok());
  const std::string cfg = cluster->NodeConfigPath(3);
  pid_t pid = fork();
  if (pid == 0) {
    execl(KAGI_COMPROMISED_NODE, KAGI_COMPROMISED_NODE, cfg.c_str(),
          ("info=" + info_file).c_str(), ("key=" + key_file).c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  v1::KeyInfo seen;
  v1::DerivedKey derived;
  grpc::Status gst, dst;
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while (absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(300));
    v1::GetKeyRequest wget;
    wget.set_key_id(key.key_id());
    gst = cluster->wallet()->GetKey(Ctx(20).get(), wget, &seen);
    if (gst.ok() && seen.warnings_size() > 0) break;  // the liar answered
  }
  dst = cluster->wallet()->DerivePublicKey(Ctx(20).get(), dr, &derived);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(gst.ok()) << Describe(gst);
  fprintf(stderr, "real X   %s\nreported %s (epoch %llu, %d warnings)\n",
          absl::BytesToHexString(key.public_key()).c_str(),
          absl::BytesToHexString(seen.public_key()).c_str(),
          (unsigned long long)seen.epoch(), seen.warnings_size());
  for (const auto& w : seen.warnings())
    fprintf(stderr, "  warn: %s\n", w.c_str());
  fprintf(stderr, "deposit address honest %s, via gateway now %s (%s)\n",
          honest.p2wpkh_address().c_str(), derived.p2wpkh_address().c_str(),
          Describe(dst).c_str());
  EXPECT_EQ(seen.public_key(), key.public_key())
      << "the gateway reported the forged key";
  EXPECT_EQ(seen.epoch(), key.epoch());
  ASSERT_TRUE(dst.ok()) << Describe(dst);
  EXPECT_EQ(derived.p2wpkh_address(), honest.p2wpkh_address());
  std::string warnings;
  for (const std::string& w : seen.warnings()) absl::StrAppend(&warnings, w);
  EXPECT_NE(warnings.find("node-3: epoch 1000 without an activation "
                          "certificate"),
            std::string::npos)
      << warnings;
  ASSERT_TRUE(cluster->StartNode(3).ok());
}

// The same lie used for denial of service: node-3 reports the real X at a
// higher epoch but threshold 3, so the gateway plans 3-of-3 signer sets
// (each needs node-3) although node-1 and node-2 hold a valid 2-of-3 share.
TEST(LyingNodeTest, OneNodeCannotBlockSigningByTheHonestPair) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT + 10;
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  auto stub = cluster->NodeStub(3, kagictl::kGatewayName);
  ASSERT_TRUE(stub.ok());
  v1::NodeInfo info;
  ASSERT_TRUE((*stub)
                  ->GetNodeInfo(Ctx(20).get(), v1::GetNodeInfoRequest(), &info)
                  .ok());
  v1::KeyInfo forged;
  v1::GetKeyRequest get;
  get.set_key_id(key.key_id());
  ASSERT_TRUE((*stub)->GetKey(Ctx(20).get(), get, &forged).ok());
  forged.set_epoch(forged.epoch() + 1);
  forged.set_threshold(3);
  forged.clear_activation_certificate();
  const std::string info_file = cluster->dir() + "/liar-info.pb";
  const std::string key_file = cluster->dir() + "/liar-key.pb";
  std::ofstream(info_file, std::ios::binary) << info.SerializeAsString();
  std::ofstream(key_file, std::ios::binary) << forged.SerializeAsString();
  ASSERT_TRUE(cluster->StopNode(3, SIGTERM).ok());
  const std::string cfg = cluster->NodeConfigPath(3);
  pid_t pid = fork();
  if (pid == 0) {
    execl(KAGI_COMPROMISED_NODE, KAGI_COMPROMISED_NODE, cfg.c_str(),
          ("info=" + info_file).c_str(), ("key=" + key_file).c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  absl::SleepFor(absl::Seconds(3));
  v1::SignResponse resp;
  grpc::Status sign =
      Sign(cluster->wallet(), SimpleSignRequest(key.key_id()), &resp);
  fprintf(stderr, "sign with node-1, node-2 honest and node-3 lying: %s\n",
          Describe(sign).c_str());
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  // Control: node-3 down entirely, the honest pair signs.
  absl::SleepFor(absl::Seconds(2));
  v1::SignResponse resp2;
  v1::SignRequest used;
  grpc::Status control = SignEventually(
      cluster->wallet(), SimpleSignRequest(key.key_id()), &resp2, &used);
  fprintf(stderr, "control, node-3 down: %s\n", Describe(control).c_str());
  EXPECT_TRUE(sign.ok()) << "the lie blocked the honest pair: "
                         << Describe(sign);
  EXPECT_TRUE(control.ok());
  ASSERT_TRUE(cluster->StartNode(3).ok());
}

// Red team 5: one compromised node answers Node.GetKey for the key with a
// malformed KeyInfo (right key_id, empty chain_code). Gateway::FetchKey
// returned at once on the first answer that failed ValidateKeyInfo, so
// every gateway operation that needs the key failed: Sign (a one-node veto
// of all signing through the gateway) and GetRequestStatus of a request the
// honest pair signed. Now the malformed answer is ignored and named; the
// key and the success are read from the honest pair.
TEST(LyingNodeTest, AMalformedKeyInfoFromOneNodeIsIgnored) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT - 10;  // 7370: its own cluster
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  // A request signed while everyone is honest.
  v1::SignResponse before;
  v1::SignRequest signed_before;
  ASSERT_TRUE(SignEventually(cluster->wallet(), SimpleSignRequest(key.key_id()),
                             &before, &signed_before)
                  .ok());
  auto status_of = [&](const std::string& id, v1::RequestStatus* out) {
    v1::GetRequestStatusRequest q;
    q.set_request_id(id);
    return cluster->wallet()->GetRequestStatus(Ctx(30).get(), q, out);
  };
  v1::RequestStatus honest_status;
  grpc::Status hs = status_of(signed_before.request_id(), &honest_status);
  fprintf(stderr, "[red5] status before the attack: %s state=%s\n",
          Describe(hs).c_str(), honest_status.state().c_str());

  auto stub = cluster->NodeStub(3, kagictl::kGatewayName);
  ASSERT_TRUE(stub.ok());
  v1::NodeInfo info;
  ASSERT_TRUE((*stub)
                  ->GetNodeInfo(Ctx(20).get(), v1::GetNodeInfoRequest(), &info)
                  .ok());
  v1::KeyInfo forged;
  v1::GetKeyRequest get;
  get.set_key_id(key.key_id());
  ASSERT_TRUE((*stub)->GetKey(Ctx(20).get(), get, &forged).ok());
  forged.clear_chain_code();  // malformed: ValidateKeyInfo fails
  const std::string info_file = cluster->dir() + "/red5-info.pb";
  const std::string key_file = cluster->dir() + "/red5-key.pb";
  std::ofstream(info_file, std::ios::binary) << info.SerializeAsString();
  std::ofstream(key_file, std::ios::binary) << forged.SerializeAsString();
  ASSERT_TRUE(cluster->StopNode(3, SIGTERM).ok());
  const std::string cfg = cluster->NodeConfigPath(3);
  pid_t pid = fork();
  if (pid == 0) {
    execl(KAGI_COMPROMISED_NODE, KAGI_COMPROMISED_NODE, cfg.c_str(),
          ("info=" + info_file).c_str(), ("key=" + key_file).c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  absl::SleepFor(absl::Seconds(3));
  v1::RequestStatus after;
  grpc::Status as = status_of(signed_before.request_id(), &after);
  fprintf(stderr,
          "[red5] GetRequestStatus of the request signed before: %s "
          "state=%s outcome=%s\n",
          Describe(as).c_str(), after.state().c_str(), after.outcome().c_str());
  v1::GetKeyRequest wget;
  wget.set_key_id(key.key_id());
  v1::KeyInfo seen;
  grpc::Status gk = cluster->wallet()->GetKey(Ctx(20).get(), wget, &seen);
  fprintf(stderr, "[red5] Wallet.GetKey: %s\n", Describe(gk).c_str());
  // Signing goes on without node-3 (whose description was refused, and
  // which answers StartSign with UNIMPLEMENTED).
  SignsAroundNode3(*cluster, key);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  // The key is read without the malformed answer.
  EXPECT_TRUE(gk.ok()) << Describe(gk);
  EXPECT_EQ(seen.chain_code(), key.chain_code());
  EXPECT_TRUE(as.ok() && after.state() == "succeeded")
      << "one node's malformed KeyInfo hid a success: " << Describe(as)
      << " state=" << after.state();
  ASSERT_TRUE(cluster->StartNode(3).ok());
}

// A member that fails without a reason about the request must not stop
// signing by the others. Before, a signer answering UNIMPLEMENTED (or
// INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED: "not known to be transient") ended
// the request at once, so one compromised or broken member refused every
// request whose first signer set included it; and a member that lost its
// disk (NOT_FOUND: unknown key, issue 15's SRE walkthrough) did the same.
// Now the gateway tries the next signer set without that node.
TEST(LyingNodeTest, AFailingMemberIsSignedAround) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT - 20;  // 7360: its own cluster
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  v1::KeyInfo genuine;
  ASSERT_TRUE(cluster->NodeGetKey(3, key.key_id(), &genuine).ok());

  // node-3 describes the key truthfully but answers StartSign UNIMPLEMENTED.
  const pid_t pid = StartCompromisedNode3(*cluster, genuine, "unimplemented");
  ASSERT_GT(pid, 0);
  SignsAroundNode3(*cluster, key);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);

  // node-3 restarted on an empty data directory (its disk was lost): it
  // answers NOT_FOUND for the key.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = cluster->NodeDb(3) + suffix;
    std::rename(file.c_str(), (file + ".lost").c_str());
  }
  ASSERT_TRUE(cluster->StartNode(3).ok());
  ASSERT_TRUE(cluster->WaitGatewayReachesAll().ok());
  SignsAroundNode3(*cluster, key);
}

// A member that replays a real success of another request (signatures that
// verify under the key) for any id can make GetRequestStatus UNAVAILABLE for
// ids the others never saw, naming it, but cannot make it say anything else:
// not "succeeded" for an id that was not, and a real success stays
// confirmed by the honest members. (Red team 5 proposed "unknown" here; red
// team 6 showed why not: the same answer then hides a real success whose
// other signer lies, and "unknown" invites the client to pay again.)
TEST(LyingNodeTest, AReplayedSuccessIsNamedButNotBelieved) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT - 30;  // 7350: its own cluster
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  v1::SignResponse signed_response;
  v1::SignRequest signed_request;
  ASSERT_TRUE(SignEventually(cluster->wallet(), SimpleSignRequest(key.key_id()),
                             &signed_response, &signed_request)
                  .ok());
  auto status_of = [&](const std::string& id, v1::RequestStatus* out) {
    v1::GetRequestStatusRequest q;
    q.set_request_id(id);
    q.set_key_id(key.key_id());
    return cluster->wallet()->GetRequestStatus(Ctx(30).get(), q, out);
  };
  v1::RequestStatus success;
  ASSERT_TRUE(status_of(signed_request.request_id(), &success).ok());
  ASSERT_EQ(success.state(), "succeeded");
  success.clear_confirmed_by();
  const std::string replay_file = cluster->dir() + "/replayed-status.pb";
  std::ofstream(replay_file, std::ios::binary) << success.SerializeAsString();
  v1::KeyInfo genuine;
  ASSERT_TRUE(cluster->NodeGetKey(3, key.key_id(), &genuine).ok());
  const pid_t pid = StartCompromisedNode3(*cluster, genuine, "replay",
                                          {"replay=" + replay_file});
  ASSERT_GT(pid, 0);
  v1::RequestStatus never_used;
  const grpc::Status ns = status_of("never-used-id-0001", &never_used);
  fprintf(stderr, "a never-used id with node-3 replaying: %s state=%s (%s)\n",
          Describe(ns).c_str(), never_used.state().c_str(),
          never_used.outcome().c_str());
  // The real success is still confirmed by the two honest members.
  v1::RequestStatus real;
  const grpc::Status rs = status_of(signed_request.request_id(), &real);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  EXPECT_TRUE(RpcError(ns, grpc::StatusCode::UNAVAILABLE,
                       "a success is reported by node-3 (1 of threshold 2)"))
      << never_used.state();
  ASSERT_TRUE(rs.ok()) << Describe(rs);
  EXPECT_EQ(real.state(), "succeeded");
  EXPECT_TRUE(SignaturesValid(key, signed_request, real.signatures()));
}

// Signing around a member's own fault leaves the first attempt's session
// running on its honest co-signer (the gateway cancels the call; the node
// does not stop). Before, that session's late timeout overwrote the record
// of the request the next signer set signed with "failed" (red team 6), so
// GetRequestStatus no longer confirmed the success. A completion is never
// taken back now.
TEST(LyingNodeTest, ALateFirstAttemptDoesNotUndoTheSuccess) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT - 40;  // 7340: its own cluster
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  ASSERT_TRUE(cluster->StopNode(3, SIGTERM).ok());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = cluster->NodeDb(3) + suffix;
    std::rename(file.c_str(), (file + ".lost").c_str());
  }
  ASSERT_TRUE(cluster->StartNode(3).ok());
  ASSERT_TRUE(cluster->WaitGatewayReachesAll().ok());
  std::vector<v1::SignRequest> retried;
  for (int i = 0; i < 3; ++i) {
    const v1::SignRequest request = SimpleSignRequest(key.key_id());
    v1::SignResponse resp;
    const grpc::Status sign = Sign(cluster->wallet(), request, &resp);
    ASSERT_TRUE(sign.ok()) << Describe(sign);
    ASSERT_TRUE(SignaturesValid(key, request, resp.signatures()));
    if (resp.attempts() >= 2) retried.push_back(request);
  }
  ASSERT_FALSE(retried.empty());
  // The dangling sessions time out (round timeout 3 s).
  absl::SleepFor(absl::Seconds(6));
  for (const v1::SignRequest& request : retried) {
    v1::GetRequestStatusRequest q;
    q.set_request_id(request.request_id());
    q.set_key_id(key.key_id());
    v1::RequestStatus status;
    const grpc::Status rs =
        cluster->wallet()->GetRequestStatus(Ctx(30).get(), q, &status);
    ASSERT_TRUE(rs.ok()) << Describe(rs);
    EXPECT_EQ(status.state(), "succeeded") << status.outcome();
    EXPECT_TRUE(SignaturesValid(key, request, status.signatures()));
    v1::SignResponse again;
    EXPECT_TRUE(RpcError(Sign(cluster->wallet(), request, &again),
                         grpc::StatusCode::ALREADY_EXISTS,
                         "already completed"));
  }
}

// Only the signers hold a request's record, so one lying signer keeps a
// real success from being confirmed by the key's threshold (t = 2). It must
// not turn it into "unknown" (which invites the client to pay again): the
// answer is UNAVAILABLE naming the honest signer's success (red team 6).
TEST(LyingNodeTest, OneLyingSignerCannotMakeASuccessReadUnknown) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT - 50;  // 7330: its own cluster
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  v1::SignRequest request;
  v1::SignResponse resp;
  bool with_node3 = false;
  for (int i = 0; i < 6 && !with_node3; ++i) {
    request = SimpleSignRequest(key.key_id());
    resp.Clear();
    ASSERT_TRUE(Sign(cluster->wallet(), request, &resp).ok());
    with_node3 = ::testing::Value(Strings(resp.signer_nodes()),
                                  ::testing::Contains("node-3"));
  }
  ASSERT_TRUE(with_node3);
  std::string honest_signer;
  for (const std::string& n : resp.signer_nodes()) {
    if (n != "node-3") honest_signer = n;
  }
  v1::KeyInfo genuine;
  ASSERT_TRUE(cluster->NodeGetKey(3, key.key_id(), &genuine).ok());
  // node-3 now answers "unknown" about every request.
  const pid_t pid = StartCompromisedNode3(*cluster, genuine, "hide");
  ASSERT_GT(pid, 0);
  v1::GetRequestStatusRequest q;
  q.set_request_id(request.request_id());
  q.set_key_id(key.key_id());
  v1::RequestStatus after;
  const grpc::Status as =
      cluster->wallet()->GetRequestStatus(Ctx(30).get(), q, &after);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  EXPECT_TRUE(RpcError(as, grpc::StatusCode::UNAVAILABLE,
                       absl::StrCat("a success is reported by ", honest_signer,
                                    " (1 of threshold 2)")))
      << "state=" << after.state();
}

}  // namespace
}  // namespace kagi::integration
