// What you see is what you sign, tried on a real cluster (3 kagi-node
// processes + kagi-gateway, mTLS, SQLite) with the strict demo policy of
// `kagictl cluster init`: PSBT and EIP-1559 signing with approver quorums,
// and every way a request that was not approved, or approved in another
// form, is refused, by every node, with the reason in its audit log.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/chain/bech32.h"
#include "libs/chain/ethereum.h"
#include "libs/chain/psbt.h"
#include "libs/chain/script.h"
#include "libs/crypto/hash.h"
#include "libs/policy/approval.h"
#include "libs/policy/request_digest.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

using ::testing::HasSubstr;

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterConfig config;
    config.base_port = KAGI_IT_BASE_PORT;
    config.allow_raw_digest = false;
    config.admin_without_approvals = false;
    absl::StatusOr<std::unique_ptr<Cluster>> c = Cluster::Start(config);
    if (!c.ok()) {
      setup_error_ = std::string(c.status().message());
      return;
    }
    cluster_ = c->release();
    // Key creation needs the admin quorum (1 of security).
    v1::CreateKeyRequest req;
    req.set_request_id(NewRequestId("create"));
    req.set_threshold(2);
    for (int i = 1; i <= kNodes; ++i) req.add_nodes(cluster_->NodeName(i));
    for (const std::string& n : TestNetworks()) req.add_networks(n);
    req.set_expiry_unix_seconds(Expiry());
    grpc::ClientContext unapproved;
    unapproved.set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    create_without_approval_ =
        cluster_->wallet()->CreateKey(&unapproved, req, &key_);
    req.set_request_id(NewRequestId("create"));  // the first one is used up
    absl::StatusOr<v1::ListNodesResponse> nodes = ListNodes(cluster_->wallet());
    absl::StatusOr<policy::AdminChange> change =
        nodes.ok() ? kagictl::CreateKeyChange(&req, *nodes)
                   : absl::StatusOr<policy::AdminChange>(nodes.status());
    absl::StatusOr<v1::Approval> a =
        change.ok() ? Approver("alice", policy::AdminDigest(*change))
                    : absl::StatusOr<v1::Approval>(change.status());
    if (!a.ok()) {
      setup_error_ = std::string(a.status().message());
      return;
    }
    *req.add_approvals() = *a;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    grpc::Status st = cluster_->wallet()->CreateKey(&ctx, req, &key_);
    if (!st.ok()) setup_error_ = absl::StrCat("CreateKey: ", Describe(st));
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static uint64_t Expiry(int seconds = 300) {
    return static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + seconds);
  }
  static absl::StatusOr<v1::Approval> Approver(
      const std::string& name, const std::array<uint8_t, 32>& digest) {
    return kagictl::Approve(
        name, kagictl::ApproverKeyPath(cluster_->dir(), name), digest);
  }
  // A PSBT request paying `amount` to `to`, with no approvals yet.
  static v1::SignRequest Psbt(
      uint64_t amount,
      const std::string& to = kagictl::DemoBitcoinDestination()) {
    v1::SignRequest r;
    r.set_request_id(NewRequestId("btc"));
    r.set_key_id(key_.key_id());
    r.set_expiry_unix_seconds(Expiry());
    absl::StatusOr<Bytes> psbt =
        kagictl::DemoPsbt(key_, "regtest", to, amount, 1000, 200000000);
    EXPECT_TRUE(psbt.ok()) << psbt.status();
    r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
    r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
        std::string(psbt->begin(), psbt->end()));
    return r;
  }
  // Adds approvals of `names` over the request's own digest.
  static void Approve(v1::SignRequest& r,
                      const std::vector<std::string>& names) {
    const auto digest = *policy::SignRequestDigest(r);
    for (const std::string& n : names) {
      absl::StatusOr<v1::Approval> a = Approver(n, digest);
      ASSERT_TRUE(a.ok()) << a.status();
      *r.add_approvals() = *a;
    }
  }
  // The audit records of every node about `request_id`.
  static std::vector<std::string> AuditOf(int node,
                                          const std::string& request_id) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<storage::AuditEntry>> log =
        VerifiedAudit(cluster_->NodeDb(node));
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return out;
    for (const storage::AuditEntry& e : *log) {
      if (e.request_id == request_id) {
        out.push_back(
            absl::StrCat(e.operation, ": ", e.parties, " => ", e.outcome));
      }
    }
    return out;
  }
  // StartSign sent to node i directly (as the gateway would), so that every
  // node, not only the two the gateway picks, is asked.
  static grpc::Status DirectSign(int node, const v1::SignRequest& r) {
    return integration::DirectSign(*cluster_, node, r);
  }

  // Own is the BIP32 derivation record of key_ at `path`, derived here from
  // the KeyInfo (root fingerprint, public key).
  static chain::PsbtBip32Derivation Own(const std::vector<uint32_t>& path) {
    chain::PsbtBip32Derivation d;
    absl::StatusOr<std::string> pub = DerivePublicKey(key_, path);
    EXPECT_TRUE(pub.ok()) << pub.status();
    if (pub.ok()) d.pubkey = Bytes(pub->begin(), pub->end());
    const crypto::Digest20 root = crypto::Hash160(AsBytes(key_.public_key()));
    std::copy(root.begin(), root.begin() + 4, d.fingerprint.begin());
    d.path = path;
    return d;
  }
  static Bytes P2wpkhOf(const chain::PsbtBip32Derivation& d) {
    return chain::P2wpkhScript(crypto::Hash160(d.pubkey));
  }
  static Bytes DemoDestinationScript() {
    return chain::SegwitScriptPubKey(
        *chain::DecodeSegwitAddress(kagictl::DemoBitcoinDestination()));
  }
  // PsbtRequest wraps `psbt` in a fresh regtest request, approved by alice,
  // bob and carol (the demo policy's quorum).
  static v1::SignRequest PsbtRequest(const chain::Psbt& psbt) {
    v1::SignRequest r;
    r.set_request_id(NewRequestId("btc"));
    r.set_key_id(key_.key_id());
    r.set_expiry_unix_seconds(Expiry());
    const Bytes bytes = chain::EncodePsbt(psbt);
    r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
    r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
        std::string(bytes.begin(), bytes.end()));
    Approve(r, {"alice", "bob", "carol"});
    return r;
  }
  // RefusedEverywhere: the gateway returns `code` with `reason` and no
  // signature, and every node asked directly refuses the same way.
  static void ExpectRefusedEverywhere(const v1::SignRequest& r,
                                      grpc::StatusCode code,
                                      const std::string& reason) {
    v1::SignResponse resp;
    EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), r, &resp), code, reason));
    EXPECT_EQ(resp.signatures_size(), 0);
    EXPECT_TRUE(resp.signed_psbt().empty());
    for (int i = 1; i <= kNodes; ++i) {
      EXPECT_TRUE(RpcError(DirectSign(i, r), code, reason)) << "node-" << i;
    }
  }

  static Cluster* cluster_;
  static v1::KeyInfo key_;
  static grpc::Status create_without_approval_;
  static std::string setup_error_;
};

Cluster* PolicyTest::cluster_ = nullptr;
v1::KeyInfo PolicyTest::key_;
grpc::Status PolicyTest::create_without_approval_;
std::string PolicyTest::setup_error_;

TEST_F(PolicyTest, KeyCreationNeedsTheAdminQuorum) {
  EXPECT_TRUE(RpcError(create_without_approval_,
                       grpc::StatusCode::PERMISSION_DENIED,
                       "needs 1 of security"));
  EXPECT_EQ(key_.key_id().size(), 32u);
}

TEST_F(PolicyTest, ApprovedPsbtIsSignedAndReturnedWithPartialSignatures) {
  v1::SignRequest r = Psbt(250000);
  Approve(r, {"alice", "bob", "carol"});
  v1::SignResponse resp;
  ASSERT_TRUE(Sign(cluster_->wallet(), r, &resp).ok());
  const auto digest = *policy::SignRequestDigest(r);
  EXPECT_EQ(resp.request_digest(), std::string(digest.begin(), digest.end()));
  ASSERT_EQ(resp.signatures_size(), 1);
  // The signature is over the BIP143 sighash the nodes computed, under the
  // m/0/1 key; checked with OpenSSL.
  EXPECT_TRUE(SignatureValid(key_, resp.signatures(0),
                             resp.signatures(0).digest(), {0, 1}));
  absl::StatusOr<chain::Psbt> signed_psbt =
      chain::DecodePsbt(AsBytes(resp.signed_psbt()));
  ASSERT_TRUE(signed_psbt.ok()) << signed_psbt.status();
  ASSERT_EQ(signed_psbt->inputs[0].partial_sigs.size(), 1u);
  EXPECT_EQ(signed_psbt->inputs[0].partial_sigs[0].pubkey,
            Bytes(resp.signatures(0).public_key().begin(),
                  resp.signatures(0).public_key().end()));
  EXPECT_EQ(signed_psbt->inputs[0].partial_sigs[0].signature.back(), 0x01);
  // Each signer wrote the decision (with the decoded summary) before the
  // signature record.
  int admitted = 0;
  for (int i = 1; i <= kNodes; ++i) {
    const std::vector<std::string> audit = AuditOf(i, r.request_id());
    if (audit.empty()) continue;
    ASSERT_EQ(audit.size(), 2u);
    EXPECT_THAT(audit[0], HasSubstr("sign.admit: bitcoin regtest BTC"));
    EXPECT_THAT(audit[0], HasSubstr("250000 to bcrt1"));
    EXPECT_THAT(audit[0], HasSubstr("change 199749000"));
    EXPECT_THAT(audit[0], HasSubstr("allowed by rule 'btc-withdrawals'"));
    EXPECT_THAT(audit[1], HasSubstr("=> ok"));
    ++admitted;
  }
  EXPECT_EQ(admitted, 2);
}

TEST_F(PolicyTest, ApprovedEthereumTransactionIsSignedWithYParity) {
  v1::SignRequest r;
  r.set_request_id(NewRequestId("eth"));
  r.set_key_id(key_.key_id());
  r.set_expiry_unix_seconds(Expiry());
  absl::StatusOr<Bytes> tx =
      kagictl::DemoEthTx(kagictl::kDemoEthChainId, 7,
                         kagictl::kDemoEthDestination, 100000000000000000);
  ASSERT_TRUE(tx.ok());
  r.mutable_payload()->mutable_ethereum_tx()->set_unsigned_tx(
      std::string(tx->begin(), tx->end()));
  r.mutable_payload()->mutable_ethereum_tx()->add_path(0);
  r.mutable_payload()->mutable_ethereum_tx()->add_path(0);
  Approve(r, {"alice", "bob", "carol"});
  v1::SignResponse resp;
  ASSERT_TRUE(Sign(cluster_->wallet(), r, &resp).ok());
  ASSERT_EQ(resp.signatures_size(), 1);
  const chain::EthTransaction decoded = *chain::DecodeEthTransaction(*tx);
  const chain::Keccak256Digest hash = chain::SigningHash(decoded);
  EXPECT_TRUE(SignatureValid(key_, resp.signatures(0),
                             std::string(hash.begin(), hash.end()), {0, 0}));
  EXPECT_EQ(resp.ethereum().y_parity(), resp.signatures(0).recovery_id());
  EXPECT_LE(resp.ethereum().y_parity(), 1u);
  absl::StatusOr<crypto::Point> pub =
      crypto::Point::FromCompressed(AsBytes(resp.signatures(0).public_key()));
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(resp.ethereum().from(), chain::Eip55Address(*pub));
  EXPECT_EQ(resp.ethereum().signed_tx()[0], '\x02');
}

// The 2024 attack: approved, then altered before it reaches the nodes.
TEST_F(PolicyTest, ChangedAfterApprovalEveryNodeRefuses) {
  const v1::SignRequest original = Psbt(300000);
  v1::SignRequest approved = original;
  Approve(approved, {"alice", "bob", "carol"});
  const std::string other_dest =
      *chain::EncodeSegwitAddress(chain::Network::kRegtest, 0, Bytes(20, 0x66));
  for (const v1::SignRequest& changed :
       {Psbt(900000), Psbt(300000, other_dest)}) {
    v1::SignRequest tampered = changed;
    tampered.set_request_id(original.request_id());
    tampered.set_expiry_unix_seconds(original.expiry_unix_seconds());
    *tampered.mutable_approvals() = approved.approvals();
    v1::SignResponse resp;
    EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), tampered, &resp),
                         grpc::StatusCode::PERMISSION_DENIED,
                         "does not verify over the request digest"));
    EXPECT_EQ(resp.signatures_size(), 0);
    for (int i = 1; i <= kNodes; ++i) {
      EXPECT_TRUE(RpcError(DirectSign(i, tampered),
                           grpc::StatusCode::PERMISSION_DENIED,
                           "the request is not the one that was approved"))
          << "node-" << i;
    }
  }
  for (int i = 1; i <= kNodes; ++i) {
    const std::vector<std::string> audit = AuditOf(i, original.request_id());
    ASSERT_FALSE(audit.empty()) << "node-" << i;
    for (const std::string& line : audit) {
      EXPECT_THAT(line, HasSubstr("refused: PERMISSION_DENIED"));
      EXPECT_THAT(line, HasSubstr("does not verify"));
    }
  }
  // The approved original still goes through.
  v1::SignResponse resp;
  EXPECT_TRUE(Sign(cluster_->wallet(), approved, &resp).ok());
}

TEST_F(PolicyTest, BadApprovalsAreRefusedWithAReason) {
  // One approver counted twice.
  v1::SignRequest twice = Psbt(1000);
  Approve(twice, {"alice", "alice", "carol"});
  v1::SignResponse resp;
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), twice, &resp),
                       grpc::StatusCode::PERMISSION_DENIED, "appears twice"));
  // An approver key not in the policy.
  v1::SignRequest unknown = Psbt(1000);
  Approve(unknown, {"alice", "bob"});
  const auto digest = *policy::SignRequestDigest(unknown);
  const policy::ApproverKey mallory =
      *policy::ApproverKey::Generate(policy::ApproverEntry::Scheme::kEd25519);
  v1::Approval* m = unknown.add_approvals();
  m->set_approver("mallory");
  const Bytes sig = *mallory.Sign(digest);
  m->set_signature(std::string(sig.begin(), sig.end()));
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), unknown, &resp),
                       grpc::StatusCode::PERMISSION_DENIED,
                       "'mallory' is not in this node's policy"));
  // A known name signed by another key.
  v1::SignRequest forged = Psbt(1000);
  Approve(forged, {"alice", "bob"});
  m = forged.add_approvals();
  m->set_approver("carol");
  const Bytes forged_sig = *mallory.Sign(*policy::SignRequestDigest(forged));
  m->set_signature(std::string(forged_sig.begin(), forged_sig.end()));
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), forged, &resp),
                       grpc::StatusCode::PERMISSION_DENIED,
                       "approval of 'carol' does not verify"));
  // Too few: the quorum names what is missing.
  v1::SignRequest few = Psbt(1000);
  Approve(few, {"alice", "bob"});
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), few, &resp),
                       grpc::StatusCode::PERMISSION_DENIED,
                       "needs 2 of treasury + 1 of risk"));
}

// The expiry and the key id are in the approved digest: changing either after
// approval is tampering, answered PERMISSION_DENIED by every node (the
// approvals are checked before the expiry and before the key is loaded), not
// FAILED_PRECONDITION / INVALID_ARGUMENT / NOT_FOUND (red team 2, claim 8).
TEST_F(PolicyTest, ExpiryOrKeyChangedAfterApprovalIsPermissionDenied) {
  v1::SignRequest approved = Psbt(15000);
  Approve(approved, {"alice", "bob", "carol"});
  v1::SignRequest past = approved;
  past.set_expiry_unix_seconds(Expiry(-10));
  v1::SignRequest far = approved;
  far.set_expiry_unix_seconds(Expiry(10 * 365 * 86400));
  v1::SignRequest other_key = approved;
  other_key.set_key_id(std::string(32, '\x5a'));  // no such key
  for (const auto& [what, r] :
       std::vector<std::pair<std::string, v1::SignRequest>>{
           {"expiry in the past", past},
           {"expiry far ahead", far},
           {"another key", other_key}}) {
    for (int i = 1; i <= kNodes; ++i) {
      EXPECT_TRUE(RpcError(DirectSign(i, r),
                           grpc::StatusCode::PERMISSION_DENIED,
                           "the request is not the one that was approved"))
          << what << ", node-" << i;
    }
  }
  // These refusals count against client/client-1's refusal budget on every
  // node: let it refill so the next tests start with a full one.
  absl::SleepFor(absl::Seconds(3));
}

TEST_F(PolicyTest, ExpiredAndReusedRequestsRefused) {
  v1::SignRequest expired = Psbt(1000);
  expired.set_expiry_unix_seconds(Expiry(-10));
  Approve(expired, {"alice", "bob", "carol"});
  v1::SignResponse resp;
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), expired, &resp),
                       grpc::StatusCode::FAILED_PRECONDITION, "expired"));
  v1::SignRequest once = Psbt(2000);
  Approve(once, {"alice", "bob", "carol"});
  ASSERT_TRUE(Sign(cluster_->wallet(), once, &resp).ok());
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), once, &resp),
                       grpc::StatusCode::ALREADY_EXISTS, "already completed"));
}

TEST_F(PolicyTest, DestinationOutsideTheAllowlistRefused) {
  const std::string elsewhere =
      *chain::EncodeSegwitAddress(chain::Network::kRegtest, 0, Bytes(20, 0x77));
  v1::SignRequest r = Psbt(5000, elsewhere);
  Approve(r, {"alice", "bob", "carol"});
  v1::SignResponse resp;
  EXPECT_TRUE(RpcError(
      Sign(cluster_->wallet(), r, &resp), grpc::StatusCode::PERMISSION_DENIED,
      absl::StrCat("destination ", elsewhere, " is not in the allowlist")));
}

TEST_F(PolicyTest, RawDigestRefusedWhenThePolicyForbidsIt) {
  v1::SignRequest r = SimpleSignRequest(key_.key_id());
  r.set_expiry_unix_seconds(Expiry());
  Approve(r, {"alice", "bob", "carol"});
  v1::SignResponse resp;
  EXPECT_TRUE(RpcError(Sign(cluster_->wallet(), r, &resp),
                       grpc::StatusCode::PERMISSION_DENIED, "raw"));
}

// Issue 13 section 1, the segwit fee siphon. One transaction spends
// 1000000 sat at m/0/1 and 1000000 sat at m/0/2 and pays 995000 sat to the
// allowlisted destination: its real fee is 1005000 sat, ten times the demo
// rule's max_fee. The attacker sends two PSBTs of it, each understating
// another input's witness UTXO as 1 sat, so each shows a 5001 sat fee, and
// has both approved; the signature each yields for its honest input commits
// only to that input's amount, so the two would complete the transaction.
// Every node refuses each PSBT, naming the understated input, however the
// attacker fills it; the true PSBT of the transaction shows the real fee and
// policy refuses it: no signature for any input comes back.
TEST_F(PolicyTest, SegwitFeeSiphonRefusedByEveryNode) {
  const chain::PsbtBip32Derivation in0 = Own({0, 1});
  const chain::PsbtBip32Derivation in1 = Own({0, 2});
  chain::Transaction funding;
  funding.inputs.emplace_back();
  funding.inputs[0].prevout.txid.fill(0x5e);
  funding.outputs.push_back({1000000, P2wpkhOf(in0)});
  funding.outputs.push_back({1000000, P2wpkhOf(in1)});
  chain::Psbt honest;
  for (uint32_t vout = 0; vout < 2; ++vout) {
    chain::TxIn in;
    in.prevout = {chain::Txid(funding), vout};
    honest.tx.inputs.push_back(in);
    chain::PsbtInput pin;
    pin.non_witness_utxo = funding;
    pin.witness_utxo = funding.outputs[vout];
    pin.bip32_derivations.push_back(vout == 0 ? in0 : in1);
    honest.inputs.push_back(pin);
  }
  honest.tx.outputs.push_back({995000, DemoDestinationScript()});
  honest.outputs.resize(1);

  for (size_t understated = 0; understated < 2; ++understated) {
    SCOPED_TRACE(understated);
    const std::string input = absl::StrCat("input ", understated, ": ");
    chain::Psbt attack = honest;
    attack.inputs[understated].witness_utxo->amount = 1;
    // As the red team sent it: no previous transaction for that input.
    attack.inputs[understated].non_witness_utxo.reset();
    ExpectRefusedEverywhere(PsbtRequest(attack),
                            grpc::StatusCode::INVALID_ARGUMENT,
                            input + "non_witness_utxo missing");
    // With the real previous transaction, which contradicts the claim.
    attack.inputs[understated].non_witness_utxo = funding;
    ExpectRefusedEverywhere(PsbtRequest(attack),
                            grpc::StatusCode::INVALID_ARGUMENT,
                            input + "witness_utxo (1 sat) differs");
  }
  ExpectRefusedEverywhere(PsbtRequest(honest),
                          grpc::StatusCode::PERMISSION_DENIED,
                          "fee 1005000 is above max_fee 100000");
}

// Issue 13 section 4: 749000 sat to the wallet's own key at m/1/2147483647
// is not change (the wallet looks for change at m/1/i, i < 10000): it is a
// payment to an address outside the allowlist, refused by every node. The
// same at m/1/0 is change and is signed.
TEST_F(PolicyTest, SelfPaymentOutsideTheChangeBranchIsAPayment) {
  const chain::PsbtBip32Derivation in = Own({0, 1});
  chain::Transaction funding;
  funding.inputs.emplace_back();
  funding.inputs[0].prevout.txid.fill(0x4c);
  funding.outputs.push_back({1000000, P2wpkhOf(in)});
  auto psbt_to = [&](const std::vector<uint32_t>& own) {
    chain::Psbt psbt;
    chain::TxIn tx_in;
    tx_in.prevout = {chain::Txid(funding), 0};
    psbt.tx.inputs.push_back(tx_in);
    chain::PsbtInput pin;
    pin.non_witness_utxo = funding;
    pin.witness_utxo = funding.outputs[0];
    pin.bip32_derivations.push_back(in);
    psbt.inputs.push_back(pin);
    psbt.tx.outputs.push_back({200000, DemoDestinationScript()});
    psbt.tx.outputs.push_back({749000, P2wpkhOf(Own(own))});
    psbt.outputs.resize(2);
    psbt.outputs[1].bip32_derivations.push_back(Own(own));
    return psbt;
  };
  const std::string far_address = *chain::ScriptAddress(
      P2wpkhOf(Own({1, 0x7fffffff})), chain::Network::kRegtest);
  ExpectRefusedEverywhere(
      PsbtRequest(psbt_to({1, 0x7fffffff})),
      grpc::StatusCode::PERMISSION_DENIED,
      absl::StrCat("destination ", far_address, " is not in the allowlist"));
  v1::SignResponse resp;
  EXPECT_TRUE(
      Sign(cluster_->wallet(), PsbtRequest(psbt_to({1, 0})), &resp).ok());
  EXPECT_EQ(resp.signatures_size(), 1);
}

// 0.9 BTC per request is within max_amount (1 BTC); the rule allows 3 BTC
// per day. Each node counts what it admitted, so several requests together
// cross the limit.
TEST_F(PolicyTest, VelocityLimitCrossedBySeveralRequests) {
  int signed_ok = 0;
  grpc::Status refused;
  for (int attempt = 0; attempt < 8; ++attempt) {
    v1::SignRequest r = Psbt(90000000);
    Approve(r, {"alice", "bob", "carol"});
    v1::SignResponse resp;
    grpc::Status st = Sign(cluster_->wallet(), r, &resp);
    if (st.ok()) {
      ++signed_ok;
      continue;
    }
    refused = st;
    break;
  }
  // No single request crosses the limit; a node refuses once its own sum
  // would pass 3 BTC, i.e. after it admitted three of them (other tests'
  // small amounts aside).
  EXPECT_GE(signed_ok, 3);
  EXPECT_LE(signed_ok, 5);  // n/t = 1.5 times the limit at most
  EXPECT_TRUE(
      RpcError(refused, grpc::StatusCode::PERMISSION_DENIED, "velocity:"));
  EXPECT_TRUE(RpcError(refused, grpc::StatusCode::PERMISSION_DENIED,
                       "exceeds 300000000"));
}

}  // namespace
}  // namespace kagi::integration
