// make_seeds: writes the seed corpora of the fuzz targets,
// corpus/<target>/seed-<name>, from the fixtures (fixtures.h) and the known
// vectors the unit tests use. The committed corpora were made with
//   build/fuzz/tests/fuzz/kagi_fuzz_make_seeds tests/fuzz/corpus
// (scripts/fuzz.sh --seeds runs it); the files are deterministic except the
// node_request approvals (which the target re-signs anyway).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "kagi/v1/node.pb.h"
#include "libs/base/check.h"
#include "libs/chain/bech32.h"
#include "libs/chain/bitcoin_tx.h"
#include "libs/chain/ethereum.h"
#include "libs/chain/rlp.h"
#include "libs/chain/script.h"
#include "libs/crypto/base58.h"
#include "libs/crypto/schnorr.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/common/envelope.h"
#include "libs/storage/audit.h"
#include "tests/fuzz/fixtures.h"

namespace kagi::fuzz {
namespace {

std::filesystem::path g_root;

void Write(const std::string& target, const std::string& name, uint8_t selector,
           ByteSpan body, bool with_selector = true) {
  const std::filesystem::path dir = g_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary);
  if (with_selector) out.put(static_cast<char>(selector));
  out.write(reinterpret_cast<const char*>(body.data()),
            static_cast<std::streamsize>(body.size()));
  KAGI_CHECK(out.good());
}
void WriteText(const std::string& target, const std::string& name,
               uint8_t selector, absl::string_view text) {
  Write(target, name, selector, AsBytes(text));
}
void WritePlain(const std::string& target, const std::string& name,
                ByteSpan body) {
  Write(target, name, 0, body, false);
}

Bytes Script20(uint8_t fill) { return chain::P2wpkhScript(Bytes(20, fill)); }

void BitcoinTx() {
  chain::Transaction tx;
  chain::TxIn in;
  in.prevout.txid.fill(0xab);
  in.prevout.index = 7;
  tx.inputs.push_back(in);
  tx.outputs.push_back({50000, Script20(0x11)});
  tx.outputs.push_back({30000, chain::P2pkhScript(Bytes(20, 0x22))});
  const Bytes legacy = chain::EncodeTransaction(tx);
  WritePlain("bitcoin_tx", "legacy", Bytes{0});
  Write("bitcoin_tx", "legacy-any", 0, legacy);
  Write("bitcoin_tx", "legacy-only", 1, legacy);
  tx.inputs[0].witness = {Bytes(71, 0x30), Bytes(33, 0x02)};
  Write("bitcoin_tx", "witness", 0, chain::EncodeTransaction(tx));
  Write("bitcoin_tx", "txout", 2, chain::EncodeTxOut(tx.outputs[0]));
  Write("bitcoin_tx", "witness-stack", 3,
        chain::EncodeWitnessStack(tx.inputs[0].witness));
}

void Psbt() {
  const Bytes psbt = WalletPsbt(Bip32Vector1Root(), Script20(0x11), 60000);
  WritePlain("psbt", "wallet-p2wpkh", psbt);
  WritePlain("psbt", "wallet-p2pkh-dest",
             WalletPsbt(Bip32Vector1Root(), chain::P2pkhScript(Bytes(20, 0x33)),
                        1000));
}

chain::EthTransaction EthTx(chain::EthTxType type) {
  chain::EthTransaction tx;
  tx.type = type;
  tx.chain_id = 1337;
  tx.nonce = 7;
  tx.gas_price[31] = 9;
  tx.max_priority_fee_per_gas[31] = 1;
  tx.max_fee_per_gas[30] = 2;
  tx.gas_limit = 21000;
  tx.to = *chain::ParseAddress(kNodeEthDest);
  tx.value[24] = 1;
  if (type != chain::EthTxType::kLegacy) {
    chain::EthAccessTuple t;
    t.address.fill(0x44);
    t.storage_keys.push_back({});
    tx.access_list.push_back(t);
  }
  return tx;
}

// transfer (a9059cbb) or approve (095ea7b3) of 100 to kNodeEthDest.
Bytes Erc20Data(bool transfer) {
  Bytes d =
      transfer ? Bytes{0xa9, 0x05, 0x9c, 0xbb} : Bytes{0x09, 0x5e, 0xa7, 0xb3};
  Bytes word(32, 0);
  const chain::EthAddress to = *chain::ParseAddress(kNodeEthDest);
  std::copy(to.begin(), to.end(), word.begin() + 12);
  d.insert(d.end(), word.begin(), word.end());
  Bytes amount(32, 0);
  amount[31] = 100;
  d.insert(d.end(), amount.begin(), amount.end());
  return d;
}

Bytes Erc20Tx() {
  chain::EthTransaction tx = EthTx(chain::EthTxType::kDynamicFee);
  tx.access_list.clear();
  tx.to = *chain::ParseAddress(kNodeToken);
  tx.value = {};
  tx.gas_limit = 60000;
  tx.data = Erc20Data(true);
  return chain::EncodeUnsignedTransaction(tx);
}

void Ethereum() {
  const Bytes legacy =
      chain::EncodeUnsignedTransaction(EthTx(chain::EthTxType::kLegacy));
  Write("ethereum", "rlp-list", 0, legacy);
  Write("ethereum", "rlp-string", 0,
        chain::RlpEncode(chain::RlpItem::String(Bytes(60, 7))));
  Write("ethereum", "tx-legacy", 1, legacy);
  Write("ethereum", "tx-2930", 1,
        chain::EncodeUnsignedTransaction(EthTx(chain::EthTxType::kAccessList)));
  Write("ethereum", "tx-1559", 1,
        chain::EncodeUnsignedTransaction(EthTx(chain::EthTxType::kDynamicFee)));
  Write("ethereum", "tx-erc20", 1, Erc20Tx());
  Write("ethereum", "erc20-transfer", 2, Erc20Data(true));
  Write("ethereum", "erc20-approve", 2, Erc20Data(false));
  WriteText("ethereum", "address-eip55", 3, kNodeEthDest);
  WriteText("ethereum", "address-lower", 3,
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
}

void Address() {
  const std::string xpub = Bip32Vector1Root().Encode();
  WriteText("address", "bech32", 0, kNodeBtcDest);
  WriteText("address", "segwit-v0", 1,
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
  WriteText("address", "segwit-p2wsh", 1,
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7");
  WriteText("address", "segwit-v1", 1,
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0");
  WriteText("address", "base58", 2, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2");
  WriteText("address", "base58check", 3, xpub);
  WriteText("address", "xpub", 4, xpub);
  WriteText(
      "address", "xprv", 5,
      "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmP"
      "GJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi");
  WriteText("address", "path", 6, "m/0/1/2147483647");
  WriteText("address", "normalize-btc", 7,
            "BCRT1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KYGT080");
  WriteText("address", "normalize-eth", 8, kNodeEthDest);
}

void SetupEnvelope() {
  const protocol::SessionSetup& setup = SignSetupFixture();
  Write("setup_envelope", "setup-sign", 0, protocol::EncodeSetup(setup));
  Write("setup_envelope", "setup-dkg", 0,
        protocol::EncodeSetup(NodeDkg().setup));
  protocol::EnvelopeHeader h;
  h.op = protocol::Op::kSign;
  h.session = protocol::Sid0(setup);
  h.round = 1;
  h.from = 1;
  const protocol::Envelope env =
      protocol::SignEnvelope(SetupIdentities().signer(1), h, Bytes(64, 7));
  Write("setup_envelope", "envelope", 1, protocol::EncodeEnvelope(env));
  Write("setup_envelope", "header", 2, protocol::EncodeHeader(h));
  const protocol::KeyShare& share = NodeDkg().shares[0];
  const protocol::ActivationView view =
      protocol::ActivationView::Of(share, protocol::Op::kDkg);
  Write("setup_envelope", "view", 3, view.Encode());
  protocol::ActivationCertificate cert;
  cert.view = view;
  for (const protocol::PartyInfo& p : view.parties) {
    protocol::EnvelopeHeader ack;
    ack.op = protocol::Op::kDkg;
    ack.session = view.sid;
    ack.round = protocol::kAckRound;
    ack.from = p.id;
    const auto digest = protocol::AckDigest(view);
    cert.acks.push_back(protocol::SignEnvelope(
        NodeDkg().ids.signer(p.id), ack, Bytes(digest.begin(), digest.end())));
  }
  KAGI_CHECK(protocol::VerifyCertificate(cert).ok());
  Write("setup_envelope", "certificate", 4, cert.Encode());
  InsecureDeterministicRng rng(2);
  const crypto::Scalar a = crypto::Scalar::RandomNonZero(rng);
  const crypto::Point big_a = *crypto::Point::MulGenerator(a);
  const crypto::PokContext ctx{AsBytes("sid"), AsBytes("l"), 1, 0, ByteSpan()};
  const auto proof = crypto::ProveKnowledge(ctx, a, big_a, rng)->Encode();
  Write("setup_envelope", "schnorr", 5, Bytes(proof.begin(), proof.end()));
}

void Stored() {
  const SecretBytes share = NodeDkg().shares[0].Serialize();
  Write("stored", "share", 0, share.secret());
  InsecureDeterministicRng rng(5);
  const SecretBytes kek(
      Bytes(SealKeyFixture().begin(), SealKeyFixture().end()));
  Write("stored", "sealed-share", 1,
        *storage::Seal(kek, ShareRecordFixture(), share.secret(), rng));
  storage::AuditAnchor anchor;
  anchor.node = "node-2";
  anchor.head.seq = 7;
  anchor.head.hash.fill(0x12);
  anchor.head.signature.fill(0x34);
  WriteText("stored", "anchors", 2, storage::EncodeAnchors({anchor, anchor}));
  storage::VelocityReservation r;
  r.scope = "btc|" + std::string(64, 'a') + "|BTC";
  r.unix_time = 1795341914;
  r.amount[31] = 0x40;
  WriteText("stored", "reservations", 3, storage::EncodeReservations({r, r}));
}

void OtSeeds() {
  const OtFixture& ot = fuzz::Ot();
  Write("ot", "base-msg1", 0, ot.base_msg1);
  Write("ot", "base-msg2", 1, ot.base_msg2);
  Write("ot", "cote", 2, ot.cote_msg);
  Write("ot", "rvole-msg1", 3, ot.rvole_msg1);
  Write("ot", "rvole-msg2", 4, ot.rvole_msg2);
}

void Rounds() {
  const std::vector<RoundSlot>& slots = RoundSlots();
  const char* ops[] = {"dkg", "sign", "reshare"};
  for (size_t i = 0; i < slots.size(); ++i) {
    const RoundSlot& s = slots[i];
    KAGI_CHECK(RunVictim(s, s.payload).ok());
    Write("rounds",
          absl::StrCat(ops[static_cast<int>(s.op)], "-r", s.round,
                       s.broadcast ? "-bcast" : "-p2p"),
          static_cast<uint8_t>(i), s.payload);
  }
}

void Policy() {
  WritePlain(
      "policy", "node",
      AsBytes(NodePolicyText({std::string(64, 'a'), std::string(64, 'b')})));
}

void Config() {
  WriteText("node_config", "node", 0, R"(name: "node-1"
listen_address: "0.0.0.0:7001"
tls { cert_file: "/etc/kagi/node-1.crt" key_file: "/etc/kagi/node-1.key" ca_file: "/etc/kagi/ca.crt" }
identity_key_file: "/etc/kagi/node-1.identity"
peers { name: "node-2" address: "node-2.internal:7001" identity_public_key: "2222222222222222222222222222222222222222222222222222222222222222" }
peers { name: "node-3" address: "10.0.0.3:7001" identity_public_key: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab3" }
gateways: "gateway-1"
storage_path: "/var/lib/kagi/node-1.db"
seal_key_env: "KAGI_SEAL_KEY"
policy_file: "/etc/kagi/policy.textproto"
allow_raw_digest: false
limits { max_message_bytes: 1048576 round_timeout_ms: 10000 max_sessions: 64 max_sign_items: 16 refusals_per_second: 10 refusal_burst: 20 }
)");
  WriteText("node_config", "gateway", 1, R"(name: "gateway-1"
listen_address: "[::]:8443"
tls { cert_file: "/etc/kagi/gateway-1.crt" key_file: "/etc/kagi/gateway-1.key" ca_file: "/etc/kagi/ca.crt" }
nodes { name: "node-1" address: "node-1.internal:7001" }
nodes { name: "node-2" address: "node-2.internal:7001" }
clients: "wallet-app"
request_timeout_ms: 30000
)");
}

void NodeRequest() {
  auto write = [](const std::string& name, v1::StartSignRequest req) {
    req.set_initiator("client/backend");
    req.add_signers(1);
    req.add_signers(2);
    req.set_initiator_nonce(std::string(32, 'n'));
    v1::SignRequest& r = *req.mutable_request();
    r.set_request_id("fuzz-" + name);
    const auto& id = NodeKey().key_id;
    r.set_key_id(std::string(id.begin(), id.end()));
    r.set_expiry_unix_seconds(1900000000);
    v1::Approval* a = r.add_approvals();
    a->set_approver("alice");
    a->set_signature(std::string(64, 's'));
    // Flags: key id, expiry, fresh id, approvals by alice and bob.
    Write("node_request", name, 0x3f, AsBytes(req.SerializeAsString()));
  };
  const crypto::ExtendedPublicKey& root = NodeKey().root;
  const chain::SegwitProgram dest = *chain::DecodeSegwitAddress(kNodeBtcDest);
  v1::StartSignRequest psbt;
  auto* p = psbt.mutable_request()->mutable_payload()->mutable_bitcoin_psbt();
  p->set_network("regtest");
  const Bytes psbt_bytes =
      WalletPsbt(root, chain::SegwitScriptPubKey(dest), 25000);
  p->set_psbt(std::string(psbt_bytes.begin(), psbt_bytes.end()));
  write("psbt", psbt);
  v1::StartSignRequest eth;
  auto* e = eth.mutable_request()->mutable_payload()->mutable_ethereum_tx();
  const Bytes tx =
      chain::EncodeUnsignedTransaction(EthTx(chain::EthTxType::kDynamicFee));
  e->set_unsigned_tx(std::string(tx.begin(), tx.end()));
  e->add_path(0);
  e->add_path(0);
  write("eth-1559", eth);
  v1::StartSignRequest erc20 = eth;
  const Bytes token_tx = Erc20Tx();
  erc20.mutable_request()
      ->mutable_payload()
      ->mutable_ethereum_tx()
      ->set_unsigned_tx(std::string(token_tx.begin(), token_tx.end()));
  write("erc20", erc20);
  v1::StartSignRequest raw;
  auto* item = raw.mutable_request()
                   ->mutable_payload()
                   ->mutable_raw_digest()
                   ->add_items();
  item->set_digest(std::string(32, 'd'));
  item->add_path(0);
  write("raw-digest", raw);
  // A peer's round-1 envelope of a session node-1 has not started.
  protocol::SessionSetup setup = NodeDkg().setup;
  protocol::EnvelopeHeader h;
  h.op = protocol::Op::kDkg;
  h.session = protocol::Sid0(setup);
  h.round = 1;
  h.from = 2;
  const protocol::Envelope env =
      protocol::SignEnvelope(NodeDkg().ids.signer(2), h, Bytes(64, 7));
  v1::DeliverRequest deliver;
  deliver.set_sid0(std::string(h.session.begin(), h.session.end()));
  const Bytes enc = protocol::EncodeEnvelope(env);
  deliver.set_envelope(std::string(enc.begin(), enc.end()));
  Write("node_request", "deliver", 0x80, AsBytes(deliver.SerializeAsString()));
}

}  // namespace
}  // namespace kagi::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  kagi::fuzz::g_root = argv[1];
  kagi::fuzz::BitcoinTx();
  kagi::fuzz::Psbt();
  kagi::fuzz::Ethereum();
  kagi::fuzz::Address();
  kagi::fuzz::SetupEnvelope();
  kagi::fuzz::Stored();
  kagi::fuzz::OtSeeds();
  kagi::fuzz::Rounds();
  kagi::fuzz::Policy();
  kagi::fuzz::Config();
  kagi::fuzz::NodeRequest();
  return 0;
}
