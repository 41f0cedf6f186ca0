#include "libs/protocol/internal/ack_round.h"

#include "libs/base/abort.h"
#include "libs/base/status_macros.h"

namespace kagi::protocol::internal {

std::vector<Envelope> SendAck(
    ShareOutcome& out,
    const std::function<Envelope(uint32_t, uint32_t, Bytes)>& sign) {
  const std::array<uint8_t, 32> ack = AckDigest(out.view);
  out.own_ack = sign(4, kBroadcast, Bytes(ack.begin(), ack.end()));
  return {out.own_ack};
}

absl::StatusOr<std::vector<Envelope>> CheckAcks(
    ShareOutcome& out, const RoundInput& in, const std::vector<uint32_t>& peers,
    const std::array<uint8_t, 32>& sid, uint32_t self,
    const std::vector<uint32_t>& holders, absl::string_view mismatch) {
  for (const auto& [j, e] : in.broadcasts) {
    out.received_acks[j] = e;
  }
  KAGI_RETURN_IF_ERROR(CheckRoundComplete(in, peers, true, false));
  const std::array<uint8_t, 32> ack = AckDigest(out.view);
  for (uint32_t j : peers) {
    const Envelope& b = in.broadcasts.at(j);
    KAGI_RETURN_IF_ERROR(CheckSession(b, sid));
    if (b.payload.size() != ack.size() ||
        !std::equal(ack.begin(), ack.end(), b.payload.begin())) {
      return BlameError(j, mismatch);
    }
  }
  ActivationCertificate cert;
  cert.view = out.view;
  for (uint32_t id : holders) {
    cert.acks.push_back(id == self ? out.own_ack : in.broadcasts.at(id));
  }
  out.certificate = std::move(cert);
  return std::vector<Envelope>{};
}

}  // namespace kagi::protocol::internal
