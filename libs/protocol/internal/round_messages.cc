#include "libs/protocol/internal/round_messages.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/status_macros.h"

namespace kagi::protocol::internal {

using crypto::Point;
using crypto::Scalar;
using crypto::SchnorrProof;

absl::Status ExpectSize(uint32_t sender, size_t got, size_t want,
                        absl::string_view what) {
  if (got == want) {
    return absl::OkStatus();
  }
  return BlameError(sender, absl::StrCat(what, want, " bytes, got ", got));
}

Bytes EncodePoints(const std::vector<Point>& pts) {
  Bytes out;
  for (const Point& p : pts) {
    const auto c = p.ToCompressed();
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

namespace {

// ReadMany reads `count` items of `size` bytes, each parsed by `parse`
// under the name `field`; any fault blames `sender`.
template <typename T, typename Parse>
absl::StatusOr<std::vector<T>> ReadMany(ByteReader& r, size_t count,
                                        size_t size, absl::string_view field,
                                        uint32_t sender, Parse parse) {
  std::vector<T> out;
  for (size_t k = 0; k < count; ++k) {
    absl::StatusOr<ByteSpan> b = r.ReadSpan(size, field);
    if (!b.ok()) {
      return BlameWith(sender, b.status());
    }
    absl::StatusOr<T> v = parse(*b, field);
    if (!v.ok()) {
      return BlameWith(sender, v.status());
    }
    out.push_back(*v);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Point>> ReadPoints(ByteReader& r, size_t count,
                                              absl::string_view field,
                                              uint32_t sender) {
  return ReadMany<Point>(r, count, Point::kCompressedBytes, field, sender,
                         [](ByteSpan b, absl::string_view f) {
                           return Point::FromCompressed(b, f);
                         });
}

absl::StatusOr<std::vector<SchnorrProof>> ReadProofs(ByteReader& r,
                                                     size_t count,
                                                     absl::string_view field,
                                                     uint32_t sender) {
  return ReadMany<SchnorrProof>(r, count, SchnorrProof::kBytes, field, sender,
                                [](ByteSpan b, absl::string_view f) {
                                  return SchnorrProof::Decode(b, f);
                                });
}

absl::StatusOr<Scalar> ReadScalar(ByteSpan bytes, absl::string_view field,
                                  uint32_t sender) {
  absl::StatusOr<Scalar> s = Scalar::FromCanonicalBytes(bytes, field);
  if (!s.ok()) {
    return BlameWith(sender, s.status());
  }
  return s;
}

Bytes CommitMessage::Encode() const {
  ByteWriter w;
  w.PutRaw(nonce);
  if (commitment.has_value()) {
    w.PutRaw(*commitment);
  }
  return std::move(w).Take();
}

absl::StatusOr<CommitMessage> CommitMessage::Decode(ByteSpan payload,
                                                    uint32_t sender,
                                                    bool with_commitment,
                                                    absl::string_view what) {
  KAGI_RETURN_IF_ERROR(ExpectSize(sender, payload.size(),
                                  with_commitment ? 64 : 32,
                                  absl::StrCat(what, ": payload must be ")));
  CommitMessage m;
  std::copy_n(payload.begin(), 32, m.nonce.begin());
  if (with_commitment) {
    Hash32 c{};
    std::copy_n(payload.begin() + 32, 32, c.begin());
    m.commitment = c;
  }
  return m;
}

void Round1Record::AddOwn(uint32_t self, const Envelope& e,
                          const CommitMessage& m) {
  envelopes[self] = e;
  if (m.commitment.has_value()) {
    commitments[self] = *m.commitment;
  }
}

absl::Status Round1Record::Collect(
    const RoundInput& in, const std::vector<uint32_t>& peers,
    const Hash32& sid0, const std::function<bool(uint32_t)>& with_commitment,
    absl::string_view what) {
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  for (uint32_t j : peers) {
    const Envelope& e = in.broadcasts.at(j);
    KAGI_RETURN_IF_ERROR(CheckRound1Session(e, sid0));
    KAGI_ASSIGN_OR_RETURN(
        const CommitMessage m,
        CommitMessage::Decode(e.payload, j, with_commitment(j), what));
    AddOwn(j, e, m);
  }
  return absl::OkStatus();
}

std::vector<ByteSpan> Round1Record::Payloads() const {
  std::vector<ByteSpan> items;
  for (const auto& [id, e] : envelopes) {
    items.emplace_back(e.payload);
  }
  return items;
}

}  // namespace kagi::protocol::internal
