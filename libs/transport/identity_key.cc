// File: libs/transport/identity_key.cc
//
// See identity_key.h.
#include "libs/transport/identity_key.h"

#include <openssl/evp.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/base/check.h"
#include "libs/base/secret.h"
#include "libs/base/status_macros.h"
#include "libs/transport/openssl_util.h"
#include "libs/transport/pki.h"

namespace kagi::transport {
namespace {

// Prefix prepends "identity key: " to an error, keeping its code.
absl::Status Prefix(const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("identity key: ", status.message()));
}

}  // namespace

absl::Status WriteIdentityKey(const std::string& path,
                              const crypto::Ed25519PrivateKey& key) {
  const SecretBytes seed = key.ExportSeed();
  internal::EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, seed.secret().data(), seed.size()));
  if (pkey == nullptr) {
    return absl::InternalError(
        absl::StrCat("identity key: cannot import the Ed25519 seed: ",
                     internal::OpenSslErrors()));
  }
  KAGI_ASSIGN_OR_RETURN(const SecretBytes pem,
                        internal::PrivateKeyToPem(pkey.get()));
  const ByteSpan text = pem.secret();
  const absl::Status written = WriteFileAtomically(
      path,
      absl::string_view(reinterpret_cast<const char*>(text.data()),
                        text.size()),
      kPrivateFileMode);
  if (!written.ok()) {
    return Prefix(written);
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::Ed25519PrivateKey> LoadIdentityKey(
    const std::string& path) {
  absl::StatusOr<SecretBytes> pem =
      ReadSecretFile(path, kMaxIdentityKeyFileBytes, /*owner_only=*/true);
  if (!pem.ok()) {
    return Prefix(pem.status());
  }
  const std::string what = absl::StrCat("identity key file ", path);
  KAGI_ASSIGN_OR_RETURN(internal::EvpPkeyPtr pkey,
                        internal::ParsePrivateKeyPem(*pem, what));
  if (EVP_PKEY_is_a(pkey.get(), "ED25519") != 1) {
    const char* type = EVP_PKEY_get0_type_name(pkey.get());
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": holds ",
        type != nullptr ? absl::StrCat("a ", type, " key") : "another key",
        ", not an Ed25519 key"));
  }
  SecretBytes seed(crypto::kEd25519SeedBytes);
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), seed.mutable_data(), &len) !=
          1 ||
      len != crypto::kEd25519SeedBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what,
        ": cannot extract the Ed25519 seed: ", internal::OpenSslErrors()));
  }
  absl::StatusOr<crypto::Ed25519PrivateKey> key =
      crypto::Ed25519PrivateKey::FromSeed(seed);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", key.status().message()));
  }
  return std::move(*key);
}

}  // namespace kagi::transport
