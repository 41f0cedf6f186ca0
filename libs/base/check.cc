#include "libs/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace kagi::base_internal {

void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "KAGI_CHECK failed: %s at %s:%d\n", condition, file,
               line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace kagi::base_internal
