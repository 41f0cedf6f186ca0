// File: libs/chain/bitcoin_tx_test.cc
//
// Transaction (de)serialization: the BIP143 example transactions (typed
// from the BIP text) round-trip in legacy and witness form, strictness
// (non-minimal compact sizes, empty witness form, trailing bytes, counts
// larger than the input) and a seeded mutation test.
#include "libs/chain/bitcoin_tx.h"

#include <cstddef>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "tests/testing/vectors.h"

namespace kagi::chain {
namespace {

using ::testing::HasSubstr;

Bytes Hex(const std::string& hex) { return testing::HexOrDie(hex); }

// BIP143 "Native P2WPKH": unsigned and signed.
constexpr char kUnsigned[] =
    "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f"
    "0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d"
    "57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f6"
    "6f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2"
    "d50ce2f0167faa815988ac11000000";
constexpr char kSigned[] =
    "01000000000102fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4"
    "ad969f00000000494830450221008b9d1dc26ba6a9cb62127b02742fa9d754cd3bebf337"
    "f7a55d114c8e5cdd30be022040529b194ba3f9281a99f2b1c0a19c0489bc22ede944ccf4"
    "ecbab4cc618ef3ed01eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287"
    "d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df3"
    "78db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4d"
    "be6a21b2d50ce2f0167faa815988ac000247304402203609e17b84f6a7d30c80bfa610b5"
    "b4542f32a8a0d5447a12fb1366d7f01cc44a0220573a954c4518331561406f90300e8f33"
    "58f51928d43c212a8caed02de67eebee0121025476c2e83188368da1ff3e292e7acafcdb"
    "3566bb0ad253f62fc70f07aeee635711000000";

TEST(BitcoinTxTest, DecodesBip143UnsignedExample) {
  absl::StatusOr<Transaction> tx = DecodeTransaction(Hex(kUnsigned));
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(tx->version, 1);
  ASSERT_EQ(tx->inputs.size(), 2u);
  EXPECT_EQ(tx->inputs[0].sequence, 0xffffffeeu);
  EXPECT_EQ(tx->inputs[1].prevout.index, 1u);
  ASSERT_EQ(tx->outputs.size(), 2u);
  EXPECT_EQ(tx->outputs[0].amount, 112340000u);  // 1.1234 BTC
  EXPECT_EQ(tx->outputs[1].amount, 223450000u);  // 2.2345 BTC
  EXPECT_EQ(tx->locktime, 17u);
  EXPECT_FALSE(tx->HasWitness());
  EXPECT_EQ(HexEncode(EncodeTransaction(*tx)), kUnsigned);
}

TEST(BitcoinTxTest, SignedExampleRoundTripsAndStripsToUnsignedTxid) {
  absl::StatusOr<Transaction> tx = DecodeTransaction(Hex(kSigned));
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_TRUE(tx->HasWitness());
  EXPECT_TRUE(tx->inputs[0].witness.empty());
  ASSERT_EQ(tx->inputs[1].witness.size(), 2u);
  EXPECT_EQ(tx->inputs[1].witness[1].size(), 33u);
  EXPECT_EQ(HexEncode(EncodeTransaction(*tx)), kSigned);
  // Legacy form is refused where only legacy is allowed.
  EXPECT_THAT(
      DecodeTransaction(Hex(kSigned), TxFormat::kLegacyOnly).status().message(),
      HasSubstr("witness serialization"));
  // The txid ignores witnesses.
  Transaction stripped = *tx;
  for (TxIn& in : stripped.inputs) in.witness.clear();
  EXPECT_EQ(Txid(stripped), Txid(*tx));
}

TEST(BitcoinTxTest, StrictDecoding) {
  // Non-minimal compact size for the input count (0xfd 0x02 0x00).
  std::string hex = kUnsigned;
  hex.replace(8, 2, "fd0200");
  EXPECT_THAT(DecodeTransaction(Hex(hex)).status().message(),
              HasSubstr("non-canonical compact size"));
  // Trailing byte.
  EXPECT_THAT(
      DecodeTransaction(Hex(std::string(kUnsigned) + "00")).status().message(),
      HasSubstr("1 trailing bytes"));
  // Witness form whose witnesses are all empty.
  EXPECT_THAT(DecodeTransaction(Hex("020000000001"
                                    "01" +
                                    std::string(64, 'a') +
                                    "00000000"
                                    "00"
                                    "ffffffff"
                                    "00"
                                    "00"
                                    "00000000"))
                  .status()
                  .message(),
              HasSubstr("every witness is empty"));
  // An input count far beyond the bytes present.
  EXPECT_THAT(DecodeTransaction(Hex("02000000feffffff00")).status().message(),
              HasSubstr("exceeds what"));
  // Amount above 21e6 BTC.
  EXPECT_THAT(DecodeTxOut(Hex("ffffffffffffffff00")).status().message(),
              HasSubstr("exceeds 21e6 BTC"));
  EXPECT_THAT(DecodeTransaction(Hex("0200")).status().message(),
              HasSubstr("truncated tx: version"));
}

TEST(BitcoinTxTest, CompactSizeBoundaries) {
  for (uint64_t v : {0ull, 0xfcull, 0xfdull, 0xffffull, 0x10000ull,
                     0xffffffffull, 0x100000000ull}) {
    Bytes b;
    AppendCompactSize(v, b);
    TxReader r(b);
    absl::StatusOr<uint64_t> got = r.ReadCompactSize("n");
    ASSERT_TRUE(got.ok()) << v;
    EXPECT_EQ(*got, v);
    EXPECT_EQ(r.remaining(), 0u);
  }
  for (const char* bad : {"fdfc00", "feffff0000", "ffffffffff00000000"}) {
    const Bytes raw = Hex(bad);
    TxReader r(raw);
    EXPECT_FALSE(r.ReadCompactSize("n").ok()) << bad;
  }
}

TEST(BitcoinTxTest, SeededMutationsNeverCrash) {
  std::mt19937_64 rng(0x747831);
  size_t total = 0;
  for (const char* seed : {kUnsigned, kSigned}) {
    const Bytes base = Hex(seed);
    for (int round = 0; round < 1500; ++round) {
      Bytes m = base;
      const size_t pos = static_cast<size_t>(rng() % m.size());
      switch (rng() % 4) {
        case 0:
          m[pos] = static_cast<uint8_t>(rng());
          break;
        case 1:
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(pos),
                   static_cast<uint8_t>(rng()));
          break;
        case 2:
          m.erase(m.begin() + static_cast<std::ptrdiff_t>(pos));
          break;
        default:
          m.resize(pos);
      }
      ++total;
      absl::StatusOr<Transaction> tx = DecodeTransaction(m);
      if (!tx.ok()) {
        ASSERT_EQ(tx.status().code(), absl::StatusCode::kInvalidArgument);
        continue;
      }
      // Whatever decodes is canonical: it re-encodes to the same bytes.
      EXPECT_EQ(EncodeTransaction(*tx), m);
    }
  }
  EXPECT_EQ(total, 3000u);
}

}  // namespace
}  // namespace kagi::chain
