// File: libs/chain/bech32_test.cc
//
// Bech32/bech32m and segwit addresses against the test vectors published in
// BIP173 and BIP350 (typed from the BIP texts), plus round trips and the
// BIP173 example P2WPKH address.
#include "libs/chain/bech32.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"

namespace kagi::chain {
namespace {

using ::testing::HasSubstr;

struct ValidString {
  std::string text;
  Bech32Encoding encoding;
};

// BIP173 "Test vectors": valid Bech32 strings; BIP350: valid Bech32m strings.
const std::vector<ValidString>& ValidStrings() {
  static const auto* v = new std::vector<ValidString>{
      {"A12UEL5L", Bech32Encoding::kBech32},
      {"a12uel5l", Bech32Encoding::kBech32},
      {"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedc"
       "haractersbio1tt5tgs",
       Bech32Encoding::kBech32},
      {"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
       Bech32Encoding::kBech32},
      {"11"
       "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
       "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
       Bech32Encoding::kBech32},
      {"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
       Bech32Encoding::kBech32},
      {"?1ezyfcl", Bech32Encoding::kBech32},
      {"A1LQFN3A", Bech32Encoding::kBech32m},
      {"a1lqfn3a", Bech32Encoding::kBech32m},
      {"an83characterlonghumanreadablepartthatcontainsthetheexcludedcharacter"
       "sbioandnumber11sg7hg6",
       Bech32Encoding::kBech32m},
      {"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
       Bech32Encoding::kBech32m},
      {"11"
       "llllllllllllllllllllllllllllllllllllllllll"
       "llllllllllllllllllllllllllllllllllllllllludsr8",
       Bech32Encoding::kBech32m},
      {"split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
       Bech32Encoding::kBech32m},
      {"?1v759aa", Bech32Encoding::kBech32m},
  };
  return *v;
}

TEST(Bech32Test, DecodesEveryValidBip173AndBip350String) {
  for (const ValidString& vector : ValidStrings()) {
    SCOPED_TRACE(vector.text);
    absl::StatusOr<Bech32Data> decoded = Bech32Decode(vector.text);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->encoding, vector.encoding);
    // Re-encoding gives the lower-case form back.
    absl::StatusOr<std::string> encoded =
        Bech32Encode(decoded->hrp, decoded->values, decoded->encoding);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    EXPECT_EQ(*encoded, absl::AsciiStrToLower(vector.text));
  }
}

TEST(Bech32Test, ChangingOneCharacterBreaksTheChecksum) {
  absl::StatusOr<Bech32Data> ok =
      Bech32Decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw");
  ASSERT_TRUE(ok.ok());
  absl::StatusOr<Bech32Data> bad =
      Bech32Decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("checksum"));
}

struct InvalidString {
  std::string text;
  std::string reason;  // a substring of the expected error
};

// BIP173 and BIP350 "invalid" strings, with the reason the BIP gives.
TEST(Bech32Test, RefusesEveryInvalidBip173AndBip350String) {
  const std::vector<InvalidString> vectors = {
      // BIP173.
      {std::string("\x20") + "1nwldj5", "invalid character"},
      {std::string("\x7f") + "1axkwrx", "invalid character"},
      {std::string("\x80") + "1eym55h", "invalid character"},
      {"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexclude"
       "dcharactersbio1569pvx",
       "at most 90"},
      {"pzry9x0s0muk", "no separator"},
      {"1pzry9x0s0muk", "empty human-readable part"},
      {"x1b4n0q5v", "invalid data character"},
      {"li1dgmt3", "checksum needs 6"},
      {std::string("de1lg7wt") + "\xff", "invalid character"},
      {"A1G7SGD8", "checksum"},
      {"10a06t8", "empty human-readable part"},
      {"1qzzfhee", "empty human-readable part"},
      // BIP350.
      {std::string("\x20") + "1xj0phk", "invalid character"},
      {std::string("\x7f") + "1g6xzxy", "invalid character"},
      {std::string("\x80") + "1vctc34", "invalid character"},
      {"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharacte"
       "rsbioandnumber11d6pts4",
       "at most 90"},
      {"qyrz8wqd2c9m", "no separator"},
      {"1qyrz8wqd2c9m", "empty human-readable part"},
      {"y1b0jsk6g", "invalid data character"},
      {"lt1igcx5c0", "invalid data character"},
      {"in1muywd", "checksum needs 6"},
      {"mm1crxm3i", "invalid data character"},
      {"au1s5cgom", "invalid data character"},
      {"M1VUXWEZ", "checksum"},
      {"16plkw9", "empty human-readable part"},
      {"1p2gdwpf", "empty human-readable part"},
  };
  for (const InvalidString& vector : vectors) {
    SCOPED_TRACE(absl::CHexEscape(vector.text));
    absl::StatusOr<Bech32Data> decoded = Bech32Decode(vector.text);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(decoded.status().message()),
                HasSubstr(vector.reason));
  }
}

struct ValidAddress {
  std::string address;
  std::string script_pubkey_hex;
};

// BIP350 "Test vectors for v0-v16 native segregated witness addresses"
// (the v0 entries are those of BIP173). Only hrp bc/tb appear there.
TEST(SegwitAddressTest, DecodesEveryValidBip350Address) {
  const std::vector<ValidAddress> vectors = {
      {"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
       "0014751e76e8199196d454941c45d1b3a323f1433bd6"},
      {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
       "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"},
      {"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5"
       "nd6y",
       "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1"
       "b3a323f1433bd6"},
      {"BC1SW50QGDZ25J", "6002751e"},
      {"bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
       "5210751e76e8199196d454941c45d1b3a323"},
      {"tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
       "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"},
      {"tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
       "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"},
      {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
       "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"},
  };
  for (const ValidAddress& vector : vectors) {
    SCOPED_TRACE(vector.address);
    absl::StatusOr<SegwitProgram> program = DecodeSegwitAddress(vector.address);
    ASSERT_TRUE(program.ok()) << program.status();
    EXPECT_EQ(HexEncode(SegwitScriptPubKey(*program)),
              vector.script_pubkey_hex);
    const std::string lower = absl::AsciiStrToLower(vector.address);
    EXPECT_EQ(program->network, lower.substr(0, 2) == "bc" ? Network::kMainnet
                                                           : Network::kTestnet);
    absl::StatusOr<std::string> again = EncodeSegwitAddress(
        program->network, program->version, program->program);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, lower);
  }
}

// BIP173's and BIP350's invalid segwit addresses, each with the reason.
TEST(SegwitAddressTest, RefusesEveryInvalidBip173AndBip350Address) {
  const std::vector<InvalidString> vectors = {
      // BIP173.
      {"tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", "human-readable part"},
      {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"},
      {"BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", "witness version 17"},
      // The next three are bech32 with versions 1..16: BIP173 lists them for
      // their program or padding, BIP350 refuses them for the checksum
      // before that (the BIP350 list below has their bech32m variants).
      {"bc1rw5uspcuh", "must use bech32m"},
      {"bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5"
       "rljs90",
       "must use bech32m"},
      {"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "version-0 witness program"},
      {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
       "mixes upper-case"},
      {"bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "must use bech32m"},
      {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",
       "non-zero padding"},
      {"bc1gmk9yu", "empty data"},
      // BIP350.
      {"tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
       "human-readable part"},
      {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
       "must use bech32m"},
      {"tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
       "must use bech32m"},
      {"BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
       "must use bech32m"},
      {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "must use bech32,"},
      {"tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
       "must use bech32,"},
      {"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
       "invalid data character"},
      {"BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
       "witness version 17"},
      {"bc1pw5dgrnzv", "of 1 bytes"},
      {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav25"
       "3zgeav",
       "of 41 bytes"},
      {"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "version-0 witness program"},
      {"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
       "mixes upper-case"},
      {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
       "bits of padding"},
      {"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
       "non-zero padding"},
      {"bc1gmk9yu", "empty data"},
  };
  for (const InvalidString& vector : vectors) {
    SCOPED_TRACE(vector.text);
    absl::StatusOr<SegwitProgram> program = DecodeSegwitAddress(vector.text);
    ASSERT_FALSE(program.ok());
    EXPECT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(program.status().message()),
                HasSubstr(vector.reason));
  }
}

TEST(SegwitAddressTest, EncodeRefusesInvalidPrograms) {
  const Bytes twenty(20, 0xab);
  EXPECT_FALSE(EncodeSegwitAddress(Network::kMainnet, 17, twenty).ok());
  EXPECT_FALSE(EncodeSegwitAddress(Network::kMainnet, 0, Bytes(21, 0)).ok());
  EXPECT_FALSE(EncodeSegwitAddress(Network::kMainnet, 1, Bytes(1, 0)).ok());
  EXPECT_FALSE(EncodeSegwitAddress(Network::kMainnet, 1, Bytes(41, 0)).ok());
  EXPECT_TRUE(EncodeSegwitAddress(Network::kMainnet, 1, Bytes(40, 0)).ok());
}

TEST(Bech32Test, EncodeRefusesBadInput) {
  const std::vector<uint8_t> values = {0, 1, 2};
  EXPECT_FALSE(Bech32Encode("", values, Bech32Encoding::kBech32).ok());
  EXPECT_FALSE(Bech32Encode("BC", values, Bech32Encoding::kBech32).ok());
  EXPECT_FALSE(Bech32Encode("b c", values, Bech32Encoding::kBech32).ok());
  const std::vector<uint8_t> too_big = {0, 32};
  EXPECT_THAT(std::string(Bech32Encode("bc", too_big, Bech32Encoding::kBech32)
                              .status()
                              .message()),
              HasSubstr("not 5-bit"));
  const std::vector<uint8_t> long_data(82, 0);
  EXPECT_THAT(std::string(Bech32Encode("bc", long_data, Bech32Encoding::kBech32)
                              .status()
                              .message()),
              HasSubstr("at most 90"));
}

// The BIP173 example: the P2WPKH address of the generator's compressed key.
TEST(P2wpkhAddressTest, MatchesBip173Example) {
  const auto pubkey = HexDecodeFixed<33>(
      "0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798");
  ASSERT_TRUE(pubkey.ok());
  absl::StatusOr<std::string> mainnet =
      P2wpkhAddress(*pubkey, Network::kMainnet);
  ASSERT_TRUE(mainnet.ok()) << mainnet.status();
  EXPECT_EQ(*mainnet, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
  absl::StatusOr<std::string> testnet =
      P2wpkhAddress(*pubkey, Network::kTestnet);
  ASSERT_TRUE(testnet.ok());
  // BIP173 lists the same program for testnet.
  EXPECT_EQ(*testnet, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx");
  absl::StatusOr<std::string> regtest =
      P2wpkhAddress(*pubkey, Network::kRegtest);
  ASSERT_TRUE(regtest.ok());
  EXPECT_EQ(regtest->substr(0, 5), "bcrt1");
  absl::StatusOr<SegwitProgram> back = DecodeSegwitAddress(*regtest);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->network, Network::kRegtest);
  EXPECT_EQ(HexEncode(back->program),
            "751e76e8199196d454941c45d1b3a323f1433bd6");
}

TEST(P2wpkhAddressTest, RefusesAnInvalidPublicKey) {
  std::array<uint8_t, 33> bad{};
  bad[0] = 0x04;
  EXPECT_EQ(P2wpkhAddress(bad, Network::kMainnet).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NetworkTest, ParsesTheThreeNames) {
  EXPECT_EQ(*NetworkFromName("mainnet"), Network::kMainnet);
  EXPECT_EQ(*NetworkFromName("testnet"), Network::kTestnet);
  EXPECT_EQ(*NetworkFromName("regtest"), Network::kRegtest);
  EXPECT_THAT(std::string(NetworkFromName("signet").status().message()),
              HasSubstr("signet"));
  EXPECT_FALSE(NetworkFromName("Mainnet").ok());
  EXPECT_FALSE(NetworkFromName("").ok());
  for (Network n : {Network::kMainnet, Network::kTestnet, Network::kRegtest}) {
    EXPECT_EQ(*NetworkFromName(NetworkName(n)), n);
  }
}

}  // namespace
}  // namespace kagi::chain
