// File: libs/policy/request_digest.h
//
// The canonical request digests approvers sign and every node recomputes
// from what it received (ARCHITECTURE.md "The life of a withdrawal"). With the
// transcript encoding of libs/crypto/transcript.h (tag "request" version 1,
// every field length-prefixed):
//
//   sign:       H("sign", request_id, key_id, kind, <payload>, expiry)
//     raw_digest:   kind "raw_digest",   u32 n, then per item: digest,
//                   u32 path length, u32 index...
//     bitcoin_psbt: kind "bitcoin_psbt", network, psbt bytes
//     ethereum_tx:  kind "ethereum_tx",  unsigned_tx, u32 path length,
//                   u32 index...
//   admin:      H("admin", u32 operation, request_id, key_id, u64 epoch,
//                 u32 old_threshold, <old committee>, u32 new_threshold,
//                 <new committee>, u32 d, u32 dealer id...,
//                 u32 k, network name..., expiry)
//     operation: 1 create_key, 2 refresh, 3 reshare
//     committee: u32 n, then per member in party-id order: node name,
//                32-byte identity key
//     create_key: key_id empty, epoch 0, old_threshold 0, no old committee,
//                 no dealers
//     networks: the key's network binding after the change, sorted
//
// An admin digest binds everything the operation changes (ARCHITECTURE.md):
// a node computes it from its own share and config plus the request, so an
// approved refresh cannot be replayed as a reshare, nor a reshare to another
// committee, threshold or dealer set.
//
// Integers are big-endian; expiry is u64 unix seconds. docs/policy.md shows
// the bytes; tests/clients recomputes them independently in JavaScript.
#ifndef KAGI_LIBS_POLICY_REQUEST_DIGEST_H_
#define KAGI_LIBS_POLICY_REQUEST_DIGEST_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kagi/v1/common.pb.h"

namespace kagi::policy {

using RequestDigest = std::array<uint8_t, 32>;

// SignRequestDigest: InvalidArgument if the payload kind is unset/unknown.
absl::StatusOr<RequestDigest> SignRequestDigest(const v1::SignRequest& request);

// The key administration operations, as numbered in the admin digest.
enum class AdminOperation : uint32_t {
  kCreateKey = 1,
  kRefresh = 2,
  kReshare = 3,
};

// AdminOperationName returns "create_key", "refresh" or "reshare".
absl::string_view AdminOperationName(AdminOperation op);

// One member of a committee: its node name and 32-byte identity key.
struct CommitteeMember {
  std::string node;
  std::array<uint8_t, 32> identity_key{};
  bool operator==(const CommitteeMember& o) const {
    return node == o.node && identity_key == o.identity_key;
  }
};

// AdminChange is everything a key administration request changes, as the
// approvers see it and as each node rebuilds it from its own share and config.
struct AdminChange {
  AdminOperation operation = AdminOperation::kCreateKey;
  std::string request_id;
  std::string key_id;  // 32 bytes; empty for create_key
  uint64_t epoch = 0;  // the current epoch; 0 for create_key
  uint32_t old_threshold = 0;
  std::vector<CommitteeMember> old_committee;  // party-id order
  uint32_t new_threshold = 0;
  std::vector<CommitteeMember> new_committee;  // new party-id order
  std::vector<uint32_t> dealers;               // old party ids, increasing
  // The key's network binding after the change (libs/policy/networks.h),
  // sorted: named by create_key, carried by refresh and reshare.
  std::vector<std::string> networks;
  uint64_t expiry = 0;

  // Summary describes the change for approvers and the audit log, e.g.
  // "reshare of key 6c9b..., epoch 3, 2-of-3 [node-1,node-2,node-3] ->
  // 2-of-2 [node-1,node-2], dealers 1,2".
  std::string Summary() const;
};

// AdminDigest returns the admin digest of `change` (see the file comment).
RequestDigest AdminDigest(const AdminChange& change);

}  // namespace kagi::policy

#endif  // KAGI_LIBS_POLICY_REQUEST_DIGEST_H_
