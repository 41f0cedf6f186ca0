// File: libs/transport/openssl_util.h
//
// INTERNAL to libs/transport. Owning pointers for the OpenSSL 3.0 objects the
// PKI and TLS code handles, and the few PEM / X.509 helpers that pki.cc,
// tls.cc and identity_key.cc share:
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

namespace kagi::transport::internal {

struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct X509StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct X509StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct X509ExtensionFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
struct GeneralNameFree {
  void operator()(GENERAL_NAME* p) const { GENERAL_NAME_free(p); }
};

using BioPtr = std::unique_ptr<BIO, BioFree>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreFree>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, X509StoreCtxFree>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, X509ExtensionFree>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, GeneralNameFree>;
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
