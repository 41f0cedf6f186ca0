#include "libs/protocol/round.h"

#include "absl/strings/str_cat.h"
#include "libs/base/abort.h"
#include "libs/base/status_macros.h"

namespace kagi::protocol {
namespace {

constexpr size_t kMaxEnvelopeInEcho = 4096;
constexpr size_t kMaxEchoBytes = kMaxParties * (4 + kMaxEnvelopeInEcho) + 4;

}  // namespace

Bytes EncodeEcho(const std::map<uint32_t, Envelope>& round1) {
  ByteWriter w;
  w.PutU32(static_cast<uint32_t>(round1.size()));
  for (const auto& [id, env] : round1) {
    w.PutLengthPrefixed(EncodeEnvelope(env));
  }
  return std::move(w).Take();
}

absl::Status CheckRound1Session(const Envelope& e,
                                const std::array<uint8_t, 32>& sid0) {
  if (e.header.session != sid0) {
    return AbortError(
        AbortClass::kBlame, {},
        absl::StrCat("round-1 message from party ", e.header.from,
                     " was made for another setup (sid0 mismatch): a replay "
                     "or a coordinator handing out different setups; not "
                     "attributable"));
  }
  return absl::OkStatus();
}

Envelope SignRoundEnvelope(const EnvelopeSigner& signer, Op op, uint32_t round,
                           const std::array<uint8_t, 32>& sid0,
                           const std::array<uint8_t, 32>& sid, uint32_t to,
                           Bytes payload) {
  EnvelopeHeader h;
  h.op = op;
  h.session = round == 1 ? sid0 : sid;
  h.round = round;
  h.from = signer.party();
  h.to = to;
  return SignEnvelope(signer, h, std::move(payload));
}

absl::Status CheckSession(const Envelope& e,
                          const std::array<uint8_t, 32>& sid) {
  if (e.header.session != sid) {
    return BlameError(
        e.header.from,
        absl::StrCat(OpName(e.header.op), " round ", e.header.round,
                     " message from party ", e.header.from,
                     " belongs to another session"));
  }
  return absl::OkStatus();
}

absl::Status CheckRoundComplete(const RoundInput& in,
                                const std::vector<uint32_t>& peers,
                                bool broadcast, bool direct) {
  for (uint32_t j : peers) {
    if ((broadcast && in.broadcasts.count(j) == 0) ||
        (direct && in.directs.count(j) == 0)) {
      return AbortError(AbortClass::kTimeout, {},
                        absl::StrCat("no message from party ", j));
    }
  }
  const size_t want =
      (broadcast ? peers.size() : 0) + (direct ? peers.size() : 0);
  if (in.broadcasts.size() + in.directs.size() != want) {
    return absl::InternalError("round input has unexpected senders");
  }
  return absl::OkStatus();
}

absl::StatusOr<PayloadRest> CheckEchoes(
    const std::map<uint32_t, Envelope>& envelopes,
    const std::vector<uint32_t>& peers,
    const std::map<uint32_t, Envelope>& round1,
    const IdentityVerifier& verifier) {
  std::map<uint32_t, ByteSpan> rest;
  for (uint32_t j : peers) {
    const Envelope& e = envelopes.at(j);
    ByteReader r(e.payload);
    absl::StatusOr<ByteSpan> echo = ReadEcho(r);
    if (!echo.ok()) {
      return BlameWith(j, echo.status());
    }
    KAGI_RETURN_IF_ERROR(CheckEcho(*echo, j, round1, verifier));
    rest[j] = ByteSpan(e.payload).subspan(e.payload.size() - r.remaining());
  }
  return rest;
}

crypto::PokContext MakePokContext(const std::array<uint8_t, 32>& sid,
                                  uint32_t prover, absl::string_view label,
                                  uint32_t index, ByteSpan extra) {
  crypto::PokContext c;
  c.sid = sid;
  c.label = AsBytes(label);
  c.prover = prover;
  c.index = index;
  c.extra = extra;
  return c;
}

absl::StatusOr<ByteSpan> ReadEcho(ByteReader& r) {
  return r.ReadLengthPrefixed(kMaxEchoBytes, "echo");
}

absl::Status CheckEcho(ByteSpan echo, uint32_t reporter,
                       const std::map<uint32_t, Envelope>& mine,
                       const IdentityVerifier& verifier) {
  ByteReader r(echo);
  absl::StatusOr<uint32_t> count = r.ReadU32("echo.count");
  if (!count.ok()) {
    return BlameWith(reporter, count.status());
  }
  if (*count != mine.size()) {
    return BlameError(
        reporter, absl::StrCat("echo lists ", *count,
                               " round-1 envelopes, expected ", mine.size()));
  }
  for (const auto& [id, own_copy] : mine) {
    absl::StatusOr<ByteSpan> raw =
        r.ReadLengthPrefixed(kMaxEnvelopeInEcho, "echo.envelope");
    if (!raw.ok()) {
      return BlameWith(reporter, raw.status());
    }
    absl::StatusOr<Envelope> theirs = DecodeEnvelope(*raw, kMaxEnvelopeInEcho);
    if (!theirs.ok()) {
      return BlameWith(reporter, theirs.status());
    }
    if (SameSignedContent(*theirs, own_copy)) {
      continue;
    }
    const EnvelopeHeader& h = theirs->header;
    const bool same_slot = h.from == id && h.op == own_copy.header.op &&
                           h.round == own_copy.header.round &&
                           h.to == own_copy.header.to &&
                           h.session == own_copy.header.session;
    if (same_slot && verifier.Verify(*theirs).ok()) {
      return BlameError(id,
                        absl::StrCat("equivocation: party ", id,
                                     " signed two different round-1 broadcasts "
                                     "(one reported in the echo of party ",
                                     reporter, ")"));
    }
    return BlameError(reporter,
                      absl::StrCat("echo misreports party ", id,
                                   "'s round-1 broadcast (not validly signed "
                                   "for that slot)"));
  }
  if (absl::Status end = r.ExpectEnd("echo"); !end.ok()) {
    return BlameWith(reporter, end);
  }
  return absl::OkStatus();
}

}  // namespace kagi::protocol
