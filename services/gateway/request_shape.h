// File: services/gateway/request_shape.h
//
// What the gateway refuses before calling any node: the shape of each
// Wallet request (every error is InvalidArgument naming the field) and of
// the KeyInfo a node returns. The nodes validate every request themselves;
// these checks give clients early, clear errors. Pure and thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_REQUEST_SHAPE_H_
#define KAGI_SERVICES_GATEWAY_REQUEST_SHAPE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/wallet.pb.h"
#include "libs/chain/bech32.h"

namespace kagi::gateway {

// Sizes and limits of the wire API (proto/kagi/v1/common.proto).
inline constexpr size_t kMaxRequestIdLength = 128;
inline constexpr size_t kKeyIdBytes = 32;
inline constexpr size_t kDigestBytes = 32;
inline constexpr size_t kIdentityKeyBytes = 32;
inline constexpr size_t kChainCodeBytes = 32;
inline constexpr size_t kSignatureBytes = 64;
inline constexpr int kMaxSignItems = 64;
inline constexpr int kMaxApprovals = 32;
inline constexpr size_t kMaxPathDepth = 255;
// The most parties a key may have (the protocol's and the config's limit).
inline constexpr int kMaxParties = 16;

// FieldError is the InvalidArgument "<field>: <what>" of every shape check.
absl::Status FieldError(absl::string_view field, absl::string_view what);

// PathString renders a derivation path as "m/0/1" ("m" when empty).
std::string PathString(absl::Span<const uint32_t> path);

// ShortHex renders `bytes` in hex, cut to 16 digits and "..." for messages.
std::string ShortHex(absl::string_view bytes);

// NodeList renders names as "[a, b, c]".
std::string NodeList(absl::Span<const std::string> names);

// ValidateRequestId accepts 1..128 characters of printable ASCII without
// spaces (0x21..0x7e), the rule the nodes apply. InvalidArgument naming
// `field` and the first bad position otherwise.
absl::Status ValidateRequestId(absl::string_view request_id,
                               absl::string_view field = "request_id");

// ValidateKeyId requires exactly 32 bytes.
absl::Status ValidateKeyId(absl::string_view key_id,
                           absl::string_view field = "key_id");

// ValidatePath requires at most 255 steps, each below 2^31: a threshold key
// has no private key to derive hardened children with.
absl::Status ValidatePath(absl::Span<const uint32_t> path,
                          absl::string_view field);

// ParseNetwork maps DeriveRequest.network to a chain::Network: "" and
// "mainnet" are mainnet, "testnet" and "regtest" as named.
absl::StatusOr<chain::Network> ParseNetwork(absl::string_view name);

// ChooseDkgNodes validates a CreateKeyRequest against the gateway's
// configured node names and returns the nodes that take part, in party order
// (the request's order, or the configured order when the request names
// none). Checks: request_id; every named node configured and named once;
// 2 <= threshold <= number of nodes.
absl::StatusOr<std::vector<std::string>> ChooseDkgNodes(
    const kagi::v1::CreateKeyRequest& request,
    absl::Span<const std::string> configured_nodes);

// ValidateSignRequest checks the shape of a SignRequest: request_id, a
// 32-byte key_id, a payload of a known kind with 1..64 items, each with a
// 32-byte digest and a valid non-hardened path. (Expiry and policy are the
// nodes' to judge.)
absl::Status ValidateSignRequest(const kagi::v1::SignRequest& request);

// ValidateApprovals checks the shape of a request's approvals (each node
// verifies them against its own policy).
absl::Status ValidateApprovals(
    const google::protobuf::RepeatedPtrField<kagi::v1::Approval>& approvals);

// CheckDealers checks a client's dealer choice for `key`: exactly
// key.threshold() party ids of the key, increasing.
absl::Status CheckDealers(
    const google::protobuf::RepeatedField<uint32_t>& dealers,
    const kagi::v1::KeyInfo& key);

// ValidateRefreshRequest checks request_id and key_id.
absl::Status ValidateRefreshRequest(const kagi::v1::RefreshRequest& request);

// ValidateReshareRequest checks request_id, key_id, that new_nodes is
// non-empty, configured and without repeats, and that
// 2 <= new_threshold <= |new_nodes|.
absl::Status ValidateReshareRequest(
    const kagi::v1::ReshareRequest& request,
    absl::Span<const std::string> configured_nodes);

// ValidateKeyInfo checks a KeyInfo a node returned, naming `source` (the node)
// in errors: 32-byte key_id and chain code, a valid compressed public key,
// 1..16 parties with ids 1..n in order, 32-byte distinct identity keys, and
// 1 <= threshold <= n. Errors are Internal: a node answered nonsense.
absl::Status ValidateKeyInfo(const kagi::v1::KeyInfo& key,
                             absl::string_view source);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_REQUEST_SHAPE_H_
