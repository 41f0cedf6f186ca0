// OT-stack benchmarks for one ordered pair. Run:
//   build/dev/libs/mpc/kagi_mpc_mpc_benchmark
// Sender (A) and receiver (B) CPU are measured separately; the counters give
// the bytes each message puts on the wire.
#include "benchmark/benchmark.h"
#include "libs/base/rng.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/rvole.h"

namespace kagi::mpc {
namespace {

using crypto::Scalar;

struct Pair {
  CoteSenderSeeds a;
  CoteReceiverSeeds b;
};

Pair MakePair(Rng& rng) {
  BaseOtSession s{rng.Bytes<32>(), 1, 2};
  Bytes msg1;
  BaseOtReceiver recv = BaseOtReceiver::Start(s, rng, &msg1);
  BaseOtSenderResult sent = *BaseOtSenderRespond(s, msg1, rng);
  return Pair{*std::move(recv).Finish(sent.msg2), std::move(sent.seeds)};
}

void BM_BaseOtPairSetup(benchmark::State& state) {
  InsecureDeterministicRng rng(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(MakePair(rng));
  }
  state.counters["msg1_bytes"] = kBaseOtMessageBytes;
  state.counters["msg2_bytes"] = kBaseOtMessageBytes;
}
BENCHMARK(BM_BaseOtPairSetup)->Unit(benchmark::kMillisecond);

void BM_BaseOtReceiverStart(benchmark::State& state) {
  InsecureDeterministicRng rng(1);
  const BaseOtSession s{rng.Bytes<32>(), 1, 2};
  Bytes msg1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(BaseOtReceiver::Start(s, rng, &msg1));
  }
}
BENCHMARK(BM_BaseOtReceiverStart)->Unit(benchmark::kMillisecond);

void BM_BaseOtSenderRespond(benchmark::State& state) {
  InsecureDeterministicRng rng(1);
  const BaseOtSession s{rng.Bytes<32>(), 1, 2};
  Bytes msg1;
  BaseOtReceiver recv = BaseOtReceiver::Start(s, rng, &msg1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(BaseOtSenderRespond(s, msg1, rng));
  }
}
BENCHMARK(BM_BaseOtSenderRespond)->Unit(benchmark::kMillisecond);

// B, step 1: draw β, χ, run the COTe receiver, produce msg1.
void BM_RvoleReceiverStart(benchmark::State& state) {
  InsecureDeterministicRng rng(2);
  const Pair pair = MakePair(rng);
  const RvoleSession session{rng.Bytes<32>(), 1, 2};
  Bytes msg1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(RvoleReceiver::Start(pair.b, session, rng, &msg1));
  }
  state.counters["msg1_bytes"] = static_cast<double>(msg1.size());
}
BENCHMARK(BM_RvoleReceiverStart)->Unit(benchmark::kMicrosecond);

// A: COTe check, row hashes, RVOLE reply (msg2).
void BM_RvoleSenderRespond(benchmark::State& state) {
  InsecureDeterministicRng rng(3);
  const Pair pair = MakePair(rng);
  const RvoleSession session{rng.Bytes<32>(), 1, 2};
  Bytes msg1;
  RvoleReceiver receiver = RvoleReceiver::Start(pair.b, session, rng, &msg1);
  const std::array<Scalar, 2> a = {Scalar::Random(rng), Scalar::Random(rng)};
  size_t msg2_bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<RvoleSenderOutput> out =
        RvoleSenderRespond(pair.a, session, a, msg1, rng);
    msg2_bytes = out->msg2.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["msg2_bytes"] = static_cast<double>(msg2_bytes);
}
BENCHMARK(BM_RvoleSenderRespond)->Unit(benchmark::kMicrosecond);

// B, step 2: μ check and outputs.
void BM_RvoleReceiverFinish(benchmark::State& state) {
  InsecureDeterministicRng rng(4);
  const Pair pair = MakePair(rng);
  const RvoleSession session{rng.Bytes<32>(), 1, 2};
  const std::array<Scalar, 2> a = {Scalar::Random(rng), Scalar::Random(rng)};
  for (auto _ : state) {
    state.PauseTiming();
    Bytes msg1;
    RvoleReceiver receiver = RvoleReceiver::Start(pair.b, session, rng, &msg1);
    const Bytes msg2 = RvoleSenderRespond(pair.a, session, a, msg1, rng)->msg2;
    state.ResumeTiming();
    benchmark::DoNotOptimize(std::move(receiver).Finish(msg2));
  }
}
BENCHMARK(BM_RvoleReceiverFinish)->Unit(benchmark::kMicrosecond);

// Both sides of one ordered pair, end to end (the figure the 0.6 ms target
// is about).
void BM_RvolePairTotal(benchmark::State& state) {
  InsecureDeterministicRng rng(5);
  const Pair pair = MakePair(rng);
  const RvoleSession session{rng.Bytes<32>(), 1, 2};
  const std::array<Scalar, 2> a = {Scalar::Random(rng), Scalar::Random(rng)};
  for (auto _ : state) {
    Bytes msg1;
    RvoleReceiver receiver = RvoleReceiver::Start(pair.b, session, rng, &msg1);
    absl::StatusOr<RvoleSenderOutput> out =
        RvoleSenderRespond(pair.a, session, a, msg1, rng);
    benchmark::DoNotOptimize(std::move(receiver).Finish(out->msg2));
  }
}
BENCHMARK(BM_RvolePairTotal)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kagi::mpc
