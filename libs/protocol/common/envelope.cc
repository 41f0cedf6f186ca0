#include "libs/protocol/common/envelope.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/check.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/transcript.h"

namespace kagi::protocol {
namespace {

void PutHeader(ByteWriter& w, const EnvelopeHeader& h) {
  w.PutU8(h.version);
  w.PutU8(static_cast<uint8_t>(h.op));
  w.PutRaw(h.session);
  w.PutU32(h.round);
  w.PutU32(h.from);
  w.PutU32(h.to);
}

bool SameHeader(const EnvelopeHeader& a, const EnvelopeHeader& b) {
  return a.version == b.version && a.op == b.op && a.session == b.session &&
         a.round == b.round && a.from == b.from && a.to == b.to;
}

}  // namespace

Bytes EncodeHeader(const EnvelopeHeader& header) {
  ByteWriter w;
  PutHeader(w, header);
  KAGI_CHECK(w.bytes().size() == kEnvelopeHeaderBytes);
  return std::move(w).Take();
}

std::array<uint8_t, 32> EnvelopeDigest(const EnvelopeHeader& header,
                                       ByteSpan payload) {
  const crypto::Digest32 payload_digest =
      crypto::Transcript(crypto::Tag::kEnvelopePayload).Add(payload).H();
  return crypto::Transcript(crypto::Tag::kEnvelope)
      .Add(EncodeHeader(header))
      .Add(payload_digest)
      .H();
}

Bytes EncodeEnvelope(const Envelope& envelope) {
  ByteWriter w;
  PutHeader(w, envelope.header);
  KAGI_CHECK(envelope.payload.size() <= std::numeric_limits<uint32_t>::max());
  w.PutLengthPrefixed(envelope.payload);
  w.PutRaw(envelope.signature);
  return std::move(w).Take();
}

namespace {

absl::StatusOr<EnvelopeHeader> ReadHeader(ByteReader& r) {
  EnvelopeHeader h;
  KAGI_ASSIGN_OR_RETURN(h.version, r.ReadU8("envelope.version"));
  if (h.version != kEnvelopeVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "envelope.version: unsupported version ", static_cast<int>(h.version)));
  }
  KAGI_ASSIGN_OR_RETURN(const uint8_t op_byte, r.ReadU8("envelope.op"));
  const std::optional<Op> op = OpFromWire(op_byte);
  if (!op.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope.op: unknown op ", static_cast<int>(op_byte)));
  }
  h.op = *op;
  KAGI_ASSIGN_OR_RETURN(h.session, r.ReadFixed<32>("envelope.session"));
  KAGI_ASSIGN_OR_RETURN(h.round, r.ReadU32("envelope.round"));
  KAGI_ASSIGN_OR_RETURN(h.from, r.ReadU32("envelope.from"));
  KAGI_ASSIGN_OR_RETURN(h.to, r.ReadU32("envelope.to"));
  return h;
}

}  // namespace

absl::StatusOr<EnvelopeHeader> DecodeEnvelopeHeader(ByteSpan bytes) {
  ByteReader r(bytes);
  return ReadHeader(r);
}

absl::StatusOr<Envelope> DecodeEnvelope(ByteSpan bytes,
                                        size_t max_payload_bytes) {
  ByteReader r(bytes);
  Envelope e;
  KAGI_ASSIGN_OR_RETURN(e.header, ReadHeader(r));
  KAGI_ASSIGN_OR_RETURN(
      const ByteSpan payload,
      r.ReadLengthPrefixed(max_payload_bytes, "envelope.payload"));
  e.payload = ToBytes(payload);
  KAGI_ASSIGN_OR_RETURN(e.signature, r.ReadFixed<64>("envelope.signature"));
  KAGI_RETURN_IF_ERROR(r.ExpectEnd("envelope"));
  return e;
}

bool SameSignedContent(const Envelope& a, const Envelope& b) {
  return SameHeader(a.header, b.header) && a.payload == b.payload;
}

bool SameEnvelope(const Envelope& a, const Envelope& b) {
  return SameSignedContent(a, b) && a.signature == b.signature;
}

EnvelopeSigner::~EnvelopeSigner() = default;

Ed25519EnvelopeSigner::Ed25519EnvelopeSigner(uint32_t party,
                                             crypto::Ed25519PrivateKey key)
    : party_(party), key_(std::move(key)) {}

std::array<uint8_t, 64> Ed25519EnvelopeSigner::Sign(
    const std::array<uint8_t, 32>& digest) const {
  return key_.Sign(digest);
}

Envelope SignEnvelope(const EnvelopeSigner& signer,
                      const EnvelopeHeader& header, Bytes payload) {
  KAGI_CHECK(header.from == signer.party());
  Envelope e;
  e.header = header;
  e.payload = std::move(payload);
  e.signature = signer.Sign(EnvelopeDigest(e.header, e.payload));
  return e;
}

IdentityVerifier::IdentityVerifier(const SessionSetup& setup) {
  for (const PartyInfo& p : setup.parties) {
    keys_.emplace(p.id, p.identity_key);
  }
}

absl::Status IdentityVerifier::Verify(const Envelope& envelope) const {
  const auto it = keys_.find(envelope.header.from);
  if (it == keys_.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "envelope.from: ", envelope.header.from, " is not a party"));
  }
  const std::array<uint8_t, 32> digest =
      EnvelopeDigest(envelope.header, envelope.payload);
  absl::Status status =
      crypto::Ed25519Verify(it->second, digest, envelope.signature);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope.signature: from party ", envelope.header.from,
                     ": ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace kagi::protocol
