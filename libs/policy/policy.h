// File: libs/policy/policy.h
//
// A node's signing policy (docs/policy.md; format: proto/kagi/v1/policy.proto
// in text format). Loading validates the whole file: every error names the
// field ("rules[1] 'hot-wallet'.max_amount: ..."), and a node whose policy
// does not load does not start.
//
// Evaluation is a pure function of (policy, the facts the node decoded from
// the request, the approvers whose signatures verified, the velocity already
// used) returning allow or deny with every reason. Deny by default: a request
// is allowed only by a rule that matches every one of its facts and whose
// approval quorum is met; the first such rule (in file order) is named.
//
// Usage:
//   v1::Policy proto;
//   KAGI_RETURN_IF_ERROR(transport::LoadTextProto(path, &proto));
//   KAGI_ASSIGN_OR_RETURN(Policy policy, Policy::FromProto(std::move(proto)));
//   Decision d = policy.Evaluate(facts, verified_approvers, used);
//   if (!d.allowed) return absl::PermissionDeniedError(d.ToString());
#ifndef KAGI_LIBS_POLICY_POLICY_H_
#define KAGI_LIBS_POLICY_POLICY_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kagi/v1/policy.pb.h"
#include "libs/base/bytes.h"
#include "libs/chain/psbt_signer.h"
#include "libs/policy/amount.h"
#include "libs/policy/model.h"

namespace kagi::policy {

// Chains a rule can name.
inline constexpr absl::string_view kBitcoin = "bitcoin";
inline constexpr absl::string_view kEthereum = "ethereum";
inline constexpr absl::string_view kRawDigest = "raw_digest";

// NativeAsset is the asset a chain's fees are paid in: "BTC", "ETH"; "" for
// raw digests.
absl::string_view NativeAsset(absl::string_view chain);

// One value leaving the wallet to a destination that is not its own.
struct Transfer {
  std::string destination;  // address, normalised (bech32 lower, EIP-55)
  Amount amount;
};

// What a node decoded from a signing request: the facts policy judges.
struct RequestFacts {
  std::string initiator;  // "client/<CN>" as the gateway reported it
  std::string key_id;     // lower-case hex
  std::string chain;      // kBitcoin, kEthereum or kRawDigest
  std::string network;    // "regtest", ...; ethereum: decimal chain id
  std::string asset;      // "BTC", "ETH", "ERC20:<EIP-55 contract>"
  std::vector<Transfer> transfers;  // external outputs / the recipient
  Amount amount;                    // everything leaving: transfers + fee
  // The most the fee can be, in the chain's native asset (NativeAsset):
  // bitcoin satoshi, ethereum wei (gas_limit x max fee per gas). Part of
  // `amount` when the asset is the native one; for a token transfer it is
  // not, and counts against the native asset's velocity instead.
  Amount fee;
  bool contract_call = false;  // ethereum: other call data / creation
  // Human-readable lines for the audit record (inputs, change, ...).
  std::vector<std::string> notes;

  // Summary is one line for audit records and refusals.
  std::string Summary() const;
};

// A velocity window that applies to a request: the node sums what it
// admitted under `scope` since now - window_seconds and passes it back.
struct VelocityQuery {
  std::string scope;  // "<rule>|<key id>|<asset>"
  uint64_t window_seconds = 0;
};
using VelocityUsed = std::map<std::string, Amount>;  // scope -> sum

// An amount an admitted request reserves under a velocity scope.
struct Reservation {
  std::string scope;
  Amount amount;
};

struct Decision {
  bool allowed = false;
  std::string rule;                  // the allowing rule
  std::vector<std::string> reasons;  // deny: why each candidate rule failed
  std::vector<Reservation> reservations;  // allow: reserve each
  std::vector<std::string> approvers;     // allow: approvers counted

  std::string ToString() const;
};

class Policy {
 public:
  // FromProto validates a parsed policy file (transport::LoadTextProto
  // reads one) and compiles it into the model Evaluate reads (compile.h).
  static absl::StatusOr<Policy> FromProto(const v1::Policy& proto);

  const std::string& revision() const { return model_.revision; }
  // BitcoinChange: which self-payments are change (policy field
  // bitcoin_change; its defaults when absent).
  const chain::PsbtChangeRule& bitcoin_change() const {
    return model_.bitcoin_change;
  }
  // model is what the policy file compiled into (model.h).
  const PolicyModel& model() const { return model_; }

  // FindApprover returns the approver named `name`, or null.
  const ApproverEntry* FindApprover(absl::string_view name) const;

  // VelocityQueries lists the windows Evaluate needs for `facts`.
  std::vector<VelocityQuery> VelocityQueries(const RequestFacts& facts) const;

  // Evaluate decides a signing request. `approvers` are the names whose
  // signatures over the request digest verified (VerifyApprovals). A token
  // transfer's fee must also fit every native-asset velocity window that
  // covers the key and network (docs/policy.md "Fees and gas"); an allowed
  // request reserves its amount under the allowing rule's window and its
  // fee under those.
  Decision Evaluate(const RequestFacts& facts,
                    const std::set<std::string>& approvers,
                    const VelocityUsed& used) const;

  // EvaluateCompleted decides whether a request another member says it
  // completed is one this policy would have allowed: Evaluate without the
  // velocity used by others and without the rules' initiator lists (the
  // initiator is the gateway's word, not carried by the claim).
  Decision EvaluateCompleted(const RequestFacts& facts,
                             const std::set<std::string>& approvers) const;

  // EvaluateAdmin decides key creation, refresh and reshare: allowed when
  // the policy has an admin section, lists `initiator` among its admin
  // initiators and its quorum is met.
  Decision EvaluateAdmin(const std::set<std::string>& approvers,
                         absl::string_view initiator) const;

 private:
  explicit Policy(PolicyModel model) : model_(std::move(model)) {}
  Decision EvaluateWith(const RequestFacts& facts,
                        const std::set<std::string>& approvers,
                        const VelocityUsed& used, bool check_initiator) const;
  // GasFailures returns why the fee of a token transfer (`facts.asset` is
  // not the native asset) does not fit the native asset's velocity windows:
  // those of every rule of the chain that lists the native asset, covers the
  // key and network and has a velocity window. `gas` receives the
  // reservations the fee makes under those windows.
  std::vector<std::string> GasFailures(const RequestFacts& facts,
                                       const VelocityUsed& used,
                                       std::vector<Reservation>* gas) const;
  // GasRules: the rules whose velocity windows GasFailures counts the fee
  // under.
  std::vector<const Rule*> GasRules(const RequestFacts& facts) const;
  // RuleFailures returns why `rule` does not allow `facts` (empty: allows).
  std::vector<std::string> RuleFailures(const Rule& rule,
                                        const RequestFacts& facts,
                                        const std::set<std::string>& approvers,
                                        const VelocityUsed& used,
                                        bool check_initiator) const;
  // QuorumShortfall returns "" when distinct `approvers` fill every slot of
  // `quorums` (an approver fills at most one slot), else what is missing.
  std::string QuorumShortfall(const std::vector<Quorum>& quorums,
                              const std::set<std::string>& approvers) const;

  PolicyModel model_;
};

// NormalizeAddress: bech32 Bitcoin addresses to lower case, Ethereum
// addresses to EIP-55 (refusing a wrong checksum); others unchanged.
absl::StatusOr<std::string> NormalizeAddress(absl::string_view chain,
                                             absl::string_view address);

// VelocityScope is the scope string of VelocityQuery.
std::string VelocityScope(absl::string_view rule, absl::string_view key_id,
                          absl::string_view asset);

}  // namespace kagi::policy

#endif  // KAGI_LIBS_POLICY_POLICY_H_
