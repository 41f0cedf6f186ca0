// kagi-node: one key-share node. Usage: kagi-node --config PATH
//
// Loads and validates the config, opens the sealed store and the identity
// key, serves kagi.v1.Node, kagi.v1.Peer and grpc.health.v1.Health on one
// mTLS port, and shuts down cleanly on SIGTERM / SIGINT. Exit status: 0 after
// a clean shutdown, 2 for a bad config or unusable files.
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/base/status_macros.h"
#include "libs/policy/policy.h"
#include "libs/storage/kek.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/config.h"
#include "libs/transport/identity_key.h"
#include "libs/transport/tls.h"
#include "services/node/grpc_transport.h"
#include "services/node/node.h"
#include "services/node/node_service.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

absl::Status Serve(const std::string& config_path) {
  KAGI_ASSIGN_OR_RETURN(kagi::v1::NodeConfig config,
                        kagi::transport::LoadNodeConfig(config_path));
  KAGI_RETURN_IF_ERROR(kagi::transport::CheckNodeConfigFiles(config));
  absl::StatusOr<kagi::SecretBytes> kek =
      config.has_seal_key_file()
          ? kagi::storage::LoadKek(config.seal_key_file())
          : kagi::storage::LoadKekFromEnv(config.seal_key_env());
  KAGI_RETURN_IF_ERROR(kek.status());
  KAGI_ASSIGN_OR_RETURN(
      kagi::crypto::Ed25519PrivateKey identity,
      kagi::transport::LoadIdentityKey(config.identity_key_file()));
  KAGI_ASSIGN_OR_RETURN(
      std::unique_ptr<kagi::storage::SqliteStore> store,
      kagi::storage::SqliteStore::Open(config.storage_path()));
  KAGI_ASSIGN_OR_RETURN(std::unique_ptr<kagi::node::GrpcPeerTransport> peers,
                        kagi::node::GrpcPeerTransport::Create(config));
  // The policy is validated as a whole: a node whose policy does not load
  // does not start. Without one it starts and refuses every request.
  std::shared_ptr<const kagi::policy::Policy> policy;
  if (!config.policy_file().empty()) {
    kagi::v1::Policy proto;
    KAGI_RETURN_IF_ERROR(
        kagi::transport::LoadTextProto(config.policy_file(), &proto));
    absl::StatusOr<kagi::policy::Policy> loaded =
        kagi::policy::Policy::FromProto(std::move(proto));
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(config.policy_file(), ": ", loaded.status().message()));
    }
    policy = std::make_shared<const kagi::policy::Policy>(*std::move(loaded));
  }
  KAGI_ASSIGN_OR_RETURN(
      std::unique_ptr<kagi::node::NodeCore> core,
      kagi::node::NodeCore::Create(config, std::move(store), *std::move(kek),
                                   std::move(identity), peers.get(),
                                   std::move(policy)));
  const kagi::transport::TlsFiles tls{config.tls().cert_file(),
                                      config.tls().key_file(),
                                      config.tls().ca_file()};
  KAGI_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                        kagi::transport::MakeServerCredentials(tls));
  // The node's own certificate must say it is this node: a gateway's or a
  // client's certificate configured by mistake is refused at start-up.
  KAGI_RETURN_IF_ERROR(kagi::transport::CheckOwnCertificate(
      tls, kagi::transport::Role::kNode, config.name()));

  kagi::node::NodeServiceImpl node_service(core.get(), config);
  kagi::node::PeerServiceImpl peer_service(core.get(), config);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // A second process on the same port is an error, not a silent co-listener.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(config.listen_address(), creds, &port);
  kagi::transport::ConfigureServerBuilder(builder);
  builder.RegisterService(&node_service);
  builder.RegisterService(&peer_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "listen_address: cannot listen on ", config.listen_address()));
  }
  std::cout << "kagi-node " << config.name() << " listening on "
            << config.listen_address() << std::endl;
  while (!g_stop) absl::SleepFor(absl::Milliseconds(50));
  std::cout << "kagi-node " << config.name() << " shutting down" << std::endl;
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  server->Wait();
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  // The store, its WAL and every file the node writes are private to it.
  ::umask(0077);
  if (argc != 3 || std::strcmp(argv[1], "--config") != 0) {
    std::cerr << "usage: kagi-node --config PATH\n";
    return 2;
  }
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  absl::Status st = Serve(argv[2]);
  if (!st.ok()) {
    std::cerr << "kagi-node: " << st.message() << "\n";
    return 2;
  }
  return 0;
}
