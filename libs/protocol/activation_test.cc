// Activation certificates (activation.h): what VerifyCertificate,
// CheckCertificateFor and FindEquivocation accept and refuse, and the strict
// encodings.
#include "libs/protocol/activation.h"

#include <functional>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hash.h"
#include "libs/protocol/dkg.h"
#include "libs/protocol/reshare.h"
#include "libs/protocol/testing/simulation.h"
#include "tests/testing/openssl_ecdsa.h"

namespace kagi::protocol {
namespace {

using ::testing::HasSubstr;
using testing::Identities;

KeyShare CopyShare(const KeyShare& s) {
  return KeyShare::Deserialize(s.Serialize().secret()).value();
}

std::string Message(const absl::Status& st) {
  return std::string(st.message());
}

// The member FindEquivocation names, or 0.
uint32_t EvidenceAgainst(const ActivationCertificate& cert,
                         const Envelope& received) {
  const std::optional<Equivocation> ev = FindEquivocation(cert, received);
  return ev.has_value() ? ev->party : 0;
}

// ---- the certificate's own checks -------------------------------------

// HandCertificate builds the certificate of `view` from scratch: each
// member's ack, signed with its identity key (members are participants 1..n,
// as in a DKG).
ActivationCertificate HandCertificate(const ActivationView& view,
                                      const Identities& ids) {
  ActivationCertificate c;
  c.view = view;
  const std::array<uint8_t, 32> digest = AckDigest(view);
  for (const PartyInfo& p : view.parties) {
    EnvelopeHeader h;
    h.op = view.op;
    h.session = view.sid;
    h.round = kAckRound;
    h.from = p.id;
    h.to = kBroadcast;
    c.acks.push_back(
        SignEnvelope(ids.signer(p.id), h, Bytes(digest.begin(), digest.end())));
  }
  return c;
}

// The certificate of a 2-of-3 DKG's result.
struct Certified {
  testing::DkgRun dkg;
  ActivationCertificate cert;
  const KeyShare& pending() const { return dkg.shares[0]; }
};

Certified CleanCertificate() {
  Certified c{testing::RunDkg(2, 3, 54), {}};
  KAGI_CHECK(c.dkg.ok());
  c.cert =
      HandCertificate(ActivationView::Of(c.dkg.shares[0], Op::kDkg), c.dkg.ids);
  return c;
}

TEST(ActivationTest, VerifyRefusesMissingWrongAndExtraAcks) {
  Certified c = CleanCertificate();
  ASSERT_TRUE(VerifyCertificate(c.cert).ok()) << VerifyCertificate(c.cert);
  ASSERT_TRUE(CheckCertificateFor(c.pending(), Op::kDkg, c.cert).ok());
  EXPECT_FALSE(CheckCertificateFor(c.pending(), Op::kReshare, c.cert).ok());
  {  // One ack removed.
    ActivationCertificate x = c.cert;
    x.acks.erase(x.acks.begin() + 1);
    EXPECT_THAT(Message(VerifyCertificate(x)), HasSubstr("member 2: no ack"));
    EXPECT_FALSE(CheckCertificateFor(c.pending(), Op::kDkg, x).ok());
  }
  {  // One ack re-signed by another member's key.
    ActivationCertificate x = c.cert;
    Envelope& e = x.acks[1];
    e.signature = c.dkg.ids.signer(1).Sign(EnvelopeDigest(e.header, e.payload));
    EXPECT_THAT(Message(VerifyCertificate(x)),
                HasSubstr("member 2: ack signature does not verify"));
  }
  {  // One ack duplicated in place of another.
    ActivationCertificate x = c.cert;
    x.acks[1] = x.acks[0];
    EXPECT_THAT(Message(VerifyCertificate(x)),
                HasSubstr("member 1: duplicate ack"));
  }
  {  // An extra ack.
    ActivationCertificate x = c.cert;
    x.acks.push_back(x.acks[2]);
    EXPECT_THAT(Message(VerifyCertificate(x)), HasSubstr("4 acks for 3"));
  }
  {  // One ack over a different view, validly signed by its member.
    ActivationCertificate x = c.cert;
    ActivationView other = x.view;
    other.chain_code[0] ^= 1;
    const std::array<uint8_t, 32> d = AckDigest(other);
    Envelope& e = x.acks[2];
    e.payload.assign(d.begin(), d.end());
    testing::Resign(c.dkg.ids, e);
    EXPECT_THAT(Message(VerifyCertificate(x)),
                HasSubstr("member 3: ack is over another view"));
    // And it is evidence of equivocation against the clean certificate.
    EXPECT_EQ(EvidenceAgainst(c.cert, e), 3u);
  }
  {  // One ack for another session.
    ActivationCertificate x = c.cert;
    Envelope& e = x.acks[0];
    e.header.session[0] ^= 1;
    testing::Resign(c.dkg.ids, e);
    EXPECT_THAT(Message(VerifyCertificate(x)),
                HasSubstr("member 1: ack is for another session"));
  }
}

TEST(ActivationTest, AChangedViewIsRefusedNamingTheField) {
  Certified c = CleanCertificate();
  struct Case {
    const char* name;
    std::function<void(ActivationView&)> change;
    const char* verify_says;  // VerifyCertificate
    const char* check_says;   // CheckCertificateFor
  };
  const crypto::Point x1 = c.cert.view.public_shares[0];
  const std::vector<Case> cases = {
      {"epoch", [](ActivationView& v) { v.epoch = 1; }, "a DKG is epoch 0",
       "epoch"},
      {"threshold", [](ActivationView& v) { v.threshold = 3; },
       "ack is over another view", "threshold"},
      {"identity key",
       [](ActivationView& v) { v.parties[1].identity_key[0] ^= 1; },
       "member 2: ack signature does not verify", "identity key of member 2"},
      {"X_m", [x1](ActivationView& v) { v.public_shares[2] = x1; },
       "ack is over another view", "public share X_3"},
      {"X", [x1](ActivationView& v) { v.public_key = x1; },
       "ack is over another view", "group key X"},
      {"chain code", [](ActivationView& v) { v.chain_code[5] ^= 1; },
       "ack is over another view", "chain code"},
      {"sid", [](ActivationView& v) { v.sid[5] ^= 1; }, "another session",
       "session id"},
  };
  for (const Case& k : cases) {
    ActivationCertificate x = c.cert;
    k.change(x.view);
    EXPECT_THAT(Message(VerifyCertificate(x)), HasSubstr(k.verify_says))
        << k.name;
    EXPECT_THAT(Message(CheckCertificateFor(c.pending(), Op::kDkg, x)),
                HasSubstr(k.check_says))
        << k.name;
  }
}

TEST(ActivationTest, DepartureCertificateNeedsAReshareOfTheSameKeyForward) {
  const Certified c = CleanCertificate();
  // The committee's certificate of a (hand-made) epoch-1 reshare of the key.
  ActivationView next = ActivationView::Of(c.pending(), Op::kReshare);
  next.op = Op::kReshare;
  next.epoch = 1;
  next.sid[0] ^= 1;
  const ActivationCertificate cert = HandCertificate(next, c.dkg.ids);
  ASSERT_TRUE(VerifyCertificate(cert).ok()) << VerifyCertificate(cert);
  EXPECT_TRUE(CheckDepartureCertificate(c.dkg.shares[2], cert).ok())
      << CheckDepartureCertificate(c.dkg.shares[2], cert);
  // Not for an old share of another key...
  const testing::DkgRun other = testing::RunDkg(2, 3, 55);
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(Message(CheckDepartureCertificate(other.shares[2], cert)),
              HasSubstr("key id"));
  // ...nor one whose epoch is not before the certificate's...
  KeyShare later = CopyShare(c.dkg.shares[2]);
  later.epoch = 1;
  EXPECT_THAT(Message(CheckDepartureCertificate(later, cert)),
              HasSubstr("epoch 1 is not after"));
  // ...nor for a DKG certificate, nor an incomplete one.
  EXPECT_THAT(Message(CheckDepartureCertificate(c.dkg.shares[2], c.cert)),
              HasSubstr("reshare"));
  ActivationCertificate missing = cert;
  missing.acks.erase(missing.acks.begin());
  EXPECT_THAT(Message(CheckDepartureCertificate(c.dkg.shares[2], missing)),
              HasSubstr("member 1: no ack"));
}

// ---- encodings ------------------------------------------------------------

TEST(ActivationTest, EncodingsRoundTripAndAreStrict) {
  Certified c = CleanCertificate();
  const Bytes view = c.cert.view.Encode();
  const absl::StatusOr<ActivationView> v = ActivationView::Decode(view);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, c.cert.view);
  EXPECT_EQ(*v, ActivationView::Of(c.pending(), Op::kDkg));
  const Bytes enc = c.cert.Encode();
  const absl::StatusOr<ActivationCertificate> back =
      ActivationCertificate::Decode(enc);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Encode(), enc);
  EXPECT_TRUE(VerifyCertificate(*back).ok());
  // Every truncation fails.
  for (size_t len = 0; len < enc.size(); ++len) {
    EXPECT_FALSE(
        ActivationCertificate::Decode(ByteSpan(enc).subspan(0, len)).ok())
        << len;
  }
  for (size_t len = 0; len < view.size(); ++len) {
    EXPECT_FALSE(ActivationView::Decode(ByteSpan(view).subspan(0, len)).ok())
        << len;
  }
  // Trailing bytes.
  Bytes longer = enc;
  longer.push_back(0);
  EXPECT_THAT(Message(ActivationCertificate::Decode(longer).status()),
              HasSubstr("activation.certificate"));
  Bytes longer_view = view;
  longer_view.push_back(0);
  EXPECT_THAT(Message(ActivationView::Decode(longer_view).status()),
              HasSubstr("activation.view"));
  // Too many parties (the u32 n after version, op, sid, key id, epoch, t).
  constexpr size_t kNOffset = 1 + 1 + 32 + 32 + 8 + 4;
  Bytes many = view;
  many[kNOffset + 3] = 17;
  EXPECT_THAT(Message(ActivationView::Decode(many).status()),
              HasSubstr("activation.view.n"));
  ActivationView big = c.cert.view;
  while (big.parties.size() < kMaxParties + 1) {
    PartyInfo p;
    p.id = static_cast<uint32_t>(big.parties.size() + 1);
    p.identity_key[0] = static_cast<uint8_t>(p.id);
    big.parties.push_back(p);
    big.public_shares.push_back(big.public_key);
  }
  EXPECT_FALSE(ActivationView::Decode(big.Encode()).ok());
  // An invalid point for X (right after the party list).
  Bytes bad_x = view;
  bad_x[kNOffset + 4 + 3 * 36] = 0x05;
  EXPECT_THAT(Message(ActivationView::Decode(bad_x).status()),
              HasSubstr("activation.view.X"));
  // A view for a SIGN op.
  Bytes sign = view;
  sign[1] = static_cast<uint8_t>(Op::kSign);
  EXPECT_THAT(Message(ActivationView::Decode(sign).status()),
              HasSubstr("activation.view.op"));
  // A certificate with fewer acks than members.
  ActivationCertificate fewer = c.cert;
  fewer.acks.pop_back();
  EXPECT_THAT(Message(ActivationCertificate::Decode(fewer.Encode()).status()),
              HasSubstr("activation.certificate.count"));
  // An ack with an oversized payload.
  ActivationCertificate fat = c.cert;
  fat.acks[0].payload.push_back(0);
  EXPECT_THAT(Message(ActivationCertificate::Decode(fat.Encode()).status()),
              HasSubstr("activation.certificate.ack[0]"));
}

}  // namespace
}  // namespace kagi::protocol
