#include "libs/protocol/share_party.h"

namespace kagi::protocol {

absl::StatusOr<KeyShare> ShareParty::TakeShare() {
  if (!finished() || !outcome_.pending.has_value()) {
    return absl::FailedPreconditionError(not_final_);
  }
  KeyShare out = std::move(*outcome_.pending);
  outcome_.pending.reset();
  return out;
}

}  // namespace kagi::protocol
