// File: services/node/claim_book.h
//
// ClaimBook: one node's side of request claims (request_claims.h). It keeps
// this node's own claims and the proven completions it accepted (storage
// key_request_claims), tells the members of a key's committee what this node
// did with a request id, answers their Peer.ExchangeRequestClaims, and
// checks a request against what it holds. A completion is accepted only from
// a member of the key it is about, about a key this node holds, for a request
// this node's policy would have allowed (judged once, when it arrives: a
// later policy change does not forget it), with signatures that verify under
// the key over the items this node decodes from it; an answer names only
// completions about the caller's key, one per request digest. A peer has at
// most `max_inflight_bytes_per_peer` of exchanges in work at once; of an
// answer, at most one claim per member of the key is looked at; the
// outcome of a session is told in the background (TellLater).
#ifndef KAGI_SERVICES_NODE_CLAIM_BOOK_H_
#define KAGI_SERVICES_NODE_CLAIM_BOOK_H_

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kagi/v1/node.pb.h"
#include "libs/crypto/evp.h"
#include "libs/protocol/keyshare.h"
#include "libs/storage/store.h"
#include "services/node/request_claims.h"

namespace kagi::node {

class ClaimBook {
 public:
  using Key32 = std::array<uint8_t, 32>;
  using SharePtr = std::shared_ptr<const protocol::KeyShare>;
  // What the book needs from its node.
  struct Node {
    std::string name;
    storage::Store* store = nullptr;
    const crypto::Ed25519PrivateKey* identity = nullptr;
    ClaimTransport* transport = nullptr;  // none: tell no peer
    NodeNameOf name_of;                   // "" for an unknown identity key
    std::function<absl::StatusOr<SharePtr>(const Key32& key_id)> load_share;
    // The items this node signs for `request` of the key of `share`, if its
    // policy would have allowed the request (NodeCore::CompletedItems).
    std::function<absl::StatusOr<std::vector<protocol::SignItem>>(
        const v1::SignRequest& request, const protocol::KeyShare& share)>
        completed_items;
    // The items this node decodes from `request` of the key of `share`,
    // whatever its policy says (NodeCore::SignedItems): a completion
    // accepted once is judged by the policy of that moment and kept.
    std::function<absl::StatusOr<std::vector<protocol::SignItem>>(
        const v1::SignRequest& request, const protocol::KeyShare& share)>
        signed_items;
    size_t max_inflight_bytes_per_peer = 16u << 20;
  };
  explicit ClaimBook(Node node);
  // Ends the background telling (what is still queued is not sent: the
  // members learn it at their next exchange about the id).
  ~ClaimBook();
  ClaimBook(const ClaimBook&) = delete;
  ClaimBook& operator=(const ClaimBook&) = delete;

  // Check: CheckClaims over this node's own claims and the completions it
  // holds about `subject`'s key and id.
  absl::Status Check(const ClaimSubject& subject,
                     const protocol::KeyShare& share);
  // Tell records this node's `state` for `subject` (with `request` and,
  // for "succeeded", `signatures`), sends it to every other member of
  // `share`'s committee and stores the accepted claims they answer with
  // (best effort: an unreachable member is skipped).
  void Tell(
      const ClaimSubject& subject, absl::string_view state,
      const v1::SignRequest& request,
      const google::protobuf::RepeatedPtrField<v1::SignatureResult>& signatures,
      const protocol::KeyShare& share);
  // TellLater: Tell in the background (for a session's outcome: the client's
  // answer does not wait for the members), this node's own record at once.
  void TellLater(
      const ClaimSubject& subject, absl::string_view state,
      const v1::SignRequest& request,
      const google::protobuf::RepeatedPtrField<v1::SignatureResult>& signatures,
      SharePtr share);
  // Exchange: Peer.ExchangeRequestClaims from the authenticated `from_node`:
  // its own claim (exactly one; a completion is accepted and stored); the
  // answer is every completion held about that key and id, one per digest.
  // ResourceExhausted when `from_node` has too many bytes of exchanges in
  // work.
  absl::StatusOr<v1::RequestClaims> Exchange(const std::string& from_node,
                                             const v1::RequestClaims& request);
  // ReleaseInterrupted, at start-up before serving: every signing session
  // this node claimed "admitted" and never finished died with the last
  // process; it claims them "failed". Returns a line per request (logged).
  std::vector<std::string> ReleaseInterrupted();

 private:
  // Accept, when a completion arrives: `c` verifies (VerifyClaim), is about
  // `share`'s key, its claimant is a member of it, its request is one this
  // node's policy would have allowed, and its signatures prove it was
  // signed (ProvesCompletion over the items this node decodes).
  // PermissionDenied / InvalidArgument naming why.
  absl::Status Accept(const v1::RequestClaim& c,
                      const protocol::KeyShare& share) const;
  // Proven, for a completion held (stored when accepted): Accept without
  // the policy, which may have changed since (a tightening must not forget
  // what the members signed). The rest is checked again: the row may have
  // been edited.
  absl::Status Proven(const v1::RequestClaim& c,
                      const protocol::KeyShare& share) const;
  // Proves: Accept's checks, with `items` deciding the request's items.
  absl::Status Proves(const v1::RequestClaim& c,
                      const protocol::KeyShare& share,
                      const decltype(Node::signed_items)& items_of) const;
  // Held: the claims stored about (`key_id`, `request_id`) that still verify
  // (a changed row is skipped: it refuses nothing).
  absl::StatusOr<std::vector<v1::RequestClaim>> Held(
      const Key32& key_id, const std::string& request_id) const;
  absl::Status Put(const v1::RequestClaim& claim);
  // Send: the members' side of Tell for `mine`; keeps the completions
  // their answers prove.
  void Send(const v1::RequestClaims& mine, const protocol::KeyShare& share);
  // AlreadyHeld: `c`, byte for byte, is stored already (a replay).
  bool AlreadyHeld(const v1::RequestClaim& c) const;
  void Work();
  // Reserve / Release: `bytes` of `peer`'s exchanges in work.
  absl::Status Reserve(const std::string& peer, size_t bytes);
  void Release(const std::string& peer, size_t bytes);

  Node node_;
  Key32 self_key_;
  absl::Mutex mu_;
  std::map<std::string, size_t> inflight_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_CLAIM_BOOK_H_
