#include "libs/policy/networks.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/base/status_macros.h"

namespace kagi::policy {
namespace {

constexpr absl::string_view kRawDigestName = "raw_digest";

// A PSBT does not encode its network and a bitcoin sighash is the same on
// every network, so the request's `network` label is all that would tell two
// bound bitcoin networks apart: a key bound to mainnet and regtest would sign
// a mainnet spend under the regtest rule. One bitcoin network per key makes
// the binding, not the label, decide (docs/policy.md).
absl::Status AtMostOneBitcoinNetwork(const std::vector<std::string>& sorted,
                                     absl::string_view field) {
  std::vector<std::string> bitcoin;
  for (const std::string& name : sorted) {
    if (absl::StartsWith(name, "bitcoin:")) bitcoin.push_back(name);
  }
  if (bitcoin.size() <= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": a key may be bound to at most one bitcoin network, got ",
      absl::StrJoin(bitcoin, " and "),
      " (a PSBT does not say its network and its sighash is the same on "
      "every network, so only the request's label would pick the rule; "
      "create one key per bitcoin network)"));
}

}  // namespace

bool IsValidNetwork(absl::string_view chain, absl::string_view network) {
  if (chain == "bitcoin") {
    return network == "mainnet" || network == "testnet" || network == "regtest";
  }
  if (chain == "ethereum") {
    return !network.empty() && network.size() <= 19 && network[0] != '0' &&
           std::all_of(network.begin(), network.end(), [](char c) {
             return absl::ascii_isdigit(static_cast<unsigned char>(c));
           });
  }
  return false;
}

std::string BoundNetworkName(absl::string_view chain,
                             absl::string_view network) {
  if (chain == kRawDigestName) return std::string(kRawDigestName);
  return absl::StrCat(chain, ":", network);
}

absl::StatusOr<std::vector<std::string>> ParseNetworkBinding(
    const google::protobuf::RepeatedPtrField<std::string>& names,
    absl::string_view field) {
  if (static_cast<size_t>(names.size()) > kMaxBoundNetworks) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": at most ", kMaxBoundNetworks, " networks, got ",
                     names.size()));
  }
  std::vector<std::string> out;
  for (int i = 0; i < names.size(); ++i) {
    const std::string& name = names.Get(i);
    const std::vector<absl::string_view> parts =
        absl::StrSplit(name, absl::MaxSplits(':', 1));
    const bool ok = name == kRawDigestName ||
                    (parts.size() == 2 && IsValidNetwork(parts[0], parts[1]));
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "]: '", name.substr(0, 64),
          "': must be bitcoin:mainnet, bitcoin:testnet, bitcoin:regtest, "
          "ethereum:<decimal chain id> or raw_digest"));
    }
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  KAGI_RETURN_IF_ERROR(AtMostOneBitcoinNetwork(out, field));
  return out;
}

absl::Status CheckNetworkBinding(absl::string_view key_id,
                                 const std::vector<std::string>& bound,
                                 absl::string_view requested) {
  if (bound.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", key_id,
        " is bound to no network (its share was made before keys were bound "
        "to networks) and signs nothing, so it refuses ",
        requested,
        ": bind it with an admin-approved refresh that names its networks "
        "(kagictl key refresh ",
        key_id, " --networks ...; docs/rotation.md)"));
  }
  if (std::binary_search(bound.begin(), bound.end(), requested)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("key ", key_id, " is bound to ", BindingText(bound),
                   " and refuses a request for ", requested));
}

std::string BindingText(const std::vector<std::string>& bound) {
  return absl::StrCat("[", absl::StrJoin(bound, ","), "]");
}

}  // namespace kagi::policy
