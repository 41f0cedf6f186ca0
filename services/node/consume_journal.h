// File: services/node/consume_journal.h
//
// ConsumeJournal makes presignature consumption durable with group commit.
// A signing session submits the ids of its presignatures as soon as it
// starts (they are keyed by sid0 and item, both known then), so the fsync
// runs in the background while the presigning rounds travel; the session's
// ConsumeHook then only waits for the ticket before a signature share leaves.
// One writer thread collects every pending submission and records them in
// one synced transaction (Store::MarkPresignaturesConsumed), so concurrent
// sessions share one fsync instead of queueing for one each.
//
// Marking a presignature consumed before it exists is safe: consumption only
// ever forbids use, and an on-demand presignature is never used outside its
// own session.
#ifndef KAGI_SERVICES_NODE_CONSUME_JOURNAL_H_
#define KAGI_SERVICES_NODE_CONSUME_JOURNAL_H_

#include <future>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "libs/storage/store.h"

namespace kagi::node {

class ConsumeJournal {
 public:
  // One status per submitted mark, in order.
  using Ticket = std::shared_future<std::vector<absl::Status>>;

  explicit ConsumeJournal(storage::Store* store);
  ~ConsumeJournal();
  ConsumeJournal(const ConsumeJournal&) = delete;
  ConsumeJournal& operator=(const ConsumeJournal&) = delete;

  // Submit queues `marks`; the ticket resolves once they are durable (or
  // with the storage error for each).
  Ticket Submit(std::vector<storage::Store::PresignatureMark> marks);

 private:
  struct Pending {
    std::vector<storage::Store::PresignatureMark> marks;
    std::promise<std::vector<absl::Status>> done;
  };
  void Loop();

  storage::Store* store_;
  absl::Mutex mu_;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_CONSUME_JOURNAL_H_
