// File: libs/chain/script_test.cc
//
// scriptPubKey classification and addresses. Segwit vectors are typed from
// BIP173/BIP350 ("Test vectors": BC1QW508... and the bc1p0xlx... P2TR of
// the generator's x coordinate) and BIP86 (first receiving address of
// account 0). Base58 addresses: the well-known mainnet addresses
// 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 (P2PKH) and
// 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy (P2SH) are decoded with Base58Check
// and must come back unchanged from the script we build of their hash; the
// testnet P2SH 2MsvmB4K5yFMxAdFhGyGW87SeWrPRSksRYJ has the published
// scriptPubKey a914077a414c3d707eaff2718369bad42b26878279c887.
#include "libs/chain/script.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/crypto/base58.h"
#include "tests/testing/vectors.h"

namespace kagi::chain {
namespace {

using ::testing::HasSubstr;

Bytes Hex(const std::string& hex) { return testing::HexOrDie(hex); }

std::string Address(const std::string& script_hex, Network network) {
  absl::StatusOr<std::string> a = ScriptAddress(Hex(script_hex), network);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : "";
}

TEST(ScriptTest, SegwitAddresses) {
  EXPECT_EQ(
      ClassifyScript(Hex("0014751e76e8199196d454941c45d1b3a323f1433bd6")).type,
      ScriptType::kP2wpkh);
  EXPECT_EQ(Address("0014751e76e8199196d454941c45d1b3a323f1433bd6",
                    Network::kMainnet),
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
  EXPECT_EQ(Address("512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2"
                    "815b16f81798",
                    Network::kMainnet),
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0");
  EXPECT_EQ(Address("5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6"
                    "880949dc684c",
                    Network::kMainnet),
            "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr");
  // P2WSH: round trip through the segwit address decoder.
  const Bytes wsh = P2wshScript(Bytes(32, 0x11));
  EXPECT_EQ(ClassifyScript(wsh).type, ScriptType::kP2wsh);
  for (Network n : {Network::kMainnet, Network::kTestnet, Network::kRegtest}) {
    absl::StatusOr<std::string> a = ScriptAddress(wsh, n);
    ASSERT_TRUE(a.ok());
    absl::StatusOr<SegwitProgram> p = DecodeSegwitAddress(*a);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->network, n);
    EXPECT_EQ(SegwitScriptPubKey(*p), wsh);
  }
}

TEST(ScriptTest, Base58Addresses) {
  for (const std::string& addr :
       {std::string("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        std::string("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")}) {
    absl::StatusOr<Bytes> payload = crypto::Base58CheckDecode(addr);
    ASSERT_TRUE(payload.ok());
    ASSERT_EQ(payload->size(), 21u);
    const ByteSpan hash = ByteSpan(*payload).subspan(1);
    const bool p2pkh = addr[0] == '1';
    EXPECT_EQ((*payload)[0], p2pkh ? 0x00 : 0x05);
    const Bytes script = p2pkh ? P2pkhScript(hash) : P2shScript(hash);
    EXPECT_EQ(ClassifyScript(script).type,
              p2pkh ? ScriptType::kP2pkh : ScriptType::kP2sh);
    absl::StatusOr<std::string> back = ScriptAddress(script, Network::kMainnet);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, addr);
  }
  EXPECT_EQ(Address("a914077a414c3d707eaff2718369bad42b26878279c887",
                    Network::kTestnet),
            "2MsvmB4K5yFMxAdFhGyGW87SeWrPRSksRYJ");
  EXPECT_EQ(Address("a914077a414c3d707eaff2718369bad42b26878279c887",
                    Network::kRegtest),
            "2MsvmB4K5yFMxAdFhGyGW87SeWrPRSksRYJ");
  // Testnet P2PKH uses version 0x6f: addresses start with m or n.
  const std::string t = Address(
      "76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac", Network::kTestnet);
  EXPECT_TRUE(t[0] == 'm' || t[0] == 'n') << t;
}

TEST(ScriptTest, OtherScriptsHaveNoAddress) {
  for (const char* hex :
       {"", "6a0100", "0014751e76e8199196d454941c45d1b3a323f1433b",
        "5214751e76e8199196d454941c45d1b3a323f1433bd6",
        "76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ad"}) {
    EXPECT_EQ(ClassifyScript(Hex(hex)).type, ScriptType::kOther) << hex;
    EXPECT_THAT(ScriptAddress(Hex(hex), Network::kMainnet).status().message(),
                HasSubstr("no address"))
        << hex;
  }
  EXPECT_EQ(ScriptTypeName(ScriptType::kP2tr), "p2tr");
}

}  // namespace
}  // namespace kagi::chain
