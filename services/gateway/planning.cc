// File: services/gateway/planning.cc
//
// The gateway's pure decisions; see planning.h.
#include "services/gateway/planning.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"

namespace kagi::gateway {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// CheckNodeList checks that `nodes` are configured and listed once.
absl::Status CheckNodeList(
    const google::protobuf::RepeatedPtrField<std::string>& nodes,
    absl::string_view field, absl::Span<const std::string> configured) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < nodes.size(); ++i) {
    const std::string& name = nodes[i];
    if (std::find(configured.begin(), configured.end(), name) ==
        configured.end()) {
      return FieldError(absl::StrCat(field, "[", i, "]"),
                        absl::StrCat("unknown node \"", absl::CHexEscape(name),
                                     "\" (configured: ",
                                     absl::StrJoin(configured, ", "), ")"));
    }
    if (!seen.insert(name).second) {
      return FieldError(absl::StrCat(field, "[", i, "]"),
                        absl::StrCat("node ", name, " is listed twice"));
    }
  }
  return absl::OkStatus();
}

std::string PathString(absl::Span<const uint32_t> path) {
  return path.empty() ? "m" : absl::StrCat("m/", absl::StrJoin(path, "/"));
}

std::string NodeList(const std::vector<std::string>& nodes) {
  return absl::StrCat("[", absl::StrJoin(nodes, ", "), "]");
}

}  // namespace

absl::Status ValidateRequestId(absl::string_view request_id,
                               absl::string_view field) {
  if (request_id.empty() || request_id.size() > kMaxRequestIdLength) {
    return FieldError(field,
                      absl::StrCat("must be 1..", kMaxRequestIdLength,
                                   " characters, got ", request_id.size()));
  }
  for (size_t i = 0; i < request_id.size(); ++i) {
    const char c = request_id[i];
    if (c < 0x21 || c > 0x7e) {
      return FieldError(
          field,
          absl::StrCat("character ", i,
                       " is not printable ASCII (0x21..0x7e, no spaces)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyId(absl::string_view key_id, absl::string_view field) {
  if (key_id.size() != kKeyIdBytes) {
    return FieldError(field, absl::StrCat("must be ", kKeyIdBytes,
                                          " bytes, got ", key_id.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidatePath(absl::Span<const uint32_t> path,
                          absl::string_view field) {
  if (path.size() > kMaxPathDepth) {
    return FieldError(field,
                      absl::StrCat("has ", path.size(), " steps (at most ",
                                   kMaxPathDepth, ")"));
  }
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] >= crypto::kBip32HardenedBit) {
      return FieldError(
          absl::StrCat(field, "[", i, "]"),
          absl::StrCat("index ", path[i],
                       " is hardened; a threshold key has no private key, "
                       "so only non-hardened (public) derivation is possible"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<chain::Network> ParseNetwork(absl::string_view name) {
  if (name.empty()) {
    return chain::Network::kMainnet;
  }
  absl::StatusOr<chain::Network> network = chain::NetworkFromName(name);
  if (!network.ok()) {
    return FieldError("network", network.status().message());
  }
  return network;
}

absl::StatusOr<std::vector<std::string>> ChooseDkgNodes(
    const kagi::v1::CreateKeyRequest& request,
    absl::Span<const std::string> configured_nodes) {
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  KAGI_RETURN_IF_ERROR(
      CheckNodeList(request.nodes(), "nodes", configured_nodes));
  std::vector<std::string> chosen =
      request.nodes().empty()
          ? std::vector<std::string>(configured_nodes.begin(),
                                     configured_nodes.end())
          : std::vector<std::string>(request.nodes().begin(),
                                     request.nodes().end());
  if (chosen.size() > static_cast<size_t>(kMaxParties)) {
    return FieldError("nodes",
                      absl::StrCat("has ", chosen.size(), " nodes (at most ",
                                   kMaxParties, ")"));
  }
  if (request.threshold() < 2 || request.threshold() > chosen.size()) {
    return FieldError("threshold", absl::StrCat("must be 2..", chosen.size(),
                                                " (the number of nodes), got ",
                                                request.threshold()));
  }
  return chosen;
}

absl::Status ValidateApprovals(
    const google::protobuf::RepeatedPtrField<kagi::v1::Approval>& approvals) {
  if (approvals.size() > kMaxApprovals) {
    return FieldError("approvals", absl::StrCat("at most ", kMaxApprovals,
                                                ", got ", approvals.size()));
  }
  for (int i = 0; i < approvals.size(); ++i) {
    if (approvals[i].approver().empty() ||
        approvals[i].approver().size() > 64) {
      return FieldError(absl::StrCat("approvals[", i, "].approver"),
                        "must be 1..64 characters");
    }
    if (approvals[i].signature().empty() ||
        approvals[i].signature().size() > 128) {
      return FieldError(absl::StrCat("approvals[", i, "].signature"),
                        "must be 1..128 bytes");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSignRequest(const kagi::v1::SignRequest& request) {
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  KAGI_RETURN_IF_ERROR(ValidateKeyId(request.key_id()));
  if (!request.has_payload()) {
    return FieldError("payload", "missing");
  }
  switch (request.payload().kind_case()) {
    case kagi::v1::SignPayload::kRawDigest:
      break;
    case kagi::v1::SignPayload::kBitcoinPsbt: {
      // Shape only: every node decodes and checks the PSBT itself.
      const auto& psbt = request.payload().bitcoin_psbt();
      if (psbt.network() != "mainnet" && psbt.network() != "testnet" &&
          psbt.network() != "regtest") {
        return FieldError("payload.bitcoin_psbt.network",
                          "must be mainnet, testnet or regtest");
      }
      if (psbt.psbt().empty()) {
        return FieldError("payload.bitcoin_psbt.psbt", "missing");
      }
      return ValidateApprovals(request.approvals());
    }
    case kagi::v1::SignPayload::kEthereumTx:
      if (request.payload().ethereum_tx().unsigned_tx().empty()) {
        return FieldError("payload.ethereum_tx.unsigned_tx", "missing");
      }
      KAGI_RETURN_IF_ERROR(ValidatePath(request.payload().ethereum_tx().path(),
                                        "payload.ethereum_tx.path"));
      return ValidateApprovals(request.approvals());
    case kagi::v1::SignPayload::KIND_NOT_SET:
      return FieldError("payload", "no payload kind set");
  }
  const auto& items = request.payload().raw_digest().items();
  if (items.empty() || items.size() > kMaxSignItems) {
    return FieldError("payload.raw_digest.items",
                      absl::StrCat("must have 1..", kMaxSignItems,
                                   " items, got ", items.size()));
  }
  for (int i = 0; i < items.size(); ++i) {
    const std::string field = absl::StrCat("payload.raw_digest.items[", i, "]");
    if (items[i].digest().size() != kDigestBytes) {
      return FieldError(absl::StrCat(field, ".digest"),
                        absl::StrCat("must be ", kDigestBytes, " bytes, got ",
                                     items[i].digest().size()));
    }
    KAGI_RETURN_IF_ERROR(
        ValidatePath(items[i].path(), absl::StrCat(field, ".path")));
  }
  return ValidateApprovals(request.approvals());
}

absl::Status CheckDealers(
    const google::protobuf::RepeatedField<uint32_t>& dealers,
    const kagi::v1::KeyInfo& key) {
  if (static_cast<uint32_t>(dealers.size()) != key.threshold()) {
    return FieldError("dealers",
                      absl::StrCat("must name exactly ", key.threshold(),
                                   " parties of the key (its threshold), got ",
                                   dealers.size()));
  }
  for (int i = 0; i < dealers.size(); ++i) {
    if (dealers.Get(i) < 1 ||
        dealers.Get(i) > static_cast<uint32_t>(key.parties_size())) {
      return FieldError(absl::StrCat("dealers[", i, "]"),
                        absl::StrCat("party ", dealers.Get(i),
                                     " is not a party of the key (1..",
                                     key.parties_size(), ")"));
    }
    if (i > 0 && dealers.Get(i) <= dealers.Get(i - 1)) {
      return FieldError("dealers", "must be increasing");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRefreshRequest(const kagi::v1::RefreshRequest& request) {
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  return ValidateKeyId(request.key_id());
}

absl::Status ValidateReshareRequest(
    const kagi::v1::ReshareRequest& request,
    absl::Span<const std::string> configured_nodes) {
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  KAGI_RETURN_IF_ERROR(ValidateKeyId(request.key_id()));
  if (request.new_nodes().empty()) {
    return FieldError("new_nodes", "must name the new committee");
  }
  KAGI_RETURN_IF_ERROR(
      CheckNodeList(request.new_nodes(), "new_nodes", configured_nodes));
  const auto n = static_cast<uint32_t>(request.new_nodes().size());
  if (n > static_cast<uint32_t>(kMaxParties)) {
    return FieldError("new_nodes", absl::StrCat("has ", n, " nodes (at most ",
                                                kMaxParties, ")"));
  }
  if (request.new_threshold() < 2 || request.new_threshold() > n) {
    return FieldError(
        "new_threshold",
        absl::StrCat("must be 2..", n, " (the number of new nodes), got ",
                     request.new_threshold()));
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyInfo(const kagi::v1::KeyInfo& key,
                             absl::string_view source) {
  auto bad = [&](absl::string_view what) {
    return absl::InternalError(
        absl::StrCat(source, " returned a malformed KeyInfo: ", what));
  };
  if (key.key_id().size() != kKeyIdBytes) {
    return bad(absl::StrCat("key_id of ", key.key_id().size(), " bytes"));
  }
  if (key.chain_code().size() != kChainCodeBytes) {
    return bad(
        absl::StrCat("chain_code of ", key.chain_code().size(), " bytes"));
  }
  absl::StatusOr<crypto::Point> pub =
      crypto::Point::FromCompressed(AsBytes(key.public_key()), "public_key");
  if (!pub.ok()) {
    return bad(pub.status().message());
  }
  const int n = key.parties_size();
  if (n < 1 || n > kMaxParties) {
    return bad(absl::StrCat(n, " parties (must be 1..", kMaxParties, ")"));
  }
  if (key.threshold() < 1 || key.threshold() > static_cast<uint32_t>(n)) {
    return bad(
        absl::StrCat("threshold ", key.threshold(), " with ", n, " parties"));
  }
  absl::flat_hash_set<std::string> identities;
  for (int i = 0; i < n; ++i) {
    const kagi::v1::KeyParty& party = key.parties(i);
    if (party.id() != static_cast<uint32_t>(i + 1)) {
      return bad(absl::StrCat("parties[", i, "] has id ", party.id(),
                              ", expected ", i + 1));
    }
    if (party.identity_key().size() != kIdentityKeyBytes) {
      return bad(absl::StrCat("parties[", i, "].identity_key of ",
                              party.identity_key().size(), " bytes"));
    }
    if (!identities.insert(party.identity_key()).second) {
      return bad(absl::StrCat("parties[", i,
                              "].identity_key repeats an earlier party's"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::vector<uint32_t>> PlanSignerSets(
    absl::Span<const uint32_t> parties,
    const absl::flat_hash_set<uint32_t>& unhealthy, uint32_t threshold,
    uint64_t rotation) {
  std::vector<uint32_t> sorted(parties.begin(), parties.end());
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const size_t t = threshold;
  if (t == 0 || t > n) {
    return {};
  }
  // groups[k]: the subsets with k unhealthy members, lexicographic.
  std::vector<std::vector<std::vector<uint32_t>>> groups(t + 1);
  std::vector<size_t> index(t);
  for (size_t i = 0; i < t; ++i) {
    index[i] = i;
  }
  while (true) {
    std::vector<uint32_t> subset(t);
    size_t unhealthy_members = 0;
    for (size_t i = 0; i < t; ++i) {
      subset[i] = sorted[index[i]];
      unhealthy_members += unhealthy.contains(subset[i]) ? 1 : 0;
    }
    groups[unhealthy_members].push_back(std::move(subset));
    // Next combination: advance the rightmost index that can move.
    size_t i = t;
    while (i > 0 && index[i - 1] == n - t + (i - 1)) {
      --i;
    }
    if (i == 0) {
      break;
    }
    ++index[i - 1];
    for (size_t j = i; j < t; ++j) {
      index[j] = index[j - 1] + 1;
    }
  }
  std::vector<std::vector<uint32_t>> out;
  for (auto& group : groups) {
    if (group.empty()) {
      continue;
    }
    const size_t start = static_cast<size_t>(rotation % group.size());
    for (size_t k = 0; k < group.size(); ++k) {
      out.push_back(std::move(group[(start + k) % group.size()]));
    }
  }
  return out;
}

NodeErrorKind ClassifyNodeError(
    grpc::StatusCode code,
    const std::optional<kagi::v1::ErrorDetails>& details) {
  if (details.has_value()) {
    const std::string& abort_class = details->abort_class();
    if (abort_class == "A") {
      return NodeErrorKind::kRetryable;
    }
    if (abort_class == "B" || abort_class == "C" || abort_class == "D" ||
        !details->culprit_nodes().empty() ||
        !details->culprit_parties().empty()) {
      return NodeErrorKind::kBlamed;
    }
  }
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return NodeErrorKind::kRetryable;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return NodeErrorKind::kRequestError;
    default:
      return NodeErrorKind::kNodeFault;
  }
}

NodeErrorKind ClassifyNodeError(const grpc::Status& status) {
  return ClassifyNodeError(status.error_code(),
                           transport::GetErrorDetails(status));
}

NodeErrorKind ClassifySignerError(const grpc::Status& status) {
  const NodeErrorKind kind = ClassifyNodeError(status);
  if (kind == NodeErrorKind::kRequestError &&
      status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return NodeErrorKind::kNodeFault;
  }
  return kind;
}

int NodeErrorRank(NodeErrorKind kind) {
  switch (kind) {
    case NodeErrorKind::kBlamed:
      return 3;
    case NodeErrorKind::kRequestError:
      return 2;
    case NodeErrorKind::kNodeFault:
      return 1;
    case NodeErrorKind::kRetryable:
      return 0;
  }
  return 0;
}

bool IsTransportFailure(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

std::string DescribeNodeError(absl::string_view node,
                              const grpc::Status& status) {
  std::string out =
      absl::StrCat(node, ": ",
                   absl::StatusCodeToString(
                       static_cast<absl::StatusCode>(status.error_code())),
                   ": ", status.error_message());
  const std::optional<kagi::v1::ErrorDetails> details =
      transport::GetErrorDetails(status);
  if (details.has_value() && !details->abort_class().empty()) {
    absl::StrAppend(&out, " (abort class ", details->abort_class());
    if (!details->culprit_nodes().empty()) {
      absl::StrAppend(&out, ", culprits ",
                      absl::StrJoin(details->culprit_nodes(), ", "));
    }
    absl::StrAppend(&out, ")");
  }
  return out;
}

absl::Status CheckAgreement(absl::Span<const NodeAnswer> answers,
                            absl::string_view what) {
  // Group the nodes by equal answers, in order of first appearance.
  std::vector<const google::protobuf::Message*> representatives;
  std::vector<std::vector<std::string>> groups;
  for (const NodeAnswer& answer : answers) {
    bool placed = false;
    for (size_t g = 0; g < representatives.size(); ++g) {
      if (google::protobuf::util::MessageDifferencer::Equals(
              *representatives[g], *answer.answer)) {
        groups[g].push_back(answer.node);
        placed = true;
        break;
      }
    }
    if (!placed) {
      representatives.push_back(answer.answer);
      groups.push_back({answer.node});
    }
  }
  if (groups.size() <= 1) {
    return absl::OkStatus();
  }
  std::stable_sort(
      groups.begin(), groups.end(),
      [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::vector<std::string> parts;
  parts.reserve(groups.size());
  for (const auto& group : groups) {
    parts.push_back(NodeList(group));
  }
  return absl::InternalError(absl::StrCat("nodes disagree on ", what, ": ",
                                          absl::StrJoin(parts, " vs ")));
}

kagi::v1::KeyInfo WithoutNodeNames(kagi::v1::KeyInfo key) {
  for (kagi::v1::KeyParty& party : *key.mutable_parties()) {
    party.clear_node();
  }
  key.clear_activation_certificate();
  key.clear_pending_epochs();
  key.clear_holders();
  key.clear_warnings();
  return key;
}

absl::Status CheckNewCommittee(const kagi::v1::KeyInfo& key,
                               absl::Span<const std::string> identity_keys,
                               uint32_t threshold, absl::string_view source) {
  if (key.threshold() != threshold) {
    return absl::InternalError(
        absl::StrCat(source, " returned a key with threshold ", key.threshold(),
                     ", asked for ", threshold));
  }
  if (static_cast<size_t>(key.parties_size()) != identity_keys.size()) {
    return absl::InternalError(
        absl::StrCat(source, " returned a key with ", key.parties_size(),
                     " parties, asked for ", identity_keys.size()));
  }
  for (int i = 0; i < key.parties_size(); ++i) {
    if (key.parties(i).identity_key() !=
        identity_keys[static_cast<size_t>(i)]) {
      return absl::InternalError(absl::StrCat(
          source, " returned a key whose party ", i + 1,
          " is not the node asked for (identity key ",
          absl::BytesToHexString(key.parties(i).identity_key()), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckReshareResult(const kagi::v1::KeyInfo& old,
                                const kagi::v1::KeyInfo& updated,
                                absl::string_view source) {
  if (updated.key_id() != old.key_id() ||
      updated.public_key() != old.public_key() ||
      updated.chain_code() != old.chain_code()) {
    return absl::InternalError(absl::StrCat(
        source,
        " returned a different key (key id, public key or chain code "
        "changed) after refresh/reshare"));
  }
  if (updated.epoch() != old.epoch() + 1) {
    return absl::InternalError(absl::StrCat(source, " returned epoch ",
                                            updated.epoch(), ", expected ",
                                            old.epoch() + 1));
  }
  return absl::OkStatus();
}

kagi::v1::ListKeysResponse MergeKeyLists(
    absl::Span<const kagi::v1::ListKeysResponse> answers) {
  std::vector<const kagi::v1::KeyInfo*> merged;
  for (const kagi::v1::ListKeysResponse& answer : answers) {
    for (const kagi::v1::KeyInfo& key : answer.keys()) {
      auto it = std::find_if(merged.begin(), merged.end(),
                             [&](const kagi::v1::KeyInfo* k) {
                               return k->key_id() == key.key_id();
                             });
      if (it == merged.end()) {
        merged.push_back(&key);
      } else if (key.epoch() > (*it)->epoch()) {
        *it = &key;
      }
    }
  }
  std::stable_sort(merged.begin(), merged.end(),
                   [](const kagi::v1::KeyInfo* a, const kagi::v1::KeyInfo* b) {
                     return a->key_id() < b->key_id();
                   });
  kagi::v1::ListKeysResponse out;
  for (const kagi::v1::KeyInfo* key : merged) {
    *out.add_keys() = *key;
  }
  return out;
}

std::optional<size_t> MostAdvancedStatus(
    absl::Span<const kagi::v1::RequestStatus> answers) {
  std::optional<size_t> best;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!best.has_value() || RequestStateRank(answers[i].state()) >
                                 RequestStateRank(answers[*best].state())) {
      best = i;
    }
  }
  return best;
}

int RequestStateRank(absl::string_view state) {
  if (state == "succeeded" || state == "signed") {
    return 3;
  }
  if (state == "in_progress") {
    return 2;
  }
  if (state == "failed") {
    return 1;
  }
  if (state == "unknown") {
    return 0;
  }
  return -1;
}

absl::StatusOr<crypto::ExtendedPublicKey> KeyInfoRoot(
    const kagi::v1::KeyInfo& key, chain::Network network) {
  KAGI_ASSIGN_OR_RETURN(
      crypto::Point pub,
      crypto::Point::FromCompressed(AsBytes(key.public_key()), "public_key"));
  if (key.chain_code().size() != kChainCodeBytes) {
    return FieldError("chain_code",
                      absl::StrCat("must be ", kChainCodeBytes, " bytes, got ",
                                   key.chain_code().size()));
  }
  crypto::Bip32ChainCode chain_code;
  std::copy(key.chain_code().begin(), key.chain_code().end(),
            chain_code.begin());
  return crypto::ExtendedPublicKey::Root(pub, chain_code,
                                         network == chain::Network::kMainnet
                                             ? crypto::Bip32Network::kMainnet
                                             : crypto::Bip32Network::kTestnet);
}

absl::StatusOr<kagi::v1::DerivedKey> DeriveChild(
    const crypto::ExtendedPublicKey& parent, absl::Span<const uint32_t> path,
    chain::Network network) {
  KAGI_RETURN_IF_ERROR(ValidatePath(path, "path"));
  KAGI_ASSIGN_OR_RETURN(crypto::DerivedKey derived,
                        crypto::DerivePath(parent, path));
  const std::array<uint8_t, 33> pub = derived.xpub.key().ToCompressed();
  KAGI_ASSIGN_OR_RETURN(std::string address,
                        chain::P2wpkhAddress(pub, network));
  kagi::v1::DerivedKey out;
  out.set_public_key(std::string(pub.begin(), pub.end()));
  out.set_xpub(derived.xpub.Encode());
  out.set_p2wpkh_address(std::move(address));
  out.mutable_path()->Add(path.begin(), path.end());
  return out;
}

absl::StatusOr<kagi::v1::DerivedKey> DeriveFromKeyInfo(
    const kagi::v1::KeyInfo& key, absl::Span<const uint32_t> path,
    chain::Network network) {
  KAGI_ASSIGN_OR_RETURN(crypto::ExtendedPublicKey root,
                        KeyInfoRoot(key, network));
  return DeriveChild(root, path, network);
}

absl::Status VerifySignResponse(const kagi::v1::KeyInfo& key,
                                const kagi::v1::SignRequest& request,
                                const kagi::v1::StartSignResponse& response) {
  // Raw digests: the signatures must be over exactly the requested items.
  // Decoded payloads: the nodes computed the digests (each node its own,
  // and they agreed); here every signature must verify under its key.
  google::protobuf::RepeatedPtrField<kagi::v1::DigestItem> items;
  if (request.payload().has_raw_digest()) {
    items = request.payload().raw_digest().items();
  } else {
    for (const kagi::v1::SignatureResult& r : response.signatures()) {
      kagi::v1::DigestItem* item = items.Add();
      item->set_digest(r.digest());
      *item->mutable_path() = r.path();
    }
    if (items.empty()) {
      return absl::InternalError("the signers returned no signatures");
    }
  }
  if (response.signatures_size() != items.size()) {
    return absl::InternalError(
        absl::StrCat("the signers returned ", response.signatures_size(),
                     " signatures for ", items.size(), " items"));
  }
  absl::StatusOr<crypto::ExtendedPublicKey> root =
      KeyInfoRoot(key, chain::Network::kMainnet);
  if (!root.ok()) {
    return absl::InternalError(absl::StrCat("the key's KeyInfo is malformed: ",
                                            root.status().message()));
  }
  for (int i = 0; i < items.size(); ++i) {
    const kagi::v1::DigestItem& item = items[i];
    const kagi::v1::SignatureResult& result = response.signatures(i);
    const std::string where =
        absl::StrCat("signature ", i, " (path ", PathString(item.path()), ")");
    if (result.digest() != item.digest()) {
      return absl::InternalError(
          absl::StrCat(where, ": is over a different digest than requested"));
    }
    if (!std::equal(result.path().begin(), result.path().end(),
                    item.path().begin(), item.path().end())) {
      return absl::InternalError(absl::StrCat(
          where, ": is for path ", PathString(result.path()), " instead"));
    }
    absl::StatusOr<crypto::DerivedKey> derived =
        crypto::DerivePath(*root, item.path());
    if (!derived.ok()) {
      return absl::InternalError(absl::StrCat(
          where, ": cannot derive the key: ", derived.status().message()));
    }
    const std::array<uint8_t, 33> expected = derived->xpub.key().ToCompressed();
    if (result.public_key() !=
        absl::string_view(reinterpret_cast<const char*>(expected.data()),
                          expected.size())) {
      return absl::InternalError(absl::StrCat(
          where, ": public key ", absl::BytesToHexString(result.public_key()),
          " is not the BIP32 derivation of the key (", HexEncode(expected),
          ")"));
    }
    if (result.recovery_id() > 3) {
      return absl::InternalError(absl::StrCat(
          where, ": recovery id ", result.recovery_id(), " is not 0..3"));
    }
    crypto::Digest32 digest;
    std::copy(item.digest().begin(), item.digest().end(), digest.begin());
    absl::Status verified = crypto::EcdsaVerify(derived->xpub.key(), digest,
                                                AsBytes(result.signature()));
    if (!verified.ok()) {
      return absl::InternalError(absl::StrCat(
          where,
          ": does not verify under the derived key: ", verified.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status AuthorizeClient(
    const absl::StatusOr<transport::CertIdentity>& identity,
    absl::Span<const std::string> allowed_clients,
    absl::string_view gateway_name) {
  if (!identity.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "kagi.v1.Wallet on ", gateway_name,
        " requires a client certificate: ", identity.status().message()));
  }
  if (identity->role != transport::Role::kClient) {
    return absl::PermissionDeniedError(absl::StrCat(
        identity->ToString(), " may not call kagi.v1.Wallet on ", gateway_name,
        " (only certificates with role client may)"));
  }
  if (!allowed_clients.empty() &&
      std::find(allowed_clients.begin(), allowed_clients.end(),
                identity->name) == allowed_clients.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat(identity->ToString(), " is not among the clients ",
                     gateway_name, " allows (config clients)"));
  }
  return absl::OkStatus();
}

}  // namespace kagi::gateway
