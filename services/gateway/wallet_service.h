// File: services/gateway/wallet_service.h
//
// WalletService serves kagi.v1.Wallet: each handler authorizes the caller's
// client certificate (AuthorizeClient), calls the Gateway with the caller's
// identity and deadline, and converts the result once (ToClientStatus: a
// node's error keeps its ErrorDetails, the gateway's own errors get the
// gateway's). Thread-safe.
#ifndef KAGI_SERVICES_GATEWAY_WALLET_SERVICE_H_
#define KAGI_SERVICES_GATEWAY_WALLET_SERVICE_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kagi/v1/wallet.grpc.pb.h"
#include "services/gateway/gateway.h"

namespace kagi::gateway {

class WalletService final : public kagi::v1::Wallet::Service {
 public:
  // `gateway` is not owned and must outlive the service. `allowed_clients`
  // are the certificate names allowed to call (config clients); empty allows
  // every client certificate of the CA.
  WalletService(Gateway* gateway, std::vector<std::string> allowed_clients);

  // The kagi.v1.Wallet methods (wallet.proto).
  grpc::Status CreateKey(grpc::ServerContext* ctx,
                         const kagi::v1::CreateKeyRequest* request,
                         kagi::v1::KeyInfo* response) override;
  grpc::Status GetKey(grpc::ServerContext* ctx,
                      const kagi::v1::GetKeyRequest* request,
                      kagi::v1::KeyInfo* response) override;
  grpc::Status ListKeys(grpc::ServerContext* ctx,
                        const kagi::v1::ListKeysRequest* request,
                        kagi::v1::ListKeysResponse* response) override;
  grpc::Status ListNodes(grpc::ServerContext* ctx,
                         const kagi::v1::ListNodesRequest* request,
                         kagi::v1::ListNodesResponse* response) override;
  grpc::Status DerivePublicKey(grpc::ServerContext* ctx,
                               const kagi::v1::DeriveRequest* request,
                               kagi::v1::DerivedKey* response) override;
  grpc::Status Sign(grpc::ServerContext* ctx,
                    const kagi::v1::SignRequest* request,
                    kagi::v1::SignResponse* response) override;
  grpc::Status Refresh(grpc::ServerContext* ctx,
                       const kagi::v1::RefreshRequest* request,
                       kagi::v1::KeyInfo* response) override;
  grpc::Status Reshare(grpc::ServerContext* ctx,
                       const kagi::v1::ReshareRequest* request,
                       kagi::v1::KeyInfo* response) override;
  grpc::Status GetRequestStatus(
      grpc::ServerContext* ctx,
      const kagi::v1::GetRequestStatusRequest* request,
      kagi::v1::RequestStatus* response) override;

 private:
  // Who is calling, once authorized.
  struct Caller {
    std::string initiator;  // the client certificate's identity
    absl::Time deadline;    // InfiniteFuture when the client set none
  };
  // Serve authorizes the caller of `ctx`, runs `operation(caller)` and
  // converts its result for the client.
  template <typename Response, typename Operation>
  grpc::Status Serve(const grpc::ServerContext& ctx, Response* response,
                     Operation operation) const;

  Gateway* const gateway_;
  const std::vector<std::string> allowed_clients_;
};

}  // namespace kagi::gateway

#endif  // KAGI_SERVICES_GATEWAY_WALLET_SERVICE_H_
