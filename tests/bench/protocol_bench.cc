// kagi-protocol-bench: runs DKG and signing sessions on the in-memory network
// (all parties in this process, one thread) and prints, per configuration,
// the median and p90 total CPU, the CPU per round summed over parties, and
// the bytes each party sends. Usage:
//   build/dev/tests/bench/kagi-protocol-bench [iterations]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

#include "libs/crypto/hash.h"
#include "libs/protocol/testing/simulation.h"

namespace kagi::protocol {
namespace {

struct Stats {
  std::vector<double> total_ms;
  std::map<uint32_t, double> round_ms;  // summed over iterations
  double bytes_per_party = 0;
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

void Print(const char* name, const Stats& s, int iterations,
           const char* round_names[], size_t num_rounds) {
  std::printf("%-14s median %8.2f ms   p90 %8.2f ms   %9.0f bytes/party\n",
              name, Percentile(s.total_ms, 0.5), Percentile(s.total_ms, 0.9),
              s.bytes_per_party);
  std::printf("%-14s", "");
  for (size_t r = 0; r < num_rounds; ++r) {
    auto it = s.round_ms.find(static_cast<uint32_t>(r));
    const double ms = it == s.round_ms.end() ? 0 : it->second / iterations;
    std::printf(" %s %.2f ms", round_names[r], ms);
  }
  std::printf("\n");
}

Stats RunDkgs(uint32_t t, uint32_t n, int iterations) {
  Stats s;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    testing::DkgRun run =
        testing::RunDkg(t, n, 1000 + static_cast<uint64_t>(i));
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
    if (!run.ok()) {
      std::fprintf(stderr, "DKG failed\n");
      std::exit(1);
    }
    s.total_ms.push_back(ms);
    size_t bytes = 0;
    for (const auto& [id, b] : run.result.bytes_sent) {
      bytes += b;
    }
    s.bytes_per_party = static_cast<double>(bytes) / n;
    for (const auto& [r, sec] : run.result.seconds_in_round) {
      s.round_ms[r] += sec * 1e3;
    }
  }
  return s;
}

Stats RunSigns(const testing::DkgRun& key, uint32_t t, int iterations) {
  Stats s;
  std::vector<uint32_t> signers;
  for (uint32_t i = 1; i <= t; ++i) {
    signers.push_back(i);
  }
  std::vector<SignItem> items(1);
  items[0].digest = crypto::Sha256(AsBytes("bench"));
  items[0].path = {0, 5};
  for (int i = 0; i < iterations; ++i) {
    const SessionSetup setup = testing::MakeSignSetup(
        key.shares[0], signers, items, static_cast<uint64_t>(i));
    const auto t0 = std::chrono::steady_clock::now();
    testing::SignRun run =
        testing::RunSign(key.ids, key.shares, setup, static_cast<uint64_t>(i));
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
    if (!run.ok()) {
      std::fprintf(stderr, "signing failed\n");
      std::exit(1);
    }
    s.total_ms.push_back(ms);
    size_t bytes = 0;
    for (const auto& [id, b] : run.result.bytes_sent) {
      bytes += b;
    }
    s.bytes_per_party = static_cast<double>(bytes) / t;
    for (const auto& [r, sec] : run.result.seconds_in_round) {
      s.round_ms[r] += sec * 1e3;
    }
  }
  return s;
}

}  // namespace
}  // namespace kagi::protocol

int main(int argc, char** argv) {
  using kagi::protocol::Print;
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 20;
  const int dkg_iterations = std::max(1, iterations / 5);
  std::printf(
      "kagi-protocol-bench: all parties in one process, one thread; "
      "%d signing / %d DKG iterations\n\n",
      iterations, dkg_iterations);
  const char* dkg_rounds[] = {"start", "R1", "R2", "R3", "R4"};
  const char* sign_rounds[] = {"P1-start", "P1", "P2", "P3+release", "combine"};
  for (auto [t, n] : {std::pair<uint32_t, uint32_t>{2, 3}, {3, 5}}) {
    char name[32];
    std::snprintf(name, sizeof(name), "DKG %u-of-%u", t, n);
    Print(name, kagi::protocol::RunDkgs(t, n, dkg_iterations), dkg_iterations,
          dkg_rounds, 5);
    const kagi::protocol::testing::DkgRun key =
        kagi::protocol::testing::RunDkg(t, n, 7);
    std::snprintf(name, sizeof(name), "sign %u-of-%u", t, n);
    Print(name, kagi::protocol::RunSigns(key, t, iterations), iterations,
          sign_rounds, 5);
  }
  return 0;
}
