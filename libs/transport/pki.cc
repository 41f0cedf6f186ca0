// File: libs/transport/pki.cc
//
// See pki.h. Certificates are assembled field by field with the X509 API;
// the standard extensions with fixed values (basicConstraints, keyUsage,
// extendedKeyUsage, key identifiers) go through X509V3_EXT_nconf_nid with
// constant strings, while the subjectAltName, whose entries come from the
// caller, is built as GENERAL_NAMES so no caller text is ever parsed as
// extension configuration.
#include "libs/transport/pki.h"

#include <fcntl.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "libs/base/check.h"
#include "libs/base/status_macros.h"
#include "libs/transport/openssl_util.h"

namespace kagi::transport {
namespace {

using internal::EvpPkeyPtr;
using internal::GeneralNamePtr;
using internal::GeneralNamesPtr;
using internal::OpenSslErrors;
using internal::X509ExtensionPtr;
using internal::X509List;
using internal::X509Ptr;

constexpr absl::string_view kOrganization = "Kagi";
// Certificates start five minutes in the past to tolerate clock skew.
constexpr long kBackdateSeconds = 5 * 60;  // NOLINT(runtime/int)
constexpr size_t kSerialBytes = 16;
constexpr size_t kMaxDnsNameLength = 253;

absl::Status CheckValidDays(int valid_days) {
  if (valid_days < kMinValidDays || valid_days > kMaxValidDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("pki: valid_days must be in [", kMinValidDays, ", ",
                     kMaxValidDays, "], got ", valid_days));
  }
  return absl::OkStatus();
}

// CheckDnsName accepts a lower-case host name: dot-separated labels of
// [a-z0-9-], each 1..63 characters, at most 253 in all.
absl::Status CheckDnsName(absl::string_view dns) {
  if (dns.empty() || dns.size() > kMaxDnsNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("pki: DNS name \"", dns, "\" must have 1..",
                     kMaxDnsNameLength, " characters"));
  }
  size_t label = 0;
  for (char c : dns) {
    if (c == '.') {
      if (label == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("pki: DNS name \"", dns, "\" has an empty label"));
      }
      label = 0;
      continue;
    }
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pki: DNS name \"", absl::CHexEscape(dns),
          "\" may contain only lower-case letters, digits, '-' and '.'"));
    }
    if (++label > 63) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pki: DNS name \"", dns, "\" has a label longer than 63"));
    }
  }
  if (label == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("pki: DNS name \"", dns, "\" has an empty label"));
  }
  return absl::OkStatus();
}

absl::StatusOr<EvpPkeyPtr> GenerateP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) {
    return absl::InternalError(
        absl::StrCat("pki: P-256 key generation failed: ", OpenSslErrors()));
  }
  return key;
}

absl::Status SetRandomSerial(X509* cert) {
  uint8_t bytes[kSerialBytes];
  if (RAND_bytes(bytes, static_cast<int>(kSerialBytes)) != 1) {
    return absl::InternalError(
        absl::StrCat("pki: RAND_bytes failed: ", OpenSslErrors()));
  }
  // Positive (top bit clear) and exactly 128 bits long (next bit set).
  bytes[0] = static_cast<uint8_t>((bytes[0] & 0x7f) | 0x40);
  BIGNUM* bn = BN_bin2bn(bytes, static_cast<int>(kSerialBytes), nullptr);
  KAGI_CHECK(bn != nullptr);
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  KAGI_CHECK(serial != nullptr);
  return absl::OkStatus();
}

absl::Status AddNameEntry(X509_NAME* name, const char* field,
                          absl::string_view value) {
  KAGI_CHECK(value.size() <= static_cast<size_t>(INT_MAX));
  if (X509_NAME_add_entry_by_txt(
          name, field, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(value.data()),
          static_cast<int>(value.size()), -1, 0) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("pki: cannot set subject ", field, "=\"",
                     absl::CHexEscape(value), "\": ", OpenSslErrors()));
  }
  return absl::OkStatus();
}

// AddExtension adds one standard extension given in OpenSSL's configuration
// syntax. `value` is always a constant of this file.
absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr) {
    return absl::InternalError(absl::StrCat("pki: cannot build extension ",
                                            OBJ_nid2sn(nid), "=", value, ": ",
                                            OpenSslErrors()));
  }
  if (X509_add_ext(cert, ext.get(), -1) != 1) {
    return absl::InternalError(absl::StrCat(
        "pki: cannot add extension ", OBJ_nid2sn(nid), ": ", OpenSslErrors()));
  }
  return absl::OkStatus();
}

// NewCertificate starts a v3 certificate for `key` with a random serial,
// valid from now - kBackdateSeconds for `valid_days` days.
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key, int valid_days) {
  X509Ptr cert(X509_new());
  KAGI_CHECK(cert != nullptr);
  KAGI_CHECK(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  KAGI_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) ==
          nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), valid_days, 0,
                       nullptr) == nullptr) {
    return absl::InternalError(
        absl::StrCat("pki: cannot set validity period: ", OpenSslErrors()));
  }
  KAGI_CHECK(X509_set_pubkey(cert.get(), key) == 1);
  return cert;
}

absl::StatusOr<CertAndKey> SignAndEncode(X509* cert, EVP_PKEY* signing_key,
                                         EVP_PKEY* subject_key) {
  if (X509_sign(cert, signing_key, EVP_sha256()) <= 0) {
    return absl::InternalError(
        absl::StrCat("pki: signing the certificate failed: ", OpenSslErrors()));
  }
  CertAndKey out;
  KAGI_ASSIGN_OR_RETURN(out.cert_pem, internal::CertificateToPem(cert));
  KAGI_ASSIGN_OR_RETURN(out.key_pem, internal::PrivateKeyToPem(subject_key));
  return out;
}

absl::Status AddDnsName(GENERAL_NAMES* names, absl::string_view dns) {
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  KAGI_CHECK(ia5 != nullptr);
  KAGI_CHECK(ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size())) ==
             1);
  GeneralNamePtr gn(GENERAL_NAME_new());
  KAGI_CHECK(gn != nullptr);
  GENERAL_NAME_set0_value(gn.get(), GEN_DNS, ia5);
  KAGI_CHECK(sk_GENERAL_NAME_push(names, gn.get()) > 0);
  gn.release();  // Now owned by `names`.
  return absl::OkStatus();
}

absl::Status AddIpAddress(GENERAL_NAMES* names, const std::string& ip) {
  ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
  if (octets == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "pki: \"", absl::CHexEscape(ip), "\" is not an IPv4 or IPv6 address"));
  }
  GeneralNamePtr gn(GENERAL_NAME_new());
  KAGI_CHECK(gn != nullptr);
  GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, octets);
  KAGI_CHECK(sk_GENERAL_NAME_push(names, gn.get()) > 0);
  gn.release();
  return absl::OkStatus();
}

// --- File helpers -----------------------------------------------------------

absl::Status ErrnoError(int err, absl::string_view what,
                        const std::string& path) {
  const std::string msg =
      absl::StrCat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// ScopedFd closes a descriptor on every return path.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }
  // Release gives up ownership and returns the descriptor.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Close closes now and reports the error close() returned (0 if none).
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

// OpenForRead opens the regular file `path` and checks its size (and, with
// owner_only, its mode). `size_hint` gets the size fstat reported.
absl::StatusOr<int> OpenForRead(const std::string& path, size_t max_bytes,
                                bool owner_only, size_t* size_hint) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, "cannot open", path);
  }
  ScopedFd guard(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return ErrnoError(errno, "cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file"));
  }
  const unsigned mode = static_cast<unsigned>(st.st_mode) & 07777u;
  if (owner_only && (mode & 077u) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s has mode %04o; a private key file must be 0600 or stricter (no "
        "group or other permissions)",
        path, mode));
  }
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::OutOfRangeError(absl::StrCat(
        path, " is ", st.st_size, " bytes; the limit is ", max_bytes));
  }
  *size_hint = static_cast<size_t>(st.st_size);
  return guard.Release();
}

// ReadInto fills `buf` from `fd` until end of file or `buf` is full and
// returns the number of bytes read.
absl::StatusOr<size_t> ReadInto(int fd, const std::string& path,
                                absl::Span<uint8_t> buf) {
  size_t len = 0;
  while (len < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, "cannot read", path);
    }
    if (n == 0) {
      break;
    }
    len += static_cast<size_t>(n);
  }
  return len;
}

// ReadBounded reads `path`, after OpenForRead's checks, into the buffer that
// `alloc(n)` makes and returns a span of. The buffer is one byte larger than
// the size fstat saw (capped at max_bytes + 1), so a file that is too large
// or grew meanwhile is detected rather than silently truncated. Returns the
// number of bytes read.
template <typename Alloc>
absl::StatusOr<size_t> ReadBounded(const std::string& path, size_t max_bytes,
                                   bool owner_only, Alloc alloc) {
  size_t size_hint = 0;
  KAGI_ASSIGN_OR_RETURN(const int fd,
                        OpenForRead(path, max_bytes, owner_only, &size_hint));
  ScopedFd guard(fd);
  const size_t cap = std::min(size_hint, max_bytes) + 1;
  const absl::Span<uint8_t> buf = alloc(cap);
  KAGI_ASSIGN_OR_RETURN(const size_t len, ReadInto(fd, path, buf));
  if (len == cap) {
    if (cap > max_bytes) {
      return absl::OutOfRangeError(absl::StrCat(
          path, " is larger than the limit of ", max_bytes, " bytes"));
    }
    return absl::UnavailableError(
        absl::StrCat(path, " grew while it was being read"));
  }
  return len;
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNode:
      return "node";
    case Role::kGateway:
      return "gateway";
    case Role::kClient:
      return "client";
  }
  KAGI_CHECK(false);
  return "";
}

std::optional<Role> RoleFromName(absl::string_view name) {
  for (Role role : {Role::kNode, Role::kGateway, Role::kClient}) {
    if (name == RoleName(role)) {
      return role;
    }
  }
  return std::nullopt;
}

absl::Status ValidateEntityName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("pki: name \"", absl::CHexEscape(name), "\" must have 1..",
                     kMaxNameLength, " characters, has ", name.size()));
  }
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pki: name \"", absl::CHexEscape(name),
          "\" may contain only lower-case letters, digits and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CertAndKey> CreateCa(absl::string_view common_name,
                                    int valid_days) {
  if (common_name.empty() || common_name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("pki: CA common name must have 1..", kMaxNameLength,
                     " characters, has ", common_name.size()));
  }
  for (char c : common_name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("pki: CA common name \"", absl::CHexEscape(common_name),
                       "\" contains a control character"));
    }
  }
  KAGI_RETURN_IF_ERROR(CheckValidDays(valid_days));

  KAGI_ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateP256Key());
  KAGI_ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(key.get(), valid_days));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  KAGI_RETURN_IF_ERROR(AddNameEntry(subject, "O", kOrganization));
  KAGI_RETURN_IF_ERROR(AddNameEntry(subject, "CN", common_name));
  KAGI_CHECK(X509_set_issuer_name(cert.get(), subject) == 1);

  X509* c = cert.get();
  KAGI_RETURN_IF_ERROR(
      AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  KAGI_RETURN_IF_ERROR(
      AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
  KAGI_RETURN_IF_ERROR(AddExtension(c, c, NID_subject_key_identifier, "hash"));
  return SignAndEncode(c, key.get(), key.get());
}

absl::StatusOr<CertAndKey> IssueCertificate(
    const CertAndKey& ca, Role role, absl::string_view name,
    const std::vector<std::string>& dns_names,
    const std::vector<std::string>& ip_addresses, int valid_days) {
  KAGI_RETURN_IF_ERROR(ValidateEntityName(name));
  KAGI_RETURN_IF_ERROR(CheckValidDays(valid_days));
  for (const std::string& dns : dns_names) {
    KAGI_RETURN_IF_ERROR(CheckDnsName(dns));
  }

  KAGI_ASSIGN_OR_RETURN(X509List ca_certs, internal::ParseCertificatesPem(
                                               ca.cert_pem, "pki: CA cert"));
  X509* ca_cert = ca_certs.front().get();
  KAGI_ASSIGN_OR_RETURN(EvpPkeyPtr ca_key, internal::ParsePrivateKeyPem(
                                               ca.key_pem, "pki: CA key"));
  if (X509_check_ca(ca_cert) < 1) {
    return absl::InvalidArgumentError(
        "pki: the CA certificate is not a CA (basicConstraints CA:TRUE "
        "missing)");
  }
  if (X509_check_private_key(ca_cert, ca_key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "pki: the CA key does not match the CA certificate");
  }

  KAGI_ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateP256Key());
  KAGI_ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(key.get(), valid_days));
  X509* c = cert.get();
  // Never outlive the issuer.
  if (ASN1_TIME_compare(X509_get0_notAfter(c), X509_get0_notAfter(ca_cert)) >
      0) {
    KAGI_CHECK(X509_set1_notAfter(c, X509_get0_notAfter(ca_cert)) == 1);
  }
  X509_NAME* subject = X509_get_subject_name(c);
  KAGI_RETURN_IF_ERROR(AddNameEntry(subject, "O", kOrganization));
  KAGI_RETURN_IF_ERROR(AddNameEntry(subject, "OU", RoleName(role)));
  KAGI_RETURN_IF_ERROR(AddNameEntry(subject, "CN", name));
  KAGI_CHECK(X509_set_issuer_name(c, X509_get_subject_name(ca_cert)) == 1);

  KAGI_RETURN_IF_ERROR(
      AddExtension(c, ca_cert, NID_basic_constraints, "critical,CA:FALSE"));
  KAGI_RETURN_IF_ERROR(
      AddExtension(c, ca_cert, NID_key_usage, "critical,digitalSignature"));
  KAGI_RETURN_IF_ERROR(AddExtension(
      c, ca_cert, NID_ext_key_usage,
      role == Role::kClient ? "clientAuth" : "serverAuth,clientAuth"));
  KAGI_RETURN_IF_ERROR(
      AddExtension(c, ca_cert, NID_subject_key_identifier, "hash"));
  KAGI_RETURN_IF_ERROR(
      AddExtension(c, ca_cert, NID_authority_key_identifier, "keyid:always"));

  GeneralNamesPtr san(sk_GENERAL_NAME_new_null());
  KAGI_CHECK(san != nullptr);
  std::vector<absl::string_view> seen = {name};
  KAGI_RETURN_IF_ERROR(AddDnsName(san.get(), name));
  for (const std::string& dns : dns_names) {
    if (std::find(seen.begin(), seen.end(), dns) != seen.end()) {
      continue;
    }
    seen.push_back(dns);
    KAGI_RETURN_IF_ERROR(AddDnsName(san.get(), dns));
  }
  for (const std::string& ip : ip_addresses) {
    KAGI_RETURN_IF_ERROR(AddIpAddress(san.get(), ip));
  }
  if (X509_add1_ext_i2d(c, NID_subject_alt_name, san.get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return absl::InternalError(
        absl::StrCat("pki: cannot add subjectAltName: ", OpenSslErrors()));
  }
  return SignAndEncode(c, ca_key.get(), key.get());
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data, mode_t mode) {
  if (path.empty() || path.back() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write \"", path, "\": not a file path"));
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".")
                          : slash == 0               ? std::string("/")
                                                     : path.substr(0, slash);
  std::string tmp = absl::StrCat(path, ".tmp.XXXXXX");
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, "cannot create a temporary file next to", path);
  }
  ScopedFd file(fd);
  // Every failure from here on removes the temporary file.
  auto fail = [&tmp](absl::Status status) {
    ::unlink(tmp.c_str());
    return status;
  };
  if (::fchmod(fd, mode) != 0) {
    return fail(ErrnoError(errno, "cannot set the mode of", tmp));
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(ErrnoError(errno, "cannot write", tmp));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    return fail(ErrnoError(errno, "cannot fsync", tmp));
  }
  if (const int err = file.Close(); err != 0) {
    return fail(ErrnoError(err, "cannot close", tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrnoError(errno, "cannot rename the temporary file to", path));
  }
  // Make the rename itself durable.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return ErrnoError(errno, "cannot open the directory", dir);
  }
  ScopedFd dir_file(dir_fd);
  if (::fsync(dir_fd) != 0) {
    return ErrnoError(errno, "cannot fsync the directory", dir);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes) {
  std::string buf;
  KAGI_ASSIGN_OR_RETURN(
      const size_t len,
      ReadBounded(path, max_bytes, /*owner_only=*/false, [&buf](size_t n) {
        buf.assign(n, '\0');
        return absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()),
                                   buf.size());
      }));
  buf.resize(len);
  return buf;
}

absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path,
                                           size_t max_bytes, bool owner_only) {
  SecretBytes buf;
  KAGI_ASSIGN_OR_RETURN(
      const size_t len,
      ReadBounded(path, max_bytes, owner_only, [&buf](size_t n) {
        buf = SecretBytes(n);
        return buf.mutable_span();
      }));
  // `buf` is wiped when it goes out of scope.
  return SecretBytes(buf.secret().subspan(0, len));
}

}  // namespace kagi::transport
