// Integration: who may talk to whom. Plaintext and foreign-CA clients are
// refused at the TLS layer; a valid certificate of the wrong role is refused
// by the service (PERMISSION_DENIED); a peer's envelope must be signed by the
// identity key of the node whose certificate carries it.
#include "libs/transport/tls.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/protocol/common/envelope.h"
#include "libs/transport/identity_key.h"
#include "libs/transport/pki.h"
#include "tests/integration/integration_util.h"
#include "tools/kagictl/cluster.h"

namespace kagi::integration {
namespace {

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration t = absl::Seconds(10)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + t));
  return ctx;
}

std::string SecretString(const SecretBytes& s) {
  const ByteSpan b = s.secret();
  return std::string(b.begin(), b.end());
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Cluster>> c =
        Cluster::Start({KAGI_IT_BASE_PORT, 3000, true});
    if (!c.ok()) {
      setup_error_ = c.status().ToString();
      return;
    }
    cluster_ = *std::move(c);
  }
  static void TearDownTestSuite() { cluster_.reset(); }
  void SetUp() override { ASSERT_NE(cluster_, nullptr) << setup_error_; }

  // GatewayServes: the real client still gets answers.
  static void ExpectGatewayServes() {
    v1::ListKeysResponse list;
    grpc::Status st =
        cluster_->wallet()->ListKeys(Ctx().get(), v1::ListKeysRequest(), &list);
    EXPECT_TRUE(st.ok()) << Describe(st);
  }

  // A Deliver request carrying an envelope signed with `identity_file`'s key
  // as party 1 of a made-up session.
  static v1::DeliverRequest EnvelopeSignedWith(
      const std::string& identity_file, const std::array<uint8_t, 32>& sid0) {
    absl::StatusOr<crypto::Ed25519PrivateKey> key =
        transport::LoadIdentityKey(identity_file);
    EXPECT_TRUE(key.ok()) << key.status();
    const protocol::Ed25519EnvelopeSigner signer(1, *std::move(key));
    protocol::EnvelopeHeader header;
    header.op = protocol::Op::kSign;
    header.session = sid0;
    header.round = 1;
    header.from = 1;
    header.to = protocol::kBroadcast;
    const protocol::Envelope env =
        protocol::SignEnvelope(signer, header, Bytes{1, 2, 3, 4});
    const Bytes wire = protocol::EncodeEnvelope(env);
    v1::DeliverRequest req;
    req.set_sid0(std::string(sid0.begin(), sid0.end()));
    req.set_envelope(std::string(wire.begin(), wire.end()));
    return req;
  }

  static inline std::unique_ptr<Cluster> cluster_;
  static inline std::string setup_error_;
};

TEST_F(TlsTest, PlaintextClientsAreRefused) {
  {
    auto stub = v1::Wallet::NewStub(grpc::CreateChannel(
        cluster_->GatewayAddress(), grpc::InsecureChannelCredentials()));
    v1::ListKeysResponse list;
    grpc::Status st = stub->ListKeys(Ctx().get(), v1::ListKeysRequest(), &list);
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(st);
  }
  {
    auto stub = v1::Node::NewStub(grpc::CreateChannel(
        cluster_->NodeAddress(1), grpc::InsecureChannelCredentials()));
    v1::NodeInfo info;
    grpc::Status st =
        stub->GetNodeInfo(Ctx().get(), v1::GetNodeInfoRequest(), &info);
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(st);
    EXPECT_TRUE(info.name().empty());
  }
  {
    auto stub = v1::Peer::NewStub(grpc::CreateChannel(
        cluster_->NodeAddress(2), grpc::InsecureChannelCredentials()));
    v1::DeliverResponse resp;
    grpc::Status st = stub->Deliver(Ctx().get(), v1::DeliverRequest(), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(st);
  }
  ExpectGatewayServes();
}

TEST_F(TlsTest, CertificateOfAForeignCaIsRefused) {
  absl::StatusOr<std::string> real_ca = ReadFile(cluster_->PkiFile("ca.pem"));
  ASSERT_TRUE(real_ca.ok()) << real_ca.status();
  // A CA the cluster does not trust, issuing certificates with the very
  // names the cluster knows.
  absl::StatusOr<transport::CertAndKey> evil_ca =
      transport::CreateCa("Kagi local cluster CA", 30);
  ASSERT_TRUE(evil_ca.ok()) << evil_ca.status();
  absl::StatusOr<transport::CertAndKey> evil_client =
      transport::IssueCertificate(*evil_ca, transport::Role::kClient,
                                  "client-1", {"localhost"}, {"127.0.0.1"}, 30);
  ASSERT_TRUE(evil_client.ok()) << evil_client.status();
  absl::StatusOr<transport::CertAndKey> evil_gateway =
      transport::IssueCertificate(*evil_ca, transport::Role::kGateway,
                                  "gateway-1", {"localhost"}, {"127.0.0.1"},
                                  30);
  ASSERT_TRUE(evil_gateway.ok()) << evil_gateway.status();
  // Keep them in the temp dir, as an operator's mistake would.
  ASSERT_TRUE(transport::WriteFileAtomically(
                  absl::StrCat(cluster_->dir(), "/evil-client.pem"),
                  evil_client->cert_pem, 0644)
                  .ok());

  // The transport library itself refuses to build such a channel.
  {
    const std::string key_file =
        absl::StrCat(cluster_->dir(), "/evil-client.key");
    ASSERT_TRUE(transport::WriteFileAtomically(
                    key_file, SecretString(evil_client->key_pem), 0600)
                    .ok());
    auto ch = transport::MakeMtlsChannel(
        cluster_->GatewayAddress(), "gateway-1",
        {absl::StrCat(cluster_->dir(), "/evil-client.pem"), key_file,
         cluster_->PkiFile("ca.pem")});
    EXPECT_FALSE(ch.ok());
  }
  // Over the wire, the gateway's handshake refuses it.
  {
    auto stub = v1::Wallet::NewStub(RawTlsChannel(
        cluster_->GatewayAddress(), "gateway-1", *real_ca,
        evil_client->cert_pem, SecretString(evil_client->key_pem)));
    v1::ListKeysResponse list;
    grpc::Status st = stub->ListKeys(Ctx().get(), v1::ListKeysRequest(), &list);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(st);
  }
  // So does a node's, for a forged gateway.
  {
    auto stub = v1::Node::NewStub(RawTlsChannel(
        cluster_->NodeAddress(1), "node-1", *real_ca, evil_gateway->cert_pem,
        SecretString(evil_gateway->key_pem)));
    v1::NodeInfo info;
    grpc::Status st =
        stub->GetNodeInfo(Ctx().get(), v1::GetNodeInfoRequest(), &info);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(st);
  }
  // Control: the same raw channel with the cluster's own client certificate
  // works, so the refusals above are about the CA.
  {
    absl::StatusOr<std::string> cert =
        ReadFile(cluster_->PkiFile("client-1.pem"));
    absl::StatusOr<std::string> key =
        ReadFile(cluster_->PkiFile("client-1.key"));
    ASSERT_TRUE(cert.ok() && key.ok());
    auto stub = v1::Wallet::NewStub(RawTlsChannel(
        cluster_->GatewayAddress(), "gateway-1", *real_ca, *cert, *key));
    v1::ListKeysResponse list;
    grpc::Status st = stub->ListKeys(Ctx().get(), v1::ListKeysRequest(), &list);
    EXPECT_TRUE(st.ok()) << Describe(st);
  }
}

TEST_F(TlsTest, ServerNameIsPinned) {
  // node-1's address, but expecting node-2: node-1's certificate does not
  // name node-2, so the client refuses the server.
  auto ch = transport::MakeMtlsChannel(
      cluster_->NodeAddress(1), "node-2",
      {cluster_->PkiFile("gateway-1.pem"), cluster_->PkiFile("gateway-1.key"),
       cluster_->PkiFile("ca.pem")});
  ASSERT_TRUE(ch.ok()) << ch.status();
  v1::NodeInfo info;
  grpc::Status st = v1::Node::NewStub(*ch)->GetNodeInfo(
      Ctx().get(), v1::GetNodeInfoRequest(), &info);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(st);
}

TEST_F(TlsTest, OnlyTheGatewayMayCallTheNodeService) {
  v1::GetKeyRequest get;
  get.set_key_id(std::string(32, '\x01'));
  for (const char* as : {"node-2", "client-1"}) {
    SCOPED_TRACE(as);
    auto node = cluster_->NodeStub(1, as);
    ASSERT_TRUE(node.ok()) << node.status();
    v1::NodeInfo info;
    grpc::Status st =
        (*node)->GetNodeInfo(Ctx().get(), v1::GetNodeInfoRequest(), &info);
    EXPECT_TRUE(RpcError(st, grpc::StatusCode::PERMISSION_DENIED,
                         "may not call kagi.v1.Node"));
    EXPECT_TRUE(RpcError(st, grpc::StatusCode::PERMISSION_DENIED, as));
    v1::KeyInfo key;
    st = (*node)->GetKey(Ctx().get(), get, &key);
    EXPECT_TRUE(RpcError(st, grpc::StatusCode::PERMISSION_DENIED,
                         "may not call kagi.v1.Node"));
  }
  // Control: the gateway's certificate may.
  auto node = cluster_->NodeStub(1, "gateway-1");
  ASSERT_TRUE(node.ok()) << node.status();
  v1::NodeInfo info;
  grpc::Status st =
      (*node)->GetNodeInfo(Ctx().get(), v1::GetNodeInfoRequest(), &info);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(info.name(), "node-1");
}

TEST_F(TlsTest, OnlyClientsMayCallTheWallet) {
  absl::StatusOr<std::string> ca = ReadFile(cluster_->PkiFile("ca.pem"));
  absl::StatusOr<std::string> cert = ReadFile(cluster_->PkiFile("node-2.pem"));
  absl::StatusOr<std::string> key = ReadFile(cluster_->PkiFile("node-2.key"));
  ASSERT_TRUE(ca.ok() && cert.ok() && key.ok());
  auto stub = v1::Wallet::NewStub(
      RawTlsChannel(cluster_->GatewayAddress(), "gateway-1", *ca, *cert, *key));
  v1::ListKeysResponse list;
  grpc::Status st = stub->ListKeys(Ctx().get(), v1::ListKeysRequest(), &list);
  EXPECT_TRUE(RpcError(st, grpc::StatusCode::PERMISSION_DENIED, "node-2"));
}

TEST_F(TlsTest, OnlyPeerNodesMayCallThePeerService) {
  OsRng rng;
  const v1::DeliverRequest req = EnvelopeSignedWith(
      absl::StrCat(kagictl::NodeDir(cluster_->dir(), 2), "/identity.pem"),
      rng.Bytes<32>());
  for (const char* as : {"gateway-1", "client-1"}) {
    SCOPED_TRACE(as);
    auto peer = cluster_->PeerStub(1, as);
    ASSERT_TRUE(peer.ok()) << peer.status();
    v1::DeliverResponse resp;
    grpc::Status st = (*peer)->Deliver(Ctx().get(), req, &resp);
    EXPECT_TRUE(RpcError(st, grpc::StatusCode::PERMISSION_DENIED,
                         "may not call kagi.v1.Peer"));
  }
}

TEST_F(TlsTest, EnvelopeMustBeSignedByTheIdentityKeyOfTheCallingNode) {
  OsRng rng;
  auto peer = cluster_->PeerStub(1, "node-2");
  ASSERT_TRUE(peer.ok()) << peer.status();
  // node-2's connection, node-3's signature: refused at the door.
  {
    const v1::DeliverRequest forged = EnvelopeSignedWith(
        absl::StrCat(kagictl::NodeDir(cluster_->dir(), 3), "/identity.pem"),
        rng.Bytes<32>());
    v1::DeliverResponse resp;
    grpc::Status st = (*peer)->Deliver(Ctx().get(), forged, &resp);
    EXPECT_TRUE(
        RpcError(st, grpc::StatusCode::PERMISSION_DENIED, "identity key"));
    EXPECT_TRUE(RpcError(st, grpc::StatusCode::PERMISSION_DENIED, "node-2"));
  }
  // The same envelope signed with node-2's own key is accepted (it waits in
  // the early buffer for a session that never starts): the check is the
  // signer, not the call.
  {
    const v1::DeliverRequest genuine = EnvelopeSignedWith(
        absl::StrCat(kagictl::NodeDir(cluster_->dir(), 2), "/identity.pem"),
        rng.Bytes<32>());
    v1::DeliverResponse resp;
    grpc::Status st = (*peer)->Deliver(Ctx().get(), genuine, &resp);
    EXPECT_TRUE(st.ok()) << Describe(st);
  }
  // And node-3's envelope on node-3's own connection is accepted too.
  {
    auto peer3 = cluster_->PeerStub(1, "node-3");
    ASSERT_TRUE(peer3.ok()) << peer3.status();
    const v1::DeliverRequest genuine = EnvelopeSignedWith(
        absl::StrCat(kagictl::NodeDir(cluster_->dir(), 3), "/identity.pem"),
        rng.Bytes<32>());
    v1::DeliverResponse resp;
    grpc::Status st = (*peer3)->Deliver(Ctx().get(), genuine, &resp);
    EXPECT_TRUE(st.ok()) << Describe(st);
  }
}

TEST_F(TlsTest, ClusterStillCreatesKeysAndSignsAfterTheRefusals) {
  v1::KeyInfo key;
  grpc::Status st = CreateKey(cluster_->wallet(), 2, &key);
  ASSERT_TRUE(st.ok()) << Describe(st);
  const v1::SignRequest req = SimpleSignRequest(key.key_id());
  v1::SignResponse resp;
  st = Sign(cluster_->wallet(), req, &resp);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_TRUE(SignaturesValid(key, req, resp.signatures()));
}

}  // namespace
}  // namespace kagi::integration
