// Fuzz target: a node's request handling, from the protobuf bytes of a
// StartSignRequest (what the gateway sends kagi.v1.Node.StartSign) down to
// the admission decision, as the service handler runs it:
// NodeCore::StartSign (which checks the client's refusal budget and audits
// a refusal that did not reach the store itself). node-1 of a 2-of-3 cluster
// runs with a real SQLite store in a temporary directory, one ACTIVE key
// (fixtures.h NodeKey) and a policy; its peers are unreachable, so an admitted
// request ends when its signing session cannot send round 1.
//
// The first byte is a set of flags that let the fuzzer past what it cannot
// forge: bit 0 sets the fixture's key id, bit 1 an expiry an hour from now,
// bit 2 a request id not used before, bit 3 replaces the approvals with
// valid signatures over the request's digest (bit 4: alice's, bit 5:
// bob's). Bit 7 instead hands the rest to Peer.Deliver as a DeliverRequest
// from node-2. The node is rebuilt every 256 inputs, so its store stays
// small.
//
// KAGI_FUZZ_VERBOSE=1 prints each request's status (to see how far the
// seeds get). Any status but Internal, Unknown, DataLoss and Unimplemented is a
// legitimate answer to a bad request.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kagi/v1/node.pb.h"
#include "libs/base/secret.h"
#include "libs/crypto/evp.h"
#include "libs/policy/approval.h"
#include "libs/policy/request_digest.h"
#include "libs/storage/sealed.h"
#include "libs/storage/sqlite_store.h"
#include "libs/transport/config.h"
#include "services/node/node.h"
#include "tests/fuzz/fixtures.h"
#include "tests/fuzz/fuzz_util.h"

namespace kagi::fuzz {
namespace {

class NoNetwork final : public node::PeerTransport {
 public:
  void Send(const std::string& node, const node::Sid0&, Bytes,
            std::function<void(absl::Status)> on_done) override {
    on_done(absl::UnavailableError(
        absl::StrCat(node, ": unreachable (fuzz target: no network)")));
  }
};

struct Approvers {
  policy::ApproverKey alice =
      *policy::ApproverKey::Generate(policy::ApproverEntry::Scheme::kEd25519);
  policy::ApproverKey bob =
      *policy::ApproverKey::Generate(policy::ApproverEntry::Scheme::kEd25519);
};

const Approvers& Keys() {
  static const Approvers* keys = new Approvers;
  return *keys;
}

const SecretBytes& Kek() {
  static const SecretBytes* kek = new SecretBytes(Bytes(32, 0x42));
  return *kek;
}

// A node-1 in a fresh temporary directory.
class Node {
 public:
  Node() {
    char tmpl[] = "/tmp/kagi-fuzz-node-XXXXXX";
    KAGI_CHECK(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    const protocol::testing::DkgRun& dkg = NodeDkg();
    v1::NodeConfig config;
    config.set_name("node-1");
    for (uint32_t id = 2; id <= 3; ++id) {
      v1::PeerConfig* peer = config.add_peers();
      peer->set_name(absl::StrCat("node-", id));
      peer->set_address(absl::StrCat("127.0.0.1:", 1 + id));
      peer->set_identity_public_key(
          HexEncode(dkg.ids.parties[id - 1].identity_key));
    }
    config.set_storage_path(dir_ + "/node.db");
    config.set_allow_raw_digest(true);
    config.mutable_limits()->set_refusals_per_second(1000000);
    config.mutable_limits()->set_refusal_burst(1000000);
    config.mutable_limits()->set_round_timeout_ms(1000);
    absl::StatusOr<std::unique_ptr<storage::SqliteStore>> store =
        storage::SqliteStore::Open(config.storage_path());
    KAGI_CHECK(store.ok());
    StoreKey(**store);
    v1::Policy policy_proto;
    KAGI_CHECK(
        transport::ParseTextProto(NodePolicyText({Keys().alice.PublicKeyHex(),
                                                  Keys().bob.PublicKeyHex()}),
                                  "policy", &policy_proto)
            .ok());
    absl::StatusOr<policy::Policy> policy =
        policy::Policy::FromProto(policy_proto);
    KAGI_CHECK(policy.ok());
    absl::StatusOr<crypto::Ed25519PrivateKey> identity =
        crypto::Ed25519PrivateKey::FromSeed(
            SecretBytes(NodeIdentitySeeds()[0]));
    KAGI_CHECK(identity.ok());
    absl::StatusOr<std::unique_ptr<node::NodeCore>> core =
        node::NodeCore::Create(
            config, *std::move(store), Kek().Clone(), *std::move(identity),
            &network_,
            std::make_shared<const policy::Policy>(*std::move(policy)));
    KAGI_CHECK(core.ok());
    core_ = *std::move(core);
    KAGI_CHECK(core_->CheckKek().ok());
  }
  ~Node() {
    core_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  node::NodeCore& core() { return *core_; }

 private:
  static void StoreKey(storage::Store& store) {
    absl::StatusOr<protocol::KeyShare> share = protocol::KeyShare::Deserialize(
        NodeDkg().shares[0].Serialize().secret());
    KAGI_CHECK(share.ok());
    share->networks = {"bitcoin:regtest", "ethereum:1337", "raw_digest"};
    const SecretBytes plain = share->Serialize();
    InsecureDeterministicRng rng(3);
    const storage::RecordContext ctx{storage::kRecordShare, share->key_id,
                                     share->epoch, 1};
    absl::StatusOr<Bytes> sealed =
        storage::Seal(Kek(), ctx, plain.secret(), rng);
    KAGI_CHECK(sealed.ok());
    KAGI_CHECK(store
                   .PutShare(share->key_id, share->epoch,
                             storage::ShareState::kActive, *sealed,
                             share->sid_key)
                   .ok());
  }

  std::string dir_;
  NoNetwork network_;
  std::unique_ptr<node::NodeCore> core_;
};

void ExpectNodeStatus(const absl::Status& s, const char* what) {
  switch (s.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnimplemented:
      std::fprintf(stderr, "%s: unexpected status %s\n", what,
                   s.ToString().c_str());
      std::abort();
    default:
      return;
  }
}

void Approve(uint8_t flags, v1::SignRequest& request) {
  request.clear_approvals();
  absl::StatusOr<policy::RequestDigest> digest =
      policy::SignRequestDigest(request);
  if (!digest.ok()) return;
  const std::pair<const char*, const policy::ApproverKey*> who[] = {
      {"alice", &Keys().alice}, {"bob", &Keys().bob}};
  for (size_t i = 0; i < 2; ++i) {
    if ((flags & (0x10 << i)) == 0) continue;
    absl::StatusOr<Bytes> sig = who[i].second->Sign(*digest);
    KAGI_CHECK(sig.ok());
    v1::Approval* a = request.add_approvals();
    a->set_approver(who[i].first);
    a->set_signature(std::string(sig->begin(), sig->end()));
  }
}

}  // namespace
}  // namespace kagi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  static std::unique_ptr<fuzz::Node> node;
  static uint64_t runs = 0;
  if (node == nullptr || runs % 256 == 0) {
    node.reset();
    node = std::make_unique<fuzz::Node>();
  }
  ++runs;
  fuzz::FuzzInput in(data, size);
  const uint8_t flags = static_cast<uint8_t>(in.Select(256));
  const std::string bytes(in.text());
  if (flags & 0x80) {
    v1::DeliverRequest deliver;
    if (!deliver.ParseFromString(bytes)) return 0;
    fuzz::ExpectNodeStatus(node->core().Deliver("node-2", deliver), "Deliver");
    return 0;
  }
  v1::StartSignRequest request;
  if (!request.ParseFromString(bytes)) return 0;
  v1::SignRequest& r = *request.mutable_request();
  if (flags & 1) {
    const auto& id = fuzz::NodeKey().key_id;
    r.set_key_id(std::string(id.begin(), id.end()));
  }
  if (flags & 2) {
    r.set_expiry_unix_seconds(
        static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 3600));
  }
  if (flags & 4) r.set_request_id(absl::StrCat(r.request_id(), "-", runs));
  if (flags & 8) fuzz::Approve(flags, r);
  node::CallInfo info;
  const absl::Status s = node->core().StartSign(request, &info).status();
  fuzz::ExpectNodeStatus(s, "StartSign");
  static const bool verbose = std::getenv("KAGI_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "StartSign: %s\n", s.ToString().c_str());
  return 0;
}
