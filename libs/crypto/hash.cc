#include "libs/crypto/hash.h"

#include <openssl/evp.h>

#include "libs/base/check.h"

namespace kagi::crypto {
namespace {

// Each algorithm is fetched once from the default provider. Passing
// OpenSSL 3's EVP_sha256() & co. instead makes every digest call look the
// algorithm up again under a lock, which showed in profiles of a signing
// node (thousands of small hashes per signature).
const EVP_MD* Fetched(const char* name) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  KAGI_CHECK(md != nullptr);
  return md;
}
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = Fetched("SHA256");
  return md;
}
const EVP_MD* Sha512Md() {
  static const EVP_MD* md = Fetched("SHA512");
  return md;
}
const EVP_MD* Shake256Md() {
  static const EVP_MD* md = Fetched("SHAKE256");
  return md;
}
const EVP_MD* Ripemd160Md() {
  static const EVP_MD* md = Fetched("RIPEMD160");
  return md;
}

template <size_t N>
std::array<uint8_t, N> OneShot(const EVP_MD* md, ByteSpan data) {
  std::array<uint8_t, N> out{};
  unsigned int len = 0;
  KAGI_CHECK(
      EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) == 1);
  KAGI_CHECK(len == N);
  return out;
}

}  // namespace

Digest32 Sha256(ByteSpan data) { return OneShot<32>(Sha256Md(), data); }
Digest64 Sha512(ByteSpan data) { return OneShot<64>(Sha512Md(), data); }
Digest20 Ripemd160(ByteSpan data) { return OneShot<20>(Ripemd160Md(), data); }
Digest32 Hash256(ByteSpan data) { return Sha256(Sha256(data)); }
Digest20 Hash160(ByteSpan data) { return Ripemd160(Sha256(data)); }

void Shake256(ByteSpan data, absl::Span<uint8_t> out) {
  HashStream h(HashStream::Algorithm::kShake256);
  h.Update(data);
  h.FinalXof(out);
}

HashStream::HashStream(Algorithm algorithm)
    : algorithm_(algorithm), ctx_(EVP_MD_CTX_new()) {
  KAGI_CHECK(ctx_ != nullptr);
  const EVP_MD* md =
      algorithm == Algorithm::kSha256 ? Sha256Md() : Shake256Md();
  KAGI_CHECK(EVP_DigestInit_ex(ctx_, md, nullptr) == 1);
}

HashStream::~HashStream() { EVP_MD_CTX_free(ctx_); }

void HashStream::Update(ByteSpan data) {
  KAGI_CHECK(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1);
}

Digest32 HashStream::FinalSha256() {
  KAGI_CHECK(algorithm_ == Algorithm::kSha256);
  Digest32 out{};
  unsigned int len = 0;
  KAGI_CHECK(EVP_DigestFinal_ex(ctx_, out.data(), &len) == 1);
  return out;
}

void HashStream::FinalXof(absl::Span<uint8_t> out) {
  KAGI_CHECK(algorithm_ == Algorithm::kShake256);
  KAGI_CHECK(EVP_DigestFinalXOF(ctx_, out.data(), out.size()) == 1);
}

}  // namespace kagi::crypto
