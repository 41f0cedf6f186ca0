// File: services/gateway/key_derivation.cc
//
// Key derivation and signature checks; see key_derivation.h.
#include "services/gateway/key_derivation.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"
#include "services/gateway/request_shape.h"

namespace kagi::gateway {

absl::StatusOr<crypto::ExtendedPublicKey> KeyInfoRoot(
    const kagi::v1::KeyInfo& key, chain::Network network) {
  KAGI_ASSIGN_OR_RETURN(
      crypto::Point pub,
      crypto::Point::FromCompressed(AsBytes(key.public_key()), "public_key"));
  if (key.chain_code().size() != kChainCodeBytes) {
    return FieldError("chain_code",
                      absl::StrCat("must be ", kChainCodeBytes, " bytes, got ",
                                   key.chain_code().size()));
  }
  crypto::Bip32ChainCode chain_code;
  std::copy(key.chain_code().begin(), key.chain_code().end(),
            chain_code.begin());
  return crypto::ExtendedPublicKey::Root(pub, chain_code,
                                         network == chain::Network::kMainnet
                                             ? crypto::Bip32Network::kMainnet
                                             : crypto::Bip32Network::kTestnet);
}

absl::StatusOr<kagi::v1::DerivedKey> DeriveChild(
    const crypto::ExtendedPublicKey& parent, absl::Span<const uint32_t> path,
    chain::Network network) {
  KAGI_RETURN_IF_ERROR(ValidatePath(path, "path"));
  KAGI_ASSIGN_OR_RETURN(crypto::DerivedKey derived,
                        crypto::DerivePath(parent, path));
  const std::array<uint8_t, 33> pub = derived.xpub.key().ToCompressed();
  KAGI_ASSIGN_OR_RETURN(std::string address,
                        chain::P2wpkhAddress(pub, network));
  kagi::v1::DerivedKey out;
  out.set_public_key(std::string(pub.begin(), pub.end()));
  out.set_xpub(derived.xpub.Encode());
  out.set_p2wpkh_address(std::move(address));
  out.mutable_path()->Add(path.begin(), path.end());
  return out;
}

absl::StatusOr<kagi::v1::DerivedKey> DeriveFromKeyInfo(
    const kagi::v1::KeyInfo& key, absl::Span<const uint32_t> path,
    chain::Network network) {
  KAGI_ASSIGN_OR_RETURN(crypto::ExtendedPublicKey root,
                        KeyInfoRoot(key, network));
  return DeriveChild(root, path, network);
}

absl::Status VerifySignResponse(const kagi::v1::KeyInfo& key,
                                const kagi::v1::SignRequest& request,
                                const kagi::v1::StartSignResponse& response) {
  // Raw digests: the signatures must be over exactly the requested items.
  // Decoded payloads: the nodes computed the digests (each node its own,
  // and they agreed); here every signature must verify under its key.
  google::protobuf::RepeatedPtrField<kagi::v1::DigestItem> items;
  if (request.payload().has_raw_digest()) {
    items = request.payload().raw_digest().items();
  } else {
    for (const kagi::v1::SignatureResult& r : response.signatures()) {
      kagi::v1::DigestItem* item = items.Add();
      item->set_digest(r.digest());
      *item->mutable_path() = r.path();
    }
    if (items.empty()) {
      return absl::InternalError("the signers returned no signatures");
    }
  }
  if (response.signatures_size() != items.size()) {
    return absl::InternalError(
        absl::StrCat("the signers returned ", response.signatures_size(),
                     " signatures for ", items.size(), " items"));
  }
  absl::StatusOr<crypto::ExtendedPublicKey> root =
      KeyInfoRoot(key, chain::Network::kMainnet);
  if (!root.ok()) {
    return absl::InternalError(absl::StrCat("the key's KeyInfo is malformed: ",
                                            root.status().message()));
  }
  for (int i = 0; i < items.size(); ++i) {
    const kagi::v1::DigestItem& item = items[i];
    const kagi::v1::SignatureResult& result = response.signatures(i);
    const std::string where =
        absl::StrCat("signature ", i, " (path ", PathString(item.path()), ")");
    if (result.digest() != item.digest()) {
      return absl::InternalError(
          absl::StrCat(where, ": is over a different digest than requested"));
    }
    if (!std::equal(result.path().begin(), result.path().end(),
                    item.path().begin(), item.path().end())) {
      return absl::InternalError(absl::StrCat(
          where, ": is for path ", PathString(result.path()), " instead"));
    }
    absl::StatusOr<crypto::DerivedKey> derived =
        crypto::DerivePath(*root, item.path());
    if (!derived.ok()) {
      return absl::InternalError(absl::StrCat(
          where, ": cannot derive the key: ", derived.status().message()));
    }
    const std::array<uint8_t, 33> expected = derived->xpub.key().ToCompressed();
    if (result.public_key() !=
        absl::string_view(reinterpret_cast<const char*>(expected.data()),
                          expected.size())) {
      return absl::InternalError(absl::StrCat(
          where, ": public key ", absl::BytesToHexString(result.public_key()),
          " is not the BIP32 derivation of the key (", HexEncode(expected),
          ")"));
    }
    if (result.recovery_id() > 3) {
      return absl::InternalError(absl::StrCat(
          where, ": recovery id ", result.recovery_id(), " is not 0..3"));
    }
    crypto::Digest32 digest;
    std::copy(item.digest().begin(), item.digest().end(), digest.begin());
    absl::Status verified = crypto::EcdsaVerify(derived->xpub.key(), digest,
                                                AsBytes(result.signature()));
    if (!verified.ok()) {
      return absl::InternalError(absl::StrCat(
          where,
          ": does not verify under the derived key: ", verified.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace kagi::gateway
