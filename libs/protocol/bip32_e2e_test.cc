// BIP32 end-to-end (PROTOCOL.md §5, fixtures A and B): a trusted dealer
// (test-only) Shamir-shares a published BIP32 xprv, the real threshold
// signing protocol signs under a non-hardened child path, and the key it
// signed under must be exactly the child key published in the BIP32 test
// vectors. Every signature is checked by libsecp256k1 and by OpenSSL and
// must be low-S. Also checks that the dealer's shares are well formed (they
// pass KeyShare's own consistency checks, and their OT material is a real
// base-OT correlation).
#include <array>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/bit_matrix.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/lagrange.h"
#include "libs/protocol/sign.h"
#include "libs/protocol/testing/dealer.h"
#include "libs/protocol/testing/simulation.h"
#include "tests/testing/openssl_ecdsa.h"
#include "tests/testing/vectors.h"

namespace kagi::protocol {
namespace {

using crypto::DecodeExtendedKey;
using crypto::ExtendedKey;
using crypto::ExtendedPublicKey;
using crypto::Point;
using crypto::Scalar;
using testing::DealShares;
using testing::Identities;
using testing::MakeIdentities;
using testing::MakeSignSetup;
using testing::RunSign;
using testing::SignRun;

constexpr char kV1Root[] = "m/0<sub>H</sub>/1/2<sub>H</sub>";
constexpr char kV1Child[] = "m/0<sub>H</sub>/1/2<sub>H</sub>/2/1000000000";

struct Chain {
  std::string xpub;
  std::string xprv;
};

// Vector number → chain name → keys, from
// tests/vectors/bip32_test_vectors.json.
const std::map<int, std::map<std::string, Chain>>& Vectors() {
  static const auto* vectors = [] {
    auto* out = new std::map<int, std::map<std::string, Chain>>();
    absl::StatusOr<google::protobuf::Value> json =
        kagi::testing::LoadJsonVector("bip32_test_vectors.json");
    EXPECT_TRUE(json.ok()) << json.status();
    if (!json.ok()) {
      return out;
    }
    for (const auto& v :
         kagi::testing::GetField(*json, "vectors").list_value().values()) {
      const int number =
          static_cast<int>(kagi::testing::GetNumber(v, "vector"));
      for (const auto& c :
           kagi::testing::GetField(v, "chains").list_value().values()) {
        (*out)[number][kagi::testing::GetString(c, "chain")] =
            Chain{kagi::testing::GetString(c, "ext_pub"),
                  kagi::testing::GetString(c, "ext_prv")};
      }
    }
    return out;
  }();
  return *vectors;
}

const Chain& V(int vector, const std::string& chain) {
  return Vectors().at(vector).at(chain);
}

ExtendedKey DecodeOrDie(const std::string& text) {
  absl::StatusOr<ExtendedKey> k = DecodeExtendedKey(text);
  EXPECT_TRUE(k.ok()) << k.status();
  return *k;
}

void ExpectValid(const Signature& sig) {
  const auto pub = sig.public_key.ToCompressed();
  EXPECT_TRUE(
      crypto::EcdsaVerify(sig.public_key, sig.digest, sig.Compact()).ok());
  const absl::Status ossl =
      kagi::testing::OpenSslVerifyEcdsa(pub, sig.digest, sig.r, sig.s);
  EXPECT_TRUE(ossl.ok()) << ossl;
  EXPECT_FALSE(crypto::Scalar::FromCanonicalBytes(sig.s)->IsHigh());
}

// Signs `digest` on `path` with `signers` and returns the (common) signature.
Signature SignOne(const Identities& ids, const std::vector<KeyShare>& shares,
                  const std::vector<uint32_t>& signers,
                  const std::vector<uint32_t>& path, const std::string& msg,
                  uint64_t seed) {
  std::vector<SignItem> items(1);
  items[0].digest = crypto::Sha256(AsBytes(msg));
  items[0].path = path;
  const SessionSetup setup = MakeSignSetup(shares[0], signers, items, seed);
  const SignRun run = RunSign(ids, shares, setup, seed);
  EXPECT_TRUE(run.ok()) << "seed " << seed << ": "
                        << (run.result.status.empty()
                                ? absl::UnknownError("no status")
                                : run.result.status.begin()->second);
  if (!run.ok() || run.signatures.empty()) {
    return Signature{};
  }
  const Signature sig = run.signatures.begin()->second.at(0);
  for (const auto& [id, sigs] : run.signatures) {
    EXPECT_EQ(sigs.size(), 1u);
    EXPECT_EQ(sigs.at(0).Compact(), sig.Compact()) << "party " << id;
    EXPECT_EQ(sigs.at(0).public_key, sig.public_key) << "party " << id;
  }
  EXPECT_EQ(run.signatures.size(), signers.size());
  EXPECT_EQ(sig.digest, items[0].digest);
  return sig;
}

// Fixture A: V1 m/0H/1/2H dealt 2-of-3, signing on 2/1000000000.
TEST(Bip32EndToEndTest, FixtureAVector1ChildKeyMatches) {
  const ExtendedKey root = DecodeOrDie(V(1, kV1Root).xprv);
  ASSERT_TRUE(root.is_private());
  const Identities ids = MakeIdentities(3, 101);
  const std::vector<KeyShare> shares = DealShares(
      *root.PrivateKeyForTestFixtures(), root.chain_code(), 2, ids, 101);
  ASSERT_EQ(shares.size(), 3u);

  // The dealt root equals the vector's m/0H/1/2H xpub in key and chain code;
  // only depth, parent fingerprint and child number differ (a Kagi root is
  // depth 0), and with those restored the encoding is byte-for-byte equal.
  const ExtendedKey want_root = DecodeOrDie(V(1, kV1Root).xpub);
  const ExtendedPublicKey kagi_root =
      ExtendedPublicKey::Root(shares[0].public_key, shares[0].chain_code);
  const absl::StatusOr<ExtendedPublicKey> reparsed =
      ExtendedPublicKey::Decode(kagi_root.Encode());
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_EQ(reparsed->key(), want_root.public_key());
  EXPECT_EQ(reparsed->chain_code(), want_root.chain_code());
  EXPECT_EQ(reparsed->depth(), 0);
  EXPECT_NE(kagi_root.Encode(), V(1, kV1Root).xpub);  // depth 0 vs 3
  const absl::StatusOr<ExtendedPublicKey> restored = ExtendedPublicKey::Create(
      crypto::kBip32VersionXpub, want_root.depth(),
      want_root.parent_fingerprint(), want_root.child_number(),
      shares[0].chain_code, shares[0].public_key);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->Encode(), V(1, kV1Root).xpub);

  // CKDpub from the Kagi root reproduces the vector's child key and chain.
  const ExtendedKey want_child = DecodeOrDie(V(1, kV1Child).xpub);
  const absl::StatusOr<crypto::DerivedKey> derived =
      crypto::DerivePath(kagi_root, {2, 1000000000});
  ASSERT_TRUE(derived.ok()) << derived.status();
  EXPECT_EQ(derived->xpub.key(), want_child.public_key());
  EXPECT_EQ(derived->xpub.chain_code(), want_child.chain_code());

  const Signature sig = SignOne(ids, shares, {1, 3}, {2, 1000000000},
                                "fixture A: v1 m/0H/1/2H/2/1000000000", 7);
  EXPECT_EQ(sig.public_key, want_child.public_key());
  // The vector's child private key gives the same public key: the signature
  // is a signature by that BIP32 key.
  const ExtendedKey child_prv = DecodeOrDie(V(1, kV1Child).xprv);
  EXPECT_EQ(*Point::MulGenerator(*child_prv.PrivateKeyForTestFixtures()),
            sig.public_key);
  ExpectValid(sig);

  // The other signer pairs sign under the same key.
  for (const std::vector<uint32_t>& signers :
       std::vector<std::vector<uint32_t>>{{1, 2}, {2, 3}}) {
    const Signature s = SignOne(ids, shares, signers, {2, 1000000000},
                                "fixture A, other pair", 8 + signers[0]);
    EXPECT_EQ(s.public_key, want_child.public_key());
    ExpectValid(s);
  }
}

// Fixture A, one step: path 2 gives V1's m/0H/1/2H/2.
TEST(Bip32EndToEndTest, FixtureAIntermediateStep) {
  const ExtendedKey root = DecodeOrDie(V(1, kV1Root).xprv);
  const Identities ids = MakeIdentities(3, 102);
  const std::vector<KeyShare> shares = DealShares(
      *root.PrivateKeyForTestFixtures(), root.chain_code(), 2, ids, 102);
  const ExtendedKey want =
      DecodeOrDie(V(1, "m/0<sub>H</sub>/1/2<sub>H</sub>/2").xpub);
  const Signature sig =
      SignOne(ids, shares, {2, 3}, {2}, "fixture A: one step", 11);
  EXPECT_EQ(sig.public_key, want.public_key());
  ExpectValid(sig);
}

// Fixture B: V2 master dealt 3-of-4, path 0 gives V2's m/0.
TEST(Bip32EndToEndTest, FixtureBVector2MasterPathZero) {
  const ExtendedKey master = DecodeOrDie(V(2, "m").xprv);
  ASSERT_TRUE(master.is_private());
  const Identities ids = MakeIdentities(4, 201);
  const std::vector<KeyShare> shares = DealShares(
      *master.PrivateKeyForTestFixtures(), master.chain_code(), 3, ids, 201);
  // A master key is depth 0, so here the Kagi root encodes exactly as the
  // vector's master xpub.
  EXPECT_EQ(ExtendedPublicKey::Root(shares[0].public_key, shares[0].chain_code)
                .Encode(),
            V(2, "m").xpub);
  const ExtendedKey want = DecodeOrDie(V(2, "m/0").xpub);
  const Signature sig =
      SignOne(ids, shares, {1, 2, 4}, {0}, "fixture B: v2 m/0", 21);
  EXPECT_EQ(sig.public_key, want.public_key());
  ExpectValid(sig);
  // The empty path signs under the master key itself.
  const Signature root_sig =
      SignOne(ids, shares, {2, 3, 4}, {}, "fixture B: v2 m", 22);
  EXPECT_EQ(root_sig.public_key, master.public_key());
  ExpectValid(root_sig);
}

// A 3-of-5 dealt key: two different signer subsets sign under the same
// derived key, and that key is CKDpub of the root.
TEST(Bip32EndToEndTest, ThreeOfFiveSubsetsAgreeOnDerivedKey) {
  InsecureDeterministicRng rng(301);
  const Scalar secret = Scalar::RandomNonZero(rng);
  const std::array<uint8_t, 32> cc = rng.Bytes<32>();
  const Identities ids = MakeIdentities(5, 301);
  const std::vector<KeyShare> shares = DealShares(secret, cc, 3, ids, 301);
  const std::vector<uint32_t> path = {0, 7, 2147483647u};
  const absl::StatusOr<crypto::DerivedKey> derived = crypto::DerivePath(
      ExtendedPublicKey::Root(*Point::MulGenerator(secret), cc), path);
  ASSERT_TRUE(derived.ok()) << derived.status();
  const Signature a = SignOne(ids, shares, {1, 2, 3}, path, "subset a", 31);
  const Signature b = SignOne(ids, shares, {2, 4, 5}, path, "subset b", 32);
  ExpectValid(a);
  ExpectValid(b);
  EXPECT_EQ(a.public_key, derived->xpub.key());
  EXPECT_EQ(b.public_key, derived->xpub.key());
  EXPECT_NE(a.r, b.r);  // fresh nonces
}

// The dealer's output is a well-formed set of key shares.
TEST(DealerTest, SharesAreConsistentAndCarryRealOtMaterial) {
  InsecureDeterministicRng rng(401);
  const Scalar secret = Scalar::RandomNonZero(rng);
  const std::array<uint8_t, 32> cc = rng.Bytes<32>();
  const Identities ids = MakeIdentities(4, 401);
  const uint32_t t = 3;
  const std::vector<KeyShare> shares = DealShares(secret, cc, t, ids, 401);
  ASSERT_EQ(shares.size(), 4u);
  const Point x = *Point::MulGenerator(secret);
  for (const KeyShare& s : shares) {
    EXPECT_EQ(s.public_key, x);
    EXPECT_EQ(s.chain_code, cc);
    EXPECT_EQ(s.threshold, t);
    EXPECT_EQ(s.epoch, 0u);
    EXPECT_EQ(s.sid_key, shares[0].sid_key);
    EXPECT_EQ(s.key_id, ComputeKeyId(x, cc, ids.parties, t));
    EXPECT_EQ(s.public_shares, shares[0].public_shares);
    EXPECT_EQ(*Point::MulGenerator(s.secret_share),
              s.public_shares[s.self - 1]);
    ASSERT_EQ(s.parties.size(), ids.parties.size());
    for (size_t i = 0; i < s.parties.size(); ++i) {
      EXPECT_EQ(s.parties[i].id, ids.parties[i].id);
      EXPECT_EQ(s.parties[i].identity_key, ids.parties[i].identity_key);
    }
    // KeyShare's own checks (interpolation, key id, x_i·G = X_i) pass.
    const SecretBytes bytes = s.Serialize();
    const absl::StatusOr<KeyShare> back = KeyShare::Deserialize(bytes.secret());
    EXPECT_TRUE(back.ok()) << back.status();
  }
  EXPECT_EQ(shares[0].self, 1u);
  EXPECT_EQ(shares[3].self, 4u);
  // Any t shares reconstruct the secret (and t−1 do not).
  const std::vector<uint32_t> set = {1, 2, 4};
  Scalar sum;
  for (uint32_t i : set) {
    sum += LagrangeAtZero(i, set) * shares[i - 1].secret_share;
  }
  EXPECT_EQ(sum, secret);

  // Pairwise material: one entry per peer, sorted; for every ordered pair
  // (A = i, B = j) the COTe sender i holds s^{Δ_ℓ}_ℓ of the keys j holds as
  // COTe receiver; κ is shared by both and differs between pairs.
  constexpr size_t kKey = 32;
  for (const KeyShare& si : shares) {
    ASSERT_EQ(si.pairwise.size(), 3u);
    uint32_t prev = 0;
    for (const PairwiseMaterial& m : si.pairwise) {
      EXPECT_GT(m.peer, prev);
      EXPECT_NE(m.peer, si.self);
      prev = m.peer;
      ASSERT_EQ(m.as_sender.delta.size(), 32u);
      ASSERT_EQ(m.as_sender.keys.size(), mpc::kBaseOts * kKey);
      ASSERT_EQ(m.as_receiver.keys0.size(), mpc::kBaseOts * kKey);
      ASSERT_EQ(m.as_receiver.keys1.size(), mpc::kBaseOts * kKey);
      ASSERT_EQ(m.zero_seed.size(), 32u);
      const KeyShare& sj = shares[m.peer - 1];
      const PairwiseMaterial* back = sj.Pairwise(si.self);
      ASSERT_NE(back, nullptr);
      EXPECT_EQ(m.zero_seed, back->zero_seed);
      const ByteSpan delta = m.as_sender.delta.secret();
      const ByteSpan got = m.as_sender.keys.secret();
      const ByteSpan k0 = back->as_receiver.keys0.secret();
      const ByteSpan k1 = back->as_receiver.keys1.secret();
      size_t ones = 0;
      for (size_t l = 0; l < mpc::kBaseOts; ++l) {
        const uint64_t bit = mpc::GetBit(delta, l);
        ones += bit;
        const ByteSpan want = (bit ? k1 : k0).subspan(l * kKey, kKey);
        const ByteSpan other = (bit ? k0 : k1).subspan(l * kKey, kKey);
        ASSERT_TRUE(
            std::equal(want.begin(), want.end(), got.begin() + l * kKey))
            << "pair (" << si.self << "," << m.peer << ") ot " << l;
        ASSERT_FALSE(
            std::equal(other.begin(), other.end(), got.begin() + l * kKey));
      }
      EXPECT_GT(ones, 64u);  // Δ is random, not a constant
      EXPECT_LT(ones, 192u);
      // The two directions of a pair are independent base-OT instances.
      EXPECT_NE(m.as_sender.delta, back->as_sender.delta);
    }
  }
  EXPECT_NE(shares[0].Pairwise(2)->zero_seed, shares[0].Pairwise(3)->zero_seed);
}

TEST(DealerTest, DeterministicInSeed) {
  const Scalar secret = Scalar::FromUint64(424242);
  const std::array<uint8_t, 32> cc{};
  const Identities ids = MakeIdentities(3, 5);
  const std::vector<KeyShare> a = DealShares(secret, cc, 2, ids, 5);
  const std::vector<KeyShare> b = DealShares(secret, cc, 2, ids, 5);
  const std::vector<KeyShare> c = DealShares(secret, cc, 2, ids, 6);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].Serialize(), b[i].Serialize());
    EXPECT_NE(a[i].Serialize(), c[i].Serialize());
    EXPECT_NE(a[i].secret_share, c[i].secret_share);
  }
  EXPECT_NE(a[0].sid_key, c[0].sid_key);
  EXPECT_EQ(a[0].public_key, c[0].public_key);
}

}  // namespace
}  // namespace kagi::protocol
