// SessionManager with the real protocol parties, several managers wired
// together in-process (a worker thread per delivery queue stands in for
// gRPC). The service's end-to-end tests over real mTLS live in
// tests/integration; these pin the manager's own contract: routing by
// session and round, the early buffer, per-round timeouts naming the silent
// node, delivery failures, and the door checks on every envelope.
#include "services/node/session_manager.h"

#include <deque>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kagi/v1/node.pb.h"
#include "libs/base/abort.h"
#include "libs/crypto/ecdsa.h"
#include "libs/protocol/dkg.h"
#include "libs/protocol/message_bounds.h"
#include "libs/protocol/sign.h"
#include "libs/protocol/testing/simulation.h"
#include "libs/transport/tls.h"

namespace kagi::node {
namespace {

using protocol::testing::Identities;
using ::testing::HasSubstr;

std::string Name(uint32_t i) { return absl::StrCat("node-", i); }

// Net connects managers by name. Deliveries run on one worker thread, in
// order; `drop_to` silently loses everything sent to that node, and
// `fail_to` makes sends to it fail (as an unreachable peer).
class Net {
 public:
  class Port final : public PeerTransport {
   public:
    Port(Net* net, std::string self) : net_(net), self_(std::move(self)) {}
    void Send(const std::string& node, const Sid0& sid0, Bytes envelope,
              std::function<void(absl::Status)> on_done) override {
      net_->Enqueue(self_, node, sid0, std::move(envelope), std::move(on_done));
    }

   private:
    Net* net_;
    std::string self_;
  };

  Net() : worker_([this] { Loop(); }) {}
  ~Net() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    worker_.join();
  }

  void Add(const std::string& name, SessionManager* m) {
    absl::MutexLock lock(&mu_);
    managers_[name] = m;
  }
  void DropTo(const std::string& name) {
    absl::MutexLock lock(&mu_);
    drop_to_ = name;
  }
  void FailTo(const std::string& name) {
    absl::MutexLock lock(&mu_);
    fail_to_ = name;
  }

 private:
  struct Item {
    std::string from, to;
    Sid0 sid0;
    Bytes bytes;
    std::function<void(absl::Status)> done;
  };
  void Enqueue(const std::string& from, const std::string& to, const Sid0& sid0,
               Bytes bytes, std::function<void(absl::Status)> done) {
    absl::MutexLock lock(&mu_);
    queue_.push_back({from, to, sid0, std::move(bytes), std::move(done)});
  }
  void Loop() {
    while (true) {
      Item item;
      SessionManager* target = nullptr;
      bool drop = false;
      bool fail = false;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this] { return stop_ || !queue_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
        auto it = managers_.find(item.to);
        target = it == managers_.end() ? nullptr : it->second;
        drop = item.to == drop_to_;
        fail = item.to == fail_to_;
      }
      if (fail || target == nullptr) {
        item.done(absl::UnavailableError("connection refused"));
        continue;
      }
      if (!drop) {
        item.done(target->Deliver(item.from, item.sid0, item.bytes));
      } else {
        item.done(absl::OkStatus());
      }
    }
  }

  absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, SessionManager*> managers_ ABSL_GUARDED_BY(mu_);
  std::string drop_to_ ABSL_GUARDED_BY(mu_);
  std::string fail_to_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

// Cluster: n managers on one Net, identities 1..n.
struct Cluster {
  explicit Cluster(uint32_t n, absl::Duration timeout = absl::Seconds(10),
                   SessionOptions o = SessionOptions())
      : ids(protocol::testing::MakeIdentities(n, 7)) {
    o.round_timeout = timeout;
    o.shape = protocol::WorstShape(n, 64);
    for (uint32_t i = 1; i <= n; ++i) {
      std::map<std::string, std::array<uint8_t, 32>> keys;
      for (uint32_t j = 1; j <= n; ++j) {
        if (j != i) keys[Name(j)] = ids.parties[j - 1].identity_key;
      }
      ports.push_back(std::make_unique<Net::Port>(&net, Name(i)));
      managers.push_back(
          std::make_unique<SessionManager>(ports.back().get(), keys, o));
      net.Add(Name(i), managers.back().get());
    }
  }
  std::map<uint32_t, std::string> PeersOf(uint32_t self,
                                          const std::vector<uint32_t>& ps) {
    std::map<uint32_t, std::string> out;
    for (uint32_t p : ps) {
      if (p != self) out[p] = Name(p);
    }
    return out;
  }

  Identities ids;
  Net net;
  std::vector<std::unique_ptr<Net::Port>> ports;
  std::vector<std::unique_ptr<SessionManager>> managers;
};

protocol::SessionSetup DkgSetup(const Identities& ids, uint32_t t) {
  protocol::SessionSetup s;
  s.op = protocol::Op::kDkg;
  for (uint32_t i = 1; i <= ids.signers.size(); ++i) {
    s.parties.push_back(ids.parties[i - 1]);
  }
  s.threshold = t;
  s.initiator_nonce.fill(0x42);
  s.expiry_unix_seconds = 4000000000u;
  return s;
}

// RunDkg runs the DKG on every manager in its own thread; a party listed in
// `late` starts 200 ms after the others (its peers' envelopes wait in its
// early buffer).
std::vector<absl::StatusOr<protocol::KeyShare>> RunDkg(
    Cluster& c, uint32_t t, const std::set<uint32_t>& late = {}) {
  const uint32_t n = static_cast<uint32_t>(c.managers.size());
  const protocol::SessionSetup setup = DkgSetup(c.ids, t);
  std::vector<absl::StatusOr<protocol::KeyShare>> out;
  for (uint32_t i = 0; i < n; ++i) out.emplace_back(absl::UnknownError("no"));
  std::vector<std::thread> threads;
  for (uint32_t i = 1; i <= n; ++i) {
    threads.emplace_back([&, i] {
      if (late.count(i) != 0) absl::SleepFor(absl::Milliseconds(200));
      InsecureDeterministicRng rng(i);
      auto party =
          protocol::DkgParty::Create(setup, *c.ids.signers[i - 1], rng);
      if (!party.ok()) {
        out[i - 1] = party.status();
        return;
      }
      std::vector<uint32_t> all;
      for (uint32_t j = 1; j <= n; ++j) all.push_back(j);
      absl::Status st = c.managers[i - 1]->Run(
          setup, **party, c.PeersOf(i, all), SessionHooks{});
      out[i - 1] = st.ok() ? (*party)->TakeShare()
                           : absl::StatusOr<protocol::KeyShare>(st);
    });
  }
  for (std::thread& th : threads) th.join();
  return out;
}

TEST(SessionManagerTest, DkgThenSignAcrossManagers) {
  Cluster c(3);
  auto shares = RunDkg(c, 2, /*late=*/{3});
  for (auto& s : shares) ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(shares[0]->public_key, shares[2]->public_key);

  protocol::SignItem item;
  item.digest.fill(0x5a);
  item.path = {0, 9};
  const protocol::SessionSetup setup =
      protocol::testing::MakeSignSetup(*shares[0], {1, 3}, {item}, 11);
  std::vector<absl::StatusOr<std::vector<protocol::Signature>>> sigs(
      2, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  int slot = 0;
  for (uint32_t i : {1u, 3u}) {
    threads.emplace_back([&, i, slot] {
      InsecureDeterministicRng rng(100 + i);
      std::vector<protocol::PresignatureId> consumed;
      auto party = protocol::SignParty::Create(
          setup, *shares[i - 1], *c.ids.signers[i - 1], rng,
          [&consumed](const protocol::PresignatureId& id) {
            consumed.push_back(id);
            return absl::OkStatus();
          });
      ASSERT_TRUE(party.ok()) << party.status();
      absl::Status st = c.managers[i - 1]->Run(
          setup, **party, c.PeersOf(i, {1, 3}), SessionHooks{});
      if (st.ok()) {
        sigs[slot] = (*party)->signatures();
      } else {
        sigs[slot] = st;
      }
      EXPECT_EQ(consumed.size(), st.ok() ? 1u : consumed.size());
    });
    ++slot;
  }
  for (std::thread& th : threads) th.join();
  ASSERT_TRUE(sigs[0].ok()) << sigs[0].status();
  ASSERT_TRUE(sigs[1].ok()) << sigs[1].status();
  EXPECT_EQ((*sigs[0])[0].Compact(), (*sigs[1])[0].Compact());
  EXPECT_TRUE(crypto::EcdsaVerify((*sigs[0])[0].public_key, item.digest,
                                  (*sigs[0])[0].Compact())
                  .ok());
  for (auto& m : c.managers) EXPECT_EQ(m->active_sessions(), 0u);
  // node-3 started late: what waited for it was handed to its session and
  // no longer counts against anyone's quota.
  EXPECT_EQ(c.managers[2]->waiting_sessions(Name(1)), 0u);
  EXPECT_EQ(c.managers[2]->waiting_sessions(Name(2)), 0u);
}

TEST(SessionManagerTest, SilentPeerTimesOutNamingIt) {
  Cluster c(3, absl::Milliseconds(300));
  c.net.DropTo(Name(2));  // node-2 never hears anything, so never answers
  auto shares = RunDkg(c, 2);
  for (uint32_t i : {1u, 3u}) {
    const absl::Status& st = shares[i - 1].status();
    ASSERT_FALSE(st.ok());
    std::optional<AbortInfo> info = GetAbortInfo(st);
    ASSERT_TRUE(info.has_value()) << st;
    EXPECT_EQ(info->abort_class, AbortClass::kTimeout);
    EXPECT_TRUE(info->culprits.empty());
    EXPECT_THAT(std::string(st.message()), HasSubstr("node-2"));
  }
}

TEST(SessionManagerTest, UnreachablePeerAbortsWithoutBlame) {
  Cluster c(3, absl::Seconds(1));
  c.net.FailTo(Name(3));
  auto shares = RunDkg(c, 2);
  const absl::Status& st = shares[0].status();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("could not deliver to node-3"));
  std::optional<AbortInfo> info = GetAbortInfo(st);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->abort_class, AbortClass::kTimeout);
  EXPECT_TRUE(info->culprits.empty());
}

protocol::Envelope SignedBy(const Identities& ids, uint32_t signer,
                            uint32_t from, uint32_t round = 1,
                            uint32_t to = protocol::kBroadcast,
                            size_t payload_bytes = 3) {
  protocol::EnvelopeHeader h;
  h.op = protocol::Op::kDkg;
  h.round = round;
  h.from = from;
  h.to = to;
  protocol::Envelope e;
  e.header = h;
  e.payload = Bytes(payload_bytes, 7);
  e.signature = ids.signers[signer - 1]->Sign(
      protocol::EnvelopeDigest(e.header, e.payload));
  return e;
}

Sid0 SidNumber(uint32_t i) {
  Sid0 sid0{};
  sid0[0] = static_cast<uint8_t>(i);
  sid0[1] = static_cast<uint8_t>(i >> 8);
  return sid0;
}

TEST(SessionManagerTest, DoorChecksEveryEnvelope) {
  Cluster c(3);
  SessionManager& m = *c.managers[0];
  const Sid0 sid0{};
  // Signed by node-3's key but delivered on node-2's connection.
  absl::Status forged =
      m.Deliver(Name(2), sid0, protocol::EncodeEnvelope(SignedBy(c.ids, 3, 2)));
  EXPECT_EQ(forged.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(forged.message()), HasSubstr("identity key"));
  // The same envelope signed by node-2 itself passes the door (it waits in
  // the early buffer).
  EXPECT_TRUE(
      m.Deliver(Name(2), sid0, protocol::EncodeEnvelope(SignedBy(c.ids, 2, 2)))
          .ok());
  // Unknown peer, bad sid0, garbage.
  EXPECT_EQ(m.Deliver("node-9", sid0, Bytes{}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(m.Deliver(Name(2), Bytes(31, 0), Bytes{}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.Deliver(Name(2), sid0, Bytes{1, 2, 3}).code(),
            absl::StatusCode::kInvalidArgument);
}

// Each peer has its own quota of sessions waiting to start here: a peer over
// it is refused (naming it), and another peer still gets through.
TEST(SessionManagerTest, WaitingSessionsAreBoundedPerPeer) {
  SessionOptions o;
  o.max_waiting_sessions_per_peer = 8;
  Cluster c(3, absl::Seconds(10), o);
  SessionManager& m = *c.managers[0];
  const Bytes from2 = protocol::EncodeEnvelope(SignedBy(c.ids, 2, 2));
  for (uint32_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(m.Deliver(Name(2), SidNumber(i), from2).ok()) << i;
  }
  const absl::Status over = m.Deliver(Name(2), SidNumber(8), from2);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(over.message()), HasSubstr("node-2"));
  EXPECT_THAT(std::string(over.message()), HasSubstr("8 sessions waiting"));
  EXPECT_EQ(m.waiting_sessions(Name(2)), 8u);
  // node-3 is not held back by node-2's flood, for new sessions or for the
  // ones node-2 filled.
  const Bytes from3 = protocol::EncodeEnvelope(SignedBy(c.ids, 3, 3));
  EXPECT_TRUE(m.Deliver(Name(3), SidNumber(100), from3).ok());
  EXPECT_TRUE(m.Deliver(Name(3), SidNumber(0), from3).ok());
  EXPECT_EQ(m.waiting_sessions(Name(3)), 2u);
}

TEST(SessionManagerTest, WaitingBytesAreBoundedPerPeer) {
  SessionOptions o;
  o.max_waiting_bytes_per_peer = 3 * (protocol::kEnvelopeOverheadBytes + 64);
  Cluster c(3, absl::Seconds(10), o);
  SessionManager& m = *c.managers[0];
  const Bytes big = protocol::EncodeEnvelope(
      SignedBy(c.ids, 2, 2, 1, protocol::kBroadcast, 64));
  for (uint32_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(m.Deliver(Name(2), SidNumber(i), big).ok()) << i;
  }
  const absl::Status over = m.Deliver(Name(2), SidNumber(3), big);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(over.message()), HasSubstr("node-2's waiting"));
  EXPECT_TRUE(m.Deliver(Name(3), SidNumber(3),
                        protocol::EncodeEnvelope(
                            SignedBy(c.ids, 3, 3, 1, protocol::kBroadcast, 64)))
                  .ok());
}

// The default byte quota is the session quota times the largest round-1
// envelope (178 bytes): 256 sessions, 45 568 bytes per peer.
TEST(SessionManagerTest, DefaultByteQuotaIsSessionsTimesTheLargestRoundOne) {
  SessionOptions o;
  EXPECT_EQ(WaitingBytesPerPeer(o), 256u * 178u);
}

// An envelope larger than the largest legitimate message of its op, round
// and kind is refused before its signature is looked at (this one's is
// wrong, and the answer is about its size).
TEST(SessionManagerTest,
     OversizedEnvelopeIsRefusedAtTheDoorBeforeItsSignature) {
  Cluster c(3);
  SessionManager& m = *c.managers[0];
  for (size_t size : {size_t{65}, size_t{4} << 20}) {
    protocol::Envelope e = SignedBy(c.ids, 2, 2, 1, protocol::kBroadcast, size);
    e.signature[0] ^= 1;
    const absl::Status st =
        m.Deliver(Name(2), SidNumber(1), protocol::EncodeEnvelope(e));
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_THAT(std::string(st.message()),
                HasSubstr("node-2 sent a dkg round 1 broadcast envelope of"));
    EXPECT_THAT(std::string(st.message()),
                HasSubstr("the largest legitimate one is 178 bytes"));
  }
  EXPECT_EQ(m.waiting_sessions(Name(2)), 0u);
  // A round-2 direct message may carry a base-OT message; round 1 has no
  // direct messages and no protocol has a round 5.
  EXPECT_THAT(std::string(m.Deliver(Name(2), SidNumber(1),
                                    protocol::EncodeEnvelope(
                                        SignedBy(c.ids, 2, 2, 1, 1)))
                              .message()),
              HasSubstr("no protocol has"));
  EXPECT_EQ(m.Deliver(Name(2), SidNumber(1),
                      protocol::EncodeEnvelope(SignedBy(c.ids, 2, 2, 5)))
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Only round 1 can arrive before this node starts the session: a later
// round for a session not running here is refused, not buffered.
TEST(SessionManagerTest, LaterRoundOfASessionNotRunningHereIsRefused) {
  Cluster c(3);
  SessionManager& m = *c.managers[0];
  const absl::Status st =
      m.Deliver(Name(2), SidNumber(1),
                protocol::EncodeEnvelope(SignedBy(c.ids, 2, 2, 2)));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("node-2 sent a dkg round 2"));
  EXPECT_EQ(m.waiting_sessions(Name(2)), 0u);
}

// One round-1 envelope per peer and waiting session: the same one again is
// a harmless resend, a different one is refused.
TEST(SessionManagerTest, OneWaitingEnvelopePerPeerAndSession) {
  Cluster c(3);
  SessionManager& m = *c.managers[0];
  const Bytes first = protocol::EncodeEnvelope(SignedBy(c.ids, 2, 2));
  EXPECT_TRUE(m.Deliver(Name(2), SidNumber(1), first).ok());
  EXPECT_TRUE(m.Deliver(Name(2), SidNumber(1), first).ok());
  EXPECT_EQ(m.waiting_sessions(Name(2)), 1u);
  const absl::Status other =
      m.Deliver(Name(2), SidNumber(1),
                protocol::EncodeEnvelope(
                    SignedBy(c.ids, 2, 2, 1, protocol::kBroadcast, 9)));
  EXPECT_EQ(other.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(other.message()), HasSubstr("node-2"));
}

TEST(SessionManagerTest, ExpiredWaitingEnvelopesFreeTheQuota) {
  SessionOptions o;
  o.max_waiting_sessions_per_peer = 2;
  o.early_ttl = absl::Milliseconds(100);
  Cluster c(3, absl::Seconds(10), o);
  SessionManager& m = *c.managers[0];
  const Bytes env = protocol::EncodeEnvelope(SignedBy(c.ids, 2, 2));
  ASSERT_TRUE(m.Deliver(Name(2), SidNumber(1), env).ok());
  ASSERT_TRUE(m.Deliver(Name(2), SidNumber(2), env).ok());
  EXPECT_EQ(m.Deliver(Name(2), SidNumber(3), env).code(),
            absl::StatusCode::kResourceExhausted);
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_TRUE(m.Deliver(Name(2), SidNumber(3), env).ok());
  EXPECT_EQ(m.waiting_sessions(Name(2)), 1u);
}

// A running session keeps a later round's envelope only if it fits that
// session's own bound (here: a 2-of-3 DKG, whose round-2 broadcast carries
// two coefficient commitments and proofs, where the door allows three).
TEST(SessionManagerTest, RunningSessionBoundsWhatItKeepsForLaterRounds) {
  Cluster c(3, absl::Milliseconds(800));
  const protocol::SessionSetup setup = DkgSetup(c.ids, 2);
  const Sid0 sid0 = protocol::Sid0(setup);
  InsecureDeterministicRng rng(1);
  auto party = protocol::DkgParty::Create(setup, *c.ids.signers[0], rng);
  ASSERT_TRUE(party.ok());
  std::thread run([&] {
    (void)c.managers[0]->Run(setup, **party, c.PeersOf(1, {1, 2, 3}),
                             SessionHooks{});
  });
  while (c.managers[0]->active_sessions() == 0) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const size_t fits = protocol::MaxPayloadBytes(
      protocol::Op::kDkg, 2, true,
      protocol::ShapeOf(setup, protocol::WorstShape(3, 64)));
  ASSERT_LT(fits + 1, protocol::MaxPayloadBytes(protocol::Op::kDkg, 2, true,
                                                protocol::WorstShape(3, 64)));
  const absl::Status over = c.managers[0]->Deliver(
      Name(2), sid0,
      protocol::EncodeEnvelope(
          SignedBy(c.ids, 2, 2, 2, protocol::kBroadcast, fits + 1)));
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument) << over;
  EXPECT_THAT(std::string(over.message()),
              HasSubstr("more than this session's largest legitimate one"));
  EXPECT_TRUE(c.managers[0]
                  ->Deliver(Name(2), sid0,
                            protocol::EncodeEnvelope(SignedBy(
                                c.ids, 2, 2, 2, protocol::kBroadcast, fits)))
                  .ok());
  run.join();
}

// The largest legitimate envelope of the largest cluster, with its sid0 and
// the request's framing, fits gRPC's receive limit on every channel.
TEST(SessionManagerTest, LargestLegitimateEnvelopeFitsTheGrpcLimit) {
  const size_t largest =
      protocol::MaxEnvelopePayloadBytes(protocol::WorstShape(16, 64)) +
      protocol::kEnvelopeOverheadBytes;
  v1::DeliverRequest req;
  req.set_sid0(std::string(32, 'x'));
  req.set_envelope(std::string(largest, 'y'));
  // With the sender's signed audit head every request carries.
  req.mutable_audit_head()->set_seq(~uint64_t{0});
  req.mutable_audit_head()->set_hash(std::string(32, 'h'));
  req.mutable_audit_head()->set_signature(std::string(64, 's'));
  EXPECT_LT(req.ByteSizeLong(),
            static_cast<size_t>(transport::kMaxMessageBytes));
}

TEST(SessionManagerTest, SameSessionTwiceRefused) {
  Cluster c(2, absl::Milliseconds(500));
  const protocol::SessionSetup setup = DkgSetup(c.ids, 2);
  InsecureDeterministicRng rng(1);
  auto a = protocol::DkgParty::Create(setup, *c.ids.signers[0], rng);
  auto b = protocol::DkgParty::Create(setup, *c.ids.signers[0], rng);
  ASSERT_TRUE(a.ok() && b.ok());
  absl::Status second;
  std::thread t([&] {
    absl::SleepFor(absl::Milliseconds(100));
    second =
        c.managers[0]->Run(setup, **b, c.PeersOf(1, {1, 2}), SessionHooks{});
  });
  absl::Status first =
      c.managers[0]->Run(setup, **a, c.PeersOf(1, {1, 2}), SessionHooks{});
  t.join();
  EXPECT_EQ(second.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(first.ok());  // node-2 never ran: a timeout
}

}  // namespace
}  // namespace kagi::node
