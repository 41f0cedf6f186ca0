#include "libs/protocol/internal/dkg_messages.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/secret.h"
#include "libs/base/status_macros.h"
#include "libs/mpc/base_ot.h"

namespace kagi::protocol::internal {

using crypto::Point;
using crypto::Scalar;
using crypto::SchnorrProof;

Bytes DkgOpening::Encode() const {
  ByteWriter w;
  w.PutRaw(EncodePoints(a));
  w.PutRaw(cc);
  w.PutRaw(rho);
  for (const SchnorrProof& pi : poks) {
    w.PutRaw(pi.Encode());
  }
  return std::move(w).Take();
}

absl::StatusOr<DkgOpening> DkgOpening::Decode(ByteSpan body, uint32_t t,
                                              uint32_t sender) {
  const size_t want =
      t * Point::kCompressedBytes + 32 + 32 + t * SchnorrProof::kBytes;
  if (body.size() != want) {
    return BlameError(
        sender, absl::StrCat("dkg round 2: opening must be ", want,
                             " bytes for t = ", t, ", got ", body.size()));
  }
  ByteReader r(body);
  DkgOpening m;
  KAGI_ASSIGN_OR_RETURN(m.a, ReadPoints(r, t, "dkg.A", sender));
  KAGI_ASSIGN_OR_RETURN(m.cc, r.ReadFixed<32>("dkg.cc"));
  KAGI_ASSIGN_OR_RETURN(m.rho, r.ReadFixed<32>("dkg.rho"));
  KAGI_ASSIGN_OR_RETURN(m.poks, ReadProofs(r, t, "dkg.pok", sender));
  return m;
}

Bytes DkgShareMessage::Encode(const Scalar& sigma, ByteSpan ot_msg1) {
  ByteWriter d;
  std::array<uint8_t, 32> s = sigma.ToBytes();
  d.PutRaw(s);
  SecureWipe(s.data(), s.size());
  d.PutRaw(ot_msg1);
  return std::move(d).Take();
}

absl::StatusOr<DkgShareMessage> DkgShareMessage::Decode(ByteSpan payload,
                                                        uint32_t sender) {
  KAGI_RETURN_IF_ERROR(ExpectSize(sender, payload.size(),
                                  Scalar::kBytes + mpc::kBaseOtMessageBytes,
                                  "dkg round 2: direct message must be "));
  DkgShareMessage m;
  KAGI_ASSIGN_OR_RETURN(m.sigma, ReadScalar(payload.subspan(0, Scalar::kBytes),
                                            "dkg.sigma", sender));
  m.ot_msg1 = payload.subspan(Scalar::kBytes);
  return m;
}

Bytes DkgShareProof::Encode() const {
  ByteWriter w;
  w.PutRaw(pok.Encode());
  w.PutRaw(view);
  return std::move(w).Take();
}

absl::StatusOr<DkgShareProof> DkgShareProof::Decode(ByteSpan payload,
                                                    uint32_t sender) {
  KAGI_RETURN_IF_ERROR(ExpectSize(sender, payload.size(),
                                  SchnorrProof::kBytes + 32,
                                  "dkg round 3: broadcast must be "));
  DkgShareProof m;
  absl::StatusOr<SchnorrProof> pi = SchnorrProof::Decode(
      payload.subspan(0, SchnorrProof::kBytes), "dkg.share_pok");
  if (!pi.ok()) {
    return BlameWith(sender, pi.status());
  }
  m.pok = *pi;
  std::copy_n(payload.begin() + SchnorrProof::kBytes, 32, m.view.begin());
  return m;
}

}  // namespace kagi::protocol::internal
