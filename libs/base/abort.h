// File: libs/base/abort.h
//
// Protocol aborts as absl::Status values that carry their abort class and
// culprits (PROTOCOL.md §3.10), so they travel through StatusOr and
// KAGI_RETURN_IF_ERROR like any other error and map onto gRPC status details
// later.
//
//   A  kTimeout           timeout or missing message: abort, no blame
//   B  kBlame             malformed or failing a check, from an authenticated
//                         sender: abort and record blame with the evidence
//   C  kBan               COTe check, mu or Gamma failure: BAN the
//                         counterparty until a refresh gives fresh base OTs
//   D  kInvalidSignature  the final signature does not verify: the
//                         presignature is burned and an incident is raised
//
// Every abort Status has code kAborted, a message "<class>: party <i>:
// <reason>", and a payload under kAbortPayloadUrl encoding the class and the
// culprits, which `GetAbortInfo` reads back.
#ifndef KAGI_LIBS_BASE_ABORT_H_
#define KAGI_LIBS_BASE_ABORT_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kagi {

enum class AbortClass : uint8_t {
  kTimeout = 'A',
  kBlame = 'B',
  kBan = 'C',
  kInvalidSignature = 'D',
};

inline constexpr absl::string_view kAbortPayloadUrl =
    "type.kagi.dev/kagi.AbortInfo";

struct AbortInfo {
  AbortClass abort_class = AbortClass::kTimeout;
  std::vector<uint32_t> culprits;  // party ids; empty when no one is blamed
};

// AbortError builds an abort Status blaming `culprits` (may be empty).
absl::Status AbortError(AbortClass abort_class, std::vector<uint32_t> culprits,
                        absl::string_view reason);

// Shorthands for one culprit.
absl::Status BlameError(uint32_t culprit, absl::string_view reason);
absl::Status BanError(uint32_t culprit, absl::string_view reason);

// BlameWith turns a decoding or check failure `cause` (for example the
// InvalidArgument of a ByteReader) into a class-B abort blaming `culprit`,
// keeping the cause's message. OK stays OK; an existing abort is returned
// unchanged (it already names its culprit).
absl::Status BlameWith(uint32_t culprit, const absl::Status& cause);

// GetAbortInfo returns the class and culprits of an abort Status, or nullopt
// for any other Status (including OK).
std::optional<AbortInfo> GetAbortInfo(const absl::Status& status);

// AbortClassName returns "A".."D" with a short name, e.g. "C (ban)".
absl::string_view AbortClassName(AbortClass abort_class);

}  // namespace kagi

#endif  // KAGI_LIBS_BASE_ABORT_H_
