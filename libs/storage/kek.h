// File: libs/storage/kek.h
//
// Loading the key-encryption key (KEK) that seals every stored secret (key
// shares, OT material, presignatures; see sealed.h). The KEK is 32 bytes and
// comes either from a file or from an environment variable:
//
//   * file: exactly 32 raw bytes, or 64 hex characters (one trailing newline
//     allowed). The file must be a regular file with no group or other
//     permission bits (mode 0600 or stricter); anything looser is refused with
//     an error naming the path and the mode.
//   * environment: 64 hex characters.
//
// The key is returned as SecretBytes; intermediate buffers are wiped.
#ifndef KAGI_LIBS_STORAGE_KEK_H_
#define KAGI_LIBS_STORAGE_KEK_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/secret.h"

namespace kagi::storage {

inline constexpr size_t kKekBytes = 32;

// LoadKek reads the KEK from `file_path`. Errors: NotFound (missing file),
// PermissionDenied (group/other bits set), InvalidArgument (wrong length or
// bad hex).
absl::StatusOr<SecretBytes> LoadKek(absl::string_view file_path);

// LoadKekFromEnv reads 64 hex characters from the environment variable `var`.
// Errors: NotFound (unset), InvalidArgument (wrong length or bad hex).
absl::StatusOr<SecretBytes> LoadKekFromEnv(absl::string_view var);

}  // namespace kagi::storage

#endif  // KAGI_LIBS_STORAGE_KEK_H_
