// File: libs/protocol/internal/party_core.h  (not API)
//
// What every party's state holds the same way: the setup, who it is, its
// peers, the identity verifier, the hedged randomness, the session ids and
// the round-1 record; and how it signs its round messages and binds its
// proofs of knowledge.
#ifndef KAGI_LIBS_PROTOCOL_INTERNAL_PARTY_CORE_H_
#define KAGI_LIBS_PROTOCOL_INTERNAL_PARTY_CORE_H_

#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/base/ctime.h"
#include "libs/base/rng.h"
#include "libs/crypto/hedged_rng.h"
#include "libs/crypto/schnorr.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/internal/round_messages.h"
#include "libs/protocol/round.h"

namespace kagi::protocol::internal {

struct PartyCore {
  Op op = Op::kDkg;
  SessionSetup setup;
  const EnvelopeSigner* signer = nullptr;
  Rng* rng = nullptr;  // the hedged source below
  std::unique_ptr<crypto::HedgedRng> hedged;
  std::unique_ptr<IdentityVerifier> verifier;
  uint32_t self = 0;
  std::vector<uint32_t> peers;
  Hash32 sid0{};
  Hash32 sid{};
  Round1Record round1;
  // Declassify what this party sends (signing only: see sign.cc).
  bool sends_public = false;

  // Bind fills the fields every party sets the same way (sid0 from the
  // setup) and hedges every draw from `base` with the session and
  // `secret_digest` (empty when no secret exists yet).
  void Bind(Op o, const SessionSetup& s, const EnvelopeSigner& sig, uint32_t me,
            Rng& base, ByteSpan secret_digest) {
    op = o;
    setup = s;
    signer = &sig;
    self = me;
    verifier = std::make_unique<IdentityVerifier>(s);
    sid0 = Sid0(s);
    hedged = std::make_unique<crypto::HedgedRng>(base, secret_digest, sid0);
    rng = hedged.get();
  }

  Envelope Sign(uint32_t round, uint32_t to, Bytes payload) const {
    if (sends_public) {
      CtDeclassify(payload.data(), payload.size());
    }
    return SignRoundEnvelope(*signer, op, round, sid0, sid, to,
                             std::move(payload));
  }
  crypto::PokContext Pok(uint32_t prover, absl::string_view label,
                         uint32_t index, ByteSpan extra) const {
    return MakePokContext(sid, prover, label, index, extra);
  }
  // OpenEchoRound checks round 2 is complete as `spec` expects and then
  // every echo (carried by the broadcasts if the round has them, else by
  // the direct messages), before any session check: an equivocated round 1
  // shows up as a different sid in the headers, and must be attributed to
  // the equivocator, not the reporter. Returns each payload after its echo.
  absl::StatusOr<PayloadRest> OpenEchoRound(const RoundInput& in,
                                            const RoundSpec& spec) const {
    absl::Status st =
        CheckRoundComplete(in, peers, spec.broadcast, spec.direct);
    if (!st.ok()) {
      return st;
    }
    return CheckEchoes(spec.broadcast ? in.broadcasts : in.directs, peers,
                       round1.envelopes, *verifier);
  }
  // The signer for internal::SendAck and friends.
  auto Signer() const {
    return [this](uint32_t r, uint32_t to, Bytes p) {
      return Sign(r, to, std::move(p));
    };
  }
};

}  // namespace kagi::protocol::internal

#endif  // KAGI_LIBS_PROTOCOL_INTERNAL_PARTY_CORE_H_
