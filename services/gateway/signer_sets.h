// File: services/gateway/signer_sets.h
//
// Which signer sets (t-subsets of a key's parties) a Sign request tries,
// and in which order. Pure and thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_SIGNER_SETS_H_
#define KAGI_SERVICES_GATEWAY_SIGNER_SETS_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"

namespace kagi::gateway {

// PlanSignerSets returns every `threshold`-subset of `parties` (each subset
// increasing), in the order the gateway tries them:
//   1. by the number of members in `unhealthy`, fewest first (so subsets of
//      healthy parties come first);
//   2. within each such group, in lexicographic order rotated to start at
//      index (rotation mod group size), so that consecutive requests start
//      from different subsets and the load spreads over the parties.
// `parties` must be distinct; they are sorted first. Returns an empty list if
// threshold is 0 or larger than the number of parties. With at most 16
// parties there are at most C(16, 8) = 12870 subsets.
std::vector<std::vector<uint32_t>> PlanSignerSets(
    absl::Span<const uint32_t> parties,
    const absl::flat_hash_set<uint32_t>& unhealthy, uint32_t threshold,
    uint64_t rotation);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_SIGNER_SETS_H_
