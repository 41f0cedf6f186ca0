#include "services/node/shares.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"
#include "libs/storage/sealed.h"

namespace kagi::node {
namespace {

using Key32 = std::array<uint8_t, 32>;

constexpr size_t kMaxEvidenceEnvelopes = 64;
constexpr size_t kMaxEvidenceEnvelopeBytes = 4096;

}  // namespace

Bytes EncodeEvidence(const std::map<uint32_t, protocol::Envelope>& acks) {
  ByteWriter w;
  w.PutU32(static_cast<uint32_t>(acks.size()));
  for (const auto& [from, env] : acks) {
    w.PutLengthPrefixed(protocol::EncodeEnvelope(env));
  }
  return std::move(w).Take();
}

absl::StatusOr<std::vector<protocol::Envelope>> DecodeEvidence(ByteSpan in) {
  std::vector<protocol::Envelope> out;
  if (in.empty()) return out;
  ByteReader r(in);
  KAGI_ASSIGN_OR_RETURN(uint32_t n, r.ReadU32("evidence count"));
  if (n > kMaxEvidenceEnvelopes) {
    return absl::DataLossError("evidence: too many envelopes");
  }
  for (uint32_t i = 0; i < n; ++i) {
    KAGI_ASSIGN_OR_RETURN(
        ByteSpan e,
        r.ReadLengthPrefixed(kMaxEvidenceEnvelopeBytes, "evidence"));
    KAGI_ASSIGN_OR_RETURN(
        protocol::Envelope env,
        protocol::DecodeEnvelope(e, kMaxEvidenceEnvelopeBytes));
    out.push_back(std::move(env));
  }
  KAGI_RETURN_IF_ERROR(r.ExpectEnd("evidence"));
  return out;
}

ShareVault::ShareVault(std::string node, storage::Store* store, SecretBytes kek)
    : node_(std::move(node)), store_(store), kek_(std::move(kek)) {}

absl::StatusOr<protocol::KeyShare> ShareVault::Open(const Key32& key_id,
                                                    uint64_t epoch,
                                                    ByteSpan sealed) const {
  const storage::RecordContext ctx{storage::kRecordShare, key_id, epoch,
                                   kShareRecordVersion};
  absl::StatusOr<SecretBytes> plain = storage::Open(kek_, ctx, sealed);
  if (!plain.ok()) {
    return absl::DataLossError(absl::StrCat(
        "stored share of key ", HexEncode(key_id), " epoch ", epoch, " on ",
        node_, " cannot be opened: ", plain.status().message()));
  }
  absl::StatusOr<protocol::KeyShare> share =
      protocol::KeyShare::Deserialize(plain->secret());
  if (!share.ok()) {
    return absl::DataLossError(
        absl::StrCat("stored share of key ", HexEncode(key_id), " on ", node_,
                     " is corrupt: ", share.status().message()));
  }
  if (share->key_id != key_id || share->epoch != epoch) {
    return absl::DataLossError(absl::StrCat("stored share of key ",
                                            HexEncode(key_id), " on ", node_,
                                            " describes another key or epoch"));
  }
  return share;
}

absl::StatusOr<SharePtr> ShareVault::Load(const Key32& key_id) {
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(key_id);
    if (it != cache_.end()) return it->second;
  }
  absl::StatusOr<storage::StoredShare> stored = store_->GetActiveShare(key_id);
  if (absl::IsNotFound(stored.status())) {
    return absl::NotFoundError(
        absl::StrCat("key_id: unknown key ", HexEncode(key_id), " on ", node_));
  }
  KAGI_RETURN_IF_ERROR(stored.status());
  KAGI_ASSIGN_OR_RETURN(protocol::KeyShare share,
                        Open(key_id, stored->epoch, stored->sealed));
  auto ptr = std::make_shared<const protocol::KeyShare>(std::move(share));
  Cache(ptr);
  return ptr;
}

absl::Status ShareVault::Seal(const protocol::KeyShare& share,
                              storage::ShareState state) {
  const SecretBytes plain = share.Serialize();
  const storage::RecordContext ctx{storage::kRecordShare, share.key_id,
                                   share.epoch, kShareRecordVersion};
  KAGI_ASSIGN_OR_RETURN(Bytes sealed,
                        storage::Seal(kek_, ctx, plain.secret(), rng_));
  return store_->PutShare(share.key_id, share.epoch, state, sealed,
                          share.sid_key);
}

SessionHooks ShareVault::PendingHook(
    std::function<const protocol::KeyShare*()> pending) {
  auto stored = std::make_shared<bool>(false);
  SessionHooks hooks;
  hooks.after_advance = [this, stored, pending]() -> absl::Status {
    const protocol::KeyShare* share = pending();
    if (*stored || share == nullptr) return absl::OkStatus();
    *stored = true;
    return Seal(*share, storage::ShareState::kPending);
  };
  return hooks;
}

absl::StatusOr<Bytes> ShareVault::Conclude(const SessionEnd& end) {
  if (end.pending == nullptr) return end.status;
  const protocol::KeyShare& pending = *end.pending;
  if (!end.status.ok() || end.certificate == nullptr) {
    // Aborted: the pending share stays, waiting for a certificate; keep the
    // acks this node saw as evidence against an equivocating member.
    if (end.received_acks != nullptr && !end.received_acks->empty()) {
      store_
          ->SetShareEvidence(pending.key_id, pending.epoch, pending.sid_key,
                             EncodeEvidence(*end.received_acks))
          .IgnoreError();
    }
    return end.status.ok() ? absl::InternalError(
                                 "session ended without a "
                                 "certificate")
                           : end.status;
  }
  Bytes certificate = end.certificate->Encode();
  KAGI_RETURN_IF_ERROR(store_->ActivateShare(pending.key_id, pending.epoch,
                                             pending.sid_key, certificate));
  return certificate;
}

absl::Status ShareVault::CheckNoPendingSession(const Key32& key_id,
                                               uint64_t epoch) {
  // What the store holds now, not the cache: the session may only move the
  // key on from the epoch it is ACTIVE at.
  absl::StatusOr<storage::StoredShare> active = store_->GetActiveShare(key_id);
  if (!active.ok() && !absl::IsNotFound(active.status())) {
    return active.status();
  }
  if (active.ok() && active->epoch != epoch) {
    return absl::FailedPreconditionError(absl::StrCat(
        node_, " holds epoch ", active->epoch, " of key ", HexEncode(key_id),
        "; the request moves it on from epoch ", epoch));
  }
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::ShareRecord> pending,
                        store_->GetPendingShares(key_id, epoch + 1));
  if (pending.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      node_, " holds a PENDING share of key ", HexEncode(key_id), " epoch ",
      epoch + 1,
      " from an earlier session that may have been activated elsewhere: it "
      "takes part in no other session for that epoch until that share is "
      "activated (kagictl key show delivers its certificate) or retired "
      "(kagictl share retire-pending; docs/rotation.md)"));
}

absl::Status ShareVault::Retire(const Key32& key_id, uint64_t epoch) {
  KAGI_RETURN_IF_ERROR(store_->RetireShares(key_id, epoch));
  Forget(key_id);
  return absl::OkStatus();
}

void ShareVault::Cache(SharePtr share) {
  absl::MutexLock lock(&cache_mu_);
  const Key32 key_id = share->key_id;
  cache_.insert_or_assign(key_id, std::move(share));
}

void ShareVault::Forget(const Key32& key_id) {
  absl::MutexLock lock(&cache_mu_);
  cache_.erase(key_id);
}

}  // namespace kagi::node
