#include "services/node/session_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/abort.h"
#include "libs/crypto/evp.h"
#include "libs/protocol/common/round_collector.h"

namespace kagi::node {

using protocol::Envelope;
using protocol::RoundCollector;
using protocol::RoundInput;
using protocol::RoundSpec;

struct SessionManager::Session {
  Session(const protocol::SessionSetup& setup, protocol::RoundProtocol& p,
          const std::map<uint32_t, std::string>& nodes, const SessionHooks& h)
      : sid0(protocol::Sid0(setup)),
        verifier(setup),
        party(p),
        party_nodes(nodes),
        hooks(h) {
    for (const auto& [id, node] : party_nodes) node_party[node] = id;
  }

  const Sid0 sid0;
  const protocol::IdentityVerifier verifier;

  absl::Mutex mu;
  protocol::RoundProtocol& party;  // used under mu
  const std::map<uint32_t, std::string> party_nodes;
  std::map<std::string, uint32_t> node_party;
  const SessionHooks hooks;
  std::unique_ptr<RoundCollector> collector ABSL_GUARDED_BY(mu);
  // Envelopes of rounds after the collector's, by transport sender.
  std::vector<std::pair<uint32_t, Envelope>> future ABSL_GUARDED_BY(mu);
  std::map<uint32_t, size_t> future_count ABSL_GUARDED_BY(mu);
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
    future_count.clear();
    for (auto& [from, e] : pending) {
      OfferLocked(from, std::move(e), round_timeout, SIZE_MAX);
      if (done) return;
    }
  }

  void OfferLocked(uint32_t from, Envelope e, absl::Duration round_timeout,
                   size_t max_future) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (done || collector == nullptr) return;
    const uint32_t expected = party.expecting().round;
    if (e.header.round < expected) return;  // late duplicate
    if (e.header.round > expected) {
      size_t& n = future_count[from];
      if (n >= max_future) return;
      ++n;
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

absl::Status SessionManager::Run(
    const protocol::SessionSetup& setup, protocol::RoundProtocol& party,
    const std::map<uint32_t, std::string>& party_nodes,
    const SessionHooks& hooks) {
  auto session = std::make_shared<Session>(setup, party, party_nodes, hooks);
  std::vector<std::pair<std::string, Envelope>> early;
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
      early = std::move(it->second.envelopes);
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
        session->OfferLocked(p->second, std::move(e), options_.round_timeout,
                             options_.max_future_per_sender);
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
      it = early_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::Status SessionManager::Deliver(const std::string& from_node,
                                     ByteSpan sid0_bytes, ByteSpan bytes) {
  auto key = identity_keys_.find(from_node);
  if (key == identity_keys_.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer: '", from_node, "' is not a configured peer"));
  }
  if (sid0_bytes.size() != 32) {
    return absl::InvalidArgumentError("peer: sid0 must be 32 bytes");
  }
  absl::StatusOr<Envelope> envelope =
      protocol::DecodeEnvelope(bytes, options_.max_payload_bytes);
  if (!envelope.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peer: envelope from ", from_node, ": ", envelope.status().message()));
  }
  const std::array<uint8_t, 32> digest =
      protocol::EnvelopeDigest(envelope->header, envelope->payload);
  if (!crypto::Ed25519Verify(key->second, digest, envelope->signature).ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer: envelope on ", from_node,
                     "'s connection is not signed by its identity key"));
  }
  Sid0 sid0;
  std::copy(sid0_bytes.begin(), sid0_bytes.end(), sid0.begin());

  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(sid0);
    if (it == sessions_.end()) {
      const absl::Time now = absl::Now();
      PruneEarlyLocked(now);
      auto e = early_.find(sid0);
      if (e == early_.end()) {
        if (early_.size() >= options_.max_early_sessions) {
          return absl::ResourceExhaustedError(
              "peer: too many sessions waiting to start");
        }
        e = early_.emplace(sid0, Early{now, {}}).first;
      }
      if (e->second.envelopes.size() >= options_.max_early_per_session) {
        return absl::ResourceExhaustedError(
            "peer: too many envelopes for a session that has not started");
      }
      e->second.envelopes.emplace_back(from_node, *std::move(envelope));
      return absl::OkStatus();
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
    if (envelope->header.from != p->second) {
      return absl::PermissionDeniedError(absl::StrCat(
          "peer: envelope from party ", envelope->header.from, " arrived on ",
          from_node, "'s connection (party ", p->second, ")"));
    }
    session->OfferLocked(p->second, *std::move(envelope),
                         options_.round_timeout,
                         options_.max_future_per_sender);
  }
  Flush(session);
  return absl::OkStatus();
}

}  // namespace kagi::node
