#include "services/node/lifecycle_claims.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"

namespace kagi::node {

LifecycleClaims::Claim::~Claim() { owner_->Release(*this); }

absl::StatusOr<std::unique_ptr<LifecycleClaims::Claim>>
LifecycleClaims::Acquire(const std::string& request_id, const Key32* key) {
  absl::MutexLock lock(&mu_);
  if (!request_id.empty() && requests_.count(request_id) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a session of request ", request_id,
        " is already running on this node; one request runs one session at "
        "a time"));
  }
  if (key != nullptr && keys_.count(*key) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("a refresh or reshare of key ", HexEncode(*key),
                     " is already running on this node"));
  }
  if (!request_id.empty()) requests_.insert(request_id);
  if (key != nullptr) keys_.insert(*key);
  return std::unique_ptr<Claim>(
      new Claim(this, request_id, key != nullptr, key ? *key : Key32{}));
}

void LifecycleClaims::Release(const Claim& claim) {
  absl::MutexLock lock(&mu_);
  if (!claim.request_id_.empty()) requests_.erase(claim.request_id_);
  if (claim.has_key_) keys_.erase(claim.key_);
}

}  // namespace kagi::node
