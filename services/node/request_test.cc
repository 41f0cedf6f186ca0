// What a node makes of a request before any protocol round (request.h).
#include "services/node/request.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/protocol/testing/dealer.h"
#include "libs/protocol/testing/simulation.h"

namespace kagi::node {
namespace {

using ::testing::HasSubstr;

TEST(RequestTest, ExpiryWindow) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(CheckExpiry(999, now, absl::Hours(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckExpiry(1000, now, absl::Hours(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckExpiry(1001, now, absl::Hours(1)).ok());
  EXPECT_EQ(CheckExpiry(1000 + 3601, now, absl::Hours(1)).code(),
            absl::StatusCode::kInvalidArgument);
}

std::string Key(const protocol::PartyInfo& p) {
  return std::string(p.identity_key.begin(), p.identity_key.end());
}

TEST(RequestTest, DkgSetupOnlyWithKnownNodesIncludingSelf) {
  protocol::testing::Identities ids = protocol::testing::MakeIdentities(4, 3);
  v1::StartDkgRequest r;
  r.set_request_id("create-1");
  r.set_threshold(2);
  for (int i = 0; i < 3; ++i) r.add_party_identity_keys(Key(ids.parties[i]));
  r.set_initiator_nonce(std::string(32, 'n'));
  r.set_expiry_unix_seconds(2000000000);
  const auto self = ids.parties[0].identity_key;
  const std::vector<std::array<uint8_t, 32>> known = {
      ids.parties[1].identity_key, ids.parties[2].identity_key};
  absl::StatusOr<protocol::SessionSetup> s = BuildDkgSetup(r, self, known);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->n(), 3u);
  EXPECT_EQ(s->parties[0].identity_key, self);
  // A key this node does not know.
  v1::StartDkgRequest bad = r;
  bad.set_party_identity_keys(2, Key(ids.parties[3]));
  EXPECT_EQ(BuildDkgSetup(bad, self, known).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Not a party itself.
  EXPECT_THAT(std::string(BuildDkgSetup(r, ids.parties[3].identity_key,
                                        {self, ids.parties[1].identity_key,
                                         ids.parties[2].identity_key})
                              .status()
                              .message()),
              HasSubstr("not a party"));
  // The same key twice.
  bad = r;
  bad.set_party_identity_keys(2, Key(ids.parties[1]));
  EXPECT_THAT(std::string(BuildDkgSetup(bad, self, known).status().message()),
              HasSubstr("listed twice"));
}

TEST(RequestTest, ReshareSetupRolesAndDealerKeys) {
  protocol::testing::Identities ids = protocol::testing::MakeIdentities(4, 5);
  protocol::testing::DkgRun dkg = protocol::testing::RunDkgWith(
      protocol::testing::MakeIdentities(3, 5), 2, 9);
  ASSERT_TRUE(dkg.ok());
  const protocol::KeyShare& share = dkg.shares[0];
  // Replace party 3 by a fourth node: dealers 1 and 2, new committee
  // (node 1, node 2, node 4).
  v1::StartReshareRequest r;
  r.set_request_id("reshare-1");
  r.set_key_id(std::string(share.key_id.begin(), share.key_id.end()));
  r.set_epoch(0);
  r.add_dealers(1);
  r.add_dealers(3);
  r.add_dealer_identity_keys(Key(share.parties[0]));
  r.add_dealer_identity_keys(Key(share.parties[2]));
  r.add_new_party_identity_keys(Key(share.parties[0]));
  r.add_new_party_identity_keys(Key(share.parties[1]));
  r.add_new_party_identity_keys(Key(ids.parties[3]));
  r.set_new_threshold(2);
  r.set_initiator_nonce(std::string(32, 'n'));
  r.set_expiry_unix_seconds(2000000000);
  const std::vector<std::array<uint8_t, 32>> known = {
      share.parties[1].identity_key, share.parties[2].identity_key,
      ids.parties[3].identity_key};
  absl::StatusOr<protocol::SessionSetup> s =
      BuildReshareSetup(r, &share, share.parties[0].identity_key, known);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->n(), 4u);  // three members, then the leaving dealer (old 3)
  EXPECT_EQ(s->reshare_roles[0].old_id, 1u);
  EXPECT_EQ(s->reshare_roles[0].new_id, 1u);
  EXPECT_EQ(s->reshare_roles[1].old_id, 0u);
  EXPECT_EQ(s->reshare_roles[2].new_id, 3u);
  EXPECT_EQ(s->reshare_roles[3].old_id, 3u);
  EXPECT_EQ(s->reshare_roles[3].new_id, 0u);
  EXPECT_EQ(s->parties[3].identity_key, share.parties[2].identity_key);
  // A dealer key that is not that party's key in this node's share.
  v1::StartReshareRequest bad = r;
  bad.set_dealer_identity_keys(1, Key(share.parties[1]));
  EXPECT_THAT(std::string(BuildReshareSetup(
                              bad, &share, share.parties[0].identity_key, known)
                              .status()
                              .message()),
              HasSubstr("dealer_identity_keys[1]"));
  // A stale epoch.
  bad = r;
  bad.set_epoch(1);
  EXPECT_EQ(BuildReshareSetup(bad, &share, share.parties[0].identity_key, known)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kagi::node
