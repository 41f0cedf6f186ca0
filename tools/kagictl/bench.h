// File: tools/kagictl/bench.h
//
// `kagictl bench`: the end-to-end benchmark. Starts its own local cluster (3
// node processes and a gateway, mTLS on loopback, SQLite stores), then
// measures through the gateway's Wallet API: node RSS when idle, DKG latency,
// sign latency at concurrency 1 (p50/p99), sustained signatures per second at
// concurrency N, and node RSS after the load. Every signature is verified by
// the bench (libsecp256k1) before it is counted. Prints a table for
// docs/BENCHMARKS.md.
#ifndef KAGI_TOOLS_KAGICTL_BENCH_H_
#define KAGI_TOOLS_KAGICTL_BENCH_H_

#include <string>

#include "absl/status/status.h"

namespace kagi::kagictl {

struct BenchOptions {
  std::string dir;  // empty: a fresh temporary directory
  int dkgs = 5;
  int sequential_signs = 200;
  int signs = 400;
  int concurrency = 16;
  int base_port = 7300;
};

absl::Status RunBench(const BenchOptions& options);

}  // namespace kagi::kagictl

#endif  // KAGI_TOOLS_KAGICTL_BENCH_H_
