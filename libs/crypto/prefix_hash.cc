// The midstate is kept in OpenSSL's low-level SHA256_CTX (deprecated in 3.0
// but present, and it uses the same SHA-NI/AVX2 block functions as EVP). The
// EVP interface cannot copy a context as cheaply, and its per-call overhead
// is several times the cost of one compression.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "libs/crypto/prefix_hash.h"

#include <openssl/sha.h>

#include "libs/base/check.h"
#include "libs/base/secret.h"

namespace kagi::crypto {
namespace {

constexpr size_t kBlock = 64;

size_t Enc(uint8_t* out, ByteSpan field) {
  StoreBigEndian32(static_cast<uint32_t>(field.size()), out);
  for (size_t i = 0; i < field.size(); ++i) {
    out[4 + i] = field[i];
  }
  return 4 + field.size();
}

size_t PrefixWithoutPad(Tag tag) {
  const TagInfo& info = TagInfoFor(tag);
  return (4 + kDomain.size()) + (4 + info.name.size() + 1) + (4 + 32);
}

}  // namespace

struct PrefixHasher::State {
  SHA256_CTX mid;
  ~State() { SecureWipe(&mid, sizeof(mid)); }
};

size_t PrefixHasher::PaddingLength(Tag tag) {
  const size_t used = PrefixWithoutPad(tag) + 4;
  KAGI_CHECK(used <= kBlock);
  return kBlock - used;
}

PrefixHasher::PrefixHasher(Tag tag, const std::array<uint8_t, 32>& key)
    : state_(std::make_unique<State>()) {
  const TagInfo& info = TagInfoFor(tag);
  uint8_t block[kBlock] = {0};
  size_t off = Enc(block, AsBytes(kDomain));
  uint8_t tag_bytes[64];
  for (size_t i = 0; i < info.name.size(); ++i) {
    tag_bytes[i] = static_cast<uint8_t>(info.name[i]);
  }
  tag_bytes[info.name.size()] = info.version;
  off += Enc(block + off, ByteSpan(tag_bytes, info.name.size() + 1));
  off += Enc(block + off, key);
  const size_t pad = PaddingLength(tag);
  StoreBigEndian32(static_cast<uint32_t>(pad), block + off);
  off += 4 + pad;  // the pad bytes are the zeros already in `block`
  KAGI_CHECK(off == kBlock);
  SHA256_Init(&state_->mid);
  SHA256_Update(&state_->mid, block, kBlock);
  SecureWipe(block, sizeof(block));
}

PrefixHasher::~PrefixHasher() = default;

Digest32 PrefixHasher::Hash(uint32_t index, ByteSpan data,
                            uint8_t counter) const {
  SHA256_CTX ctx = state_->mid;
  uint8_t head[8];
  StoreBigEndian32(4, head);
  StoreBigEndian32(index, head + 4);
  SHA256_Update(&ctx, head, sizeof(head));
  uint8_t len[4];
  StoreBigEndian32(static_cast<uint32_t>(data.size()), len);
  SHA256_Update(&ctx, len, sizeof(len));
  SHA256_Update(&ctx, data.data(), data.size());
  uint8_t tail[5];
  StoreBigEndian32(1, tail);
  tail[4] = counter;
  SHA256_Update(&ctx, tail, sizeof(tail));
  Digest32 out{};
  SHA256_Final(out.data(), &ctx);
  SecureWipe(&ctx, sizeof(ctx));
  return out;
}

void PrefixHasher::Expand(uint32_t index, ByteSpan data,
                          absl::Span<uint8_t> out) const {
  KAGI_CHECK(out.size() <= 255 * 32);
  size_t done = 0;
  for (uint8_t ctr = 0; done < out.size(); ++ctr) {
    Digest32 block = Hash(index, data, ctr);
    const size_t n = std::min<size_t>(32, out.size() - done);
    for (size_t i = 0; i < n; ++i) {
      out[done + i] = block[i];
    }
    SecureWipe(block.data(), block.size());
    done += n;
  }
}

}  // namespace kagi::crypto
