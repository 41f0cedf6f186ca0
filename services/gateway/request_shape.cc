// File: services/gateway/request_shape.cc
//
// The shape checks of the Wallet requests; see request_shape.h.
#include "services/gateway/request_shape.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/point.h"

namespace kagi::gateway {

namespace {

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

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

std::string PathString(absl::Span<const uint32_t> path) {
  return path.empty() ? "m" : absl::StrCat("m/", absl::StrJoin(path, "/"));
}

std::string ShortHex(absl::string_view bytes) {
  std::string hex = absl::BytesToHexString(bytes);
  return hex.size() > 16 ? absl::StrCat(hex.substr(0, 16), "...") : hex;
}

std::string NodeList(absl::Span<const std::string> names) {
  return absl::StrCat("[", absl::StrJoin(names, ", "), "]");
}

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

}  // namespace kagi::gateway
