// File: libs/transport/tls.h
//
// gRPC over mutual TLS, peer identities, and the mapping between
// absl::Status and grpc::Status.
//
// Credentials. Every Kagi endpoint holds a certificate issued by the
// deployment's CA (pki.h) and requires one from its peer:
//
//   * `MakeServerCredentials` makes server credentials that demand and verify
//     a client certificate chaining to the CA.
//   * `MakeMtlsChannel` makes a channel that presents the caller's own
//     certificate and accepts the server only if its certificate chains to
//     the CA *and* names `expected_server_name` in its DNS SANs. Every node
//     certificate carries DNS:<node name>, so passing the node name pins the
//     peer: another node's valid certificate is refused.
//
// Both read their files at call time and check them before handing them to
// gRPC (readable, PEM parses, the key matches the certificate, the
// certificate chains to the CA, is currently valid and fit for its TLS
// purpose), so a misconfiguration is reported at startup with the file
// named, rather than as an opaque handshake failure later. Channels are
// cheap to make; making one per call site is fine.
//
// Identity. A peer is (role, name) = (OU, CN) of its certificate:
// `PeerIdentity` reads it from a server call's auth context.
//
// Status mapping. gRPC and absl share the canonical code numbering, so codes
// map one-to-one. The reason, the reporting node and, for protocol aborts
// (base/abort.h), the abort class and culprits travel as one
// kagi.v1.ErrorDetails inside a kagi.v1.RpcStatus (google.rpc.Status wire
// shape) in grpc::Status::error_details(), i.e. the grpc-status-details-bin
// trailer. `FromGrpcStatus` restores the abort payload, so GetAbortInfo works
// on the caller's side too.
#ifndef KAGI_LIBS_TRANSPORT_TLS_H_
#define KAGI_LIBS_TRANSPORT_TLS_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kagi/v1/common.pb.h"
#include "libs/transport/pki.h"

namespace kagi::transport {

// The largest gRPC message either side sends or accepts (8 MiB).
inline constexpr int kMaxMessageBytes = 8 * 1024 * 1024;

// The largest certificate, CA or TLS key file read (1 MiB).
inline constexpr size_t kMaxPemFileBytes = 1024 * 1024;

// TlsFiles names one endpoint's PEM files: its certificate (the leaf first,
// optionally followed by intermediates), its private key, and the CA
// certificate(s) it trusts for its peers.
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
};

// MakeServerCredentials reads and checks `files` and returns server
// credentials with GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
// against the CA file. The certificate must be fit for serverAuth.
// Errors name the file at fault: NotFound / PermissionDenied / OutOfRange
// (reading), InvalidArgument (bad PEM, key/certificate mismatch, chain or
// validity or purpose failure).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// CheckOwnCertificate: the process's own certificate (files.cert_file) must
// name it: role `role` and CN `name`. A certificate meant for another
// process, configured by mistake, is refused at start-up (InvalidArgument
// naming what the certificate says).
absl::Status CheckOwnCertificate(const TlsFiles& files, Role role,
                                 absl::string_view name);

// ConfigureServerBuilder sets kMaxMessageBytes as the server's send and
// receive limit (the channel side is set by MakeMtlsChannel) and keeps a pool
// of idle handler threads (see tls.cc).
void ConfigureServerBuilder(grpc::ServerBuilder& builder);

// MakeMtlsChannel reads and checks `own` (the certificate must be fit for
// clientAuth) and returns a channel to `address` ("host:port") that presents
// it, trusts only `own.ca_file`, and requires the server certificate to name
// `expected_server_name` (SslTargetNameOverride), with kMaxMessageBytes as
// the send and receive limit. Errors as for MakeServerCredentials, plus
// InvalidArgument for an empty address or server name. Connection failures
// show up later, on the RPCs (UNAVAILABLE).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeMtlsChannel(
    const std::string& address, const std::string& expected_server_name,
    const TlsFiles& own);

// CertIdentity is who holds a certificate.
struct CertIdentity {
  Role role = Role::kClient;
  std::string name;

  friend bool operator==(const CertIdentity& a, const CertIdentity& b) {
    return a.role == b.role && a.name == b.name;
  }
  friend bool operator!=(const CertIdentity& a, const CertIdentity& b) {
    return !(a == b);
  }
  // "node/alpha", "client/ops-1", ...
  std::string ToString() const;
};

// IdentityFromPem returns (role, name) of the first certificate in
// `cert_pem`: the subject must have exactly one OU, naming a Role, and
// exactly one CN, a valid entity name (pki.h ValidateEntityName).
// InvalidArgument saying which part is wrong otherwise. It does not verify
// the certificate: use it on certificates TLS has already verified.
absl::StatusOr<CertIdentity> IdentityFromPem(absl::string_view cert_pem);

// PeerIdentity returns the identity of the verified TLS client of a server
// call. Unauthenticated, with the reason, if the call is not over TLS, the
// peer presented no verified certificate, or the certificate has no valid
// Kagi identity. Works for sync and callback servers (grpc::ServerContext
// and grpc::CallbackServerContext).
absl::StatusOr<CertIdentity> PeerIdentity(const grpc::ServerContextBase& ctx);

// PartyNodeName maps a party id of a protocol session to its node name.
using PartyNodeName = std::function<std::string(uint32_t party)>;

// ToGrpcStatus converts `status` for returning from a handler: same code and
// message, plus a kagi.v1.RpcStatus with one kagi.v1.ErrorDetails (reason =
// message, reporting_node, and for aborts abort_class "A".."D",
// culprit_parties and, if `party_node_name` is given, culprit_nodes).
// OK maps to grpc::Status::OK.
grpc::Status ToGrpcStatus(const absl::Status& status,
                          absl::string_view reporting_node,
                          const PartyNodeName& party_node_name = nullptr);

// FromGrpcStatus converts an RPC's result back: same code and message; if
// the code is ABORTED and the details carry a valid abort class, the status
// also carries the abort payload, so GetAbortInfo returns the class and the
// culprit parties. Codes outside the canonical range become kUnknown.
absl::Status FromGrpcStatus(const grpc::Status& status);

// GetErrorDetails returns the kagi.v1.ErrorDetails in `status`'s error
// details, or nullopt if there are none (or they do not parse).
std::optional<kagi::v1::ErrorDetails> GetErrorDetails(
    const grpc::Status& status);

}  // namespace kagi::transport

#endif  // KAGI_LIBS_TRANSPORT_TLS_H_
