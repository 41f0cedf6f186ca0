#include "libs/base/abort.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/status_macros.h"

namespace kagi {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AbortTest, CarriesClassAndCulprits) {
  const absl::Status st = BanError(3, "COTe consistency check failed");
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(st.message(), HasSubstr("C (ban)"));
  EXPECT_THAT(st.message(), HasSubstr("party 3"));
  EXPECT_THAT(st.message(), HasSubstr("COTe consistency check failed"));
  std::optional<AbortInfo> info = GetAbortInfo(st);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->abort_class, AbortClass::kBan);
  EXPECT_THAT(info->culprits, ElementsAre(3u));
}

TEST(AbortTest, NoCulpritAndSeveralCulprits) {
  std::optional<AbortInfo> a =
      GetAbortInfo(AbortError(AbortClass::kTimeout, {}, "round 2 timed out"));
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->culprits.empty());
  std::optional<AbortInfo> b =
      GetAbortInfo(AbortError(AbortClass::kBlame, {2, 5}, "x"));
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(b->culprits, ElementsAre(2u, 5u));
}

TEST(AbortTest, OrdinaryStatusesAreNotAborts) {
  EXPECT_FALSE(GetAbortInfo(absl::OkStatus()).has_value());
  EXPECT_FALSE(GetAbortInfo(absl::InvalidArgumentError("x")).has_value());
  EXPECT_FALSE(GetAbortInfo(absl::AbortedError("no payload")).has_value());
}

TEST(AbortTest, BlameWithWrapsCausesButKeepsAborts) {
  const absl::Status wrapped =
      BlameWith(4, absl::InvalidArgumentError("truncated msg.U"));
  EXPECT_THAT(wrapped.message(), HasSubstr("truncated msg.U"));
  EXPECT_EQ(GetAbortInfo(wrapped)->culprits, std::vector<uint32_t>{4});
  const absl::Status ban = BanError(1, "mu");
  EXPECT_EQ(BlameWith(4, ban), ban);
  EXPECT_TRUE(BlameWith(4, absl::OkStatus()).ok());
}

absl::Status Propagate() {
  KAGI_RETURN_IF_ERROR(BanError(7, "gamma"));
  return absl::OkStatus();
}

TEST(AbortTest, SurvivesPropagation) {
  EXPECT_EQ(GetAbortInfo(Propagate())->abort_class, AbortClass::kBan);
}

}  // namespace
}  // namespace kagi
