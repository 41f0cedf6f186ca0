// File: libs/transport/config.h
//
// Loading and validating the configuration files of kagi-node
// (kagi.v1.NodeConfig) and kagi-gateway (kagi.v1.GatewayConfig); the schema
// is proto/kagi/v1/config.proto. Files are protobuf text format; '#' starts a
// comment.
//
// Loading happens in three steps:
//
//   1. Parse: text format, strictly. Unknown fields, a singular field given
//      twice and two members of a oneof are refused. A syntax error becomes
//      InvalidArgument("<source>:<line>:<column>: <message>"), both numbers
//      one-based.
//   2. Validate (pure, no file system access): fills the defaults of zero
//      numeric fields and checks every rule listed at ValidateNodeConfig /
//      ValidateGatewayConfig. Every error is InvalidArgument and starts with
//      the path of the field at fault, e.g.
//      "peers[1].identity_public_key: expected 64 hex characters, got 62".
//      Parse* and Load* run this step and prefix the error with the source.
//   3. Check files (CheckNodeConfigFiles / CheckGatewayConfigFiles): every
//      file the configuration names exists and is readable. Start-up code
//      calls this once before loading keys; relative paths are resolved
//      against the working directory.
//
// A configuration never contains a secret: keys are referenced by file path
// or environment-variable name, so RenderConfig output may be logged.
#ifndef KAGI_LIBS_TRANSPORT_CONFIG_H_
#define KAGI_LIBS_TRANSPORT_CONFIG_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "kagi/v1/config.pb.h"

namespace kagi::transport {

// Largest configuration file (and text) accepted.
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;

// Largest number of parties (this node plus its peers; or the gateway's
// nodes). Matches the protocol's limit.
inline constexpr int kMaxConfigParties = 16;

// Node names, gateway names and client names: 1..64 characters of
// [a-z0-9-]. They are certificate common names.
inline constexpr size_t kMaxConfigNameLength = 64;

// LimitsConfig defaults (used when a field is 0) and accepted ranges.
inline constexpr uint32_t kDefaultMaxMessageBytes = 4u << 20;
inline constexpr uint32_t kMinMaxMessageBytes = 64u << 10;
inline constexpr uint32_t kMaxMaxMessageBytes = 64u << 20;
inline constexpr uint32_t kDefaultRoundTimeoutMs = 10000;
inline constexpr uint32_t kMinRoundTimeoutMs = 100;
inline constexpr uint32_t kMaxRoundTimeoutMs = 600000;
inline constexpr uint32_t kDefaultMaxSessions = 256;
inline constexpr uint32_t kMinMaxSessions = 1;
inline constexpr uint32_t kMaxMaxSessions = 100000;
inline constexpr uint32_t kDefaultMaxSignItems = 64;
inline constexpr uint32_t kMinMaxSignItems = 1;
inline constexpr uint32_t kMaxMaxSignItems = 64;

// GatewayConfig.request_timeout_ms default and range.
inline constexpr uint32_t kDefaultRequestTimeoutMs = 30000;
inline constexpr uint32_t kMinRequestTimeoutMs = 1000;
inline constexpr uint32_t kMaxRequestTimeoutMs = 600000;

// --- kagi-node ---------------------------------------------------------------

// ParseNodeConfig parses `text` (protobuf text format) and validates it with
// ValidateNodeConfig. `source_name` (usually the file path) prefixes every
// error message. Errors are InvalidArgument.
absl::StatusOr<kagi::v1::NodeConfig> ParseNodeConfig(
    absl::string_view text, absl::string_view source_name);

// LoadNodeConfig reads the file at `path` (a regular file of at most
// kMaxConfigBytes) and calls ParseNodeConfig. Errors name the path: NotFound
// (missing), PermissionDenied (unreadable), InvalidArgument (not a regular
// file, too large, syntax or validation error).
absl::StatusOr<kagi::v1::NodeConfig> LoadNodeConfig(const std::string& path);

// ValidateNodeConfig fills defaults and checks `config`:
//   * name: 1..64 characters of [a-z0-9-];
//   * listen_address: "host:port", port 1..65535, host an IPv4 literal, a DNS
//     name (including "localhost") or a bracketed IPv6 literal "[::1]";
//   * tls.cert_file, tls.key_file, tls.ca_file, identity_key_file,
//     storage_path: non-empty;
//   * peers: 1..15 (at most 16 parties including this node); each peer's
//     name valid and distinct from the other peers' and from `name`; address
//     valid, distinct from the other peers' and from listen_address;
//     identity_public_key exactly 64 hex characters, distinct across peers;
//   * gateways: at least one, each a valid name, no duplicates, none equal to
//     a peer's name or to `name` (a gateway certificate never acts as a
//     peer);
//   * seal key: exactly one of seal_key_file / seal_key_env, non-empty;
//     seal_key_env matches [A-Z_][A-Z0-9_]*;
//   * limits: a zero field takes its default (kDefault*); the result must be
//     within [kMin*, kMax*].
// Errors are InvalidArgument naming the field path ("peers[1].address: ...").
// Does not touch the file system.
absl::Status ValidateNodeConfig(kagi::v1::NodeConfig& config);

// CheckNodeConfigFiles checks that tls.cert_file, tls.key_file, tls.ca_file,
// identity_key_file and (if set) seal_key_file are readable regular files, and
// that storage_path either is a regular file or does not exist yet inside an
// existing directory. Errors name the field and the path: NotFound,
// PermissionDenied or FailedPrecondition (wrong file type).
absl::Status CheckNodeConfigFiles(const kagi::v1::NodeConfig& config);

// --- kagi-gateway ------------------------------------------------------------

// ParseGatewayConfig: as ParseNodeConfig, for the gateway.
absl::StatusOr<kagi::v1::GatewayConfig> ParseGatewayConfig(
    absl::string_view text, absl::string_view source_name);

// LoadGatewayConfig: as LoadNodeConfig, for the gateway.
absl::StatusOr<kagi::v1::GatewayConfig> LoadGatewayConfig(
    const std::string& path);

// ValidateGatewayConfig fills defaults and checks `config`:
//   * name, listen_address, tls.*: as for the node;
//   * nodes: 2..16, each with a valid name distinct from the other nodes' and
//     from `name`, and a valid address distinct from the other nodes';
//   * clients: may be empty (any client certificate of the CA); each a valid
//     name, no duplicates, none equal to `name` or to a node's name;
//   * request_timeout_ms: 0 means kDefaultRequestTimeoutMs; the result must
//     be within [kMinRequestTimeoutMs, kMaxRequestTimeoutMs].
absl::Status ValidateGatewayConfig(kagi::v1::GatewayConfig& config);

// CheckGatewayConfigFiles checks that the tls.* files are readable regular
// files.
absl::Status CheckGatewayConfigFiles(const kagi::v1::GatewayConfig& config);

// --- helpers -----------------------------------------------------------------

// LoadTextProto reads the file at `path` (as LoadNodeConfig) and parses it
// into `out` in protobuf text format, refusing unknown fields. Used for the
// node's policy file (libs/policy validates the content).
absl::Status LoadTextProto(const std::string& path,
                           google::protobuf::Message* out);
// ParseTextProto is LoadTextProto for text already read; `source_name`
// prefixes errors.
absl::Status ParseTextProto(absl::string_view text,
                            absl::string_view source_name,
                            google::protobuf::Message* out);

// RenderConfig prints `config` in protobuf text format after the comment line
// "# Kagi configuration (protobuf text format, kagi.v1.<MessageName>)". The
// output parses back to an equal message.
std::string RenderConfig(const google::protobuf::Message& config);

// ParseIdentityPublicKey decodes a 32-byte Ed25519 public key from exactly 64
// hex characters (either case). Errors are InvalidArgument.
absl::StatusOr<std::array<uint8_t, 32>> ParseIdentityPublicKey(
    absl::string_view hex);

}  // namespace kagi::transport

#endif  // KAGI_LIBS_TRANSPORT_CONFIG_H_
