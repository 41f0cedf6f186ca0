#include "libs/policy/approval.h"

#include <openssl/ec.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace kagi::policy {
namespace {

using ::testing::HasSubstr;

struct Approvers {
  ApproverKey alice = *ApproverKey::Generate(ApproverEntry::Scheme::kEd25519);
  ApproverKey bob = *ApproverKey::Generate(ApproverEntry::Scheme::kP256);

  Policy MakePolicy() const {
    v1::Policy p;
    p.set_version(1);
    p.set_revision("test");
    v1::Approver* a = p.add_approvers();
    a->set_name("alice");
    a->add_groups("treasury");
    a->set_ed25519_public_key(alice.PublicKeyHex());
    v1::Approver* b = p.add_approvers();
    b->set_name("bob");
    b->add_groups("risk");
    b->set_p256_public_key(bob.PublicKeyHex());
    absl::StatusOr<Policy> policy = Policy::FromProto(p);
    EXPECT_TRUE(policy.ok()) << policy.status();
    return *std::move(policy);
  }
};

std::array<uint8_t, 32> Digest(uint8_t fill) {
  std::array<uint8_t, 32> d;
  d.fill(fill);
  return d;
}

void Add(google::protobuf::RepeatedPtrField<v1::Approval>& list,
         const std::string& name, const Bytes& sig) {
  v1::Approval* a = list.Add();
  a->set_approver(name);
  a->set_signature(std::string(sig.begin(), sig.end()));
}

TEST(ApprovalTest, BothSchemesVerify) {
  Approvers k;
  const Policy policy = k.MakePolicy();
  google::protobuf::RepeatedPtrField<v1::Approval> list;
  Add(list, "alice", *k.alice.Sign(Digest(1)));
  Add(list, "bob", *k.bob.Sign(Digest(1)));
  absl::StatusOr<std::set<std::string>> got =
      VerifyApprovals(policy, Digest(1), list);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::set<std::string>{"alice", "bob"}));
}

TEST(ApprovalTest, P256RawSignatureAccepted) {
  Approvers k;
  const Policy policy = k.MakePolicy();
  const Bytes der = *k.bob.Sign(Digest(3));
  // DER -> r||s, as a WebCrypto signer returns it.
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(sig, nullptr);
  Bytes raw(64, 0);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
  ECDSA_SIG_free(sig);
  EXPECT_TRUE(VerifyApproval(*policy.FindApprover("bob"), Digest(3), raw).ok());
  raw[40] ^= 1;
  EXPECT_FALSE(
      VerifyApproval(*policy.FindApprover("bob"), Digest(3), raw).ok());
}

TEST(ApprovalTest, ChangedRequestFailsNamingTheApprover) {
  Approvers k;
  const Policy policy = k.MakePolicy();
  google::protobuf::RepeatedPtrField<v1::Approval> list;
  Add(list, "alice", *k.alice.Sign(Digest(1)));
  absl::StatusOr<std::set<std::string>> got =
      VerifyApprovals(policy, Digest(2), list);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(got.status().message(), HasSubstr("approval of 'alice'"));
  EXPECT_THAT(got.status().message(),
              HasSubstr("not the one that was approved"));
}

TEST(ApprovalTest, SameApproverTwiceRefused) {
  Approvers k;
  const Policy policy = k.MakePolicy();
  google::protobuf::RepeatedPtrField<v1::Approval> list;
  const Bytes sig = *k.alice.Sign(Digest(1));
  Add(list, "alice", sig);
  Add(list, "alice", sig);
  absl::StatusOr<std::set<std::string>> got =
      VerifyApprovals(policy, Digest(1), list);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(got.status().message(), HasSubstr("appears twice"));
}

TEST(ApprovalTest, UnknownApproverRefused) {
  Approvers k;
  const Policy policy = k.MakePolicy();
  const ApproverKey mallory =
      *ApproverKey::Generate(ApproverEntry::Scheme::kEd25519);
  google::protobuf::RepeatedPtrField<v1::Approval> list;
  Add(list, "mallory", *mallory.Sign(Digest(1)));
  absl::StatusOr<std::set<std::string>> got =
      VerifyApprovals(policy, Digest(1), list);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(got.status().message(), HasSubstr("'mallory' is not in"));
  // A known name with a key that is not the policy's fails verification.
  list.Clear();
  Add(list, "alice", *mallory.Sign(Digest(1)));
  EXPECT_FALSE(VerifyApprovals(policy, Digest(1), list).ok());
}

TEST(ApprovalTest, MalformedSignaturesRefused) {
  Approvers k;
  const Policy policy = k.MakePolicy();
  for (const Bytes& sig :
       {Bytes{}, Bytes(63, 1), Bytes(65, 1), Bytes(200, 1)}) {
    EXPECT_FALSE(
        VerifyApproval(*policy.FindApprover("alice"), Digest(1), sig).ok());
    EXPECT_FALSE(
        VerifyApproval(*policy.FindApprover("bob"), Digest(1), sig).ok());
  }
}

TEST(ApprovalTest, PemRoundTrip) {
  for (auto scheme :
       {ApproverEntry::Scheme::kEd25519, ApproverEntry::Scheme::kP256}) {
    const ApproverKey key = *ApproverKey::Generate(scheme);
    absl::StatusOr<std::string> pem = key.ToPem();
    ASSERT_TRUE(pem.ok());
    absl::StatusOr<ApproverKey> back = ApproverKey::FromPem(*pem);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->PublicKeyHex(), key.PublicKeyHex());
    EXPECT_EQ(back->scheme(), scheme);
  }
  EXPECT_FALSE(ApproverKey::FromPem("not a key").ok());
}

TEST(ApprovalTest, BadPublicKeysRefused) {
  EXPECT_FALSE(
      CheckApproverKey(ApproverEntry::Scheme::kEd25519, Bytes(31, 1)).ok());
  Bytes not_on_curve(33, 0x11);
  not_on_curve[0] = 0x02;
  EXPECT_FALSE(
      CheckApproverKey(ApproverEntry::Scheme::kP256, not_on_curve).ok());
  EXPECT_FALSE(
      CheckApproverKey(ApproverEntry::Scheme::kP256, Bytes(64, 1)).ok());
}

}  // namespace
}  // namespace kagi::policy
