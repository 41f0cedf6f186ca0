#include "libs/mpc/base_ot.h"

#include "gtest/gtest.h"
#include "libs/mpc/bit_matrix.h"

namespace kagi::mpc {
namespace {

BaseOtSession Session(Rng& rng) {
  BaseOtSession s;
  s.sid = rng.Bytes<32>();
  s.cote_sender = 4;
  s.cote_receiver = 9;
  return s;
}

TEST(BaseOtTest, ReceiverGetsTheSenderKeyAtEveryChoiceBit) {
  InsecureDeterministicRng rng(21);
  const BaseOtSession s = Session(rng);
  Bytes msg1;
  BaseOtReceiver recv = BaseOtReceiver::Start(s, rng, &msg1);
  EXPECT_EQ(msg1.size(), kBaseOtMessageBytes);
  EXPECT_EQ(kBaseOtMessageBytes, 32u + 256u * 66u);
  absl::StatusOr<BaseOtSenderResult> sent = BaseOtSenderRespond(s, msg1, rng);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->msg2.size(), kBaseOtMessageBytes);
  absl::StatusOr<CoteSenderSeeds> got = std::move(recv).Finish(sent->msg2);
  ASSERT_TRUE(got.ok()) << got.status();
  int ones = 0;
  for (size_t l = 0; l < kBaseOts; ++l) {
    const uint64_t c = GetBit(got->delta.secret(), l);
    ones += static_cast<int>(c);
    const ByteSpan mine = got->keys.secret().subspan(32 * l, 32);
    const ByteSpan k0 = sent->seeds.keys0.secret().subspan(32 * l, 32);
    const ByteSpan k1 = sent->seeds.keys1.secret().subspan(32 * l, 32);
    ASSERT_TRUE(ConstantTimeEqual(mine, c ? k1 : k0)) << "instance " << l;
    ASSERT_FALSE(ConstantTimeEqual(mine, c ? k0 : k1)) << "instance " << l;
    ASSERT_FALSE(ConstantTimeEqual(k0, k1));
  }
  // Δ is random: both values occur.
  EXPECT_GT(ones, 64);
  EXPECT_LT(ones, 192);
}

TEST(BaseOtTest, ChoiceBitsFixedForTestingAreHonoured) {
  InsecureDeterministicRng rng(22);
  const BaseOtSession s = Session(rng);
  for (uint8_t fill : {0x00, 0xff}) {
    Bytes msg1;
    BaseOtReceiver recv = BaseOtReceiver::StartWithChoiceBitsForTesting(
        s, SecretBytes(Bytes(32, fill)), rng, &msg1);
    absl::StatusOr<BaseOtSenderResult> sent = BaseOtSenderRespond(s, msg1, rng);
    ASSERT_TRUE(sent.ok());
    absl::StatusOr<CoteSenderSeeds> got = std::move(recv).Finish(sent->msg2);
    ASSERT_TRUE(got.ok());
    const SecretBytes& want = fill ? sent->seeds.keys1 : sent->seeds.keys0;
    EXPECT_TRUE(got->keys == want);
  }
}

TEST(BaseOtTest, SessionIdBindsSidAndOrderedPair) {
  InsecureDeterministicRng rng(23);
  BaseOtSession s = Session(rng);
  const auto id = BaseOtSessionId(s);
  BaseOtSession swapped = s;
  std::swap(swapped.cote_sender, swapped.cote_receiver);
  EXPECT_NE(BaseOtSessionId(swapped), id);
  BaseOtSession other = s;
  other.sid[0] ^= 1;
  EXPECT_NE(BaseOtSessionId(other), id);
}

}  // namespace
}  // namespace kagi::mpc
