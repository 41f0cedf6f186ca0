// File: services/node/lifecycle_claims.h
//
// LifecycleClaims: which key lifecycle work (DKG, refresh, reshare, the
// activation of a delivered certificate) runs on this node now. At most one
// session per request id and one per key run at a time, and a certificate
// is not applied to a key while a session of that key runs: two concurrent
// sessions of one approved request (a client's retry, a gateway's replay)
// could otherwise each activate the same epoch on different nodes.
#ifndef KAGI_SERVICES_NODE_LIFECYCLE_CLAIMS_H_
#define KAGI_SERVICES_NODE_LIFECYCLE_CLAIMS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace kagi::node {

class LifecycleClaims {
 public:
  using Key32 = std::array<uint8_t, 32>;

  // A claim held for as long as the work runs; released on destruction.
  class Claim {
   public:
    ~Claim();
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;

   private:
    friend class LifecycleClaims;
    Claim(LifecycleClaims* owner, std::string request_id, bool has_key,
          Key32 key)
        : owner_(owner),
          request_id_(std::move(request_id)),
          has_key_(has_key),
          key_(key) {}
    LifecycleClaims* owner_;
    std::string request_id_;
    bool has_key_;
    Key32 key_;
  };

  // Claim the request id (if not empty) and the key (if `key` is set).
  // FailedPrecondition naming what already runs.
  absl::StatusOr<std::unique_ptr<Claim>> Acquire(const std::string& request_id,
                                                 const Key32* key);

 private:
  void Release(const Claim& claim);

  absl::Mutex mu_;
  std::set<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::set<Key32> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_LIFECYCLE_CLAIMS_H_
