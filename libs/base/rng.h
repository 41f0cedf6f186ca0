// File: libs/base/rng.h
//
// Randomness is always passed in: protocol code takes an `Rng&` and never
// reaches for a global source (STYLE.md §5).
//
//   * `OsRng` draws from OpenSSL's RAND_bytes (the OS-seeded DRBG). A failure
//     of the system's randomness is not recoverable and aborts the process.
//   * `InsecureDeterministicRng` is a seeded stream (AES-256-CTR keyed by
//     SHA-256 of the seed) for tests, simulations and known-answer files. As
//     its name says, it must never be used for real key material.
//
// Thread safety: an Rng instance is not thread-safe; OsRng is stateless and
// may be shared.
#ifndef KAGI_LIBS_BASE_RNG_H_
#define KAGI_LIBS_BASE_RNG_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/types/span.h"
#include "libs/base/bytes.h"

namespace kagi {

class Rng {
 public:
  virtual ~Rng() = default;
  // Fill writes out.size() random bytes to `out`.
  virtual void Fill(absl::Span<uint8_t> out) = 0;

  // Convenience: N random bytes.
  template <size_t N>
  std::array<uint8_t, N> Bytes() {
    std::array<uint8_t, N> out{};
    Fill(absl::Span<uint8_t>(out.data(), out.size()));
    return out;
  }
};

class OsRng final : public Rng {
 public:
  void Fill(absl::Span<uint8_t> out) override;
};

class InsecureDeterministicRng final : public Rng {
 public:
  // The stream is a pure function of `seed`.
  explicit InsecureDeterministicRng(uint64_t seed);
  explicit InsecureDeterministicRng(ByteSpan seed);
  ~InsecureDeterministicRng() override;
  InsecureDeterministicRng(const InsecureDeterministicRng&) = delete;
  InsecureDeterministicRng& operator=(const InsecureDeterministicRng&) = delete;

  void Fill(absl::Span<uint8_t> out) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kagi

#endif  // KAGI_LIBS_BASE_RNG_H_
