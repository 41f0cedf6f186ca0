// Fuzz target: the node's and the gateway's configuration files
// (libs/transport/config.h): selector byte 0 ParseNodeConfig, 1
// ParseGatewayConfig, both text format parsed strictly and validated field
// by field. Only InvalidArgument may come back.
#include "libs/transport/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  fuzz::FuzzInput in(data, size);
  absl::Status s;
  if (in.Select(2) == 0) {
    s = transport::ParseNodeConfig(in.text(), "node.conf").status();
  } else {
    s = transport::ParseGatewayConfig(in.text(), "gateway.conf").status();
  }
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) {
    std::fprintf(stderr, "config: unexpected status %s\n",
                 s.ToString().c_str());
    std::abort();
  }
  return 0;
}
