#include "libs/mpc/base_ot.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/base/ctime.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/transcript.h"
#include "libs/mpc/bit_matrix.h"
#include "libs/mpc/internal/pair_session.h"

namespace kagi::mpc {
namespace {

using crypto::Point;
using crypto::Scalar;
using crypto::Tag;
using crypto::Transcript;

constexpr size_t kPointBytes = Point::kCompressedBytes;
using PointPairs = std::vector<std::array<Point, 2>>;

// H2C(sid_ot, ℓ, j, other): try-and-increment over 0x02 ‖ H("h2c", ..., ctr).
// The inputs are public, so the variable number of tries leaks nothing.
Point HashToCurve(const std::array<uint8_t, 32>& sid_ot, uint32_t index,
                  uint32_t j, const Point& other) {
  for (uint32_t ctr = 0;; ++ctr) {
    const crypto::Digest32 h = Transcript(Tag::kHashToCurve)
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

// RandomPoint samples a point uniformly over the whole group: a uniform x
// until 0x02/0x03 ‖ x is on the curve, with the prefix (the y parity) drawn
// from the rng as well. Every valid x has exactly two points, one of each
// parity (y ≠ 0 on secp256k1), so the result is uniform over all points.
//
// The parity MUST be random. P is published as r_{1−c}, next to
// r_c = a·G − H2C(…), whose parity is a fair coin. With a fixed parity for P
// (it used to be always 0x02) the base-OT sender learns c whenever r_c has the
// other parity: about half of Δ, passively (libs/mpc/leakage_test.cc;
// docs/protocol-notes.md). Every point published here must be uniform and
// independent of the choice bit.
//
// The rejected candidates are discarded, so the number of tries reveals
// nothing about the point that is kept (which is published anyway).
Point RandomPoint(Rng& rng) {
  for (;;) {
    // 33 bytes per try: the low bit of the first picks the parity, the
    // other 32 are x.
    std::array<uint8_t, kPointBytes> candidate{};
    rng.Fill(absl::MakeSpan(candidate));
    candidate[0] = static_cast<uint8_t>(0x02 | (candidate[0] & 1));
    // Public by design: the point kept is published as r_{1−c}, and the
    // rejected candidates are discarded.
    CtDeclassifyObject(candidate);
    absl::StatusOr<Point> p = Point::FromCompressed(candidate);
    if (p.ok()) {
      return *p;
    }
  }
}

// s^j_ℓ = H("baseot-key", sid_ot, ℓ, j, product), product given compressed.
void DeriveKey(const std::array<uint8_t, 32>& sid_ot, uint32_t index,
               uint64_t j, const SecretBytes& product, uint8_t* out) {
  const uint8_t jb[1] = {static_cast<uint8_t>(j)};
  const crypto::Digest32 k = Transcript(Tag::kBaseOtKey)
                                 .Add(sid_ot)
                                 .AddU32(index)
                                 .Add(ByteSpan(jb, 1))
                                 .Add(product.secret())
                                 .H();
  std::copy(k.begin(), k.end(), out);
}

// SelectBytes sets out = if_one when bit == 1 and if_zero when bit == 0, in
// constant time (all three of the same length).
void SelectBytes(uint64_t bit, ByteSpan if_one, ByteSpan if_zero,
                 absl::Span<uint8_t> out) {
  KAGI_CHECK(if_one.size() == out.size() && if_zero.size() == out.size());
  const uint8_t mask = static_cast<uint8_t>(CtMaskFromBit(bit));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>((if_one[i] & mask) | (if_zero[i] & ~mask));
  }
}

void PutPoint(Bytes& out, const Point& p) {
  const auto c = p.ToCompressed();
  out.insert(out.end(), c.begin(), c.end());
}

// Decodes msg = sid_ot ‖ 256 × (P_0 ‖ P_1), blaming `sender` for any fault.
absl::StatusOr<PointPairs> DecodePairs(ByteSpan msg,
                                       const std::array<uint8_t, 32>& sid_ot,
                                       uint32_t sender,
                                       absl::string_view name) {
  if (msg.size() != kBaseOtMessageBytes) {
    return BlameError(sender,
                      absl::StrCat(name, ": expected ", kBaseOtMessageBytes,
                                   " bytes, got ", msg.size()));
  }
  if (!ConstantTimeEqual(msg.subspan(0, kSessionBytes), sid_ot)) {
    return BlameError(sender,
                      absl::StrCat(name,
                                   ": message belongs to another "
                                   "session or pair (sid_ot mismatch)"));
  }
  PointPairs out;
  out.reserve(kBaseOts);
  size_t off = kSessionBytes;
  for (size_t l = 0; l < kBaseOts; ++l) {
    std::array<absl::StatusOr<Point>, 2> p = {
        Point::FromCompressed(msg.subspan(off, kPointBytes),
                              absl::StrCat(name, "[", l, "][0]")),
        Point::FromCompressed(msg.subspan(off + kPointBytes, kPointBytes),
                              absl::StrCat(name, "[", l, "][1]"))};
    for (const auto& q : p) {
      if (!q.ok()) {
        return BlameWith(sender, q.status());
      }
    }
    out.push_back({*p[0], *p[1]});
    off += 2 * kPointBytes;
  }
  return out;
}

}  // namespace

std::array<uint8_t, 32> BaseOtSessionId(const BaseOtSession& session) {
  return internal::PairSessionId(Tag::kBaseOt, session.sid, session.cote_sender,
                                 session.cote_receiver);
}

BaseOtReceiver BaseOtReceiver::Start(const BaseOtSession& session, Rng& rng,
                                     Bytes* msg1_out) {
  SecretBytes delta(kBaseOtBytes);
  rng.Fill(delta.mutable_span());
  return StartWithChoiceBitsForTesting(session, std::move(delta), rng,
                                       msg1_out);
}

BaseOtReceiver BaseOtReceiver::StartWithChoiceBitsForTesting(
    const BaseOtSession& session, SecretBytes delta, Rng& rng,
    Bytes* msg1_out) {
  KAGI_CHECK(delta.size() == kBaseOtBytes);
  BaseOtReceiver st;
  st.session_ = session;
  st.sid_ot_ = BaseOtSessionId(session);
  st.delta_ = std::move(delta);
  st.a_.reserve(kBaseOts);
  Bytes& msg = *msg1_out;
  msg.clear();
  msg.reserve(kBaseOtMessageBytes);
  msg.insert(msg.end(), st.sid_ot_.begin(), st.sid_ot_.end());
  for (uint32_t l = 0; l < kBaseOts; ++l) {
    const uint64_t c = GetBit(st.delta_.secret(), l);
    // r_{1-c} = P, a uniformly random point (either parity) nobody knows
    // the logarithm of.
    const Point p = RandomPoint(rng);
    // Both candidates, then a constant-time choice of H2C(.., c, P).
    Point h_c = HashToCurve(st.sid_ot_, l, 0, p);
    Point h_other = HashToCurve(st.sid_ot_, l, 1, p);
    Point::ConditionalSwap(c, h_c, h_other);
    const Scalar a = Scalar::RandomNonZero(rng);
    // r_c = a·G − H2C(sid_ot, ℓ, c, P); a sum of infinity has probability
    // 2^-256 and is fatal to the run (KAGI_CHECK), not an input error.
    absl::StatusOr<Point> r_c = Point::MulGenerator(a)->Add(h_c.Negate());
    KAGI_CHECK(r_c.ok());
    Point r0 = *r_c;
    Point r1 = p;
    Point::ConditionalSwap(c, r0, r1);
    PutPoint(msg, r0);
    PutPoint(msg, r1);
    st.a_.push_back(a);
  }
  return st;
}

absl::StatusOr<CoteSenderSeeds> BaseOtReceiver::Finish(ByteSpan msg2) && {
  KAGI_ASSIGN_OR_RETURN(
      PointPairs b,
      DecodePairs(msg2, sid_ot_, session_.cote_receiver, "baseot.msg2"));
  CoteSenderSeeds out;
  out.keys = SecretBytes(kBaseOts * 32);
  SecretBytes prod(kPointBytes);
  for (uint32_t l = 0; l < kBaseOts; ++l) {
    const uint64_t c = GetBit(delta_.secret(), l);
    // a_ℓ·B_0 and a_ℓ·B_1, then a constant-time choice of a_ℓ·B_c: ECDH is
    // constant time in its scalar only (it builds its table of multiples of
    // the point in variable time), so it must never see the point chosen
    // by Δ_ℓ.
    absl::StatusOr<SecretBytes> prod0 =
        b[l][0].MulSecretScalarCompressed(a_[l]);
    absl::StatusOr<SecretBytes> prod1 =
        b[l][1].MulSecretScalarCompressed(a_[l]);
    KAGI_CHECK(prod0.ok() && prod1.ok());  // a_ℓ != 0 by construction
    SelectBytes(c, prod1->secret(), prod0->secret(), prod.mutable_span());
    DeriveKey(sid_ot_, l, c, prod, out.keys.mutable_data() + 32 * l);
  }
  out.delta = std::move(delta_);
  a_.clear();
  return out;
}

absl::StatusOr<BaseOtSenderResult> BaseOtSenderRespond(
    const BaseOtSession& session, ByteSpan msg1, Rng& rng) {
  const std::array<uint8_t, 32> sid_ot = BaseOtSessionId(session);
  KAGI_ASSIGN_OR_RETURN(
      PointPairs r,
      DecodePairs(msg1, sid_ot, session.cote_sender, "baseot.msg1"));
  BaseOtSenderResult out;
  out.seeds.keys0 = SecretBytes(kBaseOts * 32);
  out.seeds.keys1 = SecretBytes(kBaseOts * 32);
  out.msg2.reserve(kBaseOtMessageBytes);
  out.msg2.insert(out.msg2.end(), sid_ot.begin(), sid_ot.end());
  for (uint32_t l = 0; l < kBaseOts; ++l) {
    for (uint32_t j = 0; j < 2; ++j) {
      const Point& other = r[l][1 - j];
      absl::StatusOr<Point> m = r[l][j].Add(HashToCurve(sid_ot, l, j, other));
      if (!m.ok()) {
        return BlameError(session.cote_sender,
                          absl::StrCat("baseot.msg1[", l, "]: M_", j,
                                       " is the point at infinity"));
      }
      const Scalar bj = Scalar::RandomNonZero(rng);
      PutPoint(out.msg2, *Point::MulGenerator(bj));
      absl::StatusOr<SecretBytes> prod = m->MulSecretScalarCompressed(bj);
      KAGI_CHECK(prod.ok());
      uint8_t* dst =
          (j == 0 ? out.seeds.keys0 : out.seeds.keys1).mutable_data() + 32 * l;
      DeriveKey(sid_ot, l, j, *prod, dst);
    }
  }
  return out;
}

}  // namespace kagi::mpc
