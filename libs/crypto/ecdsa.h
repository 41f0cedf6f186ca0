// File: libs/crypto/ecdsa.h
//
// ECDSA over secp256k1: verification of compact (r ‖ s) signatures with
// Bitcoin's low-S rule, and strict DER decoding. Kagi never signs with a
// whole key; these verify what the threshold protocol produced (and what
// external signers send).
//
// The message is the 32-byte digest (a sighash), read big-endian and reduced
// mod n by libsecp256k1. A signature with s > n/2 is refused with its own
// reason rather than normalised: a high-S signature is not what Kagi emits,
// so seeing one means something upstream is wrong.
#ifndef KAGI_LIBS_CRYPTO_ECDSA_H_
#define KAGI_LIBS_CRYPTO_ECDSA_H_

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"

namespace kagi::crypto {

using CompactSignature = std::array<uint8_t, 64>;

// EcdsaVerify checks `sig` (exactly 64 bytes r ‖ s) on `digest` under `pub`.
// Errors (InvalidArgument): wrong length, r or s not in [0, n), high S, or
// the signature does not verify.
absl::Status EcdsaVerify(const Point& pub, const Digest32& digest,
                         ByteSpan sig);

// EcdsaSignatureFromDer decodes a strict-DER signature to compact form.
// Rejects BER variants, trailing bytes and out-of-range integers.
absl::StatusOr<CompactSignature> EcdsaSignatureFromDer(ByteSpan der);

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_ECDSA_H_
