// File: services/gateway/agreement.h
//
// Agreement checks over the answers of several nodes to one question, and
// the merging of their answers. Pure and thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_AGREEMENT_H_
#define KAGI_SERVICES_GATEWAY_AGREEMENT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/message.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/node.pb.h"
#include "kagi/v1/wallet.pb.h"

namespace kagi::gateway {

// NodeAnswer is one node's answer to the same question.
struct NodeAnswer {
  std::string node;
  const google::protobuf::Message* answer = nullptr;  // not owned
};

// CheckAgreement returns OK if every answer equals every other (protobuf
// field equality), else Internal "nodes disagree on <what>: [a, b] vs [c]"
// listing the groups of nodes that gave equal answers, largest first. An
// empty or one-element list agrees.
absl::Status CheckAgreement(absl::Span<const NodeAnswer> answers,
                            absl::string_view what);

// WithoutNodeNames returns `key` with every parties[].node cleared (each
// node names its peers as it knows them) and without the per-node fields
// (certificate, pending epochs, holders, warnings): what nodes must agree on.
kagi::v1::KeyInfo WithoutNodeNames(kagi::v1::KeyInfo key);

// CheckNewCommittee checks that a KeyInfo produced by a DKG, refresh or
// reshare is the key that was asked for: its parties' identity keys are
// `identity_keys` in order and its threshold is `threshold`. Internal naming
// `source` otherwise (the nodes did something other than asked).
absl::Status CheckNewCommittee(const kagi::v1::KeyInfo& key,
                               absl::Span<const std::string> identity_keys,
                               uint32_t threshold, absl::string_view source);

// CheckReshareResult additionally checks that `updated` keeps the key_id,
// public key and chain code of `old` and has epoch old.epoch + 1.
absl::Status CheckReshareResult(const kagi::v1::KeyInfo& old,
                                const kagi::v1::KeyInfo& updated,
                                absl::string_view source);

// MergeKeyLists merges the ListKeys answers of several nodes into one list
// with each key_id once, sorted by key_id. Where nodes report the same key at
// different epochs (a reshare in progress), the highest epoch wins; at equal
// epochs the earliest answer in `answers` wins.
kagi::v1::ListKeysResponse MergeKeyLists(
    absl::Span<const kagi::v1::ListKeysResponse> answers);

// MostAdvancedStatus returns the index of the answer whose state ranks
// highest (RequestStateRank), the earliest on ties; nullopt for an empty list.
std::optional<size_t> MostAdvancedStatus(
    absl::Span<const kagi::v1::RequestStatus> answers);

// RequestStateRank orders RequestStatus.state values by progress:
// "succeeded" (also accepted as "signed") 3 > "in_progress" 2 > "failed" 1 >
// "unknown" 0; any other value ranks -1 (below every known state).
int RequestStateRank(absl::string_view state);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_AGREEMENT_H_
