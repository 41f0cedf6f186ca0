#include "libs/transport/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "kagi/v1/config.pb.h"
#include "libs/base/check.h"

namespace kagi::transport {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Identity keys of the fixture's peers: 32 bytes, 64 hex characters.
const std::string kKey2(64, '2');
const std::string kKey3 = std::string(62, 'a') + "b3";

std::string ValidNodeText() {
  return absl::StrCat(R"txt(# node-1 of a three-node deployment
name: "node-1"
listen_address: "0.0.0.0:7001"
tls {
  cert_file: "/etc/kagi/node-1.crt"
  key_file: "/etc/kagi/node-1.key"
  ca_file: "/etc/kagi/ca.crt"
}
identity_key_file: "/etc/kagi/node-1.identity"
peers {
  name: "node-2"
  address: "node-2.internal:7001"
  identity_public_key: ")txt",
                      kKey2, R"txt("
}
peers {
  name: "node-3"
  address: "10.0.0.3:7001"
  identity_public_key: ")txt",
                      kKey3, R"txt("
}
gateways: "gateway-1"
storage_path: "/var/lib/kagi/node-1.db"
seal_key_env: "KAGI_SEAL_KEY"
)txt");
}

constexpr char kValidGatewayText[] = R"txt(
  name: "gateway-1"
  listen_address: "[::]:8443"
  tls {
    cert_file: "/etc/kagi/gateway-1.crt"
    key_file: "/etc/kagi/gateway-1.key"
    ca_file: "/etc/kagi/ca.crt"
  }
  nodes { name: "node-1" address: "node-1.internal:7001" }
  nodes { name: "node-2" address: "node-2.internal:7001" }
  nodes { name: "node-3" address: "10.0.0.3:7001" }
  clients: "wallet-app"
)txt";

kagi::v1::NodeConfig ValidNode() {
  absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(ValidNodeText(), "fixture");
  KAGI_CHECK(config.ok());
  return *config;
}

kagi::v1::GatewayConfig ValidGateway() {
  absl::StatusOr<kagi::v1::GatewayConfig> config =
      ParseGatewayConfig(kValidGatewayText, "fixture");
  KAGI_CHECK(config.ok());
  return *config;
}

// NodeError validates `config` and returns the error message; the test fails
// unless validation fails with InvalidArgument.
std::string NodeError(kagi::v1::NodeConfig config) {
  const absl::Status status = ValidateNodeConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

std::string GatewayError(kagi::v1::GatewayConfig config) {
  const absl::Status status = ValidateGatewayConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

kagi::v1::PeerConfig* AddPeer(kagi::v1::NodeConfig& config, int index) {
  kagi::v1::PeerConfig* peer = config.add_peers();
  peer->set_name(absl::StrCat("extra-", index));
  peer->set_address(absl::StrCat("10.1.0.", index, ":7001"));
  char hex[3];
  std::snprintf(hex, sizeof(hex), "%02x", 0x40 + index);
  std::string key;
  for (int i = 0; i < 32; ++i) {
    key += hex;
  }
  peer->set_identity_public_key(key);
  return peer;
}

// --- parsing -----------------------------------------------------------------

TEST(NodeConfigTest, ValidConfigParsesAndFillsDefaults) {
  absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(ValidNodeText(), "node.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "node-1");
  EXPECT_EQ(config->listen_address(), "0.0.0.0:7001");
  EXPECT_EQ(config->tls().cert_file(), "/etc/kagi/node-1.crt");
  EXPECT_EQ(config->tls().key_file(), "/etc/kagi/node-1.key");
  EXPECT_EQ(config->tls().ca_file(), "/etc/kagi/ca.crt");
  EXPECT_EQ(config->identity_key_file(), "/etc/kagi/node-1.identity");
  ASSERT_EQ(config->peers_size(), 2);
  EXPECT_EQ(config->peers(1).name(), "node-3");
  EXPECT_EQ(config->peers(1).address(), "10.0.0.3:7001");
  EXPECT_EQ(config->peers(1).identity_public_key(), kKey3);
  ASSERT_EQ(config->gateways_size(), 1);
  EXPECT_EQ(config->gateways(0), "gateway-1");
  EXPECT_EQ(config->storage_path(), "/var/lib/kagi/node-1.db");
  EXPECT_EQ(config->seal_key_env(), "KAGI_SEAL_KEY");
  EXPECT_FALSE(config->allow_raw_digest());
  // Defaults of the absent limits block.
  ASSERT_TRUE(config->has_limits());
  EXPECT_EQ(config->limits().max_message_bytes(), 4194304u);
  EXPECT_EQ(config->limits().round_timeout_ms(), 10000u);
  EXPECT_EQ(config->limits().max_sessions(), 256u);
  EXPECT_EQ(config->limits().max_sign_items(), 64u);
}

TEST(NodeConfigTest, ExplicitLimitsAreKeptAndZeroMeansDefault) {
  const std::string text = absl::StrCat(ValidNodeText(), R"txt(
    limits {
      max_message_bytes: 65536
      round_timeout_ms: 0
      max_sessions: 100000
      max_sign_items: 1
    }
    allow_raw_digest: true
  )txt");
  absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(text, "node.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits().max_message_bytes(), 65536u);
  EXPECT_EQ(config->limits().round_timeout_ms(), 10000u);
  EXPECT_EQ(config->limits().max_sessions(), 100000u);
  EXPECT_EQ(config->limits().max_sign_items(), 1u);
  EXPECT_TRUE(config->allow_raw_digest());
}

TEST(NodeConfigTest, RenderParseRoundTrip) {
  kagi::v1::NodeConfig config = ValidNode();
  config.set_allow_raw_digest(true);
  config.mutable_limits()->set_max_sessions(7);
  config.set_seal_key_file("/etc/kagi/seal \"key\"\n.hex");
  const std::string text = RenderConfig(config);
  EXPECT_THAT(text, StartsWith("# Kagi configuration (protobuf text format, "
                               "kagi.v1.NodeConfig)\n"));
  absl::StatusOr<kagi::v1::NodeConfig> parsed =
      ParseNodeConfig(text, "rendered");
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  EXPECT_TRUE(MessageDifferencer::Equals(config, *parsed)) << text;
}

TEST(NodeConfigTest, SyntaxErrorReportsLineAndColumn) {
  const absl::StatusOr<kagi::v1::NodeConfig> config = ParseNodeConfig(
      "name: \"node-1\"\nlisten_address \"0.0.0.0:7001\"\n", "node.conf");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  // Line 2, column 16 (one-based) is the string that should follow a ':'.
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith("node.conf:2:16: "));
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("Expected \":\""));
}

TEST(NodeConfigTest, UnknownFieldRefused) {
  const std::string text =
      absl::StrCat(ValidNodeText(), "listen_adress: \"0.0.0.0:1\"\n");
  const absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(text, "node.conf");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith("node.conf:23:14: "));
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("listen_adress"));
}

TEST(NodeConfigTest, UnknownNestedFieldRefused) {
  const std::string text =
      absl::StrCat(ValidNodeText(), "limits { max_sesions: 3 }\n");
  const absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(text, "node.conf");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("max_sesions"));
}

TEST(NodeConfigTest, RepeatedSingularFieldRefused) {
  const std::string text = absl::StrCat(ValidNodeText(), "name: \"node-9\"\n");
  const absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(text, "node.conf");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith("node.conf:23:5: "));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("\"name\""));
}

TEST(NodeConfigTest, ValidationErrorIsPrefixedWithSource) {
  const std::string text = absl::StrReplaceAll(
      ValidNodeText(), {{"\"/var/lib/kagi/node-1.db\"", "\"\""}});
  ASSERT_NE(text, ValidNodeText());
  const absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(text, "node.conf");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith("node.conf: storage_path: "));
}

TEST(NodeConfigTest, OversizedTextRefused) {
  const std::string text = absl::StrCat(
      ValidNodeText(), "#", std::string(kMaxConfigBytes, 'x'), "\n");
  const absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(text, "big.conf");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), StartsWith("big.conf: "));
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("at most 1048576"));
}

// --- validation rules, one field at a time -----------------------------------

TEST(NodeConfigTest, ValidateLeavesConfigUntouchedOnError) {
  kagi::v1::NodeConfig config = ValidNode();
  config.clear_limits();
  config.clear_gateways();
  const kagi::v1::NodeConfig before = config;
  EXPECT_FALSE(ValidateNodeConfig(config).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(before, config));
  EXPECT_FALSE(config.has_limits());
}

TEST(NodeConfigTest, NameRule) {
  for (const std::string& bad :
       {std::string(), std::string(65, 'a'), std::string("Node-1"),
        std::string("node_1"), std::string("node 1"), std::string("nöde")}) {
    kagi::v1::NodeConfig config = ValidNode();
    config.set_name(bad);
    EXPECT_THAT(NodeError(config), StartsWith("name: ")) << bad;
  }
  kagi::v1::NodeConfig config = ValidNode();
  config.set_name(std::string(64, 'z'));
  EXPECT_TRUE(ValidateNodeConfig(config).ok());
  config.set_name("0-9");
  EXPECT_TRUE(ValidateNodeConfig(config).ok());
}

TEST(NodeConfigTest, ListenAddressRule) {
  for (const char* bad : {"",
                          "node-1",
                          "node-1:",
                          ":7001",
                          "node-1:0",
                          "node-1:65536",
                          "node-1:07001",
                          "node-1:+71",
                          "node-1:7001x",
                          "1.2.3.256:7001",
                          "1.2.3:7001",
                          "01.2.3.4:7001",
                          "12345:7001",
                          "::1:7001",
                          "[::1:7001",
                          "[::1]",
                          "[not-v6]:7001",
                          "[]:7001",
                          "-node.example:7001",
                          "node-.example:7001",
                          "a..b:7001",
                          "node_1:7001",
                          "node.example.:7001",
                          "host name:7001",
                          "[fe80::1%eth0]:7001",
                          "node.123:7001"}) {
    kagi::v1::NodeConfig config = ValidNode();
    config.set_listen_address(bad);
    EXPECT_THAT(NodeError(config), StartsWith("listen_address: ")) << bad;
  }
  for (const char* good :
       {"127.0.0.1:1", "0.0.0.0:65535", "localhost:7001", "node-1:7001",
        "Node-1.Example.COM:7001", "[::1]:7001", "[::]:443",
        "[2001:db8::5]:7001", "[::ffff:10.0.0.1]:7001"}) {
    kagi::v1::NodeConfig config = ValidNode();
    config.set_listen_address(good);
    EXPECT_TRUE(ValidateNodeConfig(config).ok()) << good;
  }
}

TEST(NodeConfigTest, TlsFilesRequired) {
  {
    kagi::v1::NodeConfig config = ValidNode();
    config.mutable_tls()->clear_cert_file();
    EXPECT_THAT(NodeError(config), StartsWith("tls.cert_file: "));
  }
  {
    kagi::v1::NodeConfig config = ValidNode();
    config.mutable_tls()->clear_key_file();
    EXPECT_THAT(NodeError(config), StartsWith("tls.key_file: "));
  }
  {
    kagi::v1::NodeConfig config = ValidNode();
    config.mutable_tls()->clear_ca_file();
    EXPECT_THAT(NodeError(config), StartsWith("tls.ca_file: "));
  }
  {
    kagi::v1::NodeConfig config = ValidNode();
    config.clear_tls();
    EXPECT_THAT(NodeError(config), StartsWith("tls.cert_file: "));
  }
}

TEST(NodeConfigTest, IdentityKeyFileAndStoragePathRequired) {
  {
    kagi::v1::NodeConfig config = ValidNode();
    config.clear_identity_key_file();
    EXPECT_THAT(NodeError(config), StartsWith("identity_key_file: "));
  }
  {
    kagi::v1::NodeConfig config = ValidNode();
    config.clear_storage_path();
    EXPECT_THAT(NodeError(config), StartsWith("storage_path: "));
  }
}

TEST(NodeConfigTest, AtLeastOnePeer) {
  kagi::v1::NodeConfig config = ValidNode();
  config.clear_peers();
  EXPECT_THAT(NodeError(config), StartsWith("peers: at least one peer"));
}

TEST(NodeConfigTest, AtMostSixteenParties) {
  kagi::v1::NodeConfig config = ValidNode();
  for (int i = config.peers_size(); i < 15; ++i) {
    AddPeer(config, i);
  }
  ASSERT_EQ(config.peers_size(), 15);
  EXPECT_TRUE(ValidateNodeConfig(config).ok());
  AddPeer(config, 15);
  const std::string error = NodeError(config);
  EXPECT_THAT(error, StartsWith("peers: "));
  EXPECT_THAT(error, HasSubstr("17 parties"));
}

TEST(NodeConfigTest, PeerNameRule) {
  kagi::v1::NodeConfig config = ValidNode();
  config.mutable_peers(1)->set_name("Node-3");
  EXPECT_THAT(NodeError(config), StartsWith("peers[1].name: "));
  config.mutable_peers(1)->clear_name();
  EXPECT_THAT(NodeError(config), StartsWith("peers[1].name: "));
}

TEST(NodeConfigTest, PeerNameMustDifferFromOwnName) {
  kagi::v1::NodeConfig config = ValidNode();
  config.mutable_peers(1)->set_name("node-1");
  const std::string error = NodeError(config);
  EXPECT_THAT(error, StartsWith("peers[1].name: "));
  EXPECT_THAT(error, HasSubstr("own name"));
}

TEST(NodeConfigTest, DuplicatePeerName) {
  kagi::v1::NodeConfig config = ValidNode();
  config.mutable_peers(1)->set_name("node-2");
  const std::string error = NodeError(config);
  EXPECT_THAT(error, StartsWith("peers[1].name: "));
  EXPECT_THAT(error, HasSubstr("duplicates peers[0].name"));
}

TEST(NodeConfigTest, PeerAddressRule) {
  kagi::v1::NodeConfig config = ValidNode();
  config.mutable_peers(1)->set_address("10.0.0.3");
  EXPECT_THAT(NodeError(config), StartsWith("peers[1].address: "));
  config.mutable_peers(1)->set_address("10.0.0.3:70001");
  EXPECT_THAT(NodeError(config), StartsWith("peers[1].address: "));
}

TEST(NodeConfigTest, DuplicatePeerAddress) {
  kagi::v1::NodeConfig config = ValidNode();
  // Host names compare case-insensitively.
  config.mutable_peers(1)->set_address("NODE-2.internal:7001");
  const std::string error = NodeError(config);
  EXPECT_THAT(error, StartsWith("peers[1].address: "));
  EXPECT_THAT(error, HasSubstr("duplicates peers[0].address"));
}

TEST(NodeConfigTest, PeerAddressMustDifferFromListenAddress) {
  kagi::v1::NodeConfig config = ValidNode();
  config.mutable_peers(0)->set_address("0.0.0.0:7001");
  EXPECT_THAT(NodeError(config), StartsWith("peers[0].address: "));
}

TEST(NodeConfigTest, PeerIdentityKeyRule) {
  for (const std::string& bad :
       {std::string(), std::string(62, 'a'), std::string(66, 'a'),
        std::string(63, 'a') + "g", std::string(32, 'a')}) {
    kagi::v1::NodeConfig config = ValidNode();
    config.mutable_peers(1)->set_identity_public_key(bad);
    EXPECT_THAT(NodeError(config), StartsWith("peers[1].identity_public_key: "))
        << bad;
  }
  kagi::v1::NodeConfig config = ValidNode();
  config.mutable_peers(1)->set_identity_public_key(std::string(64, 'F'));
  EXPECT_TRUE(ValidateNodeConfig(config).ok());
}

TEST(NodeConfigTest, DuplicatePeerIdentityKey) {
  kagi::v1::NodeConfig config = ValidNode();
  AddPeer(config, 5);
  // Same key as peers[1], in upper case: the decoded bytes are compared.
  std::string upper = kKey3;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  config.mutable_peers(2)->set_identity_public_key(upper);
  const std::string error = NodeError(config);
  EXPECT_THAT(error, StartsWith("peers[2].identity_public_key: "));
  EXPECT_THAT(error, HasSubstr("duplicates peers[1].identity_public_key"));
}

TEST(NodeConfigTest, AtLeastOneGateway) {
  kagi::v1::NodeConfig config = ValidNode();
  config.clear_gateways();
  EXPECT_THAT(NodeError(config), StartsWith("gateways: "));
}

TEST(NodeConfigTest, GatewayNameRule) {
  kagi::v1::NodeConfig config = ValidNode();
  config.add_gateways("Gateway_2");
  EXPECT_THAT(NodeError(config), StartsWith("gateways[1]: "));
}

TEST(NodeConfigTest, DuplicateGateway) {
  kagi::v1::NodeConfig config = ValidNode();
  config.add_gateways("gateway-2");
  config.add_gateways("gateway-1");
  const std::string error = NodeError(config);
  EXPECT_THAT(error, StartsWith("gateways[2]: "));
  EXPECT_THAT(error, HasSubstr("duplicates gateways[0]"));
}

TEST(NodeConfigTest, GatewayNamedLikeAPeerRefused) {
  kagi::v1::NodeConfig config = ValidNode();
  config.add_gateways("node-3");
  const std::string error = NodeError(config);
  EXPECT_THAT(error, StartsWith("gateways[1]: "));
  EXPECT_THAT(error, HasSubstr("peers[1]"));
}

TEST(NodeConfigTest, GatewayNamedLikeThisNodeRefused) {
  kagi::v1::NodeConfig config = ValidNode();
  config.set_gateways(0, "node-1");
  EXPECT_THAT(NodeError(config), StartsWith("gateways[0]: "));
}

TEST(NodeConfigTest, NeitherSealKeyRefused) {
  kagi::v1::NodeConfig config = ValidNode();
  config.clear_seal_key();
  EXPECT_THAT(NodeError(config), StartsWith("seal_key: set exactly one"));
}

TEST(NodeConfigTest, BothSealKeysRefused) {
  const std::string text =
      absl::StrCat(ValidNodeText(), "seal_key_file: \"/etc/kagi/seal.key\"\n");
  const absl::StatusOr<kagi::v1::NodeConfig> config =
      ParseNodeConfig(text, "node.conf");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith("node.conf:23:14: "));
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("seal_key_file"));
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("seal_key_env"));
}

TEST(NodeConfigTest, EmptySealKeyFileRefused) {
  kagi::v1::NodeConfig config = ValidNode();
  config.set_seal_key_file("");
  EXPECT_THAT(NodeError(config), StartsWith("seal_key_file: "));
  config.set_seal_key_file("/etc/kagi/seal.key");
  EXPECT_TRUE(ValidateNodeConfig(config).ok());
}

TEST(NodeConfigTest, SealKeyEnvNameRule) {
  for (const char* bad :
       {"", "kagi_kek", "1KEK", "KAGI-KEK", "KAGI KEK", "KAGI_KEK=1", "KÄK"}) {
    kagi::v1::NodeConfig config = ValidNode();
    config.set_seal_key_env(bad);
    EXPECT_THAT(NodeError(config), StartsWith("seal_key_env: ")) << bad;
  }
  for (const char* good : {"A", "_", "_KAGI_KEK_2", "K9"}) {
    kagi::v1::NodeConfig config = ValidNode();
    config.set_seal_key_env(good);
    EXPECT_TRUE(ValidateNodeConfig(config).ok()) << good;
  }
}

struct LimitCase {
  const char* field;
  std::function<void(kagi::v1::LimitsConfig&, uint32_t)> set;
  std::function<uint32_t(const kagi::v1::LimitsConfig&)> get;
  uint32_t lo;
  uint32_t hi;
};

TEST(NodeConfigTest, LimitsOutOfRangeRefused) {
  const std::vector<LimitCase> cases = {
      {"limits.max_message_bytes",
       [](kagi::v1::LimitsConfig& l, uint32_t v) {
         l.set_max_message_bytes(v);
       },
       [](const kagi::v1::LimitsConfig& l) { return l.max_message_bytes(); },
       65536, 67108864},
      {"limits.round_timeout_ms",
       [](kagi::v1::LimitsConfig& l, uint32_t v) { l.set_round_timeout_ms(v); },
       [](const kagi::v1::LimitsConfig& l) { return l.round_timeout_ms(); },
       100, 600000},
      {"limits.max_sessions",
       [](kagi::v1::LimitsConfig& l, uint32_t v) { l.set_max_sessions(v); },
       [](const kagi::v1::LimitsConfig& l) { return l.max_sessions(); }, 1,
       100000},
      {"limits.max_sign_items",
       [](kagi::v1::LimitsConfig& l, uint32_t v) { l.set_max_sign_items(v); },
       [](const kagi::v1::LimitsConfig& l) { return l.max_sign_items(); }, 1,
       64},
  };
  for (const LimitCase& c : cases) {
    std::vector<uint32_t> bad = {c.hi + 1, UINT32_MAX};
    if (c.lo > 1) {
      bad.push_back(c.lo - 1);
    }
    for (const uint32_t value : bad) {
      kagi::v1::NodeConfig config = ValidNode();
      c.set(*config.mutable_limits(), value);
      const std::string error = NodeError(config);
      EXPECT_THAT(error, StartsWith(absl::StrCat(c.field, ": ", value)))
          << value;
      EXPECT_THAT(error, HasSubstr("out of range"));
    }
    for (const uint32_t value : {c.lo, c.hi}) {
      kagi::v1::NodeConfig config = ValidNode();
      c.set(*config.mutable_limits(), value);
      ASSERT_TRUE(ValidateNodeConfig(config).ok()) << c.field << value;
      EXPECT_EQ(c.get(config.limits()), value) << c.field;
    }
  }
}

TEST(IdentityKeyTest, ParsesHex) {
  const std::string hex =
      "000102030405060708090a0b0c0d0e0f"
      "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF";
  absl::StatusOr<std::array<uint8_t, 32>> key = ParseIdentityPublicKey(hex);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)[0], 0x00);
  EXPECT_EQ((*key)[15], 0x0f);
  EXPECT_EQ((*key)[16], 0xf0);
  EXPECT_EQ((*key)[31], 0xff);
}

TEST(IdentityKeyTest, RefusesWrongLengthAndNonHex) {
  EXPECT_THAT(ParseIdentityPublicKey(std::string(62, '0')).status().message(),
              HasSubstr("expected 64 hex characters"));
  EXPECT_THAT(ParseIdentityPublicKey(std::string(65, '0')).status().message(),
              HasSubstr("got 65"));
  EXPECT_EQ(ParseIdentityPublicKey(std::string(63, '0') + "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIdentityPublicKey("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- files -------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    const char* base =
        std::getenv("TEST_TMPDIR");  // NOLINT(concurrency-mt-unsafe)
    std::string pattern =
        absl::StrCat(base != nullptr ? base : "/tmp", "/kagi-config-XXXXXX");
    KAGI_CHECK(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;
  TempDir& operator=(TempDir&&) = delete;

  const std::string& Path() const { return path_; }

  std::string Write(const std::string& name, const std::string& content) const {
    std::string file = absl::StrCat(path_, "/", name);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
    KAGI_CHECK(out.good());
    return file;
  }

 private:
  std::string path_;
};

kagi::v1::NodeConfig NodeWithFilesIn(const TempDir& dir) {
  kagi::v1::NodeConfig config = ValidNode();
  config.mutable_tls()->set_cert_file(dir.Write("node.crt", "cert"));
  config.mutable_tls()->set_key_file(dir.Write("node.key", "key"));
  config.mutable_tls()->set_ca_file(dir.Write("ca.crt", "ca"));
  config.set_identity_key_file(dir.Write("identity.pem", "identity"));
  config.set_seal_key_file(dir.Write("seal.key", std::string(64, 'a')));
  config.set_storage_path(absl::StrCat(dir.Path(), "/node.db"));
  KAGI_CHECK(ValidateNodeConfig(config).ok());
  return config;
}

TEST(NodeConfigFilesTest, AllFilesPresent) {
  const TempDir dir;
  kagi::v1::NodeConfig config = NodeWithFilesIn(dir);
  EXPECT_TRUE(CheckNodeConfigFiles(config).ok());
  // An existing database file is fine too.
  dir.Write("node.db", "");
  EXPECT_TRUE(CheckNodeConfigFiles(config).ok());
  // With the KEK in the environment, no seal key file is checked.
  config.set_seal_key_env("KAGI_KEK");
  std::filesystem::remove(absl::StrCat(dir.Path(), "/seal.key"));
  EXPECT_TRUE(CheckNodeConfigFiles(config).ok());
}

TEST(NodeConfigFilesTest, MissingFileNamesFieldAndPath) {
  const TempDir dir;
  const kagi::v1::NodeConfig config = NodeWithFilesIn(dir);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"tls.cert_file", config.tls().cert_file()},
      {"tls.key_file", config.tls().key_file()},
      {"tls.ca_file", config.tls().ca_file()},
      {"identity_key_file", config.identity_key_file()},
      {"seal_key_file", config.seal_key_file()},
  };
  for (const auto& [field, path] : files) {
    const std::string saved = path + ".saved";
    std::filesystem::rename(path, saved);
    const absl::Status status = CheckNodeConfigFiles(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << field;
    EXPECT_THAT(std::string(status.message()), StartsWith(field + ": "))
        << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(path));
    std::filesystem::rename(saved, path);
  }
  EXPECT_TRUE(CheckNodeConfigFiles(config).ok());
}

TEST(NodeConfigFilesTest, DirectoryInsteadOfFileRefused) {
  const TempDir dir;
  kagi::v1::NodeConfig config = NodeWithFilesIn(dir);
  config.mutable_tls()->set_ca_file(dir.Path());
  const absl::Status status = CheckNodeConfigFiles(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), StartsWith("tls.ca_file: "));
}

TEST(NodeConfigFilesTest, UnreadableFileRefused) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root reads any file";
  }
  const TempDir dir;
  const kagi::v1::NodeConfig config = NodeWithFilesIn(dir);
  ASSERT_EQ(::chmod(config.tls().key_file().c_str(), 0), 0);
  const absl::Status status = CheckNodeConfigFiles(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(status.message()), StartsWith("tls.key_file: "));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(config.tls().key_file()));
}

TEST(NodeConfigFilesTest, StorageDirectoryMustExist) {
  const TempDir dir;
  kagi::v1::NodeConfig config = NodeWithFilesIn(dir);
  const std::string missing_dir = absl::StrCat(dir.Path(), "/no-such-dir");
  config.set_storage_path(missing_dir + "/node.db");
  absl::Status status = CheckNodeConfigFiles(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), StartsWith("storage_path: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr(missing_dir));

  // The storage path itself must not be a directory.
  config.set_storage_path(dir.Path());
  status = CheckNodeConfigFiles(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), StartsWith("storage_path: "));
}

TEST(LoadConfigTest, LoadsNodeAndGatewayFiles) {
  const TempDir dir;
  const std::string node_path = dir.Write("node.conf", ValidNodeText());
  absl::StatusOr<kagi::v1::NodeConfig> node = LoadNodeConfig(node_path);
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*node, ValidNode()));

  const std::string gateway_path = dir.Write("gateway.conf", kValidGatewayText);
  absl::StatusOr<kagi::v1::GatewayConfig> gateway =
      LoadGatewayConfig(gateway_path);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*gateway, ValidGateway()));
}

TEST(LoadConfigTest, MissingFileNamesPath) {
  const TempDir dir;
  const std::string path = absl::StrCat(dir.Path(), "/absent.conf");
  const absl::StatusOr<kagi::v1::NodeConfig> node = LoadNodeConfig(path);
  EXPECT_EQ(node.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(node.status().message()), HasSubstr(path));
  const absl::StatusOr<kagi::v1::GatewayConfig> gateway =
      LoadGatewayConfig(path);
  EXPECT_EQ(gateway.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(gateway.status().message()), HasSubstr(path));
}

TEST(LoadConfigTest, SizeLimitIsOneMebibyte) {
  const TempDir dir;
  std::string text = ValidNodeText() + "#";
  text += std::string(kMaxConfigBytes - text.size() - 1, 'x');
  text += "\n";
  ASSERT_EQ(text.size(), kMaxConfigBytes);
  EXPECT_TRUE(LoadNodeConfig(dir.Write("max.conf", text)).ok());

  text.insert(text.size() - 1, "x");
  const std::string path = dir.Write("big.conf", text);
  const absl::StatusOr<kagi::v1::NodeConfig> node = LoadNodeConfig(path);
  EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(node.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(node.status().message()),
              HasSubstr("larger than 1048576"));
}

TEST(LoadConfigTest, DirectoryRefused) {
  const TempDir dir;
  const absl::StatusOr<kagi::v1::NodeConfig> node = LoadNodeConfig(dir.Path());
  EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(node.status().message()),
              HasSubstr("not a regular file"));
}

TEST(LoadConfigTest, ErrorsInFileArePrefixedWithPath) {
  const TempDir dir;
  const std::string syntax =
      dir.Write("syntax.conf", "name: \"node-1\"\n\n  peers { name: }\n");
  absl::StatusOr<kagi::v1::NodeConfig> node = LoadNodeConfig(syntax);
  EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(node.status().message()),
              StartsWith(syntax + ":3:17: "));

  kagi::v1::NodeConfig config = ValidNode();
  config.mutable_peers(0)->set_address("node-2");
  const std::string invalid = dir.Write("invalid.conf", RenderConfig(config));
  node = LoadNodeConfig(invalid);
  EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(node.status().message()),
              StartsWith(invalid + ": peers[0].address: "));
}

// --- gateway -----------------------------------------------------------------

TEST(GatewayConfigTest, ValidConfigParsesAndFillsDefaults) {
  absl::StatusOr<kagi::v1::GatewayConfig> config =
      ParseGatewayConfig(kValidGatewayText, "gateway.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "gateway-1");
  EXPECT_EQ(config->listen_address(), "[::]:8443");
  EXPECT_EQ(config->tls().ca_file(), "/etc/kagi/ca.crt");
  ASSERT_EQ(config->nodes_size(), 3);
  EXPECT_EQ(config->nodes(2).name(), "node-3");
  EXPECT_EQ(config->nodes(2).address(), "10.0.0.3:7001");
  ASSERT_EQ(config->clients_size(), 1);
  EXPECT_EQ(config->clients(0), "wallet-app");
  EXPECT_EQ(config->request_timeout_ms(), 30000u);
}

TEST(GatewayConfigTest, RenderParseRoundTripAndEmptyClients) {
  kagi::v1::GatewayConfig config = ValidGateway();
  config.clear_clients();
  config.set_request_timeout_ms(1000);
  ASSERT_TRUE(ValidateGatewayConfig(config).ok());
  const std::string text = RenderConfig(config);
  EXPECT_THAT(text, StartsWith("# Kagi configuration (protobuf text format, "
                               "kagi.v1.GatewayConfig)\n"));
  absl::StatusOr<kagi::v1::GatewayConfig> parsed =
      ParseGatewayConfig(text, "rendered");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(MessageDifferencer::Equals(config, *parsed));
}

TEST(GatewayConfigTest, UnknownFieldRefused) {
  const absl::StatusOr<kagi::v1::GatewayConfig> config = ParseGatewayConfig(
      absl::StrCat(kValidGatewayText, "peers { name: \"x\" }\n"),
      "gateway.conf");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith("gateway.conf:13:7: "));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("peers"));
}

TEST(GatewayConfigTest, NameAddressAndTlsRules) {
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.set_name("Gateway");
    EXPECT_THAT(GatewayError(config), StartsWith("name: "));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.set_listen_address("[::]");
    EXPECT_THAT(GatewayError(config), StartsWith("listen_address: "));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.mutable_tls()->clear_key_file();
    EXPECT_THAT(GatewayError(config), StartsWith("tls.key_file: "));
  }
}

TEST(GatewayConfigTest, NodeCountBetweenTwoAndSixteen) {
  kagi::v1::GatewayConfig config = ValidGateway();
  config.mutable_nodes()->DeleteSubrange(1, 2);
  EXPECT_THAT(GatewayError(config), StartsWith("nodes: 1 nodes"));
  config.clear_nodes();
  EXPECT_THAT(GatewayError(config), StartsWith("nodes: 0 nodes"));
  for (int i = 0; i < 16; ++i) {
    kagi::v1::GatewayNodeConfig* node = config.add_nodes();
    node->set_name(absl::StrCat("node-", i));
    node->set_address(absl::StrCat("node-", i, ":7001"));
  }
  EXPECT_TRUE(ValidateGatewayConfig(config).ok());
  config.add_nodes()->CopyFrom(config.nodes(0));
  config.mutable_nodes(16)->set_name("node-16");
  config.mutable_nodes(16)->set_address("node-16:7001");
  EXPECT_THAT(GatewayError(config), StartsWith("nodes: 17 nodes"));
}

TEST(GatewayConfigTest, NodeNameAndAddressRules) {
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.mutable_nodes(2)->set_name("node 3");
    EXPECT_THAT(GatewayError(config), StartsWith("nodes[2].name: "));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.mutable_nodes(2)->set_name("node-1");
    const std::string error = GatewayError(config);
    EXPECT_THAT(error, StartsWith("nodes[2].name: "));
    EXPECT_THAT(error, HasSubstr("duplicates nodes[0].name"));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.mutable_nodes(1)->set_name("gateway-1");
    EXPECT_THAT(GatewayError(config), StartsWith("nodes[1].name: "));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.mutable_nodes(1)->set_address("node-2.internal:0");
    EXPECT_THAT(GatewayError(config), StartsWith("nodes[1].address: "));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.mutable_nodes(2)->set_address("node-1.internal:7001");
    const std::string error = GatewayError(config);
    EXPECT_THAT(error, StartsWith("nodes[2].address: "));
    EXPECT_THAT(error, HasSubstr("duplicates nodes[0].address"));
  }
}

TEST(GatewayConfigTest, ClientRules) {
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.add_clients("");
    EXPECT_THAT(GatewayError(config), StartsWith("clients[1]: "));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.add_clients("wallet-app");
    const std::string error = GatewayError(config);
    EXPECT_THAT(error, StartsWith("clients[1]: "));
    EXPECT_THAT(error, HasSubstr("duplicates clients[0]"));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.add_clients("node-2");
    EXPECT_THAT(GatewayError(config), StartsWith("clients[1]: "));
  }
  {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.set_clients(0, "gateway-1");
    EXPECT_THAT(GatewayError(config), StartsWith("clients[0]: "));
  }
}

TEST(GatewayConfigTest, RequestTimeoutRange) {
  for (const uint32_t bad : {999u, 600001u, UINT32_MAX}) {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.set_request_timeout_ms(bad);
    EXPECT_THAT(GatewayError(config),
                StartsWith(absl::StrCat("request_timeout_ms: ", bad)));
  }
  for (const uint32_t good : {1000u, 600000u}) {
    kagi::v1::GatewayConfig config = ValidGateway();
    config.set_request_timeout_ms(good);
    ASSERT_TRUE(ValidateGatewayConfig(config).ok()) << good;
    EXPECT_EQ(config.request_timeout_ms(), good);
  }
}

// --- robustness --------------------------------------------------------------

// Random byte flips, insertions, deletions and truncations of a valid
// configuration must never crash the parser or validator; the result is
// either a valid configuration (that round-trips through RenderConfig) or
// InvalidArgument.
TEST(NodeConfigRobustnessTest, RandomMutationsNeverCrash) {
  static constexpr char kSyntax[] = "{}:\"\\#\n 0aZ-\x80\xff";
  const std::string valid = ValidNodeText();
  // A fixed seed keeps failures reproducible.
  std::mt19937_64 rng(0x6b616769);  // NOLINT(cert-msc51-cpp)
  auto uniform = [&rng](size_t n) {
    return static_cast<size_t>(
        std::uniform_int_distribution<uint64_t>(0, n - 1)(rng));
  };
  int accepted = 0;
  int refused = 0;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::string text = valid;
    const int mutations = 1 + static_cast<int>(uniform(4));
    for (int m = 0; m < mutations && !text.empty(); ++m) {
      switch (uniform(5)) {
        case 0: {  // flip bits of one byte
          char& c = text[uniform(text.size())];
          c = static_cast<char>(static_cast<unsigned char>(c) ^
                                static_cast<unsigned char>(1 + uniform(255)));
          break;
        }
        case 1:  // replace one byte with a syntax-relevant character
          text[uniform(text.size())] = kSyntax[uniform(sizeof(kSyntax) - 1)];
          break;
        case 2:  // insert a random byte
          text.insert(uniform(text.size() + 1), 1,
                      static_cast<char>(uniform(256)));
          break;
        case 3: {  // delete a range
          const size_t at = uniform(text.size());
          text.erase(at, 1 + uniform(16));
          break;
        }
        default:  // truncate
          text.resize(uniform(text.size()));
          break;
      }
    }
    const absl::StatusOr<kagi::v1::NodeConfig> config =
        ParseNodeConfig(text, "fuzz");
    if (config.ok()) {
      ++accepted;
      const absl::StatusOr<kagi::v1::NodeConfig> again =
          ParseNodeConfig(RenderConfig(*config), "rendered");
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_TRUE(MessageDifferencer::Equals(*config, *again));
    } else {
      ++refused;
      ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument)
          << config.status();
      ASSERT_THAT(std::string(config.status().message()), StartsWith("fuzz:"));
    }
  }
  // Both outcomes occur: the mutations exercise the parser and the rules.
  EXPECT_GT(accepted, 0) << refused << " refused";
  EXPECT_GT(refused, 1000) << accepted << " accepted";
}

}  // namespace
}  // namespace kagi::transport
