#include "libs/protocol/internal/reshare_messages.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/secret.h"
#include "libs/base/status_macros.h"
#include "libs/mpc/base_ot.h"
#include "libs/protocol/common/ids.h"

namespace kagi::protocol::internal {

using crypto::Point;
using crypto::Scalar;
using crypto::SchnorrProof;

constexpr size_t kPoint = Point::kCompressedBytes;

Bytes PublicView::Encode() const {
  ByteWriter w;
  w.PutRaw(x.ToCompressed());
  w.PutU32(static_cast<uint32_t>(shares.size()));
  for (const Point& p : shares) {
    w.PutRaw(p.ToCompressed());
  }
  w.PutRaw(chain_code);
  w.PutRaw(key_id);
  return std::move(w).Take();
}

absl::StatusOr<PublicView> PublicView::Read(ByteReader& r) {
  PublicView v;
  KAGI_ASSIGN_OR_RETURN(ByteSpan x, r.ReadSpan(kPoint, "reshare.pub.X"));
  KAGI_ASSIGN_OR_RETURN(v.x, Point::FromCompressed(x, "reshare.pub.X"));
  KAGI_ASSIGN_OR_RETURN(const uint32_t n, r.ReadU32("reshare.pub.count"));
  if (n < 2 || n > kMaxParties) {
    return absl::InvalidArgumentError(
        absl::StrCat("reshare.pub: old committee size ", n, " out of range"));
  }
  for (uint32_t m = 0; m < n; ++m) {
    KAGI_ASSIGN_OR_RETURN(ByteSpan p, r.ReadSpan(kPoint, "reshare.pub.X_m"));
    KAGI_ASSIGN_OR_RETURN(Point pt,
                          Point::FromCompressed(p, "reshare.pub.X_m"));
    v.shares.push_back(pt);
  }
  KAGI_ASSIGN_OR_RETURN(v.chain_code, r.ReadFixed<32>("reshare.pub.cc"));
  KAGI_ASSIGN_OR_RETURN(v.key_id, r.ReadFixed<32>("reshare.pub.key_id"));
  return v;
}

Bytes ReshareOpening::Encode() const {
  ByteWriter w;
  w.PutRaw(EncodePoints(a));
  w.PutRaw(view.Encode());
  w.PutRaw(rho);
  for (const SchnorrProof& pi : poks) {
    w.PutRaw(pi.Encode());
  }
  return std::move(w).Take();
}

absl::StatusOr<ReshareOpening> ReshareOpening::Decode(ByteSpan body,
                                                      uint32_t t_new,
                                                      uint32_t sender) {
  ByteReader r(body);
  ReshareOpening m;
  KAGI_ASSIGN_OR_RETURN(m.a, ReadPoints(r, t_new, "reshare.A'", sender));
  absl::StatusOr<PublicView> v = PublicView::Read(r);
  if (!v.ok()) {
    return BlameWith(sender, v.status());
  }
  m.view = std::move(*v);
  absl::StatusOr<Hash32> rho = r.ReadFixed<32>("reshare.rho");
  if (!rho.ok()) {
    return BlameWith(sender, rho.status());
  }
  m.rho = *rho;
  KAGI_ASSIGN_OR_RETURN(m.poks, ReadProofs(r, t_new, "reshare.pok", sender));
  if (absl::Status end = r.ExpectEnd("reshare round 2 opening"); !end.ok()) {
    return BlameWith(sender, end);
  }
  return m;
}

Bytes ReshareShareMessage::Encode(const std::optional<Scalar>& g,
                                  ByteSpan ot_msg1) {
  ByteWriter d;
  if (g.has_value()) {
    std::array<uint8_t, 32> b = g->ToBytes();
    d.PutRaw(b);
    SecureWipe(b.data(), b.size());
  }
  d.PutRaw(ot_msg1);
  return std::move(d).Take();
}

absl::StatusOr<ReshareShareMessage> ReshareShareMessage::Decode(
    ByteSpan payload, uint32_t sender, bool has_share, bool has_ot) {
  const size_t want = (has_share ? Scalar::kBytes : 0) +
                      (has_ot ? mpc::kBaseOtMessageBytes : 0);
  KAGI_RETURN_IF_ERROR(ExpectSize(sender, payload.size(), want,
                                  "reshare round 2: direct message must be "));
  ReshareShareMessage m;
  if (has_share) {
    KAGI_ASSIGN_OR_RETURN(m.g, ReadScalar(payload.subspan(0, Scalar::kBytes),
                                          "reshare.g", sender));
  }
  m.ot_msg1 = payload.subspan(has_share ? Scalar::kBytes : 0);
  return m;
}

Bytes ReshareShareProof::Encode() const {
  ByteWriter w;
  if (pok.has_value()) {
    w.PutRaw(pok->Encode());
  }
  w.PutRaw(view);
  return std::move(w).Take();
}

absl::StatusOr<ReshareShareProof> ReshareShareProof::Decode(ByteSpan payload,
                                                            uint32_t sender,
                                                            bool member) {
  const size_t proof = member ? SchnorrProof::kBytes : 0;
  KAGI_RETURN_IF_ERROR(ExpectSize(sender, payload.size(), proof + 32,
                                  "reshare round 3: broadcast must be "));
  ReshareShareProof m;
  if (member) {
    absl::StatusOr<SchnorrProof> pi = SchnorrProof::Decode(
        payload.subspan(0, SchnorrProof::kBytes), "reshare.share_pok");
    if (!pi.ok()) {
      return BlameWith(sender, pi.status());
    }
    m.pok = *pi;
  }
  std::copy_n(payload.begin() + proof, 32, m.view.begin());
  return m;
}

}  // namespace kagi::protocol::internal
