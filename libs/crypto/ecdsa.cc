#include "libs/crypto/ecdsa.h"

#include <secp256k1.h>

#include "absl/strings/str_cat.h"
#include "libs/base/check.h"
#include "libs/crypto/secp_context.h"

namespace kagi::crypto {

absl::Status EcdsaVerify(const Point& pub, const Digest32& digest,
                         ByteSpan sig) {
  if (sig.size() != 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("ecdsa: signature must be 64 bytes, got ", sig.size()));
  }
  secp256k1_ecdsa_signature parsed;
  if (secp256k1_ecdsa_signature_parse_compact(SecpContext(), &parsed,
                                              sig.data()) != 1) {
    return absl::InvalidArgumentError("ecdsa: r or s is not below the order");
  }
  secp256k1_ecdsa_signature normalized;
  if (secp256k1_ecdsa_signature_normalize(SecpContext(), &normalized,
                                          &parsed) == 1) {
    return absl::InvalidArgumentError("ecdsa: high S (not low-S normalised)");
  }
  if (secp256k1_ecdsa_verify(SecpContext(), &parsed, digest.data(),
                             &pub.raw()) != 1) {
    return absl::InvalidArgumentError("ecdsa: signature does not verify");
  }
  return absl::OkStatus();
}

absl::StatusOr<CompactSignature> EcdsaSignatureFromDer(ByteSpan der) {
  secp256k1_ecdsa_signature parsed;
  if (der.empty() || secp256k1_ecdsa_signature_parse_der(
                         SecpContext(), &parsed, der.data(), der.size()) != 1) {
    return absl::InvalidArgumentError("ecdsa: not a strict DER signature");
  }
  CompactSignature out{};
  KAGI_CHECK(secp256k1_ecdsa_signature_serialize_compact(
                 SecpContext(), out.data(), &parsed) == 1);
  // libsecp256k1 maps out-of-range r/s to zero when parsing DER; a zero r or
  // s never verifies, but say so here for a clearer reason.
  bool r_zero = true, s_zero = true;
  for (size_t i = 0; i < 32; ++i) {
    r_zero = r_zero && out[i] == 0;
    s_zero = s_zero && out[32 + i] == 0;
  }
  if (r_zero || s_zero) {
    return absl::InvalidArgumentError(
        "ecdsa: r or s is zero or not below the order");
  }
  return out;
}

}  // namespace kagi::crypto
