// The midstate is kept in OpenSSL's low-level SHA256_CTX (deprecated in 3.0
// but present, and it uses the same SHA-NI/AVX2 block functions as EVP). The
// EVP interface cannot copy a context as cheaply, and its per-call overhead
// is several times the cost of one compression.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "libs/crypto/prefix_hash.h"

#include <cpuid.h>
#include <immintrin.h>
#include <openssl/sha.h>

#include <atomic>
#include <cstring>

#include "libs/base/check.h"
#include "libs/base/secret.h"

namespace kagi::crypto {
namespace {

constexpr size_t kBlock = 64;
// The longest `data` whose tail (index, data, counter and SHA-256 padding)
// fits in one block: 8 + (4 + len) + 5 + 9 <= 64.
constexpr size_t kMaxSingleBlockData = 38;

bool CpuHasShaNi() {
  unsigned int a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) {
    return false;
  }
  const bool sha = ((b >> 29) & 1) != 0;
  unsigned int a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  __get_cpuid(1, &a1, &b1, &c1, &d1);
  const bool sse41 = ((c1 >> 19) & 1) != 0;
  const bool ssse3 = ((c1 >> 9) & 1) != 0;
  return sha && sse41 && ssse3;
}

std::atomic<bool> g_sha_ni_enabled{CpuHasShaNi()};

alignas(16) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// CompressShaNi compresses one 64-byte block per lane into that lane's state
// (a, b, ..., h), for kLanes independent lanes processed together: the lanes'
// sha256rnds2 chains interleave, hiding the instruction's latency. Rounds come
// in sixteen groups of four; message words for group i >= 4 follow
// W_i = msg2(msg1(W_{i-4}, W_{i-3}) + alignr(W_{i-1}, W_{i-2}), W_{i-1}).
// The state is kept as ABEF / CDGH, the layout sha256rnds2 wants.
template <size_t kLanes>
__attribute__((target("sha,sse4.1,ssse3"))) inline void CompressShaNi(
    uint32_t (*state)[8], const uint8_t (*block)[64]) {
  const __m128i byte_swap =
      _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i s0[kLanes], s1[kLanes], save0[kLanes], save1[kLanes];
  __m128i w[kLanes][16];
  for (size_t j = 0; j < kLanes; ++j) {
    __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state[j]));
    __m128i st1 =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(state[j] + 4));
    tmp = _mm_shuffle_epi32(tmp, 0xB1);       // CDAB
    st1 = _mm_shuffle_epi32(st1, 0x1B);       // EFGH
    s0[j] = _mm_alignr_epi8(tmp, st1, 8);     // ABEF
    s1[j] = _mm_blend_epi16(st1, tmp, 0xF0);  // CDGH
    save0[j] = s0[j];
    save1[j] = s1[j];
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    const __m128i k =
        _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * i));
    for (size_t j = 0; j < kLanes; ++j) {
      if (i < 4) {
        w[j][i] = _mm_shuffle_epi8(
            _mm_loadu_si128(
                reinterpret_cast<const __m128i*>(block[j] + 16 * i)),
            byte_swap);
      } else {
        const __m128i t =
            _mm_add_epi32(_mm_sha256msg1_epu32(w[j][i - 4], w[j][i - 3]),
                          _mm_alignr_epi8(w[j][i - 1], w[j][i - 2], 4));
        w[j][i] = _mm_sha256msg2_epu32(t, w[j][i - 1]);
      }
      __m128i m = _mm_add_epi32(w[j][i], k);
      s1[j] = _mm_sha256rnds2_epu32(s1[j], s0[j], m);
      m = _mm_shuffle_epi32(m, 0x0E);
      s0[j] = _mm_sha256rnds2_epu32(s0[j], s1[j], m);
    }
  }
  for (size_t j = 0; j < kLanes; ++j) {
    __m128i st0 = _mm_add_epi32(s0[j], save0[j]);
    __m128i st1 = _mm_add_epi32(s1[j], save1[j]);
    const __m128i tmp = _mm_shuffle_epi32(st0, 0x1B);  // FEBA
    st1 = _mm_shuffle_epi32(st1, 0xB1);                // DCHG
    st0 = _mm_blend_epi16(tmp, st1, 0xF0);             // DCBA
    st1 = _mm_alignr_epi8(st1, tmp, 8);                // HGFE
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state[j]), st0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state[j] + 4), st1);
  }
  WipeInline(w);
}

// TailBlock lays out enc(u32 index) ‖ enc(data) ‖ enc(u8 counter) and the
// SHA-256 padding for a message of one prefix block plus this block.
void TailBlock(uint32_t index, ByteSpan data, uint8_t counter,
               uint8_t block[kBlock]) {
  std::memset(block, 0, kBlock);
  StoreBigEndian32(4, block);
  StoreBigEndian32(index, block + 4);
  StoreBigEndian32(static_cast<uint32_t>(data.size()), block + 8);
  size_t off = 12;
  if (!data.empty()) {
    std::memcpy(block + off, data.data(), data.size());
  }
  off += data.size();
  StoreBigEndian32(1, block + off);
  block[off + 4] = counter;
  off += 5;
  block[off] = 0x80;
  StoreBigEndian64(static_cast<uint64_t>(kBlock + off) * 8, block + kBlock - 8);
}

// HashLanesShaNi computes the kLanes hashes in[0..kLanes) on the midstate
// `words`, each input's data at most kMaxSingleBlockData bytes.
template <size_t kLanes>
void HashLanesShaNi(const uint32_t words[8], const PrefixHashInput* in,
                    Digest32* out) {
  alignas(16) uint8_t blocks[kLanes][kBlock];
  uint32_t h[kLanes][8];
  for (size_t j = 0; j < kLanes; ++j) {
    TailBlock(in[j].index, in[j].data, in[j].counter, blocks[j]);
    std::memcpy(h[j], words, sizeof(h[j]));
  }
  CompressShaNi<kLanes>(h, blocks);
  for (size_t j = 0; j < kLanes; ++j) {
    for (size_t i = 0; i < 8; ++i) {
      StoreBigEndian32(h[j][i], out[j].data() + 4 * i);
    }
  }
  WipeInline(blocks);
  WipeInline(h);
}

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
  SHA256_CTX mid;     // OpenSSL midstate (any data length)
  uint32_t words[8];  // the same midstate as words, for the SHA-NI path
  ~State() {
    SecureWipe(&mid, sizeof(mid));
    SecureWipe(words, sizeof(words));
  }
};

bool PrefixHasher::SetShaExtensionsEnabledForTesting(bool enabled) {
  const bool previous = g_sha_ni_enabled.load();
  g_sha_ni_enabled.store(enabled && CpuHasShaNi());
  return previous;
}

bool PrefixHasher::ShaExtensionsInUse() { return g_sha_ni_enabled.load(); }

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
  // After exactly one block OpenSSL has compressed it: h[] is the midstate.
  for (size_t i = 0; i < 8; ++i) {
    state_->words[i] = state_->mid.h[i];
  }
  SecureWipe(block, sizeof(block));
}

PrefixHasher::~PrefixHasher() = default;

Digest32 PrefixHasher::Hash(uint32_t index, ByteSpan data,
                            uint8_t counter) const {
  if (data.size() <= kMaxSingleBlockData &&
      g_sha_ni_enabled.load(std::memory_order_relaxed)) {
    Digest32 out{};
    const PrefixHashInput in{index, data, counter};
    HashLanesShaNi<1>(state_->words, &in, &out);
    return out;
  }
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

void PrefixHasher::Hash3(uint32_t index, ByteSpan data,
                         std::array<Digest32, 3>& out) const {
  if (data.size() <= kMaxSingleBlockData &&
      g_sha_ni_enabled.load(std::memory_order_relaxed)) {
    const PrefixHashInput in[3] = {
        {index, data, 0}, {index, data, 1}, {index, data, 2}};
    HashLanesShaNi<3>(state_->words, in, out.data());
    return;
  }
  for (uint8_t c = 0; c < 3; ++c) {
    out[c] = Hash(index, data, c);
  }
}

void PrefixHasher::HashBatch(absl::Span<const PrefixHashInput> in,
                             absl::Span<Digest32> out) const {
  KAGI_CHECK(in.size() == out.size());
  bool fast = g_sha_ni_enabled.load(std::memory_order_relaxed);
  for (const PrefixHashInput& x : in) {
    fast = fast && x.data.size() <= kMaxSingleBlockData;
  }
  size_t i = 0;
  if (fast) {
    for (; i + 6 <= in.size(); i += 6) {
      HashLanesShaNi<6>(state_->words, &in[i], &out[i]);
    }
    for (; i + 3 <= in.size(); i += 3) {
      HashLanesShaNi<3>(state_->words, &in[i], &out[i]);
    }
  }
  for (; i < in.size(); ++i) {
    out[i] = Hash(in[i].index, in[i].data, in[i].counter);
  }
}

void PrefixHasher::Expand(uint32_t index, ByteSpan data,
                          absl::Span<uint8_t> out) const {
  if (out.size() <= 96 && out.size() > 64) {
    std::array<Digest32, 3> blocks;
    Hash3(index, data, blocks);
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = blocks[i / 32][i % 32];
    }
    WipeInline(blocks);
    return;
  }
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
