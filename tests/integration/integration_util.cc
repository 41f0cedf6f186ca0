#include "tests/integration/integration_util.h"

#include <fcntl.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/point.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/config.h"
#include "libs/transport/pki.h"
#include "libs/transport/tls.h"
#include "tests/testing/openssl_ecdsa.h"
#include "tools/kagictl/cluster.h"

namespace kagi::integration {
namespace {

std::string Hex(absl::string_view s) { return absl::BytesToHexString(s); }

std::string PidFileOfNode(const std::string& dir, int i) {
  return absl::StrCat(kagictl::NodeDir(dir, i), "/node.pid");
}

std::string PidFileOfGateway(const std::string& dir) {
  return absl::StrCat(kagictl::GatewayDir(dir), "/gateway.pid");
}

// WatchdogMain runs in the forked watchdog: wait for EOF on `fd` (the test
// process is gone), then SIGKILL every pid recorded in `pid_files`. Only
// async-signal-safe calls: the test process may have threads.
[[noreturn]] void WatchdogMain(int fd, const std::vector<const char*>& files) {
  ::setsid();
  const int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
  }
  char c;
  for (;;) {
    const ssize_t r = ::read(fd, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
  }
  for (const char* path : files) {
    const int pf = ::open(path, O_RDONLY);
    if (pf < 0) continue;
    char buf[32];
    const ssize_t n = ::read(pf, buf, sizeof(buf) - 1);
    ::close(pf);
    long pid = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) {
      pid = pid * 10 + (buf[i] - '0');
    }
    if (pid > 1) ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
  ::_exit(0);
}

// Spawn runs `binary --config <config>` in its own session with stdout and
// stderr appended to `log` (as kagictl's cluster library does).
absl::StatusOr<pid_t> Spawn(const std::string& binary,
                            const std::string& config, const std::string& log,
                            const std::vector<std::string>& extra_args = {}) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("open ", log, ": ", std::strerror(errno)));
  }
  std::vector<const char*> argv = {binary.c_str(), "--config", config.c_str()};
  for (const std::string& arg : extra_args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
    ::execv(binary.c_str(), const_cast<char* const*>(argv.data()));
    ::_exit(127);
  }
  ::close(fd);
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  return pid;
}

bool ChildAlive(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

bool PortAccepts(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok =
      ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(s);
  return ok;
}

// WaitReady waits until `port` accepts connections and then until the
// process answers a health check as SERVING (a fresh channel per attempt).
// kagictl::StartNode probes before the port listens, which puts its channel
// into gRPC's reconnect backoff and makes each start take ~15 s; waiting for
// the port first avoids that.
absl::Status WaitReady(const std::string& dir, int port,
                       const std::string& server_name, pid_t pid,
                       const std::string& log, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  const std::string pki = absl::StrCat(dir, "/pki/");
  while (absl::Now() < end) {
    if (!ChildAlive(pid)) {
      return absl::UnavailableError(
          absl::StrCat(server_name, " exited during start-up; see ", log));
    }
    if (!PortAccepts(port)) {
      absl::SleepFor(absl::Milliseconds(20));
      continue;
    }
    KAGI_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                          transport::MakeMtlsChannel(
                              absl::StrCat("127.0.0.1:", port), server_name,
                              {absl::StrCat(pki, kagictl::kClientName, ".pem"),
                               absl::StrCat(pki, kagictl::kClientName, ".key"),
                               absl::StrCat(pki, "ca.pem")}));
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    grpc::health::v1::HealthCheckResponse resp;
    const grpc::Status st =
        stub->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
    if (st.ok() &&
        resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(server_name, " not ready in time; see ", log));
}

absl::Status WritePidFile(const std::string& path, pid_t pid) {
  return transport::WriteFileAtomically(path, absl::StrCat(pid, "\n"), 0644);
}

}  // namespace

// --- Cluster -----------------------------------------------------------------

namespace {

// EditTextProto applies `edit` (when set) to the text-format proto at `path`.
template <typename T>
absl::Status EditTextProto(const std::string& path,
                           const std::function<void(T&)>& edit) {
  if (!edit) return absl::OkStatus();
  T message;
  KAGI_RETURN_IF_ERROR(transport::LoadTextProto(path, &message));
  edit(message);
  return transport::WriteFileAtomically(path, transport::RenderConfig(message),
                                        transport::kPublicFileMode);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(
    const ClusterConfig& config) {
  ::signal(SIGPIPE, SIG_IGN);
  // The binaries under test must be found from this test's location.
  for (const char* name : {"kagi-node", "kagi-gateway"}) {
    absl::StatusOr<std::string> bin = kagictl::FindBinary(name);
    if (!bin.ok()) return bin.status();
    std::cerr << "[cluster] using " << *bin << "\n";
  }
  // gRPC listens with SO_REUSEPORT, so a leftover process on one of our
  // ports would not make the start fail: it would share the port. Refuse.
  for (int port = config.base_port; port <= config.base_port + config.nodes;
       ++port) {
    if (PortAccepts(port)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "127.0.0.1:", port, " is already in use (a leftover cluster?)"));
    }
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string templ =
      absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/kagi-it-XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
  }
  std::unique_ptr<Cluster> c(new Cluster());
  c->dir_ = templ;
  c->base_port_ = config.base_port;
  c->nodes_ = config.nodes;
  std::cerr << "[cluster] " << c->dir_ << " on 127.0.0.1:" << config.base_port
            << ".." << config.base_port + config.nodes << "\n";

  // The watchdog (see the file comment of the header).
  std::vector<std::string> pid_files = {PidFileOfGateway(c->dir_)};
  for (int i = 1; i <= config.nodes; ++i) {
    pid_files.push_back(PidFileOfNode(c->dir_, i));
  }
  std::vector<const char*> paths;
  for (const std::string& f : pid_files) paths.push_back(f.c_str());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  const pid_t watchdog = ::fork();
  if (watchdog == 0) {
    ::close(fds[1]);
    WatchdogMain(fds[0], paths);
  }
  ::close(fds[0]);
  if (watchdog < 0) {
    ::close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  c->watchdog_fd_ = fds[1];
  c->watchdog_pid_ = watchdog;

  kagictl::ClusterOptions o;
  o.dir = c->dir_;
  o.nodes = config.nodes;
  o.base_port = config.base_port;
  o.allow_raw_digest = config.allow_raw_digest;
  o.admin_without_approvals = config.admin_without_approvals;
  o.round_timeout_ms = config.round_timeout_ms;
  KAGI_RETURN_IF_ERROR(kagictl::InitCluster(o));
  for (int i = 1; i <= config.nodes; ++i) {
    KAGI_RETURN_IF_ERROR(EditTextProto<v1::Policy>(
        kagictl::NodePolicyPath(c->dir_, i), config.edit_policy));
    KAGI_RETURN_IF_ERROR(EditTextProto<v1::NodeConfig>(
        kagictl::NodeConfigPath(c->dir_, i), config.edit_node_config));
  }
  // ~Cluster stops whatever started if a later step fails.
  for (int i = 1; i <= config.nodes; ++i) {
    KAGI_RETURN_IF_ERROR(c->StartNode(i));
  }
  KAGI_RETURN_IF_ERROR(c->StartGateway());
  KAGI_ASSIGN_OR_RETURN(
      c->wallet_, kagictl::WalletClient(kagictl::ClientConfigPath(c->dir_)));
  return c;
}

Cluster::~Cluster() {
  absl::Status down = Down();
  if (!down.ok()) std::cerr << "[cluster] down: " << down << "\n";
  if (watchdog_fd_ >= 0) ::close(watchdog_fd_);
  if (watchdog_pid_ > 0) {
    int status = 0;
    while (::waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  const bool keep = std::getenv("KAGI_IT_KEEP") != nullptr ||
                    !::testing::UnitTest::GetInstance()->Passed();
  if (keep) {
    std::cerr << "[cluster] kept " << dir_ << " (logs: node-*/node.log, "
              << "gateway-1/gateway.log)\n";
  } else if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string Cluster::NodeName(int i) const { return kagictl::NodeName(i); }
std::string Cluster::NodeDb(int i) const {
  return absl::StrCat(kagictl::NodeDir(dir_, i), "/node.db");
}
std::string Cluster::NodeConfigPath(int i) const {
  return kagictl::NodeConfigPath(dir_, i);
}
std::string Cluster::NodeAddress(int i) const {
  return absl::StrCat("127.0.0.1:", base_port_ + i);
}
std::string Cluster::GatewayAddress() const {
  return absl::StrCat("127.0.0.1:", base_port_);
}
std::string Cluster::PkiFile(const std::string& file) const {
  return absl::StrCat(dir_, "/pki/", file);
}

absl::StatusOr<pid_t> Cluster::NodePid(int i) const {
  return kagictl::ReadPid(PidFileOfNode(dir_, i));
}

absl::Status Cluster::StopNode(int i, int signal) {
  KAGI_ASSIGN_OR_RETURN(pid_t pid, NodePid(i));
  absl::Status st = kagictl::StopPid(pid, signal, absl::Seconds(10));
  ::unlink(PidFileOfNode(dir_, i).c_str());
  return st;
}

absl::Status Cluster::StartNode(int i, const std::string& binary,
                                const std::vector<std::string>& extra_args) {
  std::string bin = binary;
  if (bin.empty()) {
    KAGI_ASSIGN_OR_RETURN(bin, kagictl::FindBinary("kagi-node"));
  }
  const std::string log = absl::StrCat(kagictl::NodeDir(dir_, i), "/node.log");
  KAGI_ASSIGN_OR_RETURN(pid_t pid,
                        Spawn(bin, NodeConfigPath(i), log, extra_args));
  absl::Status st = WritePidFile(PidFileOfNode(dir_, i), pid);
  if (st.ok()) {
    st = WaitReady(dir_, base_port_ + i, NodeName(i), pid, log,
                   absl::Seconds(20));
  }
  if (!st.ok()) {
    kagictl::StopPid(pid, SIGKILL, absl::Seconds(5)).IgnoreError();
    ::unlink(PidFileOfNode(dir_, i).c_str());
  }
  return st;
}

absl::Status Cluster::StartGateway() {
  KAGI_ASSIGN_OR_RETURN(std::string bin, kagictl::FindBinary("kagi-gateway"));
  const std::string gw = kagictl::GatewayDir(dir_);
  const std::string log = absl::StrCat(gw, "/gateway.log");
  KAGI_ASSIGN_OR_RETURN(pid_t pid,
                        Spawn(bin, absl::StrCat(gw, "/gateway.conf"), log));
  absl::Status st = WritePidFile(PidFileOfGateway(dir_), pid);
  if (st.ok()) {
    st = WaitReady(dir_, base_port_, kagictl::kGatewayName, pid, log,
                   absl::Seconds(20));
  }
  if (!st.ok()) {
    kagictl::StopPid(pid, SIGKILL, absl::Seconds(5)).IgnoreError();
    ::unlink(PidFileOfGateway(dir_).c_str());
  }
  return st;
}

absl::Status Cluster::Down() {
  if (dir_.empty()) return absl::OkStatus();
  return kagictl::ClusterDown(dir_);
}

absl::StatusOr<std::unique_ptr<v1::Node::Stub>> Cluster::NodeStub(
    int i, const std::string& as) const {
  KAGI_ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::Channel> channel,
      transport::MakeMtlsChannel(
          NodeAddress(i), NodeName(i),
          {PkiFile(as + ".pem"), PkiFile(as + ".key"), PkiFile("ca.pem")}));
  return v1::Node::NewStub(channel);
}

absl::StatusOr<std::unique_ptr<v1::Peer::Stub>> Cluster::PeerStub(
    int i, const std::string& as) const {
  KAGI_ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::Channel> channel,
      transport::MakeMtlsChannel(
          NodeAddress(i), NodeName(i),
          {PkiFile(as + ".pem"), PkiFile(as + ".key"), PkiFile("ca.pem")}));
  return v1::Peer::NewStub(channel);
}

std::shared_ptr<grpc::Channel> RawTlsChannel(const std::string& address,
                                             const std::string& server_name,
                                             const std::string& root_pem,
                                             const std::string& cert_pem,
                                             const std::string& key_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_pem;
  ssl.pem_cert_chain = cert_pem;
  ssl.pem_private_key = key_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(server_name);
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  return transport::ReadFileToString(path, 1 << 20);
}

// --- requests ----------------------------------------------------------------

std::string RandomDigest() {
  OsRng rng;
  const std::array<uint8_t, 32> d = rng.Bytes<32>();
  return std::string(d.begin(), d.end());
}

std::string NewRequestId(absl::string_view prefix) {
  OsRng rng;
  return absl::StrCat(prefix, "-", HexEncode(rng.Bytes<8>()));
}

v1::SignRequest MakeSignRequest(const std::string& key_id,
                                const std::string& request_id,
                                const std::vector<Item>& items) {
  v1::SignRequest req;
  req.set_request_id(request_id);
  req.set_key_id(key_id);
  req.set_expiry_unix_seconds(
      static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300));
  for (const Item& item : items) {
    v1::DigestItem* d =
        req.mutable_payload()->mutable_raw_digest()->add_items();
    d->set_digest(item.digest);
    for (uint32_t index : item.path) d->add_path(index);
  }
  return req;
}

v1::SignRequest SimpleSignRequest(const std::string& key_id,
                                  const std::vector<uint32_t>& path) {
  return MakeSignRequest(key_id, NewRequestId("sign"),
                         {Item{RandomDigest(), path}});
}

absl::Status Cluster::WaitGatewayReachesAll() {
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while (absl::Now() < until) {
    absl::StatusOr<v1::ListNodesResponse> nodes = ListNodes(wallet());
    if (nodes.ok() &&
        std::all_of(nodes->nodes().begin(), nodes->nodes().end(),
                    [](const v1::NodeEntry& e) { return e.reachable(); })) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError("the gateway does not reach every node");
}

grpc::Status Cluster::NodeGetKey(int i, const std::string& key_id,
                                 v1::KeyInfo* out) const {
  absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
      NodeStub(i, kagictl::kGatewayName);
  if (!stub.ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        std::string(stub.status().message()));
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::GetKeyRequest get;
  get.set_key_id(key_id);
  return (*stub)->GetKey(&ctx, get, out);
}

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* p = ::popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

grpc::Status DirectSign(const Cluster& cluster, int node,
                        const v1::SignRequest& request) {
  absl::StatusOr<std::unique_ptr<v1::Node::Stub>> stub =
      cluster.NodeStub(node, kagictl::kGatewayName);
  if (!stub.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "stub");
  v1::StartSignRequest start;
  *start.mutable_request() = request;
  start.add_signers(1);
  start.add_signers(node == 1 ? 2 : static_cast<uint32_t>(node));
  start.set_initiator_nonce(std::string(32, '\x01'));
  start.set_initiator("client/client-1");
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::StartSignResponse resp;
  return (*stub)->StartSign(&ctx, start, &resp);
}

absl::StatusOr<v1::ListNodesResponse> ListNodes(v1::Wallet::Stub* wallet) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::ListNodesResponse out;
  grpc::Status st = wallet->ListNodes(&ctx, v1::ListNodesRequest(), &out);
  if (!st.ok()) {
    return absl::UnavailableError(absl::StrCat("ListNodes: ", Describe(st)));
  }
  return out;
}

std::vector<std::string> TestNetworks() {
  return {"bitcoin:regtest",
          absl::StrCat("ethereum:", kagictl::kDemoEthChainId), "raw_digest"};
}

grpc::Status CreateKey(v1::Wallet::Stub* wallet, uint32_t threshold,
                       v1::KeyInfo* out,
                       const std::vector<std::string>& networks) {
  v1::CreateKeyRequest req;
  req.set_request_id(NewRequestId("create"));
  req.set_threshold(threshold);
  for (const std::string& n : networks) req.add_networks(n);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
  return wallet->CreateKey(&ctx, req, out);
}

grpc::Status Sign(v1::Wallet::Stub* wallet, const v1::SignRequest& request,
                  v1::SignResponse* out, absl::Duration timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return wallet->Sign(&ctx, request, out);
}

grpc::Status SignEventually(v1::Wallet::Stub* wallet,
                            const v1::SignRequest& request,
                            v1::SignResponse* out, v1::SignRequest* used,
                            absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  grpc::Status st;
  int attempt = 0;
  do {
    *used = request;
    used->set_request_id(absl::StrCat(request.request_id(), "-", attempt++));
    out->Clear();
    st = Sign(wallet, *used, out);
    if (st.ok()) return st;
    std::cerr << "[sign] " << used->request_id()
              << " failed (retrying): " << Describe(st) << "\n";
    absl::SleepFor(absl::Milliseconds(250));
  } while (absl::Now() < end);
  return st;
}

// --- independent checks ------------------------------------------------------

absl::StatusOr<std::string> DerivePublicKey(const v1::KeyInfo& key,
                                            const std::vector<uint32_t>& path) {
  KAGI_ASSIGN_OR_RETURN(
      crypto::Point pub,
      crypto::Point::FromCompressed(AsBytes(key.public_key()), "public_key"));
  if (key.chain_code().size() != 32) {
    return absl::InvalidArgumentError("chain_code: not 32 bytes");
  }
  crypto::Bip32ChainCode chain;
  std::copy(key.chain_code().begin(), key.chain_code().end(), chain.begin());
  const crypto::ExtendedPublicKey root =
      crypto::ExtendedPublicKey::Root(pub, chain);
  if (root.Encode() != key.xpub()) {
    return absl::InternalError(
        absl::StrCat("KeyInfo.xpub ", key.xpub(), " is not the root ",
                     root.Encode(), " of its public key and chain code"));
  }
  KAGI_ASSIGN_OR_RETURN(crypto::DerivedKey derived,
                        crypto::DerivePath(root, path));
  const auto c = derived.xpub.key().ToCompressed();
  return std::string(c.begin(), c.end());
}

::testing::AssertionResult SignatureValid(const v1::KeyInfo& key,
                                          const v1::SignatureResult& result,
                                          const std::string& digest,
                                          const std::vector<uint32_t>& path) {
  if (result.digest() != digest) {
    return ::testing::AssertionFailure()
           << "result digest " << Hex(result.digest()) << " != asked "
           << Hex(digest);
  }
  if (std::vector<uint32_t>(result.path().begin(), result.path().end()) !=
      path) {
    return ::testing::AssertionFailure()
           << "result path " << absl::StrJoin(result.path(), "/")
           << " != asked " << absl::StrJoin(path, "/");
  }
  absl::StatusOr<std::string> expected = DerivePublicKey(key, path);
  if (!expected.ok()) {
    return ::testing::AssertionFailure()
           << "cannot derive the key: " << expected.status();
  }
  if (result.public_key() != *expected) {
    return ::testing::AssertionFailure()
           << "result public key " << Hex(result.public_key())
           << " != BIP32 derivation " << Hex(*expected) << " along "
           << absl::StrJoin(path, "/");
  }
  if (result.signature().size() != 64 || digest.size() != 32) {
    return ::testing::AssertionFailure()
           << "signature of " << result.signature().size() << " bytes";
  }
  if (result.recovery_id() > 3) {
    return ::testing::AssertionFailure()
           << "recovery id " << result.recovery_id();
  }
  std::array<uint8_t, 32> d, r, s;
  std::copy(digest.begin(), digest.end(), d.begin());
  std::copy(result.signature().begin(), result.signature().begin() + 32,
            r.begin());
  std::copy(result.signature().begin() + 32, result.signature().end(),
            s.begin());
  absl::Status ok =
      kagi::testing::OpenSslVerifyEcdsa(AsBytes(result.public_key()), d, r, s);
  if (!ok.ok()) {
    return ::testing::AssertionFailure()
           << "OpenSSL rejects signature " << Hex(result.signature())
           << " over " << Hex(digest) << " under " << Hex(result.public_key())
           << ": " << ok;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SignaturesValid(
    const v1::KeyInfo& key, const v1::SignRequest& request,
    const google::protobuf::RepeatedPtrField<v1::SignatureResult>& results) {
  const auto& items = request.payload().raw_digest().items();
  if (results.size() != items.size()) {
    return ::testing::AssertionFailure()
           << results.size() << " signatures for " << items.size() << " items";
  }
  for (int i = 0; i < items.size(); ++i) {
    ::testing::AssertionResult r = SignatureValid(
        key, results[i], items[i].digest(),
        std::vector<uint32_t>(items[i].path().begin(), items[i].path().end()));
    if (!r) return ::testing::AssertionFailure() << "item " << i << ": " << r;
  }
  return ::testing::AssertionSuccess();
}

std::string Describe(const grpc::Status& status) {
  std::string out =
      absl::StrCat(absl::StatusCodeToString(
                       static_cast<absl::StatusCode>(status.error_code())),
                   ": ", status.error_message());
  if (auto d = transport::GetErrorDetails(status)) {
    absl::StrAppend(&out, " [reporting_node=", d->reporting_node());
    if (!d->abort_class().empty()) {
      absl::StrAppend(&out, " abort_class=", d->abort_class());
    }
    if (d->culprit_nodes_size() > 0) {
      absl::StrAppend(&out,
                      " culprits=", absl::StrJoin(d->culprit_nodes(), ","));
    }
    if (d->reason() != status.error_message()) {
      absl::StrAppend(&out, " reason=", d->reason());
    }
    absl::StrAppend(&out, "]");
  }
  return out;
}

::testing::AssertionResult RpcError(const grpc::Status& status,
                                    grpc::StatusCode code,
                                    absl::string_view substring) {
  if (status.error_code() != code) {
    return ::testing::AssertionFailure()
           << "expected code "
           << absl::StatusCodeToString(static_cast<absl::StatusCode>(code))
           << ", got " << Describe(status);
  }
  const auto details = transport::GetErrorDetails(status);
  if (!absl::StrContains(status.error_message(), substring) &&
      !(details.has_value() &&
        absl::StrContains(details->reason(), substring))) {
    return ::testing::AssertionFailure()
           << "expected the error to mention '" << substring << "', got "
           << Describe(status);
  }
  return ::testing::AssertionSuccess() << Describe(status);
}

absl::StatusOr<std::vector<storage::AuditEntry>> VerifiedAudit(
    const std::string& db) {
  KAGI_ASSIGN_OR_RETURN(std::unique_ptr<storage::SqliteStore> store,
                        storage::SqliteStore::Open(db));
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::AuditEntry> log,
                        store->ReadAudit());
  KAGI_RETURN_IF_ERROR(storage::VerifyAuditChain(log));
  return log;
}

absl::StatusOr<int64_t> QueryInt(const std::string& db,
                                 const std::string& sql) {
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = handle != nullptr ? sqlite3_errmsg(handle) : "open";
    sqlite3_close(handle);
    return absl::InternalError(absl::StrCat(db, ": ", msg));
  }
  sqlite3_busy_timeout(handle, 10000);
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr);
  absl::StatusOr<int64_t> out =
      absl::InternalError(absl::StrCat(sql, ": ", sqlite3_errmsg(handle)));
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      out = static_cast<int64_t>(sqlite3_column_int64(stmt, 0));
    } else {
      out = absl::InternalError(
          absl::StrCat(sql, ": step: ", sqlite3_errmsg(handle)));
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(handle);
  return out;
}

std::vector<std::string> Strings(
    const google::protobuf::RepeatedPtrField<std::string>& field) {
  return std::vector<std::string>(field.begin(), field.end());
}

}  // namespace kagi::integration
