#include "libs/protocol/testing/simulation.h"

#include <chrono>
#include <deque>

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/protocol/common/round_collector.h"

namespace kagi::protocol::testing {

Identities MakeIdentities(uint32_t n, uint64_t seed) {
  InsecureDeterministicRng rng(seed * 7919 + n);
  Identities ids;
  for (uint32_t id = 1; id <= n; ++id) {
    crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate(rng);
    PartyInfo p;
    p.id = id;
    p.identity_key = key.PublicKey();
    ids.parties.push_back(p);
    ids.signers.push_back(
        std::make_unique<Ed25519EnvelopeSigner>(id, std::move(key)));
  }
  return ids;
}

void Resign(const Identities& ids, Envelope& e) {
  e = SignEnvelope(ids.signer(e.header.from), e.header, e.payload);
}

namespace {

struct InFlight {
  uint32_t transport_sender;
  uint32_t to;  // recipient
  Envelope envelope;
};

struct Node {
  RoundProtocol* protocol = nullptr;
  std::unique_ptr<RoundCollector> collector;
  uint32_t collector_round = 0;
  // Collectors of finished rounds: a late duplicate is recognised as such,
  // a different late envelope as equivocation (RoundCollector's contract:
  // the driver routes envelopes by round).
  std::map<uint32_t, std::unique_ptr<RoundCollector>> past;
  std::map<uint32_t, std::vector<std::pair<uint32_t, Envelope>>> early;
  absl::Status status;
  bool done = false;
};

}  // namespace

SimulationResult RunSession(std::vector<RoundProtocol*> parties,
                            const SessionSetup& setup, uint64_t seed,
                            const AdversaryHook& hook) {
  InsecureDeterministicRng rng(seed);
  IdentityVerifier verifier(setup);
  std::map<uint32_t, Node> nodes;
  for (RoundProtocol* p : parties) {
    nodes[p->self()].protocol = p;
  }
  std::vector<InFlight> queue;
  SimulationResult result;
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto seconds = [](auto a, auto b) {
    return std::chrono::duration<double>(b - a).count();
  };

  auto enqueue = [&](uint32_t from, std::vector<Envelope> out) {
    for (Envelope& e : out) {
      result.bytes_sent[from] += EncodeEnvelope(e).size();
      Outgoing o;
      o.from = from;
      o.envelope = std::move(e);
      o.transport_sender = from;
      if (hook) {
        hook(o);
      }
      std::vector<Envelope> all;
      if (!o.drop) {
        for (auto& [id, node] : nodes) {
          auto pr = o.per_recipient.find(id);
          if (id != from && pr != o.per_recipient.end() &&
              o.withhold_from.count(id) == 0) {
            queue.push_back({o.transport_sender, id, pr->second});
          }
        }
        if (o.per_recipient.empty() && o.withhold_from.empty()) {
          all.push_back(std::move(o.envelope));
        } else {
          // Everyone without a per-recipient version, and not withheld
          // from, gets `envelope`.
          for (auto& [id, node] : nodes) {
            if (id != from && o.per_recipient.count(id) == 0 &&
                o.withhold_from.count(id) == 0 &&
                (o.envelope.header.to == kBroadcast ||
                 o.envelope.header.to == id)) {
              queue.push_back({o.transport_sender, id, o.envelope});
            }
          }
        }
      }
      for (Envelope& x : o.extra) {
        all.push_back(std::move(x));
      }
      for (Envelope& x : all) {
        for (auto& [id, node] : nodes) {
          if (id == from) {
            continue;
          }
          if (x.header.to == kBroadcast || x.header.to == id) {
            queue.push_back({o.transport_sender, id, x});
          }
        }
      }
    }
  };

  auto open_round = [&](uint32_t id) {
    Node& node = nodes[id];
    if (node.collector != nullptr) {
      node.past[node.collector_round] = std::move(node.collector);
    }
    const RoundSpec spec = node.protocol->expecting();
    if (spec.round == 0) {
      node.collector.reset();
      return;
    }
    node.collector = std::make_unique<RoundCollector>(
        node.protocol->op(), spec.round, id, node.protocol->peers(),
        spec.broadcast, spec.direct, &verifier);
    node.collector_round = spec.round;
  };

  // Deliver one envelope; advance the recipient when its round completes.
  std::function<void(uint32_t, uint32_t, const Envelope&)> deliver =
      [&](uint32_t to, uint32_t transport_sender, const Envelope& e) {
        Node& node = nodes[to];
        if (node.done || !node.status.ok() || node.collector == nullptr) {
          return;
        }
        const uint32_t round = node.protocol->expecting().round;
        if (e.header.round > round) {
          node.early[e.header.round].push_back({transport_sender, e});
          return;
        }
        auto past = node.past.find(e.header.round);
        if (e.header.round < round && past != node.past.end()) {
          absl::StatusOr<OfferResult> late =
              past->second->Offer(transport_sender, e);
          if (!late.ok()) {
            node.status = late.status();
          }
          return;
        }
        absl::StatusOr<OfferResult> r =
            node.collector->Offer(transport_sender, e);
        if (!r.ok()) {
          node.status = r.status();
          return;
        }
        if (!node.collector->Complete()) {
          return;
        }
        RoundInput in;
        in.broadcasts = node.collector->broadcasts();
        in.directs = node.collector->directs();
        const auto t0 = now();
        absl::StatusOr<std::vector<Envelope>> out = node.protocol->Advance(in);
        result.seconds_in_round[round] += seconds(t0, now());
        if (!out.ok()) {
          node.status = out.status();
          return;
        }
        enqueue(to, std::move(*out));
        if (node.protocol->finished()) {
          node.done = true;
          node.collector.reset();
          return;
        }
        open_round(to);
        const uint32_t next = node.protocol->expecting().round;
        auto it = node.early.find(next);
        if (it != node.early.end()) {
          auto pending = std::move(it->second);
          node.early.erase(it);
          for (auto& [ts, env] : pending) {
            deliver(to, ts, env);
          }
        }
      };

  for (auto& [id, node] : nodes) {
    const auto t0 = now();
    absl::StatusOr<std::vector<Envelope>> out = node.protocol->Start();
    result.seconds_in_round[0] += seconds(t0, now());
    if (!out.ok()) {
      node.status = out.status();
      continue;
    }
    open_round(id);
    enqueue(id, std::move(*out));
  }
  while (!queue.empty()) {
    // Pick a random message: delivery order is adversarial-ish but seeded.
    uint64_t pick = 0;
    rng.Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(&pick), sizeof(pick)));
    const size_t idx = static_cast<size_t>(pick % queue.size());
    InFlight m = std::move(queue[idx]);
    queue[idx] = std::move(queue.back());
    queue.pop_back();
    deliver(m.to, m.transport_sender, m.envelope);
  }
  for (auto& [id, node] : nodes) {
    if (!node.status.ok()) {
      result.status[id] = node.status;
    } else if (node.done) {
      result.status[id] = absl::OkStatus();
    } else {
      std::vector<uint32_t> missing;
      if (node.collector != nullptr) {
        missing = node.collector->Missing();
      }
      result.status[id] =
          AbortError(AbortClass::kTimeout, {},
                     absl::StrCat("party ", id, " timed out waiting for round ",
                                  node.protocol->expecting().round));
    }
  }
  return result;
}

bool DkgRun::ok() const {
  for (const auto& [id, st] : result.status) {
    if (!st.ok()) {
      return false;
    }
  }
  return result.status.size() == setup.parties.size();
}

DkgRun RunDkg(uint32_t t, uint32_t n, uint64_t seed,
              const AdversaryHook& hook) {
  return RunDkgWith(MakeIdentities(n, seed), t, seed, hook);
}

DkgRun RunDkgWith(Identities ids, uint32_t t, uint64_t seed,
                  const AdversaryHook& hook) {
  DkgRun run;
  const uint32_t n = static_cast<uint32_t>(ids.parties.size());
  run.ids = std::move(ids);
  run.setup.op = Op::kDkg;
  run.setup.parties = run.ids.parties;
  run.setup.threshold = t;
  InsecureDeterministicRng setup_rng(seed ^ 0x5eed);
  run.setup.initiator_nonce = setup_rng.Bytes<32>();
  std::vector<std::unique_ptr<InsecureDeterministicRng>> rngs;
  std::vector<std::unique_ptr<DkgParty>> parties;
  std::vector<RoundProtocol*> ptrs;
  for (uint32_t id = 1; id <= n; ++id) {
    rngs.push_back(
        std::make_unique<InsecureDeterministicRng>(seed * 1000 + id));
    absl::StatusOr<std::unique_ptr<DkgParty>> p =
        DkgParty::Create(run.setup, run.ids.signer(id), *rngs.back());
    KAGI_CHECK(p.ok());
    ptrs.push_back(p->get());
    parties.push_back(std::move(*p));
  }
  run.result = RunSession(ptrs, run.setup, seed, hook);
  run.shares.resize(n);
  for (uint32_t id = 1; id <= n; ++id) {
    if (run.result.status[id].ok()) {
      absl::StatusOr<KeyShare> share = parties[id - 1]->TakeShare();
      KAGI_CHECK(share.ok());
      run.shares[id - 1] = std::move(*share);
    }
  }
  return run;
}

SessionSetup MakeSignSetup(const KeyShare& share, std::vector<uint32_t> signers,
                           std::vector<SignItem> items, uint64_t seed) {
  SessionSetup s;
  s.op = Op::kSign;
  s.key_id = share.key_id;
  s.epoch = share.epoch;
  s.parties = share.parties;
  s.threshold = share.threshold;
  s.signers = std::move(signers);
  s.items = std::move(items);
  InsecureDeterministicRng rng(seed ^ 0xabcdef);
  s.request_digest = rng.Bytes<32>();
  s.initiator_nonce = rng.Bytes<32>();
  return s;
}

bool SignRun::ok() const {
  for (const auto& [id, st] : result.status) {
    if (!st.ok()) {
      return false;
    }
  }
  return !result.status.empty();
}

SignRun RunSign(const Identities& ids, const std::vector<KeyShare>& shares,
                const SessionSetup& setup, uint64_t seed,
                const AdversaryHook& hook) {
  SignRun run;
  std::vector<std::unique_ptr<InsecureDeterministicRng>> rngs;
  std::vector<std::unique_ptr<SignParty>> parties;
  std::vector<RoundProtocol*> ptrs;
  for (uint32_t id : setup.signers) {
    rngs.push_back(
        std::make_unique<InsecureDeterministicRng>(seed * 1000 + id));
    ConsumeHook consume = [&run, id](const PresignatureId& p) {
      run.consumed[id].push_back(p);
      return absl::OkStatus();
    };
    absl::StatusOr<std::unique_ptr<SignParty>> p = SignParty::Create(
        setup, shares[id - 1], ids.signer(id), *rngs.back(), consume);
    if (!p.ok()) {
      run.result.status[id] = p.status();
      continue;
    }
    ptrs.push_back(p->get());
    parties.push_back(std::move(*p));
  }
  if (!run.result.status.empty()) {
    return run;
  }
  run.result = RunSession(ptrs, setup, seed, hook);
  for (const auto& p : parties) {
    if (run.result.status[p->self()].ok()) {
      run.signatures[p->self()] = p->signatures();
    }
  }
  return run;
}

Identities IdentitiesFromSeeds(const std::vector<Bytes>& seeds) {
  Identities ids;
  for (size_t i = 0; i < seeds.size(); ++i) {
    const uint32_t id = static_cast<uint32_t>(i + 1);
    absl::StatusOr<crypto::Ed25519PrivateKey> key =
        crypto::Ed25519PrivateKey::FromSeed(SecretBytes(seeds[i]));
    KAGI_CHECK(key.ok());
    PartyInfo p;
    p.id = id;
    p.identity_key = key->PublicKey();
    ids.parties.push_back(p);
    ids.signers.push_back(
        std::make_unique<Ed25519EnvelopeSigner>(id, std::move(*key)));
  }
  return ids;
}

bool ReshareRun::ok() const {
  for (const auto& [id, st] : result.status) {
    if (!st.ok()) {
      return false;
    }
  }
  return !result.status.empty();
}

ReshareRun RunReshare(const Identities& participants, const SessionSetup& setup,
                      const std::map<uint32_t, const KeyShare*>& old_shares,
                      uint64_t seed, const AdversaryHook& hook) {
  ReshareRun run;
  std::vector<std::unique_ptr<InsecureDeterministicRng>> rngs;
  std::vector<std::unique_ptr<ReshareParty>> parties;
  std::vector<RoundProtocol*> ptrs;
  uint32_t new_n = 0;
  for (const ReshareRole& r : setup.reshare_roles) {
    new_n += r.new_id != 0 ? 1 : 0;
  }
  for (const PartyInfo& p : setup.parties) {
    rngs.push_back(
        std::make_unique<InsecureDeterministicRng>(seed * 1000 + p.id));
    auto it = old_shares.find(p.id);
    absl::StatusOr<std::unique_ptr<ReshareParty>> party = ReshareParty::Create(
        setup, it == old_shares.end() ? nullptr : it->second,
        participants.signer(p.id), *rngs.back());
    if (!party.ok()) {
      run.result.status[p.id] = party.status();
      continue;
    }
    ptrs.push_back(party->get());
    parties.push_back(std::move(*party));
  }
  run.new_shares.resize(new_n);
  if (!run.result.status.empty()) {
    return run;
  }
  run.result = RunSession(ptrs, setup, seed, hook);
  for (const auto& p : parties) {
    if (run.result.status[p->self()].ok() && p->is_member()) {
      absl::StatusOr<KeyShare> share = p->TakeShare();
      KAGI_CHECK(share.ok());
      run.new_shares[share->self - 1] = std::move(*share);
    }
  }
  return run;
}

}  // namespace kagi::protocol::testing
