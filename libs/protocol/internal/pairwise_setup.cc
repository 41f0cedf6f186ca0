#include "libs/protocol/internal/pairwise_setup.h"

#include "libs/base/abort.h"

namespace kagi::protocol::internal {
namespace {

// The base-OT layer blames OT ids; the culprit is participant p. When the
// two coincide the error passes unchanged.
absl::Status BlameParticipant(uint32_t p, const absl::Status& st) {
  const std::optional<AbortInfo> info = GetAbortInfo(st);
  if (info.has_value() && info->culprits == std::vector<uint32_t>{p}) {
    return st;
  }
  return BlameError(p, st.message());
}

}  // namespace

Bytes PairwiseSetup::Start(uint32_t p, uint32_t peer_ot, Rng& rng) {
  Bytes msg1;
  receivers_.emplace(
      p, mpc::BaseOtReceiver::Start(mpc::BaseOtSession{sid_, own_, peer_ot},
                                    rng, &msg1));
  return msg1;
}

absl::Status PairwiseSetup::Respond(uint32_t p, uint32_t peer_ot, ByteSpan msg1,
                                    Rng& rng) {
  absl::StatusOr<mpc::BaseOtSenderResult> ot = mpc::BaseOtSenderRespond(
      mpc::BaseOtSession{sid_, peer_ot, own_}, msg1, rng);
  if (!ot.ok()) {
    return BlameParticipant(p, ot.status());
  }
  senders_.emplace(p, std::move(*ot));
  return absl::OkStatus();
}

Bytes PairwiseSetup::Reply(uint32_t p, uint32_t peer_ot, Rng& rng) {
  ByteWriter d;
  d.PutRaw(senders_.at(p).msg2);
  if (own_ < peer_ot) {
    SecretBytes kappa(32);
    rng.Fill(kappa.mutable_span());
    d.PutRaw(kappa.secret());
    zero_seeds_[p] = std::move(kappa);
  }
  return std::move(d).Take();
}

absl::StatusOr<PairwiseMaterial> PairwiseSetup::Finish(uint32_t p,
                                                       uint32_t peer_ot,
                                                       ByteSpan reply) {
  auto it = receivers_.find(p);
  absl::StatusOr<mpc::CoteSenderSeeds> seeds =
      std::move(it->second).Finish(reply.subspan(0, mpc::kBaseOtMessageBytes));
  receivers_.erase(it);
  if (!seeds.ok()) {
    return BlameParticipant(p, seeds.status());
  }
  if (peer_ot < own_) {
    zero_seeds_[p] = SecretBytes(reply.subspan(mpc::kBaseOtMessageBytes, 32));
  }
  PairwiseMaterial m;
  m.peer = peer_ot;
  m.as_sender = std::move(*seeds);
  m.as_receiver = std::move(senders_.at(p).seeds);
  m.zero_seed = std::move(zero_seeds_.at(p));
  senders_.erase(p);
  zero_seeds_.erase(p);
  return m;
}

void PairwiseSetup::Wipe() {
  receivers_.clear();
  senders_.clear();
  zero_seeds_.clear();
}

}  // namespace kagi::protocol::internal
