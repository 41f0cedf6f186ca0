// kagi-selfcheck: runs the cryptographic known-answer self-tests and prints
// what each one verified. Exit status 0 only if all passed.
#include <cstdio>

#include "libs/crypto/self_test.h"

int main() {
  std::printf("kagi-selfcheck: cryptographic self-tests\n");
  absl::StatusOr<std::vector<kagi::crypto::SelfTestResult>> results =
      kagi::crypto::RunCryptoSelfTests();
  if (!results.ok()) {
    std::printf("  FAIL  %s\n",
                std::string(results.status().message()).c_str());
    return 1;
  }
  for (const auto& r : *results) {
    std::printf("  ok  %-12s %s\n", r.name.c_str(), r.verified.c_str());
  }
  std::printf("all %zu self-tests passed\n", results->size());
  return 0;
}
