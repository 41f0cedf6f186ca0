// File: libs/transport/tls.cc
//
// See tls.h.
#include "libs/transport/tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/support/channel_arguments.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "kagi/v1/rpc_status.pb.h"
#include "libs/base/abort.h"
#include "libs/base/check.h"
#include "libs/base/secret.h"
#include "libs/base/status_macros.h"
#include "libs/transport/openssl_util.h"

namespace kagi::transport {
namespace {

using internal::EvpPkeyPtr;
using internal::X509List;

// The two enums share the canonical numbering (absl/status/status.h says
// so); spot-check the ends and a few in between.
static_assert(static_cast<int>(absl::StatusCode::kCancelled) ==
              static_cast<int>(grpc::StatusCode::CANCELLED));
static_assert(static_cast<int>(absl::StatusCode::kInvalidArgument) ==
              static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
static_assert(static_cast<int>(absl::StatusCode::kAborted) ==
              static_cast<int>(grpc::StatusCode::ABORTED));
static_assert(static_cast<int>(absl::StatusCode::kUnavailable) ==
              static_cast<int>(grpc::StatusCode::UNAVAILABLE));
static_assert(static_cast<int>(absl::StatusCode::kUnauthenticated) ==
              static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));

constexpr int kFirstErrorCode = 1;  // CANCELLED
constexpr int kLastErrorCode = 16;  // UNAUTHENTICATED

// Material is one endpoint's checked TLS files.
struct Material {
  std::string cert_chain_pem;  // exactly the certificate file's contents
  std::string ca_pem;
  SecretBytes key_pem;
};

// Prefix prepends `prefix` to an error's message, keeping its code.
absl::Status Prefix(absl::string_view prefix, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// LoadMaterial reads `files` and checks them as described in tls.h, with
// `purpose` the TLS purpose the certificate must be fit for.
absl::StatusOr<Material> LoadMaterial(const TlsFiles& files, int purpose) {
  for (const auto& [field, value] :
       {std::pair<absl::string_view, const std::string*>{"cert_file",
                                                         &files.cert_file},
        {"key_file", &files.key_file},
        {"ca_file", &files.ca_file}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls: ", field, " is not set"));
    }
  }
  Material m;
  absl::StatusOr<std::string> ca =
      ReadFileToString(files.ca_file, kMaxPemFileBytes);
  if (!ca.ok()) {
    return Prefix("tls: CA file: ", ca.status());
  }
  m.ca_pem = *std::move(ca);
  absl::StatusOr<std::string> cert =
      ReadFileToString(files.cert_file, kMaxPemFileBytes);
  if (!cert.ok()) {
    return Prefix("tls: certificate file: ", cert.status());
  }
  m.cert_chain_pem = *std::move(cert);
  absl::StatusOr<SecretBytes> key =
      ReadSecretFile(files.key_file, kMaxPemFileBytes, /*owner_only=*/false);
  if (!key.ok()) {
    return Prefix("tls: key file: ", key.status());
  }
  m.key_pem = *std::move(key);

  const std::string cert_what =
      absl::StrCat("tls: certificate file ", files.cert_file);
  KAGI_ASSIGN_OR_RETURN(
      X509List trusted,
      internal::ParseCertificatesPem(
          m.ca_pem, absl::StrCat("tls: CA file ", files.ca_file)));
  KAGI_ASSIGN_OR_RETURN(X509List chain, internal::ParseCertificatesPem(
                                            m.cert_chain_pem, cert_what));
  KAGI_ASSIGN_OR_RETURN(
      EvpPkeyPtr pkey,
      internal::ParsePrivateKeyPem(
          m.key_pem, absl::StrCat("tls: key file ", files.key_file)));
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("tls: key file ", files.key_file,
                     " does not match certificate file ", files.cert_file));
  }
  X509List intermediates;
  for (size_t i = 1; i < chain.size(); ++i) {
    intermediates.push_back(std::move(chain[i]));
  }
  KAGI_RETURN_IF_ERROR(internal::VerifyCertificate(
      leaf, intermediates, trusted, purpose,
      absl::StrCat(cert_what, " (against CA file ", files.ca_file, ")")));
  return m;
}

// WipeString zeroes a std::string that held a private key.
void WipeString(std::string& s) {
  SecureWipe(s.data(), s.size());
  s.clear();
}

std::string ToStdString(ByteSpan bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// SingleEntry returns the one value of attribute `nid` in `name`, as UTF-8.
absl::StatusOr<std::string> SingleEntry(X509_NAME* name, int nid,
                                        absl::string_view label) {
  const int first = X509_NAME_get_index_by_NID(name, nid, -1);
  if (first < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate subject has no ", label));
  }
  if (X509_NAME_get_index_by_NID(name, nid, first) >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate subject has more than one ", label));
  }
  const ASN1_STRING* data =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, first));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0 || utf8 == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("certificate subject ", label, " is not a valid string"));
  }
  std::string out(reinterpret_cast<const char*>(utf8),
                  static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

absl::Status Unauthenticated(absl::string_view reason) {
  return absl::UnauthenticatedError(absl::StrCat("tls: ", reason));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  KAGI_ASSIGN_OR_RETURN(Material m,
                        LoadMaterial(files, X509_PURPOSE_SSL_SERVER));
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = m.ca_pem;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.private_key = ToStdString(m.key_pem.secret());
  pair.cert_chain = m.cert_chain_pem;
  options.pem_key_cert_pairs.push_back(std::move(pair));
  // gRPC copies the PEM strings; wipe ours.
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::SslServerCredentials(options);
  WipeString(pair.private_key);
  WipeString(options.pem_key_cert_pairs.front().private_key);
  if (creds == nullptr) {
    return absl::InternalError(
        "tls: gRPC refused to build the server credentials");
  }
  return creds;
}

absl::Status CheckOwnCertificate(const TlsFiles& files, Role role,
                                 absl::string_view name) {
  absl::StatusOr<std::string> pem =
      ReadFileToString(files.cert_file, kMaxPemFileBytes);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<CertIdentity> own = IdentityFromPem(*pem);
  if (!own.ok()) return own.status();
  if (own->role != role || own->name != name) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.cert_file: the certificate is ", own->ToString(),
                     ", not ", RoleName(role), "/", name));
  }
  return absl::OkStatus();
}

void ConfigureServerBuilder(grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // Keep idle handler threads: with gRPC's default (at most 2 idle pollers)
  // every burst of calls creates and destroys threads, which under load
  // costs more than the calls themselves.
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeMtlsChannel(
    const std::string& address, const std::string& expected_server_name,
    const TlsFiles& own) {
  if (address.empty()) {
    return absl::InvalidArgumentError("tls: channel address is empty");
  }
  if (expected_server_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls: no expected server name given for channel to ", address));
  }
  KAGI_ASSIGN_OR_RETURN(Material m, LoadMaterial(own, X509_PURPOSE_SSL_CLIENT));
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = m.ca_pem;
  options.pem_cert_chain = m.cert_chain_pem;
  options.pem_private_key = ToStdString(m.key_pem.secret());
  std::shared_ptr<grpc::ChannelCredentials> creds =
      grpc::SslCredentials(options);
  WipeString(options.pem_private_key);
  if (creds == nullptr) {
    return absl::InternalError(absl::StrCat(
        "tls: gRPC refused to build the channel credentials for ", address));
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(expected_server_name);
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Each channel owns its subchannels, so replacing a channel after a
  // failure (see the callers) really starts a fresh connection; and a failed
  // connection is retried within half a second, not after gRPC's default
  // backoff (which grows to two minutes), so a restarted node is used again
  // at once.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(address, creds, args);
  if (channel == nullptr) {
    return absl::InternalError(
        absl::StrCat("tls: cannot create a channel to ", address));
  }
  return channel;
}

std::string CertIdentity::ToString() const {
  return absl::StrCat(RoleName(role), "/", name);
}

absl::StatusOr<CertIdentity> IdentityFromPem(absl::string_view cert_pem) {
  KAGI_ASSIGN_OR_RETURN(
      X509List certs, internal::ParseCertificatesPem(cert_pem, "certificate"));
  X509_NAME* subject = X509_get_subject_name(certs.front().get());
  KAGI_ASSIGN_OR_RETURN(std::string ou,
                        SingleEntry(subject, NID_organizationalUnitName,
                                    "OU (organizational unit)"));
  KAGI_ASSIGN_OR_RETURN(std::string cn,
                        SingleEntry(subject, NID_commonName, "CN"));
  const std::optional<Role> role = RoleFromName(ou);
  if (!role.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate OU \"", absl::CHexEscape(ou),
                     "\" is not a Kagi role (node, gateway or client)"));
  }
  const absl::Status name_ok = ValidateEntityName(cn);
  if (!name_ok.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate CN: ", name_ok.message()));
  }
  return CertIdentity{*role, std::move(cn)};
}

absl::StatusOr<CertIdentity> PeerIdentity(const grpc::ServerContextBase& ctx) {
  const std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr) {
    return Unauthenticated("the call has no auth context");
  }
  const std::vector<grpc::string_ref> types =
      auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (types.size() != 1 ||
      absl::string_view(types[0].data(), types[0].size()) !=
          GRPC_SSL_TRANSPORT_SECURITY_TYPE) {
    return Unauthenticated(
        absl::StrCat("the call is not over TLS (transport security type: ",
                     types.empty() ? std::string("none")
                                   : absl::CHexEscape(absl::string_view(
                                         types[0].data(), types[0].size())),
                     ")"));
  }
  if (!auth->IsPeerAuthenticated()) {
    return Unauthenticated("the peer presented no verified certificate");
  }
  const std::vector<grpc::string_ref> pems =
      auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.size() != 1) {
    return Unauthenticated(
        absl::StrCat("expected one peer certificate, got ", pems.size()));
  }
  absl::StatusOr<CertIdentity> id =
      IdentityFromPem(absl::string_view(pems[0].data(), pems[0].size()));
  if (!id.ok()) {
    return Unauthenticated(
        absl::StrCat("peer certificate: ", id.status().message()));
  }
  return id;
}

grpc::Status ToGrpcStatus(const absl::Status& status,
                          absl::string_view reporting_node,
                          const PartyNodeName& party_node_name) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  const int raw = static_cast<int>(status.code());
  const grpc::StatusCode code = raw >= kFirstErrorCode && raw <= kLastErrorCode
                                    ? static_cast<grpc::StatusCode>(raw)
                                    : grpc::StatusCode::UNKNOWN;
  const std::string message(status.message());

  kagi::v1::ErrorDetails details;
  details.set_reason(message);
  details.set_reporting_node(std::string(reporting_node));
  if (const std::optional<AbortInfo> abort = GetAbortInfo(status);
      abort.has_value()) {
    details.set_abort_class(
        std::string(1, static_cast<char>(abort->abort_class)));
    for (uint32_t party : abort->culprits) {
      details.add_culprit_parties(party);
      if (party_node_name) {
        details.add_culprit_nodes(party_node_name(party));
      }
    }
  }
  kagi::v1::RpcStatus rpc_status;
  rpc_status.set_code(static_cast<int32_t>(code));
  rpc_status.set_message(message);
  KAGI_CHECK(rpc_status.add_details()->PackFrom(details));
  return grpc::Status(code, message, rpc_status.SerializeAsString());
}

std::optional<kagi::v1::ErrorDetails> GetErrorDetails(
    const grpc::Status& status) {
  if (status.ok() || status.error_details().empty()) {
    return std::nullopt;
  }
  kagi::v1::RpcStatus rpc_status;
  if (!rpc_status.ParseFromString(status.error_details())) {
    return std::nullopt;
  }
  for (const google::protobuf::Any& any : rpc_status.details()) {
    kagi::v1::ErrorDetails details;
    if (any.Is<kagi::v1::ErrorDetails>() && any.UnpackTo(&details)) {
      return details;
    }
  }
  return std::nullopt;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) {
    return absl::OkStatus();
  }
  const int raw = static_cast<int>(status.error_code());
  const absl::StatusCode code = raw >= kFirstErrorCode && raw <= kLastErrorCode
                                    ? static_cast<absl::StatusCode>(raw)
                                    : absl::StatusCode::kUnknown;
  absl::Status out(code, status.error_message());
  if (code != absl::StatusCode::kAborted) {
    return out;
  }
  const std::optional<kagi::v1::ErrorDetails> details = GetErrorDetails(status);
  if (!details.has_value() || details->abort_class().size() != 1) {
    return out;
  }
  const char cls = details->abort_class()[0];
  if (cls < 'A' || cls > 'D') {
    return out;
  }
  // AbortError builds the payload GetAbortInfo reads; its message would
  // repeat the class and culprits already in `status`'s message, so only the
  // payload is taken from it.
  const std::vector<uint32_t> culprits(details->culprit_parties().begin(),
                                       details->culprit_parties().end());
  const absl::Status abort =
      AbortError(static_cast<AbortClass>(cls), culprits, "");
  const absl::optional<absl::Cord> payload = abort.GetPayload(kAbortPayloadUrl);
  KAGI_CHECK(payload.has_value());
  out.SetPayload(kAbortPayloadUrl, *payload);
  return out;
}

}  // namespace kagi::transport
