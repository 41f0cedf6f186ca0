#include "libs/protocol/activation.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/transcript.h"

namespace kagi::protocol {
namespace {

using crypto::Point;

constexpr size_t kPoint = Point::kCompressedBytes;
// Upper bounds of the encodings, checked before anything is read.
constexpr size_t kMaxViewBytes = 1 + 1 + 32 + 32 + 8 + 4 + 4 +
                                 kMaxParties * (4 + 32) + kPoint +
                                 kMaxParties * kPoint + 32;
constexpr size_t kMaxAckBytes =
    kEnvelopeHeaderBytes + 4 + kAckPayloadBytes + 64;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// ReadVersion reads the format version byte and accepts only ours.
absl::Status ReadVersion(ByteReader& r, absl::string_view field) {
  KAGI_ASSIGN_OR_RETURN(const uint8_t version, r.ReadU8(field));
  if (version != kActivationVersion) {
    return Invalid(
        field, absl::StrCat("unsupported version ", static_cast<int>(version)));
  }
  return absl::OkStatus();
}

// True if `key` signed `e` (the envelope digest covers header and payload).
bool SignedBy(const Envelope& e, const std::array<uint8_t, 32>& key) {
  return crypto::Ed25519Verify(key, EnvelopeDigest(e.header, e.payload),
                               e.signature)
      .ok();
}

// The member whose identity key signed `e`, or 0. In a DKG the member is
// `from` (checked by the caller); trying `from` first keeps the common case
// to one verification.
uint32_t SignerOf(const ActivationView& view, const Envelope& e) {
  const uint32_t from = e.header.from;
  if (from >= 1 && from <= view.parties.size() &&
      SignedBy(e, view.parties[from - 1].identity_key)) {
    return from;
  }
  if (view.op == Op::kDkg) {
    return 0;
  }
  for (const PartyInfo& p : view.parties) {
    if (p.id != from && SignedBy(e, p.identity_key)) {
      return p.id;
    }
  }
  return 0;
}

}  // namespace

ActivationView ActivationView::Of(const KeyShare& share, Op op) {
  ActivationView v;
  v.op = op;
  v.sid = share.sid_key;
  v.key_id = share.key_id;
  v.epoch = share.epoch;
  v.threshold = share.threshold;
  v.parties = share.parties;
  v.public_key = share.public_key;
  v.public_shares = share.public_shares;
  v.chain_code = share.chain_code;
  return v;
}

Bytes ActivationView::Encode() const {
  ByteWriter w;
  w.PutU8(kActivationVersion);
  w.PutU8(static_cast<uint8_t>(op));
  w.PutRaw(sid);
  w.PutRaw(key_id);
  w.PutU64(epoch);
  w.PutU32(threshold);
  w.PutU32(static_cast<uint32_t>(parties.size()));
  for (const PartyInfo& p : parties) {
    w.PutU32(p.id);
    w.PutRaw(p.identity_key);
  }
  w.PutRaw(public_key.ToCompressed());
  for (const Point& x : public_shares) {
    w.PutRaw(x.ToCompressed());
  }
  w.PutRaw(chain_code);
  return std::move(w).Take();
}

absl::Status ValidateView(const ActivationView& v) {
  if (v.op == Op::kDkg) {
    if (v.epoch != 0) {
      return Invalid("activation.view.epoch",
                     absl::StrCat("a DKG is epoch 0, got ", v.epoch));
    }
  } else if (v.op == Op::kReshare) {
    if (v.epoch == 0) {
      return Invalid("activation.view.epoch", "a reshare is epoch 1 or later");
    }
  } else {
    return Invalid("activation.view.op",
                   absl::StrCat("op ", OpName(v.op), " activates no share"));
  }
  const size_t n = v.parties.size();
  if (n < 2 || n > kMaxParties) {
    return Invalid("activation.view.parties",
                   absl::StrCat("committee size ", n, " out of range [2, ",
                                kMaxParties, "]"));
  }
  if (v.threshold < 2 || v.threshold > n) {
    return Invalid(
        "activation.view.threshold",
        absl::StrCat("t = ", v.threshold, " out of range for n = ", n));
  }
  std::set<std::array<uint8_t, 32>> keys;
  for (size_t i = 0; i < n; ++i) {
    if (v.parties[i].id != i + 1) {
      return Invalid("activation.view.parties",
                     absl::StrCat("party ids must be 1..n in order; entry ",
                                  i + 1, " has id ", v.parties[i].id));
    }
    if (!keys.insert(v.parties[i].identity_key).second) {
      return Invalid("activation.view.parties",
                     absl::StrCat("member ", v.parties[i].id,
                                  " repeats another member's identity key"));
    }
  }
  if (v.public_shares.size() != n) {
    return Invalid("activation.view.public_shares",
                   absl::StrCat("need ", n, " public shares, got ",
                                v.public_shares.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ActivationView> ActivationView::Decode(ByteSpan bytes) {
  if (bytes.size() > kMaxViewBytes) {
    return Invalid("activation.view",
                   absl::StrCat(bytes.size(), " bytes exceed the maximum ",
                                kMaxViewBytes));
  }
  ByteReader r(bytes);
  ActivationView v;
  KAGI_RETURN_IF_ERROR(ReadVersion(r, "activation.view.version"));
  KAGI_ASSIGN_OR_RETURN(const uint8_t op_byte, r.ReadU8("activation.view.op"));
  const std::optional<Op> op = OpFromWire(op_byte);
  if (!op.has_value() || (*op != Op::kDkg && *op != Op::kReshare)) {
    return Invalid(
        "activation.view.op",
        absl::StrCat("op ", static_cast<int>(op_byte), " activates no share"));
  }
  v.op = *op;
  KAGI_ASSIGN_OR_RETURN(v.sid, r.ReadFixed<32>("activation.view.sid"));
  KAGI_ASSIGN_OR_RETURN(v.key_id, r.ReadFixed<32>("activation.view.key_id"));
  KAGI_ASSIGN_OR_RETURN(v.epoch, r.ReadU64("activation.view.epoch"));
  KAGI_ASSIGN_OR_RETURN(v.threshold, r.ReadU32("activation.view.threshold"));
  KAGI_ASSIGN_OR_RETURN(const uint32_t n, r.ReadU32("activation.view.n"));
  if (n < 2 || n > kMaxParties) {
    return Invalid("activation.view.n",
                   absl::StrCat("committee size ", n, " out of range [2, ",
                                kMaxParties, "]"));
  }
  for (uint32_t i = 0; i < n; ++i) {
    PartyInfo p;
    KAGI_ASSIGN_OR_RETURN(p.id, r.ReadU32("activation.view.parties.id"));
    KAGI_ASSIGN_OR_RETURN(p.identity_key,
                          r.ReadFixed<32>("activation.view.parties.key"));
    v.parties.push_back(p);
  }
  KAGI_ASSIGN_OR_RETURN(const ByteSpan x,
                        r.ReadSpan(kPoint, "activation.view.X"));
  KAGI_ASSIGN_OR_RETURN(v.public_key,
                        Point::FromCompressed(x, "activation.view.X"));
  for (uint32_t i = 0; i < n; ++i) {
    const std::string field = absl::StrCat("activation.view.X_", i + 1);
    KAGI_ASSIGN_OR_RETURN(const ByteSpan xm, r.ReadSpan(kPoint, field));
    KAGI_ASSIGN_OR_RETURN(Point pt, Point::FromCompressed(xm, field));
    v.public_shares.push_back(pt);
  }
  KAGI_ASSIGN_OR_RETURN(v.chain_code,
                        r.ReadFixed<32>("activation.view.chain_code"));
  KAGI_RETURN_IF_ERROR(r.ExpectEnd("activation.view"));
  KAGI_RETURN_IF_ERROR(ValidateView(v));
  return v;
}

std::array<uint8_t, 32> AckDigest(const ActivationView& view) {
  return crypto::Transcript(crypto::Tag::kActivationAck).Add(view.Encode()).H();
}

Bytes ActivationCertificate::Encode() const {
  ByteWriter w;
  w.PutU8(kActivationVersion);
  w.PutLengthPrefixed(view.Encode());
  w.PutU32(static_cast<uint32_t>(acks.size()));
  for (const Envelope& e : acks) {
    w.PutLengthPrefixed(EncodeEnvelope(e));
  }
  return std::move(w).Take();
}

absl::StatusOr<ActivationCertificate> ActivationCertificate::Decode(
    ByteSpan bytes) {
  ByteReader r(bytes);
  ActivationCertificate c;
  KAGI_RETURN_IF_ERROR(ReadVersion(r, "activation.certificate.version"));
  KAGI_ASSIGN_OR_RETURN(
      const ByteSpan view,
      r.ReadLengthPrefixed(kMaxViewBytes, "activation.certificate.view"));
  KAGI_ASSIGN_OR_RETURN(c.view, ActivationView::Decode(view));
  KAGI_ASSIGN_OR_RETURN(const uint32_t count,
                        r.ReadU32("activation.certificate.count"));
  if (count != c.view.parties.size()) {
    return Invalid("activation.certificate.count",
                   absl::StrCat("need one ack per member (",
                                c.view.parties.size(), "), got ", count));
  }
  for (uint32_t i = 0; i < count; ++i) {
    const std::string field =
        absl::StrCat("activation.certificate.ack[", i, "]");
    KAGI_ASSIGN_OR_RETURN(const ByteSpan e,
                          r.ReadLengthPrefixed(kMaxAckBytes, field));
    absl::StatusOr<Envelope> env = DecodeEnvelope(e, kAckPayloadBytes);
    if (!env.ok()) {
      return Invalid(field, env.status().message());
    }
    c.acks.push_back(std::move(*env));
  }
  KAGI_RETURN_IF_ERROR(r.ExpectEnd("activation.certificate"));
  return c;
}

absl::Status VerifyCertificate(const ActivationCertificate& cert) {
  const ActivationView& v = cert.view;
  KAGI_RETURN_IF_ERROR(ValidateView(v));
  if (cert.acks.size() > v.parties.size()) {
    return Invalid("activation.certificate.acks",
                   absl::StrCat(cert.acks.size(), " acks for ",
                                v.parties.size(), " members"));
  }
  // First attribute every ack to the member whose key signed it, then check
  // what each says: a forged or misattributed ack is reported as such, not
  // as a content mismatch.
  std::map<uint32_t, size_t> ack_of;  // member -> index in cert.acks
  for (size_t i = 0; i < cert.acks.size(); ++i) {
    const Envelope& e = cert.acks[i];
    const uint32_t from = e.header.from;
    const uint32_t member = SignerOf(v, e);
    if (member == 0) {
      return Invalid(
          "activation.certificate.acks",
          v.op == Op::kDkg && from >= 1 && from <= v.parties.size()
              ? absl::StrCat("member ", from,
                             ": ack signature does not verify under its "
                             "identity key")
              : absl::StrCat("ack from participant ", from,
                             " is signed by no member of the committee"));
    }
    if (!ack_of.emplace(member, i).second) {
      return Invalid("activation.certificate.acks",
                     absl::StrCat("member ", member, ": duplicate ack"));
    }
  }
  const std::array<uint8_t, 32> digest = AckDigest(v);
  for (const auto& [member, i] : ack_of) {
    const Envelope& e = cert.acks[i];
    const EnvelopeHeader& h = e.header;
    const std::string who = absl::StrCat("member ", member, ": ");
    if (h.version != kEnvelopeVersion || h.op != v.op) {
      return Invalid("activation.certificate.acks",
                     absl::StrCat(who, "ack is for another op or version"));
    }
    if (h.session != v.sid) {
      return Invalid("activation.certificate.acks",
                     absl::StrCat(who, "ack is for another session"));
    }
    if (h.round != kAckRound || h.to != kBroadcast) {
      return Invalid("activation.certificate.acks",
                     absl::StrCat(who, "envelope is not a round-", kAckRound,
                                  " broadcast"));
    }
    if (e.payload.size() != digest.size() ||
        !std::equal(digest.begin(), digest.end(), e.payload.begin())) {
      return Invalid("activation.certificate.acks",
                     absl::StrCat(who, "ack is over another view"));
    }
  }
  for (const PartyInfo& p : v.parties) {
    if (ack_of.count(p.id) == 0) {
      return Invalid("activation.certificate.acks",
                     absl::StrCat("member ", p.id, ": no ack"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCertificateFor(const KeyShare& pending, Op op,
                                 const ActivationCertificate& cert) {
  const ActivationView mine = ActivationView::Of(pending, op);
  const ActivationView& v = cert.view;
  const auto differs = [](absl::string_view field) {
    return absl::InvalidArgumentError(
        absl::StrCat("activation: the certificate's ", field,
                     " differs from the pending share's"));
  };
  if (v.op != mine.op) {
    return differs("op");
  }
  if (v.sid != mine.sid) {
    return differs("session id");
  }
  if (v.key_id != mine.key_id) {
    return differs("key id");
  }
  if (v.epoch != mine.epoch) {
    return differs("epoch");
  }
  if (v.threshold != mine.threshold) {
    return differs("threshold");
  }
  if (v.parties.size() != mine.parties.size()) {
    return differs("committee");
  }
  for (size_t i = 0; i < v.parties.size(); ++i) {
    if (v.parties[i].id != mine.parties[i].id ||
        v.parties[i].identity_key != mine.parties[i].identity_key) {
      return differs(absl::StrCat("identity key of member ", i + 1));
    }
  }
  if (v.public_key != mine.public_key) {
    return differs("group key X");
  }
  if (v.public_shares.size() != mine.public_shares.size()) {
    return differs("public share count");
  }
  for (size_t i = 0; i < v.public_shares.size(); ++i) {
    if (v.public_shares[i] != mine.public_shares[i]) {
      return differs(absl::StrCat("public share X_", i + 1));
    }
  }
  if (v.chain_code != mine.chain_code) {
    return differs("chain code");
  }
  if (v != mine) {  // belt and braces
    return differs("view");
  }
  return VerifyCertificate(cert);
}

absl::Status CheckDepartureCertificate(const KeyShare& old_share,
                                       const ActivationCertificate& cert) {
  const ActivationView& v = cert.view;
  if (v.op != Op::kReshare) {
    return absl::InvalidArgumentError(
        "activation: a departure needs a reshare certificate");
  }
  if (v.key_id != old_share.key_id) {
    return absl::InvalidArgumentError(
        "activation: the certificate is for another key id");
  }
  if (v.public_key != old_share.public_key) {
    return absl::InvalidArgumentError(
        "activation: the certificate's group key X differs from the old "
        "share's");
  }
  if (v.chain_code != old_share.chain_code) {
    return absl::InvalidArgumentError(
        "activation: the certificate's chain code differs from the old "
        "share's");
  }
  if (v.epoch <= old_share.epoch) {
    return absl::InvalidArgumentError(
        absl::StrCat("activation: the certificate's epoch ", v.epoch,
                     " is not after the old share's epoch ", old_share.epoch));
  }
  return VerifyCertificate(cert);
}

std::optional<Equivocation> FindEquivocation(const ActivationCertificate& cert,
                                             const Envelope& received) {
  const ActivationView& v = cert.view;
  const EnvelopeHeader& h = received.header;
  if (h.op != v.op || h.session != v.sid || h.round != kAckRound ||
      h.to != kBroadcast) {
    return std::nullopt;
  }
  const uint32_t member = SignerOf(v, received);
  if (member == 0) {
    return std::nullopt;
  }
  for (const Envelope& mine : cert.acks) {
    if (SignerOf(v, mine) != member) {
      continue;
    }
    if (SameSignedContent(mine, received)) {
      return std::nullopt;
    }
    return Equivocation{member, mine, received};
  }
  return std::nullopt;
}

}  // namespace kagi::protocol
