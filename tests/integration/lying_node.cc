// TEST ONLY (tests/integration/lying_node_test.cc): a compromised node-3 that
// answers the gateway's Node.GetKey with a forged KeyInfo (its own public key,
// a high epoch) and GetNodeInfo truthfully. Test-only; stands in for a node
// whose operator runs modified code (threat model: one compromised node).
//   lying-node NODE_CONFIG NODEINFO_FILE KEYINFO_FILE  (binary protos)
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/time/clock.h"
#include "kagi/v1/node.grpc.pb.h"
#include "libs/transport/config.h"
#include "libs/transport/tls.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

std::string Slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Liar final : public kagi::v1::Node::Service {
 public:
  Liar(kagi::v1::NodeInfo info, kagi::v1::KeyInfo key)
      : info_(std::move(info)), key_(std::move(key)) {}
  grpc::Status GetNodeInfo(grpc::ServerContext*,
                           const kagi::v1::GetNodeInfoRequest*,
                           kagi::v1::NodeInfo* out) override {
    *out = info_;
    return grpc::Status::OK;
  }
  grpc::Status GetKey(grpc::ServerContext*, const kagi::v1::GetKeyRequest* req,
                      kagi::v1::KeyInfo* out) override {
    if (req->key_id() != key_.key_id()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown key");
    }
    *out = key_;
    return grpc::Status::OK;
  }

 private:
  kagi::v1::NodeInfo info_;
  kagi::v1::KeyInfo key_;
};
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  auto config = kagi::transport::LoadNodeConfig(argv[1]);
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 1;
  }
  kagi::v1::NodeInfo info;
  kagi::v1::KeyInfo key;
  if (!info.ParseFromString(Slurp(argv[2])) ||
      !key.ParseFromString(Slurp(argv[3]))) {
    std::cerr << "bad proto files\n";
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
  Liar liar(info, key);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen_address(), *creds, &port);
  kagi::transport::ConfigureServerBuilder(builder);
  builder.RegisterService(&liar);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return 1;
  std::cout << "lying node listening on " << config->listen_address()
            << std::endl;
  while (!g_stop) absl::SleepFor(absl::Milliseconds(50));
  server->Shutdown();
  return 0;
}
