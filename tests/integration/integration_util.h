// File: tests/integration/integration_util.h
//
// TEST ONLY. Helpers shared by the integration tests: a local Kagi cluster of
// real processes (kagi-node x3 by default, kagi-gateway) in a fresh temporary
// directory, stubs that present any certificate of the cluster's PKI, and
// independent checks of what the cluster returns (every signature is verified
// with OpenSSL, tests/testing/openssl_ecdsa.h, under a public key this file
// derives itself with BIP32 from the KeyInfo).
//
// Cleanup. `Cluster` stops every process it started when it is destroyed.
// As a second line of defence, `Cluster::Start` forks a small watchdog
// process (its own session, so a process-group kill does not take it) that
// waits on a pipe held only by the test process: when the test process dies
// in any way, even by SIGKILL from a ctest timeout, the pipe closes and the
// watchdog SIGKILLs the pids recorded in the cluster's pid files.
#ifndef KAGI_TESTS_INTEGRATION_INTEGRATION_UTIL_H_
#define KAGI_TESTS_INTEGRATION_INTEGRATION_UTIL_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/config.pb.h"
#include "kagi/v1/node.grpc.pb.h"
#include "kagi/v1/policy.pb.h"
#include "kagi/v1/wallet.grpc.pb.h"
#include "libs/storage/audit.h"

namespace kagi::integration {

// The default number of nodes of a test cluster.
inline constexpr int kNodes = 3;

struct ClusterConfig {
  int base_port = 7600;
  int round_timeout_ms = 3000;
  bool allow_raw_digest = true;
  // false: the strict demo policy (admin approvals required).
  bool admin_without_approvals = true;
  // When set, applied to every node's demo policy before the nodes start.
  std::function<void(v1::Policy&)> edit_policy = nullptr;
  // node-1..node-<nodes> on base_port+1..base_port+nodes (2..16). Last, so
  // that positional initializers of the fields above keep their meaning.
  int nodes = kNodes;
  // When set, applied to every node's config before the nodes start.
  std::function<void(v1::NodeConfig&)> edit_node_config = nullptr;
};

class Cluster {
 public:
  // Start makes a fresh directory under $TEST_TMPDIR (or /tmp), initializes
  // a cluster of config.nodes nodes there and starts every node and the
  // gateway.
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(
      const ClusterConfig& config);
  // Stops every process; removes the directory unless a test failed (then
  // the path is printed, logs are in it).
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& dir() const { return dir_; }
  int nodes() const { return nodes_; }
  std::string NodeName(int i) const;  // "node-<i>"
  std::string NodeDb(int i) const;
  std::string NodeConfigPath(int i) const;
  std::string NodeAddress(int i) const;
  std::string GatewayAddress() const;
  // PkiFile("ca.pem"), PkiFile("node-2.key"), ...
  std::string PkiFile(const std::string& file) const;

  // The Wallet stub of the cluster's client (client-1).
  v1::Wallet::Stub* wallet() { return wallet_.get(); }

  absl::StatusOr<pid_t> NodePid(int i) const;
  // StopNode sends `signal` to node i and waits for it to exit (SIGKILL
  // after 10 s); the pid file is removed.
  absl::Status StopNode(int i, int signal);
  // StartNode starts node i (pid file as kagictl writes it) and waits until
  // it answers health checks. `binary`: another build of the node (the
  // test-only misbehaving node) instead of kagi-node; `extra_args` follow
  // "--config PATH".
  absl::Status StartNode(int i, const std::string& binary = "",
                         const std::vector<std::string>& extra_args = {});
  absl::Status StartGateway();
  // Down stops every process (idempotent).
  absl::Status Down();

  // Stubs over mTLS presenting the cluster certificate `as` ("gateway-1",
  // "node-2", "client-1"), pinned to node i's name.
  absl::StatusOr<std::unique_ptr<v1::Node::Stub>> NodeStub(
      int i, const std::string& as) const;
  absl::StatusOr<std::unique_ptr<v1::Peer::Stub>> PeerStub(
      int i, const std::string& as) const;

  // WaitGatewayReachesAll waits (up to 20 s) until the gateway reaches every
  // node again: its channel to a restarted node reconnects within seconds.
  absl::Status WaitGatewayReachesAll();
  // NodeGetKey: node i's own answer to GetKey (as the gateway asks it).
  grpc::Status NodeGetKey(int i, const std::string& key_id,
                          v1::KeyInfo* out) const;

 private:
  Cluster() = default;

  std::string dir_;
  int base_port_ = 0;
  int nodes_ = kNodes;
  int watchdog_fd_ = -1;
  pid_t watchdog_pid_ = -1;
  std::unique_ptr<v1::Wallet::Stub> wallet_;
};

// ClusterSuite: a test suite that runs on one cluster of its own, started
// before its first test from Derived::Config() and stopped after its last;
// if it does not start, every test fails with the reason. `cluster_` is
// public so that a file's helper functions can name it.
template <typename Derived>
class ClusterSuite : public ::testing::Test {
 public:
  static inline Cluster* cluster_ = nullptr;

 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Cluster>> c =
        Cluster::Start(Derived::Config());
    if (!c.ok()) {
      setup_error_ = std::string(c.status().message());
      return;
    }
    cluster_ = c->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static inline std::string setup_error_;
};

// RawTlsChannel makes a TLS channel without the checks of
// transport::MakeMtlsChannel (so a certificate of a foreign CA can be
// presented) and without a send-size limit (so an oversized request reaches
// the server).
std::shared_ptr<grpc::Channel> RawTlsChannel(const std::string& address,
                                             const std::string& server_name,
                                             const std::string& root_pem,
                                             const std::string& cert_pem,
                                             const std::string& key_pem);

absl::StatusOr<std::string> ReadFile(const std::string& path);

// RunCommand runs `command` in a shell and returns its stdout and stderr.
std::string RunCommand(const std::string& command);

// --- requests ----------------------------------------------------------------

struct Item {
  std::string digest;  // 32 bytes
  std::vector<uint32_t> path;
};

std::string RandomDigest();
std::string NewRequestId(absl::string_view prefix);
v1::SignRequest MakeSignRequest(const std::string& key_id,
                                const std::string& request_id,
                                const std::vector<Item>& items);
// A one-item request with a fresh id and digest at `path`.
v1::SignRequest SimpleSignRequest(const std::string& key_id,
                                  const std::vector<uint32_t>& path = {0, 7});

// TestNetworks: the networks a test key is bound to unless a test says
// otherwise: bitcoin regtest (a key binds at most one bitcoin network),
// ethereum 1337 and raw digests.
std::vector<std::string> TestNetworks();
grpc::Status CreateKey(
    v1::Wallet::Stub* wallet, uint32_t threshold, v1::KeyInfo* out,
    const std::vector<std::string>& networks = TestNetworks());
// DirectSign sends `request` to node i alone as the gateway would
// (StartSign, signers {1, i} or {1, 2}, initiator client/client-1), so that
// every node, not only the signers the gateway picks, can be asked. Meant
// for requests the node refuses before signing.
grpc::Status DirectSign(const Cluster& cluster, int node,
                        const v1::SignRequest& request);
// ListNodes: the gateway's node list (names and identity keys).
absl::StatusOr<v1::ListNodesResponse> ListNodes(v1::Wallet::Stub* wallet);
grpc::Status Sign(v1::Wallet::Stub* wallet, const v1::SignRequest& request,
                  v1::SignResponse* out,
                  absl::Duration timeout = absl::Seconds(60));
// SignEventually retries `request`'s items with fresh request ids until a
// Sign succeeds or `timeout` passes (for the first seconds after a node
// restarted, while channels reconnect). Returns the last status; `*used`
// receives the request that produced it.
grpc::Status SignEventually(v1::Wallet::Stub* wallet,
                            const v1::SignRequest& request,
                            v1::SignResponse* out, v1::SignRequest* used,
                            absl::Duration timeout = absl::Seconds(30));

// --- independent checks ------------------------------------------------------

// DerivePublicKey derives the compressed public key along `path` from the
// root (public_key, chain_code) of `key` with crypto::DerivePath.
absl::StatusOr<std::string> DerivePublicKey(const v1::KeyInfo& key,
                                            const std::vector<uint32_t>& path);

// SignatureValid: `result` is for `digest` and `path`, carries the public key
// BIP32 derives from `key` along `path`, and its signature verifies under it
// with OpenSSL (low-S); recovery id 0..3.
::testing::AssertionResult SignatureValid(const v1::KeyInfo& key,
                                          const v1::SignatureResult& result,
                                          const std::string& digest,
                                          const std::vector<uint32_t>& path);
// SignaturesValid: one valid result per item of `request`, in order.
::testing::AssertionResult SignaturesValid(
    const v1::KeyInfo& key, const v1::SignRequest& request,
    const google::protobuf::RepeatedPtrField<v1::SignatureResult>& results);

// RpcError: `status` has `code` and `substring` occurs in its message or in
// its ErrorDetails reason.
::testing::AssertionResult RpcError(const grpc::Status& status,
                                    grpc::StatusCode code,
                                    absl::string_view substring);
std::string Describe(const grpc::Status& status);

// VerifiedAudit opens a node database (a second connection; the node may be
// running), reads its audit log and checks the hash chain.
absl::StatusOr<std::vector<storage::AuditEntry>> VerifiedAudit(
    const std::string& db);

// QueryInt runs a one-integer query on a SQLite database (no writes).
absl::StatusOr<int64_t> QueryInt(const std::string& db, const std::string& sql);

// Strings of a repeated field, for matchers.
std::vector<std::string> Strings(
    const google::protobuf::RepeatedPtrField<std::string>& field);

}  // namespace kagi::integration

#endif  // KAGI_TESTS_INTEGRATION_INTEGRATION_UTIL_H_
