#include "libs/crypto/bip32.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"
#include "libs/base/check.h"
#include "libs/base/secret.h"
#include "libs/crypto/base58.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/hash.h"

namespace kagi::crypto {
namespace {

// Offsets of the fields of the 78-byte serialization.
constexpr size_t kVersionOffset = 0;
constexpr size_t kDepthOffset = 4;
constexpr size_t kParentFingerprintOffset = 5;
constexpr size_t kChildNumberOffset = 9;
constexpr size_t kChainCodeOffset = 13;
constexpr size_t kKeyOffset = 45;
constexpr size_t kKeyBytes = 33;
static_assert(kKeyOffset + kKeyBytes == kBip32SerializedBytes);

std::string Hex32(uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

std::string Hex8(uint8_t v) {
  char buf[5];
  std::snprintf(buf, sizeof(buf), "0x%02x", v);
  return buf;
}

bool IsPublicVersion(uint32_t v) {
  return v == kBip32VersionXpub || v == kBip32VersionTpub;
}
bool IsPrivateVersion(uint32_t v) {
  return v == kBip32VersionXprv || v == kBip32VersionTprv;
}

bool IsZero(absl::Span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

absl::Status CheckDepthZeroFields(uint8_t depth,
                                  const Bip32Fingerprint& parent_fingerprint,
                                  uint32_t child_number) {
  if (depth != 0) {
    return absl::OkStatus();
  }
  if (!IsZero(parent_fingerprint)) {
    return absl::InvalidArgumentError(
        "bip32: depth 0 (master key) with non-zero parent fingerprint " +
        HexEncode(parent_fingerprint));
  }
  if (child_number != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bip32: depth 0 (master key) with non-zero child number ",
                     child_number));
  }
  return absl::OkStatus();
}

// Writes the 78-byte serialization into `out`.
void Serialize(uint32_t version, uint8_t depth,
               const Bip32Fingerprint& parent_fingerprint,
               uint32_t child_number, const Bip32ChainCode& chain_code,
               absl::Span<const uint8_t> key_data, absl::Span<uint8_t> out) {
  KAGI_CHECK(out.size() == kBip32SerializedBytes);
  KAGI_CHECK(key_data.size() == kKeyBytes);
  StoreBigEndian32(version, out.data() + kVersionOffset);
  out[kDepthOffset] = depth;
  std::copy(parent_fingerprint.begin(), parent_fingerprint.end(),
            out.begin() + kParentFingerprintOffset);
  StoreBigEndian32(child_number, out.data() + kChildNumberOffset);
  std::copy(chain_code.begin(), chain_code.end(),
            out.begin() + kChainCodeOffset);
  std::copy(key_data.begin(), key_data.end(), out.begin() + kKeyOffset);
}

// One CKDpub step: the child key and its tweak δ_i = I_L.
absl::StatusOr<DerivedKey> DeriveChild(const ExtendedPublicKey& parent,
                                       uint32_t index) {
  if ((index & kBip32HardenedBit) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bip32: child index ", index,
        " is hardened (>= 2^31); hardened derivation needs the private key, "
        "which does not exist in Kagi"));
  }
  if (parent.depth() == kBip32MaxDepth) {
    return absl::InvalidArgumentError(
        "bip32: cannot derive a child of a key at the maximum depth 255");
  }
  uint8_t data[Point::kCompressedBytes + 4];
  const auto ser_k = parent.key().ToCompressed();
  std::copy(ser_k.begin(), ser_k.end(), data);
  StoreBigEndian32(index, data + Point::kCompressedBytes);
  const std::array<uint8_t, kHmacSha512Bytes> i =
      HmacSha512(parent.chain_code(), data);

  absl::StatusOr<Scalar> delta =
      Scalar::FromCanonicalBytes(ByteSpan(i.data(), 32), "bip32 I_L");
  if (!delta.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bip32: child index ", index,
        " is invalid: I_L >= n (BIP32 skips such an index; Kagi rejects the "
        "path)"));
  }
  Point child = parent.key();
  if (!delta->IsZero()) {
    absl::StatusOr<Point> delta_g = Point::MulGenerator(*delta);
    KAGI_CHECK(delta_g.ok());  // delta != 0
    absl::StatusOr<Point> sum = parent.key().Add(*delta_g);
    if (!sum.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bip32: child index ", index,
          " is invalid: the child key is the point at infinity (BIP32 skips "
          "such an index; Kagi rejects the path)"));
    }
    child = *sum;
  }
  Bip32ChainCode chain_code{};
  std::copy(i.begin() + 32, i.end(), chain_code.begin());
  absl::StatusOr<ExtendedPublicKey> xpub = ExtendedPublicKey::Create(
      parent.version(), static_cast<uint8_t>(parent.depth() + 1),
      parent.Fingerprint(), index, chain_code, child);
  KAGI_CHECK(xpub.ok());  // depth >= 1 and the parent's version is valid
  return DerivedKey{*std::move(xpub), *delta};
}

// The fields of a decoded, validated extended key.
struct DecodedKey {
  uint32_t version;
  uint8_t depth;
  Bip32Fingerprint parent_fingerprint;
  uint32_t child_number;
  Bip32ChainCode chain_code;
  Point public_key;
  std::optional<Scalar> private_key;
};

// Decodes and validates the text; with allow_private == false, private
// versions are refused before the key data is examined.
absl::StatusOr<DecodedKey> DecodeImpl(absl::string_view text,
                                      bool allow_private);

}  // namespace

// --- ExtendedPublicKey ------------------------------------------------------

ExtendedPublicKey ExtendedPublicKey::Root(const Point& key,
                                          const Bip32ChainCode& chain_code,
                                          Bip32Network network) {
  const uint32_t version =
      network == Bip32Network::kMainnet ? kBip32VersionXpub : kBip32VersionTpub;
  return ExtendedPublicKey(version, 0, Bip32Fingerprint{}, 0, chain_code, key);
}

absl::StatusOr<ExtendedPublicKey> ExtendedPublicKey::Create(
    uint32_t version, uint8_t depth, const Bip32Fingerprint& parent_fingerprint,
    uint32_t child_number, const Bip32ChainCode& chain_code, const Point& key) {
  if (!IsPublicVersion(version)) {
    return absl::InvalidArgumentError(
        "bip32: version " + Hex32(version) +
        " is not an extended public key version (xpub 0x0488b21e or tpub "
        "0x043587cf)");
  }
  absl::Status status =
      CheckDepthZeroFields(depth, parent_fingerprint, child_number);
  if (!status.ok()) {
    return status;
  }
  return ExtendedPublicKey(version, depth, parent_fingerprint, child_number,
                           chain_code, key);
}

absl::StatusOr<ExtendedPublicKey> ExtendedPublicKey::Decode(
    absl::string_view text) {
  absl::StatusOr<DecodedKey> key = DecodeImpl(text, /*allow_private=*/false);
  if (!key.ok()) {
    return key.status();
  }
  KAGI_CHECK(!key->private_key.has_value());
  return ExtendedPublicKey(key->version, key->depth, key->parent_fingerprint,
                           key->child_number, key->chain_code, key->public_key);
}

std::string ExtendedPublicKey::Encode() const {
  uint8_t buf[kBip32SerializedBytes];
  Serialize(version_, depth_, parent_fingerprint_, child_number_, chain_code_,
            key_.ToCompressed(), absl::MakeSpan(buf));
  return Base58CheckEncode(buf);
}

absl::StatusOr<ExtendedPublicKey> ExtendedPublicKey::Ckdpub(
    uint32_t index) const {
  absl::StatusOr<DerivedKey> child = DeriveChild(*this, index);
  if (!child.ok()) {
    return child.status();
  }
  return child->xpub;
}

Bip32Fingerprint ExtendedPublicKey::Fingerprint() const {
  const Digest20 id = Hash160(key_.ToCompressed());
  Bip32Fingerprint out{};
  std::copy(id.begin(), id.begin() + out.size(), out.begin());
  return out;
}

bool operator==(const ExtendedPublicKey& a, const ExtendedPublicKey& b) {
  return a.version_ == b.version_ && a.depth_ == b.depth_ &&
         a.parent_fingerprint_ == b.parent_fingerprint_ &&
         a.child_number_ == b.child_number_ && a.chain_code_ == b.chain_code_ &&
         a.key_ == b.key_;
}

// --- Paths ------------------------------------------------------------------

absl::StatusOr<DerivedKey> DerivePath(const ExtendedPublicKey& root,
                                      absl::Span<const uint32_t> path) {
  DerivedKey out{root, Scalar::Zero()};
  for (size_t step = 0; step < path.size(); ++step) {
    absl::StatusOr<DerivedKey> child = DeriveChild(out.xpub, path[step]);
    if (!child.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bip32: path step ", step, " (index ", path[step],
                       "): ", child.status().message()));
    }
    out.xpub = child->xpub;
    out.tweak += child->tweak;
  }
  return out;
}

absl::StatusOr<std::vector<uint32_t>> ParsePath(absl::string_view path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "bip32 path: empty; use \"m\" for the root");
  }
  absl::string_view rest = path;
  if (rest[0] == 'm') {
    rest.remove_prefix(1);
    if (rest.empty()) {
      return std::vector<uint32_t>{};
    }
    if (rest[0] != '/') {
      return absl::InvalidArgumentError(
          "bip32 path: \"m\" must be followed by '/' or nothing");
    }
    rest.remove_prefix(1);
  }
  std::vector<uint32_t> out;
  size_t step = 0;
  while (true) {
    const size_t slash = rest.find('/');
    const absl::string_view item = rest.substr(0, slash);
    const std::string where =
        absl::StrCat("bip32 path: step ", step, " (\"", item, "\")");
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bip32 path: step ", step, " is empty"));
    }
    const char last = item.back();
    if (last == '\'' || last == 'h' || last == 'H') {
      return absl::InvalidArgumentError(
          where +
          " is hardened; only non-hardened derivation is supported (there is "
          "no private key to derive hardened children from)");
    }
    if (!std::all_of(item.begin(), item.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return absl::InvalidArgumentError(where + " is not a decimal number");
    }
    if (item.size() > 1 && item[0] == '0') {
      return absl::InvalidArgumentError(where + " has a leading zero");
    }
    uint64_t value = 0;
    // 10 digits cannot overflow uint64_t; longer is out of range anyway.
    if (item.size() <= 10) {
      for (char c : item) {
        value = value * 10 + static_cast<uint64_t>(c - '0');
      }
    }
    if (item.size() > 10 || value >= kBip32HardenedBit) {
      return absl::InvalidArgumentError(
          where + " is out of range: indices must be below 2^31 (2147483648)");
    }
    if (out.size() == kBip32MaxDepth) {
      return absl::InvalidArgumentError(
          "bip32 path: more than 255 steps (the maximum depth)");
    }
    out.push_back(static_cast<uint32_t>(value));
    if (slash == absl::string_view::npos) {
      break;
    }
    rest.remove_prefix(slash + 1);
    ++step;
  }
  return out;
}

// --- ExtendedKey ------------------------------------------------------------

ExtendedPublicKey ExtendedKey::Neuter() const {
  uint32_t version = version_;
  if (version_ == kBip32VersionXprv) {
    version = kBip32VersionXpub;
  } else if (version_ == kBip32VersionTprv) {
    version = kBip32VersionTpub;
  }
  absl::StatusOr<ExtendedPublicKey> xpub =
      ExtendedPublicKey::Create(version, depth_, parent_fingerprint_,
                                child_number_, chain_code_, public_key_);
  KAGI_CHECK(xpub.ok());  // Validated when decoded.
  return *std::move(xpub);
}

std::string ExtendedKey::Encode() const {
  SecretBytes buf(kBip32SerializedBytes);
  if (private_key_.has_value()) {
    SecretBytes key_data(kKeyBytes);
    std::array<uint8_t, 32> k = private_key_->ToBytes();
    key_data.mutable_data()[0] = 0x00;
    std::copy(k.begin(), k.end(), key_data.mutable_data() + 1);
    SecureWipe(k.data(), k.size());
    Serialize(version_, depth_, parent_fingerprint_, child_number_, chain_code_,
              key_data.secret(), buf.mutable_span());
  } else {
    Serialize(version_, depth_, parent_fingerprint_, child_number_, chain_code_,
              public_key_.ToCompressed(), buf.mutable_span());
  }
  return Base58CheckEncode(buf.secret());
}

namespace {

absl::StatusOr<DecodedKey> DecodeImpl(absl::string_view text,
                                      bool allow_private) {
  absl::StatusOr<Bytes> decoded = Base58CheckDecode(text);
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bip32: ", decoded.status().message()));
  }
  // The payload may hold a private key: keep it in wiping storage only.
  const SecretBytes payload(*decoded);
  SecureWipe(decoded->data(), decoded->size());
  const ByteSpan p = payload.secret();

  if (p.size() != kBip32SerializedBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bip32: extended key payload must be 78 bytes, got ", p.size()));
  }
  const uint32_t version = LoadBigEndian32(p.data() + kVersionOffset);
  const bool is_public = IsPublicVersion(version);
  if (!is_public && !IsPrivateVersion(version)) {
    return absl::InvalidArgumentError(
        "bip32: unknown extended key version " + Hex32(version) +
        " (expected xpub 0x0488b21e, xprv 0x0488ade4, tpub 0x043587cf or "
        "tprv 0x04358394)");
  }
  if (!is_public && !allow_private) {
    return absl::InvalidArgumentError(
        "bip32: expected an extended public key but got a private one "
        "(version " +
        Hex32(version) + "); private extended keys are not accepted");
  }
  const uint8_t depth = p[kDepthOffset];
  Bip32Fingerprint parent_fingerprint{};
  std::copy(p.begin() + kParentFingerprintOffset,
            p.begin() + kParentFingerprintOffset + 4,
            parent_fingerprint.begin());
  const uint32_t child_number = LoadBigEndian32(p.data() + kChildNumberOffset);
  Bip32ChainCode chain_code{};
  std::copy(p.begin() + kChainCodeOffset, p.begin() + kChainCodeOffset + 32,
            chain_code.begin());
  absl::Status status =
      CheckDepthZeroFields(depth, parent_fingerprint, child_number);
  if (!status.ok()) {
    return status;
  }

  const ByteSpan key_data = p.subspan(kKeyOffset, kKeyBytes);
  const uint8_t prefix = key_data[0];
  if (is_public) {
    if (prefix == 0x00) {
      return absl::InvalidArgumentError(
          "bip32: version/key mismatch: public version " + Hex32(version) +
          " but the key data is a private key (prefix 0x00)");
    }
    if (prefix != 0x02 && prefix != 0x03) {
      return absl::InvalidArgumentError(
          "bip32: invalid public key prefix " + Hex8(prefix) +
          " (a compressed public key starts with 0x02 or 0x03)");
    }
    absl::StatusOr<Point> key = Point::FromCompressed(key_data, "bip32 key");
    if (!key.ok()) {
      // Length and prefix are already checked, so x is not on the curve.
      return absl::InvalidArgumentError(
          "bip32: invalid public key: x-coordinate " +
          HexEncode(key_data.subspan(1)) + " is not on the curve secp256k1");
    }
    return DecodedKey{version,    depth, parent_fingerprint, child_number,
                      chain_code, *key,  std::nullopt};
  }

  if (prefix == 0x02 || prefix == 0x03) {
    return absl::InvalidArgumentError(
        "bip32: version/key mismatch: private version " + Hex32(version) +
        " but the key data is a public key (prefix " + Hex8(prefix) + ")");
  }
  if (prefix != 0x00) {
    return absl::InvalidArgumentError("bip32: invalid private key prefix " +
                                      Hex8(prefix) + " (must be 0x00)");
  }
  absl::StatusOr<Scalar> k =
      Scalar::FromCanonicalBytes(key_data.subspan(1), "bip32 private key");
  if (!k.ok()) {
    return absl::InvalidArgumentError(
        "bip32: private key not in 1..n-1 (it is >= the group order n)");
  }
  if (k->IsZero()) {
    return absl::InvalidArgumentError(
        "bip32: private key not in 1..n-1 (it is 0)");
  }
  absl::StatusOr<Point> public_key = Point::MulGenerator(*k);
  KAGI_CHECK(public_key.ok());  // k != 0
  return DecodedKey{version,    depth,       parent_fingerprint, child_number,
                    chain_code, *public_key, *std::move(k)};
}

}  // namespace

absl::StatusOr<ExtendedKey> DecodeExtendedKey(absl::string_view text) {
  absl::StatusOr<DecodedKey> key = DecodeImpl(text, /*allow_private=*/true);
  if (!key.ok()) {
    return key.status();
  }
  return ExtendedKey(key->version, key->depth, key->parent_fingerprint,
                     key->child_number, key->chain_code, key->public_key,
                     std::move(key->private_key));
}

}  // namespace kagi::crypto
