// File: services/gateway/request_status.h
//
// What the gateway answers to GetRequestStatus, from the nodes' answers. A
// node's word alone is not enough for a success: a compromised node could
// answer "succeeded" with a signed transaction of its own making. So a
// "succeeded" answer is believed only when
//   * it names a key (the one the client asked about, if it named one),
//   * every signature in it verifies under that key (VerifySignResponse),
//   * and at least the key's threshold of its members answer identically
//     (the signers of a session all record the same result).
// An unverifiable "succeeded" is a lie and is dropped; a verified one with
// too few members agreeing is UNAVAILABLE (ask again when more members are
// reachable), whatever the others say: it may be a real success whose other
// signer is down or lying, and "failed" or "unknown" would invite the
// client to pay again. (So one member replaying a real success of another
// request makes every id UNAVAILABLE, naming it: an availability cost, not
// a wrong answer.) Another state is returned only when enough nodes report it
// alike (the key's threshold of its members, or two nodes for a request
// without a key), with them in confirmed_by; otherwise "unknown" (resending
// the same request is always safe), its outcome naming what each node said.
#ifndef KAGI_SERVICES_GATEWAY_REQUEST_STATUS_H_
#define KAGI_SERVICES_GATEWAY_REQUEST_STATUS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kagi/v1/common.pb.h"

namespace kagi::gateway {

// One node's answer.
struct StatusAnswer {
  std::string node;
  kagi::v1::RequestStatus status;
};

// KeyLookup returns the key `key_id` names as the gateway trusts it
// (Gateway::FetchKey: parties[].node filled in).
using KeyLookup =
    std::function<absl::StatusOr<kagi::v1::KeyInfo>(const std::string& key_id)>;

// AgreedStatus: see the file comment. `wanted_key_id` may be empty. NotFound
// if there is no answer at all; "unknown" if no answer is believed.
absl::StatusOr<kagi::v1::RequestStatus> AgreedStatus(
    const std::vector<StatusAnswer>& answers, const std::string& wanted_key_id,
    const KeyLookup& key_of);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_REQUEST_STATUS_H_
