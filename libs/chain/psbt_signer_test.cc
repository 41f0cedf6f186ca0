// File: libs/chain/psbt_signer_test.cc
//
// AnalyzePsbt / SignPsbt on PSBTs assembled here from transactions whose
// keys are derived from the BIP32 test vector 1 master key (a depth-0 root
// with a known private key). Child private keys are root + DerivePath tweak;
// signatures are made and checked with libsecp256k1 directly, independently
// of the code under test. Every refusal must name the input or output.
#include "libs/chain/psbt_signer.h"

#include <secp256k1.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/base/check.h"
#include "libs/chain/bech32.h"
#include "libs/chain/bitcoin_tx.h"
#include "libs/chain/psbt.h"
#include "libs/chain/script.h"
#include "libs/chain/sighash.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "tests/testing/vectors.h"

namespace kagi::chain {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// BIP32 test vector 1, chain m.
constexpr char kMasterXprv[] =
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWU"
    "tg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
constexpr char kMasterXpub[] =
    "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1R"
    "upje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";

const secp256k1_context* Ctx() {
  static secp256k1_context* ctx = secp256k1_context_create(
      SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  return ctx;
}

class Wallet {
 public:
  Wallet() : master_(DecodeMaster()) {}

  crypto::ExtendedPublicKey Root() const { return master_.Neuter(); }

  crypto::Point Key(const std::vector<uint32_t>& path) const {
    absl::StatusOr<crypto::DerivedKey> d = crypto::DerivePath(Root(), path);
    KAGI_CHECK(d.ok());
    return d->xpub.key();
  }
  Bytes KeyBytes(const std::vector<uint32_t>& path) const {
    const auto c = Key(path).ToCompressed();
    return Bytes(c.begin(), c.end());
  }
  Bytes KeyHash(const std::vector<uint32_t>& path) const {
    const crypto::Digest20 h = crypto::Hash160(KeyBytes(path));
    return Bytes(h.begin(), h.end());
  }
  std::array<uint8_t, 32> PrivateKey(const std::vector<uint32_t>& path) const {
    absl::StatusOr<crypto::DerivedKey> d = crypto::DerivePath(Root(), path);
    KAGI_CHECK(d.ok());
    return (*master_.PrivateKeyForTestFixtures() + d->tweak).ToBytes();
  }

  // Sign returns the compact low-S signature of `digest` by the key at
  // `path` (libsecp256k1, RFC 6979 nonces).
  std::array<uint8_t, 64> Sign(const std::vector<uint32_t>& path,
                               const crypto::Digest32& digest) const {
    const std::array<uint8_t, 32> sk = PrivateKey(path);
    secp256k1_ecdsa_signature sig;
    KAGI_CHECK(secp256k1_ecdsa_sign(Ctx(), &sig, digest.data(), sk.data(),
                                    nullptr, nullptr) == 1);
    std::array<uint8_t, 64> out{};
    secp256k1_ecdsa_signature_serialize_compact(Ctx(), out.data(), &sig);
    return out;
  }

  PsbtBip32Derivation Derivation(const std::vector<uint32_t>& path) const {
    PsbtBip32Derivation d;
    d.pubkey = KeyBytes(path);
    d.fingerprint = Root().Fingerprint();
    d.path = path;
    return d;
  }

 private:
  static crypto::ExtendedKey DecodeMaster() {
    absl::StatusOr<crypto::ExtendedKey> key =
        crypto::DecodeExtendedKey(kMasterXprv);
    KAGI_CHECK(key.ok() && key->is_private());
    return *std::move(key);
  }

  crypto::ExtendedKey master_;
};

const Wallet& W() {
  static const Wallet* w = new Wallet();
  return *w;
}

const std::vector<uint32_t> kIn0 = {0, 1};
const std::vector<uint32_t> kIn1 = {0, 2};
const std::vector<uint32_t> kIn2 = {0, 3};
const std::vector<uint32_t> kChange = {1, 0};
const PsbtChangeRule kRule;  // the default: m/1/i, i < 10000, P2WPKH

Bytes ExternalHash() { return Bytes(20, 0x11); }

// Funding returns a transaction paying 50000 sat to P2WPKH(m/0/1) and 30000
// sat to P2WPKH(m/0/2) (and 70000 sat to P2PKH(m/0/3)).
Transaction Funding() {
  Transaction tx;
  tx.version = 2;
  TxIn in;
  in.prevout.txid.fill(0xab);
  in.prevout.index = 7;
  tx.inputs.push_back(in);
  tx.outputs.push_back({50000, P2wpkhScript(W().KeyHash(kIn0))});
  tx.outputs.push_back({30000, P2wpkhScript(W().KeyHash(kIn1))});
  tx.outputs.push_back({70000, P2pkhScript(W().KeyHash(kIn2))});
  return tx;
}

// TwoInputPsbt spends the two P2WPKH outputs of Funding() (each input with
// its witness and non-witness UTXO): 60000 sat to an external P2WPKH, 19000
// sat change to m/1/0, fee 1000.
Psbt TwoInputPsbt() {
  const Transaction funding = Funding();
  const TxHash funding_id = Txid(funding);
  Psbt psbt;
  psbt.tx.version = 2;
  psbt.tx.locktime = 0;
  for (uint32_t vout = 0; vout < 2; ++vout) {
    TxIn in;
    in.prevout.txid = funding_id;
    in.prevout.index = vout;
    in.sequence = 0xfffffffd;
    psbt.tx.inputs.push_back(in);
    PsbtInput pin;
    pin.non_witness_utxo = funding;
    pin.witness_utxo = funding.outputs[vout];
    pin.bip32_derivations.push_back(W().Derivation(vout == 0 ? kIn0 : kIn1));
    psbt.inputs.push_back(pin);
  }
  psbt.tx.outputs.push_back({60000, P2wpkhScript(ExternalHash())});
  psbt.tx.outputs.push_back({19000, P2wpkhScript(W().KeyHash(kChange))});
  PsbtOutput external;
  // Another wallet's derivation record is no claim of ours: ignored.
  PsbtBip32Derivation foreign = W().Derivation({5});
  foreign.fingerprint = {1, 2, 3, 4};
  external.bip32_derivations.push_back(foreign);
  psbt.outputs.push_back(external);
  PsbtOutput change;
  change.bip32_derivations.push_back(W().Derivation(kChange));
  psbt.outputs.push_back(change);
  return psbt;
}

// WithSpentOutput returns TwoInputPsbt() where input `index` spends `out`
// instead: the funding transaction, both prevout txids and the witness UTXO
// change consistently.
Psbt WithSpentOutput(size_t index, const TxOut& out) {
  Psbt psbt = TwoInputPsbt();
  Transaction funding = Funding();
  funding.outputs[index] = out;
  for (size_t i = 0; i < 2; ++i) {
    psbt.tx.inputs[i].prevout.txid = Txid(funding);
    psbt.inputs[i].non_witness_utxo = funding;
    psbt.inputs[i].witness_utxo = funding.outputs[i];
  }
  return psbt;
}

// P2pkhPsbt spends Funding()'s P2PKH output: 50000 sat to an external P2PKH,
// an OP_RETURN of 0 sat, 19500 sat change to P2PKH(m/1/0); fee 500.
Psbt P2pkhPsbt() {
  const Transaction funding = Funding();
  Psbt psbt;
  TxIn in;
  in.prevout.txid = Txid(funding);
  in.prevout.index = 2;
  psbt.tx.inputs.push_back(in);
  PsbtInput pin;
  pin.non_witness_utxo = funding;
  pin.sighash_type = kSighashAll;
  pin.bip32_derivations.push_back(W().Derivation(kIn2));
  psbt.inputs.push_back(pin);
  psbt.tx.outputs.push_back({50000, P2pkhScript(ExternalHash())});
  psbt.tx.outputs.push_back({0, testing::HexOrDie("6a0401020304")});
  psbt.tx.outputs.push_back({19500, P2pkhScript(W().KeyHash(kChange))});
  psbt.outputs.resize(2);
  PsbtOutput change;
  change.bip32_derivations.push_back(W().Derivation(kChange));
  psbt.outputs.push_back(change);
  return psbt;
}

Psbt RoundTrip(const Psbt& psbt) {
  absl::StatusOr<Psbt> decoded = DecodePsbt(EncodePsbt(psbt));
  KAGI_CHECK(decoded.ok());
  return *decoded;
}

// ExpectSignedCorrectly decodes `signed_bytes` and checks that input i has
// one partial signature DER ‖ 01 under `keys[i]` that verifies (libsecp256k1)
// for `digests[i]`.
void ExpectSignedCorrectly(const Bytes& signed_bytes,
                           const std::vector<std::vector<uint32_t>>& paths,
                           const std::vector<crypto::Digest32>& digests) {
  absl::StatusOr<Psbt> decoded = DecodePsbt(signed_bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->inputs.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    SCOPED_TRACE(i);
    const PsbtInput& in = decoded->inputs[i];
    ASSERT_EQ(in.partial_sigs.size(), 1u);
    EXPECT_EQ(in.partial_sigs[0].pubkey, W().KeyBytes(paths[i]));
    const Bytes& sig = in.partial_sigs[0].signature;
    ASSERT_GE(sig.size(), 9u);
    EXPECT_EQ(sig.back(), 0x01);
    EXPECT_EQ(sig[0], 0x30);
    secp256k1_ecdsa_signature parsed;
    ASSERT_EQ(secp256k1_ecdsa_signature_parse_der(Ctx(), &parsed, sig.data(),
                                                  sig.size() - 1),
              1);
    // Re-serializing gives the same bytes: the encoding is the canonical DER.
    std::array<uint8_t, 80> der{};
    size_t der_len = der.size();
    ASSERT_EQ(secp256k1_ecdsa_signature_serialize_der(Ctx(), der.data(),
                                                      &der_len, &parsed),
              1);
    EXPECT_EQ(Bytes(der.begin(), der.begin() + static_cast<long>(der_len)),
              Bytes(sig.begin(), sig.end() - 1));
    secp256k1_pubkey pub;
    const Bytes pub_bytes = W().KeyBytes(paths[i]);
    ASSERT_EQ(secp256k1_ec_pubkey_parse(Ctx(), &pub, pub_bytes.data(),
                                        pub_bytes.size()),
              1);
    EXPECT_EQ(secp256k1_ecdsa_verify(Ctx(), &parsed, digests[i].data(), &pub),
              1);
  }
}

void ExpectRefused(const absl::StatusOr<PsbtAnalysis>& result,
                   absl::string_view prefix, absl::string_view part,
                   absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  EXPECT_THAT(std::string(result.status().message()), StartsWith(prefix));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(part));
}

TEST(PsbtSignerTest, RootIsTheBip32VectorMaster) {
  EXPECT_EQ(W().Root().depth(), 0);
  EXPECT_EQ(W().Root().Encode(), kMasterXpub);
  EXPECT_EQ(HexEncode(W().Root().Fingerprint()), "3442193e");
}

TEST(PsbtSignerTest, AnalyzesTwoP2wpkhInputsWithChange) {
  const Psbt psbt = RoundTrip(TwoInputPsbt());
  absl::StatusOr<PsbtAnalysis> a =
      AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->input_total, 80000u);
  EXPECT_EQ(a->external_total, 60000u);
  EXPECT_EQ(a->change_total, 19000u);
  EXPECT_EQ(a->fee, 1000u);

  ASSERT_EQ(a->inputs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    const PsbtSigningInput& in = a->inputs[i];
    EXPECT_EQ(in.index, i);
    EXPECT_EQ(in.path, i == 0 ? kIn0 : kIn1);
    EXPECT_EQ(in.public_key, W().Key(in.path));
    EXPECT_EQ(in.type, ScriptType::kP2wpkh);
    EXPECT_EQ(in.amount, i == 0 ? 50000u : 30000u);
    absl::StatusOr<crypto::Digest32> direct =
        P2wpkhSighash(psbt.tx, i, *psbt.inputs[i].witness_utxo);
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(in.sighash, *direct);
  }

  ASSERT_EQ(a->outputs.size(), 2u);
  const PsbtOutputSummary& ext = a->outputs[0];
  EXPECT_EQ(ext.index, 0u);
  EXPECT_EQ(ext.amount, 60000u);
  EXPECT_FALSE(ext.change);
  EXPECT_TRUE(ext.change_path.empty());
  EXPECT_THAT(ext.address, StartsWith("bcrt1q"));
  EXPECT_EQ(ext.address,
            *EncodeSegwitAddress(Network::kRegtest, 0, ExternalHash()));
  const PsbtOutputSummary& change = a->outputs[1];
  EXPECT_EQ(change.index, 1u);
  EXPECT_EQ(change.amount, 19000u);
  EXPECT_TRUE(change.change);
  EXPECT_EQ(change.change_path, kChange);
  EXPECT_EQ(change.address,
            *EncodeSegwitAddress(Network::kRegtest, 0, W().KeyHash(kChange)));

  absl::StatusOr<PsbtAnalysis> main =
      AnalyzePsbt(psbt, W().Root(), Network::kMainnet, kRule);
  ASSERT_TRUE(main.ok()) << main.status();
  EXPECT_THAT(main->outputs[0].address, StartsWith("bc1q"));
  EXPECT_EQ(main->outputs[0].address,
            *EncodeSegwitAddress(Network::kMainnet, 0, ExternalHash()));
  EXPECT_EQ(main->fee, 1000u);
}

TEST(PsbtSignerTest, SignsTwoP2wpkhInputs) {
  const Psbt psbt = RoundTrip(TwoInputPsbt());
  absl::StatusOr<PsbtAnalysis> a =
      AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule);
  ASSERT_TRUE(a.ok()) << a.status();
  const std::vector<std::array<uint8_t, 64>> sigs = {
      W().Sign(kIn0, a->inputs[0].sighash),
      W().Sign(kIn1, a->inputs[1].sighash)};
  absl::StatusOr<Bytes> signed_bytes = SignPsbt(psbt, *a, sigs);
  ASSERT_TRUE(signed_bytes.ok()) << signed_bytes.status();
  ExpectSignedCorrectly(*signed_bytes, {kIn0, kIn1},
                        {a->inputs[0].sighash, a->inputs[1].sighash});

  // Everything but the partial signatures is unchanged.
  absl::StatusOr<Psbt> decoded = DecodePsbt(*signed_bytes);
  ASSERT_TRUE(decoded.ok());
  decoded->inputs[0].partial_sigs.clear();
  decoded->inputs[1].partial_sigs.clear();
  EXPECT_EQ(EncodePsbt(*decoded), EncodePsbt(psbt));

  // Signing twice is refused (already has a signature for this key).
  absl::StatusOr<PsbtAnalysis> again = AnalyzePsbt(
      *DecodePsbt(*signed_bytes), W().Root(), Network::kRegtest, kRule);
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<Bytes> twice =
      SignPsbt(*DecodePsbt(*signed_bytes), *again, sigs);
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(std::string(twice.status().message()), HasSubstr("input 0"));
}

TEST(PsbtSignerTest, AnalyzesAndSignsP2pkhInput) {
  const Psbt psbt = RoundTrip(P2pkhPsbt());
  // A legacy wallet: its change is P2PKH.
  PsbtChangeRule legacy;
  legacy.script_types = {ScriptType::kP2pkh};
  absl::StatusOr<PsbtAnalysis> a =
      AnalyzePsbt(psbt, W().Root(), Network::kMainnet, legacy);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->inputs.size(), 1u);
  EXPECT_EQ(a->inputs[0].type, ScriptType::kP2pkh);
  EXPECT_EQ(a->inputs[0].amount, 70000u);
  EXPECT_EQ(a->inputs[0].path, kIn2);
  absl::StatusOr<crypto::Digest32> direct =
      LegacySighash(psbt.tx, 0, P2pkhScript(W().KeyHash(kIn2)), kSighashAll);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(a->inputs[0].sighash, *direct);

  EXPECT_EQ(a->input_total, 70000u);
  EXPECT_EQ(a->external_total, 50000u);
  EXPECT_EQ(a->change_total, 19500u);
  EXPECT_EQ(a->fee, 500u);
  ASSERT_EQ(a->outputs.size(), 3u);
  EXPECT_THAT(a->outputs[0].address, StartsWith("1"));
  EXPECT_EQ(a->outputs[1].address, "script:6a0401020304");
  EXPECT_FALSE(a->outputs[1].change);
  EXPECT_TRUE(a->outputs[2].change);
  EXPECT_THAT(a->outputs[2].address, StartsWith("1"));

  // Under the default (P2WPKH) rule the same output is an external payment.
  absl::StatusOr<PsbtAnalysis> regtest =
      AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule);
  ASSERT_TRUE(regtest.ok());
  const char first = regtest->outputs[0].address[0];
  EXPECT_TRUE(first == 'm' || first == 'n') << regtest->outputs[0].address;
  EXPECT_FALSE(regtest->outputs[2].change);
  EXPECT_EQ(regtest->outputs[2].self_payment,
            "pays this wallet's key at m/1/0 as p2pkh, a script type the "
            "change branch m/1/i (i < 10000; p2wpkh) does not use");
  EXPECT_EQ(regtest->external_total, 69500u);

  absl::StatusOr<Bytes> signed_bytes =
      SignPsbt(psbt, *a, {W().Sign(kIn2, a->inputs[0].sighash)});
  ASSERT_TRUE(signed_bytes.ok()) << signed_bytes.status();
  ExpectSignedCorrectly(*signed_bytes, {kIn2}, {a->inputs[0].sighash});
}

TEST(PsbtSignerTest, RefusesWitnessUtxoWithoutNonWitnessUtxo) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[1].non_witness_utxo.reset();
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "non_witness_utxo missing");
}

TEST(PsbtSignerTest, EcdsaCompactToDerMatchesLibsecp256k1) {
  std::vector<std::array<uint8_t, 64>> cases(4);
  cases[0].fill(0x01);  // no padding
  cases[1].fill(0x7f);
  cases[1][0] = 0x80;   // r needs a 0x00 pad
  cases[1][32] = 0x00;  // s has leading zeros
  cases[1][33] = 0x00;
  cases[1][34] = 0x81;  // ... then a high bit: 0x00 pad after stripping
  cases[2].fill(0x00);
  cases[2][31] = 0x05;  // r = 5
  cases[2][63] = 0x06;  // s = 6
  cases[3] = W().Sign(kIn0, crypto::Sha256(AsBytes("x")));
  for (const auto& c : cases) {
    SCOPED_TRACE(HexEncode(c));
    secp256k1_ecdsa_signature sig;
    ASSERT_EQ(secp256k1_ecdsa_signature_parse_compact(Ctx(), &sig, c.data()),
              1);
    std::array<uint8_t, 80> der{};
    size_t len = der.size();
    ASSERT_EQ(
        secp256k1_ecdsa_signature_serialize_der(Ctx(), der.data(), &len, &sig),
        1);
    EXPECT_EQ(HexEncode(EcdsaCompactToDer(c)),
              HexEncode(ByteSpan(der.data(), len)));
  }
}

// --- The segwit fee siphon (issue 13 section 1) ------------------------------

// SiphonFunding pays 1000000 sat to P2WPKH(m/0/1) and 1000000 sat to
// P2WPKH(m/0/2).
Transaction SiphonFunding() {
  Transaction tx;
  TxIn in;
  in.prevout.txid.fill(0xcd);
  tx.inputs.push_back(in);
  tx.outputs.push_back({1000000, P2wpkhScript(W().KeyHash(kIn0))});
  tx.outputs.push_back({1000000, P2wpkhScript(W().KeyHash(kIn1))});
  return tx;
}

// SiphonPsbt spends both outputs of SiphonFunding() and pays 995000 sat
// out: the real fee is 1005000 sat. Input `understated` claims, in its
// witness UTXO, 1 sat instead of 1000000, so the PSBT shows a 5001 sat fee.
// Every input carries only its witness UTXO, as the attacker sends it.
Psbt SiphonPsbt(size_t understated) {
  const Transaction funding = SiphonFunding();
  Psbt psbt;
  for (uint32_t vout = 0; vout < 2; ++vout) {
    TxIn in;
    in.prevout.txid = Txid(funding);
    in.prevout.index = vout;
    psbt.tx.inputs.push_back(in);
    PsbtInput pin;
    pin.witness_utxo = funding.outputs[vout];
    if (vout == understated) pin.witness_utxo->amount = 1;
    pin.bip32_derivations.push_back(W().Derivation(vout == 0 ? kIn0 : kIn1));
    psbt.inputs.push_back(pin);
  }
  psbt.tx.outputs.push_back({995000, P2wpkhScript(ExternalHash())});
  psbt.outputs.resize(1);
  return psbt;
}

// Two PSBTs of one transaction, each understating another input, each
// showing a 5001 sat fee: the signature each gives for its honest input
// commits (BIP143) to that input's real amount, so the two together complete
// a transaction paying 1005000 sat. The understated input must be refused,
// whatever the attacker puts next to its witness UTXO, and the only PSBT of
// this transaction that is accepted shows the real fee.
TEST(PsbtSignerTest, SegwitFeeSiphonRefusesTheUnderstatedInput) {
  for (size_t understated = 0; understated < 2; ++understated) {
    SCOPED_TRACE(understated);
    const std::string input = absl::StrCat("input ", understated, ": ");
    const size_t honest = 1 - understated;
    // As the attacker sends it: witness UTXOs only.
    Psbt psbt = SiphonPsbt(understated);
    psbt.inputs[honest].non_witness_utxo = SiphonFunding();
    ExpectRefused(
        AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
        input, "non_witness_utxo");
    // With the real previous transaction: it contradicts the witness UTXO.
    psbt.inputs[understated].non_witness_utxo = SiphonFunding();
    ExpectRefused(
        AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
        input, "differs");
    // With a previous transaction forged to agree: another txid.
    Transaction forged = SiphonFunding();
    forged.outputs[understated].amount = 1;
    psbt.inputs[understated].non_witness_utxo = forged;
    ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                  input, "txid");
  }
  // Witness UTXOs only, even when they are true: refused, naming the first.
  Psbt witness_only = SiphonPsbt(2);
  ExpectRefused(AnalyzePsbt(RoundTrip(witness_only), W().Root(),
                            Network::kRegtest, kRule),
                "input 0: ", "non_witness_utxo");
  // The honest PSBT of the same transaction shows what it really pays.
  Psbt honest = SiphonPsbt(2);
  honest.inputs[0].non_witness_utxo = SiphonFunding();
  honest.inputs[1].non_witness_utxo = SiphonFunding();
  absl::StatusOr<PsbtAnalysis> a =
      AnalyzePsbt(RoundTrip(honest), W().Root(), Network::kRegtest, kRule);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->input_total, 2000000u);
  EXPECT_EQ(a->fee, 1005000u);
}

// --- Change only under the change branch (issue 13 section 4) -------------

// SelfPaymentPsbt spends Funding()'s two P2WPKH outputs (80000 sat) and pays
// 60000 sat to an external P2WPKH and 19000 sat to the wallet's own key at
// `path`, as `script` of that key, with a true derivation record.
Psbt SelfPaymentPsbt(const std::vector<uint32_t>& path,
                     Bytes (*script)(ByteSpan)) {
  Psbt psbt = TwoInputPsbt();
  psbt.tx.outputs[1].script_pubkey = script(W().KeyHash(path));
  psbt.outputs[1].bip32_derivations = {W().Derivation(path)};
  return psbt;
}

// An output to one of the wallet's own keys is change only at m/1/i with
// i below the bound (default 10000) and as P2WPKH; any other self-payment
// is an external output, with its amount and address, like any payment.
TEST(PsbtSignerTest, ChangeOnlyUnderTheChangeBranch) {
  struct Case {
    std::vector<uint32_t> path;
    Bytes (*script)(ByteSpan);
    bool change;
  };
  const std::vector<Case> cases = {
      {{1, 0}, P2wpkhScript, true},
      {{1, 9999}, P2wpkhScript, true},
      {{1, 10000}, P2wpkhScript, false},
      {{1, 0x7fffffff}, P2wpkhScript, false},  // the red team's m/1/2147483647
      {{0, 5}, P2wpkhScript, false},           // the receive branch
      {{2, 0}, P2wpkhScript, false},
      {{1}, P2wpkhScript, false},
      {{1, 0, 0}, P2wpkhScript, false},
      {{}, P2wpkhScript, false},     // the root key itself
      {{1, 0}, P2pkhScript, false},  // a script type not in use
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.path));
    const Psbt psbt = RoundTrip(SelfPaymentPsbt(c.path, c.script));
    absl::StatusOr<PsbtAnalysis> a =
        AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->outputs[1].change, c.change);
    EXPECT_EQ(a->change_total, c.change ? 19000u : 0u);
    EXPECT_EQ(a->external_total, c.change ? 60000u : 79000u);
    EXPECT_EQ(a->fee, 1000u);
    EXPECT_EQ(a->outputs[1].self_payment.empty(), c.change);
  }
  absl::StatusOr<PsbtAnalysis> far =
      AnalyzePsbt(SelfPaymentPsbt({1, 0x7fffffff}, P2wpkhScript), W().Root(),
                  Network::kRegtest, kRule);
  ASSERT_TRUE(far.ok()) << far.status();
  EXPECT_EQ(far->outputs[1].self_payment,
            "pays this wallet's key at m/1/2147483647, outside the change "
            "branch m/1/i (i < 10000; p2wpkh)");
  // A configured branch and bound.
  PsbtChangeRule rule;
  rule.branch = 7;
  rule.index_limit = 3;
  rule.script_types = {ScriptType::kP2wpkh, ScriptType::kP2pkh};
  for (const Case& c : std::vector<Case>{{{7, 2}, P2pkhScript, true},
                                         {{7, 3}, P2wpkhScript, false},
                                         {{1, 0}, P2wpkhScript, false}}) {
    SCOPED_TRACE(::testing::PrintToString(c.path));
    absl::StatusOr<PsbtAnalysis> a = AnalyzePsbt(
        SelfPaymentPsbt(c.path, c.script), W().Root(), Network::kRegtest, rule);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->outputs[1].change, c.change);
  }
}

// --- Refusals -------------------------------------------------------------

TEST(PsbtSignerTest, RefusesInputWithoutOurFingerprint) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[1].bip32_derivations[0].fingerprint = {0xde, 0xad, 0xbe, 0xef};
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "input 1: ", "not spendable by this key",
                absl::StatusCode::kPermissionDenied);
  psbt.inputs[1].bip32_derivations.clear();
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "input 1: ", "not spendable by this key",
                absl::StatusCode::kPermissionDenied);
}

TEST(PsbtSignerTest, RefusesSeveralRecordsWithOurFingerprint) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[0].bip32_derivations.push_back(W().Derivation(kIn2));
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 0: ", "2 BIP32 derivations");
}

TEST(PsbtSignerTest, RefusesDerivedKeyMismatch) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[1].bip32_derivations[0].pubkey = W().KeyBytes(kIn2);
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "key derived at m/0/2");
}

TEST(PsbtSignerTest, RefusesUncompressedDerivationKey) {
  Psbt psbt = TwoInputPsbt();
  const auto full = W().Key(kIn1).ToUncompressed();
  psbt.inputs[1].bip32_derivations[0].pubkey = Bytes(full.begin(), full.end());
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "65 bytes");
}

TEST(PsbtSignerTest, RefusesHardenedPath) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[0].bip32_derivations[0].path = {crypto::kBip32HardenedBit, 1};
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 0: ", "hardened");
}

TEST(PsbtSignerTest, RefusesTooDeepPath) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[0].bip32_derivations[0].path = std::vector<uint32_t>(17, 0);
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "input 0: ", "17 steps");
}

TEST(PsbtSignerTest, RefusesP2wpkhWithoutWitnessUtxo) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[1].witness_utxo.reset();
  psbt.inputs[1].non_witness_utxo = Funding();
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "P2WPKH input without witness_utxo");
  psbt.inputs[1].non_witness_utxo.reset();
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "non_witness_utxo missing");
}

TEST(PsbtSignerTest, RefusesNonWitnessUtxoWithWrongTxid) {
  // DecodePsbt would refuse this already; AnalyzePsbt must not rely on it.
  Psbt psbt = TwoInputPsbt();
  Transaction other = Funding();
  other.locktime = 1;
  psbt.inputs[0].non_witness_utxo = other;
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "input 0: ", "txid");
  Psbt p2pkh = P2pkhPsbt();
  p2pkh.inputs[0].non_witness_utxo = other;
  ExpectRefused(AnalyzePsbt(p2pkh, W().Root(), Network::kRegtest, kRule),
                "input 0: ", "txid");
}

TEST(PsbtSignerTest, RefusesWitnessUtxoDisagreeingWithNonWitnessUtxo) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[1].non_witness_utxo = Funding();
  psbt.inputs[1].witness_utxo->amount = 29000;
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "differs");
}

TEST(PsbtSignerTest, RefusesSpentScriptThatIsNotOurs) {
  Psbt psbt = WithSpentOutput(1, {30000, P2wpkhScript(ExternalHash())});
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "spent P2WPKH script is not");
  psbt = WithSpentOutput(1, {30000, P2shScript(W().KeyHash(kIn1))});
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "only P2WPKH and P2PKH");
  // Taproot is refused too: the key makes ECDSA signatures only.
  psbt = WithSpentOutput(1, {30000, P2trScript(Bytes(32, 0x22))});
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "spends a p2tr output");
  // A witness UTXO that claims another script than the previous
  // transaction's output is refused before its type matters.
  psbt = TwoInputPsbt();
  psbt.inputs[1].witness_utxo->script_pubkey = P2pkhScript(W().KeyHash(kIn1));
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 1: ", "differs");
}

TEST(PsbtSignerTest, RefusesSighashTypeOtherThanAll) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[0].sighash_type = 3;  // SIGHASH_SINGLE
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 0: ", "sighash type 3");
  psbt.inputs[0].sighash_type = 2;  // SIGHASH_NONE
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "input 0: ", "sighash type 2");
}

TEST(PsbtSignerTest, RefusesFinalizedAndScriptWrappedInputs) {
  Psbt psbt = TwoInputPsbt();
  psbt.inputs[1].final_script_witness = std::vector<Bytes>{Bytes{1}};
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "input 1: ", "finalized");
  psbt = TwoInputPsbt();
  psbt.inputs[0].redeem_script = P2wpkhScript(W().KeyHash(kIn0));
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "input 0: ", "redeem or witness script");
}

TEST(PsbtSignerTest, RefusesDuplicateOutpoint) {
  Psbt psbt = TwoInputPsbt();
  psbt.tx.inputs[1].prevout = psbt.tx.inputs[0].prevout;
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "input 1: ", "same outpoint as input 0");
}

TEST(PsbtSignerTest, RefusesFalseChangeClaims) {
  // Our derivation on the external output: key is ours, script is not.
  Psbt psbt = TwoInputPsbt();
  psbt.outputs[0].bip32_derivations.push_back(W().Derivation(kChange));
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "output 0: ", "claims to be change");
  // Record key does not derive from the path.
  psbt = TwoInputPsbt();
  psbt.outputs[1].bip32_derivations[0].path = {1, 1};
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "output 1: ", "claims to be change but key derived at m/1/1");
  // Hardened path.
  psbt = TwoInputPsbt();
  psbt.outputs[1].bip32_derivations[0].path = {1 | crypto::kBip32HardenedBit,
                                               0};
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "output 1: ", "claims to be change but BIP32 path m/1'/0");
}

TEST(PsbtSignerTest, RefusesOutputsExceedingInputs) {
  Psbt psbt = TwoInputPsbt();
  psbt.tx.outputs[0].amount = 61001;
  ExpectRefused(
      AnalyzePsbt(RoundTrip(psbt), W().Root(), Network::kRegtest, kRule),
      "psbt: ", "outputs (80001 sat) exceed inputs (80000 sat)");
}

TEST(PsbtSignerTest, RefusesAmountsAboveMaxMoney) {
  Psbt psbt = TwoInputPsbt();
  psbt.tx.outputs[1].amount = kMaxMoney + 1;
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "output 1: ", "exceeds 21e6 BTC");
  psbt = TwoInputPsbt();
  psbt.tx.outputs[0].amount = kMaxMoney;
  ExpectRefused(AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule),
                "output 1: ", "more than 21e6 BTC");
}

TEST(PsbtSignerTest, SignRefusesBadSignatureAndWrongCount) {
  const Psbt psbt = RoundTrip(TwoInputPsbt());
  absl::StatusOr<PsbtAnalysis> a =
      AnalyzePsbt(psbt, W().Root(), Network::kRegtest, kRule);
  ASSERT_TRUE(a.ok()) << a.status();
  const std::array<uint8_t, 64> sig0 = W().Sign(kIn0, a->inputs[0].sighash);
  const std::array<uint8_t, 64> sig1 = W().Sign(kIn1, a->inputs[1].sighash);

  // Input 0's signature offered for input 1.
  absl::StatusOr<Bytes> r = SignPsbt(psbt, *a, {sig0, sig0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("input 1: signature rejected"));

  // Right key, wrong digest.
  r = SignPsbt(psbt, *a, {sig0, W().Sign(kIn1, a->inputs[0].sighash)});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), StartsWith("input 1: "));

  r = SignPsbt(psbt, *a, {sig0});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("1 signatures"));
  r = SignPsbt(psbt, *a, {sig0, sig1, sig1});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("3 signatures"));

  // An analysis of another PSBT does not sign this one.
  Psbt other = psbt;
  other.tx.locktime = 100;
  r = SignPsbt(other, *a, {sig0, sig1});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("input 0: analysis does not describe this PSBT"));
}

}  // namespace
}  // namespace kagi::chain
