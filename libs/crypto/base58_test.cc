#include "libs/crypto/base58.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/check.h"
#include "libs/base/rng.h"
#include "tests/testing/vectors.h"

namespace kagi::crypto {
namespace {

using ::testing::HasSubstr;

Bytes Hex(absl::string_view hex) { return kagi::testing::HexOrDie(hex); }

// Cases from Bitcoin Core's src/test/data/base58_encode_decode.json.
struct Base58Case {
  const char* hex;
  const char* text;
};
const Base58Case kBase58Cases[] = {
    {"", ""},
    {"61", "2g"},
    {"626262", "a3gV"},
    {"636363", "aPEr"},
    {"73696d706c792061206c6f6e6720737472696e67",
     "2cFupjhnEsSn59qHXstmK2ffpLv2"},
    {"00eb15231dfceb60925886b67d065299925915aeb172c06647",
     "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
    {"516b6fcd0f", "ABnLTmg"},
    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
    {"572e4794", "3EFU7m"},
    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
    {"10c8511e", "Rt5zm"},
    {"00000000000000000000", "1111111111"},
    {"000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd4"
     "3dc62a641155a5",
     "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"},
};

TEST(Base58Test, EncodesKnownVectors) {
  for (const Base58Case& c : kBase58Cases) {
    EXPECT_EQ(Base58Encode(Hex(c.hex)), c.text) << c.hex;
  }
}

TEST(Base58Test, DecodesKnownVectors) {
  for (const Base58Case& c : kBase58Cases) {
    absl::StatusOr<Bytes> decoded = Base58Decode(c.text);
    ASSERT_TRUE(decoded.ok()) << c.text << ": " << decoded.status();
    EXPECT_EQ(HexEncode(*decoded), c.hex) << c.text;
  }
}

TEST(Base58Test, EncodesAllByteValues) {
  Bytes all(256);
  for (size_t i = 0; i < all.size(); ++i) {
    all[i] = static_cast<uint8_t>(i);
  }
  // Also from Bitcoin Core's base58_encode_decode.json.
  const std::string text = Base58Encode(all);
  EXPECT_EQ(text,
            "1cWB5HCBdLjAuqGGReWE3R3CguuwSjw6RHn39s2yuDRTS5NsBgNiFpWgAnEx6VQi"
            "8csexkgYw3mdYrMHr8x9i7aEwP8kZ7vccXWqKDvGv3u1GxFKPuAkn8JCPPGDMf3v"
            "MMnbzm6Nh9zh1gcNsMvH3ZNLmP5fSG6DGbbi2tuwMWPthr4boWwCxf7ewSgNQeac"
            "yozhKDDQQ1qL5fQFUW52QKUZDZ5fw3KXNQJMcNTcaB723LchjeKun7MuGW5qyCBZ"
            "YzA1KjofN1gYBV3NqyhQJ3Ns746GNuf9N2pQPmHz4xpnSrrfCvy6TVVz5d4Pdrje"
            "shsWQwpZsZGzvbdAdN8MKV5QsBDY");
  absl::StatusOr<Bytes> back = Base58Decode(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

TEST(Base58Test, LeadingZeroBytesBecomeLeadingOnes) {
  EXPECT_EQ(Base58Encode(Bytes{0}), "1");
  EXPECT_EQ(Base58Encode(Bytes{0, 0, 0}), "111");
  EXPECT_EQ(Base58Encode(Bytes{0, 0, 0x61}), "112g");
  EXPECT_EQ(*Base58Decode("1"), Bytes{0});
  EXPECT_EQ(*Base58Decode("112g"), (Bytes{0, 0, 0x61}));
  // A '1' after the first other digit is the digit zero, not a zero byte.
  EXPECT_EQ(*Base58Decode("21"), Bytes{58});
}

TEST(Base58Test, RoundTripsRandomDataWithLeadingZeros) {
  InsecureDeterministicRng rng(58);
  for (size_t len = 0; len < 80; ++len) {
    for (size_t zeros = 0; zeros <= std::min<size_t>(len, 5); ++zeros) {
      Bytes data(len);
      if (len > 0) {  // rng.cc memsets data() even when empty (UBSan)
        rng.Fill(absl::MakeSpan(data));
      }
      for (size_t i = 0; i < zeros; ++i) {
        data[i] = 0;
      }
      const std::string text = Base58Encode(data);
      absl::StatusOr<Bytes> back = Base58Decode(text);
      ASSERT_TRUE(back.ok()) << text;
      ASSERT_EQ(*back, data) << text;
      // The encoding is canonical in the other direction too.
      ASSERT_EQ(Base58Encode(*back), text);
    }
  }
}

TEST(Base58Test, RejectsInvalidCharactersNamingThePosition) {
  const struct {
    absl::string_view text;
    absl::string_view want;
  } kCases[] = {
      {"0", "'0' at position 0"},
      {"2gO", "'O' at position 2"},
      {"a3gI", "'I' at position 3"},
      {"l", "'l' at position 0"},
      {"2g ", "' ' at position 2"},
      {" 2g", "' ' at position 0"},
      {"2g\n", "byte 0x0a at position 2"},
      {"11+", "'+' at position 2"},
      {absl::string_view("2g\0", 3), "byte 0x00 at position 2"},
      {"2g\xc3\xa9", "byte 0xc3 at position 2"},
  };
  for (const auto& c : kCases) {
    absl::StatusOr<Bytes> r = Base58Decode(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("base58: invalid character"));
    EXPECT_THAT(r.status().message(), HasSubstr(c.want));
  }
}

TEST(Base58Test, RejectsOverlongInput) {
  EXPECT_TRUE(Base58Decode(std::string(kBase58MaxDecodeChars, 'z')).ok());
  EXPECT_THAT(Base58Decode(std::string(kBase58MaxDecodeChars + 1, 'z'))
                  .status()
                  .message(),
              HasSubstr("limit"));
}

// The genesis block's coinbase address: version 0x00 ‖ HASH160(pubkey).
constexpr char kGenesisPayload[] = "0062e907b15cbf27d5425399ebf6f0fb50ebb88f18";
constexpr char kGenesisAddress[] = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
constexpr char kGenesisChecksum[] = "c29b7d93";

TEST(Base58CheckTest, EncodesAndDecodesTheGenesisAddress) {
  const Bytes payload = Hex(kGenesisPayload);
  EXPECT_EQ(Base58CheckEncode(payload), kGenesisAddress);
  absl::StatusOr<Bytes> back = Base58CheckDecode(kGenesisAddress);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, payload);
}

TEST(Base58CheckTest, RoundTripsRandomPayloads) {
  InsecureDeterministicRng rng(4);
  for (size_t len = 0; len < 100; ++len) {
    Bytes data(len);
    if (len > 0) {  // rng.cc memsets data() even when empty (UBSan)
      rng.Fill(absl::MakeSpan(data));
      data[0] = 0;
    }
    absl::StatusOr<Bytes> back = Base58CheckDecode(Base58CheckEncode(data));
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(*back, data);
  }
}

TEST(Base58CheckTest, EmptyPayloadIsJustTheChecksum) {
  const std::string text = Base58CheckEncode({});
  absl::StatusOr<Bytes> raw = Base58Decode(text);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), kBase58CheckChecksumBytes);
  absl::StatusOr<Bytes> back = Base58CheckDecode(text);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(Base58CheckTest, RejectsBadChecksum) {
  const Bytes raw = Hex(std::string(kGenesisPayload) + kGenesisChecksum);
  ASSERT_TRUE(Base58CheckDecode(Base58Encode(raw)).ok());
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = raw;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      absl::StatusOr<Bytes> r = Base58CheckDecode(Base58Encode(bad));
      ASSERT_FALSE(r.ok()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(r.status().message(),
                  HasSubstr("base58check: checksum mismatch"));
    }
  }
  // Bitcoin Core's encode/decode vector for this kind of string is plain
  // Base58: its last four bytes are not a valid checksum.
  EXPECT_THAT(Base58CheckDecode("1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L")
                  .status()
                  .message(),
              HasSubstr("checksum mismatch"));
}

TEST(Base58CheckTest, RejectsInputShorterThanTheChecksum) {
  for (absl::string_view text : {"", "1", "2g", "111", "a3gV"}) {
    absl::StatusOr<Bytes> r = Base58CheckDecode(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_THAT(r.status().message(), HasSubstr("base58check: too short"))
        << text;
  }
}

TEST(Base58CheckTest, PassesThroughBase58Errors) {
  EXPECT_THAT(Base58CheckDecode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNl")
                  .status()
                  .message(),
              HasSubstr("invalid character 'l' at position 33"));
}

}  // namespace
}  // namespace kagi::crypto
