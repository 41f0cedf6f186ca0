// File: libs/policy/networks.h
//
// The networks a key may sign for: its network binding (docs/policy.md,
// "Keys bound to networks"). Key creation names them, the admin quorum
// approves them (they are in the admin digest), each node keeps them inside
// its sealed share (protocol::KeyShare::networks) and refuses every request
// for another network, whatever its policy says. A binding is a set of
// names, kept sorted and without duplicates:
//
//   "bitcoin:mainnet", "bitcoin:testnet", "bitcoin:regtest"
//   "ethereum:<chain id>"   decimal, no leading zero, 1..19 digits
//   "raw_digest"            the key may sign raw digests (which can be any
//                           network's sighash)
//
// A share made before bindings existed has none and signs nothing until an
// admin-approved refresh names its networks (docs/rotation.md).
#ifndef KAGI_LIBS_POLICY_NETWORKS_H_
#define KAGI_LIBS_POLICY_NETWORKS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace kagi::policy {

// The most networks one key may be bound to.
inline constexpr size_t kMaxBoundNetworks = 16;

// IsValidNetwork reports whether `network` names a network of `chain`
// ("bitcoin": mainnet, testnet, regtest; "ethereum": a decimal chain id).
// Policy rules' `networks` and key bindings both use it.
bool IsValidNetwork(absl::string_view chain, absl::string_view network);

// BoundNetworkName is the binding name a request for (`chain`, `network`)
// needs: "raw_digest" for raw digests, else "<chain>:<network>".
std::string BoundNetworkName(absl::string_view chain,
                             absl::string_view network);

// ParseNetworkBinding checks every name of `names` and returns them sorted
// and without duplicates. InvalidArgument naming `field` and the index of a
// bad name, when there are more than kMaxBoundNetworks, or when it names more
// than one bitcoin network (a PSBT does not say its network, so the request's
// label would pick the rule; several ethereum chain ids are fine, the chain id
// is in the signed transaction). An empty list is
// returned as is (callers decide whether that is allowed).
absl::StatusOr<std::vector<std::string>> ParseNetworkBinding(
    const google::protobuf::RepeatedPtrField<std::string>& names,
    absl::string_view field);

// CheckNetworkBinding allows a request for `requested` (a BoundNetworkName)
// under key `key_id` (lower-case hex) bound to `bound`. FailedPrecondition
// when `bound` is empty (a share made before bindings: it signs nothing and
// the error says how to bind it); PermissionDenied naming the key, the
// requested network and the bound ones otherwise.
absl::Status CheckNetworkBinding(absl::string_view key_id,
                                 const std::vector<std::string>& bound,
                                 absl::string_view requested);

// BindingText is "[a,b]" for messages and summaries.
std::string BindingText(const std::vector<std::string>& bound);

}  // namespace kagi::policy

#endif  // KAGI_LIBS_POLICY_NETWORKS_H_
