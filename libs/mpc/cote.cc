#include "libs/mpc/cote.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/base/ctime.h"
#include "libs/crypto/prefix_hash.h"
#include "libs/crypto/transcript.h"
#include "libs/mpc/bit_matrix.h"

namespace kagi::mpc {
namespace {

using crypto::Gf128;
using crypto::Tag;
using crypto::Transcript;

constexpr size_t kUBytes = kBaseOts * kXiPrimeBytes;
constexpr size_t kXTildeOffset = kSessionBytes + kUBytes;
constexpr size_t kTTildeOffset = kXTildeOffset + 16;

// ExpandTwo writes PRG(seed0) for instance l0 and PRG(seed1) for l1 (80 bytes
// each), hashing the six blocks together.
void ExpandTwo(const crypto::PrefixHasher& prg, uint32_t l0, ByteSpan seed0,
               uint8_t* out0, uint32_t l1, ByteSpan seed1, uint8_t* out1) {
  const crypto::PrefixHashInput in[6] = {{l0, seed0, 0}, {l0, seed0, 1},
                                         {l0, seed0, 2}, {l1, seed1, 0},
                                         {l1, seed1, 1}, {l1, seed1, 2}};
  std::array<crypto::Digest32, 6> d;
  prg.HashBatch(in, absl::MakeSpan(d));
  for (size_t i = 0; i < kXiPrimeBytes; ++i) {
    out0[i] = d[i / 32][i % 32];
    out1[i] = d[3 + i / 32][i % 32];
  }
  WipeInline(d);
}

}  // namespace

namespace cote_internal {

void ExpandSeed(const std::array<uint8_t, 32>& sid_p, uint32_t index,
                ByteSpan seed, uint8_t* out) {
  // One PrefixHasher per call keeps the interface simple; the hot loops
  // below share one hasher instead.
  const crypto::PrefixHasher prg(Tag::kPrg, sid_p);
  prg.Expand(index, seed, absl::MakeSpan(out, kXiPrimeBytes));
}

std::array<Gf128, 4> Chi(const std::array<uint8_t, 32>& sid_p, ByteSpan u) {
  const crypto::Digest32 hu = Transcript(Tag::kKosU).Add(sid_p).Add(u).H();
  std::array<Gf128, 4> chi;
  for (uint32_t j = 0; j < 4; ++j) {
    const crypto::Digest32 c =
        Transcript(Tag::kKosChi).Add(sid_p).Add(hu).AddU32(j).H();
    chi[j] = Gf128::FromBytes(c.data());
  }
  return chi;
}

Gf128 Combine(const std::array<Gf128, 4>& chi, ByteSpan v) {
  KAGI_CHECK(v.size() == kXiPrimeBytes);
  std::array<Gf128, 4> blocks;
  for (size_t j = 0; j < 4; ++j) {
    blocks[j] = Gf128::FromBytes(v.data() + 16 * j);
  }
  return crypto::Gf128InnerProduct(chi, blocks) ^
         Gf128::FromBytes(v.data() + 64);
}

}  // namespace cote_internal

CoteReceiverOutput CoteReceiverExtend(const CoteReceiverSeeds& seeds,
                                      const CoteSession& session,
                                      const SecretBytes& x) {
  KAGI_CHECK(x.size() == kXiPrimeBytes);
  KAGI_CHECK(seeds.keys0.size() == kBaseOts * 32 &&
             seeds.keys1.size() == kBaseOts * 32);
  const crypto::PrefixHasher prg(Tag::kPrg, session.sid_p);
  SecretBytes t(kUBytes);
  CoteReceiverOutput out;
  out.msg.resize(kCoteMessageBytes);
  uint8_t* msg = out.msg.data();
  std::copy(session.sid_p.begin(), session.sid_p.end(), msg);
  uint8_t* u = msg + kSessionBytes;
  const ByteSpan xs = x.secret();
  std::array<uint8_t, kXiPrimeBytes> t1{};
  for (uint32_t l = 0; l < kBaseOts; ++l) {
    uint8_t* tl = t.mutable_data() + l * kXiPrimeBytes;
    ExpandTwo(prg, l, seeds.keys0.secret().subspan(32 * l, 32), tl, l,
              seeds.keys1.secret().subspan(32 * l, 32), t1.data());
    for (size_t i = 0; i < kXiPrimeBytes; ++i) {
      u[l * kXiPrimeBytes + i] = static_cast<uint8_t>(tl[i] ^ t1[i] ^ xs[i]);
    }
  }
  WipeInline(t1);
  const std::array<Gf128, 4> chi =
      cote_internal::Chi(session.sid_p, ByteSpan(u, kUBytes));
  cote_internal::Combine(chi, xs).ToBytes(msg + kXTildeOffset);
  for (size_t l = 0; l < kBaseOts; ++l) {
    cote_internal::Combine(chi,
                           t.secret().subspan(l * kXiPrimeBytes, kXiPrimeBytes))
        .ToBytes(msg + kTTildeOffset + 16 * l);
  }
  out.t_rows = SecretBytes(kXi * kBaseOtBytes);
  TransposeToRows(t.secret(), kXi, out.t_rows.mutable_span());
  return out;
}

absl::StatusOr<SecretBytes> CoteSenderExtend(const CoteSenderSeeds& seeds,
                                             const CoteSession& session,
                                             ByteSpan msg) {
  KAGI_CHECK(seeds.delta.size() == kBaseOtBytes &&
             seeds.keys.size() == kBaseOts * 32);
  if (msg.size() != kCoteMessageBytes) {
    return BlameError(session.receiver,
                      absl::StrCat("cote: message must be ", kCoteMessageBytes,
                                   " bytes, got ", msg.size()));
  }
  if (!ConstantTimeEqual(msg.subspan(0, kSessionBytes), session.sid_p)) {
    return BlameError(session.receiver,
                      "cote: message belongs to another session or pair");
  }
  const ByteSpan u = msg.subspan(kSessionBytes, kUBytes);
  const Gf128 x_tilde = Gf128::FromBytes(msg.data() + kXTildeOffset);
  const std::array<Gf128, 4> chi = cote_internal::Chi(session.sid_p, u);
  const crypto::PrefixHasher prg(Tag::kPrg, session.sid_p);
  SecretBytes q(kUBytes);
  Gf128 diff;
  const ByteSpan delta = seeds.delta.secret();
  for (uint32_t l = 0; l < kBaseOts; l += 2) {
    ExpandTwo(prg, l, seeds.keys.secret().subspan(32 * l, 32),
              q.mutable_data() + l * kXiPrimeBytes, l + 1,
              seeds.keys.secret().subspan(32 * (l + 1), 32),
              q.mutable_data() + (l + 1) * kXiPrimeBytes);
  }
  for (uint32_t l = 0; l < kBaseOts; ++l) {
    uint8_t* ql = q.mutable_data() + l * kXiPrimeBytes;
    const uint64_t mask = CtMaskFromBit(GetBit(delta, l));
    const uint8_t m8 = static_cast<uint8_t>(mask);
    for (size_t i = 0; i < kXiPrimeBytes; ++i) {
      ql[i] = static_cast<uint8_t>(ql[i] ^ (u[l * kXiPrimeBytes + i] & m8));
    }
    const Gf128 q_tilde =
        cote_internal::Combine(chi, ByteSpan(ql, kXiPrimeBytes));
    const Gf128 t_tilde = Gf128::FromBytes(msg.data() + kTTildeOffset + 16 * l);
    const Gf128 masked_x{x_tilde.lo & mask, x_tilde.hi & mask};
    const Gf128 d = q_tilde ^ t_tilde ^ masked_x;
    diff.lo |= d.lo;
    diff.hi |= d.hi;
  }
  // Public by design: the outcome of the check, which aborts and bans B
  // (the one bit a cheating B can learn, contained by the ban).
  if (CtDeclassifyValue(CtIsZeroMask(diff.lo | diff.hi)) == 0) {
    return BanError(session.receiver, "cote: KOS consistency check failed");
  }
  SecretBytes rows(kXi * kBaseOtBytes);
  TransposeToRows(q.secret(), kXi, rows.mutable_span());
  return rows;
}

}  // namespace kagi::mpc
