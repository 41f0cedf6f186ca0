// File: libs/crypto/tags.h
//
// The single registry of domain-separation tags (PROTOCOL.md §2). Every hash
// Kagi computes over protocol data goes through `Transcript`, which takes one
// of these tags; no other string may be used as a tag, so two uses of the
// hash can never collide by accident.
//
// A tag is an ASCII name plus a version byte. Its encoding, the bytes that
// enter the hash as the second field, is the name followed by the version
// byte. Bump the version of a tag whenever the fields hashed under it change.
//
// Adding a tag: add an enumerator before kCount and a row in kTagTable (in
// tags.cc); transcript_test checks names are unique and every enumerator has a
// row.
#ifndef KAGI_LIBS_CRYPTO_TAGS_H_
#define KAGI_LIBS_CRYPTO_TAGS_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace kagi::crypto {

enum class Tag : uint8_t {
  // §3.1 sessions and envelopes
  kSetup,       // sid0 = H("setup", S)
  kDkgSid,      // sid of a DKG after round 1
  kSignSid,     // sid of a presign/sign session
  kReshareSid,  // sid of a refresh/reshare session
  kEnvelope,    // H("env", header, H(payload)): what identity keys sign
  kEcho,        // round-2 echo of every round-1 envelope
  kRoundNonce,  // hedged per-party randomness
  // §2 proofs and commitments
  kPok,         // Schnorr proof-of-knowledge challenge
  kNonce,       // hedged nonce derivation for proofs
  kDkgCommit,   // DKG round-1 commitment
  kSignCommit,  // presign P1 commitment to R_i
  kReshareCommit,
  // §3.2 base OT
  kBaseOt,     // sid_ot
  kBaseOtKey,  // s^j = H("baseot-key", ...)
  kHashToCurve,
  // §3.3 COTe / RVOLE
  kPrg,
  kKosU,
  kKosChi,
  kCote,
  kRvole,
  kGadget,
  kTheta,
  kMu,
  kRvoleATilde,  // digest of ã that θ is derived from
  kMuRows,       // digest of the μ check rows
  // §3.4 DKG
  kChainCode,
  kDkgView,
  kDkgAck,
  kKeyId,
  // §3.5–3.6 presign / sign
  kZeta,
  kRerandomize,
  // §3.7 reshare
  kReshareView,
  kReshareAck,
  kSignItem,         // one SIGN item (digest, path) of the setup
  kEnvelopePayload,  // H("env-payload", payload) inside the envelope digest
  // Storage: AAD of sealed records, hash chain of the audit log
  kSealAad,
  kAudit,
  // API: request_digest = H("request", canonical request fields)
  kRequest,
  // §3.4 / §3.7 activation: the ack every member signs over the view
  kActivationAck,
  // Storage: a node's signature over its audit chain head (audit.h)
  kAuditHead,
  kCount,  // sentinel, keep last
};

inline constexpr size_t kNumTags = static_cast<size_t>(Tag::kCount);

struct TagInfo {
  Tag tag;
  absl::string_view name;
  uint8_t version;
};

// TagInfoFor returns the registry row of `tag`.
const TagInfo& TagInfoFor(Tag tag);

// AllTags lists every registry row, in enumerator order.
const TagInfo* AllTags();

// The domain prefix hashed first in every transcript: enc("kagi/v1").
inline constexpr absl::string_view kDomain = "kagi/v1";

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_TAGS_H_
