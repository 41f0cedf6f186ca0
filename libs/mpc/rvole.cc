#include "libs/mpc/rvole.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/base/ctime.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/prefix_hash.h"
#include "libs/crypto/transcript.h"
#include "libs/mpc/bit_matrix.h"
#include "libs/mpc/internal/pair_session.h"

namespace kagi::mpc {
namespace {

using crypto::Scalar;
using crypto::Tag;
using crypto::Transcript;

constexpr size_t kScalarBytes = Scalar::kBytes;
constexpr size_t kATildeBytes = kXi * kOtWidth * kScalarBytes;
constexpr size_t kEtaOffset = kSessionBytes + kATildeBytes;
constexpr size_t kMuOffset = kEtaOffset + kScalarBytes;

using Row = std::array<Scalar, kOtWidth>;

// rowhash(k, r): three scalars from H("cote", sid_p, pad, k, r, ctr).
// RowHash2 hashes two rows at once (six interleaved SHA-256 blocks).
void RowHash2(const crypto::PrefixHasher& h, uint32_t k0, ByteSpan r0,
              uint32_t k1, ByteSpan r1, Row& out0, Row& out1) {
  static_assert(kOtWidth == 3, "a row is three hashes");
  const crypto::PrefixHashInput in[6] = {{k0, r0, 0}, {k0, r0, 1}, {k0, r0, 2},
                                         {k1, r1, 0}, {k1, r1, 1}, {k1, r1, 2}};
  std::array<crypto::Digest32, 6> d;
  h.HashBatch(in, absl::MakeSpan(d));
  for (size_t c = 0; c < kOtWidth; ++c) {
    out0[c] = Scalar::FromBytesModOrder(d[c]);
    out1[c] = Scalar::FromBytesModOrder(d[3 + c]);
  }
  WipeInline(d);
}

// CheckValue returns row[2] + θ_0·row[0] + θ_1·row[1].
Scalar CheckValue(const std::array<Scalar, kRvoleInputs>& theta,
                  const Scalar& r0, const Scalar& r1, const Scalar& r2) {
  const Scalar row[kRvoleInputs] = {r0, r1};
  return Scalar::InnerProduct(theta, row) + r2;
}

std::array<Scalar, kRvoleInputs> Theta(const std::array<uint8_t, 32>& sid_p,
                                       ByteSpan a_tilde) {
  const crypto::Digest32 h =
      Transcript(Tag::kRvoleATilde).Add(sid_p).Add(a_tilde).H();
  std::array<Scalar, kRvoleInputs> theta;
  for (uint32_t i = 0; i < kRvoleInputs; ++i) {
    theta[i] = Transcript(Tag::kTheta).Add(sid_p).Add(h).AddU32(i).Hn();
  }
  return theta;
}

// μ = XOF("mu", sid_p, H("mu-rows", sid_p, [m_k]_k); 64) over the 512
// per-row check values: SHA-256 over the 16 KB of rows, then 64 bytes of
// SHAKE256 of the digest (SHAKE256 over the rows themselves cost 4x more).
std::array<uint8_t, 64> Mu(const std::array<uint8_t, 32>& sid_p,
                           const std::vector<Scalar>& rows) {
  SecretBytes enc(rows.size() * kScalarBytes);
  for (size_t k = 0; k < rows.size(); ++k) {
    const auto b = rows[k].ToBytes();
    std::copy(b.begin(), b.end(), enc.mutable_data() + k * kScalarBytes);
  }
  crypto::Digest32 rows_digest =
      Transcript(Tag::kMuRows).Add(sid_p).Add(enc.secret()).H();
  std::array<uint8_t, 64> mu{};
  Transcript(Tag::kMu).Add(sid_p).Add(rows_digest).Xof(absl::MakeSpan(mu));
  WipeInline(rows_digest);
  return mu;
}

}  // namespace

std::array<uint8_t, 32> RvoleSessionId(const RvoleSession& session) {
  return internal::PairSessionId(Tag::kRvole, session.sid, session.sender,
                                 session.receiver);
}

std::vector<Scalar> Gadget(const std::array<uint8_t, 32>& sid_p) {
  // g_{3m+c} = H("gadget", sid_p, pad, m, "", c) mod n: three per index.
  const crypto::PrefixHasher h(Tag::kGadget, sid_p);
  std::vector<crypto::PrefixHashInput> in(kXi);
  for (size_t k = 0; k < kXi; ++k) {
    in[k] = {static_cast<uint32_t>(k / 3), ByteSpan(),
             static_cast<uint8_t>(k % 3)};
  }
  std::vector<crypto::Digest32> d(kXi);
  h.HashBatch(in, absl::MakeSpan(d));
  std::vector<Scalar> g;
  g.reserve(kXi);
  for (const crypto::Digest32& x : d) {
    g.push_back(Scalar::FromBytesModOrder(x));
  }
  return g;
}

RvoleReceiver RvoleReceiver::Start(const CoteReceiverSeeds& seeds,
                                   const RvoleSession& session, Rng& rng,
                                   Bytes* msg1_out) {
  RvoleReceiver st;
  st.session_ = session;
  st.sid_p_ = RvoleSessionId(session);
  // x = β (512 bits) ‖ 128 random bits.
  SecretBytes x(kXiPrimeBytes);
  rng.Fill(x.mutable_span());
  st.beta_ = SecretBytes(x.secret().subspan(0, kXi / 8));
  st.gadget_ = Gadget(st.sid_p_);
  const std::vector<Scalar>& g = st.gadget_;
  Scalar chi;
  for (size_t k = 0; k < kXi; ++k) {
    chi = Scalar::ConditionalSelect(GetBit(st.beta_.secret(), k), chi + g[k],
                                    chi);
  }
  st.chi_ = chi;
  CoteReceiverOutput cote = CoteReceiverExtend(
      seeds, CoteSession{st.sid_p_, session.sender, session.receiver}, x);
  st.t_rows_ = std::move(cote.t_rows);
  *msg1_out = std::move(cote.msg);
  return st;
}

absl::StatusOr<std::array<Scalar, kRvoleInputs>> RvoleReceiver::Finish(
    ByteSpan msg2) && {
  const uint32_t a_id = session_.sender;
  if (msg2.size() != kRvoleMsg2Bytes) {
    return BlameError(a_id,
                      absl::StrCat("rvole.msg2: expected ", kRvoleMsg2Bytes,
                                   " bytes, got ", msg2.size()));
  }
  if (!ConstantTimeEqual(msg2.subspan(0, kSessionBytes), sid_p_)) {
    return BlameError(a_id,
                      "rvole.msg2: message belongs to another session or pair");
  }
  const ByteSpan a_tilde_bytes = msg2.subspan(kSessionBytes, kATildeBytes);
  absl::StatusOr<Scalar> eta_prime = Scalar::FromCanonicalBytes(
      msg2.subspan(kEtaOffset, kScalarBytes), "rvole.msg2.eta'");
  if (!eta_prime.ok()) {
    return BlameWith(a_id, eta_prime.status());
  }
  const std::array<Scalar, kRvoleInputs> theta = Theta(sid_p_, a_tilde_bytes);
  const crypto::PrefixHasher rh(Tag::kCote, sid_p_);
  std::array<std::vector<Scalar>, kRvoleInputs> dbar_cols;
  for (auto& col : dbar_cols) {
    col.reserve(kXi);
  }
  std::vector<Scalar> check;
  check.reserve(kXi);
  std::vector<Row> v_rows(kXi);
  for (uint32_t k = 0; k < kXi; k += 2) {
    RowHash2(rh, k, t_rows_.secret().subspan(32 * k, 32), k + 1,
             t_rows_.secret().subspan(32 * (k + 1), 32), v_rows[k],
             v_rows[k + 1]);
  }
  for (uint32_t k = 0; k < kXi; ++k) {
    Row a_tilde;
    for (size_t i = 0; i < kOtWidth; ++i) {
      absl::StatusOr<Scalar> v = Scalar::FromCanonicalBytes(
          a_tilde_bytes.subspan((k * kOtWidth + i) * kScalarBytes,
                                kScalarBytes),
          "rvole.msg2.a~");
      if (!v.ok()) {
        return BlameError(a_id, absl::StrCat("rvole.msg2.a~[", k, "][", i,
                                             "]: ", v.status().message()));
      }
      a_tilde[i] = *v;
    }
    const uint64_t bit = GetBit(beta_.secret(), k);
    const Row& v = v_rows[k];
    Row dbar;
    for (size_t i = 0; i < kOtWidth; ++i) {
      dbar[i] = Scalar::ConditionalSelect(bit, v[i] + a_tilde[i], v[i]);
    }
    check.push_back(CheckValue(theta, dbar[0], dbar[1], dbar[2]) -
                    Scalar::ConditionalSelect(bit, *eta_prime, Scalar()));
    dbar_cols[0].push_back(dbar[0]);
    dbar_cols[1].push_back(dbar[1]);
  }
  std::array<uint8_t, 64> mu = Mu(sid_p_, check);
  // Public by design: the outcome of the check, which aborts and bans A.
  const bool mu_ok =
      CtDeclassifyValue(ConstantTimeEqual(mu, msg2.subspan(kMuOffset, 64)));
  WipeInline(mu);
  if (!mu_ok) {
    return BanError(a_id, "rvole: mu consistency check failed");
  }
  std::array<Scalar, kRvoleInputs> d;
  for (size_t i = 0; i < kRvoleInputs; ++i) {
    d[i] = Scalar::InnerProduct(gadget_, dbar_cols[i]);
  }
  return d;
}

absl::StatusOr<RvoleSenderOutput> RvoleSenderRespond(
    const CoteSenderSeeds& seeds, const RvoleSession& session,
    const std::array<Scalar, kRvoleInputs>& a, ByteSpan msg1, Rng& rng) {
  const std::array<uint8_t, 32> sid_p = RvoleSessionId(session);
  KAGI_ASSIGN_OR_RETURN(
      const SecretBytes q,
      CoteSenderExtend(
          seeds, CoteSession{sid_p, session.sender, session.receiver}, msg1));
  const crypto::PrefixHasher rh(Tag::kCote, sid_p);
  const Scalar eta = Scalar::Random(rng);
  RvoleSenderOutput out;
  out.msg2.resize(kRvoleMsg2Bytes);
  std::copy(sid_p.begin(), sid_p.end(), out.msg2.begin());
  uint8_t* a_tilde = out.msg2.data() + kSessionBytes;
  std::array<std::vector<Scalar>, kOtWidth> alpha0_cols;
  for (auto& col : alpha0_cols) {
    col.reserve(kXi);
  }
  const ByteSpan delta = seeds.delta.secret();
  std::array<uint8_t, 32> q_xor_delta{};
  for (uint32_t k = 0; k < kXi; ++k) {
    const ByteSpan qk = q.secret().subspan(32 * k, 32);
    for (size_t b = 0; b < 32; ++b) {
      q_xor_delta[b] = static_cast<uint8_t>(qk[b] ^ delta[b]);
    }
    Row alpha0, alpha1;
    RowHash2(rh, k, qk, k, q_xor_delta, alpha0, alpha1);
    for (size_t i = 0; i < kOtWidth; ++i) {
      const Scalar input = i < kRvoleInputs ? a[i] : eta;
      const auto enc = (alpha0[i] - alpha1[i] + input).ToBytes();
      std::copy(enc.begin(), enc.end(),
                a_tilde + (k * kOtWidth + i) * kScalarBytes);
      alpha0_cols[i].push_back(alpha0[i]);
    }
  }
  WipeInline(q_xor_delta);
  const std::array<Scalar, kRvoleInputs> theta =
      Theta(sid_p, ByteSpan(a_tilde, kATildeBytes));
  const Scalar eta_prime = eta + Scalar::InnerProduct(theta, a);
  const auto eta_enc = eta_prime.ToBytes();
  std::copy(eta_enc.begin(), eta_enc.end(), out.msg2.begin() + kEtaOffset);
  std::vector<Scalar> check;
  check.reserve(kXi);
  for (size_t k = 0; k < kXi; ++k) {
    check.push_back(CheckValue(theta, alpha0_cols[0][k], alpha0_cols[1][k],
                               alpha0_cols[2][k]));
  }
  const std::array<uint8_t, 64> mu = Mu(sid_p, check);
  std::copy(mu.begin(), mu.end(), out.msg2.begin() + kMuOffset);
  const std::vector<Scalar> g = Gadget(sid_p);
  for (size_t i = 0; i < kRvoleInputs; ++i) {
    out.c[i] = -Scalar::InnerProduct(g, alpha0_cols[i]);
  }
  return out;
}

}  // namespace kagi::mpc
