// File: services/gateway/node_view.h
//
// NodeView: what the gateway knows of its nodes. Who they are (configured
// names; identity keys learned with GetNodeInfo and kept from each node's
// last good probe), whether they answer now (a health probe: GetNodeInfo
// within the health timeout), and a probe of all nodes reused for a moment
// (RecentProbe, for signing, the hot path). It maps a key's parties to
// nodes by identity key and names unreachable nodes for error messages.
// Thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_NODE_VIEW_H_
#define KAGI_SERVICES_GATEWAY_NODE_VIEW_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kagi/v1/common.pb.h"
#include "services/gateway/node_client.h"

namespace kagi::gateway {

// The result of a health probe of one node.
struct NodeProbe {
  bool healthy = false;
  // From this probe, or the cache when the probe failed ("" if unknown).
  std::string identity_key;
  absl::Status status;
};

class NodeView {
 public:
  // How long RecentProbe reuses a probe.
  static constexpr absl::Duration kRecentTtl = absl::Seconds(1);

  // `client` is not owned and must outlive the view.
  NodeView(NodeClient* client, absl::Duration health_timeout);

  const std::string& NameOf(size_t node) const { return names_[node]; }
  // All: every node's index, 0..n-1.
  std::vector<size_t> All() const;

  // Probe runs GetNodeInfo on `nodes` (all nodes when empty) and updates
  // the identity cache. The result is indexed like the nodes; a node not
  // probed is UNAVAILABLE "not probed".
  std::vector<NodeProbe> Probe(absl::Span<const size_t> nodes,
                               absl::Time deadline);
  // RecentProbe: Probe({}), reused for kRecentTtl; ForgetRecent drops it.
  std::vector<NodeProbe> RecentProbe(absl::Time deadline);
  void ForgetRecent();

  // Healthy lists the nodes `probes` found healthy; Unavailable (listing
  // why each failed) when there is none.
  absl::StatusOr<std::vector<size_t>> Healthy(
      const std::vector<NodeProbe>& probes) const;
  // PartyNodes maps each party of `key` to a node index by identity key.
  std::vector<std::optional<size_t>> PartyNodes(
      const kagi::v1::KeyInfo& key) const;
  // FillNodeNames sets parties[].node to the gateway's names where known.
  void FillNodeNames(kagi::v1::KeyInfo* key) const;
  // UnhealthyList: "<node>: <CODE>: <why>; ..." for the unhealthy `nodes`.
  std::string UnhealthyList(const std::vector<NodeProbe>& probes,
                            absl::Span<const size_t> nodes) const;
  // UnidentifiedNodes lists the nodes whose identity key is not known (never
  // reached), for errors about key parties the gateway cannot place.
  std::string UnidentifiedNodes(const std::vector<NodeProbe>& probes) const;

 private:
  NodeClient* const client_;
  const std::vector<std::string> names_;
  const absl::Duration health_timeout_;

  mutable absl::Mutex mu_;
  // identity_keys_[i]: node i's identity key from its last good probe.
  std::vector<std::string> identity_keys_ ABSL_GUARDED_BY(mu_);
  std::vector<NodeProbe> recent_ ABSL_GUARDED_BY(mu_);
  absl::Time recent_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_NODE_VIEW_H_
