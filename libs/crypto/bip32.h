// File: libs/crypto/bip32.h
//
// BIP32 hierarchical deterministic keys, public side only (PROTOCOL.md §3.8).
//
// Kagi's root key X = x·G comes out of the DKG together with a chain code; no
// party ever holds x or a seed, so there is no master xprv and hardened
// derivation is impossible. What remains is CKDpub:
//
//   I  = HMAC-SHA512(c, ser33(K) ‖ ser32(i))          for i < 2^31
//   δ  = I_L (must be < n),  K' = K + δ·G (must not be ∞),  c' = I_R
//
// and, along a path, the accumulated public tweak δ = Σ δ_i mod n, which the
// threshold signer adds to one party's share so that the group signs for the
// child key (`DerivePath`). Where BIP32 says "skip to the next index" (I_L ≥ n
// or K' = ∞, probability below 2^-127) Kagi returns an error instead.
//
// Types:
//   * `ExtendedPublicKey`  an xpub/tpub: version, depth, parent fingerprint,
//                          child number, chain code and key. Always valid.
//   * `DerivedKey`         the result of `DerivePath`: child xpub + tweak.
//   * `ExtendedKey`        the result of the full decoder `DecodeExtendedKey`,
//                          which also accepts xprv/tprv strings. Private keys
//                          exist only so that test fixtures (BIP32 vectors,
//                          the trusted-dealer fixture of PROTOCOL.md §5) can
//                          be checked; production code never decodes one.
//
// Decoding validates everything BIP32 lists (its test vector 5): Base58Check
// checksum, a payload of exactly 78 bytes, a known version, a zero parent
// fingerprint and child number at depth 0, a key prefix that matches the
// version (0x02/0x03 for public, 0x00 for private), a public key on the curve
// and a private key in 1..n-1. Every failure is InvalidArgument with a
// message starting "bip32:" that says which rule was broken.
//
// Secrecy: chain codes, public keys and tweaks are public. A private key
// decoded from an xprv is held in a `Scalar` (wiped, never printed), and the
// decoder wipes its scratch copies of the payload.
//
// WARNING (BIP32): an xpub plus any non-hardened child private key reveals the
// parent private key. Never export derived child private keys or shares.
//
// Thread safety: all types are immutable values; all functions are
// thread-safe.
#ifndef KAGI_LIBS_CRYPTO_BIP32_H_
#define KAGI_LIBS_CRYPTO_BIP32_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"

namespace kagi::crypto {

// kBip32HardenedBit marks hardened child indices (i >= 2^31).
inline constexpr uint32_t kBip32HardenedBit = 0x80000000u;
// kBip32MaxDepth is the largest depth a serialized key can carry.
inline constexpr uint8_t kBip32MaxDepth = 255;
// kBip32SerializedBytes is the length of the Base58Check payload.
inline constexpr size_t kBip32SerializedBytes = 78;

// The four version prefixes BIP32 defines.
inline constexpr uint32_t kBip32VersionXpub = 0x0488B21Eu;  // mainnet public
inline constexpr uint32_t kBip32VersionXprv = 0x0488ADE4u;  // mainnet private
inline constexpr uint32_t kBip32VersionTpub = 0x043587CFu;  // testnet public
inline constexpr uint32_t kBip32VersionTprv = 0x04358394u;  // testnet private

// Bip32ChainCode is the 32-byte chain code c (public in Kagi).
using Bip32ChainCode = std::array<uint8_t, 32>;
// Bip32Fingerprint is the first 4 bytes of HASH160(ser33(K)).
using Bip32Fingerprint = std::array<uint8_t, 4>;

// Bip32Network selects the xpub (mainnet) or tpub (testnet) version bytes.
enum class Bip32Network { kMainnet, kTestnet };

// ExtendedPublicKey is a BIP32 extended public key. Instances are always
// valid: a public version, and depth 0 only with a zero parent fingerprint and
// child number. Copyable; compares field by field; prints its xpub string.
class ExtendedPublicKey {
 public:
  // Root makes the depth-0 key for `key` and `chain_code` (for Kagi: the DKG's
  // group key X and chain code).
  static ExtendedPublicKey Root(const Point& key,
                                const Bip32ChainCode& chain_code,
                                Bip32Network network = Bip32Network::kMainnet);

  // Create assembles a key from its fields. Returns InvalidArgument if
  // `version` is not kBip32VersionXpub/kBip32VersionTpub, or if depth is 0 and
  // the parent fingerprint or child number is not zero.
  static absl::StatusOr<ExtendedPublicKey> Create(
      uint32_t version, uint8_t depth,
      const Bip32Fingerprint& parent_fingerprint, uint32_t child_number,
      const Bip32ChainCode& chain_code, const Point& key);

  // Decode parses an xpub/tpub string with every check listed in the file
  // comment. Returns InvalidArgument on any failure, including for a valid
  // xprv/tprv ("bip32: expected an extended public key ..."): private keys are
  // refused before their key bytes are looked at.
  static absl::StatusOr<ExtendedPublicKey> Decode(absl::string_view text);

  // Encode returns the Base58Check string (78-byte payload).
  std::string Encode() const;

  // Ckdpub derives the non-hardened child at `index` (BIP32 CKDpub).
  // Returns InvalidArgument if:
  //   * index >= 2^31 ("... is hardened; hardened derivation needs the
  //     private key"),
  //   * this key is at depth 255,
  //   * I_L >= n, or the child key is the point at infinity (BIP32 would skip
  //     the index; Kagi rejects it).
  absl::StatusOr<ExtendedPublicKey> Ckdpub(uint32_t index) const;

  // Fingerprint returns the first 4 bytes of HASH160(ser33(key())), the
  // parent fingerprint recorded in this key's children.
  Bip32Fingerprint Fingerprint() const;

  uint32_t version() const { return version_; }
  uint8_t depth() const { return depth_; }
  const Bip32Fingerprint& parent_fingerprint() const {
    return parent_fingerprint_;
  }
  uint32_t child_number() const { return child_number_; }
  const Bip32ChainCode& chain_code() const { return chain_code_; }
  const Point& key() const { return key_; }

  friend bool operator==(const ExtendedPublicKey& a,
                         const ExtendedPublicKey& b);
  friend bool operator!=(const ExtendedPublicKey& a,
                         const ExtendedPublicKey& b) {
    return !(a == b);
  }
  friend std::ostream& operator<<(std::ostream& os,
                                  const ExtendedPublicKey& xpub) {
    return os << xpub.Encode();
  }

 private:
  ExtendedPublicKey(uint32_t version, uint8_t depth,
                    const Bip32Fingerprint& parent_fingerprint,
                    uint32_t child_number, const Bip32ChainCode& chain_code,
                    const Point& key)
      : version_(version),
        depth_(depth),
        parent_fingerprint_(parent_fingerprint),
        child_number_(child_number),
        chain_code_(chain_code),
        key_(key) {}

  uint32_t version_;
  uint8_t depth_;
  Bip32Fingerprint parent_fingerprint_;
  uint32_t child_number_;
  Bip32ChainCode chain_code_;
  Point key_;
};

// DerivedKey is the result of DerivePath: the child extended public key and
// the public tweak δ with xpub.key() == root.key() + tweak·G.
struct DerivedKey {
  ExtendedPublicKey xpub;
  Scalar tweak;
};

// DerivePath applies Ckdpub for each index of `path` in order and sums the
// per-step tweaks mod n. An empty path returns `root` with tweak 0.
// Returns InvalidArgument naming the step ("bip32: path step 2 (index 7):
// ...") for any Ckdpub error.
absl::StatusOr<DerivedKey> DerivePath(const ExtendedPublicKey& root,
                                      absl::Span<const uint32_t> path);

// ParsePath parses a non-hardened derivation path: "m", "m/0/1/2" or the
// relative form "0/1/2". Each step is a decimal number below 2^31 without
// sign or leading zeros. Returns InvalidArgument naming the step for an empty
// input or step, a hardened marker (', h, H), a non-decimal step, a value
// >= 2^31, or more than 255 steps.
absl::StatusOr<std::vector<uint32_t>> ParsePath(absl::string_view path);

// ExtendedKey is a fully validated decoded extended key, public or private.
//
// The private variant is FOR TEST FIXTURES ONLY (the BIP32 vectors and the
// trusted-dealer fixture): Kagi has no master private key. Copyable; the
// private key, if any, is a Scalar and is wiped with the object.
class ExtendedKey {
 public:
  // is_private tells whether this came from an xprv/tprv.
  bool is_private() const { return private_key_.has_value(); }

  uint32_t version() const { return version_; }
  uint8_t depth() const { return depth_; }
  const Bip32Fingerprint& parent_fingerprint() const {
    return parent_fingerprint_;
  }
  uint32_t child_number() const { return child_number_; }
  const Bip32ChainCode& chain_code() const { return chain_code_; }
  // public_key returns K (for a private key, k·G, computed when decoding).
  const Point& public_key() const { return public_key_; }

  // PrivateKeyForTestFixtures returns k for a private key, nullopt for a
  // public one. The result is secret.
  const std::optional<Scalar>& PrivateKeyForTestFixtures() const {
    return private_key_;
  }

  // Neuter returns the extended public key (BIP32 N()): xprv→xpub,
  // tprv→tpub, key k·G; a public key is returned unchanged.
  ExtendedPublicKey Neuter() const;

  // Encode returns the Base58Check string this key was decoded from.
  // WARNING: for a private key the string contains the private key.
  std::string Encode() const;

 private:
  friend absl::StatusOr<ExtendedKey> DecodeExtendedKey(absl::string_view text);
  ExtendedKey(uint32_t version, uint8_t depth,
              const Bip32Fingerprint& parent_fingerprint, uint32_t child_number,
              const Bip32ChainCode& chain_code, const Point& public_key,
              std::optional<Scalar> private_key)
      : version_(version),
        depth_(depth),
        parent_fingerprint_(parent_fingerprint),
        child_number_(child_number),
        chain_code_(chain_code),
        public_key_(public_key),
        private_key_(std::move(private_key)) {}

  uint32_t version_;
  uint8_t depth_;
  Bip32Fingerprint parent_fingerprint_;
  uint32_t child_number_;
  Bip32ChainCode chain_code_;
  Point public_key_;
  std::optional<Scalar> private_key_;
};

// DecodeExtendedKey parses any of xpub, xprv, tpub, tprv and validates it
// completely (see the file comment). Returns InvalidArgument with the reason
// on failure. Intended for validation and test fixtures; services that only
// accept public keys call ExtendedPublicKey::Decode.
absl::StatusOr<ExtendedKey> DecodeExtendedKey(absl::string_view text);

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_BIP32_H_
