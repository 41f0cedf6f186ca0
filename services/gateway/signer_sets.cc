// File: services/gateway/signer_sets.cc
//
// Signer-set planning; see signer_sets.h.
#include "services/gateway/signer_sets.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace kagi::gateway {

std::vector<std::vector<uint32_t>> PlanSignerSets(
    absl::Span<const uint32_t> parties,
    const absl::flat_hash_set<uint32_t>& unhealthy, uint32_t threshold,
    uint64_t rotation) {
  std::vector<uint32_t> sorted(parties.begin(), parties.end());
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const size_t t = threshold;
  if (t == 0 || t > n) {
    return {};
  }
  // groups[k]: the subsets with k unhealthy members, lexicographic.
  std::vector<std::vector<std::vector<uint32_t>>> groups(t + 1);
  std::vector<size_t> index(t);
  for (size_t i = 0; i < t; ++i) {
    index[i] = i;
  }
  while (true) {
    std::vector<uint32_t> subset(t);
    size_t unhealthy_members = 0;
    for (size_t i = 0; i < t; ++i) {
      subset[i] = sorted[index[i]];
      unhealthy_members += unhealthy.contains(subset[i]) ? 1 : 0;
    }
    groups[unhealthy_members].push_back(std::move(subset));
    // Next combination: advance the rightmost index that can move.
    size_t i = t;
    while (i > 0 && index[i - 1] == n - t + (i - 1)) {
      --i;
    }
    if (i == 0) {
      break;
    }
    ++index[i - 1];
    for (size_t j = i; j < t; ++j) {
      index[j] = index[j - 1] + 1;
    }
  }
  std::vector<std::vector<uint32_t>> out;
  for (auto& group : groups) {
    if (group.empty()) {
      continue;
    }
    const size_t start = static_cast<size_t>(rotation % group.size());
    for (size_t k = 0; k < group.size(); ++k) {
      out.push_back(std::move(group[(start + k) % group.size()]));
    }
  }
  return out;
}

}  // namespace kagi::gateway
