// File: libs/chain/script.cc
//
// scriptPubKey classification and addresses; see script.h.
#include "libs/chain/script.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/check.h"
#include "libs/crypto/base58.h"

namespace kagi::chain {
namespace {

constexpr uint8_t kOp0 = 0x00;
constexpr uint8_t kOp1 = 0x51;
constexpr uint8_t kOpDup = 0x76;
constexpr uint8_t kOpHash160 = 0xa9;
constexpr uint8_t kOpEqual = 0x87;
constexpr uint8_t kOpEqualVerify = 0x88;
constexpr uint8_t kOpCheckSig = 0xac;

Bytes Build(std::initializer_list<uint8_t> head, ByteSpan payload,
            std::initializer_list<uint8_t> tail) {
  Bytes out;
  out.reserve(head.size() + payload.size() + tail.size());
  for (uint8_t b : head) out.push_back(b);
  for (uint8_t b : payload) out.push_back(b);
  for (uint8_t b : tail) out.push_back(b);
  return out;
}

std::string Base58Address(uint8_t version, ByteSpan hash) {
  Bytes payload;
  payload.reserve(1 + hash.size());
  payload.push_back(version);
  for (uint8_t b : hash) payload.push_back(b);
  return crypto::Base58CheckEncode(payload);
}

}  // namespace

absl::string_view ScriptTypeName(ScriptType type) {
  switch (type) {
    case ScriptType::kP2wpkh:
      return "p2wpkh";
    case ScriptType::kP2pkh:
      return "p2pkh";
    case ScriptType::kP2sh:
      return "p2sh";
    case ScriptType::kP2wsh:
      return "p2wsh";
    case ScriptType::kP2tr:
      return "p2tr";
    case ScriptType::kOther:
      break;
  }
  return "other";
}

ClassifiedScript ClassifyScript(ByteSpan s) {
  ClassifiedScript c;
  if (s.size() == 25 && s[0] == kOpDup && s[1] == kOpHash160 && s[2] == 20 &&
      s[23] == kOpEqualVerify && s[24] == kOpCheckSig) {
    c.type = ScriptType::kP2pkh;
    c.payload = ToBytes(s.subspan(3, 20));
  } else if (s.size() == 23 && s[0] == kOpHash160 && s[1] == 20 &&
             s[22] == kOpEqual) {
    c.type = ScriptType::kP2sh;
    c.payload = ToBytes(s.subspan(2, 20));
  } else if (s.size() == 22 && s[0] == kOp0 && s[1] == 20) {
    c.type = ScriptType::kP2wpkh;
    c.payload = ToBytes(s.subspan(2));
  } else if (s.size() == 34 && s[0] == kOp0 && s[1] == 32) {
    c.type = ScriptType::kP2wsh;
    c.payload = ToBytes(s.subspan(2));
  } else if (s.size() == 34 && s[0] == kOp1 && s[1] == 32) {
    c.type = ScriptType::kP2tr;
    c.payload = ToBytes(s.subspan(2));
  }
  return c;
}

absl::StatusOr<std::string> ScriptAddress(ByteSpan script_pubkey,
                                          Network network) {
  const ClassifiedScript c = ClassifyScript(script_pubkey);
  const bool main = network == Network::kMainnet;
  switch (c.type) {
    case ScriptType::kP2pkh:
      return Base58Address(main ? 0x00 : 0x6f, c.payload);
    case ScriptType::kP2sh:
      return Base58Address(main ? 0x05 : 0xc4, c.payload);
    case ScriptType::kP2wpkh:
    case ScriptType::kP2wsh:
      return EncodeSegwitAddress(network, 0, c.payload);
    case ScriptType::kP2tr:
      return EncodeSegwitAddress(network, 1, c.payload);
    case ScriptType::kOther:
      break;
  }
  return absl::InvalidArgumentError(
      "script: no address for a non-standard scriptPubKey");
}

Bytes P2pkhScript(ByteSpan hash160) {
  KAGI_CHECK(hash160.size() == 20);
  return Build({kOpDup, kOpHash160, 20}, hash160,
               {kOpEqualVerify, kOpCheckSig});
}
Bytes P2shScript(ByteSpan hash160) {
  KAGI_CHECK(hash160.size() == 20);
  return Build({kOpHash160, 20}, hash160, {kOpEqual});
}
Bytes P2wpkhScript(ByteSpan hash160) {
  KAGI_CHECK(hash160.size() == 20);
  return Build({kOp0, 20}, hash160, {});
}
Bytes P2wshScript(ByteSpan sha256) {
  KAGI_CHECK(sha256.size() == 32);
  return Build({kOp0, 32}, sha256, {});
}
Bytes P2trScript(ByteSpan output_key) {
  KAGI_CHECK(output_key.size() == 32);
  return Build({kOp1, 32}, output_key, {});
}

}  // namespace kagi::chain
