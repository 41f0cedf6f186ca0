// File: libs/protocol/share_party.h
//
// What a party that makes a new share (DkgParty, ReshareParty) shows its
// caller, written once: the pending share after R3, the activation
// certificate after R4 and the round-4 acks it received (activation.h).
//
// The share is available as pending after R3 and stays available after
// ANY later abort: a caller persists it PENDING and never deletes it
// because of an abort. Once every ack matched, the party holds the
// activation certificate: every new holder's signed ack of the same view.
#ifndef KAGI_LIBS_PROTOCOL_SHARE_PARTY_H_
#define KAGI_LIBS_PROTOCOL_SHARE_PARTY_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/phased_party.h"

namespace kagi::protocol {

// The outputs of rounds 3 and 4, filled by the concrete party.
struct ShareOutcome {
  std::optional<KeyShare> pending;
  ActivationView view;  // what this party acks
  Envelope own_ack;
  std::map<uint32_t, Envelope> received_acks;  // kept whatever they say
  std::optional<ActivationCertificate> certificate;
};

class ShareParty : public PhasedParty {
 public:
  // The share once R3 has been processed (null before, or for a reshare's
  // pure dealer); still available after an abort in R4.
  const KeyShare* pending_share() const {
    return outcome_.pending.has_value() ? &*outcome_.pending : nullptr;
  }
  // The activation certificate once R4 succeeded (null before or after an
  // abort): the view of the pending share and every new holder's ack
  // envelope in id order, this party's own included.
  const ActivationCertificate* certificate() const {
    return outcome_.certificate.has_value() ? &*outcome_.certificate : nullptr;
  }
  // The round-4 envelopes received, by sender, whether or not they matched
  // (empty before R4 input).
  const std::map<uint32_t, Envelope>& received_acks() const {
    return outcome_.received_acks;
  }
  // TakeShare returns the share after R4 (every ack matched); once.
  absl::StatusOr<KeyShare> TakeShare();

 protected:
  // `not_final` is TakeShare's error before the end.
  ShareParty(Table table, std::string not_final)
      : PhasedParty(std::move(table)), not_final_(std::move(not_final)) {}
  ShareOutcome& outcome() { return outcome_; }

 private:
  ShareOutcome outcome_;
  std::string not_final_;
};

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_SHARE_PARTY_H_
