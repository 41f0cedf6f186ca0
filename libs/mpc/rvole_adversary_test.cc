// File: libs/mpc/rvole_adversary_test.cc
//
// Malicious-party tests for the OT stack (PROTOCOL.md §3.2, §3.3, §3.10 and
// the "malicious-party tests" of §5): base OT, the COTe message B → A and the
// RVOLE reply A → B. Every negative test checks that the honest side refuses
// the message with an abort Status of the right class (B = blame for
// malformed or foreign-session input, C = ban for a failed COTe or μ check)
// naming exactly the corrupted party, and that no output is returned.
//
// The parties are A = 3 (base-OT receiver, COTe and RVOLE sender) and B = 7
// (base-OT sender, COTe and RVOLE receiver), so a culprit list that named
// the wrong party, or a hard-coded 1 or 2, would be caught.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/gf128.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/crypto/tags.h"
#include "libs/crypto/transcript.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/bit_matrix.h"
#include "libs/mpc/cote.h"
#include "libs/mpc/params.h"
#include "libs/mpc/rvole.h"

namespace kagi::mpc {
namespace {

using crypto::Gf128;
using crypto::Point;
using crypto::Scalar;

constexpr uint32_t kA = 3;  // COTe/RVOLE sender, base-OT receiver
constexpr uint32_t kB = 7;  // COTe/RVOLE receiver, base-OT sender

constexpr size_t kPointBytes = Point::kCompressedBytes;
constexpr size_t kScalarBytes = Scalar::kBytes;

// Layout of the COTe message (cote.h) and of RVOLE msg2 (rvole.h).
constexpr size_t kUOffset = kSessionBytes;
constexpr size_t kUBytes = kBaseOts * kXiPrimeBytes;
constexpr size_t kXTildeOffset = kUOffset + kUBytes;
constexpr size_t kTTildeOffset = kXTildeOffset + 16;
constexpr size_t kATildeOffset = kSessionBytes;
constexpr size_t kEtaOffset = kATildeOffset + kXi * kOtWidth * kScalarBytes;
constexpr size_t kMuOffset = kEtaOffset + kScalarBytes;

static_assert(kTTildeOffset + kBaseOts * 16 == kCoteMessageBytes,
              "COTe message layout");
static_assert(kMuOffset + 64 == kRvoleMsg2Bytes, "RVOLE msg2 layout");

// The group order n: the smallest non-canonical scalar encoding.
constexpr std::array<uint8_t, 32> kOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
    0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

// IsAbort checks that `result` carries no output and that its Status is an
// abort of class `want` blaming exactly `culprit`.
template <typename T>
::testing::AssertionResult IsAbort(const absl::StatusOr<T>& result,
                                   AbortClass want, uint32_t culprit) {
  if (result.ok()) {
    return ::testing::AssertionFailure()
           << "returned an output; expected an abort of class "
           << AbortClassName(want) << " blaming party " << culprit;
  }
  const absl::Status& status = result.status();
  const std::optional<AbortInfo> info = GetAbortInfo(status);
  if (!info.has_value()) {
    return ::testing::AssertionFailure() << "not an abort: " << status;
  }
  if (status.code() != absl::StatusCode::kAborted) {
    return ::testing::AssertionFailure()
           << "abort with code other than kAborted: " << status;
  }
  if (info->abort_class != want) {
    return ::testing::AssertionFailure()
           << "abort class " << AbortClassName(info->abort_class)
           << ", expected " << AbortClassName(want) << ": " << status;
  }
  if (info->culprits != std::vector<uint32_t>{culprit}) {
    ::testing::AssertionResult failure = ::testing::AssertionFailure();
    failure << "culprits {";
    for (uint32_t c : info->culprits) {
      failure << " " << c;
    }
    return failure << " }, expected { " << culprit << " }: " << status;
  }
  return ::testing::AssertionSuccess();
}

void FlipBit(Bytes& msg, size_t byte_offset, size_t bit) {
  msg.at(byte_offset) ^= static_cast<uint8_t>(1u << bit);
}

// FlipMatrixBit flips bit `col` (< ξ') of row U_ℓ of a COTe message.
void FlipUBit(Bytes& msg, size_t row, size_t col) {
  FlipBit(msg, kUOffset + row * kXiPrimeBytes + col / 8, col % 8);
}

void Overwrite(Bytes& msg, size_t offset, ByteSpan value) {
  ASSERT_LE(offset + value.size(), msg.size());
  std::copy(value.begin(), value.end(), msg.data() + offset);
}

Bytes Resized(const Bytes& msg, size_t size) {
  Bytes out = msg;
  out.resize(size, 0);
  return out;
}

// The three wrong lengths every decoder must refuse: one byte short, one
// byte long, empty.
std::vector<Bytes> WrongLengths(const Bytes& msg) {
  return {Resized(msg, msg.size() - 1), Resized(msg, msg.size() + 1), Bytes()};
}

ByteSpan Key(const SecretBytes& keys, size_t l) {
  return keys.secret().subspan(32 * l, 32);
}

bool SpanEq(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// ----------------------------------------------------------------------------
// Base OT

BaseOtSession OtSession(uint8_t sid_byte) {
  BaseOtSession s;
  s.sid.fill(sid_byte);
  s.cote_sender = kA;
  s.cote_receiver = kB;
  return s;
}

// A base OT run up to msg1 (A's state kept for Finish).
struct OtStart {
  std::optional<BaseOtReceiver> receiver;
  Bytes msg1;
};

OtStart StartOt(const BaseOtSession& s, Rng& rng) {
  OtStart out;
  out.receiver.emplace(BaseOtReceiver::Start(s, rng, &out.msg1));
  return out;
}

// An honest msg2 for `s`, from a fresh honest A.
Bytes HonestMsg2(const BaseOtSession& s, Rng& rng) {
  OtStart start = StartOt(s, rng);
  absl::StatusOr<BaseOtSenderResult> sent =
      BaseOtSenderRespond(s, start.msg1, rng);
  EXPECT_TRUE(sent.ok()) << sent.status();
  return sent.ok() ? sent->msg2 : Bytes();
}

// H2C(sid_ot, ℓ, j, other) as PROTOCOL.md §3.2 defines it, rebuilt here so
// a test can aim a point at the identity.
Point HashToCurve(const std::array<uint8_t, 32>& sid_ot, uint32_t index,
                  uint32_t j, const Point& other) {
  for (uint32_t ctr = 0;; ++ctr) {
    const crypto::Digest32 h = crypto::Transcript(crypto::Tag::kHashToCurve)
                                   .Add(sid_ot)
                                   .AddU32(index)
                                   .AddU32(j)
                                   .AddPoint(other)
                                   .AddU32(ctr)
                                   .H();
    std::array<uint8_t, kPointBytes> candidate{};
    candidate[0] = 0x02;
    std::copy(h.begin(), h.end(), candidate.begin() + 1);
    absl::StatusOr<Point> p = Point::FromCompressed(candidate);
    if (p.ok()) {
      return *p;
    }
  }
}

// An x-coordinate (< p) with no point on secp256k1: both 0x02 ‖ x and
// 0x03 ‖ x fail to parse.
std::array<uint8_t, kPointBytes> OffCurveEncoding() {
  std::array<uint8_t, kPointBytes> enc{};
  for (uint8_t x = 1; x < 255; ++x) {
    enc[0] = 0x02;
    enc[kPointBytes - 1] = x;
    std::array<uint8_t, kPointBytes> odd = enc;
    odd[0] = 0x03;
    if (!Point::FromCompressed(enc).ok() && !Point::FromCompressed(odd).ok()) {
      return enc;
    }
  }
  ADD_FAILURE() << "no off-curve x below 255";
  return enc;
}

// Offset of point `slot` (0 or 1) of instance ℓ in a base-OT message.
size_t PointOffset(size_t l, size_t slot) {
  return kSessionBytes + (2 * l + slot) * kPointBytes;
}

TEST(BaseOtAdversaryTest, ReceiverKeyEqualsSenderKeyAtChoiceBitForAll256) {
  InsecureDeterministicRng rng(101);
  const BaseOtSession s = OtSession(0x11);
  OtStart start = StartOt(s, rng);
  ASSERT_EQ(start.msg1.size(), kBaseOtMessageBytes);
  absl::StatusOr<BaseOtSenderResult> sent =
      BaseOtSenderRespond(s, start.msg1, rng);
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_EQ(sent->msg2.size(), kBaseOtMessageBytes);
  absl::StatusOr<CoteSenderSeeds> got =
      std::move(*start.receiver).Finish(sent->msg2);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->delta.size(), kBaseOtBytes);
  ASSERT_EQ(got->keys.size(), kBaseOts * 32);
  size_t ones = 0;
  for (size_t l = 0; l < kBaseOts; ++l) {
    const uint64_t c = GetBit(got->delta.secret(), l);
    ones += c;
    const SecretBytes& chosen = c ? sent->seeds.keys1 : sent->seeds.keys0;
    const SecretBytes& other = c ? sent->seeds.keys0 : sent->seeds.keys1;
    EXPECT_TRUE(SpanEq(Key(got->keys, l), Key(chosen, l)))
        << "instance " << l << " choice " << c;
    EXPECT_FALSE(SpanEq(Key(got->keys, l), Key(other, l)))
        << "instance " << l << " choice " << c;
  }
  // Both branches of the choice were exercised.
  EXPECT_GT(ones, 0u);
  EXPECT_LT(ones, kBaseOts);
}

TEST(BaseOtAdversaryTest, FixedChoiceBitsAreTheOnesUsed) {
  InsecureDeterministicRng rng(102);
  const BaseOtSession s = OtSession(0x12);
  for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xff}, uint8_t{0x5a}}) {
    SecretBytes delta(kBaseOtBytes);
    std::fill(delta.mutable_span().begin(), delta.mutable_span().end(), fill);
    Bytes msg1;
    BaseOtReceiver receiver = BaseOtReceiver::StartWithChoiceBitsForTesting(
        s, delta.Clone(), rng, &msg1);
    absl::StatusOr<BaseOtSenderResult> sent = BaseOtSenderRespond(s, msg1, rng);
    ASSERT_TRUE(sent.ok()) << sent.status();
    absl::StatusOr<CoteSenderSeeds> got =
        std::move(receiver).Finish(sent->msg2);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->delta, delta);
    for (size_t l = 0; l < kBaseOts; ++l) {
      const SecretBytes& chosen =
          GetBit(delta.secret(), l) ? sent->seeds.keys1 : sent->seeds.keys0;
      EXPECT_TRUE(SpanEq(Key(got->keys, l), Key(chosen, l)))
          << "fill " << int{fill} << " instance " << l;
    }
  }
}

TEST(BaseOtAdversaryTest, Msg1WithWrongLengthIsBlamedOnReceiver) {
  InsecureDeterministicRng rng(103);
  const BaseOtSession s = OtSession(0x13);
  const OtStart start = StartOt(s, rng);
  for (const Bytes& bad : WrongLengths(start.msg1)) {
    EXPECT_TRUE(
        IsAbort(BaseOtSenderRespond(s, bad, rng), AbortClass::kBlame, kA))
        << "length " << bad.size();
  }
  // The honest message itself is accepted.
  EXPECT_TRUE(BaseOtSenderRespond(s, start.msg1, rng).ok());
}

TEST(BaseOtAdversaryTest, Msg2WithWrongLengthIsBlamedOnSender) {
  InsecureDeterministicRng rng(104);
  const BaseOtSession s = OtSession(0x14);
  const Bytes msg2 = HonestMsg2(s, rng);
  for (const Bytes& bad : WrongLengths(msg2)) {
    OtStart start = StartOt(s, rng);
    EXPECT_TRUE(
        IsAbort(std::move(*start.receiver).Finish(bad), AbortClass::kBlame, kB))
        << "length " << bad.size();
  }
}

TEST(BaseOtAdversaryTest, IdentityPointInMsg1IsBlamedOnReceiver) {
  InsecureDeterministicRng rng(105);
  const BaseOtSession s = OtSession(0x15);
  const OtStart start = StartOt(s, rng);
  const std::array<uint8_t, kPointBytes> identity{};  // 33 zero bytes
  for (auto [l, slot] : {std::pair<size_t, size_t>{0, 0}, {0, 1}, {255, 1}}) {
    Bytes bad = start.msg1;
    Overwrite(bad, PointOffset(l, slot), identity);
    EXPECT_TRUE(
        IsAbort(BaseOtSenderRespond(s, bad, rng), AbortClass::kBlame, kA))
        << "instance " << l << " slot " << slot;
  }
}

TEST(BaseOtAdversaryTest, IdentityPointInMsg2IsBlamedOnSender) {
  InsecureDeterministicRng rng(106);
  const BaseOtSession s = OtSession(0x16);
  const std::array<uint8_t, kPointBytes> identity{};
  for (auto [l, slot] : {std::pair<size_t, size_t>{0, 0}, {131, 1}}) {
    OtStart start = StartOt(s, rng);
    absl::StatusOr<BaseOtSenderResult> sent =
        BaseOtSenderRespond(s, start.msg1, rng);
    ASSERT_TRUE(sent.ok()) << sent.status();
    Bytes bad = sent->msg2;
    Overwrite(bad, PointOffset(l, slot), identity);
    EXPECT_TRUE(
        IsAbort(std::move(*start.receiver).Finish(bad), AbortClass::kBlame, kB))
        << "instance " << l << " slot " << slot;
  }
}

TEST(BaseOtAdversaryTest, OffCurvePointInMsg1IsBlamedOnReceiver) {
  InsecureDeterministicRng rng(107);
  const BaseOtSession s = OtSession(0x17);
  const OtStart start = StartOt(s, rng);
  const auto off_curve = OffCurveEncoding();
  for (auto [l, slot] : {std::pair<size_t, size_t>{3, 0}, {200, 1}}) {
    Bytes bad = start.msg1;
    Overwrite(bad, PointOffset(l, slot), off_curve);
    EXPECT_TRUE(
        IsAbort(BaseOtSenderRespond(s, bad, rng), AbortClass::kBlame, kA))
        << "instance " << l << " slot " << slot;
  }
  // A valid x-coordinate under a prefix that is not 0x02/0x03.
  Bytes bad_prefix = start.msg1;
  bad_prefix.at(PointOffset(9, 0)) = 0x05;
  EXPECT_TRUE(
      IsAbort(BaseOtSenderRespond(s, bad_prefix, rng), AbortClass::kBlame, kA));
}

TEST(BaseOtAdversaryTest, OffCurvePointInMsg2IsBlamedOnSender) {
  InsecureDeterministicRng rng(108);
  const BaseOtSession s = OtSession(0x18);
  OtStart start = StartOt(s, rng);
  absl::StatusOr<BaseOtSenderResult> sent =
      BaseOtSenderRespond(s, start.msg1, rng);
  ASSERT_TRUE(sent.ok()) << sent.status();
  Bytes bad = sent->msg2;
  Overwrite(bad, PointOffset(77, 1), OffCurveEncoding());
  EXPECT_TRUE(
      IsAbort(std::move(*start.receiver).Finish(bad), AbortClass::kBlame, kB));
}

TEST(BaseOtAdversaryTest, Msg1WhoseMIsInfinityIsBlamedOnReceiver) {
  // A sets r_j = −H2C(sid_ot, ℓ, j, r_{1−j}), a valid point that makes
  // B's M_j the point at infinity (PROTOCOL.md §3.2: M_j ≠ ∞).
  InsecureDeterministicRng rng(109);
  const BaseOtSession s = OtSession(0x19);
  const OtStart start = StartOt(s, rng);
  const std::array<uint8_t, 32> sid_ot = BaseOtSessionId(s);
  for (auto [l, j] : {std::pair<uint32_t, uint32_t>{5, 0}, {250, 1}}) {
    absl::StatusOr<Point> other = Point::FromCompressed(
        ByteSpan(start.msg1).subspan(PointOffset(l, 1 - j), kPointBytes));
    ASSERT_TRUE(other.ok()) << other.status();
    const Point r_j = HashToCurve(sid_ot, l, j, *other).Negate();
    Bytes bad = start.msg1;
    Overwrite(bad, PointOffset(l, j), r_j.ToCompressed());
    EXPECT_TRUE(
        IsAbort(BaseOtSenderRespond(s, bad, rng), AbortClass::kBlame, kA))
        << "instance " << l << " j " << j;
  }
}

TEST(BaseOtAdversaryTest, Msg1FromAnotherSessionIsBlamedOnReceiver) {
  InsecureDeterministicRng rng(110);
  const BaseOtSession s = OtSession(0x1a);
  const BaseOtSession other = OtSession(0x2a);
  const OtStart replayed = StartOt(other, rng);
  // Well formed for its own session...
  ASSERT_TRUE(BaseOtSenderRespond(other, replayed.msg1, rng).ok());
  // ...refused in this one.
  EXPECT_TRUE(IsAbort(BaseOtSenderRespond(s, replayed.msg1, rng),
                      AbortClass::kBlame, kA));
}

TEST(BaseOtAdversaryTest, Msg2FromAnotherSessionIsBlamedOnSender) {
  InsecureDeterministicRng rng(111);
  const BaseOtSession s = OtSession(0x1b);
  const BaseOtSession other = OtSession(0x2b);
  const Bytes replayed = HonestMsg2(other, rng);
  OtStart start = StartOt(s, rng);
  EXPECT_TRUE(IsAbort(std::move(*start.receiver).Finish(replayed),
                      AbortClass::kBlame, kB));
}

TEST(BaseOtAdversaryTest, Msg1ForReversedPairIsBlamedOnReceiver) {
  InsecureDeterministicRng rng(112);
  const BaseOtSession s = OtSession(0x1c);
  BaseOtSession reversed = s;
  std::swap(reversed.cote_sender, reversed.cote_receiver);
  const OtStart start = StartOt(reversed, rng);
  ASSERT_TRUE(BaseOtSenderRespond(reversed, start.msg1, rng).ok());
  EXPECT_TRUE(
      IsAbort(BaseOtSenderRespond(s, start.msg1, rng), AbortClass::kBlame, kA));
}

// ----------------------------------------------------------------------------
// COTe / RVOLE msg1 (B → A)

struct Pair {
  CoteSenderSeeds a;
  CoteReceiverSeeds b;
};

// SetUpPair runs an honest base OT for (A, B); with `delta` it fixes A's
// choice bits.
Pair SetUpPair(Rng& rng, std::optional<SecretBytes> delta = std::nullopt) {
  const BaseOtSession s = OtSession(0x33);
  Bytes msg1;
  BaseOtReceiver receiver = delta.has_value()
                                ? BaseOtReceiver::StartWithChoiceBitsForTesting(
                                      s, std::move(*delta), rng, &msg1)
                                : BaseOtReceiver::Start(s, rng, &msg1);
  absl::StatusOr<BaseOtSenderResult> sent = BaseOtSenderRespond(s, msg1, rng);
  EXPECT_TRUE(sent.ok()) << sent.status();
  absl::StatusOr<CoteSenderSeeds> got = std::move(receiver).Finish(sent->msg2);
  EXPECT_TRUE(got.ok()) << got.status();
  return Pair{std::move(*got), std::move(sent->seeds)};
}

// A random Δ with the bits at `positions` set to `bit`.
SecretBytes DeltaWithBits(Rng& rng, const std::vector<size_t>& positions,
                          uint64_t bit) {
  SecretBytes delta(kBaseOtBytes);
  rng.Fill(delta.mutable_span());
  for (size_t l : positions) {
    const uint8_t mask = static_cast<uint8_t>(1u << (l % 8));
    uint8_t& byte = delta.mutable_data()[l / 8];
    byte = static_cast<uint8_t>(bit ? (byte | mask) : (byte & ~mask));
  }
  return delta;
}

RvoleSession RSession(uint8_t sid_byte) {
  RvoleSession s;
  s.sid.fill(sid_byte);
  s.sender = kA;
  s.receiver = kB;
  return s;
}

std::array<Scalar, kRvoleInputs> RandomInputs(Rng& rng) {
  return {Scalar::Random(rng), Scalar::Random(rng)};
}

// B's honest msg1 for `s` (B's state discarded).
Bytes HonestRvoleMsg1(const Pair& pair, const RvoleSession& s, Rng& rng) {
  Bytes msg1;
  RvoleReceiver::Start(pair.b, s, rng, &msg1);
  return msg1;
}

// BuildCoteMessage computes B's COTe message from its seeds and x exactly as
// cote.h specifies, except that bit `flip->second` of U_{flip->first} is
// flipped *before* χ, x̃ and t̃ are derived: the message of a malicious
// receiver that stays internally consistent.
Bytes BuildCoteMessage(const CoteReceiverSeeds& seeds,
                       const std::array<uint8_t, 32>& sid_p, ByteSpan x,
                       std::optional<std::pair<size_t, size_t>> flip) {
  Bytes t(kUBytes);
  Bytes msg(kCoteMessageBytes);
  std::copy(sid_p.begin(), sid_p.end(), msg.begin());
  uint8_t* u = msg.data() + kUOffset;
  std::array<uint8_t, kXiPrimeBytes> t1{};
  for (uint32_t l = 0; l < kBaseOts; ++l) {
    uint8_t* tl = t.data() + l * kXiPrimeBytes;
    cote_internal::ExpandSeed(sid_p, l, Key(seeds.keys0, l), tl);
    cote_internal::ExpandSeed(sid_p, l, Key(seeds.keys1, l), t1.data());
    for (size_t i = 0; i < kXiPrimeBytes; ++i) {
      u[l * kXiPrimeBytes + i] = static_cast<uint8_t>(tl[i] ^ t1[i] ^ x[i]);
    }
  }
  if (flip.has_value()) {
    FlipUBit(msg, flip->first, flip->second);
  }
  const std::array<Gf128, 4> chi =
      cote_internal::Chi(sid_p, ByteSpan(u, kUBytes));
  cote_internal::Combine(chi, x).ToBytes(msg.data() + kXTildeOffset);
  for (size_t l = 0; l < kBaseOts; ++l) {
    cote_internal::Combine(
        chi, ByteSpan(t).subspan(l * kXiPrimeBytes, kXiPrimeBytes))
        .ToBytes(msg.data() + kTTildeOffset + 16 * l);
  }
  return msg;
}

// The (row ℓ, column) positions of U the tests flip: columns in the β part
// and in the 128 check columns, first and last rows.
constexpr std::array<std::pair<size_t, size_t>, 5> kFlipPositions = {
    {{0, 0}, {17, 300}, {200, 511}, {42, 512}, {255, 639}}};

std::vector<size_t> FlipRows() {
  std::vector<size_t> rows;
  rows.reserve(kFlipPositions.size());
  for (const auto& [row, col] : kFlipPositions) {
    rows.push_back(row);
  }
  return rows;
}

TEST(CoteAdversaryTest, UFlippedInTransitIsBannedForBothValuesOfDeltaBit) {
  // χ is derived from U, so a U changed after x̃ and t̃ were computed fails
  // the check whatever Δ_ℓ is: the abort reveals nothing about Δ.
  InsecureDeterministicRng rng(201);
  const RvoleSession s = RSession(0x41);
  for (uint64_t bit : {uint64_t{0}, uint64_t{1}}) {
    const Pair pair = SetUpPair(rng, DeltaWithBits(rng, FlipRows(), bit));
    for (const auto& [row, col] : kFlipPositions) {
      ASSERT_EQ(GetBit(pair.a.delta.secret(), row), bit);
      const Bytes msg1 = HonestRvoleMsg1(pair, s, rng);
      const auto a = RandomInputs(rng);
      // Control: the untouched message passes.
      ASSERT_TRUE(RvoleSenderRespond(pair.a, s, a, msg1, rng).ok());
      Bytes bad = msg1;
      FlipUBit(bad, row, col);
      EXPECT_TRUE(IsAbort(RvoleSenderRespond(pair.a, s, a, bad, rng),
                          AbortClass::kBan, kB))
          << "row " << row << " col " << col << " delta bit " << bit;
    }
  }
}

TEST(CoteAdversaryTest, RebuiltHonestMessageMatchesLibrary) {
  // Guards the malicious-receiver helper below: without a flip it must
  // produce exactly CoteReceiverExtend's message.
  InsecureDeterministicRng rng(202);
  const Pair pair = SetUpPair(rng);
  const CoteSession cs{rng.Bytes<32>(), kA, kB};
  SecretBytes x(kXiPrimeBytes);
  rng.Fill(x.mutable_span());
  const CoteReceiverOutput honest = CoteReceiverExtend(pair.b, cs, x);
  EXPECT_EQ(BuildCoteMessage(pair.b, cs.sid_p, x.secret(), std::nullopt),
            honest.msg);
  EXPECT_TRUE(CoteSenderExtend(pair.a, cs, honest.msg).ok());
}

TEST(CoteAdversaryTest, ConsistentUFlipFailsExactlyWhenDeltaBitIsOne) {
  // The inherent KOS selective failure: a receiver that flips bit e of U_ℓ
  // and recomputes χ, x̃ and t̃ for its modified U passes iff Δ_ℓ = 0
  // (then Q_ℓ = T_ℓ ignores U_ℓ), and fails iff Δ_ℓ = 1 (then q̃_ℓ picks up
  // Combine(χ, e) ≠ 0). Each abort thus tells B one bit of Δ, which is why
  // a failure bans B rather than merely blaming it.
  InsecureDeterministicRng rng(203);
  const CoteSession cs{rng.Bytes<32>(), kA, kB};
  for (uint64_t bit : {uint64_t{0}, uint64_t{1}}) {
    const Pair pair = SetUpPair(rng, DeltaWithBits(rng, FlipRows(), bit));
    for (const auto& [row, col] : kFlipPositions) {
      SecretBytes x(kXiPrimeBytes);
      rng.Fill(x.mutable_span());
      const Bytes msg = BuildCoteMessage(pair.b, cs.sid_p, x.secret(),
                                         std::make_pair(row, col));
      const absl::StatusOr<SecretBytes> q = CoteSenderExtend(pair.a, cs, msg);
      if (bit == 0) {
        EXPECT_TRUE(q.ok()) << q.status() << " row " << row << " col " << col;
      } else {
        EXPECT_TRUE(IsAbort(q, AbortClass::kBan, kB))
            << "row " << row << " col " << col;
      }
    }
  }
}

TEST(CoteAdversaryTest, WrongXTildeIsBanned) {
  InsecureDeterministicRng rng(204);
  const RvoleSession s = RSession(0x42);
  const Pair pair = SetUpPair(rng);
  // x̃ enters the check only through rows with Δ_ℓ = 1; a random Δ has some.
  ASSERT_FALSE(std::all_of(pair.a.delta.secret().begin(),
                           pair.a.delta.secret().end(),
                           [](uint8_t v) { return v == 0; }));
  for (size_t bit : {size_t{0}, size_t{127}}) {
    Bytes bad = HonestRvoleMsg1(pair, s, rng);
    FlipBit(bad, kXTildeOffset + bit / 8, bit % 8);
    EXPECT_TRUE(
        IsAbort(RvoleSenderRespond(pair.a, s, RandomInputs(rng), bad, rng),
                AbortClass::kBan, kB))
        << "bit " << bit;
  }
}

TEST(CoteAdversaryTest, WrongTTildeRowIsBannedForBothValuesOfDeltaBit) {
  InsecureDeterministicRng rng(205);
  const RvoleSession s = RSession(0x43);
  const std::vector<size_t> rows = {0, 99, 255};
  for (uint64_t bit : {uint64_t{0}, uint64_t{1}}) {
    const Pair pair = SetUpPair(rng, DeltaWithBits(rng, rows, bit));
    for (size_t row : rows) {
      Bytes bad = HonestRvoleMsg1(pair, s, rng);
      FlipBit(bad, kTTildeOffset + 16 * row + 5, 3);
      EXPECT_TRUE(
          IsAbort(RvoleSenderRespond(pair.a, s, RandomInputs(rng), bad, rng),
                  AbortClass::kBan, kB))
          << "row " << row << " delta bit " << bit;
    }
  }
}

TEST(CoteAdversaryTest, Msg1WithWrongLengthIsBlamedOnReceiver) {
  InsecureDeterministicRng rng(206);
  const RvoleSession s = RSession(0x44);
  const Pair pair = SetUpPair(rng);
  const Bytes msg1 = HonestRvoleMsg1(pair, s, rng);
  ASSERT_EQ(msg1.size(), kRvoleMsg1Bytes);
  for (const Bytes& bad : WrongLengths(msg1)) {
    EXPECT_TRUE(
        IsAbort(RvoleSenderRespond(pair.a, s, RandomInputs(rng), bad, rng),
                AbortClass::kBlame, kB))
        << "length " << bad.size();
    // The COTe layer on its own refuses it the same way.
    EXPECT_TRUE(IsAbort(
        CoteSenderExtend(pair.a, CoteSession{RvoleSessionId(s), kA, kB}, bad),
        AbortClass::kBlame, kB))
        << "length " << bad.size();
  }
}

TEST(CoteAdversaryTest, Msg1FromAnotherSessionIsBlamedOnReceiver) {
  InsecureDeterministicRng rng(207);
  const Pair pair = SetUpPair(rng);
  const RvoleSession s = RSession(0x45);
  const RvoleSession other = RSession(0x46);
  const Bytes replayed = HonestRvoleMsg1(pair, other, rng);
  ASSERT_TRUE(
      RvoleSenderRespond(pair.a, other, RandomInputs(rng), replayed, rng).ok());
  EXPECT_TRUE(
      IsAbort(RvoleSenderRespond(pair.a, s, RandomInputs(rng), replayed, rng),
              AbortClass::kBlame, kB));
  // The same message for the reversed pair (same sid) is refused too.
  RvoleSession reversed = s;
  std::swap(reversed.sender, reversed.receiver);
  const Bytes swapped = HonestRvoleMsg1(pair, reversed, rng);
  EXPECT_TRUE(
      IsAbort(RvoleSenderRespond(pair.a, s, RandomInputs(rng), swapped, rng),
              AbortClass::kBlame, kB));
}

// ----------------------------------------------------------------------------
// RVOLE msg2 (A → B)

// An honest run up to msg2, with B's state kept for Finish.
struct Exchange {
  std::optional<RvoleReceiver> receiver;
  std::array<Scalar, kRvoleInputs> a;
  RvoleSenderOutput sent;
};

Exchange RunToMsg2(const Pair& pair, const RvoleSession& s, Rng& rng) {
  Exchange ex;
  Bytes msg1;
  ex.receiver.emplace(RvoleReceiver::Start(pair.b, s, rng, &msg1));
  ex.a = RandomInputs(rng);
  absl::StatusOr<RvoleSenderOutput> sent =
      RvoleSenderRespond(pair.a, s, ex.a, msg1, rng);
  EXPECT_TRUE(sent.ok()) << sent.status();
  if (sent.ok()) {
    ex.sent = *std::move(sent);
  }
  return ex;
}

size_t ATildeOffset(size_t k, size_t i) {
  return kATildeOffset + (k * kOtWidth + i) * kScalarBytes;
}

// The scalar at `offset` of `msg` plus one, encoded (canonical, different).
std::array<uint8_t, 32> PlusOne(const Bytes& msg, size_t offset) {
  absl::StatusOr<Scalar> v =
      Scalar::FromCanonicalBytes(ByteSpan(msg).subspan(offset, kScalarBytes));
  EXPECT_TRUE(v.ok()) << v.status();
  return (v.value_or(Scalar()) + Scalar::One()).ToBytes();
}

TEST(RvoleAdversaryTest, HonestRunWithPartiesThreeAndSevenSucceeds) {
  InsecureDeterministicRng rng(301);
  const Pair pair = SetUpPair(rng);
  Exchange ex = RunToMsg2(pair, RSession(0x50), rng);
  const Scalar chi = ex.receiver->chi();
  absl::StatusOr<std::array<Scalar, kRvoleInputs>> d =
      std::move(*ex.receiver).Finish(ex.sent.msg2);
  ASSERT_TRUE(d.ok()) << d.status();
  for (size_t i = 0; i < kRvoleInputs; ++i) {
    EXPECT_EQ(ex.sent.c[i] + (*d)[i], ex.a[i] * chi) << "i=" << i;
  }
}

TEST(RvoleAdversaryTest, WrongMuIsBanned) {
  InsecureDeterministicRng rng(302);
  const Pair pair = SetUpPair(rng);
  for (size_t byte : {size_t{0}, size_t{63}}) {
    Exchange ex = RunToMsg2(pair, RSession(0x51), rng);
    Bytes bad = ex.sent.msg2;
    FlipBit(bad, kMuOffset + byte, 6);
    EXPECT_TRUE(
        IsAbort(std::move(*ex.receiver).Finish(bad), AbortClass::kBan, kA))
        << "byte " << byte;
  }
}

TEST(RvoleAdversaryTest, TamperedATildeRowIsBanned) {
  // θ hashes all of ã, so even a change in a row with β_k = 0 (which d̄_k
  // ignores) makes μ fail.
  InsecureDeterministicRng rng(303);
  const Pair pair = SetUpPair(rng);
  for (auto [k, i] :
       {std::pair<size_t, size_t>{0, 0}, {100, 1}, {511, 2}, {256, 0}}) {
    Exchange ex = RunToMsg2(pair, RSession(0x52), rng);
    Bytes bad = ex.sent.msg2;
    Overwrite(bad, ATildeOffset(k, i), PlusOne(bad, ATildeOffset(k, i)));
    EXPECT_TRUE(
        IsAbort(std::move(*ex.receiver).Finish(bad), AbortClass::kBan, kA))
        << "row " << k << " column " << i;
  }
}

TEST(RvoleAdversaryTest, NonCanonicalATildeIsBlamed) {
  InsecureDeterministicRng rng(304);
  const Pair pair = SetUpPair(rng);
  std::array<uint8_t, 32> all_ones{};
  all_ones.fill(0xff);
  for (const auto& value : {all_ones, kOrder}) {
    for (auto [k, i] : {std::pair<size_t, size_t>{7, 1}, {511, 2}}) {
      Exchange ex = RunToMsg2(pair, RSession(0x53), rng);
      Bytes bad = ex.sent.msg2;
      Overwrite(bad, ATildeOffset(k, i), value);
      EXPECT_TRUE(
          IsAbort(std::move(*ex.receiver).Finish(bad), AbortClass::kBlame, kA))
          << "row " << k << " column " << i << " value " << HexEncode(value);
    }
  }
}

TEST(RvoleAdversaryTest, NonCanonicalEtaPrimeIsBlamed) {
  InsecureDeterministicRng rng(305);
  const Pair pair = SetUpPair(rng);
  std::array<uint8_t, 32> all_ones{};
  all_ones.fill(0xff);
  for (const auto& value : {all_ones, kOrder}) {
    Exchange ex = RunToMsg2(pair, RSession(0x54), rng);
    Bytes bad = ex.sent.msg2;
    Overwrite(bad, kEtaOffset, value);
    EXPECT_TRUE(
        IsAbort(std::move(*ex.receiver).Finish(bad), AbortClass::kBlame, kA))
        << "value " << HexEncode(value);
  }
}

TEST(RvoleAdversaryTest, WrongEtaPrimeIsBanned) {
  InsecureDeterministicRng rng(306);
  const Pair pair = SetUpPair(rng);
  Exchange ex = RunToMsg2(pair, RSession(0x55), rng);
  Bytes bad = ex.sent.msg2;
  Overwrite(bad, kEtaOffset, PlusOne(bad, kEtaOffset));
  EXPECT_TRUE(
      IsAbort(std::move(*ex.receiver).Finish(bad), AbortClass::kBan, kA));
}

TEST(RvoleAdversaryTest, Msg2WithWrongLengthIsBlamed) {
  InsecureDeterministicRng rng(307);
  const Pair pair = SetUpPair(rng);
  const Exchange first = RunToMsg2(pair, RSession(0x56), rng);
  ASSERT_EQ(first.sent.msg2.size(), kRvoleMsg2Bytes);
  for (const Bytes& bad : WrongLengths(first.sent.msg2)) {
    Exchange ex = RunToMsg2(pair, RSession(0x56), rng);
    EXPECT_TRUE(
        IsAbort(std::move(*ex.receiver).Finish(bad), AbortClass::kBlame, kA))
        << "length " << bad.size();
  }
}

TEST(RvoleAdversaryTest, Msg2FromAnotherSessionIsBlamed) {
  InsecureDeterministicRng rng(308);
  const Pair pair = SetUpPair(rng);
  Exchange one = RunToMsg2(pair, RSession(0x57), rng);
  Exchange two = RunToMsg2(pair, RSession(0x58), rng);
  EXPECT_TRUE(IsAbort(std::move(*one.receiver).Finish(two.sent.msg2),
                      AbortClass::kBlame, kA));
  EXPECT_TRUE(IsAbort(std::move(*two.receiver).Finish(one.sent.msg2),
                      AbortClass::kBlame, kA));
}

// ----------------------------------------------------------------------------
// COTe output rows

TEST(CoteRowsTest, SenderRowEqualsReceiverRowXorBetaTimesDelta) {
  InsecureDeterministicRng rng(401);
  const Pair pair = SetUpPair(rng);
  const ByteSpan delta = pair.a.delta.secret();
  const CoteSession cs{rng.Bytes<32>(), kA, kB};
  for (int pattern = 0; pattern < 3; ++pattern) {
    SecretBytes x(kXiPrimeBytes);
    if (pattern == 0) {
      rng.Fill(x.mutable_span());
    } else if (pattern == 2) {
      std::fill(x.mutable_span().begin(), x.mutable_span().end(), 0xff);
    }
    const CoteReceiverOutput out = CoteReceiverExtend(pair.b, cs, x);
    ASSERT_EQ(out.msg.size(), kCoteMessageBytes);
    ASSERT_EQ(out.t_rows.size(), kXi * kBaseOtBytes);
    absl::StatusOr<SecretBytes> q = CoteSenderExtend(pair.a, cs, out.msg);
    ASSERT_TRUE(q.ok()) << q.status();
    ASSERT_EQ(q->size(), kXi * kBaseOtBytes);
    for (size_t k = 0; k < kXi; ++k) {
      const uint64_t beta = GetBit(x.secret(), k);
      const ByteSpan t = out.t_rows.secret().subspan(32 * k, 32);
      const ByteSpan qk = q->secret().subspan(32 * k, 32);
      Bytes want(32);
      for (size_t b = 0; b < 32; ++b) {
        want[b] = static_cast<uint8_t>(t[b] ^ (beta ? delta[b] : 0));
      }
      EXPECT_TRUE(SpanEq(qk, want))
          << "row " << k << " beta " << beta << " pattern " << pattern;
    }
  }
}

}  // namespace
}  // namespace kagi::mpc
