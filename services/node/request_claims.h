// File: services/node/request_claims.h
//
// Request ids are single-use per key committee, not per node (docs/api.md
// "Request ids"). The members of a key's committee tell each other, over the
// Peer channel, what they did with a signing request id of that key:
// "admitted" (in one session, named by its sid0), "succeeded" or "failed".
// Each claim is signed with its claimant's identity key, so a node believes a
// claim only from the member that signed it, even when another node relays
// it.
//
// Only a proven completion refuses anything, so that one compromised member
// cannot make the others refuse a request by its word alone: a "succeeded"
// claim carries the request it names (its digest must be the claim's) with
// approvals that verify under the receiver's own policy, and the signatures,
// which must verify under the key over every item the receiver computes from
// that request. Such a claim refuses a resend of the same request ("already
// completed") and another request under the same id ("used for a different
// request"). "admitted" and "failed" carry no evidence: another member's are
// never stored nor believed (they ask for the completions the callee knows,
// and a node keeps its own, to release them after a crash).
//
// How a node admits a signing request (NodeCore::StartSign):
//   1. refuse at once if a completion it holds conflicts (CheckClaims);
//   2. send its own "admitted" claim to every other member and store the
//      proven completions each answers with (every one the callee holds
//      about the key and id, its own and those it learned);
//   3. check again, then record the request (BeginRequest).
// After the session, a completion is claimed the same way, with its proof.
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
#include "libs/crypto/bip32.h"
#include "libs/crypto/evp.h"
#include "libs/protocol/common/setup.h"
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

// MakeClaim: `subject` in `state`, signed by `identity`; a "succeeded"
// claim carries `request` (the approved request the subject's digest is of)
// and `signatures`, the others carry no evidence.
v1::RequestClaim MakeClaim(
    const ClaimSubject& subject, absl::string_view state,
    const v1::SignRequest& request,
    const google::protobuf::RepeatedPtrField<v1::SignatureResult>& signatures,
    const crypto::Ed25519PrivateKey& identity);

// VerifyClaim: well formed, about `request_id`, signed by the identity key
// it names, free of unknown fields and, when "succeeded", carrying the
// request it names (same id, key and digest) and signatures.
// InvalidArgument / PermissionDenied naming the field. Whether the request
// was approved and the signatures prove it was signed is ClaimBook::Accept's
// business (it needs the policy and the key).
absl::Status VerifyClaim(const v1::RequestClaim& claim,
                         absl::string_view request_id);

// ProvesCompletion: `claim` carries one signature per item of `items` (the
// items of its own request), in order, over its digest at its path,
// verifying under the key `root` derives there.
bool ProvesCompletion(const v1::RequestClaim& claim,
                      const std::vector<protocol::SignItem>& items,
                      const crypto::ExtendedPublicKey& root);

// CheckClaims refuses `mine` (AlreadyExists, naming the member) when one of
// `claims` (about mine's key and id: this node's own, and other members'
// completions, already proven) is a completion of another request under
// the id, or of this request. Other states are ignored.
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
