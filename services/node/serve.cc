#include "services/node/serve.h"

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

namespace kagi::node {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

const volatile sig_atomic_t* StopOnSignals() {
  // The store, its WAL and every file the node writes are private to it.
  ::umask(0077);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return &g_stop;
}

namespace {

// LoadPolicy: the policy is validated as a whole: a node whose policy does
// not load does not start. Without one (null) it starts and refuses every
// request.
absl::StatusOr<std::shared_ptr<const policy::Policy>> LoadPolicy(
    const v1::NodeConfig& config) {
  if (config.policy_file().empty()) return nullptr;
  v1::Policy proto;
  KAGI_RETURN_IF_ERROR(transport::LoadTextProto(config.policy_file(), &proto));
  absl::StatusOr<policy::Policy> loaded =
      policy::Policy::FromProto(std::move(proto));
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.policy_file(), ": ", loaded.status().message()));
  }
  return std::make_shared<const policy::Policy>(*std::move(loaded));
}

// Serve: the node's gRPC services on its mTLS port until `stop`.
absl::Status Serve(const v1::NodeConfig& config, NodeCore* core,
                   const std::string& audit_note,
                   const volatile sig_atomic_t* stop) {
  const transport::TlsFiles tls{config.tls().cert_file(),
                                config.tls().key_file(),
                                config.tls().ca_file()};
  KAGI_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                        transport::MakeServerCredentials(tls));
  // The node's own certificate must say it is this node: a gateway's or a
  // client's certificate configured by mistake is refused at start-up.
  KAGI_RETURN_IF_ERROR(transport::CheckOwnCertificate(
      tls, transport::Role::kNode, config.name()));

  NodeServiceImpl node_service(core, config);
  PeerServiceImpl peer_service(core, config);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // A second process on the same port is an error, not a silent co-listener.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(config.listen_address(), creds, &port);
  transport::ConfigureServerBuilder(builder);
  builder.RegisterService(&node_service);
  builder.RegisterService(&peer_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "listen_address: cannot listen on ", config.listen_address()));
  }
  std::cout << "kagi-node " << config.name() << " listening on "
            << config.listen_address() << std::endl;
  if (!audit_note.empty()) {
    std::cout << "kagi-node " << config.name() << ": WARNING " << audit_note
              << std::endl;
  }
  for (const std::string& line : core->StartupReport()) {
    std::cout << "kagi-node " << config.name() << ": WARNING " << line
              << std::endl;
  }
  while (!*stop) absl::SleepFor(absl::Milliseconds(50));
  std::cout << "kagi-node " << config.name() << " shutting down" << std::endl;
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  server->Wait();
  return absl::OkStatus();
}

}  // namespace

absl::Status ServeNode(const std::string& config_path,
                       const TransportDecorator& decorate,
                       const volatile sig_atomic_t* stop,
                       const ServeOptions& options) {
  KAGI_ASSIGN_OR_RETURN(v1::NodeConfig config,
                        transport::LoadNodeConfig(config_path));
  KAGI_RETURN_IF_ERROR(transport::CheckNodeConfigFiles(config));
  absl::StatusOr<SecretBytes> kek =
      config.has_seal_key_file()
          ? storage::LoadKek(config.seal_key_file())
          : storage::LoadKekFromEnv(config.seal_key_env());
  KAGI_RETURN_IF_ERROR(kek.status());
  KAGI_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey identity,
                        transport::LoadIdentityKey(config.identity_key_file()));
  KAGI_ASSIGN_OR_RETURN(std::unique_ptr<storage::SqliteStore> store,
                        storage::SqliteStore::Open(config.storage_path()));
  KAGI_ASSIGN_OR_RETURN(std::unique_ptr<GrpcPeerTransport> grpc_peers,
                        GrpcPeerTransport::Create(config));
  // Also the claims' transport (request_claims.h): the same channels, owned
  // by `peers`, decorated or not.
  GrpcPeerTransport* grpc_raw = grpc_peers.get();
  std::unique_ptr<PeerTransport> peers = std::move(grpc_peers);
  if (decorate) {
    KAGI_ASSIGN_OR_RETURN(peers, decorate(config, std::move(peers)));
  }
  KAGI_ASSIGN_OR_RETURN(std::shared_ptr<const policy::Policy> policy,
                        LoadPolicy(config));
  KAGI_ASSIGN_OR_RETURN(
      std::unique_ptr<NodeCore> core,
      NodeCore::Create(config, std::move(store), *std::move(kek),
                       std::move(identity), peers.get(), std::move(policy),
                       grpc_raw));
  KAGI_RETURN_IF_ERROR(core->CheckKek());
  // Nothing is served over a log that does not verify (unless the operator
  // accepted exactly its break).
  KAGI_ASSIGN_OR_RETURN(std::string audit_note,
                        core->CheckAuditLog(options.accept_audit_break_at));
  grpc_raw->SetAuditHeads([c = core.get()] { return c->LatestAuditHead(); });
  // Before serving: signing sessions that died with the last process.
  for (const std::string& line : core->ReleaseInterruptedClaims()) {
    std::cout << "kagi-node " << config.name() << ": " << line << std::endl;
  }
  return Serve(config, core.get(), audit_note, stop);
}

}  // namespace kagi::node
