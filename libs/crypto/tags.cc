#include "libs/crypto/tags.h"

#include "libs/base/check.h"

namespace kagi::crypto {
namespace {

// Names follow PROTOCOL.md; the version byte is appended when hashing.
constexpr TagInfo kTagTable[kNumTags] = {
    {Tag::kSetup, "setup", 1},
    {Tag::kDkgSid, "dkg-sid", 1},
    {Tag::kSignSid, "sign-sid", 1},
    {Tag::kReshareSid, "reshare-sid", 1},
    {Tag::kEnvelope, "env", 1},
    {Tag::kEcho, "echo", 1},
    {Tag::kRoundNonce, "round-nonce", 1},
    {Tag::kPok, "pok", 1},
    {Tag::kNonce, "nonce", 1},
    {Tag::kDkgCommit, "dkg-c", 1},
    {Tag::kSignCommit, "sign-c", 1},
    {Tag::kReshareCommit, "rs-c", 1},
    {Tag::kBaseOt, "baseot", 1},
    {Tag::kBaseOtKey, "baseot-key", 1},
    {Tag::kHashToCurve, "h2c", 1},
    {Tag::kPrg, "prg", 1},
    {Tag::kKosU, "kos-u", 1},
    {Tag::kKosChi, "kos-chi", 1},
    {Tag::kCote, "cote", 1},
    {Tag::kRvole, "rvole", 1},
    {Tag::kGadget, "gadget", 1},
    {Tag::kTheta, "theta", 1},
    {Tag::kMu, "mu", 1},
    {Tag::kRvoleATilde, "rvole-a", 1},
    {Tag::kMuRows, "mu-rows", 1},
    {Tag::kChainCode, "cc", 1},
    {Tag::kDkgView, "dkg-view", 1},
    {Tag::kDkgAck, "dkg-ack", 1},
    {Tag::kKeyId, "keyid", 1},
    {Tag::kZeta, "zeta", 1},
    {Tag::kRerandomize, "rerand", 1},
    {Tag::kReshareView, "rs-view", 1},
    {Tag::kReshareAck, "rs-ack", 1},
    {Tag::kSignItem, "sign-item", 1},
    {Tag::kEnvelopePayload, "env-payload", 1},
    {Tag::kSealAad, "seal-aad", 1},
    {Tag::kAudit, "audit", 1},
    {Tag::kRequest, "request", 1},
    {Tag::kActivationAck, "activation-ack", 1},
    {Tag::kAuditHead, "audit-head", 1},
};

// Every row sits at its enumerator's index.
constexpr bool TableIsOrdered() {
  for (size_t i = 0; i < kNumTags; ++i) {
    if (static_cast<size_t>(kTagTable[i].tag) != i) {
      return false;
    }
  }
  return true;
}
static_assert(TableIsOrdered(), "kTagTable rows must follow the enum order");

}  // namespace

const TagInfo& TagInfoFor(Tag tag) {
  const size_t i = static_cast<size_t>(tag);
  KAGI_CHECK(i < kNumTags);
  return kTagTable[i];
}

const TagInfo* AllTags() { return kTagTable; }

}  // namespace kagi::crypto
