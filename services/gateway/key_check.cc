#include "services/gateway/key_check.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"
#include "libs/protocol/activation.h"

namespace kagi::gateway {
namespace {

std::string Str(ByteSpan b) { return std::string(b.begin(), b.end()); }

absl::Status Differs(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("the activation certificate does not certify this key: its ",
                   what, " differs"));
}

}  // namespace

absl::Status CheckKeyCertificate(
    const kagi::v1::KeyInfo& key,
    const std::set<std::string>& known_identity_keys) {
  if (key.activation_certificate().empty()) {
    return absl::FailedPreconditionError("no activation certificate");
  }
  absl::StatusOr<protocol::ActivationCertificate> cert =
      protocol::ActivationCertificate::Decode(
          AsBytes(key.activation_certificate()));
  if (!cert.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("activation certificate: ", cert.status().message()));
  }
  const protocol::ActivationView& v = cert->view;
  if (Str(v.key_id) != key.key_id()) return Differs("key id");
  if (Str(v.public_key.ToCompressed()) != key.public_key()) {
    return Differs("public key");
  }
  if (Str(v.chain_code) != key.chain_code()) return Differs("chain code");
  if (v.epoch != key.epoch()) return Differs("epoch");
  if (v.threshold != key.threshold()) return Differs("threshold");
  if (v.parties.size() != static_cast<size_t>(key.parties_size())) {
    return Differs("committee");
  }
  for (size_t i = 0; i < v.parties.size(); ++i) {
    const kagi::v1::KeyParty& p = key.parties(static_cast<int>(i));
    if (v.parties[i].id != p.id() ||
        Str(v.parties[i].identity_key) != p.identity_key()) {
      return Differs("committee");
    }
    if (known_identity_keys.count(p.identity_key()) == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("the activation certificate names member ", p.id(),
                       " with an identity key no configured node reports"));
    }
  }
  return protocol::VerifyCertificate(*cert);
}

}  // namespace kagi::gateway
