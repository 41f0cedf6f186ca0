// File: libs/transport/identity_key.h
//
// A node's long-term Ed25519 identity key on disk. The identity key signs
// protocol envelopes (see crypto/evp.h); it is separate from the node's TLS
// key, which only authenticates the connection.
//
// Format: one unencrypted PKCS#8 PEM block ("-----BEGIN PRIVATE KEY-----"),
// as `openssl genpkey -algorithm ed25519` writes it, so operators may also
// create the key with stock OpenSSL. The file must have no group or other
// permission bits (0600 or stricter); a looser file is refused rather than
// trusted. The seed and the PEM text live only in SecretBytes and OpenSSL's
// own cleared buffers.
#ifndef KAGI_LIBS_TRANSPORT_IDENTITY_KEY_H_
#define KAGI_LIBS_TRANSPORT_IDENTITY_KEY_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/crypto/evp.h"

namespace kagi::transport {

// The largest identity key file LoadIdentityKey reads (an Ed25519 PKCS#8 PEM
// is 119 bytes; comments and line ending variants fit easily).
inline constexpr size_t kMaxIdentityKeyFileBytes = 16 * 1024;

// WriteIdentityKey writes `key` to `path` as PKCS#8 PEM, atomically, with
// mode 0600. Errors name the path.
absl::Status WriteIdentityKey(const std::string& path,
                              const crypto::Ed25519PrivateKey& key);

// LoadIdentityKey reads the key WriteIdentityKey wrote. Errors, each naming
// the path:
//   * NotFound: the file does not exist;
//   * PermissionDenied: it cannot be opened;
//   * FailedPrecondition: it has group or other permissions (the message
//     gives the mode);
//   * InvalidArgument: not a regular file, not an unencrypted PEM private
//     key, or a key of another type than Ed25519;
//   * OutOfRange: larger than kMaxIdentityKeyFileBytes.
absl::StatusOr<crypto::Ed25519PrivateKey> LoadIdentityKey(
    const std::string& path);

}  // namespace kagi::transport

#endif  // KAGI_LIBS_TRANSPORT_IDENTITY_KEY_H_
