// File: libs/protocol/phased_party.h
//
// The skeleton every protocol party (DKG, sign, reshare) runs on: a table
// of phases, one per round the party waits for, each with what it expects
// (RoundSpec) and the step that consumes that round's input and returns the
// next round's envelopes. The skeleton owns the dispatch and the rule that
// failure stays failed: once a step (or the start) returns an error the
// party wipes its secrets (the table's `wipe`) and every later Advance
// returns that same error.
//
// A concrete party builds its table in its constructor (steps are bound to
// its own state) and adds only what is its own: op(), its Create, its
// outputs.
#ifndef KAGI_LIBS_PROTOCOL_PHASED_PARTY_H_
#define KAGI_LIBS_PROTOCOL_PHASED_PARTY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/round.h"

namespace kagi::protocol {

class PhasedParty : public RoundProtocol {
 public:
  uint32_t self() const final { return table_.self; }
  const std::vector<uint32_t>& peers() const final { return table_.peers; }
  RoundSpec expecting() const final;
  absl::StatusOr<std::vector<Envelope>> Start() final;
  absl::StatusOr<std::vector<Envelope>> Advance(const RoundInput& input) final;
  bool finished() const final;

 protected:
  using Step =
      std::function<absl::StatusOr<std::vector<Envelope>>(const RoundInput&)>;
  struct Phase {
    RoundSpec expects;
    Step run;
  };
  struct Table {
    std::string name;  // error prefix: "dkg", "sign", "reshare"
    uint32_t self = 0;
    std::vector<uint32_t> peers;
    std::function<absl::StatusOr<std::vector<Envelope>>()> start;
    std::vector<Phase> phases;   // phases[k] waits for round expects.round
    std::function<void()> wipe;  // drops the secrets on failure
  };

  explicit PhasedParty(Table table) : table_(std::move(table)) {}

  // MakeTable builds the table of a state `s` that has `self`, `peers`,
  // Start() and Wipe(), from its round steps in order (the state must
  // outlive the party's use of the table).
  template <typename S>
  using Member =
      absl::StatusOr<std::vector<Envelope>> (S::*)(const RoundInput&);
  template <typename S>
  static Table MakeTable(std::string name, S* s,
                         std::vector<std::pair<RoundSpec, Member<S>>> steps) {
    Table t{
        std::move(name),   s->self, s->peers, [s] { return s->Start(); }, {},
        [s] { s->Wipe(); }};
    for (const auto& [spec, f] : steps) {
      t.phases.push_back(
          {spec, [s, f = f](const RoundInput& in) { return (s->*f)(in); }});
    }
    return t;
  }

 private:
  absl::Status Fail(absl::Status st);

  Table table_;
  // 0: not started; k in 1..phases.size(): waiting for phases[k-1];
  // phases.size() + 1: done.
  size_t at_ = 0;
  bool failed_ = false;
  absl::Status failure_;
};

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_PHASED_PARTY_H_
