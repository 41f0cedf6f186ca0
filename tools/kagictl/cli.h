// File: tools/kagictl/cli.h
//
// What every kagictl command shares: the parsed command line (Args, with the
// one reader of each flag shape: required, number, hex of a fixed length),
// the gateway connection and its RPC status, and the request pieces several
// commands build (expiry, approvals, node list, key).
//
// Commands live in cmd_*.cc, one file per family, and are listed in
// commands.h; main.cc dispatches by the first word.
#ifndef KAGI_TOOLS_KAGICTL_CLI_H_
#define KAGI_TOOLS_KAGICTL_CLI_H_

#include <grpcpp/client_context.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/wallet.grpc.pb.h"
#include "libs/base/bytes.h"
#include "libs/policy/request_digest.h"

namespace kagi::kagictl {

// Args: positional words and --flags (each may repeat).
struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::vector<std::string>> flags;

  bool Has(const std::string& f) const { return flags.count(f) != 0; }
  std::string Get(const std::string& f, const std::string& def = "") const;
  std::vector<std::string> All(const std::string& f) const;
  // Int: --f as a number, `def` when absent.
  absl::StatusOr<int> Int(const std::string& f, int def) const;
  // Required: --f, refused when absent or empty.
  absl::StatusOr<std::string> Required(const std::string& f) const;
  // RequiredHex: --f, required, `len` bytes of hex; returns the bytes.
  absl::StatusOr<std::string> RequiredHex(const std::string& f,
                                          size_t len) const;
};

// Parse reads argv; flags named in the parser's boolean list take no value.
Args Parse(int argc, char** argv);

// Hex of a byte string.
std::string Hex(const std::string& s);
// HexArg decodes `len` bytes of hex, else InvalidArgument naming `what`.
absl::StatusOr<std::string> HexArg(const std::string& hex, size_t len,
                                   const std::string& what);
// NewRequestId: "<prefix>-<16 random hex>".
std::string NewRequestId(const std::string& prefix);
// SplitList: "a,b" -> {"a", "b"}; "" -> {}.
std::vector<std::string> SplitList(const std::string& s);
// Expiry: --expiry UNIX, or five minutes from now.
absl::StatusOr<uint64_t> Expiry(const Args& a);

// Rpc converts a gateway status, naming the node that reported it.
absl::Status Rpc(const grpc::Status& st);
// Ctx: a client context with `timeout` from now.
std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout);
// Wallet connects to the gateway of --cluster D or --client-config FILE.
absl::StatusOr<std::unique_ptr<v1::Wallet::Stub>> Wallet(const Args& a);
absl::StatusOr<v1::ListNodesResponse> ListNodes(v1::Wallet::Stub& wallet);
absl::StatusOr<v1::KeyInfo> GetKey(v1::Wallet::Stub& wallet,
                                   const std::string& key_id);
void PrintKey(const v1::KeyInfo& k);

// AddApprovals collects the approvals of --approve, --approval, --approvals.
absl::Status AddApprovals(
    const Args& a, const std::array<uint8_t, 32>& digest,
    google::protobuf::RepeatedPtrField<v1::Approval>* out);

}  // namespace kagi::kagictl

#endif  // KAGI_TOOLS_KAGICTL_CLI_H_
