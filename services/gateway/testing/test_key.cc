// File: services/gateway/testing/test_key.cc
//
// TEST ONLY. See test_key.h. Signs with libsecp256k1 directly (RFC 6979
// nonces, with `variant` as extra entropy).
#include "services/gateway/testing/test_key.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "libs/base/check.h"
#include "libs/base/rng.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"

namespace kagi::gateway::testing {
namespace {

std::string AsString(absl::Span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

std::string TestIdentityKey(int index) {
  return std::string(32, static_cast<char>(0x40 + index));
}

TestKey TestKey::Make(uint64_t seed, uint32_t threshold,
                      const std::vector<std::string>& identity_keys) {
  InsecureDeterministicRng rng(seed);
  TestKey key;
  key.secret = crypto::Scalar::RandomNonZero(rng);
  const std::array<uint8_t, 32> chain_code = rng.Bytes<32>();
  absl::StatusOr<crypto::Point> pub = crypto::Point::MulGenerator(key.secret);
  KAGI_CHECK(pub.ok());
  const auto compressed = pub->ToCompressed();
  key.info.set_key_id(AsString(crypto::Sha256(compressed)));
  key.info.set_public_key(AsString(compressed));
  key.info.set_chain_code(AsString(chain_code));
  key.info.set_xpub(crypto::ExtendedPublicKey::Root(*pub, chain_code).Encode());
  key.info.set_threshold(threshold);
  key.info.set_epoch(0);
  for (size_t i = 0; i < identity_keys.size(); ++i) {
    kagi::v1::KeyParty* party = key.info.add_parties();
    party->set_id(static_cast<uint32_t>(i + 1));
    party->set_identity_key(identity_keys[i]);
  }
  return key;
}

kagi::v1::StartSignResponse TestKey::Sign(const kagi::v1::SignRequest& request,
                                          uint8_t variant) const {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  absl::StatusOr<crypto::Point> pub = crypto::Point::MulGenerator(secret);
  KAGI_CHECK(pub.ok());
  crypto::Bip32ChainCode chain_code;
  std::copy(info.chain_code().begin(), info.chain_code().end(),
            chain_code.begin());
  const crypto::ExtendedPublicKey root =
      crypto::ExtendedPublicKey::Root(*pub, chain_code);
  kagi::v1::StartSignResponse out;
  for (const kagi::v1::DigestItem& item :
       request.payload().raw_digest().items()) {
    absl::StatusOr<crypto::DerivedKey> derived = crypto::DerivePath(
        root, std::vector<uint32_t>(item.path().begin(), item.path().end()));
    KAGI_CHECK(derived.ok());
    const std::array<uint8_t, 32> child = (secret + derived->tweak).ToBytes();
    std::array<uint8_t, 32> extra{};
    extra[0] = variant;
    secp256k1_ecdsa_recoverable_signature sig;
    KAGI_CHECK(item.digest().size() == 32);
    KAGI_CHECK(secp256k1_ecdsa_sign_recoverable(
                   ctx, &sig,
                   reinterpret_cast<const unsigned char*>(item.digest().data()),
                   child.data(), nullptr,
                   variant == 0 ? nullptr : extra.data()) == 1);
    std::array<uint8_t, 64> compact{};
    int recovery_id = 0;
    KAGI_CHECK(secp256k1_ecdsa_recoverable_signature_serialize_compact(
                   ctx, compact.data(), &recovery_id, &sig) == 1);
    kagi::v1::SignatureResult* result = out.add_signatures();
    result->set_digest(item.digest());
    *result->mutable_path() = item.path();
    result->set_signature(AsString(compact));
    result->set_recovery_id(static_cast<uint32_t>(recovery_id));
    result->set_public_key(AsString(derived->xpub.key().ToCompressed()));
  }
  secp256k1_context_destroy(ctx);
  return out;
}

}  // namespace kagi::gateway::testing
