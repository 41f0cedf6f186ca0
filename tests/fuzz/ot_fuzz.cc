// Fuzz target: the OT stack's messages between two nodes (libs/mpc):
// selector byte 0 base-OT msg1 (B answers it), 1 base-OT msg2 (A finishes
// with it), 2 COTe message (A extends with it), 3 RVOLE msg1 (A answers
// it, COTe check included), 4 RVOLE msg2 (B finishes with it). The
// receiving side is in the fixture's fixed state (fixtures.h), so the seeds
// are the honest messages and a mutation is judged against the state that
// expects them. Every refusal must be a protocol abort (kAborted with its
// class and culprit).
#include "libs/base/abort.h"
#include "libs/base/rng.h"
#include "tests/fuzz/fixtures.h"
#include "tests/fuzz/fuzz_util.h"

namespace kagi::fuzz {
namespace {

void ExpectAbort(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  if (s.code() != absl::StatusCode::kAborted || !GetAbortInfo(s).has_value()) {
    std::fprintf(stderr, "%s: not a protocol abort: %s\n", what,
                 s.ToString().c_str());
    std::abort();
  }
}

}  // namespace
}  // namespace kagi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  const fuzz::OtFixture& ot = fuzz::Ot();
  fuzz::FuzzInput in(data, size);
  InsecureDeterministicRng rng(5);
  switch (in.Select(5)) {
    case 0:
      fuzz::ExpectAbort(
          mpc::BaseOtSenderRespond(ot.base, in.rest(), rng).status(),
          "BaseOtSenderRespond");
      break;
    case 1: {
      Bytes msg1;
      mpc::BaseOtReceiver r = fuzz::StartBaseOtReceiver(&msg1);
      fuzz::ExpectAbort(std::move(r).Finish(in.rest()).status(),
                        "BaseOtReceiver::Finish");
      break;
    }
    case 2:
      fuzz::ExpectAbort(
          mpc::CoteSenderExtend(ot.a, ot.cote, in.rest()).status(),
          "CoteSenderExtend");
      break;
    case 3:
      fuzz::ExpectAbort(
          mpc::RvoleSenderRespond(ot.a, ot.rvole, ot.inputs, in.rest(), rng)
              .status(),
          "RvoleSenderRespond");
      break;
    default: {
      Bytes msg1;
      mpc::RvoleReceiver r = fuzz::StartRvoleReceiver(&msg1);
      fuzz::ExpectAbort(std::move(r).Finish(in.rest()).status(),
                        "RvoleReceiver::Finish");
      break;
    }
  }
  return 0;
}
