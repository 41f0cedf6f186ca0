#include "libs/protocol/common/round_collector.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"

namespace kagi::protocol {

RoundCollector::RoundCollector(Op op, uint32_t round, uint32_t self,
                               std::vector<uint32_t> senders,
                               bool expect_broadcast, bool expect_direct,
                               const IdentityVerifier* verifier)
    : op_(op),
      round_(round),
      self_(self),
      senders_(std::move(senders)),
      expect_broadcast_(expect_broadcast),
      expect_direct_(expect_direct),
      verifier_(verifier) {
  KAGI_CHECK(verifier_ != nullptr);
  KAGI_CHECK(expect_broadcast_ || expect_direct_);
  KAGI_CHECK(self_ != kBroadcast);
  std::sort(senders_.begin(), senders_.end());
  KAGI_CHECK(std::adjacent_find(senders_.begin(), senders_.end()) ==
             senders_.end());
  KAGI_CHECK(!IsSender(self_));
  KAGI_CHECK(!IsSender(kBroadcast));
}

bool RoundCollector::IsSender(uint32_t id) const {
  return std::binary_search(senders_.begin(), senders_.end(), id);
}

absl::StatusOr<OfferResult> RoundCollector::Offer(uint32_t transport_sender,
                                                  const Envelope& envelope) {
  const EnvelopeHeader& h = envelope.header;
  // §3.9 item 1: authenticate before anything can be blamed on `from`.
  if (transport_sender != h.from || !IsSender(h.from) ||
      !verifier_->Verify(envelope).ok()) {
    return OfferResult::kDropped;
  }
  // §3.9 item 2: the sender signed this, so any mismatch is its fault.
  const uint32_t from = h.from;
  if (h.version != kEnvelopeVersion) {
    return BlameError(
        from, absl::StrCat("envelope version ", static_cast<int>(h.version),
                           " unsupported"));
  }
  if (h.op != op_) {
    return BlameError(from, absl::StrCat("envelope for op ", OpName(h.op),
                                         " in a ", OpName(op_), " session"));
  }
  if (h.round != round_) {
    return BlameError(from, absl::StrCat("envelope for round ", h.round,
                                         " while collecting round ", round_));
  }
  std::map<uint32_t, Envelope>* slots = nullptr;
  if (h.to == kBroadcast) {
    if (!expect_broadcast_) {
      return BlameError(from,
                        absl::StrCat("unexpected broadcast in round ", round_));
    }
    slots = &broadcasts_;
  } else if (h.to == self_) {
    if (!expect_direct_) {
      return BlameError(from, absl::StrCat("unexpected direct message in "
                                           "round ",
                                           round_));
    }
    slots = &directs_;
  } else {
    return BlameError(from, absl::StrCat("envelope addressed to party ", h.to,
                                         ", not to ", self_));
  }
  const auto it = slots->find(from);
  if (it == slots->end()) {
    slots->emplace(from, envelope);
    return OfferResult::kAccepted;
  }
  if (SameSignedContent(it->second, envelope)) {
    return OfferResult::kDuplicate;
  }
  if (it->second.header.session != h.session) {
    // Not this session's message: a slot is keyed by (session, round, from),
    // so this is no equivocation. The protocol's session check decides about
    // the envelope already in the slot.
    return OfferResult::kDropped;
  }
  if (!equivocation_.has_value()) {
    equivocation_ = Equivocation{from, it->second, envelope};
  }
  return BlameError(
      from, absl::StrCat("equivocation: two different signed ",
                         h.to == kBroadcast ? "broadcasts" : "direct messages",
                         " in round ", round_));
}

std::vector<uint32_t> RoundCollector::Missing() const {
  std::vector<uint32_t> missing;
  for (uint32_t id : senders_) {
    if ((expect_broadcast_ && broadcasts_.count(id) == 0) ||
        (expect_direct_ && directs_.count(id) == 0)) {
      missing.push_back(id);
    }
  }
  return missing;
}

}  // namespace kagi::protocol
