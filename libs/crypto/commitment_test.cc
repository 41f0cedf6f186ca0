#include "libs/crypto/commitment.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/crypto/transcript.h"

namespace kagi::crypto {
namespace {

using ::testing::HasSubstr;

TEST(CommitmentTest, OpensWithTheRightDataOnly) {
  InsecureDeterministicRng rng(1);
  const Bytes sid = {1, 2, 3};
  const Bytes data = {9, 9, 9};
  const CommitmentWithOpening c = Commit(Tag::kDkgCommit, sid, 2, data, rng);
  EXPECT_TRUE(
      VerifyOpening(Tag::kDkgCommit, sid, 2, data, c.rho, c.commitment).ok());

  const Bytes other_data = {9, 9, 8};
  const Bytes other_sid = {1, 2, 4};
  auto other_rho = c.rho;
  other_rho[0] ^= 1;
  const absl::Status wrong_data =
      VerifyOpening(Tag::kDkgCommit, sid, 2, other_data, c.rho, c.commitment);
  EXPECT_THAT(wrong_data.message(),
              HasSubstr("commitment from party 2 does not open"));
  EXPECT_FALSE(
      VerifyOpening(Tag::kDkgCommit, other_sid, 2, data, c.rho, c.commitment)
          .ok());
  EXPECT_FALSE(
      VerifyOpening(Tag::kDkgCommit, sid, 3, data, c.rho, c.commitment).ok());
  EXPECT_FALSE(
      VerifyOpening(Tag::kDkgCommit, sid, 2, data, other_rho, c.commitment)
          .ok());
  EXPECT_FALSE(
      VerifyOpening(Tag::kSignCommit, sid, 2, data, c.rho, c.commitment).ok());
}

TEST(CommitmentTest, FreshRandomnessHidesEqualData) {
  InsecureDeterministicRng rng(2);
  const Bytes sid = {1};
  const Bytes data = {7};
  const CommitmentWithOpening a = Commit(Tag::kSignCommit, sid, 1, data, rng);
  const CommitmentWithOpening b = Commit(Tag::kSignCommit, sid, 1, data, rng);
  EXPECT_NE(a.rho, b.rho);
  EXPECT_NE(a.commitment, b.commitment);
}

TEST(CommitmentTest, IsTheSpecifiedTranscriptHash) {
  const Bytes sid = {5};
  const Bytes data = {6};
  std::array<uint8_t, 32> rho{};
  rho[0] = 1;
  const Digest32 c = ComputeCommitment(Tag::kReshareCommit, sid, 4, data, rho);
  const Digest32 manual =
      Transcript(Tag::kReshareCommit).Add(sid).AddU32(4).Add(data).Add(rho).H();
  EXPECT_EQ(c, manual);
}

}  // namespace
}  // namespace kagi::crypto
