#include "libs/crypto/schnorr.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/crypto/transcript.h"

namespace kagi::crypto {
namespace {

using ::testing::HasSubstr;

class SchnorrTest : public ::testing::Test {
 protected:
  SchnorrTest()
      : rng_(77),
        secret_(Scalar::RandomNonZero(rng_)),
        statement_(*Point::MulGenerator(secret_)) {
    ctx_.sid = AsBytes("session-1");
    ctx_.label = AsBytes("dkg-coef");
    ctx_.prover = 3;
    ctx_.index = 1;
  }
  SchnorrProof Prove() {
    absl::StatusOr<SchnorrProof> p =
        ProveKnowledge(ctx_, secret_, statement_, rng_);
    EXPECT_TRUE(p.ok()) << p.status();
    return *p;
  }

  InsecureDeterministicRng rng_;
  Scalar secret_;
  Point statement_;
  PokContext ctx_;
};

TEST_F(SchnorrTest, HonestProofVerifiesAndRoundTrips) {
  const SchnorrProof p = Prove();
  EXPECT_TRUE(VerifyKnowledge(ctx_, statement_, p).ok());
  const auto enc = p.Encode();
  absl::StatusOr<SchnorrProof> back = SchnorrProof::Decode(enc, "pi");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(VerifyKnowledge(ctx_, statement_, *back).ok());
  EXPECT_EQ(back->Encode(), enc);
}

TEST_F(SchnorrTest, RejectsWrongStatement) {
  const SchnorrProof p = Prove();
  const Point other = *Point::MulGenerator(secret_ + Scalar::One());
  const absl::Status st = VerifyKnowledge(ctx_, other, p);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("party 3"));
  EXPECT_THAT(st.message(), HasSubstr("dkg-coef[1]"));
}

TEST_F(SchnorrTest, RejectsResponseComputedWithWrongChallenge) {
  // A prover who answers a challenge other than the Fiat–Shamir one: here the
  // hash without the label, as a buggy encoder would compute it.
  const Scalar k = Scalar::RandomNonZero(rng_);
  const Point t = *Point::MulGenerator(k);
  const Scalar wrong_e = Transcript(Tag::kPok)
                             .Add(ctx_.sid)
                             .AddU32(ctx_.prover)
                             .AddU32(ctx_.index)
                             .AddPoint(statement_)
                             .AddPoint(t)
                             .Hn();
  const SchnorrProof forged{t, k + wrong_e * secret_};
  EXPECT_FALSE(VerifyKnowledge(ctx_, statement_, forged).ok());
  // And with the right challenge the same construction verifies, so the
  // failure above is due to the challenge alone.
  const Scalar right_e = Transcript(Tag::kPok)
                             .Add(ctx_.sid)
                             .Add(ctx_.label)
                             .AddU32(ctx_.prover)
                             .AddU32(ctx_.index)
                             .Add(ctx_.extra)
                             .AddPoint(statement_)
                             .AddPoint(t)
                             .Hn();
  EXPECT_TRUE(
      VerifyKnowledge(ctx_, statement_, SchnorrProof{t, k + right_e * secret_})
          .ok());
}

TEST_F(SchnorrTest, RejectsTamperedResponseOrCommitment) {
  const SchnorrProof p = Prove();
  EXPECT_FALSE(
      VerifyKnowledge(ctx_, statement_,
                      SchnorrProof{p.commitment, p.response + Scalar::One()})
          .ok());
  const Point t2 = *p.commitment.Add(Point::Generator());
  EXPECT_FALSE(
      VerifyKnowledge(ctx_, statement_, SchnorrProof{t2, p.response}).ok());
  EXPECT_THAT(VerifyKnowledge(ctx_, statement_,
                              SchnorrProof{p.commitment, Scalar::Zero()})
                  .message(),
              HasSubstr("zero response"));
}

TEST_F(SchnorrTest, IsBoundToProverIndexSessionLabelAndExtra) {
  const SchnorrProof p = Prove();
  PokContext other = ctx_;
  other.prover = 4;
  EXPECT_FALSE(VerifyKnowledge(other, statement_, p).ok());
  other = ctx_;
  other.index = 2;
  EXPECT_FALSE(VerifyKnowledge(other, statement_, p).ok());
  other = ctx_;
  other.sid = AsBytes("session-2");
  EXPECT_FALSE(VerifyKnowledge(other, statement_, p).ok());
  other = ctx_;
  other.label = AsBytes("dkg-share");
  EXPECT_FALSE(VerifyKnowledge(other, statement_, p).ok());
  other = ctx_;
  other.extra = AsBytes("chain-code");
  EXPECT_FALSE(VerifyKnowledge(other, statement_, p).ok());
}

TEST_F(SchnorrTest, DecodeRejectsIdentityNonCanonicalAndWrongLengths) {
  auto enc = Prove().Encode();
  // The identity point has no encoding: an all-zero T is refused.
  auto identity = enc;
  std::fill(identity.begin(), identity.begin() + 33, 0);
  EXPECT_THAT(SchnorrProof::Decode(identity, "pi").status().message(),
              HasSubstr("pi.T: invalid compressed point prefix 0x00"));
  // z >= n.
  auto big_z = enc;
  std::fill(big_z.begin() + 33, big_z.end(), 0xff);
  EXPECT_THAT(SchnorrProof::Decode(big_z, "pi").status().message(),
              HasSubstr("pi.z: scalar is not canonical"));
  // z = n exactly (the canonical encoding of 0 plus n).
  auto n_z = enc;
  const Bytes n = *HexDecode(
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
  std::copy(n.begin(), n.end(), n_z.begin() + 33);
  EXPECT_FALSE(SchnorrProof::Decode(n_z, "pi").ok());
  EXPECT_THAT(
      SchnorrProof::Decode(ByteSpan(enc.data(), 64), "pi").status().message(),
      HasSubstr("must be 65 bytes, got 64"));
  Bytes longer(enc.begin(), enc.end());
  longer.push_back(0);
  EXPECT_FALSE(SchnorrProof::Decode(longer, "pi").ok());
}

TEST_F(SchnorrTest, ProverRefusesMismatchedSecret) {
  EXPECT_FALSE(
      ProveKnowledge(ctx_, secret_ + Scalar::One(), statement_, rng_).ok());
  EXPECT_FALSE(ProveKnowledge(ctx_, Scalar::Zero(), statement_, rng_).ok());
}

TEST_F(SchnorrTest, NoncesDifferAcrossRuns) {
  const SchnorrProof a = Prove();
  const SchnorrProof b = Prove();
  EXPECT_NE(a.commitment, b.commitment);
}

}  // namespace
}  // namespace kagi::crypto
