// File: libs/base/secret.h
//
// Types and helpers for secret memory: key shares, OT seeds, nonces,
// presignatures and everything derived from them.
//
//   * `SecureWipe` zeroes memory in a way the optimiser cannot remove.
//   * `WipingAllocator` wipes every block before it is freed, so a vector that
//     reallocates leaves no copy of its old contents behind.
//   * `SecretBytes` is a byte string that wipes itself, never prints its
//     contents (AbslStringify and operator<< print "<redacted>"), and compares
//     in constant time.
//   * `ConstantTimeEqual`, `CtMask*` and `ValueBarrier` are the small shared
//     constant-time helpers (bssl: crypto/internal.h).
//
// Secrets are reached only through explicitly named accessors (`secret()`,
// `RevealForTesting`), so a grep finds every place that touches raw material.
#ifndef KAGI_LIBS_BASE_SECRET_H_
#define KAGI_LIBS_BASE_SECRET_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "libs/base/bytes.h"

namespace kagi {

// SecureWipe zeroes `len` bytes at `ptr`; the stores are never elided.
void SecureWipe(void* ptr, size_t len);

// WipeInline zeroes a small object in place (stack temporaries in hot
// arithmetic). The empty asm statement declares that it reads the object's
// memory, so the zeroing stores cannot be removed as dead; unlike a "memory"
// clobber it does not force every other live value out to memory.
template <typename T>
inline void WipeInline(T& obj) {
  std::memset(static_cast<void*>(&obj), 0, sizeof(obj));
  __asm__ __volatile__("" : : "m"(obj));
}

// ConstantTimeEqual compares two spans. The running time depends only on the
// lengths (which are treated as public), never on the contents.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

// ValueBarrier hides `v` from the optimiser so that masks built from secrets
// are not turned back into branches.
inline uint64_t ValueBarrier(uint64_t v) {
  __asm__("" : "+r"(v));
  return v;
}

// CtMaskFromBit returns all-ones if `bit` == 1, zero if `bit` == 0.
inline uint64_t CtMaskFromBit(uint64_t bit) {
  return ValueBarrier(0) - (bit & 1);
}

// CtIsZero returns all-ones if `v` == 0, else zero, without branching.
inline uint64_t CtIsZeroMask(uint64_t v) {
  // (v | -v) has its top bit set iff v != 0.
  return CtMaskFromBit(~((v | (0 - v)) >> 63) & 1);
}

// WipingAllocator is std::allocator that wipes memory before freeing it.
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>& /*other*/) noexcept {}  // NOLINT
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) noexcept {
    SecureWipe(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>& /*other*/) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const WipingAllocator<U>& /*other*/) const noexcept {
    return false;
  }
};

// SecretBytes: an owned byte string holding secret material.
//
// It is movable and explicitly copyable (`Clone`), wiped when destroyed or
// reassigned, and never printed. Equality is constant-time in the contents.
class SecretBytes {
 public:
  SecretBytes() = default;
  // SecretBytes(n) makes n zero bytes (to be filled through mutable_data()).
  explicit SecretBytes(size_t n) : data_(n, 0) {}
  // Copies `data` (the caller should wipe its own copy if it was secret).
  explicit SecretBytes(ByteSpan data) : data_(data.begin(), data.end()) {}

  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      data_ = std::move(other.data_);
      other.data_.clear();
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { Wipe(); }

  // Clone makes an explicit copy.
  SecretBytes Clone() const { return SecretBytes(secret()); }

  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }

  // secret() is the read accessor for the raw bytes. Every use is a place
  // where secret material flows somewhere: keep them few and reviewed.
  ByteSpan secret() const { return ByteSpan(data_.data(), data_.size()); }
  uint8_t* mutable_data() { return data_.data(); }
  absl::Span<uint8_t> mutable_span() {
    return absl::Span<uint8_t>(data_.data(), data_.size());
  }

  // Wipe zeroes the contents and makes the string empty.
  void Wipe() {
    SecureWipe(data_.data(), data_.size());
    data_.clear();
  }

  friend bool operator==(const SecretBytes& a, const SecretBytes& b) {
    return ConstantTimeEqual(a.secret(), b.secret());
  }
  friend bool operator!=(const SecretBytes& a, const SecretBytes& b) {
    return !(a == b);
  }

  template <typename Sink>
  friend void AbslStringify(Sink& sink, const SecretBytes& s) {
    sink.Append("SecretBytes(<redacted> ");
    sink.Append(std::to_string(s.size()));
    sink.Append(" bytes)");
  }
  friend std::ostream& operator<<(std::ostream& os, const SecretBytes& s) {
    return os << "SecretBytes(<redacted> " << s.size() << " bytes)";
  }

 private:
  std::vector<uint8_t, WipingAllocator<uint8_t>> data_;
};

}  // namespace kagi

#endif  // KAGI_LIBS_BASE_SECRET_H_
