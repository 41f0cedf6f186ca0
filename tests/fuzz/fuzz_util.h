// File: tests/fuzz/fuzz_util.h
//
// Helpers shared by the libFuzzer targets of tests/fuzz. A target that covers
// a family of decoders reads one selector byte first (FuzzInput::Select) and
// hands the rest to the chosen decoder; the seed generator (make_seeds.cc)
// writes seeds in the same layout.
//
// What every target asserts, besides "no crash, no sanitizer report": a
// decoder either refuses with a non-OK absl::Status whose code says the input
// was bad (FUZZ_EXPECT_INPUT_ERROR), or accepts and its value encodes back to
// exactly the input where the format promises one encoding.
#ifndef KAGI_TESTS_FUZZ_FUZZ_UTIL_H_
#define KAGI_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/base/check.h"

namespace kagi::fuzz {

// FuzzInput splits libFuzzer's input: an optional selector byte, the rest.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  // Select consumes the first byte and returns it modulo `choices` (0 for
  // an empty input).
  size_t Select(size_t choices) {
    if (size_ == 0) return 0;
    const size_t v = data_[0] % choices;
    ++data_;
    --size_;
    return v;
  }
  ByteSpan rest() const { return ByteSpan(data_, size_); }
  absl::string_view text() const {
    return absl::string_view(reinterpret_cast<const char*>(data_), size_);
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

// IsInputError: the codes a decoder may answer bad bytes with. Internal,
// Unknown, DataLoss and friends would mean the decoder lost track of itself.
inline bool IsInputError(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

// Aborts (a libFuzzer crash, with the status printed) unless `status` is OK
// or an input error.
inline void ExpectOkOrInputError(const absl::Status& status, const char* what) {
  if (status.ok() || IsInputError(status)) return;
  std::fprintf(stderr, "%s: unexpected status %s\n", what,
               status.ToString().c_str());
  std::abort();
}

}  // namespace kagi::fuzz

#endif  // KAGI_TESTS_FUZZ_FUZZ_UTIL_H_
