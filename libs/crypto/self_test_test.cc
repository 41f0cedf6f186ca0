#include "libs/crypto/self_test.h"

#include <set>

#include "gtest/gtest.h"

namespace kagi::crypto {
namespace {

TEST(SelfTestTest, AllSelfTestsPassAndAreDistinct) {
  absl::StatusOr<std::vector<SelfTestResult>> r = RunCryptoSelfTests();
  ASSERT_TRUE(r.ok()) << r.status();
  std::set<std::string> names;
  for (const SelfTestResult& t : *r) {
    EXPECT_FALSE(t.verified.empty());
    names.insert(t.name);
  }
  EXPECT_EQ(names.size(), r->size());
  EXPECT_GE(r->size(), 10u);
}

}  // namespace
}  // namespace kagi::crypto
