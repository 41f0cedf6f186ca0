// GF(2^128) benchmarks. Linked into kagi_crypto_crypto_benchmark together
// with crypto_benchmark.cc; benchmark_main provides main().
//
// BM_Gf128Mul* measure one multiplication on a dependency chain (latency).
// BM_Gf128KosCheck* measure the KOS consistency check of PROTOCOL.md §3.3
// for one instance: 256 rows, each t̃_ℓ = Σ_{j<4} χ_j ⊗ T_{ℓ,j} ⊕ T_{ℓ,4}
// (1024 products); items_per_second counts products.
#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "libs/crypto/gf128.h"

namespace kagi::crypto {
namespace {

constexpr size_t kKosRows = 256;
constexpr size_t kKosBlocks = 4;

Gf128 RandomElement(std::mt19937_64& rng) { return Gf128{rng(), rng()}; }

template <Gf128 (*kMul)(Gf128, Gf128)>
void BM_Gf128MulChain(benchmark::State& state) {
  std::mt19937_64 rng(1);
  Gf128 a = RandomElement(rng);
  const Gf128 b = RandomElement(rng);
  for (auto _ : state) {
    a = kMul(a, b);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Gf128Mul(benchmark::State& state) {
  state.SetLabel(gf128_internal::HasClmul() ? "clmul" : "portable");
  BM_Gf128MulChain<&Gf128Mul>(state);
}
BENCHMARK(BM_Gf128Mul);

void BM_Gf128MulPortable(benchmark::State& state) {
  BM_Gf128MulChain<&gf128_internal::MulPortable>(state);
}
BENCHMARK(BM_Gf128MulPortable);

void BM_Gf128MulClmul(benchmark::State& state) {
  if (!gf128_internal::HasClmul()) {
    state.SkipWithError("CPU has no PCLMULQDQ");
    return;
  }
  BM_Gf128MulChain<&gf128_internal::MulClmul>(state);
}
BENCHMARK(BM_Gf128MulClmul);

struct KosInput {
  std::array<Gf128, kKosBlocks> chi;
  std::vector<std::array<Gf128, kKosBlocks + 1>> rows;
  std::vector<Gf128> out;
};

KosInput MakeKosInput() {
  std::mt19937_64 rng(2);
  KosInput in;
  for (Gf128& c : in.chi) {
    c = RandomElement(rng);
  }
  in.rows.resize(kKosRows);
  for (auto& row : in.rows) {
    for (Gf128& t : row) {
      t = RandomElement(rng);
    }
  }
  in.out.resize(kKosRows);
  return in;
}

using InnerProductFn = Gf128 (*)(const Gf128*, const Gf128*, size_t);

Gf128 DispatchedInnerProduct(const Gf128* a, const Gf128* b, size_t n) {
  return Gf128InnerProduct(absl::MakeConstSpan(a, n),
                           absl::MakeConstSpan(b, n));
}

template <InnerProductFn kInnerProduct>
void BM_Gf128KosCheck(benchmark::State& state) {
  KosInput in = MakeKosInput();
  for (auto _ : state) {
    for (size_t l = 0; l < kKosRows; ++l) {
      in.out[l] = kInnerProduct(in.chi.data(), in.rows[l].data(), kKosBlocks) ^
                  in.rows[l][kKosBlocks];
    }
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(kKosRows * kKosBlocks));
}

void BM_Gf128KosCheckInnerProduct(benchmark::State& state) {
  state.SetLabel(gf128_internal::HasClmul() ? "clmul" : "portable");
  BM_Gf128KosCheck<&DispatchedInnerProduct>(state);
}
BENCHMARK(BM_Gf128KosCheckInnerProduct);

void BM_Gf128KosCheckInnerProductPortable(benchmark::State& state) {
  BM_Gf128KosCheck<&gf128_internal::InnerProductPortable>(state);
}
BENCHMARK(BM_Gf128KosCheckInnerProductPortable);

void BM_Gf128KosCheckInnerProductClmul(benchmark::State& state) {
  if (!gf128_internal::HasClmul()) {
    state.SkipWithError("CPU has no PCLMULQDQ");
    return;
  }
  BM_Gf128KosCheck<&gf128_internal::InnerProductClmul>(state);
}
BENCHMARK(BM_Gf128KosCheckInnerProductClmul);

// The same workload with one reduced multiplication per product (Gf128MulAdd),
// to show what the single reduction of Gf128InnerProduct saves.
void BM_Gf128KosCheckMulAdd(benchmark::State& state) {
  KosInput in = MakeKosInput();
  for (auto _ : state) {
    for (size_t l = 0; l < kKosRows; ++l) {
      Gf128 acc = in.rows[l][kKosBlocks];
      for (size_t j = 0; j < kKosBlocks; ++j) {
        Gf128MulAdd(acc, in.chi[j], in.rows[l][j]);
      }
      in.out[l] = acc;
    }
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(kKosRows * kKosBlocks));
}
BENCHMARK(BM_Gf128KosCheckMulAdd);

}  // namespace
}  // namespace kagi::crypto
