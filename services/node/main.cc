// kagi-node: one key-share node.
// Usage: kagi-node --config PATH [--accept-audit-break-at SEQ]
//
// Loads and validates the config, opens the sealed store and the identity
// key, serves kagi.v1.Node, kagi.v1.Peer and grpc.health.v1.Health on one
// mTLS port, and shuts down cleanly on SIGTERM / SIGINT (services/node/
// serve.h). Exit status: 0 after a clean shutdown, 2 for a bad config or
// unusable files, or an audit log that does not verify (the message names
// its first bad record; --accept-audit-break-at that seq starts it anyway and
// audits the decision, docs/deploy.md).
#include <cstring>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "services/node/serve.h"

int main(int argc, char** argv) {
  kagi::node::ServeOptions options;
  bool usage = !(argc == 3 || argc == 5) || std::strcmp(argv[1], "--config");
  if (!usage && argc == 5) {
    uint64_t seq = 0;
    usage = std::strcmp(argv[3], "--accept-audit-break-at") != 0 ||
            !absl::SimpleAtoi(argv[4], &seq) || seq == 0;
    options.accept_audit_break_at = seq;
  }
  if (usage) {
    std::cerr << "usage: kagi-node --config PATH [--accept-audit-break-at "
                 "SEQ]\n";
    return 2;
  }
  absl::Status st = kagi::node::ServeNode(argv[2], nullptr,
                                          kagi::node::StopOnSignals(), options);
  if (!st.ok()) {
    std::cerr << "kagi-node: " << st.message() << "\n";
    return 2;
  }
  return 0;
}
