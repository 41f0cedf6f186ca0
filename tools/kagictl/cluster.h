// File: tools/kagictl/cluster.h
//
// A local Kagi cluster on loopback, for the demo, the integration tests and
// the end-to-end benchmark: `InitCluster` writes a PKI (one CA; a certificate
// per node, per gateway and for one client), an Ed25519 identity key and a
// key-encryption key per node, and the node, gateway and client configs;
// `StartNode` / `StartGateway` run the real binaries as child processes
// (logs and pid files in the cluster directory); `ClusterDown` stops them.
//
// Layout of a cluster directory D (n nodes, base port P):
//   D/pki/ca.pem ca.key  <name>.pem <name>.key      (keys 0600)
//   D/node-<i>/node.conf identity.pem kek node.db node.log node.pid
//                                   (listens on 127.0.0.1:P+i)
//   D/gateway-1/gateway.conf gateway.log gateway.pid (127.0.0.1:P)
//   D/client.conf                                    (kagictl's connection)
#ifndef KAGI_TOOLS_KAGICTL_CLUSTER_H_
#define KAGI_TOOLS_KAGICTL_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kagi/v1/config.pb.h"
#include "kagi/v1/policy.pb.h"
#include "kagi/v1/wallet.grpc.pb.h"

namespace kagi::kagictl {

struct ClusterOptions {
  std::string dir;
  int nodes = 3;
  int base_port = 7100;
  // Development switches (tests, bench): raw digests signable without
  // approvals, and keys created/refreshed without admin approvals. The
  // `kagictl cluster init` default is the strict policy (both off).
  bool allow_raw_digest = true;
  bool admin_without_approvals = true;
  int round_timeout_ms = 10000;
};

// The demo policy's approvers (D/approvers/<name>.pem): alice and bob
// (Ed25519; groups treasury and security) and carol (ECDSA P-256; risk).
inline constexpr const char* kDemoApprovers[] = {"alice", "bob", "carol"};
// The demo policy's allowlisted destinations.
inline constexpr char kDemoEthDestination[] =
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
inline constexpr uint64_t kDemoEthChainId = 1337;
// DemoBitcoinDestination: a regtest P2WPKH address (BIP173's example program).
std::string DemoBitcoinDestination();
std::string ApproverKeyPath(const std::string& dir, absl::string_view name);
std::string NodePolicyPath(const std::string& dir, int i);
// DemoPolicy is the policy `cluster init` writes for every node.
v1::Policy DemoPolicy(const ClusterOptions& options,
                      const std::vector<std::pair<std::string, std::string>>&
                          approver_public_keys);

std::string NodeName(int i);  // "node-<i>", i from 1
inline constexpr char kGatewayName[] = "gateway-1";
inline constexpr char kClientName[] = "client-1";

std::string NodeDir(const std::string& dir, int i);
std::string NodeConfigPath(const std::string& dir, int i);
std::string GatewayDir(const std::string& dir);
std::string ClientConfigPath(const std::string& dir);

// InitCluster writes everything a cluster needs (see the file comment).
// FailedPrecondition if `dir` already holds a cluster.
absl::Status InitCluster(const ClusterOptions& options);
// IsInitialized reports whether `dir` holds a cluster (client.conf exists).
bool IsInitialized(const std::string& dir);
// NodeCount returns how many node directories `dir` holds.
int NodeCount(const std::string& dir);

// FindBinary locates kagi-node / kagi-gateway: $KAGI_BIN_DIR/<name>, then the
// build tree next to this executable, then the directory of this executable.
absl::StatusOr<std::string> FindBinary(const std::string& name);

// StartNode / StartGateway start the process (stdout+stderr to its log file,
// pid file written) and wait until it answers a health check.
absl::StatusOr<pid_t> StartNode(const std::string& dir, int i,
                                absl::Duration timeout = absl::Seconds(20));
// `config_path` overrides D/gateway-1/gateway.conf (e.g. a second gateway
// on another port); its log and pid file go next to that config.
absl::StatusOr<pid_t> StartGateway(const std::string& dir,
                                   absl::Duration timeout = absl::Seconds(20),
                                   const std::string& config_path = "");
// StopPid sends `signal`, waits up to `timeout` for exit, then SIGKILLs.
absl::Status StopPid(pid_t pid, int signal, absl::Duration timeout);
// ReadPid returns the pid recorded for a process directory, or NotFound.
absl::StatusOr<pid_t> ReadPid(const std::string& pid_file);

// ClusterUp initializes `dir` if needed and starts every node and the
// gateway. ClusterDown stops them (SIGTERM, then SIGKILL after 10 s).
absl::Status ClusterUp(const ClusterOptions& options);
absl::Status ClusterDown(const std::string& dir);

// WalletClient connects to the gateway named in a client config.
absl::StatusOr<std::unique_ptr<v1::Wallet::Stub>> WalletClient(
    const std::string& client_config_path);
absl::StatusOr<v1::ClientConfig> LoadClientConfig(const std::string& path);

// RssKib returns a process's resident set size in KiB (from /proc).
absl::StatusOr<long> RssKib(pid_t pid);

}  // namespace kagi::kagictl

#endif  // KAGI_TOOLS_KAGICTL_CLUSTER_H_
