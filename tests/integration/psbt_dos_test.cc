// One unapproved Sign call of a many-input PSBT must cost the nodes next to
// nothing: the input count is bounded right after the cheap decode (before
// any previous transaction is parsed or any sighash computed, and whatever
// the order of the approval check). The red team's 16000-input PSBT (wt-red1
// redteam_psbt_dos_test) cost each node ~12 s CPU before its refusal; node
// CPU time is read from /proc before and after the call.
#include <grpcpp/client_context.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/chain/bitcoin_tx.h"
#include "libs/chain/psbt.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"
#include "tools/kagictl/requests.h"

namespace kagi::integration {
namespace {

// utime+stime of `pid` in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  const size_t close = all.rfind(')');
  std::vector<std::string> f = absl::StrSplit(all.substr(close + 2), ' ');
  return static_cast<double>(std::stoll(f[11]) + std::stoll(f[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST(PsbtDosTest, UnapprovedManyInputPsbtRefusedCheaply) {
  ClusterConfig config;
  config.base_port = KAGI_IT_BASE_PORT;
  auto c = Cluster::Start(config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Cluster> cluster = *std::move(c);
  v1::KeyInfo key;
  ASSERT_TRUE(CreateKey(cluster->wallet(), 2, &key).ok());

  // 16000 inputs of the key's demo spend, each with its own previous tx.
  absl::StatusOr<Bytes> demo = kagictl::DemoPsbt(
      key, "regtest", kagictl::DemoBitcoinDestination(), 50000, 1000);
  ASSERT_TRUE(demo.ok()) << demo.status();
  absl::StatusOr<chain::Psbt> base = chain::DecodePsbt(*demo);
  ASSERT_TRUE(base.ok()) << base.status();
  constexpr size_t kInputs = 16000;
  chain::Psbt psbt = *base;
  psbt.tx.inputs.clear();
  psbt.inputs.clear();
  for (size_t i = 0; i < kInputs; ++i) {
    chain::Transaction prev = *base->inputs[0].non_witness_utxo;
    prev.inputs[0].prevout.index = static_cast<uint32_t>(i);  // new txid
    chain::TxIn in = base->tx.inputs[0];
    in.prevout.txid = chain::Txid(prev);
    psbt.tx.inputs.push_back(in);
    chain::PsbtInput pin = base->inputs[0];
    pin.non_witness_utxo = prev;
    psbt.inputs.push_back(pin);
  }
  const Bytes wire = chain::EncodePsbt(psbt);

  v1::SignRequest r;
  r.set_request_id(NewRequestId("dos"));
  r.set_key_id(key.key_id());
  r.set_expiry_unix_seconds(
      static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 600));
  r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt(
      std::string(wire.begin(), wire.end()));

  std::vector<double> before;
  for (int i = 1; i <= 3; ++i)
    before.push_back(CpuSeconds(*cluster->NodePid(i)));
  const absl::Time start = absl::Now();
  v1::SignResponse resp;
  grpc::Status st = Sign(cluster->wallet(), r, &resp, absl::Seconds(300));
  const absl::Duration took = absl::Now() - start;
  std::cerr << "[psbt dos] " << kInputs << "-input PSBT (" << wire.size()
            << " bytes, no approvals): " << Describe(st).substr(0, 300)
            << "; answered after " << absl::FormatDuration(took) << "\n";
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(),
              ::testing::HasSubstr(absl::StrCat(
                  "request ", r.request_id(),
                  ": payload.bitcoin_psbt.psbt: psbt: unsigned tx has 16000 "
                  "inputs; at most 64")));
  for (int i = 1; i <= 3; ++i) {
    const double used = CpuSeconds(*cluster->NodePid(i)) - before[i - 1];
    std::cerr << "[psbt dos] node-" << i << " CPU: " << used << " s\n";
    EXPECT_LT(used, 0.5) << "node-" << i;
  }
}

}  // namespace
}  // namespace kagi::integration
