#include "tools/kagictl/cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/status_macros.h"
#include "libs/chain/bech32.h"
#include "libs/crypto/evp.h"
#include "libs/policy/approval.h"
#include "libs/policy/policy.h"
#include "libs/transport/config.h"
#include "libs/transport/identity_key.h"
#include "libs/transport/pki.h"
#include "libs/transport/tls.h"

namespace kagi::kagictl {
namespace {

constexpr int kValidDays = 825;

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(
        absl::StrCat("mkdir ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WritePair(const std::string& dir, const std::string& name,
                       const transport::CertAndKey& pair) {
  KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
      absl::StrCat(dir, "/", name, ".pem"), pair.cert_pem, 0644));
  const ByteSpan key = pair.key_pem.secret();
  return transport::WriteFileAtomically(
      absl::StrCat(dir, "/", name, ".key"),
      absl::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
      0600);
}

v1::TlsConfig TlsFor(const std::string& dir, const std::string& name) {
  v1::TlsConfig tls;
  tls.set_cert_file(absl::StrCat(dir, "/pki/", name, ".pem"));
  tls.set_key_file(absl::StrCat(dir, "/pki/", name, ".key"));
  tls.set_ca_file(absl::StrCat(dir, "/pki/ca.pem"));
  return tls;
}

std::string Address(int port) { return absl::StrCat("127.0.0.1:", port); }

std::string SelfDir() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return ".";
  std::string path(buf.data(), static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

absl::StatusOr<pid_t> Spawn(const std::string& binary,
                            const std::vector<std::string>& args,
                            const std::string& log_path) {
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (log < 0) {
    return absl::InternalError(
        absl::StrCat("open ", log_path, ": ", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    ::setsid();
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::close(log);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    std::fprintf(stderr, "exec %s: %s\n", binary.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(log);
  return pid;
}

bool Alive(pid_t pid) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return false;  // our child, and it has exited (reaped now)
  if (r < 0 && errno == ECHILD) return ::kill(pid, 0) == 0;  // not our child
  return true;
}

// WaitHealthy polls grpc.health.v1.Health/Check on `address` as the
// cluster's client until SERVING, `pid` dies or `timeout` passes.
absl::Status WaitHealthy(const std::string& dir, const std::string& address,
                         const std::string& server_name, pid_t pid,
                         const std::string& log_path, absl::Duration timeout) {
  const v1::TlsConfig tls = TlsFor(dir, kClientName);
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (!Alive(pid)) {
      return absl::UnavailableError(
          absl::StrCat(server_name, " exited during start-up; see ", log_path));
    }
    // A fresh channel per attempt: a channel that failed to connect waits
    // out its reconnect backoff before it tries again.
    KAGI_ASSIGN_OR_RETURN(
        std::shared_ptr<grpc::Channel> channel,
        transport::MakeMtlsChannel(
            address, server_name,
            {tls.cert_file(), tls.key_file(), tls.ca_file()}));
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status st = stub->Check(&ctx, req, &resp);
    if (st.ok() &&
        resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(server_name, " did not become healthy within ",
                   absl::FormatDuration(timeout), "; see ", log_path));
}

absl::Status WritePid(const std::string& path, pid_t pid) {
  return transport::WriteFileAtomically(path, absl::StrCat(pid, "\n"), 0644);
}

}  // namespace

std::string NodeName(int i) { return absl::StrCat("node-", i); }
std::string NodeDir(const std::string& dir, int i) {
  return absl::StrCat(dir, "/", NodeName(i));
}
std::string NodeConfigPath(const std::string& dir, int i) {
  return absl::StrCat(NodeDir(dir, i), "/node.conf");
}
std::string GatewayDir(const std::string& dir) {
  return absl::StrCat(dir, "/", kGatewayName);
}
std::string ClientConfigPath(const std::string& dir) {
  return absl::StrCat(dir, "/client.conf");
}

bool IsInitialized(const std::string& dir) {
  return Exists(ClientConfigPath(dir));
}

int NodeCount(const std::string& dir) {
  int n = 0;
  while (Exists(NodeConfigPath(dir, n + 1))) ++n;
  return n;
}

std::string DemoBitcoinDestination() {
  const Bytes program = *HexDecode("751e76e8199196d454941c45d1b3a323f1433bd6");
  return *chain::EncodeSegwitAddress(chain::Network::kRegtest, 0, program);
}

std::string ApproverKeyPath(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/approvers/", name, ".pem");
}

std::string NodePolicyPath(const std::string& dir, int i) {
  return absl::StrCat(NodeDir(dir, i), "/policy.txt");
}

v1::Policy DemoPolicy(
    const ClusterOptions& o,
    const std::vector<std::pair<std::string, std::string>>& keys) {
  v1::Policy p;
  p.set_version(1);
  p.set_revision("local-demo-1");
  for (const auto& [name, hex] : keys) {
    v1::Approver* a = p.add_approvers();
    a->set_name(name);
    if (name == "carol") {
      a->add_groups("risk");
      a->set_p256_public_key(hex);
    } else {
      a->add_groups("treasury");
      a->add_groups("security");
      a->set_ed25519_public_key(hex);
    }
  }
  v1::AddressBook* book = p.add_address_books();
  book->set_name("exchange-cold");
  book->set_chain("bitcoin");
  book->add_addresses(DemoBitcoinDestination());
  auto quorum = [](v1::PolicyRule* r) {
    v1::Quorum* q = r->add_approvals();
    q->set_group("treasury");
    q->set_count(2);
    q = r->add_approvals();
    q->set_group("risk");
    q->set_count(1);
  };
  v1::PolicyRule* btc = p.add_rules();
  btc->set_name("btc-withdrawals");
  btc->set_chain("bitcoin");
  btc->add_networks("regtest");
  btc->add_networks("testnet");
  btc->add_assets("BTC");
  btc->add_address_books("exchange-cold");
  btc->set_max_amount("100000000");  // 1 BTC
  btc->set_max_fee(100000);
  btc->mutable_velocity()->set_window_seconds(86400);
  btc->mutable_velocity()->set_max_amount("300000000");
  quorum(btc);
  v1::PolicyRule* eth = p.add_rules();
  eth->set_name("eth-withdrawals");
  eth->set_chain("ethereum");
  eth->add_networks(absl::StrCat(kDemoEthChainId));
  eth->add_assets("ETH");
  eth->add_destinations(kDemoEthDestination);
  eth->set_max_amount("2000000000000000000");  // 2 ETH incl. the fee limit
  quorum(eth);
  if (o.allow_raw_digest) {
    v1::PolicyRule* raw = p.add_rules();
    raw->set_name("raw-digests-development");
    raw->set_chain("raw_digest");
  }
  v1::AdminPolicy* admin = p.mutable_admin();
  // Only the cluster's own client (kagictl) may submit admin operations.
  admin->add_initiators(absl::StrCat("client/", kClientName));
  if (!o.admin_without_approvals) {
    v1::Quorum* q = admin->add_approvals();
    q->set_group("security");
    q->set_count(1);
  }
  return p;
}

namespace {

absl::Status CheckClusterOptions(const ClusterOptions& o) {
  if (o.nodes < 2 || o.nodes > 16) {
    return absl::InvalidArgumentError("--nodes must be 2..16");
  }
  if (o.base_port < 1024 || o.base_port + o.nodes > 65535) {
    return absl::InvalidArgumentError("--base-port out of range");
  }
  if (IsInitialized(o.dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat(o.dir, " already holds a cluster"));
  }
  return absl::OkStatus();
}

// IssuePair issues a loopback certificate for `name` under `ca` into `pki`.
absl::Status IssuePair(const std::string& pki, const transport::CertAndKey& ca,
                       transport::Role role, const std::string& name) {
  KAGI_ASSIGN_OR_RETURN(
      transport::CertAndKey pair,
      transport::IssueCertificate(ca, role, name, {"localhost"}, {"127.0.0.1"},
                                  kValidDays));
  return WritePair(pki, name, pair);
}

// WriteNodeSecrets writes node i's certificate, identity key and KEK;
// returns its identity public key in hex.
absl::StatusOr<std::string> WriteNodeSecrets(const ClusterOptions& o, int i,
                                             const std::string& pki,
                                             const transport::CertAndKey& ca,
                                             Rng& rng) {
  KAGI_RETURN_IF_ERROR(IssuePair(pki, ca, transport::Role::kNode, NodeName(i)));
  KAGI_RETURN_IF_ERROR(MakeDir(NodeDir(o.dir, i)));
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate(rng);
  KAGI_RETURN_IF_ERROR(transport::WriteIdentityKey(
      absl::StrCat(NodeDir(o.dir, i), "/identity.pem"), key));
  SecretBytes kek(32);
  rng.Fill(kek.mutable_span());
  KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
      absl::StrCat(NodeDir(o.dir, i), "/kek"),
      absl::StrCat(HexEncode(kek.secret()), "\n"), 0600));
  return HexEncode(key.PublicKey());
}

// WriteDemoApprovers makes the demo approvers' keys (they stay here; in a
// real deployment, with the people) and returns (name, public key hex).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
WriteDemoApprovers(const ClusterOptions& o) {
  KAGI_RETURN_IF_ERROR(MakeDir(absl::StrCat(o.dir, "/approvers")));
  std::vector<std::pair<std::string, std::string>> approver_keys;
  for (const char* name : kDemoApprovers) {
    KAGI_ASSIGN_OR_RETURN(policy::ApproverKey key,
                          policy::ApproverKey::Generate(
                              absl::string_view(name) == "carol"
                                  ? policy::ApproverEntry::Scheme::kP256
                                  : policy::ApproverEntry::Scheme::kEd25519));
    KAGI_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
    KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
        ApproverKeyPath(o.dir, name), pem, 0600));
    approver_keys.emplace_back(name, key.PublicKeyHex());
  }
  return approver_keys;
}

// WriteNodeConfig writes node i's policy copy and configuration.
absl::Status WriteNodeConfig(const ClusterOptions& o, int i,
                             const std::vector<std::string>& identity_hex,
                             const v1::Policy& policy) {
  v1::NodeConfig c;
  c.set_name(NodeName(i));
  c.set_listen_address(Address(o.base_port + i));
  *c.mutable_tls() = TlsFor(o.dir, NodeName(i));
  c.set_identity_key_file(absl::StrCat(NodeDir(o.dir, i), "/identity.pem"));
  for (int j = 1; j <= o.nodes; ++j) {
    if (j == i) continue;
    v1::PeerConfig* p = c.add_peers();
    p->set_name(NodeName(j));
    p->set_address(Address(o.base_port + j));
    p->set_identity_public_key(identity_hex[static_cast<size_t>(j - 1)]);
  }
  c.add_gateways(kGatewayName);
  c.set_storage_path(absl::StrCat(NodeDir(o.dir, i), "/node.db"));
  c.set_seal_key_file(absl::StrCat(NodeDir(o.dir, i), "/kek"));
  c.mutable_limits()->set_round_timeout_ms(
      static_cast<uint32_t>(o.round_timeout_ms));
  c.set_allow_raw_digest(o.allow_raw_digest);
  // Each node reads its own copy: operators may diverge them on purpose.
  c.set_policy_file(NodePolicyPath(o.dir, i));
  KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
      NodePolicyPath(o.dir, i), transport::RenderConfig(policy), 0644));
  KAGI_RETURN_IF_ERROR(transport::ValidateNodeConfig(c));
  return transport::WriteFileAtomically(NodeConfigPath(o.dir, i),
                                        transport::RenderConfig(c), 0644);
}

// WriteGatewayAndClientConfig writes the gateway's and kagictl's configs.
absl::Status WriteGatewayAndClientConfig(const ClusterOptions& o) {
  v1::GatewayConfig g;
  g.set_name(kGatewayName);
  g.set_listen_address(Address(o.base_port));
  *g.mutable_tls() = TlsFor(o.dir, kGatewayName);
  for (int i = 1; i <= o.nodes; ++i) {
    v1::GatewayNodeConfig* n = g.add_nodes();
    n->set_name(NodeName(i));
    n->set_address(Address(o.base_port + i));
  }
  g.add_clients(kClientName);
  KAGI_RETURN_IF_ERROR(transport::ValidateGatewayConfig(g));
  KAGI_RETURN_IF_ERROR(MakeDir(GatewayDir(o.dir)));
  KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
      absl::StrCat(GatewayDir(o.dir), "/gateway.conf"),
      transport::RenderConfig(g), 0644));
  v1::ClientConfig client;
  client.set_gateway_address(Address(o.base_port));
  client.set_gateway_name(kGatewayName);
  *client.mutable_tls() = TlsFor(o.dir, kClientName);
  return transport::WriteFileAtomically(ClientConfigPath(o.dir),
                                        transport::RenderConfig(client), 0644);
}

}  // namespace

absl::Status InitCluster(const ClusterOptions& o) {
  KAGI_RETURN_IF_ERROR(CheckClusterOptions(o));
  KAGI_RETURN_IF_ERROR(MakeDir(o.dir));
  const std::string pki = absl::StrCat(o.dir, "/pki");
  KAGI_RETURN_IF_ERROR(MakeDir(pki));
  KAGI_ASSIGN_OR_RETURN(
      transport::CertAndKey ca,
      transport::CreateCa("Kagi local cluster CA", kValidDays));
  KAGI_RETURN_IF_ERROR(WritePair(pki, "ca", ca));
  OsRng rng;
  std::vector<std::string> identity_hex;
  for (int i = 1; i <= o.nodes; ++i) {
    KAGI_ASSIGN_OR_RETURN(std::string hex,
                          WriteNodeSecrets(o, i, pki, ca, rng));
    identity_hex.push_back(std::move(hex));
  }
  KAGI_ASSIGN_OR_RETURN(auto approver_keys, WriteDemoApprovers(o));
  const v1::Policy policy = DemoPolicy(o, approver_keys);
  KAGI_RETURN_IF_ERROR(policy::Policy::FromProto(policy).status());
  KAGI_RETURN_IF_ERROR(
      IssuePair(pki, ca, transport::Role::kGateway, kGatewayName));
  KAGI_RETURN_IF_ERROR(
      IssuePair(pki, ca, transport::Role::kClient, kClientName));
  for (int i = 1; i <= o.nodes; ++i) {
    KAGI_RETURN_IF_ERROR(WriteNodeConfig(o, i, identity_hex, policy));
  }
  return WriteGatewayAndClientConfig(o);
}

absl::StatusOr<std::string> FindBinary(const std::string& name) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("KAGI_BIN_DIR")) {
    candidates.push_back(absl::StrCat(env, "/", name));
  }
  const std::string self = SelfDir();
  const std::string sub = name == "kagi-node" ? "node" : "gateway";
  // From build/<preset>/tools/kagictl or build/<preset>/tests/<dir>.
  candidates.push_back(absl::StrCat(self, "/../../services/", sub, "/", name));
  candidates.push_back(absl::StrCat(self, "/", name));
  for (const std::string& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  return absl::NotFoundError(absl::StrCat(
      "cannot find ", name, " (set KAGI_BIN_DIR to the directory holding it)"));
}

absl::StatusOr<pid_t> StartNode(const std::string& dir, int i,
                                absl::Duration timeout) {
  KAGI_ASSIGN_OR_RETURN(std::string bin, FindBinary("kagi-node"));
  KAGI_ASSIGN_OR_RETURN(v1::NodeConfig config,
                        transport::LoadNodeConfig(NodeConfigPath(dir, i)));
  const std::string log = absl::StrCat(NodeDir(dir, i), "/node.log");
  KAGI_ASSIGN_OR_RETURN(pid_t pid,
                        Spawn(bin, {"--config", NodeConfigPath(dir, i)}, log));
  KAGI_RETURN_IF_ERROR(
      WritePid(absl::StrCat(NodeDir(dir, i), "/node.pid"), pid));
  absl::Status st = WaitHealthy(dir, config.listen_address(), config.name(),
                                pid, log, timeout);
  if (!st.ok()) {
    StopPid(pid, SIGKILL, absl::Seconds(5)).IgnoreError();
    return st;
  }
  return pid;
}

absl::StatusOr<pid_t> StartGateway(const std::string& dir,
                                   absl::Duration timeout,
                                   const std::string& config_path) {
  KAGI_ASSIGN_OR_RETURN(std::string bin, FindBinary("kagi-gateway"));
  const std::string conf = config_path.empty()
                               ? absl::StrCat(GatewayDir(dir), "/gateway.conf")
                               : config_path;
  KAGI_ASSIGN_OR_RETURN(v1::GatewayConfig config,
                        transport::LoadGatewayConfig(conf));
  const std::string base = conf.substr(0, conf.rfind('.'));
  const std::string log = absl::StrCat(base, ".log");
  KAGI_ASSIGN_OR_RETURN(pid_t pid, Spawn(bin, {"--config", conf}, log));
  KAGI_RETURN_IF_ERROR(WritePid(absl::StrCat(base, ".pid"), pid));
  absl::Status st = WaitHealthy(dir, config.listen_address(), config.name(),
                                pid, log, timeout);
  if (!st.ok()) {
    StopPid(pid, SIGKILL, absl::Seconds(5)).IgnoreError();
    return st;
  }
  return pid;
}

absl::Status StopPid(pid_t pid, int signal, absl::Duration timeout) {
  if (pid <= 0) return absl::InvalidArgumentError("bad pid");
  if (::kill(pid, signal) != 0) {
    if (errno == ESRCH) return absl::OkStatus();
    return absl::InternalError(
        absl::StrCat("kill ", pid, ": ", std::strerror(errno)));
  }
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (!Alive(pid)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  while (Alive(pid)) absl::SleepFor(absl::Milliseconds(20));
  return absl::DeadlineExceededError(
      absl::StrCat("process ", pid, " ignored the signal; killed"));
}

absl::StatusOr<pid_t> ReadPid(const std::string& pid_file) {
  std::ifstream in(pid_file);
  if (!in) return absl::NotFoundError(absl::StrCat("no pid file ", pid_file));
  std::string line;
  std::getline(in, line);
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &pid) || pid <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad pid file ", pid_file));
  }
  return static_cast<pid_t>(pid);
}

absl::Status ClusterUp(const ClusterOptions& o) {
  if (!IsInitialized(o.dir)) KAGI_RETURN_IF_ERROR(InitCluster(o));
  const int n = NodeCount(o.dir);
  for (int i = 1; i <= n; ++i) {
    KAGI_RETURN_IF_ERROR(StartNode(o.dir, i).status());
  }
  return StartGateway(o.dir).status();
}

absl::Status ClusterDown(const std::string& dir) {
  std::vector<std::string> pid_files;
  pid_files.push_back(absl::StrCat(GatewayDir(dir), "/gateway.pid"));
  for (int i = 1; i <= NodeCount(dir); ++i) {
    pid_files.push_back(absl::StrCat(NodeDir(dir, i), "/node.pid"));
  }
  absl::Status result;
  for (const std::string& f : pid_files) {
    absl::StatusOr<pid_t> pid = ReadPid(f);
    if (!pid.ok()) continue;
    absl::Status st = StopPid(*pid, SIGTERM, absl::Seconds(10));
    if (!st.ok() && result.ok()) result = st;
    ::unlink(f.c_str());
  }
  return result;
}

absl::StatusOr<v1::ClientConfig> LoadClientConfig(const std::string& path) {
  KAGI_ASSIGN_OR_RETURN(std::string text,
                        transport::ReadFileToString(path, 1 << 20));
  v1::ClientConfig config;
  if (!google::protobuf::TextFormat::ParseFromString(text, &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a kagi.v1.ClientConfig"));
  }
  if (config.gateway_address().empty() || config.gateway_name().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": gateway_address and gateway_name are required"));
  }
  return config;
}

absl::StatusOr<std::unique_ptr<v1::Wallet::Stub>> WalletClient(
    const std::string& client_config_path) {
  KAGI_ASSIGN_OR_RETURN(v1::ClientConfig config,
                        LoadClientConfig(client_config_path));
  KAGI_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                        transport::MakeMtlsChannel(
                            config.gateway_address(), config.gateway_name(),
                            {config.tls().cert_file(), config.tls().key_file(),
                             config.tls().ca_file()}));
  return v1::Wallet::NewStub(channel);
}

absl::StatusOr<long> RssKib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return absl::NotFoundError(absl::StrCat("no process ", pid));
  std::string text;
  while (std::getline(in, text)) {
    absl::string_view line = text;
    if (absl::ConsumePrefix(&line, "VmRSS:")) {
      long kib = 0;
      std::string num(absl::StripAsciiWhitespace(line));
      num = num.substr(0, num.find(' '));
      if (absl::SimpleAtoi(num, &kib)) return kib;
    }
  }
  return absl::InternalError("VmRSS not found");
}

}  // namespace kagi::kagictl
