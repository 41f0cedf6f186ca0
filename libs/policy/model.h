// File: libs/policy/model.h
//
// The compiled policy: plain C++ values that compile.h builds from a
// validated policy file (proto/kagi/v1/policy.proto) and that Policy
// evaluates. Nothing here refers to protobuf, so the evaluator reads only
// these types. Every value is already checked when it exists in a
// PolicyModel: names are well formed, addresses normalised, amounts parsed,
// quorums satisfiable by the approvers listed.
#ifndef KAGI_LIBS_POLICY_MODEL_H_
#define KAGI_LIBS_POLICY_MODEL_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libs/base/bytes.h"
#include "libs/chain/psbt_signer.h"
#include "libs/policy/amount.h"

namespace kagi::policy {

// One approver of the policy and the key its approvals verify under.
struct ApproverEntry {
  enum class Scheme { kEd25519, kP256 };
  std::string name;
  std::set<std::string> groups;
  Scheme scheme = Scheme::kEd25519;
  Bytes public_key;  // 32 bytes Ed25519, or the SEC1 point
};

// `count` distinct approvers of `group`.
struct Quorum {
  std::string group;
  uint32_t count = 0;
};

// A rule's velocity window: at most `max_amount` admitted under the rule,
// key and asset in the last `window_seconds`.
struct VelocityLimit {
  uint64_t window_seconds = 0;
  Amount max_amount;
};

// Above `above`, these quorums add to the rule's own.
struct ApprovalTier {
  Amount above;
  std::vector<Quorum> approvals;
};

// One rule of the policy (docs/policy.md "Rules"). A raw_digest rule uses
// only name, chain, initiators, key_ids and approvals.
struct Rule {
  std::string name;
  std::string chain;                 // kBitcoin, kEthereum or kRawDigest
  std::set<std::string> initiators;  // empty: any initiator
  std::set<std::string> key_ids;     // empty: any key
  std::set<std::string> networks;
  std::set<std::string> assets;
  bool any_destination = false;
  std::set<std::string> destinations;  // normalised, address books included
  Amount max_amount;
  std::optional<VelocityLimit> velocity;
  std::vector<ApprovalTier> tiers;
  uint64_t max_fee = 0;  // 0: no fee limit
  bool allow_contract_calls = false;
  std::vector<Quorum> approvals;
};

// Who may create, refresh and reshare keys.
struct AdminSection {
  std::set<std::string> initiators;
  std::vector<Quorum> approvals;
};

struct PolicyModel {
  std::string revision;
  std::vector<ApproverEntry> approvers;
  std::vector<Rule> rules;  // file order: the first allowing rule is named
  std::optional<AdminSection> admin;
  chain::PsbtChangeRule bitcoin_change;
};

}  // namespace kagi::policy

#endif  // KAGI_LIBS_POLICY_MODEL_H_
