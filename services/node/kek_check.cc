// ShareVault::CheckKek (NodeCore::CheckKek): a wrong but well-formed
// key-encryption key is found at start-up, not at the first share it cannot
// open.
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/storage/sealed.h"
#include "services/node/shares.h"

namespace kagi::node {
namespace {

constexpr absl::string_view kKekCheckPlaintext = "kagi kek check v1";

storage::RecordContext KekCheckContext() {
  return {storage::kRecordKekCheck, {}, 0, 1};
}

}  // namespace

absl::Status ShareVault::CheckKek() {
  absl::StatusOr<Bytes> sealed = store_->GetKekCheck();
  if (sealed.ok()) {
    if (storage::Open(kek_, KekCheckContext(), *sealed).ok()) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        node_,
        ": the key-encryption key does not open this store's KEK check "
        "value: it is not the key the store was sealed with (check "
        "seal_key_file / seal_key_env); refusing to start"));
  }
  if (!absl::IsNotFound(sealed.status())) return sealed.status();
  // No check value yet (a new store, or one from before it existed): the
  // KEK must open at least one ACTIVE share, if there are any.
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::ShareRecord> rows,
                        store_->ListShares());
  int active = 0;
  bool opened = false;
  for (const storage::ShareRecord& row : rows) {
    if (row.state != storage::ShareState::kActive) continue;
    ++active;
    if (Open(row.key_id, row.epoch, row.sealed).ok()) {
      opened = true;
      break;
    }
  }
  if (active > 0 && !opened) {
    return absl::FailedPreconditionError(absl::StrCat(
        node_, ": the key-encryption key opens none of the ", active,
        " ACTIVE shares of this store: it is not the key the store was "
        "sealed with (check seal_key_file / seal_key_env); refusing to "
        "start"));
  }
  KAGI_ASSIGN_OR_RETURN(Bytes check,
                        storage::Seal(kek_, KekCheckContext(),
                                      AsBytes(kKekCheckPlaintext), rng_));
  return store_->PutKekCheck(check);
}

}  // namespace kagi::node
