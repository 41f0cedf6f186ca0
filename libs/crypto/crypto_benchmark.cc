// Micro-benchmarks for libs/crypto. Run:
//   build/dev/libs/crypto/kagi_crypto_crypto_benchmark
// Figures are recorded in docs/BENCHMARKS.md.
#include <secp256k1.h>

#include <vector>

#include "benchmark/benchmark.h"
#include "libs/base/rng.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"
#include "libs/crypto/prefix_hash.h"
#include "libs/crypto/scalar.h"
#include "libs/crypto/schnorr.h"
#include "libs/crypto/secp_context.h"
#include "libs/crypto/transcript.h"

namespace kagi::crypto {
namespace {

void BM_ScalarAdd(benchmark::State& state) {
  InsecureDeterministicRng rng(1);
  Scalar a = Scalar::Random(rng);
  const Scalar b = Scalar::Random(rng);
  for (auto _ : state) {
    a = a + b;
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_ScalarAdd);

void BM_ScalarMul(benchmark::State& state) {
  InsecureDeterministicRng rng(1);
  Scalar a = Scalar::Random(rng);
  const Scalar b = Scalar::Random(rng);
  for (auto _ : state) {
    a = a * b;
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_ScalarMul);

void BM_ScalarInvert(benchmark::State& state) {
  InsecureDeterministicRng rng(1);
  Scalar a = Scalar::RandomNonZero(rng);
  for (auto _ : state) {
    a = a.Invert();
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_ScalarInvert);

void BM_PointMulGenerator(benchmark::State& state) {
  InsecureDeterministicRng rng(2);
  const Scalar k = Scalar::RandomNonZero(rng);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Point::MulGenerator(k));
  }
}
BENCHMARK(BM_PointMulGenerator);

void BM_PointMulPublicScalarVartime(benchmark::State& state) {
  InsecureDeterministicRng rng(2);
  const Point p = *Point::MulGenerator(Scalar::RandomNonZero(rng));
  const Scalar k = Scalar::RandomNonZero(rng);
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.MulPublicScalarVartime(k));
  }
}
BENCHMARK(BM_PointMulPublicScalarVartime);

void BM_PointMulSecretScalar(benchmark::State& state) {
  InsecureDeterministicRng rng(2);
  const Point p = *Point::MulGenerator(Scalar::RandomNonZero(rng));
  const Scalar k = Scalar::RandomNonZero(rng);
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.MulSecretScalar(k));
  }
}
BENCHMARK(BM_PointMulSecretScalar);

void BM_PointAdd(benchmark::State& state) {
  InsecureDeterministicRng rng(2);
  const Point p = *Point::MulGenerator(Scalar::RandomNonZero(rng));
  const Point q = *Point::MulGenerator(Scalar::RandomNonZero(rng));
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.Add(q));
  }
}
BENCHMARK(BM_PointAdd);

void BM_PointParseCompressed(benchmark::State& state) {
  const auto enc = Point::Generator().ToCompressed();
  for (auto _ : state) {
    benchmark::DoNotOptimize(Point::FromCompressed(enc));
  }
}
BENCHMARK(BM_PointParseCompressed);

void BM_Sha256(benchmark::State& state) {
  const std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 0xab);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Sha256(data));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(1024);

void BM_Shake256(benchmark::State& state) {
  const std::vector<uint8_t> data(64, 0xab);
  std::vector<uint8_t> out(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Shake256(data, absl::MakeSpan(out));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Shake256)->Arg(80)->Arg(1024);

void BM_TranscriptH(benchmark::State& state) {
  const std::array<uint8_t, 32> sid{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        Transcript(Tag::kEcho).Add(sid).AddU32(1).AddU32(2).H());
  }
}
BENCHMARK(BM_TranscriptH);

void BM_TranscriptHn(benchmark::State& state) {
  const std::array<uint8_t, 32> sid{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(Transcript(Tag::kGadget).Add(sid).AddU32(7).Hn());
  }
}
BENCHMARK(BM_TranscriptHn);

void BM_SchnorrProve(benchmark::State& state) {
  InsecureDeterministicRng rng(4);
  const Scalar a = Scalar::RandomNonZero(rng);
  const Point big_a = *Point::MulGenerator(a);
  PokContext ctx{AsBytes("sid"), AsBytes("bench"), 1, 0, ByteSpan()};
  for (auto _ : state) {
    benchmark::DoNotOptimize(ProveKnowledge(ctx, a, big_a, rng));
  }
}
BENCHMARK(BM_SchnorrProve);

void BM_SchnorrVerify(benchmark::State& state) {
  InsecureDeterministicRng rng(4);
  const Scalar a = Scalar::RandomNonZero(rng);
  const Point big_a = *Point::MulGenerator(a);
  PokContext ctx{AsBytes("sid"), AsBytes("bench"), 1, 0, ByteSpan()};
  const SchnorrProof proof = *ProveKnowledge(ctx, a, big_a, rng);
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifyKnowledge(ctx, big_a, proof));
  }
}
BENCHMARK(BM_SchnorrVerify);

// The physical floor: single-key ECDSA with libsecp256k1.
void BM_SingleKeyEcdsaSign(benchmark::State& state) {
  InsecureDeterministicRng rng(5);
  const auto key = Scalar::RandomNonZero(rng).ToBytes();
  const Digest32 digest = Sha256(AsBytes("message"));
  secp256k1_ecdsa_signature sig;
  for (auto _ : state) {
    benchmark::DoNotOptimize(secp256k1_ecdsa_sign(
        SecpContext(), &sig, digest.data(), key.data(), nullptr, nullptr));
  }
}
BENCHMARK(BM_SingleKeyEcdsaSign);

void BM_SingleKeyEcdsaVerify(benchmark::State& state) {
  InsecureDeterministicRng rng(5);
  const Scalar key = Scalar::RandomNonZero(rng);
  const auto kb = key.ToBytes();
  const Point pub = *Point::MulGenerator(key);
  const Digest32 digest = Sha256(AsBytes("message"));
  secp256k1_ecdsa_signature sig;
  secp256k1_ecdsa_sign(SecpContext(), &sig, digest.data(), kb.data(), nullptr,
                       nullptr);
  CompactSignature compact{};
  secp256k1_ecdsa_signature_serialize_compact(SecpContext(), compact.data(),
                                              &sig);
  for (auto _ : state) {
    benchmark::DoNotOptimize(EcdsaVerify(pub, digest, compact));
  }
}
BENCHMARK(BM_SingleKeyEcdsaVerify);

// Envelope signatures (every protocol message) and BIP32 steps (every
// signing path) go through these OpenSSL EVP wrappers.
void BM_Ed25519Sign(benchmark::State& state) {
  InsecureDeterministicRng rng(7);
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate(rng);
  const std::array<uint8_t, 32> msg{};
  for (auto _ : state) benchmark::DoNotOptimize(key.Sign(msg));
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  InsecureDeterministicRng rng(7);
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate(rng);
  const std::array<uint8_t, 32> msg{};
  const Ed25519Signature sig = key.Sign(msg);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Ed25519Verify(key.PublicKey(), msg, sig));
  }
}
BENCHMARK(BM_Ed25519Verify);

void BM_HmacSha512(benchmark::State& state) {
  const std::array<uint8_t, 32> key{};
  const std::array<uint8_t, 37> data{};
  for (auto _ : state) benchmark::DoNotOptimize(HmacSha512(key, data));
}
BENCHMARK(BM_HmacSha512);

}  // namespace
}  // namespace kagi::crypto

namespace kagi::crypto {
namespace {

// One OT-extension row hash: the cost unit of COTe/RVOLE.
void BM_PrefixHasherHash(benchmark::State& state) {
  const std::array<uint8_t, 32> key{1};
  const PrefixHasher h(Tag::kCote, key);
  std::array<uint8_t, 32> row{};
  uint32_t k = 0;
  for (auto _ : state) {
    const Digest32 d = h.Hash(k++, row, 0);
    row[0] = d[0];
    benchmark::DoNotOptimize(row);
  }
}
BENCHMARK(BM_PrefixHasherHash);

}  // namespace
}  // namespace kagi::crypto

namespace kagi::crypto {
namespace {

// Three hashes of one row at once (the RVOLE row hash).
void BM_PrefixHasherHash3(benchmark::State& state) {
  const std::array<uint8_t, 32> key{1};
  const PrefixHasher h(Tag::kCote, key);
  std::array<uint8_t, 32> row{};
  std::array<Digest32, 3> out;
  uint32_t k = 0;
  for (auto _ : state) {
    h.Hash3(k++, row, out);
    row[0] = out[2][0];
    benchmark::DoNotOptimize(row);
  }
}
BENCHMARK(BM_PrefixHasherHash3);

// Two rows' worth (six blocks) per call.
void BM_PrefixHasherHashBatch6(benchmark::State& state) {
  const std::array<uint8_t, 32> key{1};
  const PrefixHasher h(Tag::kCote, key);
  std::array<uint8_t, 32> row{};
  std::array<Digest32, 6> out;
  uint32_t k = 0;
  for (auto _ : state) {
    const PrefixHashInput in[6] = {{k, row, 0},     {k, row, 1},
                                   {k, row, 2},     {k + 1, row, 0},
                                   {k + 1, row, 1}, {k + 1, row, 2}};
    h.HashBatch(in, absl::MakeSpan(out));
    k += 2;
    row[0] = out[5][0];
    benchmark::DoNotOptimize(row);
  }
}
BENCHMARK(BM_PrefixHasherHashBatch6);

}  // namespace
}  // namespace kagi::crypto
