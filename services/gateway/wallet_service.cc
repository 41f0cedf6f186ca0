// File: services/gateway/wallet_service.cc
//
// The kagi.v1.Wallet handlers; see wallet_service.h.
#include "services/gateway/wallet_service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/transport/tls.h"
#include "services/gateway/authorization.h"
#include "services/gateway/node_errors.h"

namespace kagi::gateway {
namespace {

absl::Time DeadlineOf(const grpc::ServerContext& ctx) {
  const std::chrono::system_clock::time_point deadline = ctx.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

}  // namespace

WalletService::WalletService(Gateway* gateway,
                             std::vector<std::string> allowed_clients)
    : gateway_(gateway), allowed_clients_(std::move(allowed_clients)) {}

template <typename Response, typename Operation>
grpc::Status WalletService::Serve(const grpc::ServerContext& ctx,
                                  Response* response,
                                  Operation operation) const {
  const absl::StatusOr<transport::CertIdentity> who =
      transport::PeerIdentity(ctx);
  absl::Status status =
      AuthorizeClient(who, allowed_clients_, gateway_->Name());
  if (status.ok()) {
    absl::StatusOr<Response> result =
        operation(Caller{who->ToString(), DeadlineOf(ctx)});
    status = result.status();
    if (result.ok()) {
      *response = *std::move(result);
    }
  }
  return ToClientStatus(status, gateway_->Name());
}

grpc::Status WalletService::CreateKey(grpc::ServerContext* ctx,
                                      const kagi::v1::CreateKeyRequest* request,
                                      kagi::v1::KeyInfo* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->CreateKey(*request, caller.initiator, caller.deadline);
  });
}

grpc::Status WalletService::GetKey(grpc::ServerContext* ctx,
                                   const kagi::v1::GetKeyRequest* request,
                                   kagi::v1::KeyInfo* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->GetKey(*request, caller.deadline);
  });
}

grpc::Status WalletService::ListKeys(grpc::ServerContext* ctx,
                                     const kagi::v1::ListKeysRequest* request,
                                     kagi::v1::ListKeysResponse* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->ListKeys(*request, caller.deadline);
  });
}

grpc::Status WalletService::ListNodes(grpc::ServerContext* ctx,
                                      const kagi::v1::ListNodesRequest* request,
                                      kagi::v1::ListNodesResponse* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->ListNodes(*request, caller.deadline);
  });
}

grpc::Status WalletService::DerivePublicKey(
    grpc::ServerContext* ctx, const kagi::v1::DeriveRequest* request,
    kagi::v1::DerivedKey* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->DerivePublicKey(*request, caller.deadline);
  });
}

grpc::Status WalletService::Sign(grpc::ServerContext* ctx,
                                 const kagi::v1::SignRequest* request,
                                 kagi::v1::SignResponse* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->Sign(*request, caller.initiator, caller.deadline);
  });
}

grpc::Status WalletService::Refresh(grpc::ServerContext* ctx,
                                    const kagi::v1::RefreshRequest* request,
                                    kagi::v1::KeyInfo* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->Refresh(*request, caller.initiator, caller.deadline);
  });
}

grpc::Status WalletService::Reshare(grpc::ServerContext* ctx,
                                    const kagi::v1::ReshareRequest* request,
                                    kagi::v1::KeyInfo* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->Reshare(*request, caller.initiator, caller.deadline);
  });
}

grpc::Status WalletService::GetRequestStatus(
    grpc::ServerContext* ctx, const kagi::v1::GetRequestStatusRequest* request,
    kagi::v1::RequestStatus* response) {
  return Serve(*ctx, response, [&](const Caller& caller) {
    return gateway_->GetRequestStatus(*request, caller.initiator,
                                      caller.deadline);
  });
}

}  // namespace kagi::gateway
