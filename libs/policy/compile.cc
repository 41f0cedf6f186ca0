#include "libs/policy/compile.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/chain/script.h"
#include "libs/crypto/bip32.h"
#include "libs/policy/approval.h"
#include "libs/policy/networks.h"
#include "libs/policy/policy.h"

namespace kagi::policy {
namespace {

using google::protobuf::RepeatedPtrField;

constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kMaxWindowSeconds = 366ull * 24 * 3600;
constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxRevisionLength = 128;

template <typename... Args>
absl::Status Invalid(absl::string_view field, const Args&... parts) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", parts...));
}

std::string Indexed(absl::string_view field, int index) {
  return absl::StrCat(field, "[", index, "]");
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

std::set<std::string> ToSet(const RepeatedPtrField<std::string>& list) {
  return std::set<std::string>(list.begin(), list.end());
}

// --- Approvers --------------------------------------------------------------

// The approvers compiled so far and how many are in each group.
struct ApproverBook {
  std::vector<ApproverEntry> entries;
  std::set<Bytes> keys;
  std::map<std::string, size_t> group_sizes;

  bool Has(absl::string_view name) const {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const ApproverEntry& e) { return e.name == name; });
  }
};

absl::StatusOr<ApproverEntry::Scheme> ApproverScheme(absl::string_view field,
                                                     const v1::Approver& a,
                                                     std::string* hex) {
  switch (a.key_case()) {
    case v1::Approver::kEd25519PublicKey:
      *hex = a.ed25519_public_key();
      return ApproverEntry::Scheme::kEd25519;
    case v1::Approver::kP256PublicKey:
      *hex = a.p256_public_key();
      return ApproverEntry::Scheme::kP256;
    default:
      return Invalid(field, "set ed25519_public_key or p256_public_key");
  }
}

absl::Status CompileApproverKey(absl::string_view field, const v1::Approver& a,
                                ApproverBook& book, ApproverEntry& e) {
  std::string hex;
  KAGI_ASSIGN_OR_RETURN(e.scheme, ApproverScheme(field, a, &hex));
  absl::StatusOr<Bytes> key = HexDecode(hex);
  if (!key.ok()) return Invalid(field, "public key is not hex");
  absl::Status st = CheckApproverKey(e.scheme, *key);
  if (!st.ok()) return Invalid(field, st.message());
  if (!book.keys.insert(*key).second) {
    return Invalid(field, "the same public key is listed for two approvers");
  }
  e.public_key = *std::move(key);
  return absl::OkStatus();
}

absl::Status CompileApproverGroups(absl::string_view field,
                                   const v1::Approver& a, ApproverBook& book,
                                   ApproverEntry& e) {
  if (a.groups().empty()) return Invalid(field, "must be in a group");
  for (int g = 0; g < a.groups_size(); ++g) {
    KAGI_RETURN_IF_ERROR(
        CheckName(Indexed(absl::StrCat(field, ".groups"), g), a.groups(g)));
    if (!e.groups.insert(a.groups(g)).second) {
      return Invalid(field, "group '", a.groups(g), "' listed twice");
    }
    ++book.group_sizes[a.groups(g)];
  }
  return absl::OkStatus();
}

absl::Status CompileApprover(int index, const v1::Approver& a,
                             ApproverBook& book) {
  const std::string field = Indexed("approvers", index);
  KAGI_RETURN_IF_ERROR(CheckName(absl::StrCat(field, ".name"), a.name()));
  if (book.Has(a.name())) {
    return Invalid(field, "approver '", a.name(), "' is listed twice");
  }
  ApproverEntry e;
  e.name = a.name();
  KAGI_RETURN_IF_ERROR(CompileApproverKey(field, a, book, e));
  KAGI_RETURN_IF_ERROR(CompileApproverGroups(field, a, book, e));
  book.entries.push_back(std::move(e));
  return absl::OkStatus();
}

// CompileQuorums checks that every quorum names a distinct group with enough
// approvers in it.
absl::StatusOr<std::vector<Quorum>> CompileQuorums(
    absl::string_view field, const RepeatedPtrField<v1::Quorum>& quorums,
    const ApproverBook& book) {
  std::vector<Quorum> out;
  std::set<std::string> seen;
  for (int q = 0; q < quorums.size(); ++q) {
    const std::string f = Indexed(field, q);
    const v1::Quorum& quorum = quorums[q];
    if (!seen.insert(quorum.group()).second) {
      return Invalid(f, "group '", quorum.group(),
                     "' named twice; give one count");
    }
    if (quorum.count() == 0) return Invalid(f, "count must be at least 1");
    auto it = book.group_sizes.find(quorum.group());
    if (it == book.group_sizes.end()) {
      return Invalid(f, "no approver is in group '", quorum.group(), "'");
    }
    if (quorum.count() > it->second) {
      return Invalid(f, "needs ", quorum.count(), " of '", quorum.group(),
                     "' but the group has ", it->second, " approvers");
    }
    out.push_back({quorum.group(), quorum.count()});
  }
  return out;
}

// --- Address books ----------------------------------------------------------

struct AddressBook {
  std::string chain;
  std::set<std::string> addresses;
};
using AddressBooks = std::map<std::string, AddressBook>;

absl::StatusOr<std::set<std::string>> NormalizeAll(
    absl::string_view field, absl::string_view chain,
    const RepeatedPtrField<std::string>& addresses) {
  std::set<std::string> out;
  for (int j = 0; j < addresses.size(); ++j) {
    absl::StatusOr<std::string> a = NormalizeAddress(chain, addresses[j]);
    if (!a.ok()) return Invalid(Indexed(field, j), a.status().message());
    out.insert(*std::move(a));
  }
  return out;
}

absl::Status CompileAddressBook(int index, const v1::AddressBook& b,
                                AddressBooks& books) {
  const std::string field = Indexed("address_books", index);
  KAGI_RETURN_IF_ERROR(CheckName(absl::StrCat(field, ".name"), b.name()));
  if (b.chain() != kBitcoin && b.chain() != kEthereum) {
    return Invalid(absl::StrCat(field, ".chain"),
                   "must be \"bitcoin\" or \"ethereum\"");
  }
  AddressBook& book = books[b.name()];
  if (!book.chain.empty()) {
    return Invalid(field, "name '", b.name(), "' reused");
  }
  book.chain = b.chain();
  KAGI_ASSIGN_OR_RETURN(
      book.addresses, NormalizeAll(absl::StrCat(field, ".addresses"), b.chain(),
                                   b.addresses()));
  return absl::OkStatus();
}

// --- Rules ------------------------------------------------------------------

// The context a rule compiles in.
struct RuleContext {
  const ApproverBook& approvers;
  const AddressBooks& books;
};

absl::Status CheckKeyIds(absl::string_view field, const v1::PolicyRule& r) {
  for (int k = 0; k < r.key_ids_size(); ++k) {
    absl::StatusOr<Bytes> id = HexDecode(r.key_ids(k));
    if (!id.ok() || id->size() != 32 ||
        r.key_ids(k) != absl::AsciiStrToLower(r.key_ids(k))) {
      return Invalid(Indexed(absl::StrCat(field, ".key_ids"), k),
                     "must be 64 lower-case hex characters");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRawDigestRule(absl::string_view field,
                                const v1::PolicyRule& r) {
  if (!r.networks().empty() || !r.assets().empty() ||
      !r.destinations().empty() || !r.address_books().empty() ||
      r.any_destination() || !r.max_amount().empty() || r.has_velocity() ||
      !r.tiers().empty() || r.max_fee() != 0 || r.allow_contract_calls()) {
    return Invalid(field,
                   "a raw_digest rule has no networks, assets, "
                   "destinations, amounts, velocity, tiers or fees: "
                   "nothing of a raw digest can be decoded");
  }
  return absl::OkStatus();
}

absl::Status CheckNetworks(absl::string_view field, const v1::PolicyRule& r) {
  if (r.networks().empty()) {
    return Invalid(absl::StrCat(field, ".networks"), "at least one");
  }
  for (int k = 0; k < r.networks_size(); ++k) {
    const std::string& n = r.networks(k);
    if (!IsValidNetwork(r.chain(), n)) {
      return Invalid(Indexed(absl::StrCat(field, ".networks"), k), "'", n,
                     r.chain() == kBitcoin
                         ? "': must be mainnet, testnet or regtest"
                         : "': must be a decimal chain id");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAsset(absl::string_view field, absl::string_view chain,
                        const std::string& a) {
  if (chain == kBitcoin) {
    if (a != "BTC") return Invalid(field, "bitcoin rules know only \"BTC\"");
    return absl::OkStatus();
  }
  if (a == "ETH") return absl::OkStatus();
  if (!absl::StartsWith(a, "ERC20:")) {
    return Invalid(field, "must be \"ETH\" or \"ERC20:<contract address>\"");
  }
  absl::StatusOr<std::string> contract =
      NormalizeAddress(kEthereum, a.substr(6));
  if (!contract.ok()) return Invalid(field, contract.status().message());
  if (*contract != a.substr(6)) {
    return Invalid(field,
                   "write the contract address in EIP-55 form: ", *contract);
  }
  return absl::OkStatus();
}

absl::Status CheckAssets(absl::string_view field, const v1::PolicyRule& r) {
  if (r.assets().empty()) {
    return Invalid(absl::StrCat(field, ".assets"), "at least one");
  }
  for (int k = 0; k < r.assets_size(); ++k) {
    KAGI_RETURN_IF_ERROR(CheckAsset(Indexed(absl::StrCat(field, ".assets"), k),
                                    r.chain(), r.assets(k)));
  }
  const bool has_token =
      std::any_of(r.assets().begin(), r.assets().end(),
                  [](const std::string& a) { return a != "ETH"; });
  if (r.max_fee() == 0 && has_token && r.chain() == kEthereum) {
    return Invalid(absl::StrCat(field, ".max_fee"),
                   "required for a rule with ERC-20 assets: the gas of a "
                   "token transfer is not part of its amount");
  }
  return absl::OkStatus();
}

absl::Status CompileDestinations(absl::string_view field,
                                 const v1::PolicyRule& r,
                                 const AddressBooks& books, Rule& c) {
  KAGI_ASSIGN_OR_RETURN(c.destinations,
                        NormalizeAll(absl::StrCat(field, ".destinations"),
                                     r.chain(), r.destinations()));
  for (int k = 0; k < r.address_books_size(); ++k) {
    auto it = books.find(r.address_books(k));
    const std::string f = Indexed(absl::StrCat(field, ".address_books"), k);
    if (it == books.end()) {
      return Invalid(f, "no address book '", r.address_books(k), "'");
    }
    if (it->second.chain != r.chain()) {
      return Invalid(f, "address book '", r.address_books(k), "' is for ",
                     it->second.chain);
    }
    c.destinations.insert(it->second.addresses.begin(),
                          it->second.addresses.end());
  }
  const bool listed = !r.destinations().empty() || !r.address_books().empty();
  if (r.any_destination() && listed) {
    return Invalid(field,
                   "any_destination and an allowlist contradict each other");
  }
  if (!r.any_destination() && !listed) {
    return Invalid(field,
                   "no destinations: list destinations or address_books, "
                   "or set any_destination explicitly");
  }
  c.any_destination = r.any_destination();
  return absl::OkStatus();
}

absl::Status CompileAmounts(absl::string_view field, const v1::PolicyRule& r,
                            Rule& c) {
  absl::StatusOr<Amount> max = Amount::Parse(r.max_amount());
  if (!max.ok()) {
    return Invalid(
        absl::StrCat(field, ".max_amount"),
        r.max_amount().empty() ? "required" : max.status().message());
  }
  c.max_amount = *max;
  if (r.has_velocity()) {
    const std::string f = absl::StrCat(field, ".velocity");
    const uint64_t window = r.velocity().window_seconds();
    if (window == 0 || window > kMaxWindowSeconds) {
      return Invalid(f, "window_seconds must be 1..", kMaxWindowSeconds);
    }
    absl::StatusOr<Amount> velocity_max =
        Amount::Parse(r.velocity().max_amount());
    if (!velocity_max.ok()) {
      return Invalid(f, "max_amount: ", velocity_max.status().message());
    }
    c.velocity = VelocityLimit{window, *velocity_max};
  }
  c.max_fee = r.max_fee();
  c.allow_contract_calls = r.allow_contract_calls();
  return absl::OkStatus();
}

absl::Status CompileTiers(absl::string_view field, const v1::PolicyRule& r,
                          const ApproverBook& approvers, Rule& c) {
  for (int k = 0; k < r.tiers_size(); ++k) {
    const std::string f = Indexed(absl::StrCat(field, ".tiers"), k);
    absl::StatusOr<Amount> above = Amount::Parse(r.tiers(k).above_amount());
    if (!above.ok()) {
      return Invalid(f, "above_amount: ", above.status().message());
    }
    if (r.tiers(k).approvals().empty()) {
      return Invalid(f, "approvals: at least one quorum");
    }
    KAGI_ASSIGN_OR_RETURN(std::vector<Quorum> quorums,
                          CompileQuorums(absl::StrCat(f, ".approvals"),
                                         r.tiers(k).approvals(), approvers));
    c.tiers.push_back({*above, std::move(quorums)});
  }
  return absl::OkStatus();
}

// CompileTransferRule compiles what a bitcoin or ethereum rule judges of a
// decoded transaction.
absl::Status CompileTransferRule(absl::string_view field,
                                 const v1::PolicyRule& r,
                                 const RuleContext& ctx, Rule& c) {
  if (r.chain() != kBitcoin && r.chain() != kEthereum) {
    return Invalid(absl::StrCat(field, ".chain"),
                   "must be \"bitcoin\", \"ethereum\" or \"raw_digest\"");
  }
  KAGI_RETURN_IF_ERROR(CheckNetworks(field, r));
  KAGI_RETURN_IF_ERROR(CheckAssets(field, r));
  KAGI_RETURN_IF_ERROR(CompileDestinations(field, r, ctx.books, c));
  KAGI_RETURN_IF_ERROR(CompileAmounts(field, r, c));
  KAGI_RETURN_IF_ERROR(CompileTiers(field, r, ctx.approvers, c));
  c.networks = ToSet(r.networks());
  c.assets = ToSet(r.assets());
  return absl::OkStatus();
}

absl::StatusOr<Rule> CompileRule(int index, const v1::PolicyRule& r,
                                 const RuleContext& ctx,
                                 std::set<std::string>& names) {
  const std::string field =
      absl::StrCat("rules[", index, "] '", r.name().substr(0, 64), "'");
  KAGI_RETURN_IF_ERROR(CheckName(absl::StrCat(field, ".name"), r.name()));
  if (!names.insert(r.name()).second) {
    return Invalid(field, "rule name used twice");
  }
  KAGI_RETURN_IF_ERROR(CheckKeyIds(field, r));
  Rule c;
  c.name = r.name();
  c.chain = r.chain();
  c.initiators = ToSet(r.initiators());
  c.key_ids = ToSet(r.key_ids());
  KAGI_ASSIGN_OR_RETURN(c.approvals,
                        CompileQuorums(absl::StrCat(field, ".approvals"),
                                       r.approvals(), ctx.approvers));
  if (r.chain() == kRawDigest) {
    KAGI_RETURN_IF_ERROR(CheckRawDigestRule(field, r));
  } else {
    KAGI_RETURN_IF_ERROR(CompileTransferRule(field, r, ctx, c));
  }
  return c;
}

// --- Admin and change -------------------------------------------------------

absl::StatusOr<AdminSection> CompileAdmin(const v1::AdminPolicy& admin,
                                          const ApproverBook& approvers) {
  AdminSection out;
  KAGI_ASSIGN_OR_RETURN(
      out.approvals,
      CompileQuorums("admin.approvals", admin.approvals(), approvers));
  for (int i = 0; i < admin.initiators_size(); ++i) {
    if (admin.initiators(i).empty()) {
      return Invalid(Indexed("admin.initiators", i), "must not be empty");
    }
  }
  out.initiators = ToSet(admin.initiators());
  return out;
}

absl::StatusOr<chain::ScriptType> ChangeScriptType(absl::string_view field,
                                                   const std::string& name) {
  for (chain::ScriptType type :
       {chain::ScriptType::kP2wpkh, chain::ScriptType::kP2pkh}) {
    if (name == chain::ScriptTypeName(type)) return type;
  }
  return Invalid(field, "'", name,
                 "': the wallet signs only \"p2wpkh\" and \"p2pkh\"");
}

// CompileChange validates the policy's bitcoin_change section.
absl::StatusOr<chain::PsbtChangeRule> CompileChange(
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
    const std::string field = Indexed("bitcoin_change.script_types", i);
    const std::string& name = proto.script_types(i);
    KAGI_ASSIGN_OR_RETURN(chain::ScriptType type,
                          ChangeScriptType(field, name));
    if (std::find(rule.script_types.begin(), rule.script_types.end(), type) !=
        rule.script_types.end()) {
      return Invalid(field, "'", name, "' is listed twice");
    }
    rule.script_types.push_back(type);
  }
  return rule;
}

absl::Status CheckHeader(const v1::Policy& proto) {
  if (proto.version() != kFormatVersion) {
    return Invalid("version", "must be ", kFormatVersion, ", got ",
                   proto.version());
  }
  if (proto.revision().size() > kMaxRevisionLength) {
    return Invalid("revision", "at most ", kMaxRevisionLength, " characters");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PolicyModel> CompilePolicy(const v1::Policy& proto) {
  KAGI_RETURN_IF_ERROR(CheckHeader(proto));
  PolicyModel model;
  model.revision = proto.revision();
  ApproverBook approvers;
  for (int i = 0; i < proto.approvers_size(); ++i) {
    KAGI_RETURN_IF_ERROR(CompileApprover(i, proto.approvers(i), approvers));
  }
  AddressBooks books;
  for (int i = 0; i < proto.address_books_size(); ++i) {
    KAGI_RETURN_IF_ERROR(CompileAddressBook(i, proto.address_books(i), books));
  }
  const RuleContext ctx{approvers, books};
  std::set<std::string> rule_names;
  for (int i = 0; i < proto.rules_size(); ++i) {
    KAGI_ASSIGN_OR_RETURN(Rule rule,
                          CompileRule(i, proto.rules(i), ctx, rule_names));
    model.rules.push_back(std::move(rule));
  }
  if (proto.has_admin()) {
    KAGI_ASSIGN_OR_RETURN(model.admin, CompileAdmin(proto.admin(), approvers));
  }
  if (proto.has_bitcoin_change()) {
    KAGI_ASSIGN_OR_RETURN(model.bitcoin_change,
                          CompileChange(proto.bitcoin_change()));
  }
  model.approvers = std::move(approvers.entries);
  return model;
}

}  // namespace kagi::policy
