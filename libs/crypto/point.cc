#include "libs/crypto/point.h"

#include <secp256k1_ecdh.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/base/check.h"
#include "libs/base/ctime.h"
#include "libs/crypto/secp_context.h"

namespace kagi::crypto {
namespace {

absl::Status Infinity(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": result is the point at infinity"));
}

// ECDH callbacks: instead of hashing, hand back the product point itself.
int WriteUncompressed(unsigned char* output, const unsigned char* x32,
                      const unsigned char* y32, void* /*data*/) {
  output[0] = 0x04;
  for (size_t i = 0; i < 32; ++i) {
    output[1 + i] = x32[i];
    output[33 + i] = y32[i];
  }
  return 1;
}

int WriteCompressed(unsigned char* output, const unsigned char* x32,
                    const unsigned char* y32, void* /*data*/) {
  // Parity of y without a branch on its value.
  output[0] = static_cast<unsigned char>(0x02 | (y32[31] & 1));
  for (size_t i = 0; i < 32; ++i) {
    output[1 + i] = x32[i];
  }
  return 1;
}

absl::Status CheckNonZero(const Scalar& k, absl::string_view what) {
  // Public by design: a zero secret is refused with an error (probability
  // 2^-256 for an honest one).
  if (CtDeclassifyValue(k.IsZero())) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": scalar is zero (result would be infinity)"));
  }
  return absl::OkStatus();
}

}  // namespace

const Point& Point::Generator() {
  static const Point g = [] {
    absl::StatusOr<Point> p = MulGenerator(Scalar::One());
    KAGI_CHECK(p.ok());
    return *p;
  }();
  return g;
}

absl::StatusOr<Point> Point::FromCompressed(ByteSpan bytes,
                                            absl::string_view field) {
  if (bytes.size() != kCompressedBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": compressed point must be 33 bytes, got ", bytes.size()));
  }
  if (bytes[0] != 0x02 && bytes[0] != 0x03) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": invalid compressed point prefix 0x",
        absl::Hex(bytes[0], absl::kZeroPad2),
        bytes[0] == 0 ? " (the point at infinity has no encoding)" : ""));
  }
  secp256k1_pubkey pk;
  if (secp256k1_ec_pubkey_parse(SecpContext(), &pk, bytes.data(),
                                bytes.size()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": x-coordinate is not on secp256k1"));
  }
  return Point(pk);
}

absl::StatusOr<Point> Point::FromSec1(ByteSpan bytes, absl::string_view field) {
  if (bytes.size() == kCompressedBytes) {
    return FromCompressed(bytes, field);
  }
  if (bytes.size() != kUncompressedBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": SEC1 point must be 33 or 65 bytes, got ", bytes.size()));
  }
  if (bytes[0] != 0x04) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": invalid uncompressed point prefix 0x",
                     absl::Hex(bytes[0], absl::kZeroPad2)));
  }
  secp256k1_pubkey pk;
  if (secp256k1_ec_pubkey_parse(SecpContext(), &pk, bytes.data(),
                                bytes.size()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": point is not on secp256k1"));
  }
  return Point(pk);
}

absl::StatusOr<Point> Point::MulGenerator(const Scalar& secret) {
  std::array<uint8_t, 32> k = secret.ToBytes();
  secp256k1_pubkey pk;
  const int ok = secp256k1_ec_pubkey_create(SecpContext(), &pk, k.data());
  SecureWipe(k.data(), k.size());
  // Public by design: whether the secret was zero (an error, as above).
  if (CtDeclassifyValue(ok) != 1) {
    return Infinity("generator multiplication by zero");
  }
  return Point(pk);
}

absl::StatusOr<Point> Point::MulPublicScalarVartime(const Scalar& k) const {
  const std::array<uint8_t, 32> kb = k.ToBytes();
  secp256k1_pubkey out = pk_;
  if (secp256k1_ec_pubkey_tweak_mul(SecpContext(), &out, kb.data()) != 1) {
    return Infinity("public-scalar multiplication by zero");
  }
  return Point(out);
}

absl::StatusOr<Point> Point::MulSecretScalar(const Scalar& secret) const {
  if (absl::Status s = CheckNonZero(secret, "secret-scalar multiplication");
      !s.ok()) {
    return s;
  }
  std::array<uint8_t, 32> k = secret.ToBytes();
  std::array<uint8_t, kUncompressedBytes> buf{};
  const int ok = secp256k1_ecdh(SecpContext(), buf.data(), &pk_, k.data(),
                                WriteUncompressed, nullptr);
  SecureWipe(k.data(), k.size());
  // Public by design: whether the secret was out of range (an error).
  if (CtDeclassifyValue(ok) != 1) {
    return Infinity("secret-scalar multiplication");
  }
  secp256k1_pubkey out;
  const int parsed =
      secp256k1_ec_pubkey_parse(SecpContext(), &out, buf.data(), buf.size());
  SecureWipe(buf.data(), buf.size());
  KAGI_CHECK(parsed == 1);
  return Point(out);
}

absl::StatusOr<SecretBytes> Point::MulSecretScalarCompressed(
    const Scalar& secret) const {
  if (absl::Status s = CheckNonZero(secret, "secret-scalar multiplication");
      !s.ok()) {
    return s;
  }
  std::array<uint8_t, 32> k = secret.ToBytes();
  SecretBytes out(kCompressedBytes);
  const int ok = secp256k1_ecdh(SecpContext(), out.mutable_data(), &pk_,
                                k.data(), WriteCompressed, nullptr);
  SecureWipe(k.data(), k.size());
  // Public by design: whether the secret was out of range (an error).
  if (CtDeclassifyValue(ok) != 1) {
    return Infinity("secret-scalar multiplication");
  }
  return out;
}

absl::StatusOr<Point> Point::Add(const Point& other) const {
  const secp256k1_pubkey* ins[2] = {&pk_, &other.pk_};
  secp256k1_pubkey out;
  if (secp256k1_ec_pubkey_combine(SecpContext(), &out, ins, 2) != 1) {
    return Infinity("point addition");
  }
  return Point(out);
}

Point Point::Negate() const {
  secp256k1_pubkey out = pk_;
  KAGI_CHECK(secp256k1_ec_pubkey_negate(SecpContext(), &out) == 1);
  return Point(out);
}

absl::StatusOr<Point> Point::Sum(absl::Span<const Point> points) {
  if (points.empty()) {
    return absl::InvalidArgumentError("point sum: empty list");
  }
  std::vector<const secp256k1_pubkey*> ins;
  ins.reserve(points.size());
  for (const Point& p : points) {
    ins.push_back(&p.pk_);
  }
  secp256k1_pubkey out;
  if (secp256k1_ec_pubkey_combine(SecpContext(), &out, ins.data(),
                                  ins.size()) != 1) {
    return Infinity("point sum");
  }
  return Point(out);
}

void Point::ConditionalSwap(uint64_t bit, Point& a, Point& b) {
  const uint8_t mask = static_cast<uint8_t>(CtMaskFromBit(bit));
  for (size_t i = 0; i < sizeof(a.pk_.data); ++i) {
    const uint8_t t =
        static_cast<uint8_t>((a.pk_.data[i] ^ b.pk_.data[i]) & mask);
    a.pk_.data[i] = static_cast<uint8_t>(a.pk_.data[i] ^ t);
    b.pk_.data[i] = static_cast<uint8_t>(b.pk_.data[i] ^ t);
  }
}

std::array<uint8_t, Point::kCompressedBytes> Point::ToCompressed() const {
  std::array<uint8_t, kCompressedBytes> out{};
  size_t len = out.size();
  KAGI_CHECK(secp256k1_ec_pubkey_serialize(SecpContext(), out.data(), &len,
                                           &pk_, SECP256K1_EC_COMPRESSED) == 1);
  KAGI_CHECK(len == kCompressedBytes);
  return out;
}

std::array<uint8_t, Point::kUncompressedBytes> Point::ToUncompressed() const {
  std::array<uint8_t, kUncompressedBytes> out{};
  size_t len = out.size();
  KAGI_CHECK(secp256k1_ec_pubkey_serialize(SecpContext(), out.data(), &len,
                                           &pk_,
                                           SECP256K1_EC_UNCOMPRESSED) == 1);
  KAGI_CHECK(len == kUncompressedBytes);
  return out;
}

Scalar Point::XModOrder() const {
  const std::array<uint8_t, kCompressedBytes> c = ToCompressed();
  std::array<uint8_t, 32> x{};
  for (size_t i = 0; i < 32; ++i) {
    x[i] = c[1 + i];
  }
  return Scalar::FromBytesModOrder(x);
}

bool Point::HasOddY() const { return ToCompressed()[0] == 0x03; }

bool operator==(const Point& a, const Point& b) {
  return a.ToCompressed() == b.ToCompressed();
}

}  // namespace kagi::crypto
