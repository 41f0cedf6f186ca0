#include "libs/policy/networks.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kagi::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

google::protobuf::RepeatedPtrField<std::string> Names(
    std::initializer_list<const char*> names) {
  google::protobuf::RepeatedPtrField<std::string> out;
  for (const char* n : names) *out.Add() = n;
  return out;
}

TEST(NetworksTest, BindingIsSortedAndDeduplicated) {
  absl::StatusOr<std::vector<std::string>> b = ParseNetworkBinding(
      Names({"ethereum:1", "bitcoin:mainnet", "raw_digest", "ethereum:1"}),
      "networks");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(*b, ElementsAre("bitcoin:mainnet", "ethereum:1", "raw_digest"));
}

TEST(NetworksTest, BadNamesAreRefusedNamingTheIndex) {
  for (const char* bad :
       {"bitcoin:signet", "bitcoin", "ethereum:0x1", "ethereum:01",
        "ethereum:", "mainnet", "BITCOIN:mainnet",
        "ethereum:12345678901234567890", "raw_digest:x"}) {
    absl::StatusOr<std::vector<std::string>> b =
        ParseNetworkBinding(Names({"bitcoin:mainnet", bad}), "networks");
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(b.status().message(), HasSubstr("networks[1]")) << bad;
  }
  google::protobuf::RepeatedPtrField<std::string> many;
  for (int i = 1; i <= 17; ++i) *many.Add() = "ethereum:" + std::to_string(i);
  EXPECT_THAT(ParseNetworkBinding(many, "networks").status().message(),
              HasSubstr("at most 16"));
}

// A PSBT does not say its network and its sighash is the same on every
// bitcoin network, so a key bound to two bitcoin networks would let the
// request's label pick the policy rule: at most one bitcoin network per key.
// Ethereum chain ids are in the signed transaction: several are fine.
TEST(NetworksTest, AtMostOneBitcoinNetwork) {
  absl::StatusOr<std::vector<std::string>> b = ParseNetworkBinding(
      Names({"ethereum:1", "bitcoin:regtest", "raw_digest", "bitcoin:mainnet"}),
      "networks");
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(b.status().message(),
              HasSubstr("bitcoin:mainnet and bitcoin:regtest"));
  EXPECT_THAT(b.status().message(), HasSubstr("networks:"));
  b = ParseNetworkBinding(
      Names({"bitcoin:testnet", "ethereum:1", "ethereum:1337", "raw_digest"}),
      "networks");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(*b, ElementsAre("bitcoin:testnet", "ethereum:1", "ethereum:1337",
                              "raw_digest"));
}

TEST(NetworksTest, RequestsOutsideTheBindingAreRefusedNamingBoth) {
  const std::vector<std::string> bound = {"bitcoin:mainnet", "ethereum:1"};
  EXPECT_TRUE(CheckNetworkBinding("ab", bound, "bitcoin:mainnet").ok());
  EXPECT_TRUE(CheckNetworkBinding("ab", bound, "ethereum:1").ok());
  const absl::Status st = CheckNetworkBinding("ab", bound, "bitcoin:testnet");
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(st.message(),
              HasSubstr("key ab is bound to [bitcoin:mainnet,ethereum:1] and "
                        "refuses a request for bitcoin:testnet"));
  EXPECT_EQ(CheckNetworkBinding("ab", bound, "ethereum:11155111").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckNetworkBinding("ab", bound, BoundNetworkName("raw_digest", ""))
                .code(),
            absl::StatusCode::kPermissionDenied);
}

// A share made before bindings signs nothing; the error says how to bind it.
TEST(NetworksTest, UnboundKeySignsNothing) {
  const absl::Status st = CheckNetworkBinding("ab", {}, "bitcoin:mainnet");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("bound to no network"));
  EXPECT_THAT(st.message(), HasSubstr("admin-approved refresh"));
}

}  // namespace
}  // namespace kagi::policy
