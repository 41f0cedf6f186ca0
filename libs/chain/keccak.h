// File: libs/chain/keccak.h
//
// Keccak-256 as Ethereum uses it: the Keccak[c=512] sponge of the original
// Keccak submission, whose padding appends the bits 1 0* 1 (first pad byte
// 0x01). It is NOT SHA3-256 (FIPS 202), which puts the domain bits 01 before
// that padding (first pad byte 0x06); the two share the permutation
// Keccak-f[1600], the 136-byte rate and the 32-byte output.
//
// Everything here is a plain, portable implementation of the Keccak team's
// specification; the inputs it is used on (transactions, addresses) are
// public, and nothing in it is meant to run in constant time on secrets
// (it happens to, having no data-dependent branches or lookups).
#ifndef KAGI_LIBS_CHAIN_KECCAK_H_
#define KAGI_LIBS_CHAIN_KECCAK_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "libs/base/bytes.h"

namespace kagi::chain {

// kKeccak256Bytes is the digest length; kKeccak256RateBytes the sponge rate
// (1600 - 2*256 bits).
inline constexpr size_t kKeccak256Bytes = 32;
inline constexpr size_t kKeccak256RateBytes = 136;

using Keccak256Digest = std::array<uint8_t, kKeccak256Bytes>;

// KeccakState is the 5x5 array of 64-bit lanes; lane (x, y) is at
// index x + 5*y, and byte i of the 200-byte state string is byte i % 8
// (little-endian) of lane i / 8.
using KeccakState = std::array<uint64_t, 25>;

// KeccakF1600 applies the 24-round permutation Keccak-f[1600] in place.
void KeccakF1600(KeccakState& state);

// Keccak256Hasher computes Keccak-256 incrementally: Update any number of
// times, then Final once. After Final the hasher is reset and may be reused.
class Keccak256Hasher {
 public:
  Keccak256Hasher() = default;

  void Update(ByteSpan data);
  Keccak256Digest Final();

 private:
  friend Keccak256Digest Sha3_256ForTesting(ByteSpan data);
  Keccak256Digest FinalWithPadByte(uint8_t first_pad_byte);

  KeccakState state_{};
  size_t position_ = 0;  // bytes absorbed into the current block, < rate
};

// Keccak256 returns the Keccak-256 digest of `data`.
Keccak256Digest Keccak256(ByteSpan data);

// Sha3_256ForTesting returns SHA3-256 (FIPS 202) of `data`: the same sponge
// with the 0x06 domain padding. It exists so that tests can check the
// permutation against OpenSSL; production code hashes with Keccak256.
Keccak256Digest Sha3_256ForTesting(ByteSpan data);

}  // namespace kagi::chain

#endif  // KAGI_LIBS_CHAIN_KECCAK_H_
