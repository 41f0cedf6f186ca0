// File: libs/storage/sealed.h
//
// Sealing of stored secrets (key shares, OT material, presignatures) under the
// key-encryption key (kek.h) with AES-256-GCM.
//
//   sealed = nonce (12 random bytes) ‖ AES-256-GCM(kek, nonce, aad, plaintext)
//   aad    = H("seal-aad", record_type, key_id, u64 epoch, u32 version)
//
// The AAD binds the record to its place: a sealed share cannot be replayed as
// another key's share, another epoch's share or another record type. Open
// returns DataLoss for any failure (tampering, wrong key, wrong context,
// truncation); it never aborts on bad input.
#ifndef KAGI_LIBS_STORAGE_SEALED_H_
#define KAGI_LIBS_STORAGE_SEALED_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"

namespace kagi::storage {

// Record types used by the service (any string is accepted by Seal/Open).
inline constexpr absl::string_view kRecordShare = "share";
inline constexpr absl::string_view kRecordOt = "ot";
inline constexpr absl::string_view kRecordPresignature = "presig";
// A known value sealed once per store, so that a wrong (but well-formed) KEK
// is found at start-up rather than at the first share it cannot open.
inline constexpr absl::string_view kRecordKekCheck = "kek-check";

struct RecordContext {
  absl::string_view record_type;
  std::array<uint8_t, 32> key_id;
  uint64_t epoch;
  uint32_t version;
};

// SealAad returns the canonical AAD of `ctx` (exposed for tests).
Bytes SealAad(const RecordContext& ctx);

// Seal encrypts `plaintext`. `kek` must be 32 bytes (InvalidArgument else).
absl::StatusOr<Bytes> Seal(const SecretBytes& kek, const RecordContext& ctx,
                           ByteSpan plaintext, Rng& rng);

// Open authenticates and decrypts. Any failure is DataLoss("sealed record
// failed authentication (tampered, wrong key, or wrong context)").
absl::StatusOr<SecretBytes> Open(const SecretBytes& kek,
                                 const RecordContext& ctx, ByteSpan sealed);

}  // namespace kagi::storage

#endif  // KAGI_LIBS_STORAGE_SEALED_H_
