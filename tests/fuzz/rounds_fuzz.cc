// Fuzz target: every round message of DKG, signing and refresh/reshare
// (libs/protocol: dkg.cc, sign.cc, reshare.cc, round.cc's echo). The
// selector byte picks one message party 2 sends party 1 in an honest
// 2-party session (fixtures.h RoundSlots: op, round, broadcast or direct);
// the rest of the input replaces its payload, signed by party 2 as a
// corrupted party would. Party 1 replays the session up to that round and
// processes it. It must either go on or abort with a protocol abort that
// blames no one but party 2 (kAborted; class A without culprit is allowed:
// a wrong session in round 1 cannot be attributed).
#include "libs/base/abort.h"
#include "tests/fuzz/fixtures.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  const std::vector<fuzz::RoundSlot>& slots = fuzz::RoundSlots();
  fuzz::FuzzInput in(data, size);
  const fuzz::RoundSlot& slot = slots[in.Select(slots.size())];
  const absl::Status s = fuzz::RunVictim(slot, in.rest());
  if (s.ok()) return 0;
  const std::optional<AbortInfo> info = GetAbortInfo(s);
  if (s.code() != absl::StatusCode::kAborted || !info.has_value()) {
    std::fprintf(stderr, "not a protocol abort: %s\n", s.ToString().c_str());
    std::abort();
  }
  for (uint32_t culprit : info->culprits) {
    if (culprit != 2) {
      std::fprintf(stderr, "blames party %u: %s\n", culprit,
                   s.ToString().c_str());
      std::abort();
    }
  }
  return 0;
}
