// File: services/gateway/testing/fake_node_client.h
//
// TEST ONLY. FakeNodeClient: a NodeClient over in-process fake nodes, for
// unit tests of the coordinator without sockets. Each FakeNode answers like
// an honest node holding a TestKey until a test changes one handler.
//
// Errors travel as on the wire: a handler returns the node's absl::Status,
// which becomes what kagi-node would send (transport::ToGrpcStatus with the
// node's name and the parties' node names, ErrorDetails included) and then
// what the gRPC client makes of it (NodeStatus). ChannelError makes an
// error of the way to the node instead (no details), and an unreachable
// node fails every call with one.
//
// A fan-out calls the nodes one after the other in the order given; a
// StartSign fan-out stopped by `stop` does not call the nodes left (their
// answers are CANCELLED and marked cancelled).
#ifndef KAGI_SERVICES_GATEWAY_TESTING_FAKE_NODE_CLIENT_H_
#define KAGI_SERVICES_GATEWAY_TESTING_FAKE_NODE_CLIENT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/node.pb.h"
#include "services/gateway/node_client.h"
#include "services/gateway/testing/test_key.h"

namespace kagi::gateway::testing {

// ChannelError: an error of the channel to a node (it never answered).
absl::Status ChannelError(absl::StatusCode code, absl::string_view message);

// One fake node. Set its fields before the gateway's first call.
struct FakeNode {
  FakeNode(int index, std::string node_name, const TestKey* key);
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;

  std::string name;
  std::string identity_key;
  bool reachable = true;
  std::vector<kagi::v1::KeyInfo> keys;  // what GetKey and ListKeys know
  std::string request_state = "unknown";
  std::function<absl::StatusOr<kagi::v1::StartSignResponse>(
      const kagi::v1::StartSignRequest&)>
      sign;
  std::function<absl::StatusOr<kagi::v1::KeyInfo>(
      const kagi::v1::StartDkgRequest&)>
      dkg;
  std::function<absl::StatusOr<kagi::v1::KeyInfo>(
      const kagi::v1::StartReshareRequest&)>
      reshare;

  // What the node was asked.
  std::vector<kagi::v1::StartSignRequest> sign_requests;
  std::vector<kagi::v1::StartDkgRequest> dkg_requests;
  std::vector<kagi::v1::GetRequestStatusRequest> status_requests;
};

class FakeNodeClient final : public NodeClient {
 public:
  // `nodes` are not owned and must outlive the client; party p of the
  // test keys is nodes[p - 1] (for the culprit names of aborts).
  explicit FakeNodeClient(std::vector<FakeNode*> nodes);

  const std::vector<std::string>& NodeNames() const override { return names_; }

  std::vector<NodeReply<kagi::v1::NodeInfo>> GetNodeInfo(
      absl::Span<const size_t> nodes, absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::KeyInfo>> StartDkg(
      absl::Span<const size_t> nodes, const kagi::v1::StartDkgRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::StartSignResponse>> StartSign(
      absl::Span<const size_t> nodes, const kagi::v1::StartSignRequest& request,
      absl::Time deadline, const StopWhen& stop) override;
  std::vector<NodeReply<kagi::v1::KeyInfo>> StartReshare(
      absl::Span<const size_t> nodes,
      const kagi::v1::StartReshareRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::KeyInfo>> GetKey(
      absl::Span<const size_t> nodes, const kagi::v1::GetKeyRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::ListKeysResponse>> ListKeys(
      absl::Span<const size_t> nodes, const kagi::v1::ListKeysRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::RequestStatus>> GetRequestStatus(
      absl::Span<const size_t> nodes,
      const kagi::v1::GetRequestStatusRequest& request,
      absl::Time deadline) override;
  std::vector<NodeReply<kagi::v1::ActivateResponse>> Activate(
      absl::Span<const size_t> nodes, const kagi::v1::ActivateRequest& request,
      absl::Time deadline) override;

  // WireStatus: `status` as the gateway receives it from node `node`.
  absl::Status WireStatus(size_t node, const absl::Status& status) const;

 private:
  // Each: node i's answer to its call, as the node computes it.
  template <typename Response>
  using Handler = std::function<absl::StatusOr<Response>(FakeNode& node)>;
  template <typename Response>
  std::vector<NodeReply<Response>> Each(absl::Span<const size_t> nodes,
                                        const Handler<Response>& handler,
                                        const StopWhen& stop = nullptr);

  const std::vector<FakeNode*> nodes_;
  const std::vector<std::string> names_;
  absl::Mutex mu_;  // one fan-out at a time
};

}  // namespace kagi::gateway::testing

#endif  // KAGI_SERVICES_GATEWAY_TESTING_FAKE_NODE_CLIENT_H_
