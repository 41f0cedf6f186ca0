#include "services/node/consume_journal.h"

#include <utility>

namespace kagi::node {

ConsumeJournal::ConsumeJournal(storage::Store* store)
    : store_(store), writer_([this] { Loop(); }) {}

ConsumeJournal::~ConsumeJournal() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  writer_.join();
}

ConsumeJournal::Ticket ConsumeJournal::Submit(
    std::vector<storage::Store::PresignatureMark> marks) {
  Pending p;
  p.marks = std::move(marks);
  Ticket ticket = p.done.get_future().share();
  absl::MutexLock lock(&mu_);
  pending_.push_back(std::move(p));
  return ticket;
}

void ConsumeJournal::Loop() {
  while (true) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      batch.swap(pending_);
      if (batch.empty() && stop_) return;
    }
    std::vector<storage::Store::PresignatureMark> all;
    for (const Pending& p : batch) {
      all.insert(all.end(), p.marks.begin(), p.marks.end());
    }
    absl::StatusOr<std::vector<absl::Status>> results =
        store_->MarkPresignaturesConsumed(all);
    size_t next = 0;
    for (Pending& p : batch) {
      std::vector<absl::Status> mine;
      for (size_t i = 0; i < p.marks.size(); ++i, ++next) {
        mine.push_back(results.ok() ? (*results)[next] : results.status());
      }
      p.done.set_value(std::move(mine));
    }
  }
}

}  // namespace kagi::node
