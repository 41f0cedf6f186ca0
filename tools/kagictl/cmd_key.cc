// kagictl key ...: create, list, show, xpub, refresh, reshare (through the
// gateway; the admin changes show their digest and carry their approvals).
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/bip32.h"
#include "tools/kagictl/commands.h"
#include "tools/kagictl/requests.h"

namespace kagi::kagictl {
namespace {

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

// AdminFlags fills what refresh and reshare requests share: request id,
// expiry, dealers and networks.
template <typename Request>
absl::Status AdminFlags(const Args& a, const std::string& key_id,
                        const std::string& id_prefix, Request& req) {
  req.set_key_id(key_id);
  req.set_request_id(a.Get("request-id", NewRequestId(id_prefix)));
  KAGI_ASSIGN_OR_RETURN(uint64_t expiry, Expiry(a));
  req.set_expiry_unix_seconds(expiry);
  KAGI_RETURN_IF_ERROR(AddDealers(a, req.mutable_dealers()));
  for (const std::string& n : SplitList(a.Get("networks"))) {
    req.add_networks(n);
  }
  return absl::OkStatus();
}

// ChangeBuilder is CreateKeyChange, RefreshChange or ReshareChange bound to
// the key and node list they need.
template <typename Request>
using ChangeBuilder =
    std::function<absl::StatusOr<policy::AdminChange>(Request*)>;

// SendAdminChange shows the change the request makes and its digest, adds
// the approvals and sends it with `call` (unless --print-digest).
template <typename Request, typename Call>
absl::Status SendAdminChange(const Args& a, Request& req,
                             const ChangeBuilder<Request>& build, Call call) {
  KAGI_ASSIGN_OR_RETURN(policy::AdminChange change, build(&req));
  KAGI_ASSIGN_OR_RETURN(bool send,
                        ApproveAdmin(a, change, req.mutable_approvals()));
  if (!send) return absl::OkStatus();
  v1::KeyInfo key;
  KAGI_RETURN_IF_ERROR(Rpc(call(Ctx(absl::Seconds(120)).get(), req, &key)));
  PrintKey(key);
  return absl::OkStatus();
}

absl::Status Create(const Args& a, v1::Wallet::Stub& wallet) {
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
  KAGI_ASSIGN_OR_RETURN(v1::ListNodesResponse nodes, ListNodes(wallet));
  return SendAdminChange<v1::CreateKeyRequest>(
      a, req,
      [&](v1::CreateKeyRequest* r) { return CreateKeyChange(r, nodes); },
      [&](grpc::ClientContext* ctx, const v1::CreateKeyRequest& r,
          v1::KeyInfo* key) { return wallet.CreateKey(ctx, r, key); });
}

absl::Status List(v1::Wallet::Stub& wallet) {
  v1::ListKeysResponse resp;
  KAGI_RETURN_IF_ERROR(Rpc(wallet.ListKeys(Ctx(absl::Seconds(30)).get(),
                                           v1::ListKeysRequest(), &resp)));
  for (const v1::KeyInfo& k : resp.keys()) {
    std::cout << Hex(k.key_id()) << "  " << k.threshold() << "-of-"
              << k.parties_size() << "  epoch " << k.epoch() << "  " << k.xpub()
              << "\n";
  }
  if (resp.keys_size() == 0) std::cout << "(no keys)\n";
  return absl::OkStatus();
}

absl::Status Xpub(const Args& a, v1::Wallet::Stub& wallet,
                  const std::string& key_id) {
  v1::DeriveRequest req;
  req.set_key_id(key_id);
  KAGI_ASSIGN_OR_RETURN(std::vector<uint32_t> path,
                        crypto::ParsePath(a.Get("path", "m")));
  for (uint32_t i : path) req.add_path(i);
  req.set_network(a.Get("network", "mainnet"));
  v1::DerivedKey d;
  KAGI_RETURN_IF_ERROR(
      Rpc(wallet.DerivePublicKey(Ctx(absl::Seconds(30)).get(), req, &d)));
  std::cout << "path       " << a.Get("path", "m") << "\n"
            << "public key " << Hex(d.public_key()) << "\n"
            << "xpub       " << d.xpub() << "\n"
            << "address    " << d.p2wpkh_address() << " (P2WPKH, "
            << req.network() << ")\n";
  return absl::OkStatus();
}

absl::Status Refresh(const Args& a, v1::Wallet::Stub& wallet,
                     const std::string& key_id) {
  v1::RefreshRequest req;
  KAGI_RETURN_IF_ERROR(AdminFlags(a, key_id, "refresh", req));
  KAGI_ASSIGN_OR_RETURN(v1::KeyInfo current, GetKey(wallet, key_id));
  KAGI_ASSIGN_OR_RETURN(v1::ListNodesResponse nodes, ListNodes(wallet));
  return SendAdminChange<v1::RefreshRequest>(
      a, req,
      [&](v1::RefreshRequest* r) { return RefreshChange(r, current, nodes); },
      [&](grpc::ClientContext* ctx, const v1::RefreshRequest& r,
          v1::KeyInfo* key) { return wallet.Refresh(ctx, r, key); });
}

absl::Status Reshare(const Args& a, v1::Wallet::Stub& wallet,
                     const std::string& key_id) {
  v1::ReshareRequest req;
  KAGI_ASSIGN_OR_RETURN(int t, a.Int("threshold", 2));
  req.set_new_threshold(static_cast<uint32_t>(t));
  for (const std::string& n : SplitList(a.Get("nodes"))) req.add_new_nodes(n);
  KAGI_RETURN_IF_ERROR(AdminFlags(a, key_id, "reshare", req));
  KAGI_ASSIGN_OR_RETURN(v1::KeyInfo current, GetKey(wallet, key_id));
  KAGI_ASSIGN_OR_RETURN(v1::ListNodesResponse nodes, ListNodes(wallet));
  return SendAdminChange<v1::ReshareRequest>(
      a, req,
      [&](v1::ReshareRequest* r) { return ReshareChange(r, current, nodes); },
      [&](grpc::ClientContext* ctx, const v1::ReshareRequest& r,
          v1::KeyInfo* key) { return wallet.Reshare(ctx, r, key); });
}

}  // namespace

absl::Status KeyCommand(const Args& a) {
  if (a.words.size() < 2) return absl::InvalidArgumentError("key: subcommand");
  const std::string& sub = a.words[1];
  KAGI_ASSIGN_OR_RETURN(auto wallet, Wallet(a));
  if (sub == "create") return Create(a, *wallet);
  if (sub == "list") return List(*wallet);
  if (a.words.size() < 3) return absl::InvalidArgumentError("key: KEY_ID");
  KAGI_ASSIGN_OR_RETURN(std::string key_id, HexArg(a.words[2], 32, "KEY_ID"));
  if (sub == "show") {
    KAGI_ASSIGN_OR_RETURN(v1::KeyInfo key, GetKey(*wallet, key_id));
    PrintKey(key);
    return absl::OkStatus();
  }
  if (sub == "xpub") return Xpub(a, *wallet, key_id);
  if (sub == "refresh") return Refresh(a, *wallet, key_id);
  if (sub == "reshare") return Reshare(a, *wallet, key_id);
  return absl::InvalidArgumentError(absl::StrCat("key: unknown '", sub, "'"));
}

}  // namespace kagi::kagictl
