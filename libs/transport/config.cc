#include "libs/transport/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "libs/base/bytes.h"
#include "libs/base/check.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/evp.h"
#include "libs/transport/config_internal.h"

namespace kagi::transport {
namespace config_internal {
namespace {

// Nesting of the config messages is 2; anything deeper is refused anyway.
constexpr int kParseRecursionLimit = 16;
constexpr size_t kMaxHostLength = 253;
constexpr size_t kMaxDnsLabelLength = 63;

bool IsAllDigits(absl::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    if (!IsDigit(c)) {
      return false;
    }
  }
  return true;
}

// IsIpv4Literal: four dotted decimal octets 0..255 without leading zeros
// (which some resolvers read as octal).
bool IsIpv4Literal(absl::string_view host) {
  const std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4) {
    return false;
  }
  for (const absl::string_view part : parts) {
    if (!IsAllDigits(part) || part.size() > 3) {
      return false;
    }
    if (part.size() > 1 && part[0] == '0') {
      return false;
    }
    int value = 0;
    if (!absl::SimpleAtoi(part, &value) || value > 255) {
      return false;
    }
  }
  return true;
}

// IsDnsName: labels of 1..63 letters, digits and '-' (not at either end of a
// label), at most 253 characters, and a last label that is not all digits (so
// that "10.0.0.256" is not taken for a name).
bool IsDnsName(absl::string_view host) {
  if (host.empty() || host.size() > kMaxHostLength) {
    return false;
  }
  const std::vector<absl::string_view> labels = absl::StrSplit(host, '.');
  for (const absl::string_view label : labels) {
    if (label.empty() || label.size() > kMaxDnsLabelLength) {
      return false;
    }
    if (label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return false;
      }
    }
  }
  return !IsAllDigits(labels.back());
}

bool IsIpv6Literal(absl::string_view host) {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) {
    return false;
  }
  const std::string copy(host);  // inet_pton needs a terminated string
  struct in6_addr addr {};
  return ::inet_pton(AF_INET6, copy.c_str(), &addr) == 1;
}

// FirstErrorCollector keeps the first parse error reported by the text
// format parser.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (has_error_) {
      return;
    }
    has_error_ = true;
    line_ = line;
    column_ = column;
    message_ = message;
  }

  // Status formats the error as "<source>:<line>:<column>: <message>" with
  // one-based numbers (the parser reports zero-based ones).
  absl::Status Status(absl::string_view source) const {
    if (!has_error_) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": invalid protobuf text format"));
    }
    if (line_ < 0) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", message_));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", line_ + 1, ":", column_ + 1, ": ", message_));
  }

 private:
  bool has_error_ = false;
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

}  // namespace

std::string Quoted(absl::string_view value) {
  return absl::StrCat("\"", absl::CHexEscape(value), "\"");
}

absl::Status Prefix(absl::string_view source, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(source, ": ", status.message()));
}

std::string ErrnoText(int err) { return std::generic_category().message(err); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status CheckName(absl::string_view field, absl::string_view name) {
  if (name.empty()) {
    return Invalid(field, "must not be empty");
  }
  if (name.size() > kMaxConfigNameLength) {
    return Invalid(field, "is ", name.size(), " characters long; at most ",
                   kMaxConfigNameLength, " are allowed");
  }
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || IsDigit(c) || c == '-')) {
      return Invalid(field, Quoted(name),
                     " may contain only lower-case letters, digits and '-'");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckNonEmpty(absl::string_view field, absl::string_view value) {
  if (value.empty()) {
    return Invalid(field, "must not be empty");
  }
  return absl::OkStatus();
}

absl::Status CheckHostPort(absl::string_view field, absl::string_view address) {
  if (address.empty()) {
    return Invalid(field, "must not be empty (expected host:port)");
  }
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return Invalid(field, Quoted(address), " has no port (expected host:port)");
  }
  const absl::string_view host = address.substr(0, colon);
  const absl::string_view port_text = address.substr(colon + 1);

  int port = 0;
  if (!IsAllDigits(port_text) || port_text.size() > 5 || port_text[0] == '0' ||
      !absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
    return Invalid(field, Quoted(address),
                   " has an invalid port (expected a decimal number in "
                   "1..65535)");
  }

  if (host.empty()) {
    return Invalid(field, Quoted(address), " has no host (expected host:port)");
  }
  if (host.front() == '[') {
    if (host.size() < 2 || host.back() != ']' ||
        !IsIpv6Literal(host.substr(1, host.size() - 2))) {
      return Invalid(field, Quoted(address),
                     " has an invalid bracketed IPv6 address");
    }
    return absl::OkStatus();
  }
  if (host.find(':') != absl::string_view::npos) {
    return Invalid(field, Quoted(address),
                   " is ambiguous: write an IPv6 host in brackets, e.g. "
                   "\"[::1]:7000\"");
  }
  const bool dotted_numeric = std::all_of(
      host.begin(), host.end(), [](char c) { return IsDigit(c) || c == '.'; });
  if (dotted_numeric ? !IsIpv4Literal(host) : !IsDnsName(host)) {
    return Invalid(field, Quoted(address),
                   " has an invalid host (expected an IPv4 address, a DNS "
                   "name or a bracketed IPv6 address)");
  }
  return absl::OkStatus();
}

std::string AddressKey(absl::string_view address) {
  return absl::AsciiStrToLower(address);
}

absl::Status CheckTls(const kagi::v1::TlsConfig& tls) {
  KAGI_RETURN_IF_ERROR(CheckNonEmpty("tls.cert_file", tls.cert_file()));
  KAGI_RETURN_IF_ERROR(CheckNonEmpty("tls.key_file", tls.key_file()));
  KAGI_RETURN_IF_ERROR(CheckNonEmpty("tls.ca_file", tls.ca_file()));
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> DefaultedInRange(absl::string_view field,
                                          uint32_t value, uint32_t def,
                                          uint32_t lo, uint32_t hi) {
  if (value == 0) {
    return def;
  }
  if (value < lo || value > hi) {
    return Invalid(field, value, " is out of range [", lo, ", ", hi,
                   "] (0 means the default, ", def, ")");
  }
  return value;
}

absl::Status ParseText(absl::string_view text, absl::string_view source,
                       google::protobuf::Message* out) {
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": configuration is ", text.size(),
                     " bytes; at most ", kMaxConfigBytes, " are allowed"));
  }
  FirstErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.AllowUnknownField(false);
  parser.AllowUnknownExtension(false);
  parser.AllowFieldNumber(false);
  parser.SetRecursionLimit(kParseRecursionLimit);
  google::protobuf::io::ArrayInputStream input(text.data(),
                                               static_cast<int>(text.size()));
  if (!parser.Parse(&input, out)) {
    return errors.Status(source);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string message =
        absl::StrCat("config: cannot open ", path, ": ", ErrnoText(err));
    if (err == ENOENT) {
      return absl::NotFoundError(message);
    }
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(message);
    }
    return absl::InvalidArgumentError(message);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::InternalError(
        absl::StrCat("config: cannot stat ", path, ": ", ErrnoText(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("config: ", path, " is not a regular file"));
  }
  // Read one byte more than allowed to detect an oversized file.
  std::string content(kMaxConfigBytes + 1, '\0');
  size_t len = 0;
  while (len < content.size()) {
    const ssize_t n = ::read(fd, &content[len], content.size() - len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("config: cannot read ", path, ": ", ErrnoText(err)));
    }
    if (n == 0) {
      break;
    }
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  if (len > kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config: ", path, " is larger than ", kMaxConfigBytes, " bytes"));
  }
  content.resize(len);
  return content;
}

absl::Status CheckReadableFile(absl::string_view field,
                               const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    const std::string message =
        absl::StrCat(field, ": cannot open ", path, ": ", ErrnoText(err));
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(message);
    }
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(message);
    }
    return absl::FailedPreconditionError(message);
  }
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": ", path, " is not a regular file"));
  }
  return absl::OkStatus();
}

absl::Status CheckTlsFiles(const kagi::v1::TlsConfig& tls) {
  KAGI_RETURN_IF_ERROR(CheckReadableFile("tls.cert_file", tls.cert_file()));
  KAGI_RETURN_IF_ERROR(CheckReadableFile("tls.key_file", tls.key_file()));
  KAGI_RETURN_IF_ERROR(CheckReadableFile("tls.ca_file", tls.ca_file()));
  return absl::OkStatus();
}

std::string MemberList::Field(int i, absl::string_view member) const {
  return absl::StrCat(list_, "[", i, "].", member);
}

absl::Status MemberList::AddName(int i, absl::string_view name,
                                 absl::string_view own_name,
                                 absl::string_view own_message) {
  const std::string field = Field(i, "name");
  KAGI_RETURN_IF_ERROR(CheckName(field, name));
  if (name == own_name) return Invalid(field, Quoted(name), own_message);
  const auto [it, added] = names_.emplace(std::string(name), i);
  if (!added) {
    return Invalid(field, Quoted(name), " duplicates ", list_, "[", it->second,
                   "].name");
  }
  return absl::OkStatus();
}

absl::Status MemberList::AddAddress(int i, absl::string_view address,
                                    absl::string_view own_address,
                                    absl::string_view own_message) {
  const std::string field = Field(i, "address");
  KAGI_RETURN_IF_ERROR(CheckHostPort(field, address));
  const std::string key = AddressKey(address);
  if (!own_address.empty() && key == own_address) {
    return Invalid(field, Quoted(address), own_message);
  }
  const auto [it, added] = addresses_.emplace(key, i);
  if (!added) {
    return Invalid(field, Quoted(address), " duplicates ", list_, "[",
                   it->second, "].address");
  }
  return absl::OkStatus();
}

absl::Status CheckNameList(
    const NameList& rule,
    const google::protobuf::RepeatedPtrField<std::string>& names) {
  std::map<std::string, int> seen;
  for (int i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const std::string field = absl::StrCat(rule.list, "[", i, "]");
    KAGI_RETURN_IF_ERROR(CheckName(field, name));
    if (name == rule.own_name) {
      return Invalid(field, Quoted(name), rule.own_message);
    }
    const auto other =
        std::find(rule.other_names.begin(), rule.other_names.end(), name);
    if (other != rule.other_names.end()) {
      return Invalid(field, Quoted(name), " is the name of ", rule.other_list,
                     "[", other - rule.other_names.begin(), "]",
                     rule.other_message);
    }
    const auto [it, added] = seen.emplace(name, i);
    if (!added) {
      return Invalid(field, Quoted(name), " duplicates ", rule.list, "[",
                     it->second, "]");
    }
  }
  return absl::OkStatus();
}

}  // namespace config_internal

using namespace config_internal;  // NOLINT: the configuration's own rules

absl::StatusOr<std::array<uint8_t, 32>> ParseIdentityPublicKey(
    absl::string_view hex) {
  if (hex.size() != 2 * crypto::kEd25519PublicKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", 2 * crypto::kEd25519PublicKeyBytes,
        " hex characters (a 32-byte Ed25519 public key), got ", hex.size()));
  }
  absl::StatusOr<std::array<uint8_t, 32>> key = HexDecodeFixed<32>(hex);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a hex Ed25519 public key: ", key.status().message()));
  }
  return key;
}

absl::Status ParseTextProto(absl::string_view text,
                            absl::string_view source_name,
                            google::protobuf::Message* out) {
  return ParseText(text, source_name, out);
}

absl::Status LoadTextProto(const std::string& path,
                           google::protobuf::Message* out) {
  KAGI_ASSIGN_OR_RETURN(const std::string text, ReadConfigFile(path));
  return ParseText(text, path, out);
}

std::string RenderConfig(const google::protobuf::Message& config) {
  std::string body;
  KAGI_CHECK(google::protobuf::TextFormat::PrintToString(config, &body));
  return absl::StrCat("# Kagi configuration (protobuf text format, ",
                      config.GetDescriptor()->full_name(), ")\n", body);
}

}  // namespace kagi::transport
