// File: services/gateway/agreement.cc
//
// Agreement checks; see agreement.h.
#include "services/gateway/agreement.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/gateway/request_shape.h"

namespace kagi::gateway {

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

}  // namespace kagi::gateway
