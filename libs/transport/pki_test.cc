// File: libs/transport/pki_test.cc
//
// Tests for pki.h. Certificates are inspected with OpenSSL's own X509 API
// (X509_verify_cert, X509_check_purpose, X509_check_host, ...) rather than
// with helpers of this library, so a wrong extension shows up as a failure.
#include "libs/transport/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/crypto/openssl_ptr.h"
#include "libs/transport/test_util.h"

namespace kagi::transport {
namespace {

using ::testing::HasSubstr;
using testutil::FileMode;
using testutil::ReadTestFile;
using testutil::TempDir;
using testutil::WriteTestFile;

using Cert = crypto::X509Ptr;
using Pkey = crypto::EvpPkeyPtr;

Cert ParseCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Cert cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

Pkey ParseKey(const SecretBytes& pem) {
  BIO* bio = BIO_new_mem_buf(pem.secret().data(), static_cast<int>(pem.size()));
  Pkey key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

std::string KeyText(const SecretBytes& pem) {
  return std::string(reinterpret_cast<const char*>(pem.secret().data()),
                     pem.size());
}

// Verify runs X509_verify_cert for `leaf` against the single trusted `ca`
// and returns the verification error (X509_V_OK on success).
int Verify(X509* leaf, X509* ca, int purpose = 0) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  if (purpose != 0) {
    X509_STORE_CTX_set_purpose(ctx, purpose);
  }
  const int ok = X509_verify_cert(ctx);
  const int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -1 : err);
}

// SubjectField returns the value of the one `nid` entry of the subject ("" if
// absent, "<multiple>" if repeated).
std::string SubjectField(X509* cert, int nid) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) {
    return "";
  }
  if (X509_NAME_get_index_by_NID(name, nid, i) >= 0) {
    return "<multiple>";
  }
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

bool ExtensionIsCritical(X509* cert, int nid) {
  const int i = X509_get_ext_by_NID(cert, nid, -1);
  return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, i)) == 1;
}

bool HasExtension(X509* cert, int nid) {
  return X509_get_ext_by_NID(cert, nid, -1) >= 0;
}

// SanEntries lists the SAN as "DNS:x" / "IP:<n> bytes" strings in order.
std::vector<std::string> SanEntries(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      const ASN1_STRING* s = gn->d.dNSName;
      out.push_back(absl::StrCat(
          "DNS:", absl::string_view(
                      reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)))));
    } else if (gn->type == GEN_IPADD) {
      out.push_back(
          absl::StrCat("IP:", ASN1_STRING_length(gn->d.iPAddress), " bytes"));
    } else {
      out.push_back("other");
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

class PkiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<CertAndKey> ca = CreateCa("Kagi Test CA", 30);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = new CertAndKey(*std::move(ca));
    absl::StatusOr<CertAndKey> other = CreateCa("Other CA", 30);
    ASSERT_TRUE(other.ok()) << other.status();
    other_ca_ = new CertAndKey(*std::move(other));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete other_ca_;
    ca_ = nullptr;
    other_ca_ = nullptr;
  }

  static CertAndKey Issue(Role role, const std::string& name,
                          const std::vector<std::string>& dns = {},
                          const std::vector<std::string>& ips = {}) {
    absl::StatusOr<CertAndKey> leaf =
        IssueCertificate(*ca_, role, name, dns, ips, 10);
    EXPECT_TRUE(leaf.ok()) << leaf.status();
    return leaf.ok() ? *std::move(leaf) : CertAndKey{};
  }

  static CertAndKey* ca_;
  static CertAndKey* other_ca_;
};

CertAndKey* PkiTest::ca_ = nullptr;
CertAndKey* PkiTest::other_ca_ = nullptr;

TEST(RoleTest, NamesRoundTrip) {
  EXPECT_EQ(RoleName(Role::kNode), "node");
  EXPECT_EQ(RoleName(Role::kGateway), "gateway");
  EXPECT_EQ(RoleName(Role::kClient), "client");
  for (Role r : {Role::kNode, Role::kGateway, Role::kClient}) {
    EXPECT_EQ(RoleFromName(RoleName(r)), r);
  }
  EXPECT_EQ(RoleFromName("Node"), std::nullopt);
  EXPECT_EQ(RoleFromName(""), std::nullopt);
  EXPECT_EQ(RoleFromName("admin"), std::nullopt);
}

TEST_F(PkiTest, CaIsSelfSignedCaWithRequiredExtensions) {
  Cert ca = ParseCert(ca_->cert_pem);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(Verify(ca.get(), ca.get()), X509_V_OK);
  EXPECT_EQ(X509_check_issued(ca.get(), ca.get()), X509_V_OK);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(ExtensionIsCritical(ca.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_pathlen(ca.get()), 0);
  EXPECT_TRUE(ExtensionIsCritical(ca.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(ca.get()),
            static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(ca.get()), nullptr);
  EXPECT_EQ(SubjectField(ca.get(), NID_commonName), "Kagi Test CA");
  EXPECT_EQ(SubjectField(ca.get(), NID_organizationName), "Kagi");
  EXPECT_EQ(X509_get_signature_nid(ca.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_get_version(ca.get()), X509_VERSION_3);

  // The CA key is a P-256 key, PKCS#8 PEM, matching the certificate.
  EXPECT_TRUE(
      absl::StartsWith(KeyText(ca_->key_pem), "-----BEGIN PRIVATE KEY-----"));
  Pkey key = ParseKey(ca_->key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_is_a(key.get(), "EC"), 1);
  char group[64] = {0};
  size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_utf8_string_param(key.get(), "group", group,
                                           sizeof(group), &group_len),
            1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_private_key(ca.get(), key.get()), 1);
}

TEST_F(PkiTest, SerialIsRandomPositive128Bit) {
  Cert a = ParseCert(ca_->cert_pem);
  Cert b = ParseCert(other_ca_->cert_pem);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (X509* cert : {a.get(), b.get()}) {
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
    ASSERT_NE(bn, nullptr);
    EXPECT_FALSE(BN_is_negative(bn));
    EXPECT_EQ(BN_num_bits(bn), 127);  // top bit clear, next bit set
    BN_free(bn);
  }
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()),
                             X509_get0_serialNumber(b.get())),
            0);
}

TEST_F(PkiTest, IssuedCertificateVerifiesOnlyAgainstItsCa) {
  CertAndKey leaf = Issue(Role::kNode, "node-1");
  Cert cert = ParseCert(leaf.cert_pem);
  Cert ca = ParseCert(ca_->cert_pem);
  Cert other = ParseCert(other_ca_->cert_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(Verify(cert.get(), ca.get()), X509_V_OK);
  EXPECT_NE(Verify(cert.get(), other.get()), X509_V_OK);

  // A certificate from the other CA does not verify against ours.
  absl::StatusOr<CertAndKey> foreign =
      IssueCertificate(*other_ca_, Role::kNode, "node-1", {}, {}, 10);
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  Cert foreign_cert = ParseCert(foreign->cert_pem);
  EXPECT_NE(Verify(foreign_cert.get(), ca.get()), X509_V_OK);
  EXPECT_EQ(Verify(foreign_cert.get(), other.get()), X509_V_OK);

  // The key matches the certificate and not the CA.
  Pkey key = ParseKey(leaf.key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_NE(X509_check_private_key(ca.get(), key.get()), 1);
  ERR_clear_error();
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
}

TEST_F(PkiTest, ExtensionsPerRole) {
  struct Case {
    Role role;
    uint32_t xku;
    bool server;
  };
  const Case cases[] = {
      {Role::kNode, XKU_SSL_SERVER | XKU_SSL_CLIENT, true},
      {Role::kGateway, XKU_SSL_SERVER | XKU_SSL_CLIENT, true},
      {Role::kClient, XKU_SSL_CLIENT, false},
  };
  Cert ca = ParseCert(ca_->cert_pem);
  for (const Case& c : cases) {
    SCOPED_TRACE(RoleName(c.role));
    CertAndKey leaf = Issue(c.role, "entity-7");
    Cert cert = ParseCert(leaf.cert_pem);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(X509_get_extended_key_usage(cert.get()), c.xku);
    EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
    EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0) == 1,
              c.server);
    EXPECT_EQ(Verify(cert.get(), ca.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    EXPECT_EQ(
        Verify(cert.get(), ca.get(), X509_PURPOSE_SSL_SERVER) == X509_V_OK,
        c.server);
    // Not a CA, and cannot sign certificates.
    EXPECT_EQ(X509_check_ca(cert.get()), 0);
    EXPECT_TRUE(HasExtension(cert.get(), NID_basic_constraints));
    EXPECT_EQ(X509_get_key_usage(cert.get()),
              static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
    EXPECT_TRUE(ExtensionIsCritical(cert.get(), NID_key_usage));
    // Subject.
    EXPECT_EQ(SubjectField(cert.get(), NID_commonName), "entity-7");
    EXPECT_EQ(SubjectField(cert.get(), NID_organizationalUnitName),
              RoleName(c.role));
    EXPECT_EQ(SubjectField(cert.get(), NID_organizationName), "Kagi");
    // Key identifiers: AKI is the CA's SKI.
    const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert.get());
    const ASN1_OCTET_STRING* ca_ski = X509_get0_subject_key_id(ca.get());
    ASSERT_NE(aki, nullptr);
    ASSERT_NE(ca_ski, nullptr);
    EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, ca_ski), 0);
    EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  }
}

TEST_F(PkiTest, SubjectAltNamesCarryNameDnsAndIps) {
  CertAndKey leaf = Issue(Role::kNode, "node-2",
                          {"node-2.kagi.internal", "node-2", "localhost"},
                          {"127.0.0.1", "10.1.2.3", "::1"});
  Cert cert = ParseCert(leaf.cert_pem);
  ASSERT_NE(cert, nullptr);
  // The name comes first and is not repeated.
  EXPECT_THAT(SanEntries(cert.get()),
              ::testing::ElementsAre("DNS:node-2", "DNS:node-2.kagi.internal",
                                     "DNS:localhost", "IP:4 bytes",
                                     "IP:4 bytes", "IP:16 bytes"));
  EXPECT_EQ(X509_check_host(cert.get(), "node-2", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "node-2.kagi.internal", 0, 0, nullptr),
            1);
  EXPECT_NE(X509_check_host(cert.get(), "node-3", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.1.2.3", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_ip_asc(cert.get(), "10.1.2.4", 0), 1);
}

TEST_F(PkiTest, BadNamesRefused) {
  const std::string too_long(65, 'a');
  for (const std::string& bad :
       {std::string(""), std::string("Node-1"), std::string("node_1"),
        std::string("node.1"), std::string("node 1"), std::string("nöde"),
        too_long}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<CertAndKey> leaf =
        IssueCertificate(*ca_, Role::kNode, bad, {}, {}, 10);
    ASSERT_FALSE(leaf.ok());
    EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(leaf.status().message()), HasSubstr("name"));
  }
  EXPECT_THAT(
      std::string(IssueCertificate(*ca_, Role::kNode, "node_1", {}, {}, 10)
                      .status()
                      .message()),
      HasSubstr("node_1"));
  // 64 characters of the allowed set are fine.
  EXPECT_TRUE(
      IssueCertificate(*ca_, Role::kClient, std::string(64, 'z'), {}, {}, 10)
          .ok());
  EXPECT_TRUE(ValidateEntityName("a-0-z").ok());
}

TEST_F(PkiTest, BadSanEntriesAndDaysRefused) {
  auto issue = [](const std::vector<std::string>& dns,
                  const std::vector<std::string>& ips, int days) {
    return IssueCertificate(*ca_, Role::kNode, "node-1", dns, ips, days)
        .status();
  };
  absl::Status s = issue({}, {"300.1.1.1"}, 10);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("300.1.1.1"));
  s = issue({}, {"node-1"}, 10);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = issue({"Upper.example"}, {}, 10);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("Upper.example"));
  EXPECT_EQ(issue({"a..b"}, {}, 10).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issue({"*.example"}, {}, 10).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issue({}, {}, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issue({}, {}, kMaxValidDays + 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateCa("", 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateCa("ca\nx", 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateCa("ca", -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PkiTest, IssuerMustBeACaWithItsKey) {
  // Mismatched CA key.
  CertAndKey mixed{ca_->cert_pem, other_ca_->key_pem.Clone()};
  absl::Status s =
      IssueCertificate(mixed, Role::kNode, "node-1", {}, {}, 10).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("does not match"));
  // A leaf cannot issue.
  CertAndKey leaf = Issue(Role::kNode, "node-1");
  s = IssueCertificate(leaf, Role::kNode, "node-9", {}, {}, 10).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a CA"));
  // Garbage.
  CertAndKey junk{"not pem", SecretBytes(AsBytes("junk"))};
  EXPECT_EQ(
      IssueCertificate(junk, Role::kNode, "node-1", {}, {}, 10).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(PkiTest, LeafNeverOutlivesItsCa) {
  absl::StatusOr<CertAndKey> short_ca = CreateCa("Short CA", 2);
  ASSERT_TRUE(short_ca.ok()) << short_ca.status();
  absl::StatusOr<CertAndKey> leaf =
      IssueCertificate(*short_ca, Role::kNode, "node-1", {}, {}, 365);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  Cert ca = ParseCert(short_ca->cert_pem);
  Cert cert = ParseCert(leaf->cert_pem);
  EXPECT_LE(ASN1_TIME_compare(X509_get0_notAfter(cert.get()),
                              X509_get0_notAfter(ca.get())),
            0);
  // And it starts a little in the past (clock skew) but not in the future.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);
}

TEST(FileTest, WriteAtomicallySetsModeAndReplaces) {
  TempDir dir;
  const std::string path = dir.File("key.pem");
  ASSERT_TRUE(WriteFileAtomically(path, "first", kPrivateFileMode).ok());
  EXPECT_EQ(ReadTestFile(path), "first");
  EXPECT_EQ(FileMode(path), 0600);
  ASSERT_TRUE(WriteFileAtomically(path, "second", kPublicFileMode).ok());
  EXPECT_EQ(ReadTestFile(path), "second");
  EXPECT_EQ(FileMode(path), 0644);
  // No temporary file is left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);

  const absl::Status s =
      WriteFileAtomically(dir.File("missing/x.pem"), "x", kPublicFileMode);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("missing/x.pem"));
}

TEST(FileTest, ReadFileToStringErrorsNameThePath) {
  TempDir dir;
  const std::string path = dir.File("cert.pem");
  WriteTestFile(path, "hello", 0644);
  absl::StatusOr<std::string> ok = ReadFileToString(path, 5);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "hello");

  absl::StatusOr<std::string> big = ReadFileToString(path, 4);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(big.status().message()), HasSubstr(path));

  const std::string missing = dir.File("nope.pem");
  absl::StatusOr<std::string> gone = ReadFileToString(missing, 100);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(gone.status().message()), HasSubstr(missing));

  absl::StatusOr<std::string> isdir = ReadFileToString(dir.path(), 100);
  EXPECT_EQ(isdir.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(isdir.status().message()), HasSubstr(dir.path()));

  WriteTestFile(dir.File("empty"), "", 0644);
  absl::StatusOr<std::string> empty = ReadFileToString(dir.File("empty"), 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST(FileTest, ReadSecretFileChecksMode) {
  TempDir dir;
  const std::string path = dir.File("secret");
  WriteTestFile(path, "s3cret", 0644);
  absl::StatusOr<SecretBytes> loose = ReadSecretFile(path, 100, true);
  EXPECT_EQ(loose.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(loose.status().message()), HasSubstr("0644"));
  EXPECT_THAT(std::string(loose.status().message()), HasSubstr(path));
  // Without owner_only the mode is not checked.
  absl::StatusOr<SecretBytes> any = ReadSecretFile(path, 100, false);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(*any, SecretBytes(AsBytes("s3cret")));
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  absl::StatusOr<SecretBytes> strict = ReadSecretFile(path, 100, true);
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_EQ(*strict, SecretBytes(AsBytes("s3cret")));
}

}  // namespace
}  // namespace kagi::transport
