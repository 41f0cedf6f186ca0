// File: services/gateway/key_derivation.h
//
// BIP32 public derivation of a KeyInfo and the gateway's independent check
// of the signatures the nodes return. Pure and thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_KEY_DERIVATION_H_
#define KAGI_SERVICES_GATEWAY_KEY_DERIVATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/node.pb.h"
#include "kagi/v1/wallet.pb.h"
#include "libs/chain/bech32.h"
#include "libs/crypto/bip32.h"

namespace kagi::gateway {

// KeyInfoRoot returns the depth-0 extended public key of `key` (its public
// key and root chain code) with the xpub version for mainnet and the tpub
// version for testnet and regtest. InvalidArgument if the public key or
// chain code is malformed.
absl::StatusOr<crypto::ExtendedPublicKey> KeyInfoRoot(
    const kagi::v1::KeyInfo& key, chain::Network network);

// DeriveChild derives `parent` along the non-hardened `path` and describes
// the result: the compressed public key, the extended public key (with the
// derived depth, parent fingerprint and child number, as BIP32 serializes
// them), the P2WPKH address on `network`, and the path. InvalidArgument for a
// hardened or too long path, or the (negligible) invalid-child case.
absl::StatusOr<kagi::v1::DerivedKey> DeriveChild(
    const crypto::ExtendedPublicKey& parent, absl::Span<const uint32_t> path,
    chain::Network network);

// DeriveFromKeyInfo = DeriveChild(KeyInfoRoot(key, network), path, network).
absl::StatusOr<kagi::v1::DerivedKey> DeriveFromKeyInfo(
    const kagi::v1::KeyInfo& key, absl::Span<const uint32_t> path,
    chain::Network network);

// VerifySignResponse checks the signatures the signers returned for
// `request` independently of the nodes: one result per item, in order, with
// the item's digest and path; the result's public key equals the BIP32
// derivation of `key` along the path; the 64-byte low-S signature verifies
// (EcdsaVerify) under it; recovery_id is 0..3. Errors are Internal and name
// the item.
absl::Status VerifySignResponse(const kagi::v1::KeyInfo& key,
                                const kagi::v1::SignRequest& request,
                                const kagi::v1::StartSignResponse& response);

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_KEY_DERIVATION_H_
