// End-to-end: DKG among n parties, then signing with t-subsets, messages
// delivered in shuffled order. Every signature is verified by libsecp256k1
// and by OpenSSL (independent verifiers) and must be low-S.
#include "libs/protocol/sign.h"

#include <map>
#include <tuple>

#include "gtest/gtest.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hash.h"
#include "libs/protocol/testing/simulation.h"
#include "tests/testing/openssl_ecdsa.h"

namespace kagi::protocol {
namespace {

using testing::DkgRun;
using testing::RunDkg;
using testing::RunSign;
using testing::SignRun;

// DKGs are slow-ish (base OTs for every ordered pair); run each (t, n) once.
const DkgRun& CachedDkg(uint32_t t, uint32_t n) {
  static auto* cache = new std::map<std::pair<uint32_t, uint32_t>, DkgRun>();
  auto it = cache->find({t, n});
  if (it == cache->end()) {
    const uint64_t seed = 1000 * t + n;
    DkgRun run = RunDkg(t, n, seed);
    for (const auto& [id, st] : run.result.status) {
      EXPECT_TRUE(st.ok()) << "DKG party " << id << ": " << st << " (seed "
                           << seed << ")";
    }
    it = cache->emplace(std::make_pair(t, n), std::move(run)).first;
  }
  return it->second;
}

void ExpectValid(const Signature& sig) {
  const auto pub = sig.public_key.ToCompressed();
  EXPECT_TRUE(
      crypto::EcdsaVerify(sig.public_key, sig.digest, sig.Compact()).ok());
  EXPECT_TRUE(
      kagi::testing::OpenSslVerifyEcdsa(pub, sig.digest, sig.r, sig.s).ok());
  EXPECT_FALSE(crypto::Scalar::FromCanonicalBytes(sig.s)->IsHigh());
}

// All t-subsets of 1..n (capped for large n).
std::vector<std::vector<uint32_t>> Subsets(uint32_t t, uint32_t n, size_t cap) {
  std::vector<std::vector<uint32_t>> out;
  std::vector<uint32_t> cur;
  std::function<void(uint32_t)> rec = [&](uint32_t start) {
    if (out.size() >= cap) {
      return;
    }
    if (cur.size() == t) {
      out.push_back(cur);
      return;
    }
    for (uint32_t i = start; i <= n; ++i) {
      cur.push_back(i);
      rec(i + 1);
      cur.pop_back();
    }
  };
  rec(1);
  return out;
}

class ThresholdTest
    : public ::testing::TestWithParam<std::tuple<uint32_t, uint32_t>> {};

TEST_P(ThresholdTest, DkgAgreesOnKeyAndEverySubsetSigns) {
  const auto [t, n] = GetParam();
  const DkgRun& dkg = CachedDkg(t, n);
  ASSERT_TRUE(dkg.ok());
  // Every party holds the same public data and a share consistent with it.
  const KeyShare& first = dkg.shares[0];
  for (const KeyShare& s : dkg.shares) {
    EXPECT_EQ(s.public_key, first.public_key);
    EXPECT_EQ(s.chain_code, first.chain_code);
    EXPECT_EQ(s.key_id, first.key_id);
    EXPECT_EQ(s.public_shares, first.public_shares);
    EXPECT_EQ(*crypto::Point::MulGenerator(s.secret_share),
              s.public_shares[s.self - 1]);
    EXPECT_EQ(s.pairwise.size(), n - 1);
  }
  const size_t cap = n <= 5 ? 64 : 3;
  uint64_t seed = 77;
  for (const std::vector<uint32_t>& subset : Subsets(t, n, cap)) {
    ++seed;
    std::vector<SignItem> items(1);
    items[0].digest =
        crypto::Sha256(AsBytes("withdrawal " + std::to_string(seed)));
    items[0].path = {0, 7};
    const SessionSetup setup =
        testing::MakeSignSetup(first, subset, items, seed);
    const SignRun run = RunSign(dkg.ids, dkg.shares, setup, seed);
    ASSERT_TRUE(run.ok()) << "seed " << seed << ": "
                          << run.result.status.begin()->second;
    // Every signer returns the same signature, valid under the derived key.
    const Signature& sig = run.signatures.begin()->second.at(0);
    ExpectValid(sig);
    for (const auto& [id, sigs] : run.signatures) {
      ASSERT_EQ(sigs.size(), 1u);
      EXPECT_EQ(sigs[0].Compact(), sig.Compact()) << "party " << id;
      EXPECT_EQ(run.consumed.at(id).size(), 1u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TN, ThresholdTest,
                         ::testing::Values(std::make_tuple(2u, 2u),
                                           std::make_tuple(2u, 3u),
                                           std::make_tuple(3u, 5u),
                                           std::make_tuple(5u, 9u)));

TEST(SignTest, BatchSignsEveryItemUnderItsOwnPath) {
  const DkgRun& dkg = CachedDkg(2, 3);
  std::vector<SignItem> items;
  for (uint32_t i = 0; i < 4; ++i) {
    SignItem it;
    it.digest = crypto::Sha256(AsBytes("input " + std::to_string(i)));
    it.path = {i % 2, i};
    items.push_back(it);
  }
  items[3].path = {};  // the root key itself
  const SessionSetup setup =
      testing::MakeSignSetup(dkg.shares[0], {1, 3}, items, 5);
  const SignRun run = RunSign(dkg.ids, dkg.shares, setup, 5);
  ASSERT_TRUE(run.ok()) << run.result.status.begin()->second;
  const auto& sigs = run.signatures.at(1);
  ASSERT_EQ(sigs.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    ExpectValid(sigs[i]);
    EXPECT_EQ(sigs[i].digest, items[i].digest);
  }
  EXPECT_EQ(sigs[3].public_key, dkg.shares[0].public_key);
  EXPECT_NE(sigs[0].public_key, sigs[1].public_key);
  EXPECT_EQ(run.consumed.at(1).size(), 4u);
}

TEST(SignTest, RecoveryIdRecoversTheKey) {
  const DkgRun& dkg = CachedDkg(2, 3);
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    std::vector<SignItem> items(1);
    items[0].digest = crypto::Sha256(AsBytes(std::to_string(seed)));
    const SignRun run = RunSign(
        dkg.ids, dkg.shares,
        testing::MakeSignSetup(dkg.shares[0], {2, 3}, items, seed), seed);
    ASSERT_TRUE(run.ok());
    const Signature& sig = run.signatures.at(2)[0];
    // R = (r, y with parity bit 0 of the recovery id); X' = r^-1 (sR - mG).
    std::array<uint8_t, 33> enc{};
    enc[0] = static_cast<uint8_t>(0x02 | (sig.recovery_id & 1));
    std::copy(sig.r.begin(), sig.r.end(), enc.begin() + 1);
    ASSERT_EQ(sig.recovery_id & 2, 0);  // x(R) >= n has probability 2^-128
    const crypto::Point big_r = *crypto::Point::FromCompressed(enc);
    const crypto::Scalar r = *crypto::Scalar::FromCanonicalBytes(sig.r);
    const crypto::Scalar s = *crypto::Scalar::FromCanonicalBytes(sig.s);
    const crypto::Scalar m = crypto::Scalar::FromBytesModOrder(sig.digest);
    const crypto::Point sr = *big_r.MulPublicScalarVartime(s);
    const crypto::Point mg = *crypto::Point::MulGenerator(m);
    const crypto::Point key =
        *sr.Add(mg.Negate())->MulPublicScalarVartime(r.Invert());
    EXPECT_EQ(key, sig.public_key) << "seed " << seed;
  }
}

class PresignatureTest : public ::testing::Test {
 protected:
  Presignature Make() {
    InsecureDeterministicRng rng(4);
    return Presignature::CreateForTesting(
        PresignatureId{rng.Bytes<32>(), 0}, digest_,
        *crypto::Point::MulGenerator(crypto::Scalar::RandomNonZero(rng)),
        crypto::Scalar::RandomNonZero(rng), crypto::Scalar::RandomNonZero(rng),
        crypto::Scalar::RandomNonZero(rng));
  }
  std::array<uint8_t, 32> digest_ = crypto::Sha256(AsBytes("tx"));
  int marks_ = 0;
  ConsumeHook ok_ = [this](const PresignatureId&) {
    ++marks_;
    return absl::OkStatus();
  };
};

TEST_F(PresignatureTest, ReleasesOnceAfterTheHookAndNeverAgain) {
  Presignature p = Make();
  absl::StatusOr<std::array<uint8_t, 64>> first = p.Release(digest_, ok_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(marks_, 1);
  EXPECT_TRUE(p.used());
  absl::StatusOr<std::array<uint8_t, 64>> second = p.Release(digest_, ok_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(marks_, 1);  // the hook is not asked again
  // A moved presignature keeps its used state.
  Presignature moved = std::move(p);
  EXPECT_FALSE(moved.Release(digest_, ok_).ok());
}

TEST_F(PresignatureTest, FailingHookReleasesNothingAndBurns) {
  Presignature p = Make();
  const ConsumeHook fail = [](const PresignatureId&) {
    return absl::UnavailableError("disk full");
  };
  absl::StatusOr<std::array<uint8_t, 64>> r = p.Release(digest_, fail);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  // Burned: even with a working hook it never releases.
  EXPECT_FALSE(p.Release(digest_, ok_).ok());
  EXPECT_EQ(marks_, 0);
}

TEST_F(PresignatureTest, OtherDigestIsRefusedAndBurns) {
  Presignature p = Make();
  std::array<uint8_t, 32> other = digest_;
  other[0] ^= 1;
  EXPECT_EQ(p.Release(other, ok_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(marks_, 0);
  EXPECT_FALSE(p.Release(digest_, ok_).ok());
}

TEST(SignTest, FinishedPartyRefusesAnotherRound) {
  const DkgRun& dkg = CachedDkg(2, 3);
  std::vector<SignItem> items(1);
  const SessionSetup setup =
      testing::MakeSignSetup(dkg.shares[0], {1, 2}, items, 9);
  InsecureDeterministicRng rng(9);
  const ConsumeHook hook = [](const PresignatureId&) {
    return absl::OkStatus();
  };
  std::unique_ptr<SignParty> p =
      *SignParty::Create(setup, dkg.shares[0], dkg.ids.signer(1), rng, hook);
  ASSERT_TRUE(p->Start().ok());
  EXPECT_FALSE(p->Start().ok());                // a second start
  EXPECT_FALSE(p->Advance(RoundInput{}).ok());  // incomplete round: aborts
  EXPECT_FALSE(p->Advance(RoundInput{}).ok());  // and stays aborted
}

TEST(SignTest, SetupMismatchesAreRefused) {
  const DkgRun& dkg = CachedDkg(2, 3);
  std::vector<SignItem> items(1);
  InsecureDeterministicRng rng(1);
  const ConsumeHook hook = [](const PresignatureId&) {
    return absl::OkStatus();
  };
  SessionSetup good = testing::MakeSignSetup(dkg.shares[0], {1, 2}, items, 1);
  // Another epoch: shares of different epochs never mix.
  SessionSetup other_epoch = good;
  other_epoch.epoch = 1;
  absl::StatusOr<std::unique_ptr<SignParty>> p = SignParty::Create(
      other_epoch, dkg.shares[0], dkg.ids.signer(1), rng, hook);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("epoch"), absl::string_view::npos);
  // More or fewer than t signers.
  SessionSetup three = good;
  three.signers = {1, 2, 3};
  EXPECT_FALSE(
      SignParty::Create(three, dkg.shares[0], dkg.ids.signer(1), rng, hook)
          .ok());
  SessionSetup one = good;
  one.signers = {1};
  EXPECT_FALSE(
      SignParty::Create(one, dkg.shares[0], dkg.ids.signer(1), rng, hook).ok());
  // A party id outside 1..n.
  SessionSetup outside = good;
  outside.signers = {1, 4};
  EXPECT_FALSE(
      SignParty::Create(outside, dkg.shares[0], dkg.ids.signer(1), rng, hook)
          .ok());
  // Not a signer.
  EXPECT_FALSE(
      SignParty::Create(good, dkg.shares[2], dkg.ids.signer(3), rng, hook)
          .ok());
  // Another key.
  SessionSetup other_key = good;
  other_key.key_id[0] ^= 1;
  EXPECT_FALSE(
      SignParty::Create(other_key, dkg.shares[0], dkg.ids.signer(1), rng, hook)
          .ok());
  // A share whose secret does not match its own public share.
  KeyShare broken =
      KeyShare::Deserialize(dkg.shares[0].Serialize().secret()).value();
  broken.secret_share += crypto::Scalar::One();
  absl::StatusOr<std::unique_ptr<SignParty>> b =
      SignParty::Create(good, broken, dkg.ids.signer(1), rng, hook);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("does not match its public share"),
            absl::string_view::npos);
  // A hardened path.
  SessionSetup hardened = good;
  hardened.items[0].path = {0x80000000u};
  EXPECT_FALSE(
      SignParty::Create(hardened, dkg.shares[0], dkg.ids.signer(1), rng, hook)
          .ok());
}

}  // namespace
}  // namespace kagi::protocol
