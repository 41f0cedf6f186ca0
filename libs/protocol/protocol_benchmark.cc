// Threshold-protocol benchmarks: all parties in one process, one thread, on
// the in-memory network (real envelopes, real Ed25519 signatures, real
// collectors). Run:
//   build/dev/libs/protocol/kagi_protocol_protocol_benchmark
// Counters: bytes_per_party = encoded envelopes sent per party (a broadcast
// counted once); online_us = the online step (release of the shares is in
// the P3 handler; combine + verify is round 4), summed over the signers.
#include <map>

#include "benchmark/benchmark.h"
#include "libs/crypto/hash.h"
#include "libs/protocol/testing/simulation.h"

namespace kagi::protocol {
namespace {

void BM_Dkg(benchmark::State& state) {
  const auto t = static_cast<uint32_t>(state.range(0));
  const auto n = static_cast<uint32_t>(state.range(1));
  double bytes = 0;
  uint64_t seed = 1;
  for (auto _ : state) {
    testing::DkgRun run = testing::RunDkg(t, n, seed++);
    if (!run.ok()) {
      state.SkipWithError("DKG failed");
      break;
    }
    size_t total = 0;
    for (const auto& [id, b] : run.result.bytes_sent) {
      total += b;
    }
    bytes = static_cast<double>(total) / n;
  }
  state.counters["bytes_per_party"] = bytes;
}
BENCHMARK(BM_Dkg)->Args({2, 3})->Args({3, 5})->Unit(benchmark::kMillisecond);

const testing::DkgRun& Key(uint32_t t, uint32_t n) {
  static auto* cache =
      new std::map<std::pair<uint32_t, uint32_t>, testing::DkgRun>();
  auto it = cache->find({t, n});
  if (it == cache->end()) {
    it = cache->emplace(std::make_pair(t, n), testing::RunDkg(t, n, 99)).first;
  }
  return it->second;
}

// End to end, without a pooled presignature: P1, P2, P3 and the online
// broadcast, for the signers {1..t}.
void BM_Sign(benchmark::State& state) {
  const auto t = static_cast<uint32_t>(state.range(0));
  const auto n = static_cast<uint32_t>(state.range(1));
  const testing::DkgRun& key = Key(t, n);
  std::vector<uint32_t> signers;
  for (uint32_t i = 1; i <= t; ++i) {
    signers.push_back(i);
  }
  std::vector<SignItem> items(1);
  items[0].digest = crypto::Sha256(AsBytes("benchmark"));
  items[0].path = {0, 1};
  double bytes = 0, online = 0, rounds = 0;
  uint64_t seed = 1;
  for (auto _ : state) {
    const SessionSetup setup =
        testing::MakeSignSetup(key.shares[0], signers, items, seed);
    testing::SignRun run = testing::RunSign(key.ids, key.shares, setup, seed);
    ++seed;
    if (!run.ok()) {
      state.SkipWithError("signing failed");
      break;
    }
    size_t total = 0;
    for (const auto& [id, b] : run.result.bytes_sent) {
      total += b;
    }
    bytes += static_cast<double>(total) / t;
    online += run.result.seconds_in_round[4];
    ++rounds;
  }
  if (rounds > 0) {
    state.counters["bytes_per_party"] = bytes / rounds;
    state.counters["online_combine_us"] = online / rounds * 1e6;
  }
}
BENCHMARK(BM_Sign)->Args({2, 3})->Args({3, 5})->Unit(benchmark::kMillisecond);

// Identity seeds of the benchmark's nodes (node k keeps its key).
Bytes NodeSeed(uint32_t k) {
  const crypto::Digest32 d =
      crypto::Sha256(AsBytes("bench node " + std::to_string(k)));
  return Bytes(d.begin(), d.end());
}

// Refresh 2-of-3 (dealers 1, 2; the same three parties; t = 2) and reshare
// 2-of-3 -> 3-of-5 (two new parties join), all parties in one process.
void BM_Reshare(benchmark::State& state) {
  const auto t_new = static_cast<uint32_t>(state.range(0));
  const auto n_new = static_cast<uint32_t>(state.range(1));
  static const testing::DkgRun* key = [] {
    return new testing::DkgRun(testing::RunDkgWith(
        testing::IdentitiesFromSeeds({NodeSeed(0), NodeSeed(1), NodeSeed(2)}),
        2, 17));
  }();
  std::vector<Bytes> seeds;
  for (uint32_t k = 0; k < n_new; ++k) {
    seeds.push_back(NodeSeed(k));
  }
  const testing::Identities ids = testing::IdentitiesFromSeeds(seeds);
  SessionSetup setup;
  setup.op = Op::kReshare;
  setup.key_id = key->shares[0].key_id;
  setup.parties = ids.parties;
  setup.threshold = t_new;
  setup.old_threshold = 2;
  for (uint32_t p = 1; p <= n_new; ++p) {
    setup.reshare_roles.push_back({p <= 2 ? p : 0u, p});
  }
  const std::map<uint32_t, const KeyShare*> olds = {{1, &key->shares[0]},
                                                    {2, &key->shares[1]}};
  double bytes = 0;
  uint64_t seed = 1;
  for (auto _ : state) {
    testing::ReshareRun run = testing::RunReshare(ids, setup, olds, seed++);
    if (!run.ok()) {
      state.SkipWithError("reshare failed");
      break;
    }
    size_t total = 0;
    for (const auto& [id, b] : run.result.bytes_sent) {
      total += b;
    }
    bytes = static_cast<double>(total) / n_new;
  }
  state.counters["bytes_per_party"] = bytes;
}
BENCHMARK(BM_Reshare)
    ->Args({2, 3})
    ->Args({3, 5})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kagi::protocol
