#include "libs/protocol/phased_party.h"

#include "absl/strings/str_cat.h"

namespace kagi::protocol {

RoundSpec PhasedParty::expecting() const {
  if (failed_ || at_ == 0 || at_ > table_.phases.size()) {
    return {0, false, false};
  }
  return table_.phases[at_ - 1].expects;
}

bool PhasedParty::finished() const {
  return !failed_ && at_ == table_.phases.size() + 1;
}

absl::StatusOr<std::vector<Envelope>> PhasedParty::Start() {
  if (failed_ || at_ != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(table_.name, ": already started"));
  }
  absl::StatusOr<std::vector<Envelope>> out = table_.start();
  if (!out.ok()) {
    return Fail(out.status());
  }
  at_ = 1;
  return out;
}

absl::StatusOr<std::vector<Envelope>> PhasedParty::Advance(
    const RoundInput& input) {
  if (failed_) {
    return failure_;
  }
  if (at_ == 0 || at_ > table_.phases.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat(table_.name, ": not expecting a round"));
  }
  absl::StatusOr<std::vector<Envelope>> out = table_.phases[at_ - 1].run(input);
  if (!out.ok()) {
    return Fail(out.status());
  }
  ++at_;
  return out;
}

absl::Status PhasedParty::Fail(absl::Status st) {
  failed_ = true;
  failure_ = st;
  if (table_.wipe) {
    table_.wipe();
  }
  return st;
}

}  // namespace kagi::protocol
