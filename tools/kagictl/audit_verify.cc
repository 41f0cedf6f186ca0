#include "tools/kagictl/audit_verify.h"

#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/config.h"
#include "tools/kagictl/cluster.h"

namespace kagi::kagictl {
namespace {

absl::StatusOr<std::vector<storage::AuditEntry>> ReadLog(
    const std::string& db) {
  if (::access(db.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", db));
  }
  KAGI_ASSIGN_OR_RETURN(auto store, storage::SqliteStore::OpenReadOnly(db));
  return store->ReadAudit();
}

// One node of a cluster: its name, key, log and what its own check found.
struct NodeLog {
  std::string name;
  storage::NodeKey key{};
  std::vector<storage::AuditEntry> log;
  absl::Status own;  // VerifySignedAuditLog's verdict
  // The first problem the anchors show: (seq, text).
  std::optional<std::pair<uint64_t, std::string>> anchored;
};

void Note(NodeLog& n, uint64_t seq, std::string text) {
  if (!n.anchored.has_value() || seq < n.anchored->first) {
    n.anchored = {seq, std::move(text)};
  }
}

// CheckAnchors checks every anchor `holder`'s records hold against the
// anchored node's log.
void CheckAnchors(const NodeLog& holder, std::map<std::string, NodeLog>& nodes,
                  size_t* checked) {
  for (const storage::AuditEntry& e : holder.log) {
    if (e.anchors.empty()) continue;
    absl::StatusOr<std::vector<storage::AuditAnchor>> anchors =
        storage::ParseAnchors(e.anchors);
    if (!anchors.ok()) continue;  // the holder's own check names this record
    for (const storage::AuditAnchor& a : *anchors) {
      auto it = nodes.find(a.node);
      if (it == nodes.end()) continue;
      NodeLog& n = it->second;
      ++*checked;
      const std::string where =
          absl::StrCat(holder.name, "'s record seq ", e.seq, " holds ", n.name,
                       "'s signed head at seq ", a.head.seq);
      if (!storage::VerifyAuditHead(n.key, a.head).ok()) {
        Note(n, a.head.seq,
             absl::StrCat(where, ", but its signature does not verify"));
        continue;
      }
      if (a.head.seq == 0 || a.head.seq > n.log.size() ||
          n.log[a.head.seq - 1].seq != a.head.seq) {
        Note(n, a.head.seq,
             absl::StrCat(where, ", but ", n.name, "'s log ends at seq ",
                          n.log.empty() ? 0 : n.log.back().seq,
                          " (records were removed from its end)"));
        continue;
      }
      // The hash recomputed from the record's content: the stored column
      // alone would miss a record edited in place.
      if (storage::AuditEntryHash(n.log[a.head.seq - 1]) != a.head.hash) {
        Note(n, a.head.seq,
             absl::StrCat(where, ", but ", n.name, "'s record seq ", a.head.seq,
                          " differs from it (rewritten)"));
      }
    }
  }
}

// Escaped: every line and the verdict's message.
AuditReport Escaped(AuditReport r) {
  for (std::string& line : r.lines) line = Printable(line);
  if (!r.status.ok()) {
    r.status = absl::Status(r.status.code(), Printable(r.status.message()));
  }
  return r;
}

}  // namespace

std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b == '\\') {
      out += "\\\\";
    } else if (b >= 0x20 && b < 0x7f) {
      out += c;
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(b, absl::kZeroPad2));
    }
  }
  return out;
}

namespace {

AuditReport NodeReport(const std::string& db, const storage::NodeKey& node_key,
                       const std::string& expected_last_hash) {
  AuditReport r;
  absl::StatusOr<std::vector<storage::AuditEntry>> log = ReadLog(db);
  if (!log.ok()) {
    r.status = log.status();
    return r;
  }
  absl::StatusOr<storage::AuditVerdict> v =
      storage::VerifySignedAuditLog(*log, node_key);
  if (!v.ok()) {
    r.status = v.status();
    return r;
  }
  for (const storage::AuditEntry& e : *log) {
    std::string outcome = e.outcome;
    if (outcome.size() > 100) outcome = outcome.substr(0, 97) + "...";
    r.lines.push_back(absl::StrCat("  #", e.seq, " ", e.operation, " ",
                                   e.request_id, " ", outcome));
  }
  const std::string last =
      log->empty() ? std::string(64, '0') : HexEncode(log->back().hash);
  if (!expected_last_hash.empty() && expected_last_hash != last) {
    r.status = absl::DataLossError(absl::StrCat(
        "audit log ends at ", last, ", expected ", expected_last_hash,
        " (records were removed from its end)"));
    return r;
  }
  if (v->override_seq != 0) {
    r.lines.push_back(absl::StrCat(
        "WARNING: records before seq ", v->override_seq,
        " were accepted by an operator override; they do not verify: ",
        v->accepted_error));
  }
  r.lines.push_back(absl::StrCat("audit chain OK: ", log->size(),
                                 " records, every head signed, last hash ",
                                 last));
  return r;
}

}  // namespace

AuditReport VerifyNodeAudit(const std::string& db,
                            const storage::NodeKey& node_key,
                            const std::string& expected_last_hash) {
  return Escaped(NodeReport(db, node_key, expected_last_hash));
}

namespace {

AuditReport ClusterReport(const std::string& dir) {
  AuditReport r;
  const int count = NodeCount(dir);
  if (count == 0) {
    r.status = absl::NotFoundError(
        absl::StrCat(dir,
                     " holds no node-<i>/node.conf (kagictl cluster "
                     "layout)"));
    return r;
  }
  std::map<std::string, NodeLog> nodes;
  std::map<std::string, std::string> dbs;
  std::map<std::string, storage::NodeKey> keys;
  for (int i = 1; i <= count; ++i) {
    absl::StatusOr<v1::NodeConfig> c =
        transport::LoadNodeConfig(NodeConfigPath(dir, i));
    if (!c.ok()) {
      r.status = c.status();
      return r;
    }
    dbs[c->name()] = c->storage_path();
    for (const v1::PeerConfig& p : c->peers()) {
      absl::StatusOr<std::array<uint8_t, 32>> k =
          HexDecodeFixed<32>(p.identity_public_key());
      if (!k.ok()) continue;
      auto [it, inserted] = keys.emplace(p.name(), *k);
      if (!inserted && it->second != *k) {
        r.status = absl::FailedPreconditionError(absl::StrCat(
            "the configs disagree on ", p.name(), "'s identity key"));
        return r;
      }
    }
  }
  for (const auto& [name, db] : dbs) {
    NodeLog n;
    n.name = name;
    auto k = keys.find(name);
    if (k == keys.end()) {
      r.status = absl::FailedPreconditionError(
          absl::StrCat("no config lists ", name, "'s identity key"));
      return r;
    }
    n.key = k->second;
    absl::StatusOr<std::vector<storage::AuditEntry>> log = ReadLog(db);
    if (!log.ok()) {
      r.status = log.status();
      return r;
    }
    n.log = *std::move(log);
    n.own = storage::VerifySignedAuditLog(n.log, n.key).status();
    nodes.emplace(name, std::move(n));
  }
  size_t checked = 0;
  for (const auto& [name, n] : nodes) CheckAnchors(n, nodes, &checked);
  for (const auto& [name, n] : nodes) {
    std::string line = absl::StrCat(name, ": ", n.log.size(), " records");
    if (!n.own.ok()) absl::StrAppend(&line, "; BROKEN: ", n.own.message());
    if (n.anchored.has_value()) {
      absl::StrAppend(&line, "; ANCHOR MISMATCH: ", n.anchored->second);
    }
    if (n.own.ok() && !n.anchored.has_value()) {
      absl::StrAppend(&line,
                      ", every head signed, every anchor held by its "
                      "peers matches");
    }
    r.lines.push_back(line);
    if (r.status.ok() && (!n.own.ok() || n.anchored.has_value())) {
      r.status = absl::DataLossError(
          absl::StrCat("audit log of ", name, " does not verify: ",
                       !n.own.ok() ? n.own.message() : n.anchored->second));
    }
  }
  if (r.status.ok()) {
    r.lines.push_back(absl::StrCat("cluster audit OK: ", nodes.size(),
                                   " nodes, ", checked, " anchors checked"));
  }
  return r;
}

}  // namespace

AuditReport VerifyClusterAudit(const std::string& dir) {
  return Escaped(ClusterReport(dir));
}

}  // namespace kagi::kagictl
