// File: libs/crypto/prefix_hash.h
//
// `PrefixHasher`: fast SHA-256 transcripts that share a one-block prefix, for
// the hot loops of OT extension (PRG seed expansion, row hashing, the gadget
// vector), where thousands of short hashes share the same tag and session.
//
// The encoding is exactly the Transcript encoding (transcript.h), so domain
// separation is unchanged:
//
//   Hash(index, data, counter) =
//     H(tag, key, pad, u32 index, data, u8 counter)
//
// where `key` is 32 bytes (a session id) and `pad` is a field of zero bytes
// sized so that enc("kagi/v1") ‖ enc(tag) ‖ enc(key) ‖ enc(pad) is exactly
// one 64-byte SHA-256 block. That block's compression is done once, at
// construction; each Hash then costs one more compression when
// len(data) <= 32. transcript_test-style equivalence is checked in
// prefix_hash_test.cc against Transcript itself.
//
// `data` may be secret (OT seeds and rows): the internal state is wiped.
// Thread-compatible: const methods may be called concurrently.
#ifndef KAGI_LIBS_CRYPTO_PREFIX_HASH_H_
#define KAGI_LIBS_CRYPTO_PREFIX_HASH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/types/span.h"
#include "libs/base/bytes.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/tags.h"

namespace kagi::crypto {

// One input to PrefixHasher::HashBatch.
struct PrefixHashInput {
  uint32_t index = 0;
  ByteSpan data;
  uint8_t counter = 0;
};

class PrefixHasher {
 public:
  PrefixHasher(Tag tag, const std::array<uint8_t, 32>& key);
  ~PrefixHasher();
  PrefixHasher(const PrefixHasher&) = delete;
  PrefixHasher& operator=(const PrefixHasher&) = delete;

  // Hash returns H(tag, key, pad, u32 index, data, u8 counter).
  Digest32 Hash(uint32_t index, ByteSpan data, uint8_t counter) const;

  // Hash3 sets out[c] = Hash(index, data, c) for c = 0, 1, 2 (computed
  // together: three interleaved compressions with SHA-NI).
  void Hash3(uint32_t index, ByteSpan data, std::array<Digest32, 3>& out) const;

  // HashBatch sets out[i] = Hash(in[i].index, in[i].data, in[i].counter);
  // with SHA-NI it compresses six blocks at a time, interleaved.
  void HashBatch(absl::Span<const PrefixHashInput> in,
                 absl::Span<Digest32> out) const;

  // Expand fills `out` with Hash(index, data, 0) ‖ Hash(index, data, 1) ‖ …
  // truncated to out.size() (at most 255 blocks of 32 bytes).
  void Expand(uint32_t index, ByteSpan data, absl::Span<uint8_t> out) const;

  // ShaExtensionsInUse tells whether Hash uses the SHA-NI single-block path
  // (CPUs with the SHA extensions, data up to 38 bytes); otherwise it goes
  // through OpenSSL's SHA-256 on the same midstate. Both give the same bytes.
  static bool ShaExtensionsInUse();
  // SetShaExtensionsEnabledForTesting forces the OpenSSL path (false) or
  // re-enables SHA-NI where the CPU has it (true). Returns the previous
  // setting. Process-wide; for tests and benchmarks only.
  static bool SetShaExtensionsEnabledForTesting(bool enabled);

  // PaddingLength returns the length of the `pad` field for `tag`.
  static size_t PaddingLength(Tag tag);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_PREFIX_HASH_H_
