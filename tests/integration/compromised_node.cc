// TEST ONLY: a compromised node. It holds a real node's TLS certificate and
// identity key but runs modified code (threat model: "one compromised
// node"); each behaviour is switched on by an argument:
//   compromised-node NODE_CONFIG [info=FILE] [key=FILE] [claims=MODE]
//                    [status=forge|inprogress] [replay=FILE]
//   info=FILE     answers Node.GetNodeInfo with this NodeInfo (binary proto),
//                 so that the gateway probes it healthy;
//   key=FILE      answers Node.GetKey with this (forged) KeyInfo;
//   claims=MODE   answers Peer.ExchangeRequestClaims with its own validly
//                 signed claim about the id it was told of:
//                   succeeded-other  "succeeded", for another request digest
//                   succeeded-echo   "succeeded", for the same request
//                   admitted-echo    "admitted", same request, another session
//   replay=FILE   answers Node.GetRequestStatus with this RequestStatus (a
//                 real success of another request), for any request id;
//   status=forge  answers Node.GetRequestStatus "succeeded" with a forged
//                 signed PSBT for any request id.
// Used by lying_node_test.cc and claims_attack_test.cc.
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "kagi/v1/node.grpc.pb.h"
#include "libs/transport/config.h"
#include "libs/transport/identity_key.h"
#include "libs/transport/tls.h"
#include "services/node/request_claims.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LyingNode final : public kagi::v1::Node::Service {
 public:
  LyingNode(kagi::v1::NodeInfo info, std::optional<kagi::v1::KeyInfo> key,
            bool forge_status, bool in_progress,
            std::optional<kagi::v1::RequestStatus> replay)
      : info_(std::move(info)),
        key_(std::move(key)),
        forge_(forge_status),
        in_progress_(in_progress),
        replay_(std::move(replay)) {}
  grpc::Status GetNodeInfo(grpc::ServerContext*,
                           const kagi::v1::GetNodeInfoRequest*,
                           kagi::v1::NodeInfo* out) override {
    *out = info_;
    return grpc::Status::OK;
  }
  grpc::Status GetKey(grpc::ServerContext*, const kagi::v1::GetKeyRequest* req,
                      kagi::v1::KeyInfo* out) override {
    if (!key_.has_value() || req->key_id() != key_->key_id()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown key");
    }
    *out = *key_;
    return grpc::Status::OK;
  }
  grpc::Status GetRequestStatus(grpc::ServerContext*,
                                const kagi::v1::GetRequestStatusRequest* req,
                                kagi::v1::RequestStatus* out) override {
    out->set_request_id(req->request_id());
    if (replay_.has_value()) {  // red team 5: a real success, another id
      *out = *replay_;
      out->set_request_id(req->request_id());
      return grpc::Status::OK;
    }
    if (in_progress_) {  // red team 4: a lie the gateway does not check
      out->set_state("in_progress");
      out->set_key_id(std::string(32, '\x42'));
      out->set_outcome("RED4: still signing, do not resend");
      return grpc::Status::OK;
    }
    if (!forge_) {
      out->set_state("unknown");
      return grpc::Status::OK;
    }
    out->set_state("succeeded");
    out->set_request_digest(std::string(32, '\xEE'));
    out->set_outcome("ok");
    out->set_signed_psbt("FORGED-BY-A-COMPROMISED-NODE");
    return grpc::Status::OK;
  }

 private:
  kagi::v1::NodeInfo info_;
  std::optional<kagi::v1::KeyInfo> key_;
  bool forge_;
  bool in_progress_;
  std::optional<kagi::v1::RequestStatus> replay_;  // red team 5
};

class ClaimVetoer final : public kagi::v1::Peer::Service {
 public:
  ClaimVetoer(kagi::crypto::Ed25519PrivateKey identity, std::string mode)
      : identity_(std::move(identity)), mode_(std::move(mode)) {}
  grpc::Status Deliver(grpc::ServerContext*, const kagi::v1::DeliverRequest*,
                       kagi::v1::DeliverResponse*) override {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "compromised node");
  }
  grpc::Status ExchangeRequestClaims(grpc::ServerContext*,
                                     const kagi::v1::RequestClaims* req,
                                     kagi::v1::RequestClaims* out) override {
    *out = *req;
    if (req->claims_size() == 0) return grpc::Status::OK;
    if (mode_ == "hang") {  // red team 4: never answers in time
      std::this_thread::sleep_for(std::chrono::seconds(20));
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "late");
    }
    // The honest claim, re-signed as this node's own with the change asked.
    kagi::v1::RequestClaim c = req->claims(0);
    c.set_sid0(std::string(32, '\xEE'));
    if (mode_ == "succeeded-other") {
      c.set_request_digest(std::string(32, '\xEE'));
      c.set_state(std::string(kagi::node::kClaimSucceeded));
    } else if (mode_ == "succeeded-echo") {
      c.set_state(std::string(kagi::node::kClaimSucceeded));
    } else {
      c.set_state(std::string(kagi::node::kClaimAdmitted));
    }
    const std::array<uint8_t, 32> pub = identity_.PublicKey();
    c.set_node_identity_key(std::string(pub.begin(), pub.end()));
    const kagi::crypto::Ed25519Signature sig =
        identity_.Sign(kagi::node::ClaimDigest(c));
    c.set_signature(std::string(sig.begin(), sig.end()));
    *out->add_claims() = c;
    if (mode_ == "flood-answer") {  // red team 4: ~7.5 MiB of signed claims
      const size_t one = c.ByteSizeLong() + 4;
      for (size_t n = (7u << 20) / one; n > 0; --n) *out->add_claims() = c;
    }
    std::cout << mode_ << ": '" << req->request_id() << "'" << std::endl;
    return grpc::Status::OK;
  }

 private:
  kagi::crypto::Ed25519PrivateKey identity_;
  std::string mode_;
};
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  std::map<std::string, std::string> args;
  for (int i = 2; i < argc; ++i) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(argv[i], absl::MaxSplits('=', 1));
    args[kv.first] = kv.second;
  }
  auto config = kagi::transport::LoadNodeConfig(argv[1]);
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 1;
  }
  const kagi::transport::TlsFiles tls{config->tls().cert_file(),
                                      config->tls().key_file(),
                                      config->tls().ca_file()};
  auto creds = kagi::transport::MakeServerCredentials(tls);
  if (!creds.ok()) {
    std::cerr << creds.status() << "\n";
    return 1;
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen_address(), *creds, &port);
  kagi::transport::ConfigureServerBuilder(builder);

  std::unique_ptr<LyingNode> node;
  if (args.count("info") != 0) {
    kagi::v1::NodeInfo info;
    std::optional<kagi::v1::KeyInfo> key;
    if (!info.ParseFromString(Slurp(args["info"]))) return 1;
    if (args.count("key") != 0) {
      key.emplace();
      if (!key->ParseFromString(Slurp(args["key"]))) return 1;
    }
    std::optional<kagi::v1::RequestStatus> replay;
    if (args.count("replay") != 0) {
      replay.emplace();
      if (!replay->ParseFromString(Slurp(args["replay"]))) return 1;
    }
    node = std::make_unique<LyingNode>(
        std::move(info), std::move(key), args["status"] == "forge",
        args["status"] == "inprogress", std::move(replay));
    builder.RegisterService(node.get());
  }
  std::unique_ptr<ClaimVetoer> vetoer;
  if (args.count("claims") != 0) {
    auto identity =
        kagi::transport::LoadIdentityKey(config->identity_key_file());
    if (!identity.ok()) {
      std::cerr << identity.status() << "\n";
      return 1;
    }
    vetoer =
        std::make_unique<ClaimVetoer>(*std::move(identity), args["claims"]);
    builder.RegisterService(vetoer.get());
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return 1;
  std::cout << "compromised node listening on " << config->listen_address()
            << std::endl;
  while (!g_stop) absl::SleepFor(absl::Milliseconds(50));
  server->Shutdown();
  return 0;
}
