// File: libs/transport/openssl_util.cc
//
// See openssl_util.h.
#include "libs/transport/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/base/check.h"

namespace kagi::transport::internal {
namespace {

// NoPassphrase is the PEM passphrase callback: it refuses to supply one, so
// an encrypted key fails to decode instead of prompting on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

// ReadOnlyBio wraps `data` (not copied) in a read-only memory BIO.
BioPtr ReadOnlyBio(const void* data, size_t size) {
  KAGI_CHECK(size <= static_cast<size_t>(INT_MAX));
  // BIO_new_mem_buf refuses a null pointer, which an empty buffer may have.
  static const char kEmpty[1] = {0};
  BioPtr bio(
      BIO_new_mem_buf(size == 0 ? kEmpty : data, static_cast<int>(size)));
  KAGI_CHECK(bio != nullptr);
  return bio;
}

}  // namespace

std::string OpenSslErrors() {
  std::string out;
  unsigned long code;  // NOLINT(runtime/int): OpenSSL's type.
  while ((code = ERR_get_error()) != 0) {
    const char* lib = ERR_lib_error_string(code);
    const char* reason = ERR_reason_error_string(code);
    if (!out.empty()) {
      out += "; ";
    }
    absl::StrAppend(&out, lib != nullptr ? lib : "OpenSSL", ": ");
    if (reason != nullptr) {
      out += reason;
    } else {
      absl::StrAppend(&out, "error ", code);
    }
  }
  if (out.empty()) {
    out = "no OpenSSL error detail";
  }
  return out;
}

absl::StatusOr<X509List> ParseCertificatesPem(absl::string_view pem,
                                              absl::string_view what) {
  ERR_clear_error();
  if (pem.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": PEM input too large"));
  }
  BioPtr bio = ReadOnlyBio(pem.data(), pem.size());
  X509List certs;
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr);
    if (cert == nullptr) {
      break;
    }
    certs.emplace_back(cert);
  }
  // Running out of input leaves PEM_R_NO_START_LINE; anything else means a
  // certificate block was present but did not parse.
  const unsigned long last = ERR_peek_last_error();  // NOLINT(runtime/int)
  const bool clean_end =
      last == 0 || (ERR_GET_LIB(last) == ERR_LIB_PEM &&
                    ERR_GET_REASON(last) == PEM_R_NO_START_LINE);
  if (!clean_end) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": malformed PEM certificate (after ", certs.size(),
                     " good ones): ", OpenSslErrors()));
  }
  ERR_clear_error();
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": no PEM certificate (\"-----BEGIN CERTIFICATE",
                     "-----\") found"));
  }
  return certs;
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(const SecretBytes& pem,
                                              absl::string_view what) {
  ERR_clear_error();
  if (pem.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": PEM input too large"));
  }
  BioPtr bio = ReadOnlyBio(pem.secret().data(), pem.size());
  EvpPkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": not an unencrypted PEM private key: ", OpenSslErrors()));
  }
  return key;
}

absl::StatusOr<SecretBytes> PrivateKeyToPem(EVP_PKEY* key) {
  ERR_clear_error();
  // A secure-heap memory BIO clears its buffer when it grows or is freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  KAGI_CHECK(bio != nullptr);
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return absl::InternalError(absl::StrCat(
        "pki: cannot encode private key as PEM: ", OpenSslErrors()));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  KAGI_CHECK(len > 0 && data != nullptr);
  return SecretBytes(ByteSpan(reinterpret_cast<const uint8_t*>(data),
                              static_cast<size_t>(len)));
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  ERR_clear_error();
  BioPtr bio(BIO_new(BIO_s_mem()));
  KAGI_CHECK(bio != nullptr);
  if (PEM_write_bio_X509(bio.get(), cert) != 1) {
    return absl::InternalError(absl::StrCat(
        "pki: cannot encode certificate as PEM: ", OpenSslErrors()));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  KAGI_CHECK(len > 0 && data != nullptr);
  return std::string(data, static_cast<size_t>(len));
}

absl::Status VerifyCertificate(X509* leaf, const X509List& intermediates,
                               const X509List& trusted, int purpose,
                               absl::string_view what) {
  ERR_clear_error();
  X509StorePtr store(X509_STORE_new());
  KAGI_CHECK(store != nullptr);
  for (const X509Ptr& ca : trusted) {
    // X509_STORE_add_cert takes its own reference.
    KAGI_CHECK(X509_STORE_add_cert(store.get(), ca.get()) == 1);
  }
  // The stack only borrows the intermediates (sk_X509_free, not pop_free).
  STACK_OF(X509)* chain = sk_X509_new_null();
  KAGI_CHECK(chain != nullptr);
  for (const X509Ptr& cert : intermediates) {
    KAGI_CHECK(sk_X509_push(chain, cert.get()) > 0);
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  KAGI_CHECK(ctx != nullptr);
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain) != 1) {
    sk_X509_free(chain);
    return absl::InternalError(absl::StrCat(
        what, ": cannot set up certificate verification: ", OpenSslErrors()));
  }
  if (purpose != 0) {
    KAGI_CHECK(X509_STORE_CTX_set_purpose(ctx.get(), purpose) == 1);
  }
  const int ok = X509_verify_cert(ctx.get());
  const int err = X509_STORE_CTX_get_error(ctx.get());
  const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  ctx.reset();
  sk_X509_free(chain);
  if (ok != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": certificate verification failed at chain depth ",
                     depth, ": ", X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

}  // namespace kagi::transport::internal
