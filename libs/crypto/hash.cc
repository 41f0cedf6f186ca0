#include "libs/crypto/hash.h"

#include <openssl/evp.h>

#include "libs/base/check.h"

namespace kagi::crypto {
namespace {

const EVP_MD* Ripemd160Md() {
  // Fetch once from the default provider (see hash.h).
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "RIPEMD160", nullptr);
  KAGI_CHECK(md != nullptr);
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

Digest32 Sha256(ByteSpan data) { return OneShot<32>(EVP_sha256(), data); }
Digest64 Sha512(ByteSpan data) { return OneShot<64>(EVP_sha512(), data); }
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
      algorithm == Algorithm::kSha256 ? EVP_sha256() : EVP_shake256();
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
