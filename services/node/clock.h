// File: services/node/clock.h
//
// Clock: where the node reads the time of day (request expiry, audit
// record times, policy velocity windows, refusal budgets). Production uses
// RealClock(); tests inject a FakeClock to put a request before or after
// its expiry without sleeping. Waits on the network (round timeouts, RPC
// deadlines: session_manager.h, grpc_transport.h) are not time of day and
// stay on absl::Now().
#ifndef KAGI_SERVICES_NODE_CLOCK_H_
#define KAGI_SERVICES_NODE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kagi::node {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  int64_t UnixSeconds() const { return absl::ToUnixSeconds(Now()); }
};

// RealClock: absl::Now(); one for the process, never destroyed.
const Clock* RealClock();

// FakeClock: a time that moves only when told (tests).
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_CLOCK_H_
