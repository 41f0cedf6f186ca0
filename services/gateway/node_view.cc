// File: services/gateway/node_view.cc
//
// The gateway's view of its nodes; see node_view.h.
#include "services/gateway/node_view.h"

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/request_shape.h"

namespace kagi::gateway {

using kagi::v1::KeyInfo;

NodeView::NodeView(NodeClient* client, absl::Duration health_timeout)
    : client_(client),
      names_(client->NodeNames()),
      health_timeout_(health_timeout),
      identity_keys_(names_.size()) {}

std::vector<size_t> NodeView::All() const {
  std::vector<size_t> all(names_.size());
  std::iota(all.begin(), all.end(), size_t{0});
  return all;
}

std::vector<NodeProbe> NodeView::Probe(absl::Span<const size_t> nodes,
                                       absl::Time deadline) {
  const std::vector<size_t> all = All();
  if (nodes.empty()) {
    nodes = all;
  }
  const std::vector<NodeReply<kagi::v1::NodeInfo>> calls = client_->GetNodeInfo(
      nodes, std::min(deadline, absl::Now() + health_timeout_));
  std::vector<NodeProbe> probes(names_.size());
  for (NodeProbe& probe : probes) {
    probe.status = absl::UnavailableError("not probed");
  }
  absl::MutexLock lock(&mu_);
  for (const NodeReply<kagi::v1::NodeInfo>& call : calls) {
    NodeProbe& probe = probes[call.node];
    if (!call.status.ok()) {
      probe.status = call.status;
    } else if (call.response.identity_key().size() != kIdentityKeyBytes) {
      probe.status = absl::InternalError(absl::StrCat(
          "GetNodeInfo returned a ", call.response.identity_key().size(),
          "-byte identity key"));
    } else {
      probe.healthy = true;
      probe.status = absl::OkStatus();
      identity_keys_[call.node] = call.response.identity_key();
    }
  }
  for (size_t i = 0; i < probes.size(); ++i) {
    probes[i].identity_key = identity_keys_[i];
  }
  return probes;
}

std::vector<NodeProbe> NodeView::RecentProbe(absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (recent_at_ + kRecentTtl > absl::Now() &&
        recent_.size() == names_.size()) {
      return recent_;
    }
  }
  std::vector<NodeProbe> probes = Probe({}, deadline);
  absl::MutexLock lock(&mu_);
  recent_ = probes;
  recent_at_ = absl::Now();
  return probes;
}

void NodeView::ForgetRecent() {
  absl::MutexLock lock(&mu_);
  recent_.clear();
}

absl::StatusOr<std::vector<size_t>> NodeView::Healthy(
    const std::vector<NodeProbe>& probes) const {
  std::vector<size_t> healthy;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (probes[i].healthy) {
      healthy.push_back(i);
    }
  }
  if (healthy.empty()) {
    return absl::UnavailableError(
        absl::StrCat("no node is reachable: ", UnhealthyList(probes, All())));
  }
  return healthy;
}

std::vector<std::optional<size_t>> NodeView::PartyNodes(
    const KeyInfo& key) const {
  std::vector<std::optional<size_t>> out(
      static_cast<size_t>(key.parties_size()));
  absl::MutexLock lock(&mu_);
  for (int p = 0; p < key.parties_size(); ++p) {
    for (size_t i = 0; i < identity_keys_.size(); ++i) {
      if (!identity_keys_[i].empty() &&
          identity_keys_[i] == key.parties(p).identity_key()) {
        out[static_cast<size_t>(p)] = i;
        break;
      }
    }
  }
  return out;
}

void NodeView::FillNodeNames(KeyInfo* key) const {
  const std::vector<std::optional<size_t>> party_nodes = PartyNodes(*key);
  for (int p = 0; p < key->parties_size(); ++p) {
    const std::optional<size_t>& node = party_nodes[static_cast<size_t>(p)];
    if (node.has_value()) {
      key->mutable_parties(p)->set_node(NameOf(*node));
    }
  }
}

std::string NodeView::UnhealthyList(const std::vector<NodeProbe>& probes,
                                    absl::Span<const size_t> nodes) const {
  std::vector<std::string> parts;
  for (size_t node : nodes) {
    if (!probes[node].healthy) {
      parts.push_back(DescribeNodeError(NameOf(node), probes[node].status));
    }
  }
  return absl::StrJoin(parts, "; ");
}

std::string NodeView::UnidentifiedNodes(
    const std::vector<NodeProbe>& probes) const {
  std::vector<std::string> parts;
  for (size_t i = 0; i < probes.size(); ++i) {
    if (probes[i].identity_key.empty()) {
      parts.push_back(DescribeNodeError(NameOf(i), probes[i].status));
    }
  }
  if (parts.empty()) {
    return "";
  }
  return absl::StrCat("; configured nodes never reached (identity unknown): ",
                      absl::StrJoin(parts, "; "));
}

}  // namespace kagi::gateway
