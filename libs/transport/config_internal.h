// File: libs/transport/config_internal.h
//
// What the node and gateway configuration files share (not API): error
// shapes, the name and host:port rules, reading and parsing a file, the
// uniqueness rules of member lists, and the validate-a-copy step. The
// configuration code is split:
//   config.cc          shared rules, files, text format, rendering
//   config_node.cc     kagi-node (NodeConfig)
//   config_gateway.cc  kagi-gateway (GatewayConfig)
#ifndef KAGI_LIBS_TRANSPORT_CONFIG_INTERNAL_H_
#define KAGI_LIBS_TRANSPORT_CONFIG_INTERNAL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "kagi/v1/config.pb.h"
#include "libs/base/status_macros.h"

namespace kagi::transport::config_internal {

// Invalid builds InvalidArgument("<field>: <parts...>").
template <typename... Args>
absl::Status Invalid(absl::string_view field, const Args&... parts) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", parts...));
}

// Quoted renders a configuration value for an error message; control and
// non-ASCII bytes are escaped so that an error never injects into a log.
std::string Quoted(absl::string_view value);

// Prefix returns `status` with "<source>: " in front of its message.
absl::Status Prefix(absl::string_view source, const absl::Status& status);

// ErrnoText describes an errno value (thread-safe, unlike strerror).
std::string ErrnoText(int err);

bool IsDigit(char c);

// CheckName: 1..kMaxConfigNameLength characters of [a-z0-9-].
absl::Status CheckName(absl::string_view field, absl::string_view name);
absl::Status CheckNonEmpty(absl::string_view field, absl::string_view value);
// CheckHostPort checks "host:port" as described at ValidateNodeConfig.
absl::Status CheckHostPort(absl::string_view field, absl::string_view address);
// AddressKey is the form in which two addresses are compared: host names are
// case-insensitive; ports have no leading zeros (CheckHostPort refuses them).
std::string AddressKey(absl::string_view address);
absl::Status CheckTls(const kagi::v1::TlsConfig& tls);
// DefaultedInRange returns `value`, or `def` when `value` is 0, refusing
// values outside [lo, hi].
absl::StatusOr<uint32_t> DefaultedInRange(absl::string_view field,
                                          uint32_t value, uint32_t def,
                                          uint32_t lo, uint32_t hi);

// ParseText parses protobuf text format strictly (config.h, step 1).
absl::Status ParseText(absl::string_view text, absl::string_view source,
                       google::protobuf::Message* out);
// ReadConfigFile reads at most kMaxConfigBytes from the regular file `path`.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);
// CheckReadableFile checks that `path` (the value of `field`) is a readable
// regular file.
absl::Status CheckReadableFile(absl::string_view field,
                               const std::string& path);
absl::Status CheckTlsFiles(const kagi::v1::TlsConfig& tls);

// MemberList checks the members of a list ("peers", "nodes") one by one:
// each name valid, not the owner's and not repeated; each address valid,
// not the owner's (when given) and not repeated. Errors name
// "<list>[i].name" / "<list>[i].address".
class MemberList {
 public:
  explicit MemberList(absl::string_view list) : list_(list) {}

  // AddName: `own_name` is the config's own name, refused with
  // `own_message` after the quoted name.
  absl::Status AddName(int i, absl::string_view name,
                       absl::string_view own_name,
                       absl::string_view own_message);
  // AddAddress: `own_address` (an AddressKey, or "" for none) refused with
  // `own_message`.
  absl::Status AddAddress(int i, absl::string_view address,
                          absl::string_view own_address,
                          absl::string_view own_message);
  std::string Field(int i, absl::string_view member) const;

 private:
  std::string list_;
  std::map<std::string, int> names_;
  std::map<std::string, int> addresses_;
};

// NameList describes a list of certificate names (a node's "gateways", a
// gateway's "clients") that must not name the owner or the members of
// `other_list`.
struct NameList {
  absl::string_view list;
  absl::string_view own_name;
  absl::string_view own_message;
  absl::string_view other_list;
  std::vector<std::string> other_names;
  absl::string_view other_message;
};

// CheckNameList: every name valid, not the owner's, not one of the other
// list's and not repeated.
absl::Status CheckNameList(
    const NameList& rule,
    const google::protobuf::RepeatedPtrField<std::string>& names);

// ValidateCopy runs `fill_and_check` on a copy of `config` and takes the
// copy only when it passes, so that `config` is untouched on failure.
template <typename Config>
absl::Status ValidateCopy(Config& config,
                          absl::Status (*fill_and_check)(Config&)) {
  Config filled = config;
  KAGI_RETURN_IF_ERROR(fill_and_check(filled));
  config.Swap(&filled);
  return absl::OkStatus();
}

// ParseAndValidate parses `text` and validates it, prefixing a validation
// error with `source`.
template <typename Config>
absl::StatusOr<Config> ParseAndValidate(absl::string_view text,
                                        absl::string_view source,
                                        absl::Status (*validate)(Config&)) {
  Config config;
  KAGI_RETURN_IF_ERROR(ParseText(text, source, &config));
  const absl::Status valid = validate(config);
  if (!valid.ok()) return Prefix(source, valid);
  return config;
}

}  // namespace kagi::transport::config_internal

#endif  // KAGI_LIBS_TRANSPORT_CONFIG_INTERNAL_H_
