// File: tools/kagictl/audit_verify.h
//
// `kagictl audit verify`: checks node audit logs (libs/storage/audit.h)
// from their database files, opened read-only, so the check needs no running
// node and changes nothing it checks.
//
//   * one node (--db DB --node-key HEX): the hash chain, and every record's
//     head signature under the node's identity key; names the first bad
//     record. An operator override (audit.override) is reported.
//   * a cluster (--cluster DIR): each node's log as above, then every anchor
//     (a peer's signed head held in a node's session records) against the
//     peer's own log: the peer must have a record at that seq whose hash,
//     recomputed from its content, is that hash. A record missing (the tail
//     cut) or different (rewritten, even by someone holding the node's key)
//     names the node and the first anchored seq it fails. DIR has the layout of
//     `kagictl cluster init` (DIR/node-<i>/node.conf, whose storage_path names
//     the database; the identity keys come from the peers lists of the
//     configs). For a production cluster, copy each node's config and a
//     snapshot of its database (sqlite3 node.db ".backup node-copy.db") into
//     that layout (docs/deploy.md).
#ifndef KAGI_TOOLS_KAGICTL_AUDIT_VERIFY_H_
#define KAGI_TOOLS_KAGICTL_AUDIT_VERIFY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/storage/audit.h"

namespace kagi::kagictl {

// Printable escapes what a record holds for a terminal: bytes outside
// printable ASCII (newlines, ANSI escapes, NUL, UTF-8) and '\\' become
// "\xNN" / "\\\\", so a record (e.g. a refused request's request_id, which
// a compromised gateway chooses) cannot forge report lines or colours.
std::string Printable(absl::string_view text);

// The lines to print (every one Printable) and the verdict (DataLoss naming the
// first problem).
struct AuditReport {
  std::vector<std::string> lines;
  absl::Status status;
};

AuditReport VerifyNodeAudit(const std::string& db,
                            const storage::NodeKey& node_key,
                            const std::string& expected_last_hash);

AuditReport VerifyClusterAudit(const std::string& dir);

}  // namespace kagi::kagictl

#endif  // KAGI_TOOLS_KAGICTL_AUDIT_VERIFY_H_
