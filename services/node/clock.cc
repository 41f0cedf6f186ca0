#include "services/node/clock.h"

namespace kagi::node {
namespace {

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

const Clock* RealClock() {
  static const SystemClock* clock = new SystemClock;
  return clock;
}

}  // namespace kagi::node
