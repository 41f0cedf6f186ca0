// File: libs/transport/pki.h
//
// The X.509 PKI behind Kagi's mutual TLS (OpenSSL 3.0 EVP and X509 APIs):
// one private CA per deployment, and one leaf certificate per node, gateway
// and client, all with ECDSA P-256 keys and SHA-256 signatures.
//
//   * `CreateCa` makes a self-signed CA certificate (CN=<common name>,
//     O=Kagi) that may sign leaves but no further CAs (pathlen 0).
//   * `IssueCertificate` signs a leaf: subject CN=<name>, OU=<role>, O=Kagi;
//     SAN DNS:<name> plus any extra DNS names and IP addresses. The role
//     fixes the extended key usage: nodes and gateways serve and call
//     (serverAuth + clientAuth), clients only call (clientAuth).
//
// A peer's identity is (OU, CN) of its certificate: see tls.h
// (`IdentityFromPem`, `PeerIdentity`). Because every node's certificate
// carries DNS:<node name>, a caller pins the node it means to reach by
// naming it as the expected TLS server name.
//
// Private keys leave this file only as unencrypted PKCS#8 PEM inside
// SecretBytes (wiped, never printed). Keys and serial numbers come from
// OpenSSL's own DRBG (RAND_bytes), seeded by the OS.
//
// The file helpers at the end write atomically (temporary file, fsync,
// rename) and read with size limits; every error names the path.
#ifndef KAGI_LIBS_TRANSPORT_PKI_H_
#define KAGI_LIBS_TRANSPORT_PKI_H_

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/secret.h"

namespace kagi::transport {

// Role is what a certificate's holder is, carried as the subject's OU.
enum class Role { kNode, kGateway, kClient };

// RoleName returns "node", "gateway" or "client".
absl::string_view RoleName(Role role);

// RoleFromName parses the result of RoleName (exact, lower case).
std::optional<Role> RoleFromName(absl::string_view name);

// CertAndKey is a PEM certificate and its PEM (PKCS#8) private key.
struct CertAndKey {
  std::string cert_pem;
  SecretBytes key_pem;
};

// Bounds on validity periods accepted by CreateCa and IssueCertificate.
inline constexpr int kMinValidDays = 1;
inline constexpr int kMaxValidDays = 36500;

// Longest entity name (the X.509 upper bound for a common name).
inline constexpr size_t kMaxNameLength = 64;

// ValidateEntityName checks a node/gateway/client name: 1..64 characters of
// [a-z0-9-]. InvalidArgument naming the name and the fault otherwise.
absl::Status ValidateEntityName(absl::string_view name);

// CreateCa makes a fresh P-256 key and a self-signed CA certificate for it:
// subject and issuer CN=<common_name>, O=Kagi; basicConstraints critical
// CA:TRUE, pathlen:0; keyUsage critical keyCertSign, cRLSign;
// subjectKeyIdentifier; a random positive 128-bit serial; valid from five
// minutes ago (clock skew) for `valid_days` days.
//
// InvalidArgument if `common_name` is empty, longer than 64 characters or
// has control characters, or `valid_days` is outside
// [kMinValidDays, kMaxValidDays].
absl::StatusOr<CertAndKey> CreateCa(absl::string_view common_name,
                                    int valid_days);

// IssueCertificate makes a fresh P-256 key and a certificate for it signed by
// `ca`: subject CN=<name>, OU=<RoleName(role)>, O=Kagi; basicConstraints
// critical CA:FALSE; keyUsage critical digitalSignature; extendedKeyUsage
// serverAuth+clientAuth (node, gateway) or clientAuth (client); SAN
// DNS:<name>, then each of `dns_names`, then each of `ip_addresses` (IPv4 or
// IPv6 text); subject and authority key identifiers.
//
// InvalidArgument naming the culprit if `name` fails ValidateEntityName, a
// DNS name is not a plain host name, an IP address does not parse,
// `valid_days` is out of range, or `ca` is not a CA certificate with its
// matching key.
absl::StatusOr<CertAndKey> IssueCertificate(
    const CertAndKey& ca, Role role, absl::string_view name,
    const std::vector<std::string>& dns_names,
    const std::vector<std::string>& ip_addresses, int valid_days);

// --- Files ------------------------------------------------------------------

// Modes for WriteFileAtomically: certificates are public, keys are not.
inline constexpr mode_t kPublicFileMode = 0644;
inline constexpr mode_t kPrivateFileMode = 0600;

// WriteFileAtomically replaces `path` with `data`: it writes a temporary file
// in the same directory with permissions `mode` (not subject to the umask),
// fsyncs it, renames it over `path` and fsyncs the directory. A reader sees
// the old or the new contents, never a mix. Errors name the path.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data, mode_t mode);

// ReadFileToString returns the contents of the regular file `path`.
// Errors, each naming the path: NotFound (missing), PermissionDenied (cannot
// open), InvalidArgument (not a regular file), OutOfRange (larger than
// `max_bytes`), Internal (read error).
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes);

// ReadSecretFile is ReadFileToString for secrets: the contents go straight
// into SecretBytes (the read buffer is wiped). With `owner_only`, a file with
// any group or other permission bit is refused with FailedPrecondition
// naming the path and its mode.
absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path,
                                           size_t max_bytes, bool owner_only);

}  // namespace kagi::transport

#endif  // KAGI_LIBS_TRANSPORT_PKI_H_
