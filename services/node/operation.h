// File: services/node/operation.h
//
// The node's operation pipeline. Every Start* request (key creation, signing,
// refresh/reshare) goes through the same steps, in NodeCore::Perform:
//
//   setup     what the request says: fields checked, the session setup (or,
//             for signing, the request digest and the approvals over it:
//             a request changed after approval is refused as such first)
//   expiry    the request's expiry against the node's Clock
//   admission party nodes (unknown and banned parties refused), the
//             policy (admission.h), request-id claims, pending shares
//   begin     the durable step: the request id, sid0 and admission recorded
//             (Store::BeginRequest); from here on the request's outcome is
//             on its record
//   run       the protocol session (SessionManager::Run)
//   activate  what the session's end makes durable: the new share ACTIVE
//             (shares.h), a departing dealer's share retired; for signing,
//             the signed result
//   finish    the outcome and its audit record in one transaction (a
//             class-C abort's culprits banned)
//   audit     a refusal before `begin` is put on the audit record by the
//             pipeline (and spends one of the client's refusal tokens)
//
// Each operation implements the steps that differ (node_dkg.cc,
// node_sign.cc, node_reshare.cc); the order and the refusal audit are the
// pipeline's.
#ifndef KAGI_SERVICES_NODE_OPERATION_H_
#define KAGI_SERVICES_NODE_OPERATION_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/evp.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"

namespace kagi::node {

class Operation {
 public:
  virtual ~Operation() = default;

  // What the refusal record names: "dkg", "sign" or "reshare", the request
  // id, and the client that asked.
  virtual absl::string_view name() const = 0;
  virtual const std::string& request_id() const = 0;
  virtual const std::string& client() const = 0;

  virtual absl::Status Setup() = 0;
  virtual uint64_t expiry_unix_seconds() const = 0;
  virtual absl::Status Admit() = 0;
  virtual absl::Status Begin() = 0;
  virtual absl::Status Run() = 0;
  // Activate: the outcome, from the session's status `run`.
  virtual absl::Status Activate(const absl::Status& run) = 0;
  // Finish: records `outcome`; returns it (or the storage error).
  virtual absl::Status Finish(const absl::Status& outcome) = 0;
  // Release: a refused operation lets go of what it holds (the key's
  // lifecycle claim) before its refusal is audited, so that the audit
  // write does not hold up the key's other requests.
  virtual void Release() {}
};

// SessionSigner signs envelopes with the node's identity key as one party id
// of one session (a node's party id differs from key to key).
class SessionSigner final : public protocol::EnvelopeSigner {
 public:
  SessionSigner(uint32_t party, const crypto::Ed25519PrivateKey& key)
      : party_(party), key_(key) {}
  uint32_t party() const override { return party_; }
  std::array<uint8_t, 64> Sign(
      const std::array<uint8_t, 32>& digest) const override {
    return key_.Sign(digest);
  }

 private:
  uint32_t party_;
  const crypto::Ed25519PrivateKey& key_;
};

// KeyIdField: a request's key_id (InvalidArgument unless 32 bytes).
absl::StatusOr<std::array<uint8_t, 32>> KeyIdField(const std::string& bytes);

// SelfId: the party id of `self_key` in `setup` (0 if none).
uint32_t SelfId(const protocol::SessionSetup& setup,
                const std::array<uint8_t, 32>& self_key);

// Str: bytes as a protobuf bytes field.
std::string Str(ByteSpan b);

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_OPERATION_H_
