// File: libs/crypto/base58.h
//
// Bitcoin's Base58 text encoding and Base58Check (Base58 of
// payload ‖ first four bytes of HASH256(payload)), used for BIP32 extended
// keys and legacy addresses.
//
// Base58 writes a big-endian number in the alphabet
//   123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz
// (no 0, O, I, l), and each leading zero byte becomes one leading '1'. The
// mapping between byte strings and strings over the alphabet is one-to-one,
// so Decode(Encode(b)) == b and Encode(Decode(s)) == s.
//
// Decoding is strict: no whitespace, no characters outside the alphabet, and
// a bounded input length (both directions are quadratic in the length). Errors
// are InvalidArgument with a message starting "base58:" or "base58check:"
// that names the position or the check that failed.
//
// These functions do not treat their input as secret (the running time
// depends on the value), but they wipe their scratch buffers so that a
// decoded private extended key used by test fixtures leaves no stray copies.
// Thread-safe.
#ifndef KAGI_LIBS_CRYPTO_BASE58_H_
#define KAGI_LIBS_CRYPTO_BASE58_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"

namespace kagi::crypto {

// kBase58MaxDecodeChars bounds the length of the text Base58Decode and
// Base58CheckDecode accept (a BIP32 extended key is 111 characters).
inline constexpr size_t kBase58MaxDecodeChars = 1024;

// kBase58CheckChecksumBytes is the length of the Base58Check checksum.
inline constexpr size_t kBase58CheckChecksumBytes = 4;

// Base58Encode returns the Base58 text of `data` ("" for empty input).
std::string Base58Encode(ByteSpan data);

// Base58Decode parses Base58 text. Returns InvalidArgument if `text` is
// longer than kBase58MaxDecodeChars or contains a character outside the
// alphabet ("base58: invalid character '0' at position 3").
absl::StatusOr<Bytes> Base58Decode(absl::string_view text);

// Base58CheckEncode returns Base58(payload ‖ HASH256(payload)[0..4]).
std::string Base58CheckEncode(ByteSpan payload);

// Base58CheckDecode parses Base58Check text and returns the payload without
// its checksum. Returns InvalidArgument for any Base58Decode error, if the
// decoded bytes are shorter than the 4-byte checksum ("base58check: too
// short"), or if the checksum does not match ("base58check: checksum
// mismatch").
absl::StatusOr<Bytes> Base58CheckDecode(absl::string_view text);

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_BASE58_H_
