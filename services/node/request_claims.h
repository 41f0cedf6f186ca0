// File: services/node/request_claims.h
//
// Request ids are single-use per key committee, not per node (docs/api.md
// "Request ids"). The members of a key's committee tell each other, over the
// Peer channel, what they did with a signing request id of that key:
// "admitted" (in one session, named by its sid0), "succeeded" or "failed".
// Each claim is signed with its claimant's identity key, so a node believes a
// claim only from the member that signed it, even when another node relays
// it. And each claim carries its evidence, so that one compromised member
// cannot make the others refuse anything by its word alone:
//   * the request it is about, with its approvals: its digest must be the
//     claim's, and the receiver checks the approvals under its own policy
//     (a claim that an id was used for "another request" is believed only if
//     approvers really approved that other request under that id);
//   * for "succeeded", the signatures: a completion refuses a resend only if
//     they verify, under the key, over every item the receiver computed.
// A member's "admitted" for the same request in another session is no
// veto: both sessions sign the same approved request (and each node reserves
// its velocity once per id).
//
// How a node admits a signing request (NodeCore::StartSign):
//   1. refuse at once if a claim it already holds conflicts (CheckClaims);
//   2. send its own "admitted" claim to every other member and store the
//      accepted claims each answers with (the answer is everything the
//      callee holds about the key and id, its own and those it learned);
//   3. check again, then record the request (BeginRequest).
// Two nodes that admit the same id for different approved requests at the
// same time cannot both pass step 3: each stored the other's claim before
// its own check, or its own claim reached the other before the other's
// check. After the session, the outcome is claimed the same way.
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

// MakeClaim: `subject` in `state`, carrying `request` (the approved request
// the subject's digest is of) and, for "succeeded", `signatures`; signed by
// `identity`.
v1::RequestClaim MakeClaim(
    const ClaimSubject& subject, absl::string_view state,
    const v1::SignRequest& request,
    const google::protobuf::RepeatedPtrField<v1::SignatureResult>& signatures,
    const crypto::Ed25519PrivateKey& identity);

// VerifyClaim: well formed, about `request_id`, signed by the identity key
// it names, carrying the request it names (same id, key and digest) and,
// when "succeeded", signatures. InvalidArgument / PermissionDenied naming
// the field. The approvals in the request are the policy's business
// (NodeCore::AcceptClaim).
absl::Status VerifyClaim(const v1::RequestClaim& claim,
                         absl::string_view request_id);

// ProvesCompletion: `claim` carries one signature per item of `items`, in
// order, over its digest at its path, verifying under the key `root`
// derives there.
bool ProvesCompletion(const v1::RequestClaim& claim,
                      const std::vector<protocol::SignItem>& items,
                      const crypto::ExtendedPublicKey& root);

// CheckClaims refuses `mine` (AlreadyExists, naming the member) when one of
// `claims` (all about mine's key and id, already accepted) says the id was
// used for another request, or proves the request was completed (this
// node's own word is taken as proof). `items` and `root`: what this node
// signs for `mine`, and the key.
absl::Status CheckClaims(const ClaimSubject& mine,
                         const std::vector<protocol::SignItem>& items,
                         const crypto::ExtendedPublicKey& root,
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
