#include "tests/integration/approved_requests.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/policy/request_digest.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {

ClusterConfig StrictCluster(int base_port, int nodes) {
  ClusterConfig config;
  config.base_port = base_port;
  config.nodes = nodes;
  config.allow_raw_digest = false;
  config.admin_without_approvals = false;
  return config;
}

uint64_t ExpiryIn(int seconds) {
  return static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + seconds);
}

absl::Status CreateApprovedKey(Cluster& cluster,
                               const std::vector<std::string>& nodes,
                               uint32_t threshold, v1::KeyInfo* out) {
  v1::CreateKeyRequest req;
  req.set_request_id(NewRequestId("create"));
  req.set_threshold(threshold);
  for (const std::string& n : nodes) req.add_nodes(n);
  for (const std::string& n : TestNetworks()) req.add_networks(n);
  req.set_expiry_unix_seconds(ExpiryIn());
  absl::StatusOr<v1::ListNodesResponse> listed = ListNodes(cluster.wallet());
  if (!listed.ok()) return listed.status();
  absl::StatusOr<policy::AdminChange> change =
      kagictl::CreateKeyChange(&req, *listed);
  if (!change.ok()) return change.status();
  absl::StatusOr<v1::Approval> a = kagictl::Approve(
      "alice", kagictl::ApproverKeyPath(cluster.dir(), "alice"),
      policy::AdminDigest(*change));
  if (!a.ok()) return a.status();
  *req.add_approvals() = *a;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  const grpc::Status st = cluster.wallet()->CreateKey(&ctx, req, out);
  if (!st.ok()) return absl::InternalError("CreateKey: " + Describe(st));
  return absl::OkStatus();
}

absl::Status ApproveSignRequest(const Cluster& cluster, v1::SignRequest* r) {
  r->clear_approvals();
  absl::StatusOr<policy::RequestDigest> digest = policy::SignRequestDigest(*r);
  if (!digest.ok()) return digest.status();
  for (const char* n : {"alice", "bob", "carol"}) {
    absl::StatusOr<v1::Approval> a = kagictl::Approve(
        n, kagictl::ApproverKeyPath(cluster.dir(), n), *digest);
    if (!a.ok()) return a.status();
    *r->add_approvals() = *a;
  }
  return absl::OkStatus();
}

v1::SignRequest ApprovedPsbt(const Cluster& cluster, const v1::KeyInfo& key,
                             uint64_t amount) {
  v1::SignRequest r;
  r.set_request_id(NewRequestId("btc"));
  r.set_key_id(key.key_id());
  r.set_expiry_unix_seconds(ExpiryIn());
  absl::StatusOr<Bytes> psbt =
      kagictl::DemoPsbt(key, "regtest", kagictl::DemoBitcoinDestination(),
                        amount, 1000, 200000000);
  EXPECT_TRUE(psbt.ok()) << psbt.status();
  if (!psbt.ok()) return r;
  r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
      std::string(psbt->begin(), psbt->end()));
  const absl::Status approved = ApproveSignRequest(cluster, &r);
  EXPECT_TRUE(approved.ok()) << approved;
  return r;
}

grpc::Status StartSignOn(const Cluster& cluster, int node,
                         const v1::SignRequest& r,
                         const std::vector<uint32_t>& signers,
                         v1::StartSignResponse* response,
                         const std::string& initiator) {
  absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
      cluster.NodeStub(node, kagictl::kGatewayName);
  if (!stub.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "stub");
  v1::StartSignRequest start;
  *start.mutable_request() = r;
  for (uint32_t s : signers) start.add_signers(s);
  // One session per signer set: every signer derives the same sid0.
  start.set_initiator_nonce(
      std::string(32, static_cast<char>(signers[0] * 16 + signers[1])));
  start.set_initiator(initiator);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::StartSignResponse ignored;
  return (*stub)->StartSign(&ctx, start,
                            response != nullptr ? response : &ignored);
}

absl::Status SignTogether(const Cluster& cluster, int a, int b,
                          const v1::SignRequest& r) {
  const std::vector<uint32_t> signers = {static_cast<uint32_t>(a),
                                         static_cast<uint32_t>(b)};
  grpc::Status sa, sb;
  std::thread ta([&] { sa = StartSignOn(cluster, a, r, signers); });
  std::thread tb([&] { sb = StartSignOn(cluster, b, r, signers); });
  ta.join();
  tb.join();
  for (const auto& [node, st] :
       {std::pair<int, grpc::Status>{a, sa}, {b, sb}}) {
    if (!st.ok()) {
      return absl::InternalError(
          absl::StrCat("node-", node, ": ", Describe(st)));
    }
  }
  return absl::OkStatus();
}

}  // namespace kagi::integration
