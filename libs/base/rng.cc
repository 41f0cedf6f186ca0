#include "libs/base/rng.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "libs/base/check.h"
#include "libs/base/secret.h"

namespace kagi {

void OsRng::Fill(absl::Span<uint8_t> out) {
  // RAND_bytes with a null pointer and length 0 is fine; the loop skips it.
  size_t done = 0;
  while (done < out.size()) {
    const size_t chunk = std::min<size_t>(out.size() - done, 1 << 20);
    KAGI_CHECK(RAND_bytes(out.data() + done, static_cast<int>(chunk)) == 1);
    done += chunk;
  }
}

struct InsecureDeterministicRng::State {
  EVP_CIPHER_CTX* ctx = nullptr;
  ~State() { EVP_CIPHER_CTX_free(ctx); }
};

InsecureDeterministicRng::InsecureDeterministicRng(uint64_t seed)
    : InsecureDeterministicRng([&] {
        uint8_t b[8];
        StoreBigEndian64(seed, b);
        return kagi::Bytes(b, b + 8);
      }()) {}

InsecureDeterministicRng::InsecureDeterministicRng(ByteSpan seed)
    : state_(std::make_unique<State>()) {
  static constexpr char kLabel[] = "kagi/insecure-deterministic-rng/v1";
  uint8_t key[32];
  kagi::Bytes input(kLabel, kLabel + sizeof(kLabel));
  input.insert(input.end(), seed.begin(), seed.end());
  unsigned int key_len = 0;
  KAGI_CHECK(EVP_Digest(input.data(), input.size(), key, &key_len, EVP_sha256(),
                        nullptr) == 1);
  const uint8_t iv[16] = {0};
  state_->ctx = EVP_CIPHER_CTX_new();
  KAGI_CHECK(state_->ctx != nullptr);
  KAGI_CHECK(EVP_EncryptInit_ex(state_->ctx, EVP_aes_256_ctr(), nullptr, key,
                                iv) == 1);
  SecureWipe(key, sizeof(key));
}

InsecureDeterministicRng::~InsecureDeterministicRng() = default;

void InsecureDeterministicRng::Fill(absl::Span<uint8_t> out) {
  if (out.empty()) {
    return;  // data() may be null; memset(nullptr, 0, 0) is undefined
  }
  std::memset(out.data(), 0, out.size());
  size_t done = 0;
  while (done < out.size()) {
    const int chunk =
        static_cast<int>(std::min<size_t>(out.size() - done, 1 << 20));
    int written = 0;
    KAGI_CHECK(EVP_EncryptUpdate(state_->ctx, out.data() + done, &written,
                                 out.data() + done, chunk) == 1);
    KAGI_CHECK(written == chunk);
    done += static_cast<size_t>(chunk);
  }
}

}  // namespace kagi
