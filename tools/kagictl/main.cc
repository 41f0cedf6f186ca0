// kagictl: the operator and client CLI of Kagi. Run `kagictl help`.
#include <grpcpp/client_context.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/evp.h"
#include "libs/policy/request_digest.h"
#include "libs/storage/audit.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/config.h"
#include "libs/transport/identity_key.h"
#include "libs/transport/pki.h"
#include "libs/transport/tls.h"
#include "tools/kagictl/audit_verify.h"
#include "tools/kagictl/bench.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

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

// Args: positional words and --flags (each may repeat).
struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::vector<std::string>> flags;

  bool Has(const std::string& f) const { return flags.count(f) != 0; }
  std::string Get(const std::string& f, const std::string& def = "") const {
    auto it = flags.find(f);
    return it == flags.end() || it->second.empty() ? def : it->second.back();
  }
  std::vector<std::string> All(const std::string& f) const {
    auto it = flags.find(f);
    return it == flags.end() ? std::vector<std::string>{} : it->second;
  }
  absl::StatusOr<int> Int(const std::string& f, int def) const {
    if (!Has(f)) return def;
    int v = 0;
    if (!absl::SimpleAtoi(Get(f), &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", f, ": not a number"));
    }
    return v;
  }
  absl::StatusOr<std::string> Required(const std::string& f) const {
    if (!Has(f) || Get(f).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--", f, " is required"));
    }
    return Get(f);
  }
};

const std::vector<std::string> kBoolFlags = {"dev", "allow-raw-digest",
                                             "print-digest"};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      std::string name = s.substr(2);
      std::string value;
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (std::find(kBoolFlags.begin(), kBoolFlags.end(), name) ==
                     kBoolFlags.end() &&
                 i + 1 < argc) {
        value = argv[++i];
      }
      a.flags[name].push_back(value);
    } else {
      a.words.push_back(s);
    }
  }
  return a;
}

std::string Hex(const std::string& s) { return HexEncode(AsBytes(s)); }

absl::StatusOr<std::string> HexArg(const std::string& hex, size_t len,
                                   const std::string& what) {
  absl::StatusOr<Bytes> b = HexDecode(hex);
  if (!b.ok() || b->size() != len) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": expected ", len, " bytes of hex"));
  }
  return std::string(b->begin(), b->end());
}

std::string NewRequestId(const std::string& prefix) {
  OsRng rng;
  std::array<uint8_t, 8> r;
  rng.Fill(absl::MakeSpan(r));
  return absl::StrCat(prefix, "-", HexEncode(r));
}

absl::Status Rpc(const grpc::Status& st) {
  if (st.ok()) return absl::OkStatus();
  absl::Status s = transport::FromGrpcStatus(st);
  std::string extra;
  if (auto d = transport::GetErrorDetails(st)) {
    if (!d->reporting_node().empty()) {
      absl::StrAppend(&extra, " (reported by ", d->reporting_node());
      if (!d->abort_class().empty()) {
        absl::StrAppend(&extra, "; abort class ", d->abort_class());
      }
      if (d->culprit_nodes_size() > 0) {
        absl::StrAppend(&extra, "; culprit ", d->culprit_nodes(0));
      }
      absl::StrAppend(&extra, ")");
    }
  }
  return absl::Status(s.code(), absl::StrCat(s.message(), extra));
}

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

absl::StatusOr<std::unique_ptr<v1::Wallet::Stub>> Wallet(const Args& a) {
  std::string path = a.Get("client-config");
  if (path.empty()) {
    if (!a.Has("cluster")) {
      return absl::InvalidArgumentError("--cluster D or --client-config FILE");
    }
    path = ClientConfigPath(a.Get("cluster"));
  }
  return WalletClient(path);
}

void PrintKey(const v1::KeyInfo& k) {
  std::cout << "key id     " << Hex(k.key_id()) << "\n"
            << "threshold  " << k.threshold() << " of " << k.parties_size()
            << ", epoch " << k.epoch() << "\n"
            << "public key " << Hex(k.public_key()) << "\n"
            << "xpub       " << k.xpub() << "\n"
            << "networks   "
            << (k.networks().empty()
                    ? absl::StrCat(
                          "none (made before keys were bound to networks): "
                          "signs nothing until a refresh names them: kagictl "
                          "key refresh ",
                          Hex(k.key_id()), " --networks N,N")
                    : absl::StrJoin(k.networks(), ","))
            << "\n"
            << "nodes     ";
  for (const v1::KeyParty& p : k.parties()) {
    std::cout << " " << p.id() << "=" << p.node();
  }
  std::cout << "\n";
  for (const v1::KeyHolder& h : k.holders()) {
    std::cout << "holder     " << h.node() << ": " << h.state();
    if (h.state() == "active") std::cout << " epoch " << h.epoch();
    for (uint64_t e : h.pending_epochs()) std::cout << ", pending " << e;
    std::cout << (h.member() ? "" : " (not a member)");
    if (!h.note().empty()) std::cout << " - " << h.note();
    std::cout << "\n";
  }
  if (k.legacy_base_ot()) {
    std::cout << "WARNING    shares of this key were made before base OT "
                 "sampled uniformly: about half of each pairwise OT secret is "
                 "known to the peer. Refresh it now: kagictl key refresh "
              << Hex(k.key_id()) << " (docs/rotation.md)\n";
  }
  for (const std::string& w : k.warnings()) {
    std::cout << "WARNING    " << w << "\n";
  }
}

std::vector<std::string> SplitList(const std::string& s) {
  if (s.empty()) return {};
  return absl::StrSplit(s, ',');
}

// Expiry: --expiry UNIX, or five minutes from now.
absl::StatusOr<uint64_t> Expiry(const Args& a) {
  if (!a.Has("expiry")) {
    return static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300);
  }
  uint64_t v = 0;
  if (!absl::SimpleAtoi(a.Get("expiry"), &v)) {
    return absl::InvalidArgumentError("--expiry: not a unix time");
  }
  return v;
}

// AddApprovals collects the approvals of --approve, --approval, --approvals.
absl::Status AddApprovals(
    const Args& a, const std::array<uint8_t, 32>& digest,
    google::protobuf::RepeatedPtrField<v1::Approval>* out) {
  KAGI_ASSIGN_OR_RETURN(std::vector<v1::Approval> signed_here,
                        ApproveAll(a.All("approve"), digest));
  for (v1::Approval& ap : signed_here) *out->Add() = std::move(ap);
  std::vector<std::string> lines = a.All("approval");
  for (const std::string& file : a.All("approvals")) {
    KAGI_ASSIGN_OR_RETURN(std::string text,
                          transport::ReadFileToString(file, 1 << 20));
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (!line.empty()) lines.emplace_back(line);
    }
  }
  for (const std::string& line : lines) {
    KAGI_ASSIGN_OR_RETURN(v1::Approval ap, ParseApproval(line));
    *out->Add() = std::move(ap);
  }
  return absl::OkStatus();
}

// ListNodes / GetKey: the gateway's node list and a key's description.
absl::StatusOr<v1::ListNodesResponse> ListNodes(v1::Wallet::Stub& wallet) {
  v1::ListNodesResponse nodes;
  KAGI_RETURN_IF_ERROR(Rpc(wallet.ListNodes(Ctx(absl::Seconds(30)).get(),
                                            v1::ListNodesRequest(), &nodes)));
  return nodes;
}

absl::StatusOr<v1::KeyInfo> GetKey(v1::Wallet::Stub& wallet,
                                   const std::string& key_id) {
  v1::GetKeyRequest get;
  get.set_key_id(key_id);
  v1::KeyInfo key;
  KAGI_RETURN_IF_ERROR(
      Rpc(wallet.GetKey(Ctx(absl::Seconds(30)).get(), get, &key)));
  return key;
}

// AddDealers parses --dealers 1,3 (old party ids).
absl::Status AddDealers(const Args& a,
                        google::protobuf::RepeatedField<uint32_t>* out) {
  for (const std::string& d : SplitList(a.Get("dealers"))) {
    uint32_t id = 0;
    if (!absl::SimpleAtoi(d, &id)) {
      return absl::InvalidArgumentError("--dealers: party ids, e.g. 1,3");
    }
    out->Add(id);
  }
  return absl::OkStatus();
}

// ApproveAdmin shows what the admin quorum approves (the change and its
// digest, including every node's identity key: compare them with the
// cluster's published keys) and adds the approvals. Returns false for
// --print-digest, which sends nothing.
absl::StatusOr<bool> ApproveAdmin(
    const Args& a, const policy::AdminChange& change,
    google::protobuf::RepeatedPtrField<v1::Approval>* out) {
  const std::array<uint8_t, 32> digest = policy::AdminDigest(change);
  std::cout << "change     " << change.Summary() << "\n";
  for (const policy::CommitteeMember& m : change.new_committee) {
    std::cout << "member     " << m.node << " identity "
              << HexEncode(m.identity_key) << "\n";
  }
  std::cout << "digest     " << HexEncode(digest) << "\n";
  if (a.Has("print-digest")) return false;
  KAGI_RETURN_IF_ERROR(AddApprovals(a, digest, out));
  return true;
}

// ReadPsbt reads a binary or base64 PSBT file.
absl::StatusOr<std::string> ReadPsbt(const std::string& path) {
  KAGI_ASSIGN_OR_RETURN(std::string data,
                        transport::ReadFileToString(path, 4 << 20));
  if (data.rfind("psbt\xff", 0) == 0) return data;
  std::string decoded;
  std::string text(absl::StripAsciiWhitespace(data));
  if (!absl::Base64Unescape(text, &decoded) ||
      decoded.rfind("psbt\xff", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--psbt ", path, ": neither a binary nor a base64 PSBT"));
  }
  return decoded;
}

// BuildSignRequest reads the REQUEST flags (see usage).
absl::StatusOr<v1::SignRequest> BuildSignRequest(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(std::string key_hex, a.Required("key"));
  KAGI_ASSIGN_OR_RETURN(std::string key_id, HexArg(key_hex, 32, "--key"));
  v1::SignRequest req;
  req.set_request_id(a.Get("request-id", NewRequestId("sign")));
  req.set_key_id(key_id);
  KAGI_ASSIGN_OR_RETURN(uint64_t expiry, Expiry(a));
  req.set_expiry_unix_seconds(expiry);
  if (a.Has("psbt")) {
    v1::BitcoinPsbtPayload* p = req.mutable_payload()->mutable_bitcoin_psbt();
    p->set_network(a.Get("network", "regtest"));
    KAGI_ASSIGN_OR_RETURN(*p->mutable_psbt(), ReadPsbt(a.Get("psbt")));
    return req;
  }
  if (a.Has("eth-tx")) {
    v1::EthereumTxPayload* p = req.mutable_payload()->mutable_ethereum_tx();
    std::string hex = a.Get("eth-tx");
    if (hex.rfind("0x", 0) == 0) hex = hex.substr(2);
    absl::StatusOr<Bytes> tx = HexDecode(hex);
    if (!tx.ok() || tx->empty()) {
      return absl::InvalidArgumentError("--eth-tx: expected hex");
    }
    p->set_unsigned_tx(std::string(tx->begin(), tx->end()));
    KAGI_ASSIGN_OR_RETURN(std::vector<uint32_t> path,
                          crypto::ParsePath(a.Get("path", "m/0/0")));
    for (uint32_t i : path) p->add_path(i);
    return req;
  }
  const std::vector<std::string> digests = a.All("digest");
  const std::vector<std::string> paths = a.All("path");
  if (digests.empty()) {
    return absl::InvalidArgumentError(
        "a payload is required: --psbt, --eth-tx or --digest");
  }
  for (size_t i = 0; i < digests.size(); ++i) {
    v1::DigestItem* item =
        req.mutable_payload()->mutable_raw_digest()->add_items();
    KAGI_ASSIGN_OR_RETURN(std::string d, HexArg(digests[i], 32, "--digest"));
    item->set_digest(d);
    KAGI_ASSIGN_OR_RETURN(
        std::vector<uint32_t> path,
        crypto::ParsePath(i < paths.size() ? paths[i] : std::string("m")));
    for (uint32_t p : path) item->add_path(p);
  }
  return req;
}

absl::Status ApproveCommand(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(std::string name, a.Required("as"));
  KAGI_ASSIGN_OR_RETURN(std::string key_file, a.Required("approver-key"));
  KAGI_ASSIGN_OR_RETURN(v1::SignRequest req, BuildSignRequest(a));
  KAGI_ASSIGN_OR_RETURN(const auto digest, policy::SignRequestDigest(req));
  std::cout << "request    " << req.request_id() << " for key "
            << Hex(req.key_id()) << ", expires " << req.expiry_unix_seconds()
            << "\n"
            << DescribePayload(req.payload()) << "digest     "
            << HexEncode(digest) << "\n";
  KAGI_ASSIGN_OR_RETURN(v1::Approval approval, Approve(name, key_file, digest));
  const std::string line = ApprovalText(approval);
  if (a.Has("out")) {
    std::string existing;
    absl::StatusOr<std::string> old =
        transport::ReadFileToString(a.Get("out"), 1 << 20);
    if (old.ok()) existing = *old;
    KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
        a.Get("out"), absl::StrCat(existing, line, "\n"), 0644));
    std::cout << "approved   by " << name << " (appended to " << a.Get("out")
              << ")\n";
  } else {
    std::cout << line << "\n";
  }
  return absl::OkStatus();
}

absl::Status DemoCommand(const Args& a) {
  if (a.words[0] == "demo-eth-tx") {
    KAGI_ASSIGN_OR_RETURN(std::string to, a.Required("to"));
    uint64_t value = 0, chain_id = 1337, nonce = 0;
    if (!absl::SimpleAtoi(a.Get("value-wei", "0"), &value) ||
        !absl::SimpleAtoi(a.Get("chain-id", "1337"), &chain_id) ||
        !absl::SimpleAtoi(a.Get("nonce", "0"), &nonce)) {
      return absl::InvalidArgumentError(
          "--value-wei, --chain-id, --nonce: numbers");
    }
    KAGI_ASSIGN_OR_RETURN(Bytes tx, DemoEthTx(chain_id, nonce, to, value));
    std::cout << HexEncode(tx) << "\n";
    return absl::OkStatus();
  }
  KAGI_ASSIGN_OR_RETURN(auto wallet, Wallet(a));
  KAGI_ASSIGN_OR_RETURN(std::string key_hex, a.Required("key"));
  KAGI_ASSIGN_OR_RETURN(std::string key_id, HexArg(key_hex, 32, "--key"));
  KAGI_ASSIGN_OR_RETURN(std::string to, a.Required("to"));
  KAGI_ASSIGN_OR_RETURN(std::string out, a.Required("out"));
  uint64_t amount = 0, fee = 1000;
  if (!absl::SimpleAtoi(a.Get("amount", "0"), &amount) || amount == 0 ||
      !absl::SimpleAtoi(a.Get("fee", "1000"), &fee)) {
    return absl::InvalidArgumentError("--amount SAT and --fee SAT: numbers");
  }
  v1::GetKeyRequest get;
  get.set_key_id(key_id);
  v1::KeyInfo key;
  KAGI_RETURN_IF_ERROR(
      Rpc(wallet->GetKey(Ctx(absl::Seconds(30)).get(), get, &key)));
  KAGI_ASSIGN_OR_RETURN(
      Bytes psbt, DemoPsbt(key, a.Get("network", "regtest"), to, amount, fee));
  KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
      out,
      absl::Base64Escape(absl::string_view(
          reinterpret_cast<const char*>(psbt.data()), psbt.size())),
      0644));
  std::cout << "PSBT written to " << out << ": " << amount << " sat to " << to
            << ", fee " << fee << ", change to m/1/0\n";
  return absl::OkStatus();
}

absl::Status KeyCommand(const Args& a) {
  if (a.words.size() < 2) return absl::InvalidArgumentError("key: subcommand");
  const std::string& sub = a.words[1];
  KAGI_ASSIGN_OR_RETURN(auto wallet, Wallet(a));
  if (sub == "create") {
    v1::CreateKeyRequest req;
    KAGI_ASSIGN_OR_RETURN(int t, a.Int("threshold", 2));
    req.set_threshold(static_cast<uint32_t>(t));
    req.set_request_id(a.Get("request-id", NewRequestId("create")));
    for (const std::string& n : SplitList(a.Get("nodes"))) req.add_nodes(n);
    for (const std::string& n : SplitList(a.Get("networks"))) {
      req.add_networks(n);
    }
    KAGI_ASSIGN_OR_RETURN(uint64_t expiry, Expiry(a));
    req.set_expiry_unix_seconds(expiry);
    KAGI_ASSIGN_OR_RETURN(v1::ListNodesResponse nodes, ListNodes(*wallet));
    KAGI_ASSIGN_OR_RETURN(policy::AdminChange change,
                          CreateKeyChange(&req, nodes));
    KAGI_ASSIGN_OR_RETURN(bool send,
                          ApproveAdmin(a, change, req.mutable_approvals()));
    if (!send) return absl::OkStatus();
    v1::KeyInfo key;
    KAGI_RETURN_IF_ERROR(
        Rpc(wallet->CreateKey(Ctx(absl::Seconds(120)).get(), req, &key)));
    PrintKey(key);
    return absl::OkStatus();
  }
  if (sub == "list") {
    v1::ListKeysResponse resp;
    KAGI_RETURN_IF_ERROR(Rpc(wallet->ListKeys(Ctx(absl::Seconds(30)).get(),
                                              v1::ListKeysRequest(), &resp)));
    for (const v1::KeyInfo& k : resp.keys()) {
      std::cout << Hex(k.key_id()) << "  " << k.threshold() << "-of-"
                << k.parties_size() << "  epoch " << k.epoch() << "  "
                << k.xpub() << "\n";
    }
    if (resp.keys_size() == 0) std::cout << "(no keys)\n";
    return absl::OkStatus();
  }
  if (a.words.size() < 3) return absl::InvalidArgumentError("key: KEY_ID");
  KAGI_ASSIGN_OR_RETURN(std::string key_id, HexArg(a.words[2], 32, "KEY_ID"));
  if (sub == "show") {
    v1::GetKeyRequest req;
    req.set_key_id(key_id);
    v1::KeyInfo key;
    KAGI_RETURN_IF_ERROR(
        Rpc(wallet->GetKey(Ctx(absl::Seconds(30)).get(), req, &key)));
    PrintKey(key);
    return absl::OkStatus();
  }
  if (sub == "xpub") {
    v1::DeriveRequest req;
    req.set_key_id(key_id);
    KAGI_ASSIGN_OR_RETURN(std::vector<uint32_t> path,
                          crypto::ParsePath(a.Get("path", "m")));
    for (uint32_t i : path) req.add_path(i);
    req.set_network(a.Get("network", "mainnet"));
    v1::DerivedKey d;
    KAGI_RETURN_IF_ERROR(
        Rpc(wallet->DerivePublicKey(Ctx(absl::Seconds(30)).get(), req, &d)));
    std::cout << "path       " << a.Get("path", "m") << "\n"
              << "public key " << Hex(d.public_key()) << "\n"
              << "xpub       " << d.xpub() << "\n"
              << "address    " << d.p2wpkh_address() << " (P2WPKH, "
              << req.network() << ")\n";
    return absl::OkStatus();
  }
  if (sub == "refresh") {
    v1::RefreshRequest req;
    req.set_key_id(key_id);
    req.set_request_id(a.Get("request-id", NewRequestId("refresh")));
    KAGI_ASSIGN_OR_RETURN(uint64_t expiry, Expiry(a));
    req.set_expiry_unix_seconds(expiry);
    KAGI_RETURN_IF_ERROR(AddDealers(a, req.mutable_dealers()));
    for (const std::string& n : SplitList(a.Get("networks"))) {
      req.add_networks(n);
    }
    KAGI_ASSIGN_OR_RETURN(v1::KeyInfo current, GetKey(*wallet, key_id));
    KAGI_ASSIGN_OR_RETURN(v1::ListNodesResponse nodes, ListNodes(*wallet));
    KAGI_ASSIGN_OR_RETURN(policy::AdminChange change,
                          RefreshChange(&req, current, nodes));
    KAGI_ASSIGN_OR_RETURN(bool send,
                          ApproveAdmin(a, change, req.mutable_approvals()));
    if (!send) return absl::OkStatus();
    v1::KeyInfo key;
    KAGI_RETURN_IF_ERROR(
        Rpc(wallet->Refresh(Ctx(absl::Seconds(120)).get(), req, &key)));
    PrintKey(key);
    return absl::OkStatus();
  }
  if (sub == "reshare") {
    v1::ReshareRequest req;
    req.set_key_id(key_id);
    req.set_request_id(a.Get("request-id", NewRequestId("reshare")));
    KAGI_ASSIGN_OR_RETURN(int t, a.Int("threshold", 2));
    req.set_new_threshold(static_cast<uint32_t>(t));
    for (const std::string& n : SplitList(a.Get("nodes"))) req.add_new_nodes(n);
    KAGI_ASSIGN_OR_RETURN(uint64_t expiry, Expiry(a));
    req.set_expiry_unix_seconds(expiry);
    KAGI_RETURN_IF_ERROR(AddDealers(a, req.mutable_dealers()));
    for (const std::string& n : SplitList(a.Get("networks"))) {
      req.add_networks(n);
    }
    KAGI_ASSIGN_OR_RETURN(v1::KeyInfo current, GetKey(*wallet, key_id));
    KAGI_ASSIGN_OR_RETURN(v1::ListNodesResponse nodes, ListNodes(*wallet));
    KAGI_ASSIGN_OR_RETURN(policy::AdminChange change,
                          ReshareChange(&req, current, nodes));
    KAGI_ASSIGN_OR_RETURN(bool send,
                          ApproveAdmin(a, change, req.mutable_approvals()));
    if (!send) return absl::OkStatus();
    v1::KeyInfo key;
    KAGI_RETURN_IF_ERROR(
        Rpc(wallet->Reshare(Ctx(absl::Seconds(120)).get(), req, &key)));
    PrintKey(key);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("key: unknown '", sub, "'"));
}

absl::Status SignCommand(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(v1::SignRequest req, BuildSignRequest(a));
  KAGI_ASSIGN_OR_RETURN(const auto digest, policy::SignRequestDigest(req));
  if (a.Has("print-digest")) {
    std::cout << HexEncode(digest) << "\n";
    return absl::OkStatus();
  }
  KAGI_RETURN_IF_ERROR(AddApprovals(a, digest, req.mutable_approvals()));
  KAGI_ASSIGN_OR_RETURN(auto wallet, Wallet(a));
  v1::SignResponse resp;
  KAGI_RETURN_IF_ERROR(
      Rpc(wallet->Sign(Ctx(absl::Seconds(60)).get(), req, &resp)));
  std::cout << "request    " << req.request_id() << " signed by";
  for (const std::string& n : resp.signer_nodes()) std::cout << " " << n;
  std::cout << " (attempts: " << resp.attempts() << ")\n";
  for (const v1::SignatureResult& s : resp.signatures()) {
    // Verify here too: the CLI trusts neither gateway nor nodes.
    absl::StatusOr<crypto::Point> pub =
        crypto::Point::FromCompressed(AsBytes(s.public_key()));
    absl::Status ok = pub.status();
    if (ok.ok() && s.digest().size() == 32 && s.signature().size() == 64) {
      crypto::Digest32 digest;
      std::copy(s.digest().begin(), s.digest().end(), digest.begin());
      crypto::CompactSignature sig;
      std::copy(s.signature().begin(), s.signature().end(), sig.begin());
      ok = crypto::EcdsaVerify(*pub, digest, sig);
    }
    std::cout << "digest     " << Hex(s.digest()) << "\n"
              << "signature  " << Hex(s.signature()) << " (r||s, low-S)\n"
              << "recovery   " << s.recovery_id() << "\n"
              << "public key " << Hex(s.public_key()) << "\n"
              << "verified   "
              << (ok.ok() ? "yes (libsecp256k1, by kagictl)"
                          : absl::StrCat("NO: ", ok.message()))
              << "\n";
    if (!ok.ok()) return absl::DataLossError("a signature did not verify");
  }
  if (!resp.signed_psbt().empty()) {
    const std::string b64 = absl::Base64Escape(resp.signed_psbt());
    std::cout << "signed PSBT with " << resp.signatures_size()
              << " partial signature(s)";
    if (a.Has("out")) {
      KAGI_RETURN_IF_ERROR(
          transport::WriteFileAtomically(a.Get("out"), b64 + "\n", 0644));
      std::cout << " written to " << a.Get("out") << "\n";
    } else {
      std::cout << ":\n" << b64 << "\n";
    }
  }
  if (resp.has_ethereum()) {
    const std::string hex =
        absl::StrCat("0x", Hex(resp.ethereum().signed_tx()));
    std::cout << "from       " << resp.ethereum().from() << "\n"
              << "yParity    " << resp.ethereum().y_parity() << "\n"
              << "signed tx  " << hex << "\n";
    if (a.Has("out")) {
      KAGI_RETURN_IF_ERROR(
          transport::WriteFileAtomically(a.Get("out"), hex + "\n", 0644));
    }
  }
  return absl::OkStatus();
}

absl::Status RequestCommand(const Args& a) {
  if (a.words.size() != 3 || a.words[1] != "status") {
    return absl::InvalidArgumentError("request status ID");
  }
  KAGI_ASSIGN_OR_RETURN(auto wallet, Wallet(a));
  v1::GetRequestStatusRequest req;
  req.set_request_id(a.words[2]);
  if (a.Has("key")) {
    KAGI_ASSIGN_OR_RETURN(std::string key_id,
                          HexArg(a.Get("key"), 32, "--key"));
    req.set_key_id(key_id);
  }
  v1::RequestStatus st;
  KAGI_RETURN_IF_ERROR(
      Rpc(wallet->GetRequestStatus(Ctx(absl::Seconds(30)).get(), req, &st)));
  std::cout << "request " << st.request_id() << ": " << st.state();
  if (!st.outcome().empty()) std::cout << " (" << st.outcome() << ")";
  std::cout << "\n";
  for (const v1::SignatureResult& s : st.signatures()) {
    std::cout << "  " << Hex(s.digest()) << " -> " << Hex(s.signature())
              << "\n";
  }
  return absl::OkStatus();
}

// ShareCommand: `share retire-pending`, run on a node's host against its
// store: the operator's decision that no activation certificate will come
// for the PENDING shares of one key and epoch (docs/rotation.md). Audited.
absl::Status ShareCommand(const Args& a) {
  if (a.words.size() != 2 || a.words[1] != "retire-pending") {
    return absl::InvalidArgumentError(
        "share retire-pending --db NODE_DB --key KEY_ID --epoch E");
  }
  KAGI_ASSIGN_OR_RETURN(std::string db, a.Required("db"));
  KAGI_ASSIGN_OR_RETURN(std::string identity_file, a.Required("identity-key"));
  KAGI_ASSIGN_OR_RETURN(std::string key_hex, a.Required("key"));
  KAGI_ASSIGN_OR_RETURN(std::string key, HexArg(key_hex, 32, "--key"));
  uint64_t epoch = 0;
  if (!absl::SimpleAtoi(a.Get("epoch"), &epoch)) {
    return absl::InvalidArgumentError("--epoch: a number is required");
  }
  if (::access(db.c_str(), R_OK | W_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("--db: cannot open ", db));
  }
  // The record is signed like the node's own: the log stays verifiable.
  KAGI_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey identity,
                        transport::LoadIdentityKey(identity_file));
  KAGI_ASSIGN_OR_RETURN(auto store, storage::SqliteStore::Open(db));
  store->SetAuditKey(&identity);
  storage::KeyId id;
  std::copy(key.begin(), key.end(), id.begin());
  KAGI_ASSIGN_OR_RETURN(int n, store->RetirePendingShares(id, epoch));
  storage::AuditEntry audit;
  audit.unix_time = absl::ToUnixSeconds(absl::Now());
  audit.operation = "retire-pending";
  audit.parties = absl::StrCat("key ", key_hex, " epoch ", epoch);
  audit.outcome =
      absl::StrCat("ok: ", n, " PENDING share(s) erased by the operator");
  KAGI_RETURN_IF_ERROR(store->AppendAudit(std::move(audit)).status());
  std::cout << n << " PENDING share(s) of key " << key_hex << " epoch " << epoch
            << " retired and erased\n";
  return absl::OkStatus();
}

// BanCommand: `ban lift`, run on a node's host against its store: the
// operator's decision to let a banned peer take part again. The row goes
// with a signed lift record (the start-up check wants a row for every
// signed ban that was not lifted).
absl::Status BanCommand(const Args& a) {
  if (a.words.size() != 2 || a.words[1] != "lift") {
    return absl::InvalidArgumentError(
        "ban lift --db NODE_DB --identity-key FILE --party HEX --reason TEXT");
  }
  KAGI_ASSIGN_OR_RETURN(std::string db, a.Required("db"));
  KAGI_ASSIGN_OR_RETURN(std::string identity_file, a.Required("identity-key"));
  KAGI_ASSIGN_OR_RETURN(std::string party_hex, a.Required("party"));
  KAGI_ASSIGN_OR_RETURN(std::string party, HexArg(party_hex, 32, "--party"));
  KAGI_ASSIGN_OR_RETURN(std::string reason, a.Required("reason"));
  if (::access(db.c_str(), R_OK | W_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("--db: cannot open ", db));
  }
  KAGI_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey identity,
                        transport::LoadIdentityKey(identity_file));
  KAGI_ASSIGN_OR_RETURN(auto store, storage::SqliteStore::Open(db));
  store->SetAuditKey(&identity);
  KAGI_ASSIGN_OR_RETURN(bool lifted,
                        store->LiftBan(AsBytes(party), "operator: " + reason));
  if (!lifted) {
    return absl::NotFoundError(
        absl::StrCat("party ", party_hex, " is not banned in ", db));
  }
  std::cout << "ban of " << party_hex << " lifted (audited)\n";
  return absl::OkStatus();
}

absl::Status AuditCommand(const Args& a) {
  if (a.words.size() != 2 || (a.words[1] != "verify" && a.words[1] != "show")) {
    return absl::InvalidArgumentError(
        "audit verify --db PATH --node-key HEX | audit verify --cluster DIR | "
        "audit show --db PATH [--request ID]");
  }
  if (a.words[1] == "verify") {
    kagictl::AuditReport report;
    if (a.Has("cluster")) {
      report = kagictl::VerifyClusterAudit(a.Get("cluster"));
    } else {
      KAGI_ASSIGN_OR_RETURN(std::string db, a.Required("db"));
      KAGI_ASSIGN_OR_RETURN(std::string key_hex, a.Required("node-key"));
      absl::StatusOr<std::array<uint8_t, 32>> key = HexDecodeFixed<32>(key_hex);
      if (!key.ok()) {
        return absl::InvalidArgumentError(
            "--node-key: the node's identity public key, 32 hex bytes");
      }
      report = kagictl::VerifyNodeAudit(db, *key, a.Get("last-hash"));
    }
    for (const std::string& line : report.lines) std::cout << line << "\n";
    return report.status;
  }
  KAGI_ASSIGN_OR_RETURN(std::string db, a.Required("db"));
  if (::access(db.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("--db: cannot read ", db));
  }
  KAGI_ASSIGN_OR_RETURN(auto store, storage::SqliteStore::OpenReadOnly(db));
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::AuditEntry> log,
                        store->ReadAudit());
  KAGI_RETURN_IF_ERROR(storage::VerifyAuditChain(log));
  // Whole records (the decoded request summary, the decision, outcome).
  for (const storage::AuditEntry& e : log) {
    if (a.Has("request") && e.request_id != a.Get("request")) continue;
    std::cout << "#" << e.seq << " " << kagictl::Printable(e.operation) << " "
              << kagictl::Printable(e.request_id) << "\n";
    if (!e.parties.empty()) {
      std::cout << "  request  " << kagictl::Printable(e.parties) << "\n";
    }
    std::cout << "  outcome  " << kagictl::Printable(e.outcome) << "\n";
    if (!e.anchors.empty()) {
      std::cout << "  anchors  " << kagictl::Printable(e.anchors) << "\n";
    }
  }
  return absl::OkStatus();
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

absl::Status Main(const Args& a) {
  if (a.words.empty() || a.words[0] == "help") {
    std::cout << kUsage;
    return absl::OkStatus();
  }
  const std::string& cmd = a.words[0];
  if (cmd == "cluster") {
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
  if (cmd == "pki") return PkiCommand(a);
  if (cmd == "identity") {
    KAGI_ASSIGN_OR_RETURN(std::string out, a.Required("out"));
    OsRng rng;
    crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate(rng);
    KAGI_RETURN_IF_ERROR(transport::WriteIdentityKey(out, key));
    std::cout << HexEncode(key.PublicKey()) << "\n";
    return absl::OkStatus();
  }
  if (cmd == "config" && a.words.size() == 2 && a.words[1] == "node") {
    return NodeConfigCommand(a);
  }
  if (cmd == "config") {
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
  if (cmd == "key") return KeyCommand(a);
  if (cmd == "sign") return SignCommand(a);
  if (cmd == "approve") return ApproveCommand(a);
  if (cmd == "demo-psbt" || cmd == "demo-eth-tx") return DemoCommand(a);
  if (cmd == "request") return RequestCommand(a);
  if (cmd == "audit") return AuditCommand(a);
  if (cmd == "share") return ShareCommand(a);
  if (cmd == "ban") return BanCommand(a);
  if (cmd == "bench") {
    BenchOptions o;
    o.dir = a.Get("dir");
    KAGI_ASSIGN_OR_RETURN(o.signs, a.Int("signs", 400));
    KAGI_ASSIGN_OR_RETURN(o.sequential_signs, a.Int("sequential", 200));
    KAGI_ASSIGN_OR_RETURN(o.concurrency, a.Int("concurrency", 16));
    KAGI_ASSIGN_OR_RETURN(o.dkgs, a.Int("dkgs", 5));
    KAGI_ASSIGN_OR_RETURN(o.base_port, a.Int("base-port", 7300));
    return RunBench(o);
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
