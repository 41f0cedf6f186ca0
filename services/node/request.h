// File: services/node/request.h
//
// What a node makes of a gateway's request before any protocol round: the
// request is checked field by field (every error names the field), the
// canonical request digest is computed, and the session setup is built by
// this node itself from the request, its own stored share and its own config.
// The gateway is trusted for nothing here; if it hands different nodes
// different requests, their setups (hence sid0s) differ and round 1 aborts.
//
// The signing request digest (libs/policy/request_digest.h) is what
// approvers sign; the node binds it into the signing setup, so nodes that
// were handed different requests abort in round 1.
#ifndef KAGI_SERVICES_NODE_REQUEST_H_
#define KAGI_SERVICES_NODE_REQUEST_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/node.pb.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/keyshare.h"

namespace kagi::node {

// The limits a node applies to requests. The payload bounds are checked
// before the work they bound (decoding previous transactions, sighashes,
// derivations), whatever the order of the approval check: a request over one
// costs the node only the cheap part of its decode.
struct RequestLimits {
  bool allow_raw_digest = false;
  size_t max_sign_items = 64;  // digests; a PSBT's inputs
  absl::Duration max_expiry_ahead = absl::Hours(24);
  // A PSBT: its bytes, its unsigned transaction's bytes (100000 = the
  // largest standard transaction's non-witness size) and outputs, and each
  // previous transaction's bytes (400000 = the largest standard
  // transaction's serialization).
  size_t max_psbt_bytes = 4u << 20;
  size_t max_psbt_unsigned_tx_bytes = 100000;
  size_t max_psbt_outputs = 256;
  size_t max_psbt_prev_tx_bytes = 400000;
  // An Ethereum unsigned transaction's bytes (geth's txMaxSize, 128 KiB).
  size_t max_eth_tx_bytes = 128u << 10;
};

// Fixed32: a 32-byte field (InvalidArgument naming `field` otherwise).
absl::StatusOr<std::array<uint8_t, 32>> Fixed32(const std::string& bytes,
                                                absl::string_view field);

// ValidateRequestId: 1..128 printable ASCII characters.
absl::Status ValidateRequestId(absl::string_view request_id);

// CheckExpiry: `expiry` (unix seconds) is after `now` and at most
// `max_ahead` later.
absl::Status CheckExpiry(uint64_t expiry_unix_seconds, absl::Time now,
                         absl::Duration max_ahead);

// DkgRequestDigest / ReshareRequestDigest bind a request id to one key
// creation / refresh / reshare in the node's request records: over the Start
// request's fields other than the initiator nonce and expiry (so a retry of
// the same request with a new session has the same digest). Approvers sign
// the admin digests of libs/policy/request_digest.h instead, which name
// nodes as the client does.
std::array<uint8_t, 32> DkgRequestDigest(const v1::StartDkgRequest& request);
std::array<uint8_t, 32> ReshareRequestDigest(
    const v1::StartReshareRequest& request);

// BuildSignSetup builds the signing setup from this node's `share`.
absl::StatusOr<protocol::SessionSetup> BuildSignSetup(
    const protocol::KeyShare& share, const v1::StartSignRequest& request,
    std::vector<protocol::SignItem> items,
    const std::array<uint8_t, 32>& request_digest);

// BuildDkgSetup builds the DKG setup; `self_key` must be among the parties
// and every party key must be `self_key` or one of `known_keys` (the peers
// pinned in this node's config).
absl::StatusOr<protocol::SessionSetup> BuildDkgSetup(
    const v1::StartDkgRequest& request, const std::array<uint8_t, 32>& self_key,
    const std::vector<std::array<uint8_t, 32>>& known_keys);

// BuildReshareSetup builds the refresh/reshare setup. Participants are the
// new committee in new-id order, then the dealers that leave, in old-id
// order. `old_share` (null for a joining node) is checked against the
// request's key, epoch and dealer identity keys.
absl::StatusOr<protocol::SessionSetup> BuildReshareSetup(
    const v1::StartReshareRequest& request, const protocol::KeyShare* old_share,
    const std::array<uint8_t, 32>& self_key,
    const std::vector<std::array<uint8_t, 32>>& known_keys);

// KeyInfoFromShare describes a key from one party's share (public parts).
v1::KeyInfo KeyInfoFromShare(const protocol::KeyShare& share);

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_REQUEST_H_
