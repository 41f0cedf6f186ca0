// File: services/node/session_manager.h
//
// SessionManager drives the node's protocol sessions (DKG, sign, reshare):
// the I/O half of the sans-I/O parties in libs/protocol. Many sessions run at
// once; each is keyed by its sid0.
//
// Life of a session. `Run` registers the session, starts the party and sends
// its round-1 envelopes, then waits. Envelopes from peers arrive through
// `Deliver` (gRPC handler threads): each is routed by its sid0 to its session
// and by its round to the collector of the round the party is waiting for;
// envelopes of a later round (a faster peer) are buffered, envelopes of an
// earlier round (late duplicates) dropped. When a round is complete the party
// advances right there, under the session's lock, and its next envelopes are
// sent once the lock is released. `Run` returns when the party finishes, when
// any step fails (the party's error: abort class and culprit, libs/base/
// abort.h), when a round sees no progress for `round_timeout` (class A, no
// culprit, naming the silent nodes), or when a peer cannot be reached (class
// A).
//
// Envelopes that arrive before this node's own Run for that sid0 (the
// gateway's calls reach the nodes in any order) wait in a small early buffer
// and expire. Only round 1 can legitimately arrive early (every later round
// needs this node's own round 1), so each peer has at most one envelope per
// waiting session, and a quota of waiting sessions and bytes of its own: a
// peer over its quota has only its own envelopes refused.
//
// Size. Every envelope is compared, before its signature is checked or its
// payload copied, with the largest legitimate message of its op, round and
// kind (protocol/message_bounds.h) under the cluster's largest session shape;
// an envelope buffered for a later round of a running session, with that
// session's own shape. A running session buffers at most one envelope per
// sender and later (round, kind).
//
// Authentication. `Deliver` is given the node name the peer's mTLS
// certificate proved; the envelope must carry that node's identity signature
// (checked at once, so a forged or misattributed envelope is refused at the
// door) and, inside the session, a `from` equal to that node's party id
// (RoundCollector). Everything else about an envelope is the protocol's to
// judge.
#ifndef KAGI_SERVICES_NODE_SESSION_MANAGER_H_
#define KAGI_SERVICES_NODE_SESSION_MANAGER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/base/bytes.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/message_bounds.h"
#include "libs/protocol/round.h"

namespace kagi::node {

using Sid0 = std::array<uint8_t, 32>;

// PeerTransport sends one encoded envelope to a peer node. Send must not
// block for long; it calls `on_done` exactly once, from any thread, with the
// delivery's outcome.
class PeerTransport {
 public:
  virtual ~PeerTransport() = default;
  virtual void Send(const std::string& node, const Sid0& sid0, Bytes envelope,
                    std::function<void(absl::Status)> on_done) = 0;
};

// SessionOptions holds every bound the manager keeps, in one place (node.cc
// fills it from the node's config; docs/threat-model.md "Peer quotas" gives
// the totals they imply).
struct SessionOptions {
  absl::Duration round_timeout = absl::Seconds(10);
  // Sessions running here at once.
  size_t max_sessions = 256;
  // The operator's cap on any envelope's payload (limits.max_message_bytes).
  // The protocol's own bound for the envelope's op and round applies first.
  size_t max_payload_bytes = 4u << 20;
  // The largest session of this cluster (protocol::WorstShape of its node
  // count and limits.max_sign_items): what the protocol's bounds are taken
  // at for an envelope whose session has not started here.
  protocol::MessageShape shape;
  // Per peer: sessions not started here for which an envelope of that peer
  // waits (one round-1 envelope each), and their encoded bytes. Over either,
  // only that peer's envelopes are refused. 0 bytes: the sessions times the
  // largest round-1 envelope (WaitingBytesPerPeer).
  size_t max_waiting_sessions_per_peer = 256;
  size_t max_waiting_bytes_per_peer = 0;
  // How long an envelope waits for its session before it is dropped.
  absl::Duration early_ttl = absl::Seconds(30);
};

// WaitingBytesPerPeer is the byte quota `options` gives each peer's waiting
// envelopes.
size_t WaitingBytesPerPeer(const SessionOptions& options);

// Per-session callbacks, run under the session's lock.
struct SessionHooks {
  // After every successful Advance and before its envelopes leave: e.g.
  // persist a PENDING share before the ack that says it is stored.
  std::function<absl::Status()> after_advance;
};

class SessionManager {
 public:
  // `identity_keys` maps every peer node name to its pinned identity key.
  // `transport` must outlive the manager.
  SessionManager(PeerTransport* transport,
                 std::map<std::string, std::array<uint8_t, 32>> identity_keys,
                 SessionOptions options);
  ~SessionManager();
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Run drives `party`, whose session is `setup`, to its end (see the file
  // comment). `party_nodes` maps every other party id of the session to the
  // node holding it. Blocks. AlreadyExists if a session with this sid0 is
  // running here; ResourceExhausted when max_sessions are running.
  absl::Status Run(const protocol::SessionSetup& setup,
                   protocol::RoundProtocol& party,
                   const std::map<uint32_t, std::string>& party_nodes,
                   const SessionHooks& hooks);

  // Deliver hands in one envelope received from the authenticated peer
  // `from_node`. Returns InvalidArgument for undecodable bytes, a bad sid0,
  // or an envelope larger than the largest legitimate message of its round
  // (or of a round no protocol has); PermissionDenied for an unknown node or
  // an envelope its identity key did not sign; FailedPrecondition for a
  // round after 1 of a session not running here; ResourceExhausted when
  // `from_node` is over its quota of waiting sessions or bytes;
  // AlreadyExists for a second, different round-1 envelope of the same peer
  // for the same waiting session. Every error names `from_node`. OK
  // otherwise (the envelope was handed to its session or buffered for it).
  absl::Status Deliver(const std::string& from_node, ByteSpan sid0,
                       ByteSpan envelope);

  // The number of sessions running now.
  size_t active_sessions() const;
  // The number of sessions not started here for which an envelope of
  // `from_node` waits.
  size_t waiting_sessions(const std::string& from_node) const;

 private:
  struct Session;
  // The envelopes waiting for one session not started here: one round-1
  // envelope per peer.
  struct Early {
    absl::Time first_seen;
    std::map<std::string, protocol::Envelope> by_peer;
  };
  // What one peer's waiting envelopes hold.
  struct Usage {
    size_t sessions = 0;
    size_t bytes = 0;
  };

  // Admit decodes `bytes` if they fit the largest legitimate message of the
  // op, round and kind their header names (checked before the payload is
  // read).
  absl::StatusOr<protocol::Envelope> Admit(const std::string& from_node,
                                           ByteSpan bytes) const;
  // WaitLocked buffers a round-1 envelope of `from_node` for a session not
  // started here, within `from_node`'s quota.
  absl::Status WaitLocked(const std::string& from_node, const Sid0& sid0,
                          protocol::Envelope envelope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckQuotaLocked(const std::string& from_node,
                                size_t more_bytes) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ReleaseLocked forgets what `early`'s envelopes counted against quotas.
  void ReleaseLocked(const Early& early) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Flush(const std::shared_ptr<Session>& session);
  void PruneEarlyLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  PeerTransport* transport_;
  const std::map<std::string, std::array<uint8_t, 32>> identity_keys_;
  const SessionOptions options_;
  mutable absl::Mutex mu_;
  std::map<Sid0, std::shared_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  std::map<Sid0, Early> early_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Usage> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_SESSION_MANAGER_H_
