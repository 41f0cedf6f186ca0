// Fuzz target: the policy file (docs/policy.md): protobuf text format parsed
// as transport::LoadTextProto does, then compiled by Policy::FromProto. A
// policy that compiles is evaluated for a Bitcoin, an Ethereum and a token
// request and for an admin change, so that what it compiled is used.
#include "kagi/v1/policy.pb.h"
#include "libs/policy/amount.h"
#include "libs/policy/policy.h"
#include "libs/transport/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace kagi::fuzz {
namespace {

policy::RequestFacts Facts(const std::string& chain, const std::string& network,
                           const std::string& asset, const std::string& dest) {
  policy::RequestFacts f;
  f.initiator = "client/backend";
  f.key_id = std::string(64, 'a');
  f.chain = chain;
  f.network = network;
  f.asset = asset;
  f.fee = policy::Amount::FromU64(1000);
  f.transfers.push_back({dest, policy::Amount::FromU64(250000)});
  f.amount = policy::Amount::FromU64(251000);
  return f;
}

}  // namespace
}  // namespace kagi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  fuzz::FuzzInput in(data, size);
  v1::Policy proto;
  const absl::Status parsed =
      transport::ParseTextProto(in.text(), "policy.textproto", &proto);
  fuzz::ExpectOkOrInputError(parsed, "ParseTextProto");
  if (!parsed.ok()) return 0;
  absl::StatusOr<policy::Policy> p = policy::Policy::FromProto(proto);
  fuzz::ExpectOkOrInputError(p.status(), "Policy::FromProto");
  if (!p.ok()) return 0;
  const std::set<std::string> approvers = {"alice", "bob", "carol"};
  for (const policy::RequestFacts& f :
       {fuzz::Facts("bitcoin", "regtest", "BTC",
                    "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"),
        fuzz::Facts("ethereum", "1337", "ETH",
                    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        fuzz::Facts("ethereum", "1",
                    "ERC20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
                    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")}) {
    policy::VelocityUsed used;
    for (const policy::VelocityQuery& q : p->VelocityQueries(f)) {
      used[q.scope] = policy::Amount::FromU64(q.window_seconds);
    }
    const policy::Decision d = p->Evaluate(f, approvers, used);
    KAGI_CHECK(!d.allowed || !d.rule.empty());
    (void)d.ToString();
  }
  (void)p->EvaluateAdmin(approvers, "client/ops").ToString();
  return 0;
}
