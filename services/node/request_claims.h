// File: services/node/request_claims.h
//
// Request ids are single-use per cluster, not per node (docs/api.md
// "Request ids"). The members of a key's committee tell each other, over the
// Peer channel, what they did with a signing request id: "admitted" (in one
// session, named by its sid0), "succeeded" or "failed". Each such claim is
// signed with its claimant's identity key, so a node believes a claim only
// from the member that signed it, even when another node relays it.
//
// How a node admits a signing request (NodeCore::StartSign):
//   1. refuse at once if a claim it already holds conflicts (CheckClaims);
//   2. send its own "admitted" claim to every other member and store the
//      claims each answers with (the answer is everything the callee holds
//      about the id, its own and those it learned);
//   3. check again, then record the request (BeginRequest).
// Two nodes that admit the same id in different sessions at the same time
// cannot both pass step 3: each stored the other's claim before its own
// check, or its own claim reached the other before the other's check.
// After the session, the outcome is claimed the same way.
#ifndef KAGI_SERVICES_NODE_REQUEST_CLAIMS_H_
#define KAGI_SERVICES_NODE_REQUEST_CLAIMS_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kagi/v1/node.pb.h"
#include "libs/crypto/evp.h"
#include "services/node/admin_change.h"

namespace kagi::node {

inline constexpr absl::string_view kClaimAdmitted = "admitted";
inline constexpr absl::string_view kClaimSucceeded = "succeeded";
inline constexpr absl::string_view kClaimFailed = "failed";

// What a claim is about.
struct ClaimSubject {
  std::string request_id;
  std::array<uint8_t, 32> key_id{};
  std::array<uint8_t, 32> request_digest{};
  std::array<uint8_t, 32> sid0{};
};

// ClaimDigest: what the claimant's identity key signs.
std::array<uint8_t, 32> ClaimDigest(const v1::RequestClaim& claim);

// MakeClaim: `subject` in `state`, signed by `identity`.
v1::RequestClaim MakeClaim(const ClaimSubject& subject, absl::string_view state,
                           const crypto::Ed25519PrivateKey& identity);

// VerifyClaim: well formed, about `request_id`, and signed by the identity
// key it names. InvalidArgument / PermissionDenied naming the field.
absl::Status VerifyClaim(const v1::RequestClaim& claim,
                         absl::string_view request_id);

// CheckClaims refuses `mine` (AlreadyExists, naming the member) when a claim
// says the id was used for another request or completed, or when another
// member than `self_key` admitted it in another session that has not failed.
absl::Status CheckClaims(const ClaimSubject& mine,
                         const std::array<uint8_t, 32>& self_key,
                         const std::vector<v1::RequestClaim>& claims,
                         const NodeNameOf& name_of);

// ClaimTransport: the outbound side of Peer.ExchangeRequestClaims. Exchange
// sends `mine` to each of `nodes` at once and returns, in order, each one's
// answer or why there is none, after at most `timeout`.
class ClaimTransport {
 public:
  virtual ~ClaimTransport() = default;
  virtual std::vector<absl::StatusOr<v1::RequestClaims>> Exchange(
      const std::vector<std::string>& nodes, const v1::RequestClaims& mine,
      absl::Duration timeout) = 0;
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_REQUEST_CLAIMS_H_
