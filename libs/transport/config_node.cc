// kagi-node's configuration (config.h; shared rules in config_internal.h).
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/evp.h"
#include "libs/transport/config.h"
#include "libs/transport/config_internal.h"

namespace kagi::transport {

using namespace config_internal;  // NOLINT: the configuration's own rules

namespace {

static_assert(crypto::kEd25519PublicKeyBytes == 32,
              "identity keys are 32-byte Ed25519 public keys");

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
  MemberList members("peers");
  std::map<std::array<uint8_t, 32>, int> keys;
  const std::string own_address = AddressKey(config.listen_address());
  for (int i = 0; i < config.peers_size(); ++i) {
    const kagi::v1::PeerConfig& peer = config.peers(i);
    KAGI_RETURN_IF_ERROR(members.AddName(i, peer.name(), config.name(),
                                         " is this node's own name"));
    KAGI_RETURN_IF_ERROR(members.AddAddress(
        i, peer.address(), own_address, " is this node's own listen_address"));
    const std::string key_field = members.Field(i, "identity_public_key");
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
  NameList rule{"gateways",
                config.name(),
                " is this node's own name; a gateway certificate must never "
                "act as a node",
                "peers",
                {},
                "; a gateway certificate must never act as a peer"};
  for (const kagi::v1::PeerConfig& p : config.peers()) {
    rule.other_names.push_back(p.name());
  }
  return CheckNameList(rule, config.gateways());
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

}  // namespace

absl::Status ValidateNodeConfig(kagi::v1::NodeConfig& config) {
  return ValidateCopy(config, &FillAndCheckNode);
}

absl::StatusOr<kagi::v1::NodeConfig> ParseNodeConfig(
    absl::string_view text, absl::string_view source_name) {
  return ParseAndValidate(text, source_name, &ValidateNodeConfig);
}

absl::StatusOr<kagi::v1::NodeConfig> LoadNodeConfig(const std::string& path) {
  KAGI_ASSIGN_OR_RETURN(const std::string text, ReadConfigFile(path));
  return ParseNodeConfig(text, path);
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

}  // namespace kagi::transport
