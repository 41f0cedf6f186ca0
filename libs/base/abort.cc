#include "libs/base/abort.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/optional.h"
#include "libs/base/bytes.h"

namespace kagi {
namespace {

bool ValidClass(uint8_t c) { return c >= 'A' && c <= 'D'; }

}  // namespace

absl::string_view AbortClassName(AbortClass abort_class) {
  switch (abort_class) {
    case AbortClass::kTimeout:
      return "A (timeout)";
    case AbortClass::kBlame:
      return "B (blame)";
    case AbortClass::kBan:
      return "C (ban)";
    case AbortClass::kInvalidSignature:
      return "D (invalid signature)";
  }
  return "?";
}

absl::Status AbortError(AbortClass abort_class, std::vector<uint32_t> culprits,
                        absl::string_view reason) {
  std::string who = culprits.empty()
                        ? std::string("no culprit")
                        : absl::StrCat("party ", absl::StrJoin(culprits, ","));
  absl::Status status(absl::StatusCode::kAborted,
                      absl::StrCat("abort class ", AbortClassName(abort_class),
                                   ": ", who, ": ", reason));
  // Payload: class byte ‖ u32 count ‖ u32 culprit...
  ByteWriter w;
  w.PutU8(static_cast<uint8_t>(abort_class));
  w.PutU32(static_cast<uint32_t>(culprits.size()));
  for (uint32_t c : culprits) {
    w.PutU32(c);
  }
  const Bytes& b = w.bytes();
  status.SetPayload(kAbortPayloadUrl,
                    absl::Cord(absl::string_view(
                        reinterpret_cast<const char*>(b.data()), b.size())));
  return status;
}

absl::Status BlameError(uint32_t culprit, absl::string_view reason) {
  return AbortError(AbortClass::kBlame, {culprit}, reason);
}

absl::Status BanError(uint32_t culprit, absl::string_view reason) {
  return AbortError(AbortClass::kBan, {culprit}, reason);
}

absl::Status BlameWith(uint32_t culprit, const absl::Status& cause) {
  if (cause.ok() || GetAbortInfo(cause).has_value()) {
    return cause;
  }
  return BlameError(culprit, cause.message());
}

std::optional<AbortInfo> GetAbortInfo(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAborted) {
    return std::nullopt;
  }
  absl::optional<absl::Cord> payload = status.GetPayload(kAbortPayloadUrl);
  if (!payload.has_value()) {
    return std::nullopt;
  }
  const std::string flat(*payload);
  ByteReader r(AsBytes(flat));
  absl::StatusOr<uint8_t> cls = r.ReadU8("abort.class");
  absl::StatusOr<uint32_t> n = r.ReadU32("abort.count");
  if (!cls.ok() || !n.ok() || !ValidClass(*cls) || *n > 1024) {
    return std::nullopt;
  }
  AbortInfo info;
  info.abort_class = static_cast<AbortClass>(*cls);
  for (uint32_t i = 0; i < *n; ++i) {
    absl::StatusOr<uint32_t> c = r.ReadU32("abort.culprit");
    if (!c.ok()) {
      return std::nullopt;
    }
    info.culprits.push_back(*c);
  }
  if (!r.ExpectEnd("abort").ok()) {
    return std::nullopt;
  }
  return info;
}

}  // namespace kagi
