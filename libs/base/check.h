// File: libs/base/check.h
//
// KAGI_CHECK(cond): a contract check for programmer errors (never for
// untrusted input, which must produce an absl::Status). On failure it prints
// the condition and location to stderr and aborts. It is always on, in every
// build type. Debian 12's Abseil has no ABSL_CHECK, hence this macro.
#ifndef KAGI_LIBS_BASE_CHECK_H_
#define KAGI_LIBS_BASE_CHECK_H_

#include "absl/base/optimization.h"

namespace kagi::base_internal {
[[noreturn]] void CheckFailed(const char* condition, const char* file,
                              int line);
}  // namespace kagi::base_internal

#define KAGI_CHECK(cond)                                             \
  do {                                                               \
    if (ABSL_PREDICT_FALSE(!(cond))) {                               \
      ::kagi::base_internal::CheckFailed(#cond, __FILE__, __LINE__); \
    }                                                                \
  } while (false)

#endif  // KAGI_LIBS_BASE_CHECK_H_
