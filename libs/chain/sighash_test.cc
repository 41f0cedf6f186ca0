// File: libs/chain/sighash_test.cc
//
// BIP143 and legacy SIGHASH_ALL digests against the BIP143 "Example"
// section (typed from the BIP text): the Native P2WPKH and P2SH-P2WPKH
// examples' midstate hashes, preimages and sighashes, and the published
// signatures, which must verify under the computed digests. The legacy
// digest is checked by verifying the signature BIP143 publishes for the
// first input of the Native P2WPKH example (a P2PK input signed with the
// legacy algorithm).
#include "libs/chain/sighash.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/chain/bitcoin_tx.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/point.h"
#include "tests/testing/vectors.h"

namespace kagi::chain {
namespace {

using ::testing::HasSubstr;

Bytes Hex(const std::string& hex) { return testing::HexOrDie(hex); }

// Verifies DER signature (without the sighash byte) of `digest` by `pubkey`.
void ExpectSignatureVerifies(const std::string& pubkey_hex,
                             const std::string& der_hex,
                             const crypto::Digest32& digest) {
  absl::StatusOr<crypto::Point> pub = crypto::Point::FromSec1(Hex(pubkey_hex));
  ASSERT_TRUE(pub.ok()) << pub.status();
  absl::StatusOr<crypto::CompactSignature> sig =
      crypto::EcdsaSignatureFromDer(Hex(der_hex));
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(crypto::EcdsaVerify(*pub, digest, *sig).ok());
}

// BIP143 "Native P2WPKH".
constexpr char kNativeUnsigned[] =
    "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f"
    "0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d"
    "57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f6"
    "6f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2"
    "d50ce2f0167faa815988ac11000000";

TEST(SighashTest, Bip143NativeP2wpkh) {
  absl::StatusOr<Transaction> tx = DecodeTransaction(Hex(kNativeUnsigned));
  ASSERT_TRUE(tx.ok()) << tx.status();
  const Bip143Hashes h = ComputeBip143Hashes(*tx);
  EXPECT_EQ(HexEncode(h.hash_prevouts),
            "96b827c8483d4e9b96712b6713a7b68d6e8003a781feba36c31143470b4efd37");
  EXPECT_EQ(HexEncode(h.hash_sequence),
            "52b0a642eea2fb7ae638c36f6252b6750293dbe574a806984b8e4d8548339a3b");
  EXPECT_EQ(HexEncode(h.hash_outputs),
            "863ef3e1a92afbfdb97f31ad0fc7683ee943e9abcf2501590ff8f6551f47e5e5");

  const TxOut spent{600000000,
                    Hex("00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1")};
  absl::StatusOr<Bytes> code = P2wpkhScriptCode(spent.script_pubkey);
  ASSERT_TRUE(code.ok());
  absl::StatusOr<Bytes> pre =
      SegwitV0SighashPreimage(*tx, 1, *code, spent.amount, kSighashAll);
  ASSERT_TRUE(pre.ok());
  EXPECT_EQ(
      HexEncode(*pre),
      "0100000096b827c8483d4e9b96712b6713a7b68d6e8003a781feba36c31143470b4efd"
      "3752b0a642eea2fb7ae638c36f6252b6750293dbe574a806984b8e4d8548339a3bef51"
      "e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a010000001976"
      "a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac0046c32300000000ffffff"
      "ff863ef3e1a92afbfdb97f31ad0fc7683ee943e9abcf2501590ff8f6551f47e5e51100"
      "000001000000");
  absl::StatusOr<crypto::Digest32> digest = P2wpkhSighash(*tx, 1, spent);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(HexEncode(*digest),
            "c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670");
  ExpectSignatureVerifies(
      "025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357",
      "304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc4"
      "4a0220573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee",
      *digest);
}

TEST(SighashTest, LegacyP2pkInputOfBip143NativeExample) {
  // Input 0 spends the P2PK output 21 03c9f4...32 ac; its published scriptSig
  // signature is over the legacy SIGHASH_ALL digest.
  absl::StatusOr<Transaction> tx = DecodeTransaction(Hex(kNativeUnsigned));
  ASSERT_TRUE(tx.ok());
  const Bytes script_code =
      Hex("2103c9f4836b9a4f77fc0d81f7bcb01b7f1b35916864b9476c241ce9fc198bd25432"
          "ac");
  absl::StatusOr<crypto::Digest32> digest =
      LegacySighash(*tx, 0, script_code, kSighashAll);
  ASSERT_TRUE(digest.ok()) << digest.status();
  ExpectSignatureVerifies(
      "03c9f4836b9a4f77fc0d81f7bcb01b7f1b35916864b9476c241ce9fc198bd25432",
      "30450221008b9d1dc26ba6a9cb62127b02742fa9d754cd3bebf337f7a55d114c8e5cdd"
      "30be022040529b194ba3f9281a99f2b1c0a19c0489bc22ede944ccf4ecbab4cc618ef3"
      "ed",
      *digest);
  // Signing a different input index gives a different digest.
  absl::StatusOr<crypto::Digest32> other =
      LegacySighash(*tx, 1, script_code, kSighashAll);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*digest, *other);
}

TEST(SighashTest, Bip143P2shP2wpkh) {
  absl::StatusOr<Transaction> tx = DecodeTransaction(Hex(
      "0100000001db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a"
      "54770100000000feffffff02b8b4eb0b000000001976a914a457b684d7f0d539a46a45"
      "bbc043f35b59d0d96388ac0008af2f000000001976a914fd270b1ee6abcaea97fea7ad"
      "0402e8bd8ad6d77c88ac92040000"));
  ASSERT_TRUE(tx.ok()) << tx.status();
  const Bip143Hashes h = ComputeBip143Hashes(*tx);
  EXPECT_EQ(HexEncode(h.hash_prevouts),
            "b0287b4a252ac05af83d2dcef00ba313af78a3e9c329afa216eb3aa2a7b4613a");
  EXPECT_EQ(HexEncode(h.hash_sequence),
            "18606b350cd8bf565266bc352f0caddcf01e8fa789dd8a15386327cf8cabe198");
  EXPECT_EQ(HexEncode(h.hash_outputs),
            "de984f44532e2173ca0d64314fcefe6d30da6f8cf27bafa706da61df8a226c83");
  // The redeemScript is the P2WPKH program; amount 10 BTC.
  const TxOut spent{1000000000,
                    Hex("001479091972186c449eb1ded22b78e40d009bdf0089")};
  absl::StatusOr<crypto::Digest32> digest = P2wpkhSighash(*tx, 0, spent);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(HexEncode(*digest),
            "64f3b0f4dd2bb3aa1ce8566d220cc74dda9df97d8490cc81d89d735c92e59fb6");
  ExpectSignatureVerifies(
      "03ad1d8e89212f0b92c74d23bb710c00662ad1470198ac48c43f7d6f93a2a26873",
      "3044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d48"
      "2f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb",
      *digest);
}

TEST(SighashTest, RefusesUnsupportedArguments) {
  absl::StatusOr<Transaction> tx = DecodeTransaction(Hex(kNativeUnsigned));
  ASSERT_TRUE(tx.ok());
  const TxOut spent{600000000,
                    Hex("00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1")};
  EXPECT_THAT(P2wpkhSighash(*tx, 2, spent).status().message(),
              HasSubstr("out of range"));
  EXPECT_THAT(SegwitV0Sighash(*tx, 1, spent.script_pubkey, spent.amount, 3)
                  .status()
                  .message(),
              HasSubstr("unsupported sighash type 3"));
  const TxOut p2pkh{1,
                    Hex("76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac")};
  EXPECT_THAT(P2wpkhSighash(*tx, 1, p2pkh).status().message(),
              HasSubstr("not P2WPKH"));
  EXPECT_THAT(
      LegacySighash(*tx, 0, Hex("ab51"), kSighashAll).status().message(),
      HasSubstr("OP_CODESEPARATOR"));
  // 0xab inside a push is data, not an opcode.
  EXPECT_TRUE(LegacySighash(*tx, 0, Hex("01ab"), kSighashAll).ok());
  EXPECT_THAT(
      LegacySighash(*tx, 0, Hex("4c05ab"), kSighashAll).status().message(),
      HasSubstr("truncated"));
}

}  // namespace
}  // namespace kagi::chain
