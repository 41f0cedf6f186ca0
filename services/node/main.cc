// kagi-node: one key-share node. Usage: kagi-node --config PATH
//
// Loads and validates the config, opens the sealed store and the identity
// key, serves kagi.v1.Node, kagi.v1.Peer and grpc.health.v1.Health on one
// mTLS port, and shuts down cleanly on SIGTERM / SIGINT (services/node/
// serve.h). Exit status: 0 after a clean shutdown, 2 for a bad config or
// unusable files.
#include <signal.h>
#include <sys/stat.h>

#include <cstring>
#include <iostream>

#include "absl/status/status.h"
#include "services/node/serve.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

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
  absl::Status st = kagi::node::ServeNode(argv[2], nullptr, &g_stop);
  if (!st.ok()) {
    std::cerr << "kagi-node: " << st.message() << "\n";
    return 2;
  }
  return 0;
}
