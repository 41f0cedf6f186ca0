#include "services/node/refusal_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kagi::node {
namespace {

constexpr absl::string_view kOverflow = "(other clients)";

}  // namespace

std::string RefusalEpisode::Summary(const RefusalLimits& limits) const {
  return absl::StrCat(
      client, ": ", suppressed,
      " requests answered RESOURCE_EXHAUSTED, not recorded one by one, from ",
      absl::FormatTime(first), " to ", absl::FormatTime(last), " (over ",
      limits.burst, " refusals at once or ", limits.per_second, " per second)");
}

void RefusalLimiter::Refill(Bucket& b, absl::Time now) const {
  if (now > b.refilled) {
    b.tokens = std::min(limits_.burst,
                        b.tokens + limits_.per_second *
                                       absl::ToDoubleSeconds(now - b.refilled));
    b.refilled = now;
  }
}

RefusalLimiter::Bucket& RefusalLimiter::BucketOf(absl::string_view client,
                                                 absl::Time now) {
  auto it = buckets_.find(client);
  if (it != buckets_.end()) return it->second;
  if (buckets_.size() >= limits_.max_clients) {
    // Forget clients whose bucket is full again and not in an episode.
    for (auto i = buckets_.begin(); i != buckets_.end();) {
      Refill(i->second, now);
      const bool idle = !i->second.limited && i->second.tokens >= limits_.burst;
      i = idle ? buckets_.erase(i) : std::next(i);
    }
  }
  const absl::string_view name =
      buckets_.size() >= limits_.max_clients ? kOverflow : client;
  auto [pos, inserted] = buckets_.try_emplace(std::string(name));
  if (inserted) {
    pos->second.tokens = limits_.burst;
    pos->second.refilled = now;
  }
  return pos->second;
}

absl::Status RefusalLimiter::Check(absl::string_view client, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Bucket& b = BucketOf(client, now);
  Refill(b, now);
  if (b.tokens >= 1) return absl::OkStatus();
  if (!b.limited) {
    b.limited = true;
    b.episode = RefusalEpisode{std::string(client), now, now, 0};
  }
  b.episode.last = now;
  ++b.episode.suppressed;
  return absl::ResourceExhaustedError(absl::StrCat(
      client, " has had too many requests refused (over ", limits_.burst,
      " at once or ", limits_.per_second,
      " per second): its requests are refused unread until its rate falls"));
}

void RefusalLimiter::Refused(absl::string_view client, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Bucket& b = BucketOf(client, now);
  Refill(b, now);
  b.tokens = std::max(0.0, b.tokens - 1);
}

std::vector<RefusalEpisode> RefusalLimiter::TakeEnded(absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::vector<RefusalEpisode> out;
  for (auto& [client, b] : buckets_) {
    if (!b.limited) continue;
    Refill(b, now);
    if (b.tokens < limits_.burst) continue;
    b.limited = false;
    out.push_back(std::move(b.episode));
  }
  return out;
}

}  // namespace kagi::node
