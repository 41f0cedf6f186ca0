#include "libs/policy/policy.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/status_macros.h"
#include "libs/chain/ethereum.h"
#include "libs/chain/script.h"
#include "libs/crypto/bip32.h"
#include "libs/policy/approval.h"
#include "libs/policy/networks.h"

namespace kagi::policy {
namespace {

constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kMaxWindowSeconds = 366ull * 24 * 3600;
constexpr size_t kMaxNameLength = 64;

template <typename... Args>
absl::Status Invalid(absl::string_view field, const Args&... parts) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", parts...));
}

absl::Status CheckName(absl::string_view field, absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return Invalid(field, "must be 1..", kMaxNameLength, " characters");
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_' && c != '.') {
      return Invalid(field, "'", name,
                     "': only letters, digits, '-', '_' and '.' are allowed");
    }
  }
  return absl::OkStatus();
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list,
              absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string QuorumText(const std::vector<v1::Quorum>& quorums) {
  std::vector<std::string> parts;
  for (const v1::Quorum& q : quorums) {
    parts.push_back(absl::StrCat(q.count(), " of ", q.group()));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, " + ");
}

// ChangeRule validates the policy's bitcoin_change section.
absl::StatusOr<chain::PsbtChangeRule> ChangeRule(
    const v1::BitcoinChange& proto) {
  chain::PsbtChangeRule rule;
  if (proto.branch() >= crypto::kBip32HardenedBit) {
    return Invalid("bitcoin_change.branch",
                   "must be below 2^31 (non-hardened)");
  }
  rule.branch = proto.branch();
  if (proto.index_limit() == 0 ||
      proto.index_limit() > crypto::kBip32HardenedBit) {
    return Invalid("bitcoin_change.index_limit", "must be 1..2^31");
  }
  rule.index_limit = proto.index_limit();
  if (proto.script_types().empty()) {
    return Invalid("bitcoin_change.script_types",
                   "at least one of \"p2wpkh\", \"p2pkh\"");
  }
  rule.script_types.clear();
  for (int i = 0; i < proto.script_types_size(); ++i) {
    const std::string field =
        absl::StrCat("bitcoin_change.script_types[", i, "]");
    const std::string& name = proto.script_types(i);
    chain::ScriptType type = chain::ScriptType::kOther;
    if (name == chain::ScriptTypeName(chain::ScriptType::kP2wpkh)) {
      type = chain::ScriptType::kP2wpkh;
    } else if (name == chain::ScriptTypeName(chain::ScriptType::kP2pkh)) {
      type = chain::ScriptType::kP2pkh;
    } else {
      return Invalid(field, "'", name,
                     "': the wallet signs only \"p2wpkh\" and \"p2pkh\"");
    }
    if (std::find(rule.script_types.begin(), rule.script_types.end(), type) !=
        rule.script_types.end()) {
      return Invalid(field, "'", name, "' is listed twice");
    }
    rule.script_types.push_back(type);
  }
  return rule;
}

// VelocityExcess returns "" when `add` on top of what `used` holds under
// `scope` stays within `max`, else "<before> already admitted in the last
// <window> s plus <what> <add> exceeds <max>". The one velocity rule, for a
// rule's own window and for the native asset's windows a token's gas uses.
std::string VelocityExcess(const VelocityUsed& used, const std::string& scope,
                           uint64_t window_seconds, absl::string_view what,
                           const Amount& add, const Amount& max) {
  auto it = used.find(scope);
  const Amount before = it == used.end() ? Amount() : it->second;
  absl::StatusOr<Amount> after = before.Add(add);
  if (after.ok() && *after <= max) return "";
  return absl::StrCat(before.ToString(), " already admitted in the last ",
                      window_seconds, " s plus ", what, add.ToString(),
                      " exceeds ", max.ToString());
}

}  // namespace

absl::StatusOr<std::string> NormalizeAddress(absl::string_view chain,
                                             absl::string_view address) {
  if (address.empty() || address.size() > 128) {
    return absl::InvalidArgumentError("address: must be 1..128 characters");
  }
  if (chain == kEthereum) {
    KAGI_ASSIGN_OR_RETURN(chain::EthAddress a, chain::ParseAddress(address));
    return chain::Eip55Checksum(a);
  }
  const std::string lower = absl::AsciiStrToLower(address);
  if (absl::StartsWith(lower, "bc1") || absl::StartsWith(lower, "tb1") ||
      absl::StartsWith(lower, "bcrt1")) {
    return lower;
  }
  return std::string(address);
}

absl::string_view NativeAsset(absl::string_view chain) {
  if (chain == kBitcoin) return "BTC";
  if (chain == kEthereum) return "ETH";
  return "";
}

std::string VelocityScope(absl::string_view rule, absl::string_view key_id,
                          absl::string_view asset) {
  return absl::StrCat(rule, "|", key_id, "|", asset);
}

std::string RequestFacts::Summary() const {
  std::string out = absl::StrCat(chain);
  if (!network.empty()) absl::StrAppend(&out, " ", network);
  if (!asset.empty()) absl::StrAppend(&out, " ", asset);
  absl::StrAppend(&out, " key ", key_id);
  if (!initiator.empty()) absl::StrAppend(&out, " from ", initiator);
  if (chain != kRawDigest) {
    std::vector<std::string> to;
    for (const Transfer& t : transfers) {
      to.push_back(absl::StrCat(t.amount.ToString(), " to ", t.destination));
    }
    absl::StrAppend(&out, ": ",
                    to.empty() ? std::string("no external transfer")
                               : absl::StrJoin(to, ", "),
                    "; total ", amount.ToString());
    if (asset == NativeAsset(chain)) {
      absl::StrAppend(&out, " incl. fee ", fee.ToString());
    } else {
      absl::StrAppend(&out, "; fee up to ", fee.ToString(), " ",
                      NativeAsset(chain));
    }
    if (contract_call) absl::StrAppend(&out, "; contract call");
  }
  for (const std::string& n : notes) absl::StrAppend(&out, "; ", n);
  return out;
}

std::string Decision::ToString() const {
  if (allowed) {
    return absl::StrCat("allowed by rule '", rule, "' with approvals of [",
                        absl::StrJoin(approvers, ","), "]");
  }
  return absl::StrCat("denied: ", absl::StrJoin(reasons, "; "));
}

absl::StatusOr<Policy> Policy::FromProto(v1::Policy proto) {
  Policy p;
  if (proto.version() != kFormatVersion) {
    return Invalid("version", "must be ", kFormatVersion, ", got ",
                   proto.version());
  }
  if (proto.revision().size() > 128) {
    return Invalid("revision", "at most 128 characters");
  }
  // Approvers and the groups they form.
  std::map<std::string, size_t> group_sizes;
  std::set<Bytes> keys;
  for (int i = 0; i < proto.approvers_size(); ++i) {
    const v1::Approver& a = proto.approvers(i);
    const std::string field = absl::StrCat("approvers[", i, "]");
    KAGI_RETURN_IF_ERROR(CheckName(absl::StrCat(field, ".name"), a.name()));
    if (p.FindApprover(a.name()) != nullptr) {
      return Invalid(field, "approver '", a.name(), "' is listed twice");
    }
    ApproverEntry e;
    e.name = a.name();
    absl::StatusOr<Bytes> key;
    switch (a.key_case()) {
      case v1::Approver::kEd25519PublicKey:
        e.scheme = ApproverEntry::Scheme::kEd25519;
        key = HexDecode(a.ed25519_public_key());
        break;
      case v1::Approver::kP256PublicKey:
        e.scheme = ApproverEntry::Scheme::kP256;
        key = HexDecode(a.p256_public_key());
        break;
      default:
        return Invalid(field, "set ed25519_public_key or p256_public_key");
    }
    if (!key.ok()) return Invalid(field, "public key is not hex");
    absl::Status st = CheckApproverKey(e.scheme, *key);
    if (!st.ok()) return Invalid(field, st.message());
    if (!keys.insert(*key).second) {
      return Invalid(field, "the same public key is listed for two approvers");
    }
    e.public_key = *std::move(key);
    if (a.groups().empty()) return Invalid(field, "must be in a group");
    for (int g = 0; g < a.groups_size(); ++g) {
      KAGI_RETURN_IF_ERROR(
          CheckName(absl::StrCat(field, ".groups[", g, "]"), a.groups(g)));
      if (!e.groups.insert(a.groups(g)).second) {
        return Invalid(field, "group '", a.groups(g), "' listed twice");
      }
      ++group_sizes[a.groups(g)];
    }
    p.approvers_.push_back(std::move(e));
  }
  auto check_quorums =
      [&](absl::string_view field,
          const google::protobuf::RepeatedPtrField<v1::Quorum>& quorums)
      -> absl::Status {
    std::set<std::string> seen;
    for (int q = 0; q < quorums.size(); ++q) {
      const std::string f = absl::StrCat(field, "[", q, "]");
      const v1::Quorum& quorum = quorums[q];
      if (!seen.insert(quorum.group()).second) {
        return Invalid(f, "group '", quorum.group(),
                       "' named twice; give one count");
      }
      if (quorum.count() == 0) return Invalid(f, "count must be at least 1");
      auto it = group_sizes.find(quorum.group());
      if (it == group_sizes.end()) {
        return Invalid(f, "no approver is in group '", quorum.group(), "'");
      }
      if (quorum.count() > it->second) {
        return Invalid(f, "needs ", quorum.count(), " of '", quorum.group(),
                       "' but the group has ", it->second, " approvers");
      }
    }
    return absl::OkStatus();
  };
  // Address books.
  std::map<std::string, std::pair<std::string, std::set<std::string>>> books;
  for (int i = 0; i < proto.address_books_size(); ++i) {
    const v1::AddressBook& b = proto.address_books(i);
    const std::string field = absl::StrCat("address_books[", i, "]");
    KAGI_RETURN_IF_ERROR(CheckName(absl::StrCat(field, ".name"), b.name()));
    if (b.chain() != kBitcoin && b.chain() != kEthereum) {
      return Invalid(absl::StrCat(field, ".chain"),
                     "must be \"bitcoin\" or \"ethereum\"");
    }
    auto& [chain, set] = books[b.name()];
    if (!chain.empty()) return Invalid(field, "name '", b.name(), "' reused");
    chain = b.chain();
    for (int j = 0; j < b.addresses_size(); ++j) {
      absl::StatusOr<std::string> a = NormalizeAddress(chain, b.addresses(j));
      if (!a.ok()) {
        return Invalid(absl::StrCat(field, ".addresses[", j, "]"),
                       a.status().message());
      }
      set.insert(*std::move(a));
    }
  }
  // Rules.
  std::set<std::string> rule_names;
  for (int i = 0; i < proto.rules_size(); ++i) {
    const v1::PolicyRule& r = proto.rules(i);
    const std::string field =
        absl::StrCat("rules[", i, "] '", r.name().substr(0, 64), "'");
    KAGI_RETURN_IF_ERROR(CheckName(absl::StrCat(field, ".name"), r.name()));
    if (!rule_names.insert(r.name()).second) {
      return Invalid(field, "rule name used twice");
    }
    for (int k = 0; k < r.key_ids_size(); ++k) {
      absl::StatusOr<Bytes> id = HexDecode(r.key_ids(k));
      if (!id.ok() || id->size() != 32 ||
          r.key_ids(k) != absl::AsciiStrToLower(r.key_ids(k))) {
        return Invalid(absl::StrCat(field, ".key_ids[", k, "]"),
                       "must be 64 lower-case hex characters");
      }
    }
    KAGI_RETURN_IF_ERROR(
        check_quorums(absl::StrCat(field, ".approvals"), r.approvals()));
    CompiledRule c;
    if (r.chain() == kRawDigest) {
      if (!r.networks().empty() || !r.assets().empty() ||
          !r.destinations().empty() || !r.address_books().empty() ||
          r.any_destination() || !r.max_amount().empty() || r.has_velocity() ||
          !r.tiers().empty() || r.max_fee() != 0 || r.allow_contract_calls()) {
        return Invalid(field,
                       "a raw_digest rule has no networks, assets, "
                       "destinations, amounts, velocity, tiers or fees: "
                       "nothing of a raw digest can be decoded");
      }
      p.rules_.push_back(std::move(c));
      continue;
    }
    if (r.chain() != kBitcoin && r.chain() != kEthereum) {
      return Invalid(absl::StrCat(field, ".chain"),
                     "must be \"bitcoin\", \"ethereum\" or \"raw_digest\"");
    }
    if (r.networks().empty()) {
      return Invalid(absl::StrCat(field, ".networks"), "at least one");
    }
    for (int k = 0; k < r.networks_size(); ++k) {
      const std::string& n = r.networks(k);
      if (!IsValidNetwork(r.chain(), n)) {
        return Invalid(absl::StrCat(field, ".networks[", k, "]"), "'", n,
                       r.chain() == kBitcoin
                           ? "': must be mainnet, testnet or regtest"
                           : "': must be a decimal chain id");
      }
    }
    if (r.assets().empty()) {
      return Invalid(absl::StrCat(field, ".assets"), "at least one");
    }
    for (int k = 0; k < r.assets_size(); ++k) {
      const std::string& a = r.assets(k);
      const std::string f = absl::StrCat(field, ".assets[", k, "]");
      if (r.chain() == kBitcoin) {
        if (a != "BTC") return Invalid(f, "bitcoin rules know only \"BTC\"");
      } else if (a != "ETH") {
        if (!absl::StartsWith(a, "ERC20:")) {
          return Invalid(f, "must be \"ETH\" or \"ERC20:<contract address>\"");
        }
        absl::StatusOr<std::string> contract =
            NormalizeAddress(kEthereum, a.substr(6));
        if (!contract.ok()) return Invalid(f, contract.status().message());
        if (*contract != a.substr(6)) {
          return Invalid(
              f, "write the contract address in EIP-55 form: ", *contract);
        }
      }
    }
    if (r.max_fee() == 0 &&
        std::any_of(r.assets().begin(), r.assets().end(),
                    [](const std::string& a) { return a != "ETH"; }) &&
        r.chain() == kEthereum) {
      return Invalid(absl::StrCat(field, ".max_fee"),
                     "required for a rule with ERC-20 assets: the gas of a "
                     "token transfer is not part of its amount");
    }
    for (int k = 0; k < r.destinations_size(); ++k) {
      absl::StatusOr<std::string> a =
          NormalizeAddress(r.chain(), r.destinations(k));
      if (!a.ok()) {
        return Invalid(absl::StrCat(field, ".destinations[", k, "]"),
                       a.status().message());
      }
      c.destinations.insert(*std::move(a));
    }
    for (int k = 0; k < r.address_books_size(); ++k) {
      auto it = books.find(r.address_books(k));
      const std::string f = absl::StrCat(field, ".address_books[", k, "]");
      if (it == books.end()) {
        return Invalid(f, "no address book '", r.address_books(k), "'");
      }
      if (it->second.first != r.chain()) {
        return Invalid(f, "address book '", r.address_books(k), "' is for ",
                       it->second.first);
      }
      c.destinations.insert(it->second.second.begin(), it->second.second.end());
    }
    if (r.any_destination() &&
        (!r.destinations().empty() || !r.address_books().empty())) {
      return Invalid(field,
                     "any_destination and an allowlist contradict each other");
    }
    if (!r.any_destination() && r.destinations().empty() &&
        r.address_books().empty()) {
      return Invalid(field,
                     "no destinations: list destinations or address_books, "
                     "or set any_destination explicitly");
    }
    {
      absl::StatusOr<Amount> max = Amount::Parse(r.max_amount());
      if (!max.ok()) {
        return Invalid(
            absl::StrCat(field, ".max_amount"),
            r.max_amount().empty() ? "required" : max.status().message());
      }
      c.max_amount = *max;
    }
    if (r.has_velocity()) {
      const std::string f = absl::StrCat(field, ".velocity");
      if (r.velocity().window_seconds() == 0 ||
          r.velocity().window_seconds() > kMaxWindowSeconds) {
        return Invalid(f, "window_seconds must be 1..", kMaxWindowSeconds);
      }
      absl::StatusOr<Amount> max = Amount::Parse(r.velocity().max_amount());
      if (!max.ok()) return Invalid(f, "max_amount: ", max.status().message());
      c.has_velocity = true;
      c.velocity_max = *max;
    }
    for (int k = 0; k < r.tiers_size(); ++k) {
      const std::string f = absl::StrCat(field, ".tiers[", k, "]");
      absl::StatusOr<Amount> above = Amount::Parse(r.tiers(k).above_amount());
      if (!above.ok()) {
        return Invalid(f, "above_amount: ", above.status().message());
      }
      if (r.tiers(k).approvals().empty()) {
        return Invalid(f, "approvals: at least one quorum");
      }
      KAGI_RETURN_IF_ERROR(
          check_quorums(absl::StrCat(f, ".approvals"), r.tiers(k).approvals()));
      c.tiers.emplace_back(
          *above, std::vector<v1::Quorum>(r.tiers(k).approvals().begin(),
                                          r.tiers(k).approvals().end()));
    }
    p.rules_.push_back(std::move(c));
  }
  if (proto.has_admin()) {
    KAGI_RETURN_IF_ERROR(
        check_quorums("admin.approvals", proto.admin().approvals()));
    for (int i = 0; i < proto.admin().initiators_size(); ++i) {
      if (proto.admin().initiators(i).empty()) {
        return Invalid(absl::StrCat("admin.initiators[", i, "]"),
                       "must not be empty");
      }
    }
  }
  if (proto.has_bitcoin_change()) {
    KAGI_ASSIGN_OR_RETURN(p.bitcoin_change_,
                          ChangeRule(proto.bitcoin_change()));
  }
  p.proto_ = std::move(proto);
  return p;
}

const ApproverEntry* Policy::FindApprover(absl::string_view name) const {
  for (const ApproverEntry& a : approvers_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::vector<VelocityQuery> Policy::VelocityQueries(
    const RequestFacts& facts) const {
  std::vector<VelocityQuery> out;
  for (int i = 0; i < proto_.rules_size(); ++i) {
    const v1::PolicyRule& r = proto_.rules(i);
    if (!rules_[static_cast<size_t>(i)].has_velocity ||
        r.chain() != facts.chain) {
      continue;
    }
    out.push_back({VelocityScope(r.name(), facts.key_id, facts.asset),
                   r.velocity().window_seconds()});
  }
  const absl::string_view native = NativeAsset(facts.chain);
  for (size_t i : GasRules(facts)) {
    const v1::PolicyRule& r = proto_.rules(static_cast<int>(i));
    out.push_back({VelocityScope(r.name(), facts.key_id, native),
                   r.velocity().window_seconds()});
  }
  return out;
}

std::vector<size_t> Policy::GasRules(const RequestFacts& facts) const {
  std::vector<size_t> out;
  const absl::string_view native = NativeAsset(facts.chain);
  if (native.empty() || facts.asset == native) return out;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const v1::PolicyRule& r = proto_.rules(static_cast<int>(i));
    if (r.chain() == facts.chain && rules_[i].has_velocity &&
        Contains(r.assets(), native) && Contains(r.networks(), facts.network) &&
        (r.key_ids().empty() || Contains(r.key_ids(), facts.key_id))) {
      out.push_back(i);
    }
  }
  return out;
}

std::vector<std::string> Policy::GasFailures(
    const RequestFacts& facts, const VelocityUsed& used,
    std::vector<Reservation>* gas) const {
  std::vector<std::string> why;
  const absl::string_view native = NativeAsset(facts.chain);
  for (size_t i : GasRules(facts)) {
    const v1::PolicyRule& r = proto_.rules(static_cast<int>(i));
    const std::string scope = VelocityScope(r.name(), facts.key_id, native);
    const std::string excess =
        VelocityExcess(used, scope, r.velocity().window_seconds(), "fee ",
                       facts.fee, rules_[i].velocity_max);
    if (!excess.empty()) {
      why.push_back(absl::StrCat("gas: velocity of rule '", r.name(), "' (",
                                 native, "): ", excess));
    }
    gas->push_back({scope, facts.fee});
  }
  return why;
}

std::string Policy::QuorumShortfall(
    const std::vector<v1::Quorum>& quorums,
    const std::set<std::string>& approvers) const {
  // Slots: one per required approval. Assign distinct approvers to slots by
  // augmenting paths (bipartite matching), so that an approver in two groups
  // fills one slot only.
  std::vector<std::string> slots;
  for (const v1::Quorum& q : quorums) {
    for (uint32_t k = 0; k < q.count(); ++k) slots.push_back(q.group());
  }
  std::vector<const ApproverEntry*> people;
  for (const std::string& name : approvers) {
    if (const ApproverEntry* a = FindApprover(name)) people.push_back(a);
  }
  std::vector<int> slot_owner(slots.size(), -1);
  std::function<bool(size_t, std::vector<bool>&)> assign =
      [&](size_t person, std::vector<bool>& visited) -> bool {
    for (size_t s = 0; s < slots.size(); ++s) {
      if (visited[s] || people[person]->groups.count(slots[s]) == 0) continue;
      visited[s] = true;
      if (slot_owner[s] < 0 ||
          assign(static_cast<size_t>(slot_owner[s]), visited)) {
        slot_owner[s] = static_cast<int>(person);
        return true;
      }
    }
    return false;
  };
  for (size_t person = 0; person < people.size(); ++person) {
    std::vector<bool> visited(slots.size(), false);
    assign(person, visited);
  }
  if (std::all_of(slot_owner.begin(), slot_owner.end(),
                  [](int o) { return o >= 0; })) {
    return "";
  }
  std::vector<std::string> have;
  for (const ApproverEntry* a : people) have.push_back(a->name);
  return absl::StrCat("approvals: needs ", QuorumText(quorums),
                      " (distinct approvers); valid approvals from [",
                      absl::StrJoin(have, ","), "]");
}

std::vector<std::string> Policy::RuleFailures(
    size_t index, const RequestFacts& facts,
    const std::set<std::string>& approvers, const VelocityUsed& used,
    bool check_initiator) const {
  const v1::PolicyRule& r = proto_.rules(static_cast<int>(index));
  const CompiledRule& c = rules_[index];
  std::vector<std::string> why;
  if (check_initiator && !r.initiators().empty() &&
      !Contains(r.initiators(), facts.initiator)) {
    why.push_back(absl::StrCat("initiator '", facts.initiator,
                               "' is not one of the rule's initiators"));
  }
  if (!r.key_ids().empty() && !Contains(r.key_ids(), facts.key_id)) {
    why.push_back("key is not one of the rule's keys");
  }
  std::vector<v1::Quorum> quorums(r.approvals().begin(), r.approvals().end());
  if (facts.chain != kRawDigest) {
    if (!Contains(r.networks(), facts.network)) {
      why.push_back(absl::StrCat("network ", facts.network, " is not allowed"));
    }
    if (!Contains(r.assets(), facts.asset)) {
      why.push_back(absl::StrCat("asset ", facts.asset, " is not allowed"));
    }
    if (!r.any_destination()) {
      for (const Transfer& t : facts.transfers) {
        if (c.destinations.count(t.destination) == 0) {
          why.push_back(absl::StrCat("destination ", t.destination,
                                     " is not in the allowlist"));
        }
      }
    }
    if (c.max_amount < facts.amount) {
      why.push_back(absl::StrCat("amount ", facts.amount.ToString(),
                                 " is above max_amount ",
                                 c.max_amount.ToString()));
    }
    if (r.max_fee() != 0 && Amount::FromU64(r.max_fee()) < facts.fee) {
      why.push_back(absl::StrCat("fee ", facts.fee.ToString(),
                                 " is above max_fee ", r.max_fee()));
    }
    if (facts.contract_call && !r.allow_contract_calls()) {
      why.push_back("contract call data or creation is not allowed");
    }
    if (c.has_velocity) {
      const std::string excess = VelocityExcess(
          used, VelocityScope(r.name(), facts.key_id, facts.asset),
          r.velocity().window_seconds(), "", facts.amount, c.velocity_max);
      if (!excess.empty()) why.push_back(absl::StrCat("velocity: ", excess));
    }
    for (const auto& [above, tier] : c.tiers) {
      if (above < facts.amount) {
        for (const v1::Quorum& extra : tier) {
          auto same = std::find_if(
              quorums.begin(), quorums.end(),
              [&](const v1::Quorum& q) { return q.group() == extra.group(); });
          if (same == quorums.end()) {
            quorums.push_back(extra);
          } else {
            same->set_count(same->count() + extra.count());
          }
        }
      }
    }
  }
  std::string shortfall = QuorumShortfall(quorums, approvers);
  if (!shortfall.empty()) why.push_back(std::move(shortfall));
  return why;
}

Decision Policy::Evaluate(const RequestFacts& facts,
                          const std::set<std::string>& approvers,
                          const VelocityUsed& used) const {
  return EvaluateWith(facts, approvers, used, /*check_initiator=*/true);
}

Decision Policy::EvaluateCompleted(
    const RequestFacts& facts, const std::set<std::string>& approvers) const {
  return EvaluateWith(facts, approvers, VelocityUsed(),
                      /*check_initiator=*/false);
}

Decision Policy::EvaluateWith(const RequestFacts& facts,
                              const std::set<std::string>& approvers,
                              const VelocityUsed& used,
                              bool check_initiator) const {
  Decision d;
  // The gas of a token transfer leaves in the native asset whichever rule
  // allows the transfer: when it does not fit, no rule allows the request
  // (each rule's own reasons are still listed).
  std::vector<Reservation> gas;
  d.reasons = GasFailures(facts, used, &gas);
  const bool gas_fits = d.reasons.empty();
  bool any = false;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const v1::PolicyRule& r = proto_.rules(static_cast<int>(i));
    if (r.chain() != facts.chain) continue;
    any = true;
    std::vector<std::string> why =
        RuleFailures(i, facts, approvers, used, check_initiator);
    if (why.empty() && !gas_fits) continue;
    if (why.empty()) {
      d.allowed = true;
      d.rule = r.name();
      d.reasons.clear();
      if (rules_[i].has_velocity) {
        d.reservations.push_back(
            {VelocityScope(r.name(), facts.key_id, facts.asset), facts.amount});
      }
      d.reservations.insert(d.reservations.end(), gas.begin(), gas.end());
      d.approvers.assign(approvers.begin(), approvers.end());
      return d;
    }
    d.reasons.push_back(
        absl::StrCat("rule '", r.name(), "': ", absl::StrJoin(why, ", ")));
  }
  if (!any) {
    d.reasons.push_back(absl::StrCat("no rule of policy revision '",
                                     proto_.revision(), "' allows chain ",
                                     facts.chain));
  }
  return d;
}

Decision Policy::EvaluateAdmin(const std::set<std::string>& approvers,
                               absl::string_view initiator) const {
  Decision d;
  if (!proto_.has_admin()) {
    d.reasons.push_back(absl::StrCat(
        "policy revision '", proto_.revision(),
        "' has no admin section: key creation, refresh and reshare are "
        "refused"));
    return d;
  }
  const auto& initiators = proto_.admin().initiators();
  if (std::find(initiators.begin(), initiators.end(), initiator) ==
      initiators.end()) {
    d.reasons.push_back(
        absl::StrCat("initiator '", initiator, "' is not in admin.initiators"));
    return d;
  }
  const std::vector<v1::Quorum> quorums(proto_.admin().approvals().begin(),
                                        proto_.admin().approvals().end());
  std::string shortfall = QuorumShortfall(quorums, approvers);
  if (!shortfall.empty()) {
    d.reasons.push_back(absl::StrCat("admin ", shortfall));
    return d;
  }
  d.allowed = true;
  d.rule = "admin";
  d.approvers.assign(approvers.begin(), approvers.end());
  return d;
}

}  // namespace kagi::policy
