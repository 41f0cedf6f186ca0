// File: services/node/refusal_limiter.h
//
// RefusalLimiter bounds what one client identity's refused requests cost a
// node: each refusal spends a token of the client's bucket (`burst` tokens,
// refilled at `per_second`); while the bucket holds less than one token,
// every request of that client is answered RESOURCE_EXHAUSTED at the door,
// without work and without an audit record of its own. The episode ends
// once the bucket is full again (the client refused nothing for
// burst / per_second seconds); TakeEnded then hands out its one summary,
// which the node writes as a single audit record.
//
// Bounded: at most `max_clients` buckets; past that, clients without a
// bucket share one ("(other clients)"). Thread-safe.
#ifndef KAGI_SERVICES_NODE_REFUSAL_LIMITER_H_
#define KAGI_SERVICES_NODE_REFUSAL_LIMITER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kagi::node {

struct RefusalLimits {
  double per_second = 10;
  double burst = 20;
  size_t max_clients = 4096;
};

// One limited episode of one client.
struct RefusalEpisode {
  std::string client;
  absl::Time first;
  absl::Time last;
  uint64_t suppressed = 0;  // requests answered RESOURCE_EXHAUSTED

  std::string Summary(const RefusalLimits& limits) const;
};

class RefusalLimiter {
 public:
  explicit RefusalLimiter(RefusalLimits limits) : limits_(limits) {}

  // Check: OK, or ResourceExhausted naming `client` (then counted).
  absl::Status Check(absl::string_view client, absl::Time now);
  // Refused: `client` was refused once (spends a token).
  void Refused(absl::string_view client, absl::Time now);
  // TakeEnded returns the episodes that have ended by `now`, once each.
  std::vector<RefusalEpisode> TakeEnded(absl::Time now);

  const RefusalLimits& limits() const { return limits_; }

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled;
    bool limited = false;
    RefusalEpisode episode;
  };
  Bucket& BucketOf(absl::string_view client, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Refill(Bucket& b, absl::Time now) const;

  const RefusalLimits limits_;
  absl::Mutex mu_;
  std::map<std::string, Bucket, std::less<>> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_REFUSAL_LIMITER_H_
