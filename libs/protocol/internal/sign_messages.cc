#include "libs/protocol/internal/sign_messages.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/status_macros.h"
#include "libs/mpc/rvole.h"

namespace kagi::protocol::internal {
namespace {

using crypto::Point;
using crypto::Scalar;

constexpr size_t kPoint = Point::kCompressedBytes;
constexpr size_t kP3Item = mpc::kRvoleMsg2Bytes + 4 * kPoint + Scalar::kBytes;

absl::StatusOr<Point> ReadPoint(ByteSpan b, const std::string& field,
                                uint32_t sender) {
  absl::StatusOr<Point> p = Point::FromCompressed(b, field);
  if (!p.ok()) {
    return BlameWith(sender, p.status());
  }
  return p;
}

}  // namespace

absl::StatusOr<SignP2> SignP2::Decode(ByteSpan body, size_t items,
                                      uint32_t sender) {
  const size_t want = items * mpc::kRvoleMsg1Bytes;
  if (body.size() != want) {
    return BlameError(
        sender, absl::StrCat("sign P2: expected ", want,
                             " bytes of RVOLE messages, got ", body.size()));
  }
  SignP2 m;
  for (size_t l = 0; l < items; ++l) {
    m.msg1.push_back(
        body.subspan(l * mpc::kRvoleMsg1Bytes, mpc::kRvoleMsg1Bytes));
  }
  return m;
}

Bytes SignP3::Encode() const {
  ByteWriter w;
  w.PutRaw(rho);
  for (const Item& it : items) {
    w.PutRaw(it.msg2);
    w.PutRaw(it.r.ToCompressed());
    w.PutRaw(it.pk.ToCompressed());
    w.PutRaw(it.gamma[0].ToCompressed());
    w.PutRaw(it.gamma[1].ToCompressed());
    w.PutRaw(it.psi.ToBytes());
  }
  return std::move(w).Take();
}

Bytes SignP3::CommitData() const {
  Bytes d;
  for (const Item& it : items) {
    const auto c = it.r.ToCompressed();
    d.insert(d.end(), c.begin(), c.end());
  }
  return d;
}

absl::StatusOr<SignP3> SignP3::Decode(ByteSpan payload, size_t items,
                                      uint32_t sender) {
  KAGI_RETURN_IF_ERROR(ExpectSize(sender, payload.size(), 32 + items * kP3Item,
                                  "sign P3: expected "));
  SignP3 m;
  std::copy_n(payload.begin(), 32, m.rho.begin());
  for (size_t l = 0; l < items; ++l) {
    const ByteSpan item = payload.subspan(32 + l * kP3Item, kP3Item);
    const ByteSpan pts = item.subspan(mpc::kRvoleMsg2Bytes);
    Item it;
    it.msg2 = item.subspan(0, mpc::kRvoleMsg2Bytes);
    KAGI_ASSIGN_OR_RETURN(
        it.r, ReadPoint(pts.subspan(0, kPoint),
                        absl::StrCat("sign.P3[", l, "].R"), sender));
    KAGI_ASSIGN_OR_RETURN(
        it.pk, ReadPoint(pts.subspan(kPoint, kPoint),
                         absl::StrCat("sign.P3[", l, "].pk"), sender));
    KAGI_ASSIGN_OR_RETURN(
        it.gamma[0],
        ReadPoint(pts.subspan(2 * kPoint, kPoint), "sign.P3.gamma_u", sender));
    KAGI_ASSIGN_OR_RETURN(
        it.gamma[1],
        ReadPoint(pts.subspan(3 * kPoint, kPoint), "sign.P3.gamma_v", sender));
    KAGI_ASSIGN_OR_RETURN(it.psi,
                          ReadScalar(pts.subspan(4 * kPoint, Scalar::kBytes),
                                     "sign.P3.psi", sender));
    m.items.push_back(std::move(it));
  }
  return m;
}

absl::StatusOr<SignOnline> SignOnline::Decode(ByteSpan payload, size_t items,
                                              uint32_t sender) {
  KAGI_RETURN_IF_ERROR(
      ExpectSize(sender, payload.size(), items * 64, "sign online: expected "));
  SignOnline m;
  for (size_t l = 0; l < items; ++l) {
    const ByteSpan v = payload.subspan(l * 64, 64);
    std::array<Scalar, 2> s;
    KAGI_ASSIGN_OR_RETURN(
        s[0], ReadScalar(v.subspan(0, 32), "sign.online.s0", sender));
    KAGI_ASSIGN_OR_RETURN(
        s[1], ReadScalar(v.subspan(32, 32), "sign.online.s1", sender));
    m.shares.push_back(s);
  }
  return m;
}

}  // namespace kagi::protocol::internal
