// File: services/node/grpc_transport.h
//
// GrpcPeerTransport: the SessionManager's outbound side over gRPC. One mTLS
// channel per configured peer, pinned to the peer's certificate name; each
// envelope is one asynchronous Peer.Deliver call (gRPC callback API), so a
// slow peer never blocks a session's lock.
#ifndef KAGI_SERVICES_NODE_GRPC_TRANSPORT_H_
#define KAGI_SERVICES_NODE_GRPC_TRANSPORT_H_

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kagi/v1/config.pb.h"
#include "kagi/v1/node.grpc.pb.h"
#include "libs/storage/store.h"
#include "libs/transport/tls.h"
#include "services/node/request_claims.h"
#include "services/node/session_manager.h"

namespace kagi::node {

class GrpcPeerTransport final : public PeerTransport, public ClaimTransport {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcPeerTransport>> Create(
      const v1::NodeConfig& config);

  void Send(const std::string& node, const Sid0& sid0, Bytes envelope,
            std::function<void(absl::Status)> on_done) override;
  std::vector<absl::StatusOr<v1::RequestClaims>> Exchange(
      const std::vector<std::string>& nodes, const v1::RequestClaims& mine,
      absl::Duration timeout) override;

  // SetAuditHeads makes every later envelope carry this node's latest signed
  // audit head, as `latest` returns it (it must stay callable while the
  // transport sends). Call before serving.
  using HeadSource = std::function<absl::StatusOr<storage::AuditHead>()>;
  void SetAuditHeads(HeadSource latest) { heads_ = std::move(latest); }

 private:
  GrpcPeerTransport() = default;
  // Stub returns the peer's stub, building a fresh channel if the last one
  // failed (a failed gRPC channel waits out a long reconnect backoff; a
  // restarted peer must be reachable at once).
  std::shared_ptr<v1::Peer::Stub> Stub(const std::string& node);
  void MarkFailed(const std::string& node,
                  const std::shared_ptr<v1::Peer::Stub>& stub);

  struct PeerChannel {
    std::string address;
    std::shared_ptr<v1::Peer::Stub> stub;
  };
  transport::TlsFiles tls_;
  absl::Mutex mu_;
  std::map<std::string, PeerChannel> peers_ ABSL_GUARDED_BY(mu_);
  absl::Duration deadline_ = absl::Seconds(10);
  HeadSource heads_;
};

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_GRPC_TRANSPORT_H_
