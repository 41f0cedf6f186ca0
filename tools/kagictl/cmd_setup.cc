// kagictl cluster, pki, identity, config and bench: setting up nodes and
// local clusters.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/base/rng.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/evp.h"
#include "libs/transport/config.h"
#include "libs/transport/identity_key.h"
#include "libs/transport/pki.h"
#include "tools/kagictl/bench.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/commands.h"

namespace kagi::kagictl {
namespace {

// NodeConfigCommand prints a node config built from flags, validated.
absl::Status NodeConfigCommand(const Args& a) {
  v1::NodeConfig c;
  KAGI_ASSIGN_OR_RETURN(std::string name, a.Required("name"));
  KAGI_ASSIGN_OR_RETURN(std::string listen, a.Required("listen"));
  KAGI_ASSIGN_OR_RETURN(std::string tls_dir, a.Required("tls-dir"));
  KAGI_ASSIGN_OR_RETURN(std::string identity, a.Required("identity-key"));
  KAGI_ASSIGN_OR_RETURN(std::string storage, a.Required("storage"));
  c.set_name(name);
  c.set_listen_address(listen);
  c.mutable_tls()->set_cert_file(absl::StrCat(tls_dir, "/", name, ".pem"));
  c.mutable_tls()->set_key_file(absl::StrCat(tls_dir, "/", name, ".key"));
  c.mutable_tls()->set_ca_file(absl::StrCat(tls_dir, "/ca.pem"));
  c.set_identity_key_file(identity);
  c.set_storage_path(storage);
  if (a.Has("kek-file")) {
    c.set_seal_key_file(a.Get("kek-file"));
  } else if (a.Has("kek-env")) {
    c.set_seal_key_env(a.Get("kek-env"));
  } else {
    return absl::InvalidArgumentError("--kek-file or --kek-env is required");
  }
  for (const std::string& peer : a.All("peer")) {
    std::vector<std::string> parts = absl::StrSplit(peer, '=');
    if (parts.size() != 3) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--peer ", peer, ": expected NAME=HOST:PORT=IDENTITY_HEX"));
    }
    v1::PeerConfig* p = c.add_peers();
    p->set_name(parts[0]);
    p->set_address(parts[1]);
    p->set_identity_public_key(parts[2]);
  }
  for (const std::string& g : a.All("gateway")) c.add_gateways(g);
  c.set_allow_raw_digest(a.Has("allow-raw-digest"));
  KAGI_RETURN_IF_ERROR(transport::ValidateNodeConfig(c));
  std::cout << transport::RenderConfig(c);
  return absl::OkStatus();
}

}  // namespace

absl::Status ClusterCommand(const Args& a) {
  if (a.words.size() != 2)
    return absl::InvalidArgumentError("cluster init|up|down");
  ClusterOptions o;
  KAGI_ASSIGN_OR_RETURN(o.dir, a.Required("dir"));
  KAGI_ASSIGN_OR_RETURN(o.nodes, a.Int("nodes", 3));
  KAGI_ASSIGN_OR_RETURN(o.base_port, a.Int("base-port", 7100));
  o.allow_raw_digest = a.Has("dev");
  o.admin_without_approvals = a.Has("dev");
  if (a.words[1] == "init") {
    KAGI_RETURN_IF_ERROR(InitCluster(o));
    std::cout << "cluster of " << o.nodes << " nodes written to " << o.dir
              << "\n";
    return absl::OkStatus();
  }
  if (a.words[1] == "up") {
    KAGI_RETURN_IF_ERROR(ClusterUp(o));
    std::cout << "cluster up: " << NodeCount(o.dir)
              << " nodes and a gateway on 127.0.0.1:" << o.base_port
              << " (logs in " << o.dir << ")\n";
    return absl::OkStatus();
  }
  if (a.words[1] == "stop-node" || a.words[1] == "start-node") {
    KAGI_ASSIGN_OR_RETURN(int i, a.Int("node", 0));
    if (i < 1 || i > NodeCount(o.dir)) {
      return absl::InvalidArgumentError("--node: no such node");
    }
    const std::string pid_file = absl::StrCat(NodeDir(o.dir, i), "/node.pid");
    if (a.words[1] == "start-node") {
      KAGI_RETURN_IF_ERROR(StartNode(o.dir, i).status());
      std::cout << NodeName(i) << " started\n";
      return absl::OkStatus();
    }
    KAGI_ASSIGN_OR_RETURN(pid_t pid, ReadPid(pid_file));
    KAGI_RETURN_IF_ERROR(StopPid(pid, SIGTERM, absl::Seconds(10)));
    ::unlink(pid_file.c_str());
    std::cout << NodeName(i) << " stopped\n";
    return absl::OkStatus();
  }
  if (a.words[1] == "down") {
    KAGI_RETURN_IF_ERROR(ClusterDown(o.dir));
    std::cout << "cluster down\n";
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("cluster init|up|down");
}

absl::Status PkiCommand(const Args& a) {
  if (a.words.size() < 2) return absl::InvalidArgumentError("pki ca|issue");
  KAGI_ASSIGN_OR_RETURN(std::string dir, a.Required("dir"));
  if (a.words[1] == "ca") {
    KAGI_ASSIGN_OR_RETURN(transport::CertAndKey ca,
                          transport::CreateCa("Kagi CA", 3650));
    KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
        absl::StrCat(dir, "/ca.pem"), ca.cert_pem, 0644));
    const ByteSpan k = ca.key_pem.secret();
    KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
        absl::StrCat(dir, "/ca.key"),
        absl::string_view(reinterpret_cast<const char*>(k.data()), k.size()),
        0600));
    std::cout << "wrote " << dir << "/ca.pem and " << dir << "/ca.key (0600)\n";
    return absl::OkStatus();
  }
  if (a.words[1] == "issue") {
    KAGI_ASSIGN_OR_RETURN(std::string role_name, a.Required("role"));
    KAGI_ASSIGN_OR_RETURN(std::string name, a.Required("name"));
    std::optional<transport::Role> role = transport::RoleFromName(role_name);
    if (!role) return absl::InvalidArgumentError("--role: node|gateway|client");
    KAGI_ASSIGN_OR_RETURN(
        std::string ca_pem,
        transport::ReadFileToString(absl::StrCat(dir, "/ca.pem"), 1 << 20));
    KAGI_ASSIGN_OR_RETURN(
        SecretBytes ca_key,
        transport::ReadSecretFile(absl::StrCat(dir, "/ca.key"), 1 << 20,
                                  /*owner_only=*/true));
    transport::CertAndKey ca{ca_pem, std::move(ca_key)};
    KAGI_ASSIGN_OR_RETURN(transport::CertAndKey cert,
                          transport::IssueCertificate(
                              ca, *role, name, a.All("dns"), a.All("ip"), 825));
    KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
        absl::StrCat(dir, "/", name, ".pem"), cert.cert_pem, 0644));
    const ByteSpan k = cert.key_pem.secret();
    KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
        absl::StrCat(dir, "/", name, ".key"),
        absl::string_view(reinterpret_cast<const char*>(k.data()), k.size()),
        0600));
    std::cout << "issued " << role_name << " certificate " << dir << "/" << name
              << ".pem\n";
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("pki ca|issue");
}

absl::Status IdentityCommand(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(std::string out, a.Required("out"));
  OsRng rng;
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate(rng);
  KAGI_RETURN_IF_ERROR(transport::WriteIdentityKey(out, key));
  std::cout << HexEncode(key.PublicKey()) << "\n";
  return absl::OkStatus();
}

absl::Status ConfigCommand(const Args& a) {
  if (a.words.size() == 2 && a.words[1] == "node") {
    return NodeConfigCommand(a);
  }
  if (a.Has("node")) {
    KAGI_ASSIGN_OR_RETURN(v1::NodeConfig node,
                          transport::LoadNodeConfig(a.Get("node")));
    KAGI_RETURN_IF_ERROR(transport::CheckNodeConfigFiles(node));
  } else if (a.Has("gateway")) {
    KAGI_ASSIGN_OR_RETURN(v1::GatewayConfig gateway,
                          transport::LoadGatewayConfig(a.Get("gateway")));
    KAGI_RETURN_IF_ERROR(transport::CheckGatewayConfigFiles(gateway));
  } else {
    return absl::InvalidArgumentError("config check --node F | --gateway F");
  }
  std::cout << "config OK\n";
  return absl::OkStatus();
}

absl::Status BenchCommand(const Args& a) {
  BenchOptions o;
  o.dir = a.Get("dir");
  KAGI_ASSIGN_OR_RETURN(o.signs, a.Int("signs", 400));
  KAGI_ASSIGN_OR_RETURN(o.sequential_signs, a.Int("sequential", 200));
  KAGI_ASSIGN_OR_RETURN(o.concurrency, a.Int("concurrency", 16));
  KAGI_ASSIGN_OR_RETURN(o.dkgs, a.Int("dkgs", 5));
  KAGI_ASSIGN_OR_RETURN(o.base_port, a.Int("base-port", 7300));
  return RunBench(o);
}

}  // namespace kagi::kagictl
