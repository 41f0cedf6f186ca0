// File: services/node/serve.h
//
// ServeNode: everything kagi-node does between reading its flags and exiting
// (services/node/main.cc). Loads and validates the config, opens the sealed
// store and the identity key, loads the policy, serves kagi.v1.Node,
// kagi.v1.Peer and grpc.health.v1.Health on one mTLS port until `*stop`.
//
// `decorate`, when set, wraps the outbound peer transport: the test-only
// misbehaving node of tests/integration (a real process whose protocol
// messages are tampered with on the way out) is built on it. kagi-node never
// sets it.
#ifndef KAGI_SERVICES_NODE_SERVE_H_
#define KAGI_SERVICES_NODE_SERVE_H_

#include <signal.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kagi/v1/config.pb.h"
#include "services/node/session_manager.h"

namespace kagi::node {

using TransportDecorator =
    std::function<absl::StatusOr<std::unique_ptr<PeerTransport>>(
        const v1::NodeConfig& config, std::unique_ptr<PeerTransport> inner)>;

// StopOnSignals installs SIGTERM/SIGINT handlers that set the returned flag
// (for ServeNode's `stop`), ignores SIGPIPE, and makes every file the process
// creates private (umask 077).
const volatile sig_atomic_t* StopOnSignals();

// Operator decisions given on the command line (kagi-node's flags).
struct ServeOptions {
  // --accept-audit-break-at SEQ: start even though the audit log breaks at
  // exactly this seq (audited with an audit.override record; docs/deploy.md).
  std::optional<uint64_t> accept_audit_break_at;
};

// ServeNode refuses to start (DataLoss naming the first bad record) when the
// node's audit log does not verify (NodeCore::CheckAuditLog).
absl::Status ServeNode(const std::string& config_path,
                       const TransportDecorator& decorate,
                       const volatile sig_atomic_t* stop,
                       const ServeOptions& options = {});

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_SERVE_H_
