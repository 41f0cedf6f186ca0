// File: libs/mpc/leakage_test.cc
//
// Passive-leakage tests for every OT-stack message that carries a point or a
// value derived from a secret (PROTOCOL.md §3.2: "Every published value
// derived from a secret choice must be uniform or independent of it; test
// that with a passive guesser").
//
// Each test runs the honest protocol many times with seeded RNGs, lets a set
// of simple guessers look only at what the peer sees (the message, plus the
// peer's own legitimate outputs where that makes the guess stronger), and
// counts how often each guess matches a secret bit. If the published value is
// independent of the secret and the secret bit is uniform, every guess is a
// fair coin, so the hit count is Binomial(N, 1/2) with σ = √N / 2. A tally
// fails when |hits − N/2| > 5σ = 2.5·√N. The two-sided tail of a 5σ deviation
// is about 5.7·10⁻⁷ per tally (normal approximation; N ≥ 2048 here), so even
// with a fresh seed the 33 tallies below would fail falsely with probability
// below 2·10⁻⁵ (union bound). The seeds are fixed, so the outcome is
// reproducible.
//
// "Uniformity" tallies count how often a published bit (a point's y parity,
// the top bit of its x) is 1; the same bound applies. A point of fixed parity
// is exactly the defect this file exists for: with r_{1−c} = P always even
// and r_c of random parity, a guesser that says "the odd point is r_c" is
// right 75% of the time.
#include <array>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/bit_matrix.h"
#include "libs/mpc/cote.h"
#include "libs/mpc/params.h"
#include "libs/mpc/rvole.h"

namespace kagi::mpc {
namespace {

using crypto::Point;
using crypto::Scalar;

constexpr size_t kPoint = Point::kCompressedBytes;

// Tally counts the hits of one guesser (or the ones of one published bit).
class Tally {
 public:
  explicit Tally(std::string name) : name_(std::move(name)) {}

  void Guess(uint64_t guess, uint64_t truth) {
    ++n_;
    hits_ += guess == truth ? 1 : 0;
  }
  // Count records one observation of a bit that should be a fair coin.
  void Count(uint64_t bit) { Guess(bit, 1); }

  // ExpectFairCoin checks |hits − N/2| ≤ 2.5·√N (5σ of Binomial(N, 1/2)).
  void ExpectFairCoin() const {
    ASSERT_GT(n_, 0u) << name_;
    const double n = static_cast<double>(n_);
    const double deviation = std::fabs(static_cast<double>(hits_) - n / 2);
    const double bound = 2.5 * std::sqrt(n);
    std::cout << "[ TALLY    ] " << name_ << ": " << hits_ << "/" << n_ << " = "
              << static_cast<double>(hits_) / n << " (|dev| " << deviation
              << ", bound " << bound << ")\n";
    EXPECT_LE(deviation, bound)
        << name_ << ": " << hits_ << " hits of " << n_ << " ("
        << 100.0 * static_cast<double>(hits_) / n
        << "%), farther from a coin than 5 sigma: the published value "
           "depends on the secret";
  }

 private:
  std::string name_;
  uint64_t n_ = 0;
  uint64_t hits_ = 0;
};

void ExpectAllFair(const std::vector<Tally>& tallies) {
  for (const Tally& t : tallies) {
    t.ExpectFairCoin();
  }
}

// Compressed point at `off`: y parity (prefix 0x03) and the top bit of x.
uint64_t Parity(ByteSpan msg, size_t off) { return msg[off] == 0x03 ? 1 : 0; }
uint64_t TopXBit(ByteSpan msg, size_t off) { return msg[off + 1] >> 7; }
uint64_t LowXBit(ByteSpan msg, size_t off) { return msg[off + kPoint - 1] & 1; }

BaseOtSession OtSession(Rng& rng) {
  BaseOtSession s;
  s.sid = rng.Bytes<32>();
  s.cote_sender = 1;
  s.cote_receiver = 2;
  return s;
}

// 16 base OTs: 4096 choice bits. msg1 is what the base-OT sender B sees; the
// secret is A's choice bit c = Δ_ℓ.
constexpr int kBaseOtRuns = 16;

TEST(LeakageTest, BaseOtMsg1RevealsNothingAboutTheChoiceBits) {
  InsecureDeterministicRng rng(0x1eaca6e1);
  InsecureDeterministicRng coins(0xc0175);  // the guessers' own coins
  std::vector<Tally> t = {
      Tally("msg1: odd point is r_c (else coin)"),     // 0
      Tally("msg1: c = parity(r_0)"),                  // 1
      Tally("msg1: c = parity(r_1)"),                  // 2
      Tally("msg1: c = parity(r_0) xor parity(r_1)"),  // 3
      Tally("msg1: c = top x bit of r_0"),             // 4
      Tally("msg1: c = top x bit of r_1"),             // 5
      Tally("msg1: c = low x bit of r_0"),             // 6
      Tally("msg1: c = low x bit of r_1"),             // 7
      Tally("msg1: r_0 is odd (uniformity)"),          // 8
      Tally("msg1: r_1 is odd (uniformity)"),          // 9
  };
  for (int run = 0; run < kBaseOtRuns; ++run) {
    const BaseOtSession s = OtSession(rng);
    const std::array<uint8_t, 32> delta = coins.Bytes<32>();
    Bytes msg1;
    BaseOtReceiver recv = BaseOtReceiver::StartWithChoiceBitsForTesting(
        s, SecretBytes(delta), rng, &msg1);
    ASSERT_EQ(msg1.size(), kBaseOtMessageBytes);
    for (size_t l = 0; l < kBaseOts; ++l) {
      const uint64_t c = GetBit(delta, l);
      const size_t r0 = kSessionBytes + 2 * kPoint * l;
      const size_t r1 = r0 + kPoint;
      const uint64_t p0 = Parity(msg1, r0);
      const uint64_t p1 = Parity(msg1, r1);
      const uint64_t coin = coins.Bytes<1>()[0] & 1;
      // If exactly one point is odd, guess that it is r_c (the fixed-parity
      // P is r_{1-c}); otherwise flip a coin.
      t[0].Guess(p0 != p1 ? p1 : coin, c);
      t[1].Guess(p0, c);
      t[2].Guess(p1, c);
      t[3].Guess(p0 ^ p1, c);
      t[4].Guess(TopXBit(msg1, r0), c);
      t[5].Guess(TopXBit(msg1, r1), c);
      t[6].Guess(LowXBit(msg1, r0), c);
      t[7].Guess(LowXBit(msg1, r1), c);
      t[8].Count(p0);
      t[9].Count(p1);
    }
  }
  ExpectAllFair(t);
}

// msg2 is what A (the base-OT receiver) sees. B's secrets are b_0, b_1 and
// the key A must not learn, s^{1−c}; "which key is which" must not show
// either: presented with {B_0, B_1} in a secret random order, A cannot tell
// the order from parity or x bits.
TEST(LeakageTest, BaseOtMsg2RevealsNothingAboutTheSenderSecrets) {
  InsecureDeterministicRng rng(0x1eaca6e2);
  InsecureDeterministicRng coins(0xc0176);
  std::vector<Tally> t = {
      Tally("msg2: B_0 is odd (uniformity)"),                       // 0
      Tally("msg2: B_1 is odd (uniformity)"),                       // 1
      Tally("msg2: order of {B_0, B_1} = parity(first)"),           // 2
      Tally("msg2: order of {B_0, B_1} = top x bit(first)"),        // 3
      Tally("msg2: lsb(s^{1-c}) = parity(B_{1-c})"),                // 4
      Tally("msg2: lsb(s^{1-c}) = top x bit(B_{1-c})"),             // 5
      Tally("msg2: msb(s^{1-c}) = parity(B_c) xor parity(B_1-c)"),  // 6
      Tally("msg2: c = parity(B_0)"),                               // 7
  };
  for (int run = 0; run < kBaseOtRuns; ++run) {
    const BaseOtSession s = OtSession(rng);
    const std::array<uint8_t, 32> delta = coins.Bytes<32>();
    Bytes msg1;
    BaseOtReceiver recv = BaseOtReceiver::StartWithChoiceBitsForTesting(
        s, SecretBytes(delta), rng, &msg1);
    absl::StatusOr<BaseOtSenderResult> sent = BaseOtSenderRespond(s, msg1, rng);
    ASSERT_TRUE(sent.ok()) << sent.status();
    const Bytes& msg2 = sent->msg2;
    ASSERT_EQ(msg2.size(), kBaseOtMessageBytes);
    for (size_t l = 0; l < kBaseOts; ++l) {
      const uint64_t c = GetBit(delta, l);
      const size_t b0 = kSessionBytes + 2 * kPoint * l;
      const size_t off[2] = {b0, b0 + kPoint};
      const uint64_t order = coins.Bytes<1>()[0] & 1;
      const size_t first = off[order];
      const ByteSpan other_key = (c ? sent->seeds.keys0 : sent->seeds.keys1)
                                     .secret()
                                     .subspan(32 * l, 32);
      t[0].Count(Parity(msg2, off[0]));
      t[1].Count(Parity(msg2, off[1]));
      t[2].Guess(Parity(msg2, first), order);
      t[3].Guess(TopXBit(msg2, first), order);
      t[4].Guess(Parity(msg2, off[1 - c]), other_key[31] & 1);
      t[5].Guess(TopXBit(msg2, off[1 - c]), other_key[31] & 1);
      t[6].Guess(Parity(msg2, off[0]) ^ Parity(msg2, off[1]),
                 other_key[0] >> 7);
      t[7].Guess(Parity(msg2, off[0]), c);
    }
    // The run is honest end to end.
    ASSERT_TRUE(std::move(recv).Finish(msg2).ok());
  }
  ExpectAllFair(t);
}

// Base OTs for one ordered pair (A = 1, B = 2).
struct Pair {
  CoteSenderSeeds a;
  CoteReceiverSeeds b;
};

Pair SetUpPair(Rng& rng) {
  const BaseOtSession s = OtSession(rng);
  Bytes msg1;
  BaseOtReceiver recv = BaseOtReceiver::Start(s, rng, &msg1);
  absl::StatusOr<BaseOtSenderResult> sent = BaseOtSenderRespond(s, msg1, rng);
  EXPECT_TRUE(sent.ok()) << sent.status();
  absl::StatusOr<CoteSenderSeeds> got = std::move(recv).Finish(sent->msg2);
  EXPECT_TRUE(got.ok()) << got.status();
  return Pair{std::move(*got), std::move(sent->seeds)};
}

// The COTe receiver's message (U, x̃, t̃) is what A sees; B's secret is
// x = β ‖ 128 random bits. A's strongest cheap guesser unmasks U_ℓ with the
// PRG output it can compute itself: Q_ℓ = PRG(s^{Δ_ℓ}_ℓ) ⊕ Δ_ℓ·U_ℓ, and
// U_ℓ ⊕ Q_ℓ is still x masked by the PRG of the key A does not have.
TEST(LeakageTest, CoteMessageRevealsNothingAboutTheReceiverChoices) {
  InsecureDeterministicRng rng(0x1eaca6e3);
  constexpr int kPairs = 2;
  constexpr int kRunsPerPair = 8;
  std::vector<Tally> t = {
      Tally("cote: x_k = U_l[k]"),                      // 0
      Tally("cote: x_k = (U_l xor Q_l)[k]"),            // 1
      Tally("cote: x_k = (U_l xor PRG(s_l))[k]"),       // 2
      Tally("cote: x_i = x~[i]  (i < 128)"),            // 3
      Tally("cote: x_i = t~_l[i] (i < 128)"),           // 4
      Tally("cote: x_i = (t~_l xor x~)[i]"),            // 5
      Tally("cote: x_{128+i} = x~[i] (second block)"),  // 6
  };
  for (int p = 0; p < kPairs; ++p) {
    const Pair pair = SetUpPair(rng);
    for (int run = 0; run < kRunsPerPair; ++run) {
      const CoteSession session{rng.Bytes<32>(), 1, 2};
      SecretBytes x(kXiPrimeBytes);
      rng.Fill(x.mutable_span());
      const CoteReceiverOutput out = CoteReceiverExtend(pair.b, session, x);
      ASSERT_EQ(out.msg.size(), kCoteMessageBytes);
      const ByteSpan msg = out.msg;
      const ByteSpan xs = x.secret();
      // One instance ℓ per run, so that the guesses of a run are independent.
      const uint32_t l =
          static_cast<uint32_t>((37 * (p * kRunsPerPair + run)) % kBaseOts);
      const ByteSpan u =
          msg.subspan(kSessionBytes + l * kXiPrimeBytes, kXiPrimeBytes);
      std::array<uint8_t, kXiPrimeBytes> prg{};
      cote_internal::ExpandSeed(session.sid_p, l,
                                pair.a.keys.secret().subspan(32 * l, 32),
                                prg.data());
      const uint64_t dl = GetBit(pair.a.delta.secret(), l);
      std::array<uint8_t, kXiPrimeBytes> q{};
      std::array<uint8_t, kXiPrimeBytes> u_xor_prg{};
      for (size_t i = 0; i < kXiPrimeBytes; ++i) {
        q[i] = static_cast<uint8_t>(prg[i] ^ (dl ? u[i] : 0));
        u_xor_prg[i] = static_cast<uint8_t>(u[i] ^ prg[i]);
      }
      for (size_t k = 0; k < kXiPrime; ++k) {
        const uint64_t xk = GetBit(xs, k);
        t[0].Guess(GetBit(u, k), xk);
        t[1].Guess(GetBit(u, k) ^ GetBit(q, k), xk);
        t[2].Guess(GetBit(u_xor_prg, k), xk);
      }
      const size_t x_tilde = kSessionBytes + kBaseOts * kXiPrimeBytes;
      const ByteSpan xt = msg.subspan(x_tilde, 16);
      const ByteSpan tt = msg.subspan(x_tilde + 16 + 16 * l, 16);
      for (size_t i = 0; i < 128; ++i) {
        t[3].Guess(GetBit(xt, i), GetBit(xs, i));
        t[4].Guess(GetBit(tt, i), GetBit(xs, i));
        t[5].Guess(GetBit(tt, i) ^ GetBit(xt, i), GetBit(xs, i));
        t[6].Guess(GetBit(xt, i), GetBit(xs, 128 + i));
      }
      // The run is honest: A accepts it.
      ASSERT_TRUE(CoteSenderExtend(pair.a, session, msg).ok());
    }
  }
  ExpectAllFair(t);
}

// The RVOLE sender's message (ã, η', μ) is what B sees; A's secrets are its
// inputs a_0, a_1, the mask η and Δ, and B's own choice β must not be
// reflected back either. Each input guesser reads one published scalar per
// run (a different row k each run) bit by bit.
TEST(LeakageTest, RvoleMessageRevealsNothingAboutTheSenderInputs) {
  InsecureDeterministicRng rng(0x1eaca6e4);
  constexpr int kPairs = 2;
  constexpr int kRunsPerPair = 8;
  std::vector<Tally> t = {
      Tally("rvole: a_0[b] = a~_k[0][b]"),              // 0
      Tally("rvole: a_1[b] = a~_k[1][b]"),              // 1
      Tally("rvole: a_0[b] = a~_k[2][b]"),              // 2
      Tally("rvole: a_0[b] = eta'[b]"),                 // 3
      Tally("rvole: a_1[b] = eta'[b]"),                 // 4
      Tally("rvole: Delta[b] = a~_k[0][b]"),            // 5
      Tally("rvole: beta_k = lsb(a~_k[0]), all k"),     // 6
      Tally("rvole: top bit of a~_k[0] (uniformity)"),  // 7
  };
  constexpr size_t kS = Scalar::kBytes;
  for (int p = 0; p < kPairs; ++p) {
    const Pair pair = SetUpPair(rng);
    for (int run = 0; run < kRunsPerPair; ++run) {
      const RvoleSession session{rng.Bytes<32>(), 1, 2};
      // B's randomness comes from its own seeded stream so that the test
      // can read β back: Start draws x = β ‖ 128 bits first. The χ check
      // below confirms that reading.
      const uint64_t b_seed = 1000 * p + run;
      InsecureDeterministicRng b_rng(b_seed);
      InsecureDeterministicRng b_copy(b_seed);
      const std::array<uint8_t, kXi / 8> beta = b_copy.Bytes<kXi / 8>();
      Bytes msg1;
      RvoleReceiver receiver =
          RvoleReceiver::Start(pair.b, session, b_rng, &msg1);
      const std::vector<Scalar> g = Gadget(RvoleSessionId(session));
      Scalar chi;
      for (size_t k = 0; k < kXi; ++k) {
        chi = GetBit(beta, k) ? chi + g[k] : chi;
      }
      ASSERT_EQ(chi, receiver.chi()) << "beta not read back correctly";
      const std::array<Scalar, kRvoleInputs> a = {Scalar::Random(rng),
                                                  Scalar::Random(rng)};
      absl::StatusOr<RvoleSenderOutput> sent =
          RvoleSenderRespond(pair.a, session, a, msg1, rng);
      ASSERT_TRUE(sent.ok()) << sent.status();
      const ByteSpan msg2 = sent->msg2;
      ASSERT_EQ(msg2.size(), kRvoleMsg2Bytes);
      const auto a_tilde = [&](size_t k, size_t i) {
        return msg2.subspan(kSessionBytes + (k * kOtWidth + i) * kS, kS);
      };
      const size_t k0 =
          (31 * static_cast<size_t>(p * kRunsPerPair + run)) % kXi;
      const ByteSpan eta =
          msg2.subspan(kSessionBytes + kXi * kOtWidth * kS, kS);
      const std::array<uint8_t, 32> a0 = a[0].ToBytes();
      const std::array<uint8_t, 32> a1 = a[1].ToBytes();
      for (size_t b = 0; b < 256; ++b) {
        t[0].Guess(GetBit(a_tilde(k0, 0), b), GetBit(a0, b));
        t[1].Guess(GetBit(a_tilde(k0, 1), b), GetBit(a1, b));
        t[2].Guess(GetBit(a_tilde(k0, 2), b), GetBit(a0, b));
        t[3].Guess(GetBit(eta, b), GetBit(a0, b));
        t[4].Guess(GetBit(eta, b), GetBit(a1, b));
        t[5].Guess(GetBit(a_tilde(k0, 0), b), GetBit(pair.a.delta.secret(), b));
      }
      for (size_t k = 0; k < kXi; ++k) {
        t[6].Guess(a_tilde(k, 0)[kS - 1] & 1, GetBit(beta, k));
        t[7].Count(a_tilde(k, 0)[0] >> 7);
      }
      // The run is honest end to end.
      ASSERT_TRUE(std::move(receiver).Finish(msg2).ok());
    }
  }
  ExpectAllFair(t);
}

}  // namespace
}  // namespace kagi::mpc
