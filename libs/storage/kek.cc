#include "libs/storage/kek.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kagi::storage {
namespace {

int HexNibble(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// DecodeHexKek parses 64 hex characters into a 32-byte secret without leaving
// intermediate copies outside wiped memory.
absl::StatusOr<SecretBytes> DecodeHexKek(ByteSpan hex,
                                         absl::string_view where) {
  if (hex.size() != 2 * kKekBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("kek: ", where, ": expected 32 raw bytes or 64 hex ",
                     "characters, got ", hex.size(), " bytes"));
  }
  SecretBytes out(kKekBytes);
  for (size_t i = 0; i < kKekBytes; ++i) {
    const int hi = HexNibble(hex[2 * i]);
    const int lo = HexNibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kek: ", where, ": invalid hex character near position ", 2 * i));
    }
    out.mutable_data()[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

}  // namespace

absl::StatusOr<SecretBytes> LoadKek(absl::string_view file_path) {
  const std::string path(file_path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("kek: key file ", path, " does not exist"));
    }
    return absl::PermissionDeniedError(absl::StrCat(
        "kek: cannot open key file ", path, ": ", std::strerror(err)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::InternalError(
        absl::StrCat("kek: cannot stat ", path, ": ", std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("kek: key file ", path, " is not a regular file"));
  }
  const unsigned mode = static_cast<unsigned>(st.st_mode) & 07777u;
  if ((mode & 077u) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(absl::StrFormat(
        "kek: key file %s has mode %04o; it must be 0600 or stricter "
        "(no group or other permissions)",
        path, mode));
  }
  // Read at most 66 bytes (64 hex + "\r\n"); anything longer is wrong.
  SecretBytes buf(2 * kKekBytes + 3);
  size_t len = 0;
  while (len < buf.size()) {
    const ssize_t n = ::read(fd, buf.mutable_data() + len, buf.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return absl::InternalError(
          absl::StrCat("kek: cannot read ", path, ": ", std::strerror(err)));
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  ByteSpan content = buf.secret().subspan(0, len);
  if (content.size() == kKekBytes) {
    return SecretBytes(content);
  }
  // Hex form: allow one trailing newline (optionally CRLF).
  if (!content.empty() && content.back() == '\n') {
    content.remove_suffix(1);
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
  }
  return DecodeHexKek(content, absl::StrCat("key file ", path));
}

absl::StatusOr<SecretBytes> LoadKekFromEnv(absl::string_view var) {
  const std::string name(var);
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("kek: environment variable ", name, " is not set"));
  }
  return DecodeHexKek(AsBytes(value),
                      absl::StrCat("environment variable ", name));
}

}  // namespace kagi::storage
