#include "services/node/session_manager.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/abort.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/evp.h"
#include "libs/protocol/common/round_collector.h"

namespace kagi::node {

using protocol::Envelope;
using protocol::RoundCollector;
using protocol::RoundInput;
using protocol::RoundSpec;

namespace {

// The largest encoded round-1 envelope: all a peer may have waiting per
// session.
size_t Round1EnvelopeBytes(const protocol::MessageShape& shape) {
  size_t most = 0;
  for (protocol::Op op :
       {protocol::Op::kDkg, protocol::Op::kSign, protocol::Op::kReshare}) {
    most = std::max(most, protocol::MaxPayloadBytes(op, 1, true, shape));
  }
  return protocol::kEnvelopeOverheadBytes + most;
}

std::string Kind(const protocol::EnvelopeHeader& h) {
  return absl::StrCat(protocol::OpName(h.op), " round ", h.round,
                      h.to == protocol::kBroadcast ? " broadcast" : " direct");
}

}  // namespace

size_t WaitingBytesPerPeer(const SessionOptions& options) {
  if (options.max_waiting_bytes_per_peer != 0) {
    return options.max_waiting_bytes_per_peer;
  }
  return options.max_waiting_sessions_per_peer *
         Round1EnvelopeBytes(options.shape);
}

struct SessionManager::Session {
  Session(const protocol::SessionSetup& setup, protocol::RoundProtocol& p,
          const std::map<uint32_t, std::string>& nodes, const SessionHooks& h,
          const protocol::MessageShape& worst)
      : sid0(protocol::Sid0(setup)),
        shape(protocol::ShapeOf(setup, worst)),
        verifier(setup),
        party(p),
        party_nodes(nodes),
        hooks(h) {
    for (const auto& [id, node] : party_nodes) node_party[node] = id;
  }

  const Sid0 sid0;
  const protocol::MessageShape shape;
  const protocol::IdentityVerifier verifier;

  absl::Mutex mu;
  protocol::RoundProtocol& party;  // used under mu
  const std::map<uint32_t, std::string> party_nodes;
  std::map<std::string, uint32_t> node_party;
  const SessionHooks hooks;
  std::unique_ptr<RoundCollector> collector ABSL_GUARDED_BY(mu);
  // Envelopes of rounds after the collector's, by transport sender, and the
  // (sender, round, broadcast) slots they fill: one envelope each.
  std::vector<std::pair<uint32_t, Envelope>> future ABSL_GUARDED_BY(mu);
  std::set<std::tuple<uint32_t, uint32_t, bool>> future_slots
      ABSL_GUARDED_BY(mu);
  bool done ABSL_GUARDED_BY(mu) = false;
  absl::Status status ABSL_GUARDED_BY(mu);
  absl::Time deadline ABSL_GUARDED_BY(mu);
  // Encoded envelopes to send once the lock is released: (node, bytes).
  std::vector<std::pair<std::string, Bytes>> outbox ABSL_GUARDED_BY(mu);

  void FailLocked(absl::Status s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (done) return;
    done = true;
    status = std::move(s);
    collector.reset();
    future.clear();
    future_slots.clear();
  }

  void QueueLocked(const std::vector<Envelope>& envelopes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (const Envelope& e : envelopes) {
      Bytes bytes = protocol::EncodeEnvelope(e);
      if (e.header.to == protocol::kBroadcast) {
        for (const auto& [id, node] : party_nodes)
          outbox.emplace_back(node, bytes);
      } else {
        auto it = party_nodes.find(e.header.to);
        if (it == party_nodes.end()) {
          FailLocked(absl::InternalError(absl::StrCat(
              "session: envelope for unknown party ", e.header.to)));
          return;
        }
        outbox.emplace_back(it->second, std::move(bytes));
      }
    }
  }

  void NewCollectorLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const RoundSpec spec = party.expecting();
    collector = std::make_unique<RoundCollector>(
        party.op(), spec.round, party.self(), party.peers(), spec.broadcast,
        spec.direct, &verifier);
  }

  // AdvanceLocked feeds the complete round to the party.
  void AdvanceLocked(absl::Duration round_timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    RoundInput input;
    input.broadcasts = collector->broadcasts();
    input.directs = collector->directs();
    absl::StatusOr<std::vector<Envelope>> out = party.Advance(input);
    if (!out.ok()) return FailLocked(out.status());
    if (hooks.after_advance) {
      absl::Status st = hooks.after_advance();
      if (!st.ok()) return FailLocked(st);
    }
    QueueLocked(*out);
    if (done) return;
    deadline = absl::Now() + round_timeout;
    if (party.finished()) {
      done = true;
      collector.reset();
      return;
    }
    NewCollectorLocked();
    std::vector<std::pair<uint32_t, Envelope>> pending;
    pending.swap(future);
    future_slots.clear();
    for (auto& [from, e] : pending) {
      OfferLocked(from, std::move(e), round_timeout);
      if (done) return;
    }
  }

  // OfferLocked hands `e` to the collector, or keeps it for its later round
  // (a second envelope for the same later slot is dropped: the first one is
  // kept and the collector judges it in its round).
  void OfferLocked(uint32_t from, Envelope e, absl::Duration round_timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (done || collector == nullptr) return;
    const uint32_t expected = party.expecting().round;
    if (e.header.round < expected) return;  // late duplicate
    if (e.header.round > expected) {
      const bool broadcast = e.header.to == protocol::kBroadcast;
      if (!future_slots.insert({from, e.header.round, broadcast}).second) {
        return;
      }
      future.emplace_back(from, std::move(e));
      return;
    }
    absl::StatusOr<protocol::OfferResult> r = collector->Offer(from, e);
    if (!r.ok()) return FailLocked(r.status());
    if (collector->Complete()) AdvanceLocked(round_timeout);
  }

  std::string MissingNodesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (collector == nullptr) return "";
    std::vector<std::string> names;
    for (uint32_t id : collector->Missing()) {
      auto it = party_nodes.find(id);
      names.push_back(it == party_nodes.end() ? absl::StrCat("party ", id)
                                              : it->second);
    }
    return absl::StrJoin(names, ", ");
  }
};

SessionManager::SessionManager(
    PeerTransport* transport,
    std::map<std::string, std::array<uint8_t, 32>> identity_keys,
    SessionOptions options)
    : transport_(transport),
      identity_keys_(std::move(identity_keys)),
      options_(options) {}

SessionManager::~SessionManager() = default;

size_t SessionManager::active_sessions() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

size_t SessionManager::waiting_sessions(const std::string& from_node) const {
  absl::MutexLock lock(&mu_);
  auto it = waiting_.find(from_node);
  return it == waiting_.end() ? 0 : it->second.sessions;
}

absl::Status SessionManager::Run(
    const protocol::SessionSetup& setup, protocol::RoundProtocol& party,
    const std::map<uint32_t, std::string>& party_nodes,
    const SessionHooks& hooks) {
  auto session = std::make_shared<Session>(setup, party, party_nodes, hooks,
                                           options_.shape);
  std::map<std::string, Envelope> early;
  {
    absl::MutexLock lock(&mu_);
    if (sessions_.count(session->sid0) != 0) {
      return absl::AlreadyExistsError("session: this session is running");
    }
    if (sessions_.size() >= options_.max_sessions) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "session: ", sessions_.size(), " sessions running (the limit)"));
    }
    sessions_[session->sid0] = session;
    auto it = early_.find(session->sid0);
    if (it != early_.end()) {
      ReleaseLocked(it->second);
      early = std::move(it->second.by_peer);
      early_.erase(it);
    }
  }
  {
    absl::MutexLock lock(&session->mu);
    session->deadline = absl::Now() + options_.round_timeout;
    absl::StatusOr<std::vector<Envelope>> first = session->party.Start();
    if (!first.ok()) {
      session->FailLocked(first.status());
    } else {
      session->QueueLocked(*first);
      if (!session->done) session->NewCollectorLocked();
      for (auto& [node, e] : early) {
        auto p = session->node_party.find(node);
        if (p == session->node_party.end()) continue;
        session->OfferLocked(p->second, std::move(e), options_.round_timeout);
      }
    }
  }
  Flush(session);

  absl::Status result;
  {
    absl::MutexLock lock(&session->mu);
    while (!session->done) {
      const absl::Time deadline = session->deadline;
      session->mu.AwaitWithDeadline(absl::Condition(&session->done), deadline);
      if (!session->done && absl::Now() >= session->deadline) {
        const uint32_t round = session->party.expecting().round;
        session->FailLocked(AbortError(
            AbortClass::kTimeout, {},
            absl::StrCat("timeout in round ", round, ": nothing from ",
                         session->MissingNodesLocked(), " within ",
                         absl::FormatDuration(options_.round_timeout))));
      }
    }
    result = session->status;
  }
  // The last round's envelopes (e.g. acks) may still be queued.
  Flush(session);
  absl::MutexLock lock(&mu_);
  sessions_.erase(session->sid0);
  return result;
}

void SessionManager::Flush(const std::shared_ptr<Session>& session) {
  std::vector<std::pair<std::string, Bytes>> out;
  {
    absl::MutexLock lock(&session->mu);
    out.swap(session->outbox);
  }
  std::weak_ptr<Session> weak = session;
  for (auto& [node, bytes] : out) {
    const std::string target = node;
    transport_->Send(
        node, session->sid0, std::move(bytes), [weak, target](absl::Status st) {
          if (st.ok()) return;
          std::shared_ptr<Session> s = weak.lock();
          if (s == nullptr) return;
          absl::MutexLock lock(&s->mu);
          if (s->done) return;
          s->FailLocked(AbortError(AbortClass::kTimeout, {},
                                   absl::StrCat("could not deliver to ", target,
                                                ": ", st.message())));
        });
  }
}

void SessionManager::PruneEarlyLocked(absl::Time now) {
  for (auto it = early_.begin(); it != early_.end();) {
    if (now - it->second.first_seen > options_.early_ttl) {
      ReleaseLocked(it->second);
      it = early_.erase(it);
    } else {
      ++it;
    }
  }
}

void SessionManager::ReleaseLocked(const Early& early) {
  for (const auto& [node, e] : early.by_peer) {
    Usage& u = waiting_[node];
    u.sessions -= 1;
    u.bytes -= protocol::kEnvelopeOverheadBytes + e.payload.size();
  }
}

absl::StatusOr<Envelope> SessionManager::Admit(const std::string& from_node,
                                               ByteSpan bytes) const {
  absl::StatusOr<protocol::EnvelopeHeader> header =
      protocol::DecodeEnvelopeHeader(bytes);
  if (!header.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peer: envelope from ", from_node, ": ", header.status().message()));
  }
  const size_t bound = protocol::MaxPayloadBytes(
      header->op, header->round, header->to == protocol::kBroadcast,
      options_.shape);
  if (bound == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer: ", from_node, " sent a ", Kind(*header),
                     " message, which no protocol has"));
  }
  if (bytes.size() > protocol::kEnvelopeOverheadBytes + bound) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peer: ", from_node, " sent a ", Kind(*header), " envelope of ",
        bytes.size(), " bytes; the largest legitimate one is ",
        protocol::kEnvelopeOverheadBytes + bound, " bytes"));
  }
  absl::StatusOr<Envelope> envelope = protocol::DecodeEnvelope(
      bytes, std::min(bound, options_.max_payload_bytes));
  if (!envelope.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peer: envelope from ", from_node, ": ", envelope.status().message()));
  }
  return envelope;
}

absl::Status SessionManager::CheckQuotaLocked(const std::string& from_node,
                                              size_t more_bytes) const {
  auto it = waiting_.find(from_node);
  const Usage used = it == waiting_.end() ? Usage{} : it->second;
  if (used.sessions >= options_.max_waiting_sessions_per_peer) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "peer: ", from_node, " already has ", used.sessions,
        " sessions waiting to start here (its quota); its envelope is "
        "dropped"));
  }
  if (used.bytes + more_bytes > WaitingBytesPerPeer(options_)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "peer: ", from_node, "'s waiting envelopes would exceed its quota of ",
        WaitingBytesPerPeer(options_), " bytes; its envelope is dropped"));
  }
  return absl::OkStatus();
}

absl::Status SessionManager::WaitLocked(const std::string& from_node,
                                        const Sid0& sid0, Envelope envelope) {
  if (envelope.header.round != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "peer: ", from_node, " sent a ", Kind(envelope.header),
        " envelope for a session not running here (only round 1 can arrive "
        "before a session starts)"));
  }
  PruneEarlyLocked(absl::Now());
  auto e = early_.find(sid0);
  if (e != early_.end()) {
    auto mine = e->second.by_peer.find(from_node);
    if (mine != e->second.by_peer.end()) {
      if (protocol::SameEnvelope(mine->second, envelope)) {
        return absl::OkStatus();
      }
      return absl::AlreadyExistsError(absl::StrCat(
          "peer: ", from_node,
          " already has a different round-1 envelope waiting for this "
          "session"));
    }
  }
  const size_t bytes =
      protocol::kEnvelopeOverheadBytes + envelope.payload.size();
  KAGI_RETURN_IF_ERROR(CheckQuotaLocked(from_node, bytes));
  if (e == early_.end()) {
    e = early_.emplace(sid0, Early{absl::Now(), {}}).first;
  }
  e->second.by_peer.emplace(from_node, std::move(envelope));
  Usage& u = waiting_[from_node];
  u.sessions += 1;
  u.bytes += bytes;
  return absl::OkStatus();
}

absl::Status SessionManager::Deliver(const std::string& from_node,
                                     ByteSpan sid0_bytes, ByteSpan bytes) {
  auto key = identity_keys_.find(from_node);
  if (key == identity_keys_.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer: '", from_node, "' is not a configured peer"));
  }
  if (sid0_bytes.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer: sid0 from ", from_node, " must be 32 bytes"));
  }
  Sid0 sid0;
  std::copy(sid0_bytes.begin(), sid0_bytes.end(), sid0.begin());
  // Size first: nothing is hashed or copied for an envelope no protocol
  // could have sent.
  KAGI_ASSIGN_OR_RETURN(Envelope envelope, Admit(from_node, bytes));
  {
    // A peer over its quota is refused before any signature work.
    absl::MutexLock lock(&mu_);
    if (sessions_.count(sid0) == 0) {
      PruneEarlyLocked(absl::Now());
      KAGI_RETURN_IF_ERROR(CheckQuotaLocked(
          from_node,
          protocol::kEnvelopeOverheadBytes + envelope.payload.size()));
    }
  }
  const std::array<uint8_t, 32> digest =
      protocol::EnvelopeDigest(envelope.header, envelope.payload);
  if (!crypto::Ed25519Verify(key->second, digest, envelope.signature).ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer: envelope on ", from_node,
                     "'s connection is not signed by its identity key"));
  }

  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(sid0);
    if (it == sessions_.end()) {
      return WaitLocked(from_node, sid0, std::move(envelope));
    }
    session = it->second;
  }
  {
    absl::MutexLock lock(&session->mu);
    auto p = session->node_party.find(from_node);
    if (p == session->node_party.end()) {
      return absl::PermissionDeniedError(
          absl::StrCat("peer: ", from_node, " is not a party of this session"));
    }
    if (envelope.header.from != p->second) {
      return absl::PermissionDeniedError(absl::StrCat(
          "peer: envelope from party ", envelope.header.from, " arrived on ",
          from_node, "'s connection (party ", p->second, ")"));
    }
    // A later round's envelope is kept until its round: only if it fits this
    // session's own bound (the current round's is the protocol's to judge).
    const protocol::EnvelopeHeader& h = envelope.header;
    if (!session->done && h.round > session->party.expecting().round &&
        envelope.payload.size() >
            protocol::MaxPayloadBytes(
                h.op, h.round, h.to == protocol::kBroadcast, session->shape)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "peer: ", from_node, " sent a ", Kind(h), " envelope of ",
          envelope.payload.size(),
          " payload bytes, more than this session's largest legitimate one"));
    }
    session->OfferLocked(p->second, std::move(envelope),
                         options_.round_timeout);
  }
  Flush(session);
  return absl::OkStatus();
}

}  // namespace kagi::node
