// File: services/gateway/authorization.cc
//
// Caller authorization; see authorization.h.
#include "services/gateway/authorization.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kagi::gateway {

absl::Status AuthorizeClient(
    const absl::StatusOr<transport::CertIdentity>& identity,
    absl::Span<const std::string> allowed_clients,
    absl::string_view gateway_name) {
  if (!identity.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "kagi.v1.Wallet on ", gateway_name,
        " requires a client certificate: ", identity.status().message()));
  }
  if (identity->role != transport::Role::kClient) {
    return absl::PermissionDeniedError(absl::StrCat(
        identity->ToString(), " may not call kagi.v1.Wallet on ", gateway_name,
        " (only certificates with role client may)"));
  }
  if (!allowed_clients.empty() &&
      std::find(allowed_clients.begin(), allowed_clients.end(),
                identity->name) == allowed_clients.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat(identity->ToString(), " is not among the clients ",
                     gateway_name, " allows (config clients)"));
  }
  return absl::OkStatus();
}

}  // namespace kagi::gateway
