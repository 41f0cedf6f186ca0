#include "services/node/request_claims.h"

#include <secp256k1.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/crypto/point.h"
#include "libs/policy/request_digest.h"

namespace kagi::node {
namespace {

using ::testing::HasSubstr;
using Key32 = std::array<uint8_t, 32>;

Key32 Filled(uint8_t b) {
  Key32 k;
  k.fill(b);
  return k;
}

std::string Str(const Key32& k) { return std::string(k.begin(), k.end()); }

// A raw-digest request of one item (path empty: the root key signs it).
v1::SignRequest Request(const std::string& id, const Key32& key_id,
                        uint8_t item) {
  v1::SignRequest r;
  r.set_request_id(id);
  r.set_key_id(Str(key_id));
  r.set_expiry_unix_seconds(1900000000);
  r.mutable_payload()->mutable_raw_digest()->add_items()->set_digest(
      Str(Filled(item)));
  return r;
}

class RequestClaimsTest : public ::testing::Test {
 protected:
  RequestClaimsTest()
      : self_(crypto::Ed25519PrivateKey::Generate(rng_)),
        peer_(crypto::Ed25519PrivateKey::Generate(rng_)),
        ctx_(secp256k1_context_create(SECP256K1_CONTEXT_NONE)) {
    secret_ = Filled(0x42);
    secp256k1_pubkey pub;
    EXPECT_EQ(secp256k1_ec_pubkey_create(ctx_, &pub, secret_.data()), 1);
    root_.emplace(crypto::ExtendedPublicKey::Root(crypto::Point::FromRaw(pub),
                                                  Filled(0x11)));
    request_ = Request("req-1", Filled(1), 0x55);
    mine_ = {"req-1", Filled(1), *policy::SignRequestDigest(request_),
             Filled(3)};
    items_.push_back({Filled(0x55), {}});
  }
  ~RequestClaimsTest() override { secp256k1_context_destroy(ctx_); }

  NodeNameOf Names() const {
    const Key32 peer = peer_.PublicKey();
    return [peer](const Key32& k) {
      return k == peer ? std::string("node-2") : std::string();
    };
  }
  // The root key's signature over `digest`, as a result at the empty path.
  v1::SignatureResult SignatureOver(const Key32& digest) const {
    secp256k1_ecdsa_signature sig;
    EXPECT_EQ(secp256k1_ecdsa_sign(ctx_, &sig, digest.data(), secret_.data(),
                                   nullptr, nullptr),
              1);
    std::array<uint8_t, 64> compact;
    secp256k1_ecdsa_signature_serialize_compact(ctx_, compact.data(), &sig);
    v1::SignatureResult r;
    r.set_digest(Str(digest));
    r.set_signature(std::string(compact.begin(), compact.end()));
    return r;
  }
  v1::RequestClaim Claim(const ClaimSubject& s, absl::string_view state,
                         const crypto::Ed25519PrivateKey& who,
                         const v1::SignRequest& request,
                         const std::vector<v1::SignatureResult>& sigs = {}) {
    google::protobuf::RepeatedPtrField<v1::SignatureResult> field(sigs.begin(),
                                                                  sigs.end());
    return MakeClaim(s, state, request, field, who);
  }
  v1::RequestClaim Completed(const crypto::Ed25519PrivateKey& who) {
    return Claim(mine_, kClaimSucceeded, who, request_,
                 {SignatureOver(Filled(0x55))});
  }
  absl::Status Check(const v1::RequestClaim& c) const {
    return CheckClaims(mine_, self_.PublicKey(), {c}, Names());
  }

  OsRng rng_;
  crypto::Ed25519PrivateKey self_;
  crypto::Ed25519PrivateKey peer_;
  secp256k1_context* ctx_;
  Key32 secret_;
  std::optional<crypto::ExtendedPublicKey> root_;
  v1::SignRequest request_;
  ClaimSubject mine_;
  std::vector<protocol::SignItem> items_;
};

TEST_F(RequestClaimsTest, SignedClaimVerifiesAndAnyChangeBreaksIt) {
  const v1::RequestClaim c = Completed(peer_);
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

// The evidence of a completion: the request whose digest it names and the
// signatures. A member's word alone proves nothing.
TEST_F(RequestClaimsTest, ACompletionWithoutItsRequestIsRefused) {
  EXPECT_THAT(VerifyClaim(Claim(mine_, kClaimSucceeded, peer_, {},
                                {SignatureOver(Filled(0x55))}),
                          "req-1")
                  .message(),
              HasSubstr("claim.request"));
  // Another request than the digest named (e.g. another id's approvals).
  const v1::SignRequest elsewhere = Request("req-9", Filled(1), 0x55);
  EXPECT_THAT(VerifyClaim(Claim(mine_, kClaimSucceeded, peer_, elsewhere,
                                {SignatureOver(Filled(0x55))}),
                          "req-1")
                  .message(),
              HasSubstr("another request id"));
  v1::SignRequest changed = request_;
  changed.set_expiry_unix_seconds(1900000001);
  EXPECT_THAT(VerifyClaim(Claim(mine_, kClaimSucceeded, peer_, changed,
                                {SignatureOver(Filled(0x55))}),
                          "req-1")
                  .message(),
              HasSubstr("not the claim's request_digest"));
  EXPECT_THAT(
      VerifyClaim(Claim(mine_, kClaimSucceeded, peer_, request_), "req-1")
          .message(),
      HasSubstr("carries its signatures"));
  EXPECT_TRUE(VerifyClaim(Completed(peer_), "req-1").ok());
  // An admission carries no evidence (it proves nothing).
  const v1::RequestClaim admitted =
      Claim(mine_, kClaimAdmitted, peer_, request_);
  EXPECT_FALSE(admitted.has_request());
  EXPECT_TRUE(VerifyClaim(admitted, "req-1").ok());
}

// Bytes no field names (padding a claim beyond its evidence) are refused:
// neither the claim's signature nor the request digest covers them.
TEST_F(RequestClaimsTest, UnknownFieldsAreRefused) {
  v1::RequestClaim c = Completed(peer_);
  c.mutable_request()
      ->GetReflection()
      ->MutableUnknownFields(c.mutable_request())
      ->AddLengthDelimited(1000, std::string(64, 'p'));
  EXPECT_THAT(VerifyClaim(c, "req-1").message(), HasSubstr("fields"));
}

// The proof: one signature per item, over its digest at its path, under
// the key.
TEST_F(RequestClaimsTest, ProvesCompletionOnlyWithValidSignatures) {
  EXPECT_TRUE(ProvesCompletion(Completed(peer_), items_, *root_));
  EXPECT_FALSE(ProvesCompletion(Claim(mine_, kClaimSucceeded, peer_, request_,
                                      {SignatureOver(Filled(0x56))}),
                                items_, *root_));
  v1::SignatureResult forged = SignatureOver(Filled(0x55));
  forged.mutable_signature()->at(40) ^= 1;
  EXPECT_FALSE(
      ProvesCompletion(Claim(mine_, kClaimSucceeded, peer_, request_, {forged}),
                       items_, *root_));
  EXPECT_FALSE(ProvesCompletion(
      Claim(mine_, kClaimSucceeded, peer_, request_,
            {SignatureOver(Filled(0x55)), SignatureOver(Filled(0x55))}),
      items_, *root_));
  // Not a completion at all.
  EXPECT_FALSE(ProvesCompletion(Claim(mine_, kClaimAdmitted, peer_, request_),
                                items_, *root_));
}

TEST_F(RequestClaimsTest, CompletedElsewhereIsRefusedNamingTheMember) {
  const absl::Status st = Check(Completed(peer_));
  EXPECT_TRUE(absl::IsAlreadyExists(st));
  EXPECT_THAT(st.message(), HasSubstr("already completed (signed by node-2)"));
}

TEST_F(RequestClaimsTest, AnotherRequestCompletedUnderTheIdIsRefused) {
  const v1::SignRequest other = Request("req-1", Filled(1), 0x99);
  ClaimSubject s = mine_;
  s.request_digest = *policy::SignRequestDigest(other);
  const absl::Status st = Check(
      Claim(s, kClaimSucceeded, peer_, other, {SignatureOver(Filled(0x99))}));
  EXPECT_TRUE(absl::IsAlreadyExists(st));
  EXPECT_THAT(st.message(),
              HasSubstr("different request (completed on node-2)"));
  // Admitted or failed under the id proves nothing: no refusal.
  EXPECT_TRUE(Check(Claim(s, kClaimAdmitted, peer_, other)).ok());
  EXPECT_TRUE(Check(Claim(s, kClaimFailed, peer_, other)).ok());
}

// A claim about another key's id is none of this request's business.
TEST_F(RequestClaimsTest, ClaimsAboutAnotherKeyAreIgnored) {
  const v1::SignRequest other = Request("req-1", Filled(8), 0x99);
  ClaimSubject s = mine_;
  s.key_id = Filled(8);
  s.request_digest = *policy::SignRequestDigest(other);
  EXPECT_TRUE(Check(Claim(s, kClaimSucceeded, peer_, other,
                          {SignatureOver(Filled(0x99))}))
                  .ok());
}

// Another member admitting the same request in another session is no veto,
// nor its own admissions and failures (BeginRequest's business); only a
// completion is.
TEST_F(RequestClaimsTest, OnlyACompletionRefuses) {
  ClaimSubject elsewhere = mine_;
  elsewhere.sid0 = Filled(7);
  EXPECT_TRUE(Check(Claim(elsewhere, kClaimAdmitted, peer_, request_)).ok());
  EXPECT_TRUE(Check(Claim(mine_, kClaimAdmitted, peer_, request_)).ok());
  EXPECT_TRUE(Check(Claim(elsewhere, kClaimFailed, peer_, request_)).ok());
  EXPECT_TRUE(Check(Claim(elsewhere, kClaimAdmitted, self_, request_)).ok());
  // This node's own completion stands.
  EXPECT_THAT(Check(Completed(self_)).message(),
              HasSubstr("request id 'req-1' was already completed"));
}

}  // namespace
}  // namespace kagi::node
