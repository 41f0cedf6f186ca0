// File: services/node/shares.h
//
// ShareVault: everything a node does with its secret key shares, in one
// place. A share is sealed under the key-encryption key (AAD = share record,
// key id, epoch) before it reaches the store; a new share is stored PENDING
// as soon as the protocol yields it and before this node's ack leaves
// (PendingHook), made ACTIVE with the session's activation certificate
// (Conclude) or a delivered one (activation.cc), and the old epoch RETIRED
// in the same transaction. ACTIVE shares are cached, opened, behind shared
// immutable pointers.
#ifndef KAGI_SERVICES_NODE_SHARES_H_
#define KAGI_SERVICES_NODE_SHARES_H_

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/protocol/activation.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/keyshare.h"
#include "libs/storage/store.h"
#include "services/node/session_manager.h"

namespace kagi::node {

// Shares are move-only (they own secrets); the cache hands out shared,
// immutable ones.
using SharePtr = std::shared_ptr<const protocol::KeyShare>;

// How a DKG or reshare session ended, for ShareVault::Conclude.
struct SessionEnd {
  absl::Status status;
  const protocol::KeyShare* pending = nullptr;  // null: none made here
  const protocol::ActivationCertificate* certificate = nullptr;
  const std::map<uint32_t, protocol::Envelope>* received_acks = nullptr;
};

class ShareVault {
 public:
  // `node` names this node in errors; `store` must outlive the vault.
  ShareVault(std::string node, storage::Store* store, SecretBytes kek);

  // Open unseals and decodes a stored share (DataLoss naming the key).
  absl::StatusOr<protocol::KeyShare> Open(const std::array<uint8_t, 32>& key_id,
                                          uint64_t epoch,
                                          ByteSpan sealed) const;
  // Load returns the ACTIVE share of `key_id` (cached after opening);
  // NotFound naming the key and this node.
  absl::StatusOr<SharePtr> Load(const std::array<uint8_t, 32>& key_id);
  // Seal stores `share` sealed, in `state`.
  absl::Status Seal(const protocol::KeyShare& share, storage::ShareState state);
  // PendingHook: session hooks that store the party's new share PENDING as
  // soon as `pending` yields it, before the ack that says it is stored.
  SessionHooks PendingHook(std::function<const protocol::KeyShare*()> pending);
  // Conclude activates the session's pending share with the certificate the
  // session assembled and returns the encoded certificate; after an abort it
  // keeps the share PENDING with the acks received as evidence and returns
  // the session's error. Without a pending share: the session's status.
  absl::StatusOr<Bytes> Conclude(const SessionEnd& end);
  // CheckNoPendingSession refuses a refresh/reshare of `key_id` from
  // `epoch` unless the store holds it ACTIVE at `epoch` and no PENDING
  // share of epoch + 1 from an earlier session: a node acknowledges at most
  // one session per epoch, so two sessions of one epoch can never both be
  // certified.
  absl::Status CheckNoPendingSession(const std::array<uint8_t, 32>& key_id,
                                     uint64_t epoch);
  // Retire erases every share of `key_id` up to `epoch` and forgets it.
  absl::Status Retire(const std::array<uint8_t, 32>& key_id, uint64_t epoch);
  // Cache keeps `share` as its key's ACTIVE share; Forget drops the key.
  void Cache(SharePtr share);
  void Forget(const std::array<uint8_t, 32>& key_id);
  // CheckKek: see NodeCore::CheckKek (kek_check.cc).
  absl::Status CheckKek();

 private:
  static constexpr uint32_t kShareRecordVersion = 1;

  const std::string node_;
  storage::Store* const store_;
  const SecretBytes kek_;
  OsRng rng_;
  absl::Mutex cache_mu_;
  std::map<std::array<uint8_t, 32>, SharePtr> cache_ ABSL_GUARDED_BY(cache_mu_);
};

// The acks a node received in an aborted session, kept with its PENDING
// share as evidence: u32 count, then each envelope length-prefixed.
Bytes EncodeEvidence(const std::map<uint32_t, protocol::Envelope>& acks);
absl::StatusOr<std::vector<protocol::Envelope>> DecodeEvidence(ByteSpan in);

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_SHARES_H_
