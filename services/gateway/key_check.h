// File: services/gateway/key_check.h
//
// What the gateway believes about a key it did not make. Any node can claim
// any KeyInfo; the gateway reports (and plans signing from) only a KeyInfo
// that the key's committee stands behind: its activation certificate must
// carry a valid signature of every member over exactly this key (key id,
// X, chain code, epoch, threshold, committee), every member must be a node
// the gateway knows, and a KeyInfo without a certificate (a share activated
// before certificates existed) counts only where enough nodes report it
// identically.
#ifndef KAGI_SERVICES_GATEWAY_KEY_CHECK_H_
#define KAGI_SERVICES_GATEWAY_KEY_CHECK_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "kagi/v1/common.pb.h"

namespace kagi::gateway {

// CheckKeyCertificate: `key.activation_certificate` verifies (every member
// signed the same view), its view is exactly `key` (key id, public key,
// chain code, epoch, threshold, each party's id and identity key in order),
// and every member's identity key is in `known_identity_keys`.
// FailedPrecondition naming what differs; InvalidArgument for an
// undecodable certificate.
absl::Status CheckKeyCertificate(
    const kagi::v1::KeyInfo& key,
    const std::set<std::string>& known_identity_keys);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_KEY_CHECK_H_
