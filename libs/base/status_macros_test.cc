#include "libs/base/status_macros.h"

#include <memory>

#include "gtest/gtest.h"

namespace kagi {
namespace {

absl::StatusOr<int> Half(int v) {
  if (v % 2 != 0) {
    return absl::InvalidArgumentError("odd");
  }
  return v / 2;
}

absl::Status Check(int v) {
  if (v < 0) {
    return absl::OutOfRangeError("negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Quarter(int v) {
  KAGI_RETURN_IF_ERROR(Check(v));
  KAGI_ASSIGN_OR_RETURN(int h, Half(v));
  KAGI_ASSIGN_OR_RETURN(const int q, Half(h));
  return q;
}

absl::StatusOr<std::unique_ptr<int>> MakeBox(int v) {
  return std::make_unique<int>(v);
}

absl::StatusOr<int> Unbox(int v) {
  KAGI_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(v));
  KAGI_RETURN_IF_ERROR(Half(*box));
  return *box;
}

TEST(StatusMacrosTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(-4).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*Unbox(4), 4);
  EXPECT_EQ(Unbox(3).status().message(), "odd");
}

}  // namespace
}  // namespace kagi
