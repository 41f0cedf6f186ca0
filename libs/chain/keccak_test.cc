// File: libs/chain/keccak_test.cc
//
// Keccak-256 against published digests (the empty string and "abc" from the
// Keccak team's Keccak-256 values as used by Ethereum, and the ERC-20
// function selectors of EIP-20), against a slow bit-level reference written
// here from the Keccak specification (FIPS 202 section 3 step mappings, with
// the LFSR round constants and the rho offsets computed, not tabulated), and
// the permutation against OpenSSL's SHA3-256 with the 0x06 padding.
#include "libs/chain/keccak.h"

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"

namespace kagi::chain {
namespace {

std::string Hex(const Keccak256Digest& d) { return HexEncode(d); }

// --- bit-level reference ---------------------------------------------------
// State bit (x, y, z) is bit z of lane (x, y); the state string index is
// 64 * (5y + x) + z, and bytes are turned into bits least significant first.
using BitState =
    std::array<std::array<std::array<uint8_t, 64>, 5>, 5>;  // [x][y][z]

// rc(t) of FIPS 202 Algorithm 5.
uint8_t ReferenceRc(size_t t) {
  if (t % 255 == 0) {
    return 1;
  }
  std::array<uint8_t, 9> r = {1, 0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t i = 1; i <= t % 255; ++i) {
    for (size_t k = 8; k > 0; --k) {
      r[k] = r[k - 1];
    }
    r[0] = 0;
    r[0] ^= r[8];
    r[4] ^= r[8];
    r[5] ^= r[8];
    r[6] ^= r[8];
  }
  return r[0];
}

void ReferenceRound(BitState& a, size_t ir) {
  // theta
  BitState t = a;
  for (size_t x = 0; x < 5; ++x) {
    for (size_t z = 0; z < 64; ++z) {
      uint8_t c1 = 0;
      uint8_t c2 = 0;
      for (size_t y = 0; y < 5; ++y) {
        c1 ^= a[(x + 4) % 5][y][z];
        c2 ^= a[(x + 1) % 5][y][(z + 63) % 64];
      }
      for (size_t y = 0; y < 5; ++y) {
        t[x][y][z] = static_cast<uint8_t>(a[x][y][z] ^ c1 ^ c2);
      }
    }
  }
  a = t;
  // rho (Algorithm 2)
  t = a;
  size_t x = 1;
  size_t y = 0;
  for (size_t step = 0; step < 24; ++step) {
    const size_t shift = ((step + 1) * (step + 2) / 2) % 64;
    for (size_t z = 0; z < 64; ++z) {
      t[x][y][z] = a[x][y][(z + 64 - shift) % 64];
    }
    const size_t nx = y;
    const size_t ny = (2 * x + 3 * y) % 5;
    x = nx;
    y = ny;
  }
  a = t;
  // pi: A'[x, y] = A[(x + 3y) mod 5, x]
  for (size_t i = 0; i < 5; ++i) {
    for (size_t j = 0; j < 5; ++j) {
      t[i][j] = a[(i + 3 * j) % 5][i];
    }
  }
  a = t;
  // chi
  for (size_t i = 0; i < 5; ++i) {
    for (size_t j = 0; j < 5; ++j) {
      for (size_t z = 0; z < 64; ++z) {
        t[i][j][z] = static_cast<uint8_t>(
            a[i][j][z] ^ ((a[(i + 1) % 5][j][z] ^ 1) & a[(i + 2) % 5][j][z]));
      }
    }
  }
  a = t;
  // iota
  for (size_t j = 0; j <= 6; ++j) {
    a[0][0][(size_t{1} << j) - 1] ^= ReferenceRc(j + 7 * ir);
  }
}

// ReferenceSponge hashes `message` followed by the bits `suffix` (as a list
// of bits), pad10*1, rate 1088 bits, 256 output bits.
Keccak256Digest ReferenceSponge(ByteSpan message,
                                const std::vector<uint8_t>& suffix) {
  std::vector<uint8_t> bits;
  for (uint8_t byte : message) {
    for (unsigned k = 0; k < 8; ++k) {
      bits.push_back(static_cast<uint8_t>((byte >> k) & 1));
    }
  }
  bits.insert(bits.end(), suffix.begin(), suffix.end());
  constexpr size_t kRate = 1088;
  bits.push_back(1);
  while (bits.size() % kRate != kRate - 1) {
    bits.push_back(0);
  }
  bits.push_back(1);
  BitState s{};
  for (size_t block = 0; block < bits.size(); block += kRate) {
    for (size_t i = 0; i < kRate; ++i) {
      const size_t lane = i / 64;
      s[lane % 5][lane / 5][i % 64] ^= bits[block + i];
    }
    for (size_t ir = 0; ir < 24; ++ir) {
      ReferenceRound(s, ir);
    }
  }
  Keccak256Digest out{};
  for (size_t i = 0; i < 256; ++i) {
    const size_t lane = i / 64;
    out[i / 8] = static_cast<uint8_t>(
        out[i / 8] | (s[lane % 5][lane / 5][i % 64] << (i % 8)));
  }
  return out;
}

Keccak256Digest ReferenceKeccak256(ByteSpan m) {
  return ReferenceSponge(m, {});
}

Keccak256Digest OpenSslSha3_256(ByteSpan m) {
  Keccak256Digest out{};
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA3-256", nullptr);
  EXPECT_NE(md, nullptr);
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(m.data(), m.size(), out.data(), &len, md, nullptr), 1);
  EXPECT_EQ(len, 32u);
  EVP_MD_free(md);
  return out;
}

Bytes Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) {
    b = static_cast<uint8_t>(rng());
  }
  return out;
}

// --- tests -----------------------------------------------------------------

TEST(Keccak256, PublishedDigests) {
  EXPECT_EQ(Hex(Keccak256(AsBytes(""))),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(Hex(Keccak256(AsBytes("abc"))),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  EXPECT_EQ(
      Hex(Keccak256(AsBytes("The quick brown fox jumps over the lazy dog"))),
      "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

TEST(Keccak256, Erc20Selectors) {
  // EIP-20 function selectors: the first four bytes of Keccak-256 of the
  // canonical signature.
  EXPECT_EQ(HexEncode(ByteSpan(
                Keccak256(AsBytes("transfer(address,uint256)")).data(), 4)),
            "a9059cbb");
  EXPECT_EQ(HexEncode(ByteSpan(
                Keccak256(AsBytes("approve(address,uint256)")).data(), 4)),
            "095ea7b3");
}

TEST(Keccak256, ReferenceAgreesOnPublishedDigests) {
  // The slow reference itself must reproduce the published values.
  EXPECT_EQ(Hex(ReferenceKeccak256(AsBytes(""))),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(Hex(ReferenceKeccak256(AsBytes("abc"))),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(Keccak256, MatchesBitLevelReferenceAcrossRateBoundary) {
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{134}, size_t{135}, size_t{136},
        size_t{137}, size_t{271}, size_t{272}, size_t{273}, size_t{500}}) {
    const Bytes m = Pattern(n, static_cast<uint32_t>(n) + 7);
    EXPECT_EQ(Hex(Keccak256(m)), Hex(ReferenceKeccak256(m))) << "length " << n;
  }
}

TEST(Keccak256, IncrementalEqualsOneShot) {
  const Bytes m = Pattern(1000, 42);
  const Keccak256Digest expected = Keccak256(m);
  std::mt19937 rng(9);
  for (int trial = 0; trial < 50; ++trial) {
    Keccak256Hasher hasher;
    size_t pos = 0;
    while (pos < m.size()) {
      const size_t take = std::min<size_t>(m.size() - pos, rng() % 300);
      hasher.Update(ByteSpan(m.data() + pos, take));
      pos += take;
    }
    EXPECT_EQ(hasher.Final(), expected);
  }
  // Final resets the hasher.
  Keccak256Hasher hasher;
  hasher.Update(AsBytes("garbage"));
  (void)hasher.Final();
  hasher.Update(AsBytes("abc"));
  EXPECT_EQ(hasher.Final(), Keccak256(AsBytes("abc")));
}

TEST(Keccak256, Sha3VariantMatchesOpenSsl) {
  for (size_t n : {size_t{0}, size_t{3}, size_t{135}, size_t{136}, size_t{137},
                   size_t{272}, size_t{1000}}) {
    const Bytes m = Pattern(n, static_cast<uint32_t>(n));
    EXPECT_EQ(Hex(Sha3_256ForTesting(m)), Hex(OpenSslSha3_256(m)))
        << "length " << n;
  }
  const std::string million(1000000, 'a');
  EXPECT_EQ(Hex(Sha3_256ForTesting(AsBytes(million))),
            Hex(OpenSslSha3_256(AsBytes(million))));
}

TEST(Keccak256, ReferenceSha3MatchesOpenSsl) {
  // The reference with the FIPS 202 domain bits 01 is SHA3-256: this checks
  // the reference's bit ordering independently of the fast code.
  const Bytes m = Pattern(200, 5);
  EXPECT_EQ(Hex(ReferenceSponge(m, {0, 1})), Hex(OpenSslSha3_256(m)));
}

TEST(KeccakF1600, ZeroStateOnce) {
  // Run on the all-zero state and compare with the bit-level reference.
  KeccakState s{};
  KeccakF1600(s);
  BitState r{};
  for (size_t ir = 0; ir < 24; ++ir) {
    ReferenceRound(r, ir);
  }
  for (size_t lane = 0; lane < 25; ++lane) {
    uint64_t v = 0;
    for (size_t z = 0; z < 64; ++z) {
      v |= static_cast<uint64_t>(r[lane % 5][lane / 5][z]) << z;
    }
    EXPECT_EQ(s[lane], v) << "lane " << lane;
  }
}

}  // namespace
}  // namespace kagi::chain
