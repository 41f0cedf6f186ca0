// File: libs/chain/keccak.cc
//
// Keccak-f[1600] and the Keccak-256 sponge; see keccak.h. The permutation is
// written as the five step mappings of the specification (theta, rho, pi,
// chi, iota) on 64-bit lanes, one round at a time.
#include "libs/chain/keccak.h"

#include <array>
#include <cstddef>
#include <cstdint>

namespace kagi::chain {
namespace {

constexpr size_t kRounds = 24;

// Round constants of iota (the output of the degree-8 LFSR of the
// specification, bits placed at positions 2^j - 1).
constexpr std::array<uint64_t, kRounds> kRoundConstants = {
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a,
    0x8000000080008000, 0x000000000000808b, 0x0000000080000001,
    0x8000000080008081, 0x8000000000008009, 0x000000000000008a,
    0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
    0x000000008000808b, 0x800000000000008b, 0x8000000000008089,
    0x8000000000008003, 0x8000000000008002, 0x8000000000000080,
    0x000000000000800a, 0x800000008000000a, 0x8000000080008081,
    0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
};

// Rotation offsets of rho, indexed x + 5*y.
constexpr std::array<unsigned, 25> kRhoOffsets = {
    0,  1,  62, 28, 27,  // y = 0
    36, 44, 6,  55, 20,  // y = 1
    3,  10, 43, 25, 39,  // y = 2
    41, 45, 15, 21, 8,   // y = 3
    18, 2,  61, 56, 14,  // y = 4
};

constexpr uint64_t Rotl(uint64_t v, unsigned n) {
  return n == 0 ? v : (v << n) | (v >> (64 - n));
}

void XorByte(KeccakState& state, size_t index, uint8_t byte) {
  state[index / 8] ^= static_cast<uint64_t>(byte) << (8 * (index % 8));
}

}  // namespace

void KeccakF1600(KeccakState& a) {
  for (size_t round = 0; round < kRounds; ++round) {
    // theta: add to each bit the parities of two neighbouring columns.
    std::array<uint64_t, 5> c{};
    for (size_t x = 0; x < 5; ++x) {
      c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    }
    for (size_t x = 0; x < 5; ++x) {
      const uint64_t d = c[(x + 4) % 5] ^ Rotl(c[(x + 1) % 5], 1);
      for (size_t y = 0; y < 25; y += 5) {
        a[x + y] ^= d;
      }
    }
    // rho and pi: B[y, 2x + 3y] = rotl(A[x, y], r[x, y]).
    KeccakState b{};
    for (size_t x = 0; x < 5; ++x) {
      for (size_t y = 0; y < 5; ++y) {
        b[y + 5 * ((2 * x + 3 * y) % 5)] =
            Rotl(a[x + 5 * y], kRhoOffsets[x + 5 * y]);
      }
    }
    // chi: A[x, y] = B[x, y] ^ (~B[x+1, y] & B[x+2, y]).
    for (size_t y = 0; y < 25; y += 5) {
      for (size_t x = 0; x < 5; ++x) {
        a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
      }
    }
    // iota.
    a[0] ^= kRoundConstants[round];
  }
}

void Keccak256Hasher::Update(ByteSpan data) {
  for (uint8_t byte : data) {
    XorByte(state_, position_, byte);
    if (++position_ == kKeccak256RateBytes) {
      KeccakF1600(state_);
      position_ = 0;
    }
  }
}

Keccak256Digest Keccak256Hasher::FinalWithPadByte(uint8_t first_pad_byte) {
  // pad10*1 on whole bytes: the first pad byte carries the domain bits and
  // the leading 1, the last byte of the block carries the final 1 (both in
  // the same byte when only one byte of the block is left).
  XorByte(state_, position_, first_pad_byte);
  XorByte(state_, kKeccak256RateBytes - 1, 0x80);
  KeccakF1600(state_);
  Keccak256Digest out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(state_[i / 8] >> (8 * (i % 8)));
  }
  state_ = KeccakState{};
  position_ = 0;
  return out;
}

Keccak256Digest Keccak256Hasher::Final() { return FinalWithPadByte(0x01); }

Keccak256Digest Keccak256(ByteSpan data) {
  Keccak256Hasher hasher;
  hasher.Update(data);
  return hasher.Final();
}

Keccak256Digest Sha3_256ForTesting(ByteSpan data) {
  Keccak256Hasher hasher;
  hasher.Update(data);
  return hasher.FinalWithPadByte(0x06);
}

}  // namespace kagi::chain
