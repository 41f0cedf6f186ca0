// The constant-time check, in the manner of libsecp256k1's ctime_tests: the
// secrets are marked as undefined memory (CtSecret, libs/base/ctime.h) and
// run through the code that handles them, under Valgrind's memcheck
// (tests/ctime/run_ctime.sh). Memcheck then reports every conditional branch
// and every memory index that depends on a secret, so a report is a
// timing leak. Values that are public by design (a message that is sent, a
// check's outcome that aborts) are declassified where they become public,
// in the code itself (the CtDeclassify calls, each with its reason) or here
// for the test's own sanity checks.
//
// It is not a unit test: on its own it only computes; Valgrind is the
// judge (--error-exitcode=1). Run it through ctest (-L ctime) or
// run_ctime.sh; run directly it skips (exit 77).
//
// What it covers and what it declassifies: docs/robustness.md,
// "Constant-time".
#include "libs/base/ctime.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/gf128.h"
#include "libs/crypto/prefix_hash.h"
#include "libs/crypto/scalar.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/bit_matrix.h"
#include "libs/mpc/cote.h"
#include "libs/mpc/params.h"
#include "libs/mpc/rvole.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/sign.h"
#include "libs/protocol/testing/dealer.h"
#include "libs/protocol/testing/simulation.h"

#if defined(KAGI_CTIME_VALIDATION)
#include <valgrind/valgrind.h>
#endif

namespace kagi::ctime {
namespace {

using crypto::Gf128;
using crypto::Scalar;
using mpc::GetBit;

int g_failures = 0;
int g_checks = 0;

// Expect records a sanity check on a value the test has declassified: the
// check makes sure the code under test computed the right thing, so that a
// change cannot turn this program into one that checks nothing.
void Expect(bool ok, const char* what) {
  ++g_checks;
  if (!ok) {
    std::fprintf(stderr, "ctime: sanity check failed: %s\n", what);
    ++g_failures;
  }
}

// Public returns a declassified copy of `v`, for the test's sanity checks
// (never for anything the code under test reads back).
template <typename T>
T Public(T v) {
  CtDeclassifyObject(v);
  return v;
}

// Send is the network: a message that leaves a party is public.
Bytes Send(Bytes msg) {
  CtDeclassify(msg.data(), msg.size());
  return msg;
}

// PublicBytes returns a declassified copy of secret bytes (sanity checks).
Bytes PublicBytes(ByteSpan secret) {
  Bytes out(secret.begin(), secret.end());
  CtDeclassify(out.data(), out.size());
  return out;
}

// SecretRng draws from a seeded stream and marks every byte it hands out as
// secret: nonces, Δ, β, OT scalars, everything the code draws is secret
// until the code itself declassifies what it publishes.
class SecretRng final : public Rng {
 public:
  explicit SecretRng(uint64_t seed) : inner_(seed) {}
  void Fill(absl::Span<uint8_t> out) override {
    inner_.Fill(out);
    CtSecret(out.data(), out.size());
  }

 private:
  InsecureDeterministicRng inner_;
};

void CheckScalar() {
  SecretRng rng(1);
  const Scalar a = Scalar::Random(rng);
  const Scalar b = Scalar::RandomNonZero(rng);
  const Scalar sum = a + b;
  const Scalar diff = a - b;
  const Scalar neg = -a;
  const Scalar prod = a * b;
  const Scalar sq = a.Square();
  const Scalar inv = b.Invert();
  Expect(Public(prod * inv == a), "a·b·b^-1 == a");
  Expect(Public(sum - b == a), "(a+b)-b == a");
  Expect(Public(diff + b == a), "(a-b)+b == a");
  Expect(Public((neg + a).IsZero()), "-a + a == 0");
  Expect(Public(sq == a * a), "a² == a·a");
  // Every predicate on a secret; the results are declassified only to be
  // checked (the code under test never branches on them).
  (void)Public(a.IsHigh());
  (void)Public(a == b);
  // Select by a secret bit.
  std::array<uint8_t, 1> bit_byte = rng.Bytes<1>();
  const uint64_t bit = bit_byte[0] & 1;
  const Scalar sel = Scalar::ConditionalSelect(bit, a, b);
  Expect(Public(sel == (Public(bit) == 1 ? a : b)), "ConditionalSelect");
  // Inner products over secret vectors.
  std::vector<Scalar> xs, ys;
  for (int i = 0; i < 5; ++i) {
    xs.push_back(Scalar::Random(rng));
    ys.push_back(Scalar::Random(rng));
  }
  Scalar naive;
  for (size_t i = 0; i < xs.size(); ++i) {
    naive += xs[i] * ys[i];
  }
  Expect(Public(Scalar::InnerProduct(xs, ys) == naive), "InnerProduct");
  // Encodings of secrets: out and back in.
  const std::array<uint8_t, 32> enc = a.ToBytes();
  Expect(Public(Scalar::FromBytesModOrder(enc) == a), "FromBytesModOrder");
  const absl::StatusOr<Scalar> dec = Scalar::FromCanonicalBytes(enc);
  Expect(dec.ok() && Public(*dec == a), "FromCanonicalBytes");
  const absl::StatusOr<Scalar> dec_nz =
      Scalar::FromCanonicalBytesNonZero(b.ToBytes());
  Expect(dec_nz.ok() && Public(*dec_nz == b), "FromCanonicalBytesNonZero");
  const std::array<uint8_t, 64> wide = rng.Bytes<64>();
  (void)Scalar::FromWideBytes(wide);
}

void CheckGf128() {
  SecretRng rng(2);
  auto random = [&rng] { return Gf128::FromBytes(rng.Bytes<16>()); };
  const Gf128 a = random();
  const Gf128 b = random();
  const Gf128 c = random();
  const Gf128 ab = crypto::Gf128Mul(a, b);
  // Distributivity ties the product to the sum, on secrets.
  const Gf128 lhs = crypto::Gf128Mul(a, b ^ c);
  Gf128 rhs = ab;
  crypto::Gf128MulAdd(rhs, a, c);
  Expect(Public(lhs == rhs), "a·(b+c) == a·b + a·c");
  std::array<Gf128, 5> xs, ys;
  for (size_t i = 0; i < xs.size(); ++i) {
    xs[i] = random();
    ys[i] = random();
  }
  const Gf128 ip = crypto::Gf128InnerProduct(xs, ys);
  // Both implementations, whichever the dispatcher picks on this CPU (under
  // Valgrind, PCLMULQDQ is emulated).
  Gf128 portable = crypto::gf128_internal::MulPortable(a, b);
  Expect(Public(portable == ab), "portable product");
  Expect(Public(crypto::gf128_internal::InnerProductPortable(
                    xs.data(), ys.data(), xs.size()) == ip),
         "portable inner product");
  if (crypto::gf128_internal::HasClmul()) {
    Expect(Public(crypto::gf128_internal::MulClmul(a, b) == ab),
           "CLMUL product");
    Expect(Public(crypto::gf128_internal::InnerProductClmul(
                      xs.data(), ys.data(), xs.size()) == ip),
           "CLMUL inner product");
  }
  std::array<uint8_t, 16> out = ab.ToBytes();
  Expect(Public(Gf128::FromBytes(out) == ab), "Gf128 wire form");
}

// The OT seeds of one ordered pair (A = COTe sender, B = COTe receiver).
struct OtSeeds {
  mpc::CoteSenderSeeds a;
  mpc::CoteReceiverSeeds b;
};

// Base OT: A (the base-OT receiver) chooses with the secret Δ; its scalars
// come from a secret rng; B answers with secret scalars of its own.
OtSeeds CheckBaseOt() {
  SecretRng rng_a(3);
  SecretRng rng_b(4);
  const mpc::BaseOtSession session{{7}, 1, 2};
  SecretBytes delta(mpc::kBaseOtBytes);
  rng_a.Fill(delta.mutable_span());
  Bytes msg1;
  mpc::BaseOtReceiver receiver =
      mpc::BaseOtReceiver::StartWithChoiceBitsForTesting(session, delta.Clone(),
                                                         rng_a, &msg1);
  absl::StatusOr<mpc::BaseOtSenderResult> sent =
      mpc::BaseOtSenderRespond(session, Send(std::move(msg1)), rng_b);
  Expect(sent.ok(), "base OT: sender accepts msg1");
  absl::StatusOr<mpc::CoteSenderSeeds> got =
      std::move(receiver).Finish(Send(std::move(sent->msg2)));
  Expect(got.ok(), "base OT: receiver accepts msg2");
  // A holds s^{Δ_ℓ}_ℓ for every ℓ.
  const Bytes d = PublicBytes(delta.secret());
  const Bytes keys = PublicBytes(got->keys.secret());
  const Bytes keys0 = PublicBytes(sent->seeds.keys0.secret());
  const Bytes keys1 = PublicBytes(sent->seeds.keys1.secret());
  bool all = true;
  for (size_t l = 0; l < mpc::kBaseOts; ++l) {
    const Bytes& want = GetBit(d, l) != 0 ? keys1 : keys0;
    for (size_t i = 0; i < 32; ++i) {
      all = all && keys[32 * l + i] == want[32 * l + i];
    }
  }
  Expect(all, "base OT: A's keys are s^{Δ_ℓ}_ℓ");
  return OtSeeds{*std::move(got), std::move(sent->seeds)};
}

// COTe: B extends with a secret x from its secret seeds; A checks the
// message with its secret Δ and keys.
void CheckCote(const OtSeeds& seeds) {
  SecretRng rng(5);
  const mpc::CoteSession session{{9}, 1, 2};
  SecretBytes x(mpc::kXiPrimeBytes);
  rng.Fill(x.mutable_span());
  mpc::CoteReceiverOutput b = mpc::CoteReceiverExtend(seeds.b, session, x);
  absl::StatusOr<SecretBytes> q =
      mpc::CoteSenderExtend(seeds.a, session, Send(std::move(b.msg)));
  Expect(q.ok(), "COTe: the consistency check passes");
  // q_k = t_k ⊕ β_k·Δ.
  const Bytes qs = PublicBytes(q->secret());
  const Bytes ts = PublicBytes(b.t_rows.secret());
  const Bytes xs = PublicBytes(x.secret());
  const Bytes delta = PublicBytes(seeds.a.delta.secret());
  bool all = true;
  for (size_t k = 0; k < mpc::kXi; ++k) {
    for (size_t i = 0; i < 32; ++i) {
      const uint8_t want = static_cast<uint8_t>(
          ts[32 * k + i] ^ (GetBit(xs, k) != 0 ? delta[i] : 0));
      all = all && qs[32 * k + i] == want;
    }
  }
  Expect(all, "COTe: q_k = t_k + beta_k * Delta");
}

// RVOLE: B's random input and A's inputs (a nonce share and a key share in
// signing) are secret, and so is everything either side draws.
void CheckRvole(const OtSeeds& seeds) {
  SecretRng rng_a(6);
  SecretRng rng_b(7);
  const mpc::RvoleSession session{{11}, 1, 2};
  const std::array<Scalar, mpc::kRvoleInputs> a = {Scalar::Random(rng_a),
                                                   Scalar::Random(rng_a)};
  Bytes msg1;
  mpc::RvoleReceiver receiver =
      mpc::RvoleReceiver::Start(seeds.b, session, rng_b, &msg1);
  const Scalar chi = receiver.chi();
  absl::StatusOr<mpc::RvoleSenderOutput> sent = mpc::RvoleSenderRespond(
      seeds.a, session, a, Send(std::move(msg1)), rng_a);
  Expect(sent.ok(), "RVOLE: the sender accepts msg1");
  absl::StatusOr<std::array<Scalar, mpc::kRvoleInputs>> d =
      std::move(receiver).Finish(Send(std::move(sent->msg2)));
  Expect(d.ok(), "RVOLE: the receiver accepts msg2");
  for (size_t i = 0; i < mpc::kRvoleInputs; ++i) {
    Expect(Public(sent->c[i] + (*d)[i] == a[i] * chi),
           "RVOLE: c_i + d_i = a_i * chi");
  }
}

// MakeShareSecret marks every secret of a key share: the Shamir share x_i,
// and per peer Δ, the OT keys and the zero-share seed κ.
void MakeShareSecret(protocol::KeyShare& share) {
  CtSecretObject(share.secret_share);
  for (protocol::PairwiseMaterial& m : share.pairwise) {
    for (SecretBytes* b :
         {&m.as_sender.delta, &m.as_sender.keys, &m.as_receiver.keys0,
          &m.as_receiver.keys1, &m.zero_seed}) {
      CtSecret(b->secret().data(), b->size());
    }
  }
}

// Key shares and signing: each party's share, secret, goes through its
// encoding and decoding (with the checks a node runs when it loads one),
// then a 2-of-2 session runs over real envelopes (the in-memory network of
// libs/protocol/testing); every draw is secret too (SignParty hedges its rng
// with a digest of the share). The shares come from the trusted-dealer
// fixture, which runs the real base OT.
void CheckSigning() {
  const protocol::testing::Identities ids =
      protocol::testing::MakeIdentities(2, 21);
  std::array<uint8_t, 32> chain_code{};
  chain_code[0] = 1;
  std::vector<protocol::KeyShare> shares = protocol::testing::DealShares(
      Scalar::FromUint64(0x5ec2e7), chain_code, 2, ids, 22);
  // As a node holds them: secret, written to its store and read back (the
  // sealed record's plaintext; unsealing is AES-GCM in OpenSSL).
  for (protocol::KeyShare& share : shares) {
    MakeShareSecret(share);
    absl::StatusOr<protocol::KeyShare> loaded =
        protocol::KeyShare::Deserialize(share.Serialize().secret());
    Expect(loaded.ok(), "key share: decodes");
    share = *std::move(loaded);
  }
  std::array<uint8_t, 32> digest{};
  digest[31] = 0x42;
  const protocol::SessionSetup setup = protocol::testing::MakeSignSetup(
      shares[0], {1, 2}, {protocol::SignItem{digest, {0, 7}}}, 23);
  const protocol::testing::SignRun run =
      protocol::testing::RunSign(ids, shares, setup, 24);
  Expect(run.ok(), "signing: both parties finish");
  for (const auto& [id, sigs] : run.signatures) {
    Expect(sigs.size() == 1, "signing: one signature per party");
    for (const protocol::Signature& sig : sigs) {
      Expect(
          crypto::EcdsaVerify(sig.public_key, sig.digest, sig.Compact()).ok(),
          "signing: the signature verifies");
    }
  }
}

}  // namespace
}  // namespace kagi::ctime

int main() {
  using namespace kagi::ctime;  // NOLINT(google-build-using-namespace)
  if (!kagi::kCtValidation) {
    std::printf(
        "SKIPPED: built without KAGI_CTIME_VALIDATION (valgrind/memcheck.h)\n");
    return 77;
  }
#if defined(KAGI_CTIME_VALIDATION)
  if (RUNNING_ON_VALGRIND == 0) {
    std::printf(
        "SKIPPED: the constant-time check only means something under "
        "Valgrind: run it with ctest -L ctime or tests/ctime/run_ctime.sh\n");
    return 77;
  }
#endif
  // Which CPU paths run here: Valgrind's virtual CPU decides (PCLMULQDQ for
  // GF(2^128); SHA-NI for the OT stack's hashing, else OpenSSL's SHA-256).
  std::printf("ctime: GF(2^128) with PCLMULQDQ: %s; SHA-256 with SHA-NI: %s\n",
              kagi::crypto::gf128_internal::HasClmul() ? "yes" : "no",
              kagi::crypto::PrefixHasher::ShaExtensionsInUse() ? "yes" : "no");
  CheckScalar();
  CheckGf128();
  const OtSeeds seeds = CheckBaseOt();
  CheckCote(seeds);
  CheckRvole(seeds);
  CheckSigning();
  std::printf("ctime: %d sanity checks, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
