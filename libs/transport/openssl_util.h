// File: libs/transport/openssl_util.h
//
// INTERNAL to libs/transport. The few PEM / X.509 helpers that pki.cc,
// tls.cc and identity_key.cc share (the owning pointers are
// libs/crypto/openssl_ptr.h's):
//
//   * `OpenSslErrors` drains the thread's OpenSSL error queue into one line,
//     so no stale error is left behind for an unrelated later call.
//   * `ParseCertificatesPem` / `ParsePrivateKeyPem` parse PEM text, never
//     prompting for a passphrase (an encrypted key is an error).
//   * `VerifyCertificate` runs X509_verify_cert for a leaf against trusted
//     CA certificates, for a given TLS purpose.
//
// Every helper takes a `what` string ("certificate file /etc/kagi/node.crt")
// that starts each error message, so the caller's errors name their input.
#ifndef KAGI_LIBS_TRANSPORT_OPENSSL_UTIL_H_
#define KAGI_LIBS_TRANSPORT_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/secret.h"
#include "libs/crypto/openssl_ptr.h"

namespace kagi::transport::internal {

using crypto::BioPtr;
using crypto::EvpPkeyPtr;
using crypto::GeneralNamePtr;
using crypto::GeneralNamesPtr;
using crypto::X509ExtensionPtr;
using crypto::X509Ptr;
using crypto::X509StoreCtxPtr;
using crypto::X509StorePtr;
using X509List = std::vector<X509Ptr>;

// OpenSslErrors returns the queued OpenSSL errors as "lib: reason; ..." (or
// "no OpenSSL error detail") and clears the queue.
std::string OpenSslErrors();

// ParseCertificatesPem parses every certificate in `pem` (one or more PEM
// "CERTIFICATE" blocks, in file order). InvalidArgument if there is none or a
// block does not parse.
absl::StatusOr<X509List> ParseCertificatesPem(absl::string_view pem,
                                              absl::string_view what);

// ParsePrivateKeyPem parses one unencrypted private key in PEM form. The PEM
// text stays in `pem` (no copy outside OpenSSL's own wiped buffers).
// InvalidArgument if it does not parse or is encrypted.
absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(const SecretBytes& pem,
                                              absl::string_view what);

// PrivateKeyToPem writes `key` as unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE
// KEY-----") through a secure-heap memory BIO.
absl::StatusOr<SecretBytes> PrivateKeyToPem(EVP_PKEY* key);

// CertificateToPem writes `cert` as a PEM "CERTIFICATE" block.
absl::StatusOr<std::string> CertificateToPem(X509* cert);

// VerifyCertificate checks that `leaf` chains (through `intermediates`, which
// may be empty) to one of `trusted`, is within its validity period, and is
// fit for `purpose` (X509_PURPOSE_SSL_SERVER, X509_PURPOSE_SSL_CLIENT, or 0
// for no purpose check). InvalidArgument with OpenSSL's reason otherwise.
absl::Status VerifyCertificate(X509* leaf, const X509List& intermediates,
                               const X509List& trusted, int purpose,
                               absl::string_view what);

}  // namespace kagi::transport::internal

#endif  // KAGI_LIBS_TRANSPORT_OPENSSL_UTIL_H_
