#include "tests/fuzz/fixtures.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/base/rng.h"
#include "libs/chain/psbt.h"
#include "libs/chain/script.h"
#include "libs/crypto/hash.h"
#include "libs/protocol/dkg.h"
#include "libs/protocol/reshare.h"
#include "libs/protocol/sign.h"

namespace kagi::fuzz {

using protocol::Envelope;
using protocol::RoundProtocol;

crypto::ExtendedPublicKey Bip32Vector1Root() {
  absl::StatusOr<crypto::ExtendedPublicKey> k = crypto::ExtendedPublicKey::Decode(
      "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1R"
      "upje8YtGqsefD265TMg7usUDFdp6W1EGMcet8");
  KAGI_CHECK(k.ok());
  return *k;
}

const protocol::testing::Identities& SetupIdentities() {
  static const auto* ids = new protocol::testing::Identities(
      protocol::testing::MakeIdentities(3, 1));
  return *ids;
}

const protocol::SessionSetup& SignSetupFixture() {
  static const protocol::SessionSetup* setup = [] {
    auto* s = new protocol::SessionSetup;
    s->op = protocol::Op::kSign;
    s->key_id[0] = 1;
    s->parties = SetupIdentities().parties;
    s->threshold = 2;
    s->signers = {1, 3};
    s->items.resize(2);
    s->items[1].path = {0, 5, 7};
    s->expiry_unix_seconds = 1900000000;
    return s;
  }();
  return *setup;
}

const std::array<uint8_t, 32>& SealKeyFixture() {
  static const std::array<uint8_t, 32> kek = [] {
    std::array<uint8_t, 32> k;
    k.fill(9);
    return k;
  }();
  return kek;
}

storage::RecordContext ShareRecordFixture() {
  return storage::RecordContext{storage::kRecordShare, {}, 0, 1};
}

// --- OT stack ------------------------------------------------------------

namespace {

mpc::BaseOtReceiver BaseOtReceiverOf(const mpc::BaseOtSession& base,
                                     Bytes* msg1) {
  InsecureDeterministicRng rng(71);
  return mpc::BaseOtReceiver::Start(base, rng, msg1);
}

mpc::RvoleReceiver RvoleReceiverOf(const mpc::CoteReceiverSeeds& b,
                                   const mpc::RvoleSession& rvole,
                                   Bytes* msg1) {
  InsecureDeterministicRng rng(77);
  return mpc::RvoleReceiver::Start(b, rvole, rng, msg1);
}

OtFixture* MakeOt() {
  auto* f = new OtFixture;
  InsecureDeterministicRng rng(70);
  f->base = mpc::BaseOtSession{rng.Bytes<32>(), 1, 2};
  mpc::BaseOtReceiver recv = BaseOtReceiverOf(f->base, &f->base_msg1);
  absl::StatusOr<mpc::BaseOtSenderResult> sent =
      mpc::BaseOtSenderRespond(f->base, f->base_msg1, rng);
  KAGI_CHECK(sent.ok());
  f->base_msg2 = sent->msg2;
  f->b = std::move(sent->seeds);
  absl::StatusOr<mpc::CoteSenderSeeds> a = std::move(recv).Finish(f->base_msg2);
  KAGI_CHECK(a.ok());
  f->a = *std::move(a);
  f->cote = mpc::CoteSession{rng.Bytes<32>(), 1, 2};
  f->rvole = mpc::RvoleSession{rng.Bytes<32>(), 1, 2};
  f->inputs = {crypto::Scalar::RandomNonZero(rng),
               crypto::Scalar::RandomNonZero(rng)};
  f->cote_msg = mpc::CoteReceiverExtend(f->b, f->cote, CoteChoices()).msg;
  RvoleReceiverOf(f->b, f->rvole, &f->rvole_msg1);
  absl::StatusOr<mpc::RvoleSenderOutput> out =
      mpc::RvoleSenderRespond(f->a, f->rvole, f->inputs, f->rvole_msg1, rng);
  KAGI_CHECK(out.ok());
  f->rvole_msg2 = out->msg2;
  return f;
}

}  // namespace

mpc::BaseOtReceiver StartBaseOtReceiver(Bytes* msg1) {
  return BaseOtReceiverOf(Ot().base, msg1);
}

mpc::RvoleReceiver StartRvoleReceiver(Bytes* msg1) {
  return RvoleReceiverOf(Ot().b, Ot().rvole, msg1);
}

SecretBytes CoteChoices() {
  InsecureDeterministicRng rng(79);
  Bytes x(80);
  rng.Fill(absl::MakeSpan(x));
  return SecretBytes(std::move(x));
}

const OtFixture& Ot() {
  static const OtFixture* ot = MakeOt();
  return *ot;
}

// --- protocol rounds -------------------------------------------------------

namespace {

constexpr uint32_t kVictim = 1;
constexpr uint32_t kSender = 2;

// The parties of one session of `op`, fresh, with fixed randomness.
struct Session {
  std::vector<std::unique_ptr<InsecureDeterministicRng>> rngs;
  std::vector<std::unique_ptr<RoundProtocol>> parties;  // index id - 1
};

const protocol::testing::DkgRun& TwoPartyDkg() {
  static const auto* dkg =
      new protocol::testing::DkgRun(protocol::testing::RunDkg(2, 2, 11));
  KAGI_CHECK(dkg->ok());
  return *dkg;
}

protocol::SessionSetup SessionSetupOf(RoundsOp op) {
  const protocol::testing::DkgRun& dkg = TwoPartyDkg();
  switch (op) {
    case RoundsOp::kDkg:
      return dkg.setup;
    case RoundsOp::kSign: {
      protocol::SignItem item;
      item.digest.fill(0x5a);
      item.path = {0, 3};
      return protocol::testing::MakeSignSetup(dkg.shares[0], {1, 2}, {item},
                                              12);
    }
    case RoundsOp::kReshare: {
      protocol::SessionSetup s;
      s.op = protocol::Op::kReshare;
      s.key_id = dkg.shares[0].key_id;
      s.epoch = dkg.shares[0].epoch;
      s.parties = dkg.ids.parties;
      s.threshold = 2;
      s.old_threshold = 2;
      s.reshare_roles = {{1, 1}, {2, 2}};
      s.initiator_nonce.fill(0x33);
      return s;
    }
  }
  return {};
}

Session MakeSession(RoundsOp op, const protocol::SessionSetup& setup,
                    uint32_t only = 0) {
  const protocol::testing::DkgRun& dkg = TwoPartyDkg();
  Session s;
  for (uint32_t id = 1; id <= 2; ++id) {
    s.rngs.push_back(std::make_unique<InsecureDeterministicRng>(
        1000 * static_cast<uint64_t>(op) + id));
    if (only != 0 && id != only) {
      s.parties.push_back(nullptr);
      continue;
    }
    const protocol::EnvelopeSigner& signer = dkg.ids.signer(id);
    switch (op) {
      case RoundsOp::kDkg: {
        auto p = protocol::DkgParty::Create(setup, signer, *s.rngs.back());
        KAGI_CHECK(p.ok());
        s.parties.push_back(std::move(*p));
        break;
      }
      case RoundsOp::kSign: {
        auto p = protocol::SignParty::Create(
            setup, dkg.shares[id - 1], signer, *s.rngs.back(),
            [](const protocol::PresignatureId&) { return absl::OkStatus(); });
        KAGI_CHECK(p.ok());
        s.parties.push_back(std::move(*p));
        break;
      }
      case RoundsOp::kReshare: {
        auto p = protocol::ReshareParty::Create(setup, &dkg.shares[id - 1],
                                                signer, *s.rngs.back());
        KAGI_CHECK(p.ok());
        s.parties.push_back(std::move(*p));
        break;
      }
    }
  }
  return s;
}

// The input of `party` for the round it expects, from `sent` (every
// envelope every party sent so far).
protocol::RoundInput InputFor(const RoundProtocol& party,
                              const std::vector<Envelope>& sent) {
  protocol::RoundInput in;
  const protocol::RoundSpec spec = party.expecting();
  for (const Envelope& e : sent) {
    if (e.header.round != spec.round || e.header.from == party.self()) continue;
    if (e.header.to == protocol::kBroadcast) {
      in.broadcasts[e.header.from] = e;
    } else if (e.header.to == party.self()) {
      in.directs[e.header.from] = e;
    }
  }
  return in;
}

// Transcript: every envelope of an honest lock-step run of `op`.
const std::vector<Envelope>& Transcript(RoundsOp op) {
  static std::map<RoundsOp, std::vector<Envelope>>* all = [] {
    auto* m = new std::map<RoundsOp, std::vector<Envelope>>;
    for (RoundsOp o : {RoundsOp::kDkg, RoundsOp::kSign, RoundsOp::kReshare}) {
      const protocol::SessionSetup setup = SessionSetupOf(o);
      Session s = MakeSession(o, setup);
      std::vector<Envelope>& sent = (*m)[o];
      for (auto& p : s.parties) {
        absl::StatusOr<std::vector<Envelope>> out = p->Start();
        KAGI_CHECK(out.ok());
        sent.insert(sent.end(), out->begin(), out->end());
      }
      for (int step = 0; step < 8; ++step) {
        std::vector<std::vector<Envelope>> next;
        for (auto& p : s.parties) {
          if (p->finished()) continue;
          absl::StatusOr<std::vector<Envelope>> out =
              p->Advance(InputFor(*p, sent));
          KAGI_CHECK(out.ok());
          next.push_back(*std::move(out));
        }
        for (auto& n : next) sent.insert(sent.end(), n.begin(), n.end());
      }
      for (auto& p : s.parties) KAGI_CHECK(p->finished());
    }
    return m;
  }();
  return all->at(op);
}

}  // namespace

const std::vector<RoundSlot>& RoundSlots() {
  static const std::vector<RoundSlot>* slots = [] {
    auto* v = new std::vector<RoundSlot>;
    for (RoundsOp op : {RoundsOp::kDkg, RoundsOp::kSign, RoundsOp::kReshare}) {
      for (const Envelope& e : Transcript(op)) {
        if (e.header.from != kSender) continue;
        if (e.header.to != protocol::kBroadcast && e.header.to != kVictim) {
          continue;
        }
        v->push_back({op, e.header.round, e.header.to == protocol::kBroadcast,
                      e.payload});
      }
    }
    return v;
  }();
  return *slots;
}

absl::Status RunVictim(const RoundSlot& slot, ByteSpan payload) {
  const protocol::testing::DkgRun& dkg = TwoPartyDkg();
  const protocol::SessionSetup setup = SessionSetupOf(slot.op);
  std::vector<Envelope> sent = Transcript(slot.op);
  for (Envelope& e : sent) {
    if (e.header.from == kSender && e.header.round == slot.round &&
        (e.header.to == protocol::kBroadcast) == slot.broadcast) {
      e.payload.assign(payload.begin(), payload.end());
      protocol::testing::Resign(dkg.ids, e);
    }
  }
  Session s = MakeSession(slot.op, setup, kVictim);
  RoundProtocol& victim = *s.parties[kVictim - 1];
  KAGI_CHECK(victim.Start().ok());
  while (!victim.finished() && victim.expecting().round <= slot.round) {
    absl::StatusOr<std::vector<Envelope>> out =
        victim.Advance(InputFor(victim, sent));
    if (!out.ok()) return out.status();
  }
  return absl::OkStatus();
}

// --- node ------------------------------------------------------------------

std::vector<Bytes> NodeIdentitySeeds() {
  return {Bytes(32, 0xa1), Bytes(32, 0xa2), Bytes(32, 0xa3)};
}

const protocol::testing::DkgRun& NodeDkg() {
  static const auto* dkg =
      new protocol::testing::DkgRun(protocol::testing::RunDkgWith(
          protocol::testing::IdentitiesFromSeeds(NodeIdentitySeeds()), 2, 21));
  KAGI_CHECK(dkg->ok());
  return *dkg;
}

const NodeKeyFixture& NodeKey() {
  static const NodeKeyFixture* key = [] {
    auto* k = new NodeKeyFixture;
    const protocol::KeyShare& share = NodeDkg().shares[0];
    k->key_id = share.key_id;
    crypto::Bip32ChainCode cc;
    std::copy(share.chain_code.begin(), share.chain_code.end(), cc.begin());
    k->root = crypto::ExtendedPublicKey::Root(share.public_key, cc);
    return k;
  }();
  return *key;
}

std::string NodePolicyText(const std::vector<std::string>& approver_hex) {
  KAGI_CHECK(approver_hex.size() == 2);
  return absl::StrCat(R"(version: 1
revision: "fuzz-1"
approvers { name: "alice" groups: ["treasury"] ed25519_public_key: ")",
                      approver_hex[0], R"(" }
approvers { name: "bob" groups: ["treasury", "risk"] ed25519_public_key: ")",
                      approver_hex[1], R"(" }
address_books { name: "cold" chain: "bitcoin" addresses: ")",
                      kNodeBtcDest, R"(" }
rules {
  name: "btc"
  chain: "bitcoin"
  networks: "regtest"
  assets: "BTC"
  address_books: "cold"
  max_amount: "100000000"
  max_fee: 50000
  velocity { window_seconds: 86400 max_amount: "100000000000" }
  approvals { group: "treasury" count: 1 }
  tiers { above_amount: "50000000" approvals { group: "risk" count: 1 } }
}
rules {
  name: "eth"
  chain: "ethereum"
  networks: "1337"
  assets: "ETH"
  destinations: ")",
                      kNodeEthDest, R"("
  max_amount: "1000000000000000000"
  approvals { group: "treasury" count: 1 }
}
rules {
  name: "usdc"
  chain: "ethereum"
  networks: "1337"
  assets: "ERC20:)",
                      kNodeToken, R"("
  destinations: ")",
                      kNodeEthDest, R"("
  max_amount: "1000000000"
  max_fee: 1000000000000000
  approvals { group: "treasury" count: 1 }
}
rules { name: "digests" chain: "raw_digest" approvals { group: "risk" count: 1 } }
admin { approvals { group: "treasury" count: 2 } initiators: "client/ops" }
)");
}

Bytes WalletPsbt(const crypto::ExtendedPublicKey& root, ByteSpan dest_script,
                 uint64_t amount) {
  auto key_hash = [&](const std::vector<uint32_t>& path) {
    absl::StatusOr<crypto::DerivedKey> d = crypto::DerivePath(root, path);
    KAGI_CHECK(d.ok());
    const auto c = d->xpub.key().ToCompressed();
    const crypto::Digest20 h = crypto::Hash160(Bytes(c.begin(), c.end()));
    return std::make_pair(Bytes(c.begin(), c.end()), Bytes(h.begin(), h.end()));
  };
  auto derivation = [&](const std::vector<uint32_t>& path) {
    chain::PsbtBip32Derivation d;
    d.pubkey = key_hash(path).first;
    d.fingerprint = root.Fingerprint();
    d.path = path;
    return d;
  };
  chain::Transaction funding;
  chain::TxIn fin;
  fin.prevout.txid.fill(0xab);
  fin.prevout.index = 7;
  funding.inputs.push_back(fin);
  funding.outputs.push_back(
      {50000, chain::P2wpkhScript(key_hash({0, 1}).second)});
  funding.outputs.push_back(
      {30000, chain::P2wpkhScript(key_hash({0, 2}).second)});
  chain::Psbt psbt;
  for (uint32_t vout = 0; vout < 2; ++vout) {
    chain::TxIn in;
    in.prevout.txid = chain::Txid(funding);
    in.prevout.index = vout;
    in.sequence = 0xfffffffd;
    psbt.tx.inputs.push_back(in);
    chain::PsbtInput pin;
    pin.non_witness_utxo = funding;
    pin.witness_utxo = funding.outputs[vout];
    pin.bip32_derivations.push_back(derivation({0, vout + 1}));
    psbt.inputs.push_back(pin);
  }
  const uint64_t change = 80000 - amount - 1000;
  psbt.tx.outputs.push_back(
      {amount, Bytes(dest_script.begin(), dest_script.end())});
  psbt.tx.outputs.push_back(
      {change, chain::P2wpkhScript(key_hash({1, 0}).second)});
  psbt.outputs.emplace_back();
  chain::PsbtOutput change_out;
  change_out.bip32_derivations.push_back(derivation({1, 0}));
  psbt.outputs.push_back(change_out);
  return chain::EncodePsbt(psbt);
}

}  // namespace kagi::fuzz
