// File: services/gateway/node_errors.h
//
// A node's error inside the gateway, and what the gateway makes of it.
//
// Carrying: the gateway's business code speaks absl::Status. A node's error
// arrives as a grpc::Status whose error details (kagi.v1.ErrorDetails in a
// kagi.v1.RpcStatus: the reporting node, abort class, culprits) must reach
// the client byte for byte. NodeStatus keeps those bytes as a payload of the
// absl::Status; ToClientStatus, the one conversion back (WalletService),
// returns them unchanged, and gives every other error the gateway's own
// details (transport::ToGrpcStatus).
//
// Classes: retry with another signer set, stop and forward the error, or
// leave that node out. Pure and thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_NODE_ERRORS_H_
#define KAGI_SERVICES_GATEWAY_NODE_ERRORS_H_

#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kagi/v1/common.pb.h"

namespace kagi::gateway {

// NodeStatus is the absl::Status of a node's RPC result: same code and
// message, and the node's error details (if any) kept unchanged.
absl::Status NodeStatus(const grpc::Status& status);

// NodeErrorDetails returns the kagi.v1.ErrorDetails a node attached to
// `status` (NodeStatus), or nullopt.
std::optional<kagi::v1::ErrorDetails> NodeErrorDetails(
    const absl::Status& status);

// WithNodeDetails returns `status` carrying the error details `node_error`
// carries (none if it carries none): the node's word with the gateway's
// message.
absl::Status WithNodeDetails(absl::Status status,
                             const absl::Status& node_error);

// ToClientStatus converts a Wallet operation's result for the client: an
// error carrying a node's details is returned with exactly those details;
// any other error is the gateway's own, reported by `gateway_name`.
grpc::Status ToClientStatus(const absl::Status& status,
                            absl::string_view gateway_name);

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
    absl::StatusCode code,
    const std::optional<kagi::v1::ErrorDetails>& details);
// The same, reading the details out of `status` (NodeErrorDetails).
NodeErrorKind ClassifyNodeError(const absl::Status& status);
// ClassifySignerError: ClassifyNodeError for a StartSign of a key the
// gateway has just read from the key's committee, where a signer answering
// NOT_FOUND (it does not hold the key: a lost disk, or a lie) is a fault of
// that node, not a refusal of the request.
NodeErrorKind ClassifySignerError(const absl::Status& status);

// NodeErrorRank orders error kinds by how much they tell the client, for
// picking the one error to return when several nodes failed: kBlamed (3) >
// kRequestError (2) > kNodeFault (1) > kRetryable (0).
int NodeErrorRank(NodeErrorKind kind);

// IsTransportFailure tells whether `code` says the node (or the way to it) is
// down rather than that it refused: UNAVAILABLE or DEADLINE_EXCEEDED. Such
// nodes are not used again within the same request.
bool IsTransportFailure(absl::StatusCode code);

// DescribeNodeError renders "<node>: <CODE>: <message>" (plus the abort class
// and culprits when the details carry them) for error summaries.
std::string DescribeNodeError(absl::string_view node,
                              const absl::Status& status);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_NODE_ERRORS_H_
