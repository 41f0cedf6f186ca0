// File: tools/kagictl/commands.h
//
// The kagictl commands, one family per cmd_*.cc file. main.cc's table maps
// each first word to one of these; a new command adds a line there.
#ifndef KAGI_TOOLS_KAGICTL_COMMANDS_H_
#define KAGI_TOOLS_KAGICTL_COMMANDS_H_

#include "absl/status/status.h"
#include "tools/kagictl/cli.h"

namespace kagi::kagictl {

// cmd_setup.cc: local cluster, PKI, identities, configs, benchmark.
absl::Status ClusterCommand(const Args& a);
absl::Status PkiCommand(const Args& a);
absl::Status IdentityCommand(const Args& a);
absl::Status ConfigCommand(const Args& a);
absl::Status BenchCommand(const Args& a);

// cmd_key.cc: key create, list, show, xpub, refresh, reshare.
absl::Status KeyCommand(const Args& a);

// cmd_sign.cc: sign, approve, request status, demo transactions.
absl::Status SignCommand(const Args& a);
absl::Status ApproveCommand(const Args& a);
absl::Status RequestCommand(const Args& a);
absl::Status DemoCommand(const Args& a);

// cmd_store.cc: on a node's host, against its store: share, ban, audit.
absl::Status ShareCommand(const Args& a);
absl::Status BanCommand(const Args& a);
absl::Status AuditCommand(const Args& a);

}  // namespace kagi::kagictl

#endif  // KAGI_TOOLS_KAGICTL_COMMANDS_H_
