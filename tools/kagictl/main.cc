// kagictl: the operator and client CLI of Kagi. Run `kagictl help`.
// Commands are in cmd_*.cc (commands.h); kCommands maps each first word to
// one.
#include <signal.h>

#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/kagictl/cli.h"
#include "tools/kagictl/commands.h"

namespace kagi::kagictl {
namespace {

constexpr char kUsage[] =
    R"(kagictl: operate and use a Kagi threshold-ECDSA cluster

Local cluster (loopback, for demos and tests):
  kagictl cluster init --dir D [--nodes 3] [--base-port 7100] [--dev]
  kagictl cluster up   --dir D [--nodes 3] [--base-port 7100] [--dev]
      writes PKI, configs, approver keys (D/approvers/alice|bob|carol.pem)
      and each node's policy (D/node-I/policy.txt). --dev also allows raw
      digests and key creation/refresh without approvals (tests, bench).
  kagictl cluster down --dir D
  kagictl cluster stop-node  --dir D --node I     (SIGTERM node-I)
  kagictl cluster start-node --dir D --node I

PKI and node set-up (real deployments):
  kagictl pki ca --dir D                         a CA: D/ca.pem, D/ca.key
  kagictl pki issue --dir D --role node|gateway|client --name N
                    [--dns NAME]... [--ip ADDR]...
  kagictl identity new --out FILE                Ed25519 node identity key;
                                                 prints its public key (hex)
  kagictl config check --node FILE | --gateway FILE
  kagictl config node --name N --listen HOST:PORT --tls-dir D
                      --identity-key FILE --storage FILE
                      (--kek-file FILE | --kek-env VAR)
                      --peer NAME=HOST:PORT=IDENTITY_HEX ... --gateway NAME ...
                      [--allow-raw-digest]
                      prints a validated node config (TLS files D/N.pem,
                      D/N.key, D/ca.pem)

Wallet (through a gateway; --cluster D or --client-config FILE). APPROVALS
are --approve NAME=KEY_FILE (signed here), --approval NAME:HEX, or
--approvals FILE (lines NAME:HEX, as `kagictl approve --out` writes them):
  kagictl key create --threshold T --nodes a,b,c --networks N,N
                     [--request-id ID] [--expiry UNIX]
                     [APPROVALS | --print-digest]
      N: bitcoin:mainnet|testnet|regtest, ethereum:CHAIN_ID, raw_digest;
      the key signs for these only, on every node
  kagictl key list
  kagictl key show KEY_ID
  kagictl key xpub KEY_ID [--path 0/1] [--network mainnet|testnet|regtest]
  kagictl key refresh KEY_ID [--dealers 1,2] [--networks N,N]
                      [--request-id ID] [--expiry UNIX]
                      [APPROVALS | --print-digest]
      --networks binds a key made before bindings (default: the key's own)
  kagictl key reshare KEY_ID --threshold T --nodes a,b,c [--dealers 1,2]
                      [--networks N,N] [--request-id ID] [--expiry UNIX]
                      [APPROVALS | --print-digest]
      admin commands print the change and its admin digest (with every
      member's identity key) before sending; --print-digest sends nothing
  kagictl sign --key KEY_ID REQUEST [APPROVALS] [--out FILE] [--print-digest]
      REQUEST is [--request-id ID] [--expiry UNIX] and one payload:
        --psbt FILE [--network regtest]   (binary or base64 PSBT)
        --eth-tx HEX [--path 0/0]         (unsigned EIP-1559/2930/155 tx)
        --digest HEX [--path P] ...       (raw digests; policy must allow)
      --out writes the signed PSBT (base64) or Ethereum transaction (hex).
  kagictl approve --as NAME --approver-key FILE --key KEY_ID REQUEST
                  [--out FILE]
      shows the decoded request, signs its digest, prints (or appends to
      FILE) the approval line NAME:HEX
  kagictl request status ID [--key KEY]

Demo transactions (no blockchain needed):
  kagictl demo-psbt --key KEY_ID --to ADDRESS --amount SAT [--fee 1000]
                    [--network regtest] --out FILE
  kagictl demo-eth-tx --to ADDRESS --value-wei N [--chain-id 1337] [--nonce 0]

Shares and bans (on a node's host, against its store):
  kagictl share retire-pending --db NODE_DB --identity-key FILE --key KEY_ID
                               --epoch E
      erase the PENDING shares of one key and epoch for which no activation
      certificate will come (audited, the record signed with the node's
      identity key FILE; docs/rotation.md)
  kagictl ban lift --db NODE_DB --identity-key FILE --party HEX --reason TEXT
      let a banned peer (its identity key HEX) take part again (audited,
      signed like the above; docs/deploy.md)

Audit (read-only, from the database files; docs/deploy.md):
  kagictl audit verify --db NODE_DB --node-key HEX [--last-hash HEX]
      the chain and every head signature under the node's identity key
  kagictl audit verify --cluster DIR
      every node's log, and every peer's signed head each node holds
      against that peer's log (DIR/node-<i>/node.conf as cluster init
      writes them, storage_path naming each database or a copy)
  kagictl audit show --db NODE_DB [--request ID]   whole records

Benchmark (end to end, own local cluster):
  kagictl bench [--dir D] [--dkgs 5] [--sequential 200] [--signs 400]
                [--concurrency 16] [--base-port 7300]
)";

struct Command {
  const char* name;
  absl::Status (*run)(const Args&);
};

// One line per command word; a new command adds its line.
constexpr Command kCommands[] = {
    {"cluster", ClusterCommand},   {"pki", PkiCommand},
    {"identity", IdentityCommand}, {"config", ConfigCommand},
    {"key", KeyCommand},           {"sign", SignCommand},
    {"approve", ApproveCommand},   {"demo-psbt", DemoCommand},
    {"demo-eth-tx", DemoCommand},  {"request", RequestCommand},
    {"audit", AuditCommand},       {"share", ShareCommand},
    {"ban", BanCommand},           {"bench", BenchCommand},
};

absl::Status Main(const Args& a) {
  if (a.words.empty() || a.words[0] == "help") {
    std::cout << kUsage;
    return absl::OkStatus();
  }
  const std::string& cmd = a.words[0];
  for (const Command& c : kCommands) {
    if (cmd == c.name) return c.run(a);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command '", cmd, "' (kagictl help)"));
}

}  // namespace
}  // namespace kagi::kagictl

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const kagi::kagictl::Args args = kagi::kagictl::Parse(argc, argv);
  absl::Status st = kagi::kagictl::Main(args);
  if (!st.ok()) {
    std::cerr << "kagictl: " << absl::StatusCodeToString(st.code()) << ": "
              << st.message() << "\n";
    return st.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
