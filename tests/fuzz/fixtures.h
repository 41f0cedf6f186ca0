// File: tests/fuzz/fixtures.h
//
// TEST ONLY. The fixed keys, setups and honest transcripts the fuzz targets
// decode against, shared with the seed generator (make_seeds.cc) so that
// the committed seeds reach past signatures, fingerprints and MACs. All of
// it is deterministic: the same fixture in every process.
#ifndef KAGI_TESTS_FUZZ_FIXTURES_H_
#define KAGI_TESTS_FUZZ_FIXTURES_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libs/base/bytes.h"
#include "libs/crypto/bip32.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/cote.h"
#include "libs/mpc/rvole.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/round.h"
#include "libs/protocol/testing/simulation.h"
#include "libs/storage/sealed.h"

namespace kagi::fuzz {

// BIP32 test vector 1's master public key (the PSBT target's wallet).
crypto::ExtendedPublicKey Bip32Vector1Root();

// A 2-of-3 signing setup of parties with MakeIdentities(3, 1) (envelopes
// the seeds carry are signed by them).
const protocol::testing::Identities& SetupIdentities();
const protocol::SessionSetup& SignSetupFixture();

// The key-encryption key and record context of the stored-records target.
const std::array<uint8_t, 32>& SealKeyFixture();
storage::RecordContext ShareRecordFixture();

// --- base OT, COTe, RVOLE (ot_fuzz.cc) --------------------------------------
// One pair (A = 1, B = 2): B's base-OT sender and A's base-OT receiver ran
// honestly once; the receivers' states are rebuilt from fixed seeds, so a
// message made for them (the seeds) is the one they expect.
struct OtFixture {
  mpc::BaseOtSession base;
  Bytes base_msg1;  // A -> B
  Bytes base_msg2;  // B -> A
  mpc::CoteSenderSeeds a;
  mpc::CoteReceiverSeeds b;
  mpc::CoteSession cote;
  Bytes cote_msg;  // B -> A
  mpc::RvoleSession rvole;
  std::array<crypto::Scalar, mpc::kRvoleInputs> inputs;  // A's
  Bytes rvole_msg1;                                      // B -> A
  Bytes rvole_msg2;                                      // A -> B
};
const OtFixture& Ot();
// The base-OT receiver (A) and RVOLE receiver (B) in their fixed state.
mpc::BaseOtReceiver StartBaseOtReceiver(Bytes* msg1);
mpc::RvoleReceiver StartRvoleReceiver(Bytes* msg1);
// x of COTe's receiver (80 bytes, fixed).
SecretBytes CoteChoices();

// --- protocol rounds (rounds_fuzz.cc) ----------------------------------------
// An honest 2-party DKG, a signing session of its key and a refresh, run
// lock-step with deterministic randomness. Party 1 is the one the target
// feeds; party 2 the sender whose message is replaced.
enum class RoundsOp { kDkg, kSign, kReshare };
struct RoundSlot {
  RoundsOp op;
  uint32_t round;
  bool broadcast;
  Bytes payload;  // party 2's honest payload to party 1
};
// Every (op, round, kind) party 2 sends party 1, in a fixed order: the
// rounds target's selector indexes this list.
const std::vector<RoundSlot>& RoundSlots();
// RunVictim replays the honest session of `slot.op` at party 1, replacing
// party 2's message of `slot` (round, kind) with one carrying `payload`,
// signed by party 2. Returns party 1's status after it processed that round.
absl::Status RunVictim(const RoundSlot& slot, ByteSpan payload);

// --- a node (node_request_fuzz.cc)
// -------------------------------------------- node-1 of a 2-of-3 cluster with
// one key (networks bitcoin:regtest, ethereum:1337, raw_digest). Seeds sign
// with this key's wallet.
struct NodeKeyFixture {
  std::array<uint8_t, 32> key_id{};
  crypto::ExtendedPublicKey root = Bip32Vector1Root();  // X, chain code
};
const NodeKeyFixture& NodeKey();
// The identity seeds of node-1..3 and the DKG that made the key.
const protocol::testing::DkgRun& NodeDkg();
std::vector<Bytes> NodeIdentitySeeds();
// The policy text node-1 runs (approvers alice, bob: Ed25519 keys from
// fixed seeds; see node_request_fuzz.cc).
std::string NodePolicyText(const std::vector<std::string>& approver_hex);
constexpr char kNodeBtcDest[] = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
constexpr char kNodeEthDest[] = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
constexpr char kNodeToken[] = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";

// A PSBT paying `amount` sat to `dest_script` with change to m/1/0, every
// input from the wallet `root` (m/0/1, m/0/2: 50000 and 30000 sat, P2WPKH,
// with their previous transaction).
Bytes WalletPsbt(const crypto::ExtendedPublicKey& root, ByteSpan dest_script,
                 uint64_t amount);

}  // namespace kagi::fuzz

#endif  // KAGI_TESTS_FUZZ_FIXTURES_H_
