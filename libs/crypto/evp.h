// File: libs/crypto/evp.h
//
// Thin, misuse-resistant wrappers over the OpenSSL 3.0 EVP primitives that
// Kagi uses outside the threshold protocol itself:
//
//   * `HmacSha512`          HMAC-SHA-512 (RFC 2104/4231), for BIP32 CKDpub.
//   * `HkdfSha256`          HKDF-SHA-256 extract-and-expand (RFC 5869), for
//                           deriving transport and storage keys.
//   * `Aes256GcmSeal/Open`  AES-256-GCM AEAD (NIST SP 800-38D) with a 96-bit
//                           nonce and a 128-bit tag appended to the
//                           ciphertext, for sealing stored shares.
//   * `Ed25519PrivateKey` / `Ed25519Verify`
//                           Ed25519 signatures (RFC 8032, pure variant), for
//                           party identity keys that sign protocol envelopes.
//
// Conventions. Inputs that come from outside (ciphertexts, signatures, public
// keys, lengths chosen by a peer) are checked and produce an
// `absl::InvalidArgumentError` whose message starts with the component
// ("aead: ...", "ed25519: ...", "hkdf: ...") and names the field at fault;
// they never abort. A failure inside OpenSSL on valid arguments (allocation,
// a missing provider) is not recoverable and aborts through KAGI_CHECK.
//
// Secrets. Symmetric keys, HKDF input keying material, decrypted plaintexts
// and Ed25519 seeds travel as `SecretBytes`, which wipes itself and never
// prints. OpenSSL keeps its own copy of an Ed25519 private key inside an
// EVP_PKEY and clears it when the key is freed.
//
// Thread safety: all free functions are thread-safe. `Ed25519PrivateKey` is
// immutable after construction; its const methods may be called concurrently.
#ifndef KAGI_LIBS_CRYPTO_EVP_H_
#define KAGI_LIBS_CRYPTO_EVP_H_

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"

namespace kagi::crypto {

// --- HMAC-SHA-512 -----------------------------------------------------------

// kHmacSha512Bytes is the length of an HMAC-SHA-512 tag.
inline constexpr size_t kHmacSha512Bytes = 64;

// HmacSha512 returns HMAC-SHA-512(key, data). Any key length is allowed (keys
// longer than the 128-byte block are hashed first, as RFC 2104 says).
//
// Secrecy: the result is as secret as `key` and `data`. BIP32 uses it with a
// public chain code and public key, so it returns a plain array; a caller that
// feeds secret input must wipe the result (SecureWipe) when done.
std::array<uint8_t, kHmacSha512Bytes> HmacSha512(ByteSpan key, ByteSpan data);

// --- HKDF-SHA-256 -----------------------------------------------------------

// kHkdfSha256MaxOutputBytes is the largest output RFC 5869 allows for
// SHA-256: 255 blocks of 32 bytes.
inline constexpr size_t kHkdfSha256MaxOutputBytes = 255 * 32;

// HkdfSha256 runs HKDF-Extract(salt, ikm) then HKDF-Expand(prk, info,
// out_len) with SHA-256 and returns the `out_len`-byte output key material.
// An empty salt means the RFC's default (32 zero bytes).
//
// Returns InvalidArgument if out_len is 0 or above kHkdfSha256MaxOutputBytes.
// The output is secret and owned by the caller.
absl::StatusOr<SecretBytes> HkdfSha256(const SecretBytes& ikm, ByteSpan salt,
                                       ByteSpan info, size_t out_len);

// --- AES-256-GCM ------------------------------------------------------------

// Sizes for AES-256-GCM: 32-byte key, 12-byte nonce, 16-byte tag.
inline constexpr size_t kAes256GcmKeyBytes = 32;
inline constexpr size_t kAes256GcmNonceBytes = 12;
inline constexpr size_t kAes256GcmTagBytes = 16;

// Aes256GcmSeal encrypts `plaintext` and authenticates it together with
// `aad`. Returns ciphertext ‖ tag (plaintext.size() + 16 bytes).
//
// Returns InvalidArgument if the key is not 32 bytes or the nonce is not 12
// bytes.
//
// WARNING: the caller chooses the nonce. Sealing two messages under one key
// with the same nonce reveals their XOR and lets an attacker forge tags. Use a
// counter or 12 random bytes per message, and rotate keys long before 2^32
// random nonces.
absl::StatusOr<Bytes> Aes256GcmSeal(const SecretBytes& key, ByteSpan nonce,
                                    ByteSpan aad, ByteSpan plaintext);

// Aes256GcmOpen checks the tag over `aad` and the ciphertext in
// `ciphertext_and_tag` (as produced by Aes256GcmSeal) and returns the
// plaintext, which is secret and owned by the caller.
//
// Returns InvalidArgument:
//   * "aead: key must be 32 bytes ..." / "aead: nonce must be 12 bytes ..."
//     for wrong lengths;
//   * "aead: ciphertext too short ..." if the input is shorter than the tag;
//   * "aead: authentication failed ..." if the ciphertext, tag, aad, nonce or
//     key do not match. No partial plaintext is released in that case.
absl::StatusOr<SecretBytes> Aes256GcmOpen(const SecretBytes& key,
                                          ByteSpan nonce, ByteSpan aad,
                                          ByteSpan ciphertext_and_tag);

// --- Ed25519 ----------------------------------------------------------------

// Ed25519 sizes (RFC 8032): 32-byte seed ("secret key" in the RFC), 32-byte
// public key, 64-byte signature.
inline constexpr size_t kEd25519SeedBytes = 32;
inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

using Ed25519PublicKeyBytes = std::array<uint8_t, kEd25519PublicKeyBytes>;
using Ed25519Signature = std::array<uint8_t, kEd25519SignatureBytes>;

// Ed25519PrivateKey is an Ed25519 signing key (pure Ed25519, no context or
// prehash). It is move-only; the key material lives in an OpenSSL EVP_PKEY
// that is cleared when this object is destroyed. It never prints its secret
// (operator<< / AbslStringify show only the public key).
class Ed25519PrivateKey {
 public:
  // Generate draws a fresh 32-byte seed from `rng`.
  static Ed25519PrivateKey Generate(Rng& rng);

  // FromSeed builds the key from the 32-byte RFC 8032 secret key ("seed").
  // Returns InvalidArgument if the seed is not 32 bytes. The seed is copied;
  // the caller keeps ownership of (and should wipe) its own copy.
  static absl::StatusOr<Ed25519PrivateKey> FromSeed(const SecretBytes& seed);

  Ed25519PrivateKey(Ed25519PrivateKey&& other) noexcept;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&& other) noexcept;
  Ed25519PrivateKey(const Ed25519PrivateKey&) = delete;
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = delete;
  ~Ed25519PrivateKey();

  // PublicKey returns the 32-byte public key A (public).
  const Ed25519PublicKeyBytes& PublicKey() const { return public_key_; }

  // Sign returns the 64-byte deterministic signature R ‖ S over `message`.
  // Must not be called on a moved-from key (KAGI_CHECK).
  Ed25519Signature Sign(ByteSpan message) const;

  // ExportSeed returns a copy of the 32-byte seed, for sealed storage only.
  // Every call site is a place where the identity key leaves this object.
  SecretBytes ExportSeed() const;

  friend std::ostream& operator<<(std::ostream& os,
                                  const Ed25519PrivateKey& key) {
    return os << "Ed25519PrivateKey(public=" << HexEncode(key.public_key_)
              << ", <redacted>)";
  }
  template <typename Sink>
  friend void AbslStringify(Sink& sink, const Ed25519PrivateKey& key) {
    sink.Append("Ed25519PrivateKey(public=" + HexEncode(key.public_key_) +
                ", <redacted>)");
  }

 private:
  Ed25519PrivateKey(EVP_PKEY* pkey, const Ed25519PublicKeyBytes& pub)
      : pkey_(pkey), public_key_(pub) {}

  EVP_PKEY* pkey_;  // Owned; null only after a move.
  Ed25519PublicKeyBytes public_key_;
};

// Ed25519Verify checks `signature` over `message` under `public_key` (RFC
// 8032 pure Ed25519, as implemented by OpenSSL: S must be < L).
//
// Returns OK if valid. Returns InvalidArgument if the public key is not 32
// bytes, the signature is not 64 bytes, or the signature does not verify
// ("ed25519: signature verification failed").
absl::Status Ed25519Verify(ByteSpan public_key, ByteSpan message,
                           ByteSpan signature);

// Ed25519CheckPublicKey accepts a 32-byte public key OpenSSL takes as an
// Ed25519 key. InvalidArgument otherwise.
absl::Status Ed25519CheckPublicKey(ByteSpan public_key);

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_EVP_H_
