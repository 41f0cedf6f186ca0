// File: services/gateway/main.cc
//
// kagi-gateway: the Wallet API in front of the key-share nodes.
// Usage: kagi-gateway --config PATH
//
// Loads and validates the config (kagi.v1.GatewayConfig, text format), makes
// one mTLS channel per node, serves kagi.v1.Wallet and grpc.health.v1.Health
// on one mTLS port, prints "kagi-gateway <name> listening on <host:port>"
// when ready and shuts down cleanly on SIGTERM / SIGINT.
//
// Exit status: 0 after a clean shutdown; 1 if the server cannot listen;
// 2 for a bad command line, config or TLS files.
#include <grpc/grpc.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/base/status_macros.h"
#include "libs/transport/config.h"
#include "libs/transport/tls.h"
#include "services/gateway/gateway.h"
#include "services/gateway/wallet_service.h"

namespace {

constexpr int kExitCannotListen = 1;
constexpr int kExitBadConfig = 2;
constexpr absl::Duration kShutdownGrace = absl::Seconds(5);

// What main needs once the config is loaded.
struct Prepared {
  kagi::v1::GatewayConfig config;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<kagi::gateway::Gateway> gateway;
};

absl::StatusOr<Prepared> Prepare(const std::string& config_path) {
  Prepared out;
  KAGI_ASSIGN_OR_RETURN(out.config,
                        kagi::transport::LoadGatewayConfig(config_path));
  KAGI_RETURN_IF_ERROR(kagi::transport::CheckGatewayConfigFiles(out.config));
  const kagi::transport::TlsFiles tls{out.config.tls().cert_file(),
                                      out.config.tls().key_file(),
                                      out.config.tls().ca_file()};
  KAGI_ASSIGN_OR_RETURN(out.credentials,
                        kagi::transport::MakeServerCredentials(tls));
  KAGI_RETURN_IF_ERROR(kagi::transport::CheckOwnCertificate(
      tls, kagi::transport::Role::kGateway, out.config.name()));
  KAGI_ASSIGN_OR_RETURN(out.gateway,
                        kagi::gateway::Gateway::FromConfig(out.config));
  return out;
}

// WithPort replaces the port of "host:port" by `port` (for port 0).
std::string WithPort(absl::string_view address, int port) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return std::string(address);
  }
  return absl::StrCat(address.substr(0, colon + 1), port);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--config") != 0) {
    std::cerr << "usage: kagi-gateway --config PATH\n";
    return kExitBadConfig;
  }
  // Block the shutdown signals before gRPC starts its threads (they inherit
  // the mask), so that only the sigwait below receives them.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<Prepared> prepared = Prepare(argv[2]);
  if (!prepared.ok()) {
    std::cerr << "kagi-gateway: " << prepared.status().message() << "\n";
    return kExitBadConfig;
  }
  const kagi::v1::GatewayConfig& config = prepared->config;
  kagi::gateway::WalletService wallet(
      prepared->gateway.get(),
      std::vector<std::string>(config.clients().begin(),
                               config.clients().end()));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen_address(), prepared->credentials,
                           &port);
  kagi::transport::ConfigureServerBuilder(builder);
  // A port in use must be an error, not a second listener sharing it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&wallet);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "kagi-gateway: listen_address: cannot listen on "
              << config.listen_address() << "\n";
    return kExitCannotListen;
  }
  std::cout << "kagi-gateway " << config.name() << " listening on "
            << WithPort(config.listen_address(), port) << std::endl;

  int signal_number = 0;
  while (sigwait(&shutdown_signals, &signal_number) != 0) {
  }
  std::cout << "kagi-gateway " << config.name() << " shutting down ("
            << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") << ")"
            << std::endl;
  server->Shutdown(absl::ToChronoTime(absl::Now() + kShutdownGrace));
  server->Wait();
  return 0;
}
