#include "services/gateway/request_status.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gateway/testing/test_key.h"

namespace kagi::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TestIdentityKey;
using testing::TestKey;

class AgreedStatusTest : public ::testing::Test {
 protected:
  AgreedStatusTest()
      : key_(TestKey::Make(
            7, 2,
            {TestIdentityKey(1), TestIdentityKey(2), TestIdentityKey(3)})) {
    for (int i = 0; i < key_.info.parties_size(); ++i) {
      key_.info.mutable_parties(i)->set_node(absl::StrCat("node-", i + 1));
    }
    kagi::v1::SignRequest r;
    auto* item = r.mutable_payload()->mutable_raw_digest()->add_items();
    item->set_digest(std::string(32, '\x42'));
    item->add_path(0);
    item->add_path(7);
    signed_.set_request_id("withdrawal-7");
    signed_.set_state("succeeded");
    signed_.set_outcome("ok");
    signed_.set_key_id(key_.info.key_id());
    *signed_.mutable_signatures() = key_.Sign(r).signatures();
    signed_.set_signed_psbt("the real transaction");
  }
  KeyLookup Keys() const {
    return [this](const std::string& id) -> absl::StatusOr<kagi::v1::KeyInfo> {
      if (id != key_.info.key_id()) return absl::NotFoundError("unknown key");
      return key_.info;
    };
  }
  static kagi::v1::RequestStatus State(const std::string& state) {
    kagi::v1::RequestStatus s;
    s.set_request_id("withdrawal-7");
    s.set_state(state);
    return s;
  }

  TestKey key_;
  kagi::v1::RequestStatus signed_;
};

TEST_F(AgreedStatusTest, ThresholdOfMembersAgreeingWithValidSignatures) {
  absl::StatusOr<kagi::v1::RequestStatus> got = AgreedStatus(
      {{"node-1", signed_}, {"node-2", signed_}, {"node-3", State("unknown")}},
      "", Keys());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->state(), "succeeded");
  EXPECT_EQ(got->signed_psbt(), "the real transaction");
  EXPECT_THAT(got->confirmed_by(), ElementsAre("node-1", "node-2"));
}

// One node's forged success (no key, bad signatures, another key) is
// dropped; the others' answer stands.
TEST_F(AgreedStatusTest, AnUnverifiableSuccessIsALie) {
  kagi::v1::RequestStatus forged = State("succeeded");
  forged.set_signed_psbt("FORGED");
  kagi::v1::RequestStatus bad_sig = signed_;
  bad_sig.mutable_signatures(0)->mutable_signature()->at(5) ^= 1;
  kagi::v1::RequestStatus other_key = signed_;
  other_key.set_key_id(std::string(32, '\x01'));
  for (const kagi::v1::RequestStatus& lie : {forged, bad_sig, other_key}) {
    absl::StatusOr<kagi::v1::RequestStatus> got = AgreedStatus(
        {{"node-1", State("unknown")}, {"node-3", lie}}, "", Keys());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->state(), "unknown");
    EXPECT_TRUE(got->signed_psbt().empty());
  }
}

// A verified success from fewer members than the threshold (a member
// replaying another request's real signatures, or one signer down) is not
// returned as a success.
TEST_F(AgreedStatusTest, TooFewMembersAgreeingIsUnavailable) {
  kagi::v1::RequestStatus altered = signed_;
  altered.set_signed_psbt("another transaction, same signatures");
  absl::StatusOr<kagi::v1::RequestStatus> got =
      AgreedStatus({{"node-1", signed_}, {"node-3", altered}}, "", Keys());
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("threshold 2"));
  // Non-members agreeing do not count.
  got = AgreedStatus({{"node-1", signed_}, {"gateway-9", signed_}}, "", Keys());
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  // Nor does another state the others agree on hide it: two members that
  // saw an earlier attempt fail (one of them perhaps lying) must not turn a
  // real success into "failed", and the client then pay again (red team 6).
  kagi::v1::RequestStatus failed = State("failed");
  failed.set_key_id(key_.info.key_id());
  got = AgreedStatus(
      {{"node-1", signed_}, {"node-2", failed}, {"node-3", failed}}, "",
      Keys());
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("node-1 (1 of threshold 2)"));
}

// With the key named by the client, answers about another key are ignored.
TEST_F(AgreedStatusTest, TheKeyAskedAboutIsTheOnlyOneBelieved) {
  absl::StatusOr<kagi::v1::RequestStatus> got =
      AgreedStatus({{"node-1", signed_}, {"node-2", signed_}},
                   std::string(32, '\x01'), Keys());
  ASSERT_TRUE(got.ok());
  EXPECT_NE(got->state(), "succeeded");
}

// Other states need agreement too: one node's "in_progress" (or one about
// another key) is not returned; two nodes' is.
TEST_F(AgreedStatusTest, OtherStatesNeedAgreement) {
  kagi::v1::RequestStatus lie = State("in_progress");
  lie.set_outcome("still signing, do not resend");
  absl::StatusOr<kagi::v1::RequestStatus> got =
      AgreedStatus({{"node-1", State("unknown")}, {"node-4", lie}}, "", Keys());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state(), "unknown");
  EXPECT_THAT(got->outcome(), HasSubstr("node-4: in_progress"));
  got = AgreedStatus({{"node-1", lie}, {"node-4", lie}}, "", Keys());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state(), "in_progress");
  EXPECT_THAT(got->confirmed_by(), ElementsAre("node-1", "node-4"));
  // With the key named, the key's threshold of its members must agree.
  kagi::v1::RequestStatus failed = State("failed");
  failed.set_key_id(key_.info.key_id());
  got = AgreedStatus({{"node-1", failed}, {"gateway-9", failed}}, "", Keys());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state(), "unknown");
  got = AgreedStatus({{"node-1", failed}, {"node-2", failed}},
                     key_.info.key_id(), Keys());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state(), "failed");
}

}  // namespace
}  // namespace kagi::gateway
