// File: services/gateway/node_errors.cc
//
// Node-error classes; see node_errors.h.
#include "services/gateway/node_errors.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "libs/transport/tls.h"

namespace kagi::gateway {
namespace {

// Where NodeStatus keeps a node's serialized kagi.v1.RpcStatus.
constexpr absl::string_view kNodeDetailsUrl =
    "type.kagi.dev/kagi.gateway.NodeErrorDetails";

}  // namespace

absl::Status NodeStatus(const grpc::Status& status) {
  if (status.ok()) {
    return absl::OkStatus();
  }
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()),
                   status.error_message());
  if (!status.error_details().empty()) {
    out.SetPayload(kNodeDetailsUrl, absl::Cord(status.error_details()));
  }
  return out;
}

std::optional<kagi::v1::ErrorDetails> NodeErrorDetails(
    const absl::Status& status) {
  const absl::optional<absl::Cord> raw = status.GetPayload(kNodeDetailsUrl);
  if (!raw.has_value()) {
    return std::nullopt;
  }
  return transport::GetErrorDetails(
      grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                   std::string(status.message()), std::string(*raw)));
}

absl::Status WithNodeDetails(absl::Status status,
                             const absl::Status& node_error) {
  const absl::optional<absl::Cord> raw = node_error.GetPayload(kNodeDetailsUrl);
  if (raw.has_value()) {
    status.SetPayload(kNodeDetailsUrl, *raw);
  }
  return status;
}

grpc::Status ToClientStatus(const absl::Status& status,
                            absl::string_view gateway_name) {
  const absl::optional<absl::Cord> raw = status.GetPayload(kNodeDetailsUrl);
  if (status.ok() || !raw.has_value() ||
      !NodeErrorDetails(status).has_value()) {
    return transport::ToGrpcStatus(status, gateway_name);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()), std::string(*raw));
}

NodeErrorKind ClassifyNodeError(
    absl::StatusCode code,
    const std::optional<kagi::v1::ErrorDetails>& details) {
  if (details.has_value()) {
    const std::string& abort_class = details->abort_class();
    if (abort_class == "A") {
      return NodeErrorKind::kRetryable;
    }
    if (abort_class == "B" || abort_class == "C" || abort_class == "D" ||
        !details->culprit_nodes().empty() ||
        !details->culprit_parties().empty()) {
      return NodeErrorKind::kBlamed;
    }
  }
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return NodeErrorKind::kRetryable;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
      return NodeErrorKind::kRequestError;
    default:
      return NodeErrorKind::kNodeFault;
  }
}

NodeErrorKind ClassifyNodeError(const absl::Status& status) {
  return ClassifyNodeError(status.code(), NodeErrorDetails(status));
}

NodeErrorKind ClassifySignerError(const absl::Status& status) {
  const NodeErrorKind kind = ClassifyNodeError(status);
  if (kind == NodeErrorKind::kRequestError &&
      status.code() == absl::StatusCode::kNotFound) {
    return NodeErrorKind::kNodeFault;
  }
  return kind;
}

int NodeErrorRank(NodeErrorKind kind) {
  switch (kind) {
    case NodeErrorKind::kBlamed:
      return 3;
    case NodeErrorKind::kRequestError:
      return 2;
    case NodeErrorKind::kNodeFault:
      return 1;
    case NodeErrorKind::kRetryable:
      return 0;
  }
  return 0;
}

bool IsTransportFailure(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded;
}

std::string DescribeNodeError(absl::string_view node,
                              const absl::Status& status) {
  std::string out =
      absl::StrCat(node, ": ", absl::StatusCodeToString(status.code()), ": ",
                   status.message());
  const std::optional<kagi::v1::ErrorDetails> details =
      NodeErrorDetails(status);
  if (details.has_value() && !details->abort_class().empty()) {
    absl::StrAppend(&out, " (abort class ", details->abort_class());
    if (!details->culprit_nodes().empty()) {
      absl::StrAppend(&out, ", culprits ",
                      absl::StrJoin(details->culprit_nodes(), ", "));
    }
    absl::StrAppend(&out, ")");
  }
  return out;
}

}  // namespace kagi::gateway
