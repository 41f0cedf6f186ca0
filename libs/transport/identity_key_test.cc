// File: libs/transport/identity_key_test.cc
//
// Tests for identity_key.h: round trips, interoperability with stock OpenSSL
// PKCS#8, and refusal of loose permissions, garbage and other key types.
#include "libs/transport/identity_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/transport/pki.h"
#include "libs/transport/test_util.h"

namespace kagi::transport {
namespace {

using ::testing::HasSubstr;
using testutil::FileMode;
using testutil::ReadTestFile;
using testutil::TempDir;
using testutil::WriteTestFile;

TEST(IdentityKeyTest, WriteLoadRoundTrip) {
  TempDir dir;
  const std::string path = dir.File("identity.pem");
  OsRng rng;
  const crypto::Ed25519PrivateKey key =
      crypto::Ed25519PrivateKey::Generate(rng);
  ASSERT_TRUE(WriteIdentityKey(path, key).ok());
  EXPECT_EQ(FileMode(path), 0600);
  const std::string text = ReadTestFile(path);
  EXPECT_TRUE(absl::StartsWith(text, "-----BEGIN PRIVATE KEY-----\n")) << text;
  EXPECT_TRUE(absl::EndsWith(text, "-----END PRIVATE KEY-----\n"));

  absl::StatusOr<crypto::Ed25519PrivateKey> loaded = LoadIdentityKey(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->PublicKey(), key.PublicKey());
  EXPECT_EQ(loaded->ExportSeed(), key.ExportSeed());
  const Bytes msg = ToBytes(AsBytes("envelope"));
  const crypto::Ed25519Signature sig = loaded->Sign(msg);
  EXPECT_TRUE(crypto::Ed25519Verify(key.PublicKey(), msg, sig).ok());
  EXPECT_EQ(sig, key.Sign(msg));  // Ed25519 is deterministic.
}

TEST(IdentityKeyTest, FileIsStandardPkcs8) {
  TempDir dir;
  const std::string path = dir.File("identity.pem");
  OsRng rng;
  const crypto::Ed25519PrivateKey key =
      crypto::Ed25519PrivateKey::Generate(rng);
  ASSERT_TRUE(WriteIdentityKey(path, key).ok());
  // Stock OpenSSL reads it back as the same Ed25519 key.
  const std::string text = ReadTestFile(path);
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(pkey, nullptr);
  EXPECT_EQ(EVP_PKEY_get_id(pkey), EVP_PKEY_ED25519);
  crypto::Ed25519PublicKeyBytes pub{};
  size_t len = pub.size();
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len), 1);
  EXPECT_EQ(pub, key.PublicKey());
  EVP_PKEY_free(pkey);
}

TEST(IdentityKeyTest, LoadsKeyMadeByOpenSsl) {
  // As `openssl genpkey -algorithm ed25519` would write it.
  TempDir dir;
  const std::string path = dir.File("genpkey.pem");
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(pkey, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr,
                                     nullptr),
            1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  WriteTestFile(path, std::string(data, static_cast<size_t>(n)), 0600);
  BIO_free(bio);
  crypto::Ed25519PublicKeyBytes pub{};
  size_t len = pub.size();
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len), 1);
  EVP_PKEY_free(pkey);

  absl::StatusOr<crypto::Ed25519PrivateKey> loaded = LoadIdentityKey(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->PublicKey(), pub);
}

TEST(IdentityKeyTest, LooseModeRefused) {
  TempDir dir;
  const std::string path = dir.File("identity.pem");
  OsRng rng;
  ASSERT_TRUE(
      WriteIdentityKey(path, crypto::Ed25519PrivateKey::Generate(rng)).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    absl::StatusOr<crypto::Ed25519PrivateKey> loaded = LoadIdentityKey(path);
    ASSERT_FALSE(loaded.ok()) << std::oct << mode;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(loaded.status().message()), HasSubstr(path));
    char octal[8];
    std::snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(mode));
    EXPECT_THAT(std::string(loaded.status().message()), HasSubstr(octal));
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(LoadIdentityKey(path).ok());
}

TEST(IdentityKeyTest, GarbageRefused) {
  TempDir dir;
  const std::string path = dir.File("identity.pem");
  for (const std::string& junk :
       {std::string(""), std::string("not a key\n"),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n"
                    "-----END PRIVATE KEY-----\n"),
        std::string(32, '\x01')}) {
    WriteTestFile(path, junk, 0600);
    absl::StatusOr<crypto::Ed25519PrivateKey> loaded = LoadIdentityKey(path);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(loaded.status().message()), HasSubstr(path));
  }
  WriteTestFile(path, std::string(kMaxIdentityKeyFileBytes + 1, 'x'), 0600);
  EXPECT_EQ(LoadIdentityKey(path).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(IdentityKeyTest, MissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.File("absent.pem");
  absl::StatusOr<crypto::Ed25519PrivateKey> loaded = LoadIdentityKey(path);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr(path));
}

TEST(IdentityKeyTest, OtherKeyTypeRefused) {
  // A P-256 TLS key from the PKI is a valid PKCS#8 key, but not Ed25519.
  absl::StatusOr<CertAndKey> ca = CreateCa("CA", 1);
  ASSERT_TRUE(ca.ok()) << ca.status();
  TempDir dir;
  const std::string path = dir.File("p256.pem");
  ASSERT_TRUE(
      WriteFileAtomically(path,
                          absl::string_view(reinterpret_cast<const char*>(
                                                ca->key_pem.secret().data()),
                                            ca->key_pem.size()),
                          kPrivateFileMode)
          .ok());
  absl::StatusOr<crypto::Ed25519PrivateKey> loaded = LoadIdentityKey(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("Ed25519"));
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr(path));
}

TEST(IdentityKeyTest, EncryptedKeyRefusedWithoutPrompting) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(pkey, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  char pass[] = "password";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), pass,
                                          static_cast<int>(sizeof(pass) - 1),
                                          nullptr, nullptr),
            1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  const std::string text(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  ASSERT_TRUE(absl::StartsWith(text, "-----BEGIN ENCRYPTED PRIVATE KEY"));

  TempDir dir;
  const std::string path = dir.File("encrypted.pem");
  WriteTestFile(path, text, 0600);
  absl::StatusOr<crypto::Ed25519PrivateKey> loaded = LoadIdentityKey(path);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kagi::transport
