// Fuzz target: what a node decodes from a peer or a coordinator before any
// protocol round (libs/protocol/common, activation.h). Selector byte:
// 0 session setup, 1 envelope (then its identity signature against the
// seed setup's parties), 2 envelope header alone, 3 activation view,
// 4 activation certificate (then VerifyCertificate), 5 Schnorr proof.
// Accepted setups, envelopes, views and certificates re-encode to exactly
// the input.
#include "libs/crypto/schnorr.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"
#include "tests/fuzz/fixtures.h"
#include "tests/fuzz/fuzz_util.h"

namespace kagi::fuzz {
namespace {

Bytes Copy(ByteSpan in) { return Bytes(in.begin(), in.end()); }

void Setup(ByteSpan in) {
  absl::StatusOr<protocol::SessionSetup> s = protocol::DecodeSetup(in);
  ExpectOkOrInputError(s.status(), "DecodeSetup");
  if (!s.ok()) return;
  KAGI_CHECK(protocol::EncodeSetup(*s) == Copy(in));
  KAGI_CHECK(protocol::ValidateSetup(*s).ok());
}

void Envelope(ByteSpan in) {
  static const protocol::IdentityVerifier* verifier =
      new protocol::IdentityVerifier(SignSetupFixture());
  absl::StatusOr<protocol::Envelope> e =
      protocol::DecodeEnvelope(in, size_t{4} << 20);
  ExpectOkOrInputError(e.status(), "DecodeEnvelope");
  if (!e.ok()) return;
  KAGI_CHECK(protocol::EncodeEnvelope(*e) == Copy(in));
  ExpectOkOrInputError(verifier->Verify(*e), "IdentityVerifier::Verify");
}

void Header(ByteSpan in) {
  absl::StatusOr<protocol::EnvelopeHeader> h =
      protocol::DecodeEnvelopeHeader(in);
  ExpectOkOrInputError(h.status(), "DecodeEnvelopeHeader");
  if (!h.ok()) return;
  const Bytes enc = protocol::EncodeHeader(*h);
  KAGI_CHECK(in.size() >= enc.size() &&
             std::equal(enc.begin(), enc.end(), in.begin()));
}

void View(ByteSpan in) {
  absl::StatusOr<protocol::ActivationView> v =
      protocol::ActivationView::Decode(in);
  ExpectOkOrInputError(v.status(), "ActivationView::Decode");
  if (!v.ok()) return;
  KAGI_CHECK(v->Encode() == Copy(in));
  (void)protocol::AckDigest(*v);
}

void Certificate(ByteSpan in) {
  absl::StatusOr<protocol::ActivationCertificate> c =
      protocol::ActivationCertificate::Decode(in);
  ExpectOkOrInputError(c.status(), "ActivationCertificate::Decode");
  if (!c.ok()) return;
  KAGI_CHECK(c->Encode() == Copy(in));
  ExpectOkOrInputError(protocol::VerifyCertificate(*c), "VerifyCertificate");
}

void Proof(ByteSpan in) {
  absl::StatusOr<crypto::SchnorrProof> p =
      crypto::SchnorrProof::Decode(in, "pi");
  ExpectOkOrInputError(p.status(), "SchnorrProof::Decode");
  if (!p.ok()) return;
  const auto enc = p->Encode();
  KAGI_CHECK(Bytes(enc.begin(), enc.end()) == Copy(in));
}

}  // namespace
}  // namespace kagi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  fuzz::FuzzInput in(data, size);
  switch (in.Select(6)) {
    case 0:
      fuzz::Setup(in.rest());
      break;
    case 1:
      fuzz::Envelope(in.rest());
      break;
    case 2:
      fuzz::Header(in.rest());
      break;
    case 3:
      fuzz::View(in.rest());
      break;
    case 4:
      fuzz::Certificate(in.rest());
      break;
    default:
      fuzz::Proof(in.rest());
      break;
  }
  return 0;
}
