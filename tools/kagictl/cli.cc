#include "tools/kagictl/cli.h"

#include <algorithm>
#include <iostream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/base/rng.h"
#include "libs/base/status_macros.h"
#include "libs/transport/config.h"
#include "libs/transport/pki.h"
#include "libs/transport/tls.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::kagictl {
namespace {

const std::vector<std::string> kBoolFlags = {"dev", "allow-raw-digest",
                                             "print-digest"};

}  // namespace

std::string Args::Get(const std::string& f, const std::string& def) const {
  auto it = flags.find(f);
  return it == flags.end() || it->second.empty() ? def : it->second.back();
}

std::vector<std::string> Args::All(const std::string& f) const {
  auto it = flags.find(f);
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<int> Args::Int(const std::string& f, int def) const {
  if (!Has(f)) return def;
  int v = 0;
  if (!absl::SimpleAtoi(Get(f), &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", f, ": not a number"));
  }
  return v;
}

absl::StatusOr<std::string> Args::Required(const std::string& f) const {
  if (!Has(f) || Get(f).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", f, " is required"));
  }
  return Get(f);
}

absl::StatusOr<std::string> Args::RequiredHex(const std::string& f,
                                              size_t len) const {
  KAGI_ASSIGN_OR_RETURN(std::string hex, Required(f));
  return HexArg(hex, len, absl::StrCat("--", f));
}

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

}  // namespace kagi::kagictl
