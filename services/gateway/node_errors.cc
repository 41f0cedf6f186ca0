// File: services/gateway/node_errors.cc
//
// Node-error classes; see node_errors.h.
#include "services/gateway/node_errors.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "libs/transport/tls.h"

namespace kagi::gateway {

NodeErrorKind ClassifyNodeError(
    grpc::StatusCode code,
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
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return NodeErrorKind::kRetryable;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return NodeErrorKind::kRequestError;
    default:
      return NodeErrorKind::kNodeFault;
  }
}

NodeErrorKind ClassifyNodeError(const grpc::Status& status) {
  return ClassifyNodeError(status.error_code(),
                           transport::GetErrorDetails(status));
}

NodeErrorKind ClassifySignerError(const grpc::Status& status) {
  const NodeErrorKind kind = ClassifyNodeError(status);
  if (kind == NodeErrorKind::kRequestError &&
      status.error_code() == grpc::StatusCode::NOT_FOUND) {
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

bool IsTransportFailure(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

std::string DescribeNodeError(absl::string_view node,
                              const grpc::Status& status) {
  std::string out =
      absl::StrCat(node, ": ",
                   absl::StatusCodeToString(
                       static_cast<absl::StatusCode>(status.error_code())),
                   ": ", status.error_message());
  const std::optional<kagi::v1::ErrorDetails> details =
      transport::GetErrorDetails(status);
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
