// File: services/gateway/planning.h
//
// The pure decisions of kagi-gateway, kept apart from gRPC I/O so that they
// can be tested without a network:
//
//   * request validation (what the gateway refuses before calling any node;
//     every error is InvalidArgument naming the field);
//   * signer-set planning: which t-subsets of a key's parties to try, in
//     which order (healthy parties first, rotated for load spreading);
//   * retry classification of a node's error (retry with another signer set,
//     or stop and return it);
//   * agreement checks over the answers of several nodes;
//   * BIP32 public derivation of a KeyInfo and the independent check of the
//     signatures the nodes return.
//
// The gateway is trusted for liveness only (ARCHITECTURE.md), so none of this
// is a security boundary for the nodes: each node validates requests itself.
// The checks here give clients early, clear errors and keep the gateway from
// returning something the nodes did not jointly produce.
//
// All functions are pure and thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_PLANNING_H_
#define KAGI_SERVICES_GATEWAY_PLANNING_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/message.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/node.pb.h"
#include "kagi/v1/wallet.pb.h"
#include "libs/chain/bech32.h"
#include "libs/crypto/bip32.h"
#include "libs/transport/tls.h"

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

// --- request validation -----------------------------------------------------

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

// --- signer-set planning -----------------------------------------------------

// PlanSignerSets returns every `threshold`-subset of `parties` (each subset
// increasing), in the order the gateway tries them:
//   1. by the number of members in `unhealthy`, fewest first (so subsets of
//      healthy parties come first);
//   2. within each such group, in lexicographic order rotated to start at
//      index (rotation mod group size), so that consecutive requests start
//      from different subsets and the load spreads over the parties.
// `parties` must be distinct; they are sorted first. Returns an empty list if
// threshold is 0 or larger than the number of parties. With at most 16
// parties there are at most C(16, 8) = 12870 subsets.
std::vector<std::vector<uint32_t>> PlanSignerSets(
    absl::Span<const uint32_t> parties,
    const absl::flat_hash_set<uint32_t>& unhealthy, uint32_t threshold,
    uint64_t rotation);

// --- node errors
// ---------------------------------------------------------------

// What the gateway makes of one node's failed call.
enum class NodeErrorKind {
  // UNAVAILABLE, DEADLINE_EXCEEDED, or a class-"A" abort (timeout, nobody
  // blamed): try another signer set.
  kRetryable,
  // A protocol abort that blames someone (class "B", "C", "D", or any
  // details naming culprits that are not class "A"): return it unchanged.
  kBlamed,
  // The request itself was refused (INVALID_ARGUMENT, PERMISSION_DENIED,
  // ALREADY_EXISTS, NOT_FOUND, FAILED_PRECONDITION): another signer set would
  // refuse it too; return it unchanged.
  kRequestError,
  // Anything else (INTERNAL, UNKNOWN, UNIMPLEMENTED, RESOURCE_EXHAUSTED,
  // ...): a fault of that node that says nothing about the request. Signing
  // tries another signer set without the node (one broken or compromised
  // member must not refuse for the others); elsewhere it is returned.
  kNodeFault,
};

// ClassifyNodeError classifies a failed call from its code and, if the node
// attached them, its ErrorDetails. `code` must not be OK.
NodeErrorKind ClassifyNodeError(
    grpc::StatusCode code,
    const std::optional<kagi::v1::ErrorDetails>& details);
// The same, reading the details out of `status` (transport::GetErrorDetails).
NodeErrorKind ClassifyNodeError(const grpc::Status& status);
// ClassifySignerError: ClassifyNodeError for a StartSign of a key the
// gateway has just read from the key's committee, where a signer answering
// NOT_FOUND (it does not hold the key: a lost disk, or a lie) is a fault of
// that node, not a refusal of the request.
NodeErrorKind ClassifySignerError(const grpc::Status& status);

// NodeErrorRank orders error kinds by how much they tell the client, for
// picking the one error to return when several nodes failed: kBlamed (3) >
// kRequestError (2) > kNodeFault (1) > kRetryable (0).
int NodeErrorRank(NodeErrorKind kind);

// IsTransportFailure tells whether `code` says the node (or the way to it) is
// down rather than that it refused: UNAVAILABLE or DEADLINE_EXCEEDED. Such
// nodes are not used again within the same request.
bool IsTransportFailure(grpc::StatusCode code);

// DescribeNodeError renders "<node>: <CODE>: <message>" (plus the abort class
// and culprits when the details carry them) for error summaries.
std::string DescribeNodeError(absl::string_view node,
                              const grpc::Status& status);

// --- agreement
// -----------------------------------------------------------------

// NodeAnswer is one node's answer to the same question.
struct NodeAnswer {
  std::string node;
  const google::protobuf::Message* answer = nullptr;  // not owned
};

// CheckAgreement returns OK if every answer equals every other (protobuf
// field equality), else Internal "nodes disagree on <what>: [a, b] vs [c]"
// listing the groups of nodes that gave equal answers, largest first. An
// empty or one-element list agrees.
absl::Status CheckAgreement(absl::Span<const NodeAnswer> answers,
                            absl::string_view what);

// WithoutNodeNames returns `key` with every parties[].node cleared (each
// node names its peers as it knows them) and without the per-node fields
// (certificate, pending epochs, holders, warnings): what nodes must agree on.
kagi::v1::KeyInfo WithoutNodeNames(kagi::v1::KeyInfo key);

// CheckNewCommittee checks that a KeyInfo produced by a DKG, refresh or
// reshare is the key that was asked for: its parties' identity keys are
// `identity_keys` in order and its threshold is `threshold`. Internal naming
// `source` otherwise (the nodes did something other than asked).
absl::Status CheckNewCommittee(const kagi::v1::KeyInfo& key,
                               absl::Span<const std::string> identity_keys,
                               uint32_t threshold, absl::string_view source);

// CheckReshareResult additionally checks that `updated` keeps the key_id,
// public key and chain code of `old` and has epoch old.epoch + 1.
absl::Status CheckReshareResult(const kagi::v1::KeyInfo& old,
                                const kagi::v1::KeyInfo& updated,
                                absl::string_view source);

// MergeKeyLists merges the ListKeys answers of several nodes into one list
// with each key_id once, sorted by key_id. Where nodes report the same key at
// different epochs (a reshare in progress), the highest epoch wins; at equal
// epochs the earliest answer in `answers` wins.
kagi::v1::ListKeysResponse MergeKeyLists(
    absl::Span<const kagi::v1::ListKeysResponse> answers);

// MostAdvancedStatus returns the index of the answer whose state ranks
// highest (RequestStateRank), the earliest on ties; nullopt for an empty list.
std::optional<size_t> MostAdvancedStatus(
    absl::Span<const kagi::v1::RequestStatus> answers);

// RequestStateRank orders RequestStatus.state values by progress:
// "succeeded" (also accepted as "signed") 3 > "in_progress" 2 > "failed" 1 >
// "unknown" 0; any other value ranks -1 (below every known state).
int RequestStateRank(absl::string_view state);

// --- keys and signatures
// ------------------------------------------------------

// KeyInfoRoot returns the depth-0 extended public key of `key` (its public
// key and root chain code) with the xpub version for mainnet and the tpub
// version for testnet and regtest. InvalidArgument if the public key or
// chain code is malformed.
absl::StatusOr<crypto::ExtendedPublicKey> KeyInfoRoot(
    const kagi::v1::KeyInfo& key, chain::Network network);

// DeriveChild derives `parent` along the non-hardened `path` and describes
// the result: the compressed public key, the extended public key (with the
// derived depth, parent fingerprint and child number, as BIP32 serializes
// them), the P2WPKH address on `network`, and the path. InvalidArgument for a
// hardened or too long path, or the (negligible) invalid-child case.
absl::StatusOr<kagi::v1::DerivedKey> DeriveChild(
    const crypto::ExtendedPublicKey& parent, absl::Span<const uint32_t> path,
    chain::Network network);

// DeriveFromKeyInfo = DeriveChild(KeyInfoRoot(key, network), path, network).
absl::StatusOr<kagi::v1::DerivedKey> DeriveFromKeyInfo(
    const kagi::v1::KeyInfo& key, absl::Span<const uint32_t> path,
    chain::Network network);

// VerifySignResponse checks the signatures the signers returned for
// `request` independently of the nodes: one result per item, in order, with
// the item's digest and path; the result's public key equals the BIP32
// derivation of `key` along the path; the 64-byte low-S signature verifies
// (EcdsaVerify) under it; recovery_id is 0..3. Errors are Internal and name
// the item.
absl::Status VerifySignResponse(const kagi::v1::KeyInfo& key,
                                const kagi::v1::SignRequest& request,
                                const kagi::v1::StartSignResponse& response);

// --- callers
// ---------------------------------------------------------------------

// AuthorizeClient decides whether the TLS identity of a Wallet caller may
// call: it must be present (else Unauthenticated, with the reason), have role
// client (else PermissionDenied naming the identity) and, when
// `allowed_clients` is non-empty, be listed there (else PermissionDenied
// naming it).
absl::Status AuthorizeClient(
    const absl::StatusOr<transport::CertIdentity>& identity,
    absl::Span<const std::string> allowed_clients,
    absl::string_view gateway_name);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_PLANNING_H_
