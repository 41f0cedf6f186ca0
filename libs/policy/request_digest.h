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
//   create_key: H("create_key", request_id, u32 threshold, u32 n, node names
//                 sorted, expiry)
//   refresh:    H("refresh", request_id, key_id, expiry)
//   reshare:    H("reshare", request_id, key_id, u32 new_threshold, u32 n,
//                 new node names sorted, expiry)
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

RequestDigest CreateKeyDigest(absl::string_view request_id, uint32_t threshold,
                              std::vector<std::string> nodes, uint64_t expiry);
RequestDigest RefreshDigest(absl::string_view request_id,
                            absl::string_view key_id, uint64_t expiry);
RequestDigest ReshareDigest(absl::string_view request_id,
                            absl::string_view key_id, uint32_t new_threshold,
                            std::vector<std::string> nodes, uint64_t expiry);

}  // namespace kagi::policy

#endif  // KAGI_LIBS_POLICY_REQUEST_DIGEST_H_
