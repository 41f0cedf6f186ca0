#include "libs/crypto/evp.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "libs/base/check.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/openssl_ptr.h"

namespace kagi::crypto {
namespace {

// OpenSSL length arguments are `int` in the cipher API; longer inputs are fed
// in chunks of this size.
constexpr size_t kMaxChunk = size_t{1} << 30;

// A non-null address for empty inputs: some OpenSSL entry points treat a null
// pointer as "not supplied" rather than "zero bytes".
const uint8_t kEmpty[1] = {0};

const uint8_t* NonNull(ByteSpan s) { return s.empty() ? kEmpty : s.data(); }

// OpenSSL's OSSL_PARAM constructors take non-const pointers even for inputs
// they only read.
void* ParamData(ByteSpan s) { return const_cast<uint8_t*>(NonNull(s)); }

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  KAGI_CHECK(mac != nullptr);
  return mac;
}

EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  KAGI_CHECK(kdf != nullptr);
  return kdf;
}

// OpenSSL 3.0's HKDF provider keeps `info` in a fixed 1024-byte buffer.
constexpr size_t kHkdfMaxInfoBytes = 1024;

std::string LengthError(const char* what, size_t want, size_t got) {
  return std::string(what) + " must be " + std::to_string(want) +
         " bytes, got " + std::to_string(got);
}

// Feeds `in` to an initialised GCM context in int-sized chunks. `out` is null
// for AAD, otherwise it receives in.size() bytes (GCM is a stream mode).
void CipherUpdate(EVP_CIPHER_CTX* ctx, uint8_t* out, ByteSpan in) {
  size_t done = 0;
  while (done < in.size()) {
    const size_t chunk = std::min(kMaxChunk, in.size() - done);
    int out_len = 0;
    KAGI_CHECK(EVP_CipherUpdate(ctx, out == nullptr ? nullptr : out + done,
                                &out_len, in.data() + done,
                                static_cast<int>(chunk)) == 1);
    KAGI_CHECK(static_cast<size_t>(out_len) == chunk);
    done += chunk;
  }
}

absl::Status CheckAeadKeyAndNonce(const SecretBytes& key, ByteSpan nonce) {
  if (key.size() != kAes256GcmKeyBytes) {
    return absl::InvalidArgumentError(
        LengthError("aead: key", kAes256GcmKeyBytes, key.size()));
  }
  if (nonce.size() != kAes256GcmNonceBytes) {
    return absl::InvalidArgumentError(
        LengthError("aead: nonce", kAes256GcmNonceBytes, nonce.size()));
  }
  return absl::OkStatus();
}

// Creates a GCM context for `encrypt` (1) or decrypt (0) with key and nonce
// installed and `aad` absorbed.
EvpCipherCtxPtr NewGcmContext(int encrypt, const SecretBytes& key,
                              ByteSpan nonce, ByteSpan aad) {
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  KAGI_CHECK(ctx != nullptr);
  KAGI_CHECK(EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                               nullptr, encrypt) == 1);
  KAGI_CHECK(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                                 static_cast<int>(kAes256GcmNonceBytes),
                                 nullptr) == 1);
  KAGI_CHECK(EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.secret().data(),
                               nonce.data(), encrypt) == 1);
  CipherUpdate(ctx.get(), nullptr, aad);
  return ctx;
}

// Ed25519PublicPkey wraps a 32-byte public key in an EVP key.
absl::StatusOr<EvpPkeyPtr> Ed25519PublicPkey(ByteSpan public_key) {
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("ed25519: public key is not valid");
  }
  return pkey;
}

}  // namespace

// --- HMAC-SHA-512 -----------------------------------------------------------

std::array<uint8_t, kHmacSha512Bytes> HmacSha512(ByteSpan key, ByteSpan data) {
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(HmacAlgorithm()));
  KAGI_CHECK(ctx != nullptr);
  char digest[] = "SHA512";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  KAGI_CHECK(EVP_MAC_init(ctx.get(), NonNull(key), key.size(), params) == 1);
  KAGI_CHECK(EVP_MAC_update(ctx.get(), NonNull(data), data.size()) == 1);
  std::array<uint8_t, kHmacSha512Bytes> out{};
  size_t out_len = 0;
  KAGI_CHECK(EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) == 1);
  KAGI_CHECK(out_len == out.size());
  return out;
}

// --- HKDF-SHA-256 -----------------------------------------------------------

absl::StatusOr<SecretBytes> HkdfSha256(const SecretBytes& ikm, ByteSpan salt,
                                       ByteSpan info, size_t out_len) {
  if (out_len == 0 || out_len > kHkdfSha256MaxOutputBytes) {
    return absl::InvalidArgumentError(
        "hkdf: out_len must be in 1.." +
        std::to_string(kHkdfSha256MaxOutputBytes) + ", got " +
        std::to_string(out_len));
  }
  if (ikm.empty()) {
    return absl::InvalidArgumentError("hkdf: ikm must not be empty");
  }
  if (info.size() > kHkdfMaxInfoBytes) {
    return absl::InvalidArgumentError(
        "hkdf: info must be at most " + std::to_string(kHkdfMaxInfoBytes) +
        " bytes, got " + std::to_string(info.size()));
  }
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(HkdfAlgorithm()));
  KAGI_CHECK(ctx != nullptr);
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] =
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, ParamData(ikm.secret()), ikm.size());
  // An absent salt is the RFC default (HashLen zero bytes), which HMAC treats
  // exactly like an empty key, so the empty salt is simply not passed.
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, ParamData(salt), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, ParamData(info), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(out_len);
  KAGI_CHECK(
      EVP_KDF_derive(ctx.get(), out.mutable_data(), out.size(), params) == 1);
  return out;
}

// --- AES-256-GCM ------------------------------------------------------------

absl::StatusOr<Bytes> Aes256GcmSeal(const SecretBytes& key, ByteSpan nonce,
                                    ByteSpan aad, ByteSpan plaintext) {
  absl::Status status = CheckAeadKeyAndNonce(key, nonce);
  if (!status.ok()) {
    return status;
  }
  EvpCipherCtxPtr ctx = NewGcmContext(/*encrypt=*/1, key, nonce, aad);
  Bytes out(plaintext.size() + kAes256GcmTagBytes);
  CipherUpdate(ctx.get(), out.data(), plaintext);
  int final_len = 0;
  KAGI_CHECK(EVP_CipherFinal_ex(ctx.get(), out.data() + plaintext.size(),
                                &final_len) == 1);
  KAGI_CHECK(final_len == 0);
  KAGI_CHECK(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                                 static_cast<int>(kAes256GcmTagBytes),
                                 out.data() + plaintext.size()) == 1);
  return out;
}

absl::StatusOr<SecretBytes> Aes256GcmOpen(const SecretBytes& key,
                                          ByteSpan nonce, ByteSpan aad,
                                          ByteSpan ciphertext_and_tag) {
  absl::Status status = CheckAeadKeyAndNonce(key, nonce);
  if (!status.ok()) {
    return status;
  }
  if (ciphertext_and_tag.size() < kAes256GcmTagBytes) {
    return absl::InvalidArgumentError(
        "aead: ciphertext too short: need at least " +
        std::to_string(kAes256GcmTagBytes) + " bytes for the tag, got " +
        std::to_string(ciphertext_and_tag.size()));
  }
  const size_t ct_len = ciphertext_and_tag.size() - kAes256GcmTagBytes;
  const ByteSpan ciphertext = ciphertext_and_tag.subspan(0, ct_len);
  uint8_t tag[kAes256GcmTagBytes];
  std::copy(ciphertext_and_tag.begin() + static_cast<std::ptrdiff_t>(ct_len),
            ciphertext_and_tag.end(), tag);

  EvpCipherCtxPtr ctx = NewGcmContext(/*encrypt=*/0, key, nonce, aad);
  SecretBytes out(ct_len);
  CipherUpdate(ctx.get(), out.mutable_data(), ciphertext);
  KAGI_CHECK(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG,
                                 static_cast<int>(kAes256GcmTagBytes),
                                 tag) == 1);
  uint8_t final_block[16];
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx.get(), final_block, &final_len) != 1) {
    ERR_clear_error();
    out.Wipe();
    return absl::InvalidArgumentError(
        "aead: authentication failed (ciphertext, tag, aad, nonce or key do "
        "not match)");
  }
  KAGI_CHECK(final_len == 0);
  return out;
}

// --- Ed25519 ----------------------------------------------------------------

Ed25519PrivateKey Ed25519PrivateKey::Generate(Rng& rng) {
  SecretBytes seed(kEd25519SeedBytes);
  rng.Fill(seed.mutable_span());
  absl::StatusOr<Ed25519PrivateKey> key = FromSeed(seed);
  KAGI_CHECK(key.ok());
  return *std::move(key);
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(
    const SecretBytes& seed) {
  if (seed.size() != kEd25519SeedBytes) {
    return absl::InvalidArgumentError(
        LengthError("ed25519: seed", kEd25519SeedBytes, seed.size()));
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, seed.secret().data(), seed.size()));
  KAGI_CHECK(pkey != nullptr);
  Ed25519PublicKeyBytes pub{};
  size_t pub_len = pub.size();
  KAGI_CHECK(EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &pub_len) ==
             1);
  KAGI_CHECK(pub_len == pub.size());
  return Ed25519PrivateKey(pkey.release(), pub);
}

Ed25519PrivateKey::Ed25519PrivateKey(Ed25519PrivateKey&& other) noexcept
    : pkey_(std::exchange(other.pkey_, nullptr)),
      public_key_(other.public_key_) {}

Ed25519PrivateKey& Ed25519PrivateKey::operator=(
    Ed25519PrivateKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(pkey_);
    pkey_ = std::exchange(other.pkey_, nullptr);
    public_key_ = other.public_key_;
  }
  return *this;
}

Ed25519PrivateKey::~Ed25519PrivateKey() { EVP_PKEY_free(pkey_); }

Ed25519Signature Ed25519PrivateKey::Sign(ByteSpan message) const {
  KAGI_CHECK(pkey_ != nullptr);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  KAGI_CHECK(ctx != nullptr);
  KAGI_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_) ==
             1);
  Ed25519Signature sig{};
  size_t sig_len = sig.size();
  KAGI_CHECK(EVP_DigestSign(ctx.get(), sig.data(), &sig_len, NonNull(message),
                            message.size()) == 1);
  KAGI_CHECK(sig_len == sig.size());
  return sig;
}

SecretBytes Ed25519PrivateKey::ExportSeed() const {
  KAGI_CHECK(pkey_ != nullptr);
  SecretBytes seed(kEd25519SeedBytes);
  size_t seed_len = seed.size();
  KAGI_CHECK(
      EVP_PKEY_get_raw_private_key(pkey_, seed.mutable_data(), &seed_len) == 1);
  KAGI_CHECK(seed_len == seed.size());
  return seed;
}

absl::Status Ed25519CheckPublicKey(ByteSpan public_key) {
  if (public_key.size() != kEd25519PublicKeyBytes) {
    return absl::InvalidArgumentError(LengthError(
        "ed25519: public key", kEd25519PublicKeyBytes, public_key.size()));
  }
  return Ed25519PublicPkey(public_key).status();
}

absl::Status Ed25519Verify(ByteSpan public_key, ByteSpan message,
                           ByteSpan signature) {
  if (public_key.size() != kEd25519PublicKeyBytes) {
    return absl::InvalidArgumentError(LengthError(
        "ed25519: public key", kEd25519PublicKeyBytes, public_key.size()));
  }
  if (signature.size() != kEd25519SignatureBytes) {
    return absl::InvalidArgumentError(LengthError(
        "ed25519: signature", kEd25519SignatureBytes, signature.size()));
  }
  KAGI_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, Ed25519PublicPkey(public_key));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  KAGI_CHECK(ctx != nullptr);
  KAGI_CHECK(EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr,
                                  pkey.get()) == 1);
  const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                  NonNull(message), message.size());
  if (rc != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("ed25519: signature verification failed");
  }
  return absl::OkStatus();
}

}  // namespace kagi::crypto
