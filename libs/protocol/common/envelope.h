// File: libs/protocol/common/envelope.h
//
// Signed protocol envelopes (PROTOCOL.md §3.1). An envelope is a header
//
//   u8 version ‖ u8 op ‖ session[32] ‖ u32 round ‖ u32 from ‖ u32 to
//
// (`session` is sid0 before the session id is fixed, sid after; `to` is a
// party id or kBroadcast), an opaque canonical payload, and the sender's
// Ed25519 identity-key signature over
//
//   EnvelopeDigest = H("env", EncodeHeader(header), H("env-payload", payload)).
//
// Its wire form is header ‖ u32 len ‖ payload ‖ signature[64]. Transports
// carry these bytes opaquely; nothing here re-serialises a protobuf.
//
// A broadcast is one signed envelope sent to everyone, so two validly signed,
// different envelopes for the same (session, round, from, to) prove
// equivocation (see round_collector.h).
#ifndef KAGI_LIBS_PROTOCOL_COMMON_ENVELOPE_H_
#define KAGI_LIBS_PROTOCOL_COMMON_ENVELOPE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/crypto/evp.h"
#include "libs/protocol/common/ids.h"
#include "libs/protocol/common/setup.h"

namespace kagi::protocol {

// kEnvelopeVersion is the only envelope version this code accepts.
inline constexpr uint8_t kEnvelopeVersion = 1;

// EnvelopeHeader is what, besides the payload, the sender signs.
struct EnvelopeHeader {
  uint8_t version = kEnvelopeVersion;
  Op op = Op::kDkg;
  std::array<uint8_t, 32> session{};  // sid0 or sid
  uint32_t round = 0;
  uint32_t from = 0;
  uint32_t to = kBroadcast;
};

// kEnvelopeHeaderBytes is the length of EncodeHeader's output.
inline constexpr size_t kEnvelopeHeaderBytes = 46;  // 1+1+32+4+4+4

// EncodeHeader returns the 46-byte canonical header encoding.
Bytes EncodeHeader(const EnvelopeHeader& header);

// Envelope is one signed protocol message.
struct Envelope {
  EnvelopeHeader header;
  Bytes payload;
  std::array<uint8_t, 64> signature{};
};

// EnvelopeDigest returns H("env", EncodeHeader(header), H("env-payload",
// payload)): the 32 bytes identity keys sign.
std::array<uint8_t, 32> EnvelopeDigest(const EnvelopeHeader& header,
                                       ByteSpan payload);

// EncodeEnvelope returns header ‖ u32 len ‖ payload ‖ signature.
Bytes EncodeEnvelope(const Envelope& envelope);

// DecodeEnvelope parses EncodeEnvelope's output strictly: known version and
// op, payload at most `max_payload_bytes` (checked before it is read), exact
// signature length, no trailing bytes. It does not verify the signature.
// Returns InvalidArgument naming the field at fault.
absl::StatusOr<Envelope> DecodeEnvelope(ByteSpan bytes,
                                        size_t max_payload_bytes);

// DecodeEnvelopeHeader parses only the header at the start of an encoded
// envelope (known version and op), so a receiver can bound the rest by what
// the header says before it reads or hashes the payload. Returns
// InvalidArgument naming the field at fault.
absl::StatusOr<EnvelopeHeader> DecodeEnvelopeHeader(ByteSpan bytes);

// SameEnvelope reports whether the two envelopes are byte-for-byte equal
// (header, payload and signature).
bool SameEnvelope(const Envelope& a, const Envelope& b);

// SameSignedContent reports whether the two envelopes have equal headers and
// payloads, whatever their signatures. Two envelopes with the same content
// say the same thing, so they are never evidence of equivocation.
bool SameSignedContent(const Envelope& a, const Envelope& b);

// EnvelopeSigner signs envelope digests with one party's identity key.
// Implementations must be usable from const methods concurrently.
class EnvelopeSigner {
 public:
  virtual ~EnvelopeSigner();
  // party returns the id this signer signs as.
  virtual uint32_t party() const = 0;
  // Sign returns the 64-byte signature over `digest`.
  virtual std::array<uint8_t, 64> Sign(
      const std::array<uint8_t, 32>& digest) const = 0;
};

// Ed25519EnvelopeSigner signs with an in-process Ed25519 key, which it owns.
class Ed25519EnvelopeSigner final : public EnvelopeSigner {
 public:
  Ed25519EnvelopeSigner(uint32_t party, crypto::Ed25519PrivateKey key);

  uint32_t party() const override { return party_; }
  std::array<uint8_t, 64> Sign(
      const std::array<uint8_t, 32>& digest) const override;
  // public_key returns the identity public key that verifies this signer.
  const crypto::Ed25519PublicKeyBytes& public_key() const {
    return key_.PublicKey();
  }

 private:
  uint32_t party_;
  crypto::Ed25519PrivateKey key_;
};

// SignEnvelope builds and signs an envelope. `header.from` must equal
// `signer.party()` (KAGI_CHECK: a mismatch is a programming error).
Envelope SignEnvelope(const EnvelopeSigner& signer,
                      const EnvelopeHeader& header, Bytes payload);

// IdentityVerifier checks envelope signatures against a session's pinned
// identity keys. It copies the keys, so the setup need not outlive it.
class IdentityVerifier {
 public:
  explicit IdentityVerifier(const SessionSetup& setup);

  // Verify returns OK if `envelope.header.from` is a party of the setup and
  // its identity key signed the envelope. Returns InvalidArgument for an
  // unknown sender or a bad signature; the caller drops such envelopes
  // silently (PROTOCOL.md §3.9 item 1).
  absl::Status Verify(const Envelope& envelope) const;

 private:
  std::map<uint32_t, std::array<uint8_t, 32>> keys_;
};

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_COMMON_ENVELOPE_H_
