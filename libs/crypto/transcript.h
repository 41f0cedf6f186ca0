// File: libs/crypto/transcript.h
//
// Domain-separated hashing exactly as PROTOCOL.md §2:
//
//   enc(x)  = u32 big-endian length ‖ x
//   input   = enc("kagi/v1") ‖ enc(tag name ‖ version) ‖ enc(f1) ‖ … ‖ enc(fk)
//   H(...)  = SHA-256(input)                       32 bytes
//   Hn(...) = SHAKE256(input, 64 bytes) mod n       a Scalar
//   XOF(..., L) = SHAKE256(input, L bytes)
//
// Integers are fixed-width big-endian, scalars 32 bytes, points 33 bytes
// compressed; a list field is u32 count ‖ enc(item)… and is itself enc'd as
// one field. Never hash a bare concatenation.
//
// Usage:
//   Digest32 sid0 = Transcript(Tag::kSetup).Add(setup_bytes).H();
//   Scalar e = Transcript(Tag::kPok).Add(sid).AddU32(i).AddPoint(A).Hn();
//
// The transcript buffers its input in wiped memory, so secret fields (OT
// seeds, shares) may be added. A Transcript is finished by
// H / Hn / Xof (they do not modify it).
#ifndef KAGI_LIBS_CRYPTO_TRANSCRIPT_H_
#define KAGI_LIBS_CRYPTO_TRANSCRIPT_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "libs/base/bytes.h"
#include "libs/base/secret.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/crypto/tags.h"

namespace kagi::crypto {

class Transcript {
 public:
  explicit Transcript(Tag tag);
  Transcript(Transcript&&) = default;
  Transcript& operator=(Transcript&&) = default;
  Transcript(const Transcript&) = delete;
  Transcript& operator=(const Transcript&) = delete;

  // Add appends one field, enc(bytes).
  Transcript& Add(ByteSpan bytes);
  Transcript& AddU32(uint32_t v);
  Transcript& AddU64(uint64_t v);
  Transcript& AddScalar(const Scalar& s);
  Transcript& AddPoint(const Point& p);
  // AddList appends one field holding u32 count ‖ enc(item) for each item.
  Transcript& AddList(absl::Span<const ByteSpan> items);
  Transcript& AddPointList(absl::Span<const Point> points);

  // H finishes with SHA-256.
  Digest32 H() const;
  // Hn finishes with 64 bytes of SHAKE256 reduced mod n.
  Scalar Hn() const;
  // Xof finishes with out.size() bytes of SHAKE256.
  void Xof(absl::Span<uint8_t> out) const;

  // The exact bytes that would be hashed (for tests and debugging).
  ByteSpan EncodedForTesting() const {
    return ByteSpan(buf_.data(), buf_.size());
  }

 private:
  void AppendField(ByteSpan bytes);
  std::vector<uint8_t, WipingAllocator<uint8_t>> buf_;
};

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_TRANSCRIPT_H_
