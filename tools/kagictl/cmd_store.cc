// kagictl share, ban and audit: on a node's host, against its store.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/evp.h"
#include "libs/storage/audit.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/identity_key.h"
#include "tools/kagictl/audit_verify.h"
#include "tools/kagictl/commands.h"

namespace kagi::kagictl {
namespace {

// A node's store opened by its operator, signing what it appends with the
// node's identity key like the node's own records (the log stays
// verifiable).
struct NodeStore {
  std::unique_ptr<crypto::Ed25519PrivateKey> identity;
  std::unique_ptr<storage::SqliteStore> store;
};

absl::StatusOr<NodeStore> OpenNodeStore(const std::string& db,
                                        const std::string& identity_file) {
  if (::access(db.c_str(), R_OK | W_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("--db: cannot open ", db));
  }
  NodeStore out;
  KAGI_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey identity,
                        transport::LoadIdentityKey(identity_file));
  out.identity =
      std::make_unique<crypto::Ed25519PrivateKey>(std::move(identity));
  KAGI_ASSIGN_OR_RETURN(out.store, storage::SqliteStore::Open(db));
  out.store->SetAuditKey(out.identity.get());
  return out;
}

// AuditVerify: audit verify --db PATH --node-key HEX | --cluster DIR.
absl::Status AuditVerify(const Args& a) {
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

// AuditShow: audit show --db PATH [--request ID], whole records.
absl::Status AuditShow(const Args& a) {
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

}  // namespace

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
  KAGI_ASSIGN_OR_RETURN(std::string key, a.RequiredHex("key", 32));
  const std::string key_hex = a.Get("key");
  uint64_t epoch = 0;
  if (!absl::SimpleAtoi(a.Get("epoch"), &epoch)) {
    return absl::InvalidArgumentError("--epoch: a number is required");
  }
  KAGI_ASSIGN_OR_RETURN(NodeStore node, OpenNodeStore(db, identity_file));
  storage::SqliteStore* store = node.store.get();
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
  KAGI_ASSIGN_OR_RETURN(std::string party, a.RequiredHex("party", 32));
  const std::string party_hex = a.Get("party");
  KAGI_ASSIGN_OR_RETURN(std::string reason, a.Required("reason"));
  KAGI_ASSIGN_OR_RETURN(NodeStore node, OpenNodeStore(db, identity_file));
  KAGI_ASSIGN_OR_RETURN(
      bool lifted, node.store->LiftBan(AsBytes(party), "operator: " + reason));
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
  return a.words[1] == "verify" ? AuditVerify(a) : AuditShow(a);
}

}  // namespace kagi::kagictl
