// File: services/gateway/authorization.h
//
// Who may call the Wallet API. Pure and thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_AUTHORIZATION_H_
#define KAGI_SERVICES_GATEWAY_AUTHORIZATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/transport/tls.h"

namespace kagi::gateway {

// call: it must be present (else Unauthenticated, with the reason), have role
// client (else PermissionDenied naming the identity) and, when
// `allowed_clients` is non-empty, be listed there (else PermissionDenied
// naming it).
absl::Status AuthorizeClient(
    const absl::StatusOr<transport::CertIdentity>& identity,
    absl::Span<const std::string> allowed_clients,
    absl::string_view gateway_name);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_AUTHORIZATION_H_
