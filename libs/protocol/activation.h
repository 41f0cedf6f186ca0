// File: libs/protocol/activation.h
//
// Activation certificates (PROTOCOL.md §3.4, §3.7; ARCHITECTURE.md "activation
// certificate"). Round 4 of a DKG or a refresh/reshare is a broadcast ack
// that each party checks on its own, so a malicious member can send its good
// ack to some honest members and a bad one (or none) to others. Those who got
// every good ack finish; the others abort with a share that is PENDING. A
// pending share never becomes active on its own, and is never deleted on an
// abort: it becomes ACTIVE only on a certificate, which any finished member
// can hand to the others (directly, or through the gateway).
//
// What a member acknowledges is the `ActivationView` of its new share: the
// op, the session id (KeyShare::sid_key), key id, epoch, threshold, the new
// committee with its identity keys, X, every X_m and the chain code. Its
// round-4 payload is AckDigest(view) = H("activation-ack", Encode(view)), in
// an envelope signed with its identity key. The certificate is the view plus
// every member's ack envelope; whoever knows the committee's identity keys
// (they are in the view) can verify it, without the session's setup.
//
// The member an ack belongs to is the member whose identity key signed it
// (identity keys are distinct). In a DKG the envelope's `from` must also be
// that member's id. In a reshare `from` is the signer's participant id in
// the session, which may differ from its new member id, so only the
// signature attributes the ack.
//
// Encodings (integers big-endian):
//
//   view: u8 version(1) ‖ u8 op ‖ sid[32] ‖ key_id[32] ‖ u64 epoch
//         ‖ u32 t ‖ u32 n ‖ n × (u32 id ‖ identity_key[32]) ‖ X[33]
//         ‖ n × X_m[33] ‖ chain_code[32]
//   certificate: u8 version(1) ‖ u32 len ‖ view ‖ u32 count
//         ‖ count × (u32 len ‖ EncodeEnvelope(ack))
//
// Decoders are strict: every count and length is bounded before anything is
// read, points must be valid and not infinity, no trailing bytes; errors are
// InvalidArgument naming the field.
#ifndef KAGI_LIBS_PROTOCOL_ACTIVATION_H_
#define KAGI_LIBS_PROTOCOL_ACTIVATION_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/crypto/point.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/ids.h"
#include "libs/protocol/common/round_collector.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/keyshare.h"

namespace kagi::protocol {

// The round whose broadcast is the ack, in both DKG and reshare.
inline constexpr uint32_t kAckRound = 4;
// An ack envelope's payload is exactly the 32-byte AckDigest.
inline constexpr size_t kAckPayloadBytes = 32;
// The only encoding version of views and certificates.
inline constexpr uint8_t kActivationVersion = 1;

// ActivationView is everything a member acknowledges in round 4.
struct ActivationView {
  Op op = Op::kDkg;               // kDkg or kReshare
  std::array<uint8_t, 32> sid{};  // the session id (KeyShare::sid_key)
  std::array<uint8_t, 32> key_id{};
  uint64_t epoch = 0;
  uint32_t threshold = 0;
  std::vector<PartyInfo> parties;  // the new committee, ids 1..n in order
  crypto::Point public_key = crypto::Point::Generator();  // X
  std::vector<crypto::Point> public_shares;               // X_1..X_n
  std::array<uint8_t, 32> chain_code{};

  // Of returns the view of `share` as the result of `op`.
  static ActivationView Of(const KeyShare& share, Op op);

  // Encode returns the canonical encoding above (it does not validate).
  Bytes Encode() const;
  // Decode parses Encode's output strictly, then ValidateView.
  static absl::StatusOr<ActivationView> Decode(ByteSpan bytes);

  friend bool operator==(const ActivationView& a, const ActivationView& b) {
    return a.Encode() == b.Encode();
  }
  friend bool operator!=(const ActivationView& a, const ActivationView& b) {
    return !(a == b);
  }
};

// ValidateView checks a view's structure: op DKG (epoch 0) or RESHARE (epoch
// at least 1); 2 <= t <= n <= kMaxParties; ids exactly 1..n in order;
// distinct identity keys; one public share per member. InvalidArgument
// naming the field.
absl::Status ValidateView(const ActivationView& view);

// AckDigest returns H("activation-ack", view.Encode()): the round-4 payload.
std::array<uint8_t, 32> AckDigest(const ActivationView& view);

// ActivationCertificate: a view and every member's signed ack of it.
struct ActivationCertificate {
  ActivationView view;
  std::vector<Envelope> acks;  // one per member, in member id order

  Bytes Encode() const;
  static absl::StatusOr<ActivationCertificate> Decode(ByteSpan bytes);
};

// VerifyCertificate checks that the view is valid and that every member of
// view.parties has exactly one ack: an envelope with op == view.op, session
// == view.sid, round == kAckRound, to == kBroadcast, payload ==
// AckDigest(view), signed by that member's identity key (and, in a DKG, from
// == the member id). A missing, extra, duplicate or wrong ack fails with
// InvalidArgument naming the member (or, for an ack no member signed, its
// `from`).
absl::Status VerifyCertificate(const ActivationCertificate& cert);

// CheckCertificateFor: a node holding the pending share `pending` (the
// result of `op`) may activate it on `cert`: the certificate's view is
// exactly ActivationView::Of(pending, op) and VerifyCertificate passes.
absl::Status CheckCertificateFor(const KeyShare& pending, Op op,
                                 const ActivationCertificate& cert);

// CheckDepartureCertificate: a member of the old committee that is not in
// the new one (it holds only `old_share`) learns that the key moved on: the
// certificate is for a reshare of the same key (key id, X, chain code) to an
// epoch greater than the old share's, and VerifyCertificate passes. It may
// then erase `old_share`.
absl::Status CheckDepartureCertificate(const KeyShare& old_share,
                                       const ActivationCertificate& cert);

// FindEquivocation: if `received` is an ack-round broadcast of the
// certificate's session (op, sid), validly signed by a member whose ack in
// the certificate has different signed content, returns the pair as
// evidence: party = the member id, first = the certificate's ack, second =
// `received`. Otherwise nullopt (including for a forged `received`).
std::optional<Equivocation> FindEquivocation(const ActivationCertificate& cert,
                                             const Envelope& received);

}  // namespace kagi::protocol

#endif  // KAGI_LIBS_PROTOCOL_ACTIVATION_H_
