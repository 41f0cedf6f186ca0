// kagi-node: one key-share node. Usage: kagi-node --config PATH
//
// Loads and validates the config, opens the sealed store and the identity
// key, serves kagi.v1.Node, kagi.v1.Peer and grpc.health.v1.Health on one
// mTLS port, and shuts down cleanly on SIGTERM / SIGINT (services/node/
// serve.h). Exit status: 0 after a clean shutdown, 2 for a bad config or
// unusable files.
#include <cstring>
#include <iostream>

#include "absl/status/status.h"
#include "services/node/serve.h"

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--config") != 0) {
    std::cerr << "usage: kagi-node --config PATH\n";
    return 2;
  }
  absl::Status st =
      kagi::node::ServeNode(argv[2], nullptr, kagi::node::StopOnSignals());
  if (!st.ok()) {
    std::cerr << "kagi-node: " << st.message() << "\n";
    return 2;
  }
  return 0;
}
