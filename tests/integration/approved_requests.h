// File: tests/integration/approved_requests.h
//
// Requests approved as a security team would, for clusters that run the
// strict demo policy (kagictl cluster init: approvers alice, bob, carol,
// whose keys are in the cluster directory).
#ifndef KAGI_TESTS_INTEGRATION_APPROVED_REQUESTS_H_
#define KAGI_TESTS_INTEGRATION_APPROVED_REQUESTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kagi/v1/node.grpc.pb.h"
#include "kagi/v1/wallet.grpc.pb.h"
#include "tests/integration/integration_util.h"

namespace kagi::integration {

// StrictCluster: a cluster of `nodes` on `base_port` under the strict demo
// policy (no raw digests, admin operations need approvals).
ClusterConfig StrictCluster(int base_port, int nodes);

// ExpiryIn: now + `seconds`, as a request's expiry.
uint64_t ExpiryIn(int seconds = 300);

// CreateApprovedKey creates a `threshold`-of-`nodes` key bound to
// TestNetworks(), approved by alice, through the gateway.
absl::Status CreateApprovedKey(Cluster& cluster,
                               const std::vector<std::string>& nodes,
                               uint32_t threshold, v1::KeyInfo* out);

// ApproveSignRequest replaces `r`'s approvals with alice's, bob's and
// carol's over its current content.
absl::Status ApproveSignRequest(const Cluster& cluster, v1::SignRequest* r);

// ApprovedPsbt: a fresh request of `key` paying `amount` sat to the demo
// address from a 2 BTC regtest input (fee 1000 sat), approved by all three.
v1::SignRequest ApprovedPsbt(const Cluster& cluster, const v1::KeyInfo& key,
                             uint64_t amount);

// StartSignOn sends `r` to node i alone as the gateway would, naming
// `signers` (party ids, increasing) and `initiator`.
grpc::Status StartSignOn(const Cluster& cluster, int node,
                         const v1::SignRequest& r,
                         const std::vector<uint32_t>& signers,
                         v1::StartSignResponse* response = nullptr,
                         const std::string& initiator = "client/client-1");

// SignTogether: node-a and node-b (parties a and b of the key) sign `r`
// together, asked at once; the first error, naming the node.
absl::Status SignTogether(const Cluster& cluster, int a, int b,
                          const v1::SignRequest& r);

}  // namespace kagi::integration

#endif  // KAGI_TESTS_INTEGRATION_APPROVED_REQUESTS_H_
