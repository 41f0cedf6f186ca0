// File: libs/transport/tls_test.cc
//
// Tests for tls.h: certificate identities, the absl <-> gRPC status mapping,
// credential checks, and real gRPC calls over mutual TLS on 127.0.0.1 with a
// tiny kagi.v1.Node service whose GetNodeInfo answers with the caller's
// PeerIdentity.
#include "libs/transport/tls.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kagi/v1/node.grpc.pb.h"
#include "kagi/v1/rpc_status.pb.h"
#include "libs/base/abort.h"
#include "libs/transport/pki.h"
#include "libs/transport/test_util.h"

namespace kagi::transport {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testutil::TempDir;
using testutil::WriteTestFile;

constexpr char kServerName[] = "node-1";

std::string NodeNameOf(uint32_t party) { return absl::StrCat("node-", party); }

// --- IdentityFromPem --------------------------------------------------------

// SelfSigned makes a throwaway self-signed certificate whose subject has the
// given (field, value) entries in order.
std::string SelfSigned(
    const std::vector<std::pair<std::string, std::string>>& subject) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* cert = X509_new();
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  for (const auto& [field, value] : subject) {
    X509_NAME_add_entry_by_txt(
        name, field.c_str(), MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(value.data()),
        static_cast<int>(value.size()), -1, 0);
  }
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pem;
}

TEST(IdentityFromPemTest, RoundTripPerRole) {
  absl::StatusOr<CertAndKey> ca = CreateCa("CA", 1);
  ASSERT_TRUE(ca.ok()) << ca.status();
  for (Role role : {Role::kNode, Role::kGateway, Role::kClient}) {
    absl::StatusOr<CertAndKey> leaf =
        IssueCertificate(*ca, role, "ops-7", {}, {"127.0.0.1"}, 1);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    absl::StatusOr<CertIdentity> id = IdentityFromPem(leaf->cert_pem);
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(id->role, role);
    EXPECT_EQ(id->name, "ops-7");
    EXPECT_EQ(id->ToString(), absl::StrCat(RoleName(role), "/ops-7"));
  }
}

TEST(IdentityFromPemTest, SubjectMustHaveOneKnownOuAndOneValidCn) {
  absl::StatusOr<CertAndKey> ca = CreateCa("CA", 1);
  ASSERT_TRUE(ca.ok()) << ca.status();
  // The CA certificate has no OU.
  absl::StatusOr<CertIdentity> id = IdentityFromPem(ca->cert_pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("OU"));

  id = IdentityFromPem(SelfSigned({{"OU", "node"}}));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("no CN"));

  id = IdentityFromPem(SelfSigned({{"OU", "admin"}, {"CN", "root"}}));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("admin"));

  id = IdentityFromPem(
      SelfSigned({{"OU", "node"}, {"OU", "client"}, {"CN", "n"}}));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("more than one"));

  id = IdentityFromPem(SelfSigned({{"OU", "node"}, {"CN", "a"}, {"CN", "b"}}));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("more than one"));

  id = IdentityFromPem(SelfSigned({{"OU", "node"}, {"CN", "Bad Name"}}));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("CN"));

  // The hand-made certificate with a proper subject is accepted.
  id = IdentityFromPem(
      SelfSigned({{"O", "Kagi"}, {"OU", "gateway"}, {"CN", "gw"}}));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, (CertIdentity{Role::kGateway, "gw"}));

  EXPECT_EQ(IdentityFromPem("garbage").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Status mapping ---------------------------------------------------------

TEST(StatusMappingTest, AbortRoundTripKeepsClassAndCulprits) {
  const absl::Status original =
      AbortError(AbortClass::kBlame, {3}, "bad proof from party 3");
  const grpc::Status wire = ToGrpcStatus(original, kServerName, NodeNameOf);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(wire.error_message(), original.message());

  std::optional<v1::ErrorDetails> details = GetErrorDetails(wire);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->abort_class(), "B");
  EXPECT_THAT(details->culprit_parties(), ElementsAre(3u));
  EXPECT_THAT(details->culprit_nodes(), ElementsAre("node-3"));
  EXPECT_EQ(details->reason(), original.message());
  EXPECT_EQ(details->reporting_node(), kServerName);

  // The trailer is a google.rpc.Status-shaped RpcStatus with one detail.
  v1::RpcStatus rpc_status;
  ASSERT_TRUE(rpc_status.ParseFromString(wire.error_details()));
  EXPECT_EQ(rpc_status.code(), static_cast<int>(grpc::StatusCode::ABORTED));
  EXPECT_EQ(rpc_status.message(), original.message());
  ASSERT_EQ(rpc_status.details_size(), 1);
  EXPECT_EQ(rpc_status.details(0).type_url(),
            "type.googleapis.com/kagi.v1.ErrorDetails");

  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(back.message(), original.message());
  const std::optional<AbortInfo> info = GetAbortInfo(back);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->abort_class, AbortClass::kBlame);
  EXPECT_THAT(info->culprits, ElementsAre(3u));
}

TEST(StatusMappingTest, EveryAbortClass) {
  for (AbortClass cls : {AbortClass::kTimeout, AbortClass::kBlame,
                         AbortClass::kBan, AbortClass::kInvalidSignature}) {
    const std::vector<uint32_t> culprits = cls == AbortClass::kTimeout
                                               ? std::vector<uint32_t>{}
                                               : std::vector<uint32_t>{2, 5};
    const absl::Status original = AbortError(cls, culprits, "x");
    const absl::Status back =
        FromGrpcStatus(ToGrpcStatus(original, kServerName));
    const std::optional<AbortInfo> info = GetAbortInfo(back);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->abort_class, cls);
    EXPECT_EQ(info->culprits, culprits);
    EXPECT_EQ(back.message(), original.message());
    // Without a mapping, no node names are made up.
    EXPECT_THAT(
        GetErrorDetails(ToGrpcStatus(original, kServerName))->culprit_nodes(),
        IsEmpty());
  }
}

TEST(StatusMappingTest, PlainErrorHasNoAbortClass) {
  const absl::Status original = absl::NotFoundError("no key 0xabcd");
  const grpc::Status wire = ToGrpcStatus(original, kServerName, NodeNameOf);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::NOT_FOUND);
  std::optional<v1::ErrorDetails> details = GetErrorDetails(wire);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->abort_class(), "");
  EXPECT_THAT(details->culprit_parties(), IsEmpty());
  EXPECT_THAT(details->culprit_nodes(), IsEmpty());
  EXPECT_EQ(details->reason(), "no key 0xabcd");
  EXPECT_EQ(details->reporting_node(), kServerName);
  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back, original);
  EXPECT_FALSE(GetAbortInfo(back).has_value());
}

TEST(StatusMappingTest, CodesMapOneToOne) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), kServerName).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  for (int code = 1; code <= 16; ++code) {
    SCOPED_TRACE(code);
    const absl::Status s(static_cast<absl::StatusCode>(code), "m");
    const grpc::Status wire = ToGrpcStatus(s, kServerName);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(static_cast<int>(FromGrpcStatus(wire).code()), code);
    EXPECT_EQ(static_cast<int>(
                  FromGrpcStatus(
                      grpc::Status(static_cast<grpc::StatusCode>(code), "m"))
                      .code()),
              code);
  }
  EXPECT_EQ(ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(42), "m"),
                         kServerName)
                .error_code(),
            grpc::StatusCode::UNKNOWN);
  // grpc::StatusCode has no fixed underlying type: 20 is a valid value of
  // the type (its range is -32..31) without being a canonical code.
  EXPECT_EQ(FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(20), "m"))
                .code(),
            absl::StatusCode::kUnknown);
}

TEST(StatusMappingTest, AbortInfoOnlyFromWellFormedAbortedDetails) {
  // No details at all.
  EXPECT_FALSE(GetErrorDetails(grpc::Status(grpc::StatusCode::ABORTED, "m"))
                   .has_value());
  EXPECT_FALSE(
      GetAbortInfo(FromGrpcStatus(grpc::Status(grpc::StatusCode::ABORTED, "m")))
          .has_value());
  // Details that do not parse.
  const grpc::Status junk(grpc::StatusCode::ABORTED, "m", "\xff\xff\xff");
  EXPECT_FALSE(GetErrorDetails(junk).has_value());
  EXPECT_EQ(FromGrpcStatus(junk).code(), absl::StatusCode::kAborted);
  EXPECT_FALSE(GetAbortInfo(FromGrpcStatus(junk)).has_value());

  auto with_details = [](grpc::StatusCode code, const std::string& cls) {
    v1::ErrorDetails details;
    details.set_abort_class(cls);
    details.add_culprit_parties(1);
    v1::RpcStatus rpc_status;
    rpc_status.set_code(static_cast<int>(code));
    rpc_status.add_details()->PackFrom(details);
    return grpc::Status(code, "m", rpc_status.SerializeAsString());
  };
  // An abort class on a status that is not ABORTED is ignored.
  EXPECT_FALSE(GetAbortInfo(FromGrpcStatus(with_details(
                                grpc::StatusCode::INVALID_ARGUMENT, "B")))
                   .has_value());
  // Unknown classes are ignored.
  EXPECT_FALSE(
      GetAbortInfo(FromGrpcStatus(with_details(grpc::StatusCode::ABORTED, "Z")))
          .has_value());
  EXPECT_FALSE(GetAbortInfo(FromGrpcStatus(
                                with_details(grpc::StatusCode::ABORTED, "BB")))
                   .has_value());
  const std::optional<AbortInfo> info = GetAbortInfo(
      FromGrpcStatus(with_details(grpc::StatusCode::ABORTED, "C")));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->abort_class, AbortClass::kBan);
  EXPECT_THAT(info->culprits, ElementsAre(1u));
}

// --- Real gRPC over mTLS ----------------------------------------------------

// IdentityService answers GetNodeInfo with the caller's identity
// ("role/name") and GetKey with a class-C abort blaming parties 2 and 3.
class IdentityService final : public v1::Node::Service {
 public:
  grpc::Status GetNodeInfo(grpc::ServerContext* context,
                           const v1::GetNodeInfoRequest* /*request*/,
                           v1::NodeInfo* response) override {
    {
      absl::MutexLock lock(&mu_);
      last_properties_.clear();
      if (auto auth = context->auth_context(); auth != nullptr) {
        for (const grpc::AuthProperty& p : *auth) {
          last_properties_.emplace_back(p.first.data(), p.first.size());
        }
        peer_identity_property_ = auth->GetPeerIdentityPropertyName();
      }
    }
    absl::StatusOr<CertIdentity> id = PeerIdentity(*context);
    if (!id.ok()) {
      return ToGrpcStatus(id.status(), kServerName);
    }
    response->set_name(id->ToString());
    return grpc::Status::OK;
  }

  grpc::Status GetKey(grpc::ServerContext* /*context*/,
                      const v1::GetKeyRequest* /*request*/,
                      v1::KeyInfo* /*response*/) override {
    return ToGrpcStatus(
        AbortError(AbortClass::kBan, {2, 3}, "COTe consistency check failed"),
        kServerName, NodeNameOf);
  }

  std::vector<std::string> last_properties() const {
    absl::MutexLock lock(&mu_);
    return last_properties_;
  }
  std::string peer_identity_property() const {
    absl::MutexLock lock(&mu_);
    return peer_identity_property_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> last_properties_ ABSL_GUARDED_BY(mu_);
  std::string peer_identity_property_ ABSL_GUARDED_BY(mu_);
};

class MtlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    absl::StatusOr<CertAndKey> ca = CreateCa("Kagi Test CA", 1);
    ASSERT_TRUE(ca.ok()) << ca.status();
    absl::StatusOr<CertAndKey> other_ca = CreateCa("Other CA", 1);
    ASSERT_TRUE(other_ca.ok()) << other_ca.status();
    ca_pem_ = new std::string(ca->cert_pem);
    WriteTestFile(dir_->File("ca.crt"), ca->cert_pem, 0644);
    WriteTestFile(dir_->File("other-ca.crt"), other_ca->cert_pem, 0644);

    server_ = new TlsFiles(Issue(*ca, Role::kNode, kServerName, "server"));
    alice_ = new TlsFiles(Issue(*ca, Role::kClient, "alice", "alice"));
    node2_ = new TlsFiles(Issue(*ca, Role::kNode, "node-2", "node2"));
    mallory_ =
        new TlsFiles(Issue(*other_ca, Role::kClient, "alice", "mallory"));

    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
        MakeServerCredentials(*server_);
    ASSERT_TRUE(creds.ok()) << creds.status();
    service_ = new IdentityService();
    grpc::ServerBuilder builder;
    ConfigureServerBuilder(builder);
    builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
    builder.RegisterService(service_);
    server_instance_ = builder.BuildAndStart().release();
    ASSERT_NE(server_instance_, nullptr);
    ASSERT_GT(port_, 0);

    grpc::ServerBuilder insecure_builder;
    insecure_builder.AddListeningPort(
        "127.0.0.1:0", grpc::InsecureServerCredentials(), &insecure_port_);
    insecure_builder.RegisterService(service_);
    insecure_server_ = insecure_builder.BuildAndStart().release();
    ASSERT_NE(insecure_server_, nullptr);
  }

  static void TearDownTestSuite() {
    for (grpc::Server* s : {server_instance_, insecure_server_}) {
      if (s != nullptr) {
        s->Shutdown(std::chrono::system_clock::now());
        delete s;
      }
    }
    server_instance_ = insecure_server_ = nullptr;
    delete service_;
    delete server_;
    delete alice_;
    delete node2_;
    delete mallory_;
    delete ca_pem_;
    delete dir_;
  }

  // Issue writes a leaf certificate and key under `stem` and returns its
  // files, trusting our CA.
  static TlsFiles Issue(const CertAndKey& ca, Role role,
                        const std::string& name, const std::string& stem) {
    absl::StatusOr<CertAndKey> leaf =
        IssueCertificate(ca, role, name, {}, {"127.0.0.1"}, 1);
    EXPECT_TRUE(leaf.ok()) << leaf.status();
    TlsFiles files{dir_->File(stem + ".crt"), dir_->File(stem + ".key"),
                   dir_->File("ca.crt")};
    EXPECT_TRUE(
        WriteFileAtomically(files.cert_file, leaf->cert_pem, kPublicFileMode)
            .ok());
    EXPECT_TRUE(WriteFileAtomically(
                    files.key_file,
                    absl::string_view(reinterpret_cast<const char*>(
                                          leaf->key_pem.secret().data()),
                                      leaf->key_pem.size()),
                    kPrivateFileMode)
                    .ok());
    return files;
  }

  static std::string Address(int port) {
    return absl::StrCat("127.0.0.1:", port);
  }

  // Call runs GetNodeInfo on `channel`; `name` gets the answer.
  static grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel,
                           std::string* name = nullptr) {
    std::unique_ptr<v1::Node::Stub> stub = v1::Node::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    v1::GetNodeInfoRequest request;
    v1::NodeInfo response;
    grpc::Status status = stub->GetNodeInfo(&ctx, request, &response);
    if (name != nullptr) {
      *name = response.name();
    }
    return status;
  }

  static std::shared_ptr<grpc::Channel> RawSslChannel(
      const grpc::SslCredentialsOptions& options) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(kServerName);
    return grpc::CreateCustomChannel(Address(port_),
                                     grpc::SslCredentials(options), args);
  }

  static TempDir* dir_;
  static std::string* ca_pem_;
  static TlsFiles* server_;
  static TlsFiles* alice_;
  static TlsFiles* node2_;
  static TlsFiles* mallory_;
  static IdentityService* service_;
  static grpc::Server* server_instance_;
  static grpc::Server* insecure_server_;
  static int port_;
  static int insecure_port_;
};

TempDir* MtlsTest::dir_ = nullptr;
std::string* MtlsTest::ca_pem_ = nullptr;
TlsFiles* MtlsTest::server_ = nullptr;
TlsFiles* MtlsTest::alice_ = nullptr;
TlsFiles* MtlsTest::node2_ = nullptr;
TlsFiles* MtlsTest::mallory_ = nullptr;
IdentityService* MtlsTest::service_ = nullptr;
grpc::Server* MtlsTest::server_instance_ = nullptr;
grpc::Server* MtlsTest::insecure_server_ = nullptr;
int MtlsTest::port_ = 0;
int MtlsTest::insecure_port_ = 0;

TEST_F(MtlsTest, CaIssuedClientIsAcceptedAndIdentified) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeMtlsChannel(Address(port_), kServerName, *alice_);
  ASSERT_TRUE(channel.ok()) << channel.status();
  std::string name;
  const grpc::Status status = Call(*channel, &name);
  ASSERT_TRUE(status.ok()) << status.error_code() << " "
                           << status.error_message();
  EXPECT_EQ(name, "client/alice");

  // gRPC 1.51 exposes the verified peer certificate in the auth context.
  EXPECT_THAT(service_->last_properties(),
              ::testing::IsSupersetOf({std::string("transport_security_type"),
                                       std::string("x509_pem_cert"),
                                       std::string("x509_common_name")}));
  // gRPC takes the peer identity from the SANs (the CN only without SANs).
  EXPECT_EQ(service_->peer_identity_property(),
            "x509_subject_alternative_name");
}

TEST_F(MtlsTest, NodeCallerIsIdentifiedAsNode) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeMtlsChannel(Address(port_), kServerName, *node2_);
  ASSERT_TRUE(channel.ok()) << channel.status();
  std::string name;
  const grpc::Status status = Call(*channel, &name);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(name, "node/node-2");
}

TEST_F(MtlsTest, PlaintextClientIsRejected) {
  const grpc::Status status = Call(
      grpc::CreateChannel(Address(port_), grpc::InsecureChannelCredentials()));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsTest, ClientFromAnotherCaIsRejectedByTheServer) {
  // Build the channel by hand: MakeMtlsChannel itself would refuse a
  // certificate that does not chain to the CA file (next test).
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = *ca_pem_;
  options.pem_cert_chain = testutil::ReadTestFile(mallory_->cert_file);
  options.pem_private_key = testutil::ReadTestFile(mallory_->key_file);
  const grpc::Status status = Call(RawSslChannel(options));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsTest, MakeMtlsChannelRefusesCertificateFromAnotherCa) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeMtlsChannel(Address(port_), kServerName, *mallory_);
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(channel.status().message()),
              HasSubstr(mallory_->cert_file));
}

TEST_F(MtlsTest, ClientWithoutCertificateIsRejected) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = *ca_pem_;
  const grpc::Status status = Call(RawSslChannel(options));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsTest, WrongExpectedServerNameIsRejected) {
  // The server's certificate is valid but names node-1, not node-2.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeMtlsChannel(Address(port_), "node-2", *alice_);
  ASSERT_TRUE(channel.ok()) << channel.status();
  const grpc::Status status = Call(*channel);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsTest, ServerTrustingAnotherCaIsRejectedByTheClient) {
  // alice trusts only the other CA, so the server's certificate fails.
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = testutil::ReadTestFile(dir_->File("other-ca.crt"));
  options.pem_cert_chain = testutil::ReadTestFile(alice_->cert_file);
  options.pem_private_key = testutil::ReadTestFile(alice_->key_file);
  const grpc::Status status = Call(RawSslChannel(options));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsTest, PeerIdentityRefusesCallsNotOverTls) {
  const grpc::Status status = Call(grpc::CreateChannel(
      Address(insecure_port_), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("not over TLS"));
  const std::optional<v1::ErrorDetails> details = GetErrorDetails(status);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->reporting_node(), kServerName);
  EXPECT_EQ(FromGrpcStatus(status).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(MtlsTest, AbortDetailsCrossTheWire) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeMtlsChannel(Address(port_), kServerName, *alice_);
  ASSERT_TRUE(channel.ok()) << channel.status();
  std::unique_ptr<v1::Node::Stub> stub = v1::Node::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetKeyRequest request;
  v1::KeyInfo response;
  const grpc::Status wire = stub->GetKey(&ctx, request, &response);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::ABORTED);
  const std::optional<v1::ErrorDetails> details = GetErrorDetails(wire);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->abort_class(), "C");
  EXPECT_THAT(details->culprit_nodes(), ElementsAre("node-2", "node-3"));
  EXPECT_EQ(details->reporting_node(), kServerName);

  const absl::Status status = FromGrpcStatus(wire);
  const absl::Status expected =
      AbortError(AbortClass::kBan, {2, 3}, "COTe consistency check failed");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(), expected.message());
  const std::optional<AbortInfo> info = GetAbortInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->abort_class, AbortClass::kBan);
  EXPECT_THAT(info->culprits, ElementsAre(2u, 3u));
}

// --- Credential checks ------------------------------------------------------

TEST_F(MtlsTest, ServerCredentialErrorsNameTheFile) {
  TlsFiles missing = *server_;
  missing.cert_file = dir_->File("absent.crt");
  absl::Status s = MakeServerCredentials(missing).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr(missing.cert_file));

  TlsFiles mismatched = *server_;
  mismatched.key_file = node2_->key_file;
  s = MakeServerCredentials(mismatched).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("does not match"));
  EXPECT_THAT(std::string(s.message()), HasSubstr(node2_->key_file));

  // A client certificate cannot serve (no serverAuth).
  s = MakeServerCredentials(*alice_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(alice_->cert_file));
  EXPECT_THAT(std::string(s.message()), HasSubstr("purpose"));

  // A certificate from another CA does not chain to ours.
  s = MakeServerCredentials(*mallory_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(mallory_->cert_file));

  TlsFiles bad_ca = *server_;
  bad_ca.ca_file = dir_->File("junk-ca.crt");
  WriteTestFile(bad_ca.ca_file, "not a certificate\n", 0644);
  s = MakeServerCredentials(bad_ca).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(bad_ca.ca_file));

  TlsFiles bad_key = *server_;
  bad_key.key_file = dir_->File("junk.key");
  WriteTestFile(bad_key.key_file, "-----BEGIN PRIVATE KEY-----\n", 0600);
  s = MakeServerCredentials(bad_key).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(bad_key.key_file));

  TlsFiles unset = *server_;
  unset.ca_file.clear();
  s = MakeServerCredentials(unset).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("ca_file"));

  EXPECT_EQ(MakeMtlsChannel("", kServerName, *alice_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeMtlsChannel(Address(port_), "", *alice_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kagi::transport

namespace kagi::transport {
namespace {

TEST_F(MtlsTest, OwnCertificateMustNameTheProcess) {
  EXPECT_TRUE(CheckOwnCertificate(*node2_, Role::kNode, "node-2").ok());
  absl::Status other_name = CheckOwnCertificate(*node2_, Role::kNode, "node-1");
  EXPECT_EQ(other_name.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other_name.message()),
              ::testing::HasSubstr("is node/node-2, not node/node-1"));
  absl::Status other_role =
      CheckOwnCertificate(*alice_, Role::kGateway, "alice");
  EXPECT_THAT(std::string(other_role.message()),
              ::testing::HasSubstr("is client/alice, not gateway/alice"));
  TlsFiles missing = *alice_;
  missing.cert_file = "/nonexistent/cert.pem";
  EXPECT_FALSE(CheckOwnCertificate(missing, Role::kClient, "alice").ok());
}

}  // namespace
}  // namespace kagi::transport
