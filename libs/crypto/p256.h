// File: libs/crypto/p256.h
//
// ECDSA over NIST P-256 with SHA-256 (FIPS 186-4), verification only: the
// scheme web and hardware approvers sign request digests with
// (libs/policy/approval.h). Public keys are SEC1 points, compressed
// (33 bytes) or not (65 bytes), and are checked to lie on the curve.
// Signatures are DER, or the 64-byte r‖s that WebCrypto returns.
//
// Errors are InvalidArgument naming what is wrong ("p256 public key: ...",
// "p256 signature: ..."); they never abort. Thread-safe.
#ifndef KAGI_LIBS_CRYPTO_P256_H_
#define KAGI_LIBS_CRYPTO_P256_H_

#include "absl/status/status.h"
#include "libs/base/bytes.h"

namespace kagi::crypto {

// P256CheckPublicKey accepts a 33- or 65-byte SEC1 point on the curve.
absl::Status P256CheckPublicKey(ByteSpan point);

// P256VerifySha256 checks `signature` (DER, or 64 bytes r‖s) over
// SHA-256(`message`) under the SEC1 point `point`. InvalidArgument when the
// key is not valid, the signature is malformed or does not verify
// ("p256 signature: does not verify").
absl::Status P256VerifySha256(ByteSpan point, ByteSpan message,
                              ByteSpan signature);

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_P256_H_
