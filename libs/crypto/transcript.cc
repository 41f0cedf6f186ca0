#include "libs/crypto/transcript.h"

#include "libs/base/check.h"

namespace kagi::crypto {

Transcript::Transcript(Tag tag) {
  buf_.reserve(256);
  AppendField(AsBytes(kDomain));
  const TagInfo& info = TagInfoFor(tag);
  std::array<uint8_t, 64> name{};
  KAGI_CHECK(info.name.size() < name.size());
  for (size_t i = 0; i < info.name.size(); ++i) {
    name[i] = static_cast<uint8_t>(info.name[i]);
  }
  name[info.name.size()] = info.version;
  AppendField(ByteSpan(name.data(), info.name.size() + 1));
}

void Transcript::AppendField(ByteSpan bytes) {
  KAGI_CHECK(bytes.size() <= UINT32_MAX);
  uint8_t len[4];
  StoreBigEndian32(static_cast<uint32_t>(bytes.size()), len);
  buf_.insert(buf_.end(), len, len + 4);
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

Transcript& Transcript::Add(ByteSpan bytes) {
  AppendField(bytes);
  return *this;
}

Transcript& Transcript::AddU32(uint32_t v) {
  uint8_t b[4];
  StoreBigEndian32(v, b);
  AppendField(ByteSpan(b, 4));
  return *this;
}

Transcript& Transcript::AddU64(uint64_t v) {
  uint8_t b[8];
  StoreBigEndian64(v, b);
  AppendField(ByteSpan(b, 8));
  return *this;
}

Transcript& Transcript::AddScalar(const Scalar& s) {
  std::array<uint8_t, 32> b = s.ToBytes();
  AppendField(b);
  SecureWipe(b.data(), b.size());
  return *this;
}

Transcript& Transcript::AddPoint(const Point& p) {
  AppendField(p.ToCompressed());
  return *this;
}

Transcript& Transcript::AddList(absl::Span<const ByteSpan> items) {
  std::vector<uint8_t, WipingAllocator<uint8_t>> field;
  uint8_t b[4];
  StoreBigEndian32(static_cast<uint32_t>(items.size()), b);
  field.insert(field.end(), b, b + 4);
  for (ByteSpan item : items) {
    StoreBigEndian32(static_cast<uint32_t>(item.size()), b);
    field.insert(field.end(), b, b + 4);
    field.insert(field.end(), item.begin(), item.end());
  }
  AppendField(ByteSpan(field.data(), field.size()));
  return *this;
}

Transcript& Transcript::AddPointList(absl::Span<const Point> points) {
  std::vector<std::array<uint8_t, Point::kCompressedBytes>> enc;
  enc.reserve(points.size());
  std::vector<ByteSpan> spans;
  spans.reserve(points.size());
  for (const Point& p : points) {
    enc.push_back(p.ToCompressed());
  }
  for (const auto& e : enc) {
    spans.emplace_back(e.data(), e.size());
  }
  return AddList(spans);
}

Digest32 Transcript::H() const {
  return Sha256(ByteSpan(buf_.data(), buf_.size()));
}

Scalar Transcript::Hn() const {
  std::array<uint8_t, 64> wide{};
  Shake256(ByteSpan(buf_.data(), buf_.size()), absl::MakeSpan(wide));
  Scalar s = Scalar::FromWideBytes(wide);
  SecureWipe(wide.data(), wide.size());
  return s;
}

void Transcript::Xof(absl::Span<uint8_t> out) const {
  Shake256(ByteSpan(buf_.data(), buf_.size()), out);
}

}  // namespace kagi::crypto
