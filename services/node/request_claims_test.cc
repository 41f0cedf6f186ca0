#include "services/node/request_claims.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/rng.h"

namespace kagi::node {
namespace {

using ::testing::HasSubstr;
using Key32 = std::array<uint8_t, 32>;

Key32 Filled(uint8_t b) {
  Key32 k;
  k.fill(b);
  return k;
}

class RequestClaimsTest : public ::testing::Test {
 protected:
  RequestClaimsTest()
      : self_(crypto::Ed25519PrivateKey::Generate(rng_)),
        peer_(crypto::Ed25519PrivateKey::Generate(rng_)) {
    mine_ = {"req-1", Filled(1), Filled(2), Filled(3)};
  }
  NodeNameOf Names() const {
    const Key32 peer = peer_.PublicKey();
    return [peer](const Key32& k) {
      return k == peer ? std::string("node-2") : std::string();
    };
  }
  absl::Status Check(const v1::RequestClaim& c) const {
    return CheckClaims(mine_, self_.PublicKey(), {c}, Names());
  }

  OsRng rng_;
  crypto::Ed25519PrivateKey self_;
  crypto::Ed25519PrivateKey peer_;
  ClaimSubject mine_;
};

TEST_F(RequestClaimsTest, SignedClaimVerifiesAndAnyChangeBreaksIt) {
  v1::RequestClaim c = MakeClaim(mine_, kClaimSucceeded, peer_);
  EXPECT_TRUE(VerifyClaim(c, "req-1").ok());
  EXPECT_FALSE(VerifyClaim(c, "req-2").ok());
  v1::RequestClaim changed = c;
  changed.set_state(std::string(kClaimFailed));
  EXPECT_TRUE(absl::IsPermissionDenied(VerifyClaim(changed, "req-1")));
  changed = c;
  changed.set_node_identity_key(std::string(
      self_.PublicKey().begin(), self_.PublicKey().end()));  // relabelled
  EXPECT_TRUE(absl::IsPermissionDenied(VerifyClaim(changed, "req-1")));
  changed = c;
  changed.set_state("maybe");
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyClaim(changed, "req-1")));
  changed = c;
  changed.set_sid0("short");
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyClaim(changed, "req-1")));
}

TEST_F(RequestClaimsTest, CompletedElsewhereIsRefusedNamingTheMember) {
  const absl::Status st = Check(MakeClaim(mine_, kClaimSucceeded, peer_));
  EXPECT_TRUE(absl::IsAlreadyExists(st));
  EXPECT_THAT(st.message(), HasSubstr("already completed (signed by node-2)"));
}

TEST_F(RequestClaimsTest, OtherRequestUnderTheSameIdIsRefused) {
  ClaimSubject other = mine_;
  other.request_digest = Filled(9);
  const absl::Status st = Check(MakeClaim(other, kClaimFailed, peer_));
  EXPECT_TRUE(absl::IsAlreadyExists(st));
  EXPECT_THAT(st.message(), HasSubstr("different request (on node-2)"));
}

TEST_F(RequestClaimsTest, AdmittedInAnotherSessionIsRefusedUntilItFailed) {
  ClaimSubject elsewhere = mine_;
  elsewhere.sid0 = Filled(7);
  EXPECT_THAT(Check(MakeClaim(elsewhere, kClaimAdmitted, peer_)).message(),
              HasSubstr("being signed by node-2 in another session"));
  // The same session (a co-signer's claim) and a failed one are no conflict.
  EXPECT_TRUE(Check(MakeClaim(mine_, kClaimAdmitted, peer_)).ok());
  EXPECT_TRUE(Check(MakeClaim(elsewhere, kClaimFailed, peer_)).ok());
  // This node's own earlier session is BeginRequest's business (a retry).
  EXPECT_TRUE(Check(MakeClaim(elsewhere, kClaimAdmitted, self_)).ok());
  // But its own completion stands, in the words of its request record.
  EXPECT_EQ(Check(MakeClaim(mine_, kClaimSucceeded, self_)).message(),
            "request 'req-1' was already completed");
}

}  // namespace
}  // namespace kagi::node
