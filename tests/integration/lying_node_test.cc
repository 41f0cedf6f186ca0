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

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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
  v1::SignResponse resp;
  grpc::Status sign =
      Sign(cluster->wallet(), SimpleSignRequest(key.key_id()), &resp);
  fprintf(stderr,
          "[red5] Sign with node-1, node-2 honest, node-3 malformed: %s\n",
          Describe(sign).c_str());
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
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  // The key is read without the malformed answer. Signing is not asserted
  // here: the gateway may still pick node-3 (a member) as a signer, and a
  // node that refuses to sign with UNIMPLEMENTED is not retried around yet
  // (open: red team 5, issue 13 note).
  EXPECT_TRUE(gk.ok()) << Describe(gk);
  EXPECT_EQ(seen.chain_code(), key.chain_code());
  EXPECT_TRUE(as.ok() && after.state() == "succeeded")
      << "one node's malformed KeyInfo hid a success: " << Describe(as)
      << " state=" << after.state();
  ASSERT_TRUE(cluster->StartNode(3).ok());
}

}  // namespace
}  // namespace kagi::integration
