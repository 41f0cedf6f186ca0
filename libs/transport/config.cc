#include "libs/transport/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>
#include <system_error>
#include <utility>
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

namespace kagi::transport {
namespace {

static_assert(crypto::kEd25519PublicKeyBytes == 32,
              "identity keys are 32-byte Ed25519 public keys");

// Nesting of the config messages is 2; anything deeper is refused anyway.
constexpr int kParseRecursionLimit = 16;
constexpr size_t kMaxHostLength = 253;
constexpr size_t kMaxDnsLabelLength = 63;

// Invalid builds InvalidArgument("<field>: <parts...>").
template <typename... Args>
absl::Status Invalid(absl::string_view field, const Args&... parts) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", parts...));
}

// Quoted renders a configuration value for an error message; control and
// non-ASCII bytes are escaped so that an error never injects into a log.
std::string Quoted(absl::string_view value) {
  return absl::StrCat("\"", absl::CHexEscape(value), "\"");
}

// Prefix returns `status` with "<source>: " in front of its message.
absl::Status Prefix(absl::string_view source, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(source, ": ", status.message()));
}

// ErrnoText describes an errno value (thread-safe, unlike strerror).
std::string ErrnoText(int err) { return std::generic_category().message(err); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

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

// CheckHostPort checks "host:port" as described at ValidateNodeConfig.
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

// AddressKey is the form in which two addresses are compared: host names are
// case-insensitive; ports have no leading zeros (CheckHostPort refuses them).
std::string AddressKey(absl::string_view address) {
  return absl::AsciiStrToLower(address);
}

absl::Status CheckTls(const kagi::v1::TlsConfig& tls) {
  KAGI_RETURN_IF_ERROR(CheckNonEmpty("tls.cert_file", tls.cert_file()));
  KAGI_RETURN_IF_ERROR(CheckNonEmpty("tls.key_file", tls.key_file()));
  KAGI_RETURN_IF_ERROR(CheckNonEmpty("tls.ca_file", tls.ca_file()));
  return absl::OkStatus();
}

bool IsEnvName(absl::string_view name) {
  if (name.empty() || IsDigit(name[0])) {
    return false;
  }
  for (const char c : name) {
    if (!((c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_')) {
      return false;
    }
  }
  return true;
}

// DefaultedInRange returns `value`, or `def` when `value` is 0, refusing
// values outside [lo, hi].
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

absl::Status FillAndCheckLimits(kagi::v1::LimitsConfig& limits) {
  KAGI_ASSIGN_OR_RETURN(
      const uint32_t max_message_bytes,
      DefaultedInRange("limits.max_message_bytes", limits.max_message_bytes(),
                       kDefaultMaxMessageBytes, kMinMaxMessageBytes,
                       kMaxMaxMessageBytes));
  KAGI_ASSIGN_OR_RETURN(
      const uint32_t round_timeout_ms,
      DefaultedInRange("limits.round_timeout_ms", limits.round_timeout_ms(),
                       kDefaultRoundTimeoutMs, kMinRoundTimeoutMs,
                       kMaxRoundTimeoutMs));
  KAGI_ASSIGN_OR_RETURN(
      const uint32_t max_sessions,
      DefaultedInRange("limits.max_sessions", limits.max_sessions(),
                       kDefaultMaxSessions, kMinMaxSessions, kMaxMaxSessions));
  KAGI_ASSIGN_OR_RETURN(
      const uint32_t max_sign_items,
      DefaultedInRange("limits.max_sign_items", limits.max_sign_items(),
                       kDefaultMaxSignItems, kMinMaxSignItems,
                       kMaxMaxSignItems));
  limits.set_max_message_bytes(max_message_bytes);
  limits.set_round_timeout_ms(round_timeout_ms);
  limits.set_max_sessions(max_sessions);
  limits.set_max_sign_items(max_sign_items);
  return absl::OkStatus();
}

absl::Status CheckPeers(const kagi::v1::NodeConfig& config) {
  if (config.peers_size() == 0) {
    return Invalid("peers", "at least one peer is required");
  }
  if (config.peers_size() + 1 > kMaxConfigParties) {
    return Invalid("peers", config.peers_size(), " peers plus this node make ",
                   config.peers_size() + 1, " parties; at most ",
                   kMaxConfigParties, " are supported");
  }
  std::map<std::string, int> names;
  std::map<std::string, int> addresses;
  std::map<std::array<uint8_t, 32>, int> keys;
  const std::string own_address = AddressKey(config.listen_address());
  for (int i = 0; i < config.peers_size(); ++i) {
    const kagi::v1::PeerConfig& peer = config.peers(i);
    const std::string prefix = absl::StrCat("peers[", i, "]");

    const std::string name_field = absl::StrCat(prefix, ".name");
    KAGI_RETURN_IF_ERROR(CheckName(name_field, peer.name()));
    if (peer.name() == config.name()) {
      return Invalid(name_field, Quoted(peer.name()),
                     " is this node's own name");
    }
    const auto [name_it, name_new] = names.emplace(peer.name(), i);
    if (!name_new) {
      return Invalid(name_field, Quoted(peer.name()), " duplicates peers[",
                     name_it->second, "].name");
    }

    const std::string address_field = absl::StrCat(prefix, ".address");
    KAGI_RETURN_IF_ERROR(CheckHostPort(address_field, peer.address()));
    const std::string address_key = AddressKey(peer.address());
    if (address_key == own_address) {
      return Invalid(address_field, Quoted(peer.address()),
                     " is this node's own listen_address");
    }
    const auto [address_it, address_new] = addresses.emplace(address_key, i);
    if (!address_new) {
      return Invalid(address_field, Quoted(peer.address()),
                     " duplicates peers[", address_it->second, "].address");
    }

    const std::string key_field = absl::StrCat(prefix, ".identity_public_key");
    absl::StatusOr<std::array<uint8_t, 32>> key =
        ParseIdentityPublicKey(peer.identity_public_key());
    if (!key.ok()) {
      return Invalid(key_field, key.status().message());
    }
    const auto [key_it, key_new] = keys.emplace(*key, i);
    if (!key_new) {
      return Invalid(key_field, "duplicates peers[", key_it->second,
                     "].identity_public_key (every node has its own key)");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckGateways(const kagi::v1::NodeConfig& config) {
  if (config.gateways_size() == 0) {
    return Invalid("gateways", "at least one gateway name is required");
  }
  std::map<std::string, int> seen;
  for (int i = 0; i < config.gateways_size(); ++i) {
    const std::string& gateway = config.gateways(i);
    const std::string field = absl::StrCat("gateways[", i, "]");
    KAGI_RETURN_IF_ERROR(CheckName(field, gateway));
    if (gateway == config.name()) {
      return Invalid(field, Quoted(gateway),
                     " is this node's own name; a gateway certificate must "
                     "never act as a node");
    }
    for (int p = 0; p < config.peers_size(); ++p) {
      if (config.peers(p).name() == gateway) {
        return Invalid(field, Quoted(gateway), " is the name of peers[", p,
                       "]; a gateway certificate must never act as a peer");
      }
    }
    const auto [it, inserted] = seen.emplace(gateway, i);
    if (!inserted) {
      return Invalid(field, Quoted(gateway), " duplicates gateways[",
                     it->second, "]");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSealKey(const kagi::v1::NodeConfig& config) {
  switch (config.seal_key_case()) {
    case kagi::v1::NodeConfig::kSealKeyFile:
      return CheckNonEmpty("seal_key_file", config.seal_key_file());
    case kagi::v1::NodeConfig::kSealKeyEnv:
      if (!IsEnvName(config.seal_key_env())) {
        return Invalid("seal_key_env", Quoted(config.seal_key_env()),
                       " is not an environment variable name "
                       "([A-Z_][A-Z0-9_]*)");
      }
      return absl::OkStatus();
    case kagi::v1::NodeConfig::SEAL_KEY_NOT_SET:
      break;
  }
  return Invalid("seal_key",
                 "set exactly one of seal_key_file or seal_key_env");
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

// ReadConfigFile reads at most kMaxConfigBytes from the regular file `path`.
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

// CheckReadableFile checks that `path` (the value of `field`) is a readable
// regular file.
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

// CheckStoragePath: an existing regular file, or a missing file in an
// existing, writable directory.
absl::Status CheckStoragePath(absl::string_view field,
                              const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ": ", path, " is not a regular file"));
    }
    if (::access(path.c_str(), R_OK | W_OK) != 0) {
      const int err = errno;
      return absl::PermissionDeniedError(absl::StrCat(
          field, ": cannot read and write ", path, ": ", ErrnoText(err)));
    }
    return absl::OkStatus();
  }
  const int stat_err = errno;
  if (stat_err != ENOENT) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": cannot access ", path, ": ", ErrnoText(stat_err)));
  }
  const size_t slash = path.rfind('/');
  std::string dir;
  if (slash == std::string::npos) {
    dir = ".";
  } else if (slash == 0) {
    dir = "/";
  } else {
    dir = path.substr(0, slash);
  }
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    const std::string message =
        absl::StrCat(field, ": directory ", dir, " of ", path,
                     " is not accessible: ", ErrnoText(err));
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(message);
    }
    return absl::PermissionDeniedError(message);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": ", dir, " (parent of ", path, ") is not a directory"));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    const int err = errno;
    return absl::PermissionDeniedError(absl::StrCat(
        field, ": cannot create ", path, " in ", dir, ": ", ErrnoText(err)));
  }
  return absl::OkStatus();
}

absl::Status CheckTlsFiles(const kagi::v1::TlsConfig& tls) {
  KAGI_RETURN_IF_ERROR(CheckReadableFile("tls.cert_file", tls.cert_file()));
  KAGI_RETURN_IF_ERROR(CheckReadableFile("tls.key_file", tls.key_file()));
  KAGI_RETURN_IF_ERROR(CheckReadableFile("tls.ca_file", tls.ca_file()));
  return absl::OkStatus();
}

absl::Status FillAndCheckNode(kagi::v1::NodeConfig& config) {
  KAGI_RETURN_IF_ERROR(CheckName("name", config.name()));
  KAGI_RETURN_IF_ERROR(
      CheckHostPort("listen_address", config.listen_address()));
  KAGI_RETURN_IF_ERROR(CheckTls(config.tls()));
  KAGI_RETURN_IF_ERROR(
      CheckNonEmpty("identity_key_file", config.identity_key_file()));
  KAGI_RETURN_IF_ERROR(CheckNonEmpty("storage_path", config.storage_path()));
  KAGI_RETURN_IF_ERROR(CheckPeers(config));
  KAGI_RETURN_IF_ERROR(CheckGateways(config));
  KAGI_RETURN_IF_ERROR(CheckSealKey(config));
  KAGI_RETURN_IF_ERROR(FillAndCheckLimits(*config.mutable_limits()));
  return absl::OkStatus();
}

absl::Status CheckGatewayNodes(const kagi::v1::GatewayConfig& config) {
  if (config.nodes_size() < 2 || config.nodes_size() > kMaxConfigParties) {
    return Invalid("nodes", config.nodes_size(),
                   " nodes configured; between 2 and ", kMaxConfigParties,
                   " are required");
  }
  std::map<std::string, int> names;
  std::map<std::string, int> addresses;
  for (int i = 0; i < config.nodes_size(); ++i) {
    const kagi::v1::GatewayNodeConfig& node = config.nodes(i);
    const std::string prefix = absl::StrCat("nodes[", i, "]");

    const std::string name_field = absl::StrCat(prefix, ".name");
    KAGI_RETURN_IF_ERROR(CheckName(name_field, node.name()));
    if (node.name() == config.name()) {
      return Invalid(name_field, Quoted(node.name()),
                     " is this gateway's own name; a gateway certificate must "
                     "never act as a node");
    }
    const auto [name_it, name_new] = names.emplace(node.name(), i);
    if (!name_new) {
      return Invalid(name_field, Quoted(node.name()), " duplicates nodes[",
                     name_it->second, "].name");
    }

    const std::string address_field = absl::StrCat(prefix, ".address");
    KAGI_RETURN_IF_ERROR(CheckHostPort(address_field, node.address()));
    const auto [address_it, address_new] =
        addresses.emplace(AddressKey(node.address()), i);
    if (!address_new) {
      return Invalid(address_field, Quoted(node.address()),
                     " duplicates nodes[", address_it->second, "].address");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckGatewayClients(const kagi::v1::GatewayConfig& config) {
  std::map<std::string, int> seen;
  for (int i = 0; i < config.clients_size(); ++i) {
    const std::string& client = config.clients(i);
    const std::string field = absl::StrCat("clients[", i, "]");
    KAGI_RETURN_IF_ERROR(CheckName(field, client));
    if (client == config.name()) {
      return Invalid(field, Quoted(client), " is this gateway's own name");
    }
    for (int n = 0; n < config.nodes_size(); ++n) {
      if (config.nodes(n).name() == client) {
        return Invalid(field, Quoted(client), " is the name of nodes[", n,
                       "]; a client certificate must never be a node's");
      }
    }
    const auto [it, inserted] = seen.emplace(client, i);
    if (!inserted) {
      return Invalid(field, Quoted(client), " duplicates clients[", it->second,
                     "]");
    }
  }
  return absl::OkStatus();
}

absl::Status FillAndCheckGateway(kagi::v1::GatewayConfig& config) {
  KAGI_RETURN_IF_ERROR(CheckName("name", config.name()));
  KAGI_RETURN_IF_ERROR(
      CheckHostPort("listen_address", config.listen_address()));
  KAGI_RETURN_IF_ERROR(CheckTls(config.tls()));
  KAGI_RETURN_IF_ERROR(CheckGatewayNodes(config));
  KAGI_RETURN_IF_ERROR(CheckGatewayClients(config));
  KAGI_ASSIGN_OR_RETURN(
      const uint32_t timeout,
      DefaultedInRange("request_timeout_ms", config.request_timeout_ms(),
                       kDefaultRequestTimeoutMs, kMinRequestTimeoutMs,
                       kMaxRequestTimeoutMs));
  config.set_request_timeout_ms(timeout);
  return absl::OkStatus();
}

}  // namespace

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

absl::Status ValidateNodeConfig(kagi::v1::NodeConfig& config) {
  // Work on a copy so that `config` is untouched when validation fails.
  kagi::v1::NodeConfig filled = config;
  KAGI_RETURN_IF_ERROR(FillAndCheckNode(filled));
  config.Swap(&filled);
  return absl::OkStatus();
}

absl::StatusOr<kagi::v1::NodeConfig> ParseNodeConfig(
    absl::string_view text, absl::string_view source_name) {
  kagi::v1::NodeConfig config;
  KAGI_RETURN_IF_ERROR(ParseText(text, source_name, &config));
  const absl::Status valid = ValidateNodeConfig(config);
  if (!valid.ok()) {
    return Prefix(source_name, valid);
  }
  return config;
}

absl::StatusOr<kagi::v1::NodeConfig> LoadNodeConfig(const std::string& path) {
  KAGI_ASSIGN_OR_RETURN(const std::string text, ReadConfigFile(path));
  return ParseNodeConfig(text, path);
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

absl::Status CheckNodeConfigFiles(const kagi::v1::NodeConfig& config) {
  KAGI_RETURN_IF_ERROR(CheckTlsFiles(config.tls()));
  KAGI_RETURN_IF_ERROR(
      CheckReadableFile("identity_key_file", config.identity_key_file()));
  if (config.seal_key_case() == kagi::v1::NodeConfig::kSealKeyFile) {
    KAGI_RETURN_IF_ERROR(
        CheckReadableFile("seal_key_file", config.seal_key_file()));
  }
  KAGI_RETURN_IF_ERROR(CheckStoragePath("storage_path", config.storage_path()));
  return absl::OkStatus();
}

absl::Status ValidateGatewayConfig(kagi::v1::GatewayConfig& config) {
  kagi::v1::GatewayConfig filled = config;
  KAGI_RETURN_IF_ERROR(FillAndCheckGateway(filled));
  config.Swap(&filled);
  return absl::OkStatus();
}

absl::StatusOr<kagi::v1::GatewayConfig> ParseGatewayConfig(
    absl::string_view text, absl::string_view source_name) {
  kagi::v1::GatewayConfig config;
  KAGI_RETURN_IF_ERROR(ParseText(text, source_name, &config));
  const absl::Status valid = ValidateGatewayConfig(config);
  if (!valid.ok()) {
    return Prefix(source_name, valid);
  }
  return config;
}

absl::StatusOr<kagi::v1::GatewayConfig> LoadGatewayConfig(
    const std::string& path) {
  KAGI_ASSIGN_OR_RETURN(const std::string text, ReadConfigFile(path));
  return ParseGatewayConfig(text, path);
}

absl::Status CheckGatewayConfigFiles(const kagi::v1::GatewayConfig& config) {
  return CheckTlsFiles(config.tls());
}

std::string RenderConfig(const google::protobuf::Message& config) {
  std::string body;
  KAGI_CHECK(google::protobuf::TextFormat::PrintToString(config, &body));
  return absl::StrCat("# Kagi configuration (protobuf text format, ",
                      config.GetDescriptor()->full_name(), ")\n", body);
}

}  // namespace kagi::transport
