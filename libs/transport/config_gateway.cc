// kagi-gateway's configuration (config.h; shared rules in
// config_internal.h).
#include <string>

#include "absl/status/status.h"
#include "libs/base/status_macros.h"
#include "libs/transport/config.h"
#include "libs/transport/config_internal.h"

namespace kagi::transport {

using namespace config_internal;  // NOLINT: the configuration's own rules

namespace {

absl::Status CheckGatewayNodes(const kagi::v1::GatewayConfig& config) {
  if (config.nodes_size() < 2 || config.nodes_size() > kMaxConfigParties) {
    return Invalid("nodes", config.nodes_size(),
                   " nodes configured; between 2 and ", kMaxConfigParties,
                   " are required");
  }
  MemberList members("nodes");
  for (int i = 0; i < config.nodes_size(); ++i) {
    const kagi::v1::GatewayNodeConfig& node = config.nodes(i);
    KAGI_RETURN_IF_ERROR(members.AddName(
        i, node.name(), config.name(),
        " is this gateway's own name; a gateway certificate must never act "
        "as a node"));
    KAGI_RETURN_IF_ERROR(members.AddAddress(i, node.address(), "", ""));
  }
  return absl::OkStatus();
}

absl::Status CheckGatewayClients(const kagi::v1::GatewayConfig& config) {
  NameList rule{"clients",
                config.name(),
                " is this gateway's own name",
                "nodes",
                {},
                "; a client certificate must never be a node's"};
  for (const kagi::v1::GatewayNodeConfig& n : config.nodes()) {
    rule.other_names.push_back(n.name());
  }
  return CheckNameList(rule, config.clients());
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

absl::Status ValidateGatewayConfig(kagi::v1::GatewayConfig& config) {
  return ValidateCopy(config, &FillAndCheckGateway);
}

absl::StatusOr<kagi::v1::GatewayConfig> ParseGatewayConfig(
    absl::string_view text, absl::string_view source_name) {
  return ParseAndValidate(text, source_name, &ValidateGatewayConfig);
}

absl::StatusOr<kagi::v1::GatewayConfig> LoadGatewayConfig(
    const std::string& path) {
  KAGI_ASSIGN_OR_RETURN(const std::string text, ReadConfigFile(path));
  return ParseGatewayConfig(text, path);
}

absl::Status CheckGatewayConfigFiles(const kagi::v1::GatewayConfig& config) {
  return CheckTlsFiles(config.tls());
}

}  // namespace kagi::transport
