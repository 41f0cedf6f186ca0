#include "libs/protocol/common/envelope.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/transcript.h"

namespace kagi::protocol {
namespace {

using ::testing::HasSubstr;

class EnvelopeTest : public ::testing::Test {
 protected:
  EnvelopeTest() : rng_(11) {
    setup_.op = Op::kDkg;
    setup_.threshold = 2;
    for (uint32_t id = 1; id <= 3; ++id) {
      auto signer = std::make_unique<Ed25519EnvelopeSigner>(
          id, crypto::Ed25519PrivateKey::Generate(rng_));
      setup_.parties.push_back(PartyInfo{id, signer->public_key()});
      signers_.push_back(std::move(signer));
    }
    header_.op = Op::kSign;
    header_.session = rng_.Bytes<32>();
    header_.round = 3;
    header_.from = 2;
    header_.to = 1;
    payload_ = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
  }

  const EnvelopeSigner& Signer(uint32_t id) const { return *signers_[id - 1]; }
  Envelope Signed() const { return SignEnvelope(Signer(2), header_, payload_); }

  InsecureDeterministicRng rng_;
  SessionSetup setup_;
  std::vector<std::unique_ptr<Ed25519EnvelopeSigner>> signers_;
  EnvelopeHeader header_;
  Bytes payload_;
};

TEST_F(EnvelopeTest, HeaderEncodingIsFixedLayout) {
  const Bytes h = EncodeHeader(header_);
  ASSERT_EQ(h.size(), kEnvelopeHeaderBytes);
  EXPECT_EQ(h[0], 1);
  EXPECT_EQ(h[1], 2);
  EXPECT_TRUE(std::equal(header_.session.begin(), header_.session.end(),
                         h.begin() + 2));
  EXPECT_EQ(Bytes(h.begin() + 34, h.end()),
            (Bytes{0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1}));
}

TEST_F(EnvelopeTest, DigestFollowsTheSpec) {
  const crypto::Digest32 payload_digest =
      crypto::Transcript(crypto::Tag::kEnvelopePayload).Add(payload_).H();
  const crypto::Digest32 expected = crypto::Transcript(crypto::Tag::kEnvelope)
                                        .Add(EncodeHeader(header_))
                                        .Add(payload_digest)
                                        .H();
  EXPECT_EQ(EnvelopeDigest(header_, payload_), expected);
}

TEST_F(EnvelopeTest, RoundTrips) {
  for (const Bytes& payload : {Bytes{}, payload_, Bytes(5000, 0x5a)}) {
    const Envelope e = SignEnvelope(Signer(2), header_, payload);
    const Bytes enc = EncodeEnvelope(e);
    EXPECT_EQ(enc.size(), kEnvelopeHeaderBytes + 4 + payload.size() + 64);
    absl::StatusOr<Envelope> back = DecodeEnvelope(enc, 1 << 16);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(SameEnvelope(e, *back));
    EXPECT_EQ(back->header.session, header_.session);
    EXPECT_EQ(back->header.round, 3u);
    EXPECT_EQ(back->header.from, 2u);
    EXPECT_EQ(back->header.to, 1u);
    EXPECT_EQ(back->header.op, Op::kSign);
    EXPECT_EQ(back->payload, payload);
    EXPECT_EQ(back->signature, e.signature);
    EXPECT_EQ(EncodeEnvelope(*back), enc);
  }
}

TEST_F(EnvelopeTest, DecodeRejectsTruncationAtEveryLength) {
  const Bytes enc = EncodeEnvelope(Signed());
  for (size_t len = 0; len < enc.size(); ++len) {
    absl::StatusOr<Envelope> d = DecodeEnvelope(ByteSpan(enc.data(), len), 64);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument)
        << "len " << len;
  }
}

TEST_F(EnvelopeTest, DecodeRejectsTrailingBytes) {
  Bytes enc = EncodeEnvelope(Signed());
  enc.push_back(0);
  EXPECT_EQ(DecodeEnvelope(enc, 64).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, DecodeEnforcesMaxPayload) {
  const Bytes enc = EncodeEnvelope(Signed());
  EXPECT_TRUE(DecodeEnvelope(enc, payload_.size()).ok());
  absl::StatusOr<Envelope> d = DecodeEnvelope(enc, payload_.size() - 1);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("envelope.payload"));
  // A huge claimed length is refused before anything is read or allocated.
  Bytes bad = enc;
  StoreBigEndian32(0xffffffffu, &bad[kEnvelopeHeaderBytes]);
  d = DecodeEnvelope(bad, 1 << 20);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("exceeds"));
}

TEST_F(EnvelopeTest, DecodeRejectsBadVersionAndUnknownOp) {
  const Bytes enc = EncodeEnvelope(Signed());
  for (uint8_t v : {0, 2}) {
    Bytes bad = enc;
    bad[0] = v;
    absl::StatusOr<Envelope> d = DecodeEnvelope(bad, 64);
    EXPECT_THAT(std::string(d.status().message()),
                HasSubstr("envelope.version"));
  }
  for (uint8_t op : {0, 4, 0xff}) {
    Bytes bad = enc;
    bad[1] = op;
    absl::StatusOr<Envelope> d = DecodeEnvelope(bad, 64);
    EXPECT_THAT(std::string(d.status().message()), HasSubstr("envelope.op"));
  }
}

// The header alone, read from the front of an envelope of any length (a
// receiver bounds the rest by what it says before reading it).
TEST_F(EnvelopeTest, HeaderDecodesAloneFromAnyEnvelope) {
  const Bytes enc = EncodeEnvelope(Signed());
  absl::StatusOr<EnvelopeHeader> h = DecodeEnvelopeHeader(enc);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(EncodeHeader(*h), EncodeHeader(header_));
  EXPECT_TRUE(
      DecodeEnvelopeHeader(ByteSpan(enc).first(kEnvelopeHeaderBytes)).ok());
  EXPECT_FALSE(
      DecodeEnvelopeHeader(ByteSpan(enc).first(kEnvelopeHeaderBytes - 1)).ok());
  Bytes bad = enc;
  bad[1] = 9;
  EXPECT_THAT(std::string(DecodeEnvelopeHeader(bad).status().message()),
              HasSubstr("envelope.op"));
}

TEST_F(EnvelopeTest, SignatureVerifies) {
  const IdentityVerifier verifier(setup_);
  const Envelope e = Signed();
  EXPECT_TRUE(verifier.Verify(e).ok()) << verifier.Verify(e);
  EXPECT_TRUE(crypto::Ed25519Verify(setup_.parties[1].identity_key,
                                    EnvelopeDigest(e.header, e.payload),
                                    e.signature)
                  .ok());
  // Also after a trip over the wire.
  absl::StatusOr<Envelope> back = DecodeEnvelope(EncodeEnvelope(e), 64);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(verifier.Verify(*back).ok());
}

TEST_F(EnvelopeTest, VerifierOutlivesSetup) {
  auto setup = std::make_unique<SessionSetup>(setup_);
  const IdentityVerifier verifier(*setup);
  setup.reset();
  EXPECT_TRUE(verifier.Verify(Signed()).ok());
}

TEST_F(EnvelopeTest, AnyHeaderChangeBreaksTheSignature) {
  const IdentityVerifier verifier(setup_);
  const Envelope good = Signed();
  const std::vector<std::pair<std::string, void (*)(EnvelopeHeader&)>>
      mutations = {
          {"version", [](EnvelopeHeader& h) { h.version = 2; }},
          {"op", [](EnvelopeHeader& h) { h.op = Op::kDkg; }},
          {"session", [](EnvelopeHeader& h) { h.session[31] ^= 1; }},
          {"round", [](EnvelopeHeader& h) { h.round = 4; }},
          {"from", [](EnvelopeHeader& h) { h.from = 3; }},
          {"to", [](EnvelopeHeader& h) { h.to = kBroadcast; }},
      };
  for (const auto& [name, mutate] : mutations) {
    Envelope e = good;
    mutate(e.header);
    EXPECT_FALSE(verifier.Verify(e).ok()) << name;
  }
}

TEST_F(EnvelopeTest, AnyPayloadChangeBreaksTheSignature) {
  const IdentityVerifier verifier(setup_);
  const Envelope good = Signed();
  for (size_t i = 0; i < good.payload.size(); ++i) {
    for (uint8_t bit = 1; bit != 0; bit = static_cast<uint8_t>(bit << 1)) {
      Envelope e = good;
      e.payload[i] ^= bit;
      EXPECT_FALSE(verifier.Verify(e).ok()) << "byte " << i;
    }
  }
  Envelope longer = good;
  longer.payload.push_back(0);
  EXPECT_FALSE(verifier.Verify(longer).ok());
  Envelope shorter = good;
  shorter.payload.pop_back();
  EXPECT_FALSE(verifier.Verify(shorter).ok());
}

TEST_F(EnvelopeTest, AnySignatureChangeFailsVerification) {
  const IdentityVerifier verifier(setup_);
  const Envelope good = Signed();
  for (size_t i = 0; i < good.signature.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      Envelope e = good;
      e.signature[i] ^= bit;
      EXPECT_FALSE(verifier.Verify(e).ok()) << "byte " << i;
    }
  }
}

TEST_F(EnvelopeTest, UnknownOrImpersonatedSenderFails) {
  const IdentityVerifier verifier(setup_);
  // A key outside the setup signing as party 4 (unknown) or 0.
  InsecureDeterministicRng other_rng(99);
  const Ed25519EnvelopeSigner outsider(
      4, crypto::Ed25519PrivateKey::Generate(other_rng));
  EnvelopeHeader h = header_;
  h.from = 4;
  absl::Status s = verifier.Verify(SignEnvelope(outsider, h, payload_));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a party"));
  const Ed25519EnvelopeSigner zero(
      0, crypto::Ed25519PrivateKey::Generate(other_rng));
  h.from = 0;
  EXPECT_FALSE(verifier.Verify(SignEnvelope(zero, h, payload_)).ok());
  // Party 3's key signing an envelope that claims to come from party 2.
  Envelope e;
  e.header = header_;
  e.payload = payload_;
  e.signature = Signer(3).Sign(EnvelopeDigest(e.header, e.payload));
  s = verifier.Verify(e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("envelope.signature"));
}

TEST_F(EnvelopeTest, SameEnvelopeComparesEveryPart) {
  const Envelope a = Signed();
  Envelope b = a;
  EXPECT_TRUE(SameEnvelope(a, b));
  EXPECT_TRUE(SameSignedContent(a, b));
  b.signature[0] ^= 1;
  EXPECT_FALSE(SameEnvelope(a, b));
  EXPECT_TRUE(SameSignedContent(a, b));
  b = a;
  b.payload[0] ^= 1;
  EXPECT_FALSE(SameEnvelope(a, b));
  EXPECT_FALSE(SameSignedContent(a, b));
  b = a;
  b.header.to = 3;
  EXPECT_FALSE(SameEnvelope(a, b));
  EXPECT_FALSE(SameSignedContent(a, b));
}

TEST_F(EnvelopeTest, SigningAsAnotherPartyIsAProgrammingError) {
  EnvelopeHeader h = header_;
  h.from = 3;
  EXPECT_DEATH(SignEnvelope(Signer(2), h, payload_), "signer.party");
}

}  // namespace
}  // namespace kagi::protocol
