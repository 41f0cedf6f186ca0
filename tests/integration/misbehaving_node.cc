// kagi-node-misbehaving: TEST ONLY, never installed. A real kagi-node
// process (services/node/serve.h) whose outbound round-4 acknowledgements of
// DKG, refresh and reshare sessions are tampered with, the way a compromised
// node holding its own identity key could, as $KAGI_MISBEHAVE says:
//
//   bad-ack:NODE[,NODE...]  the ack to NODE carries another payload,
//                           validly re-signed with this node's identity key
//   no-ack:NODE[,NODE...]   the ack to NODE is withheld (reported sent)
//
// Clauses combine with ';' ("bad-ack:node-1;no-ack:node-2").
// Everything else (every other round, every other peer) leaves unchanged.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_split.h"
#include "libs/protocol/common/envelope.h"
#include "libs/transport/identity_key.h"
#include "services/node/serve.h"

namespace {

class MisbehavingTransport final : public kagi::node::PeerTransport {
 public:
  MisbehavingTransport(std::unique_ptr<kagi::node::PeerTransport> inner,
                       kagi::crypto::Ed25519PrivateKey identity,
                       std::map<std::string, std::string> mode_of)
      : inner_(std::move(inner)),
        identity_(std::move(identity)),
        mode_of_(std::move(mode_of)) {}

  void Send(const std::string& node, const kagi::node::Sid0& sid0,
            kagi::Bytes envelope,
            std::function<void(absl::Status)> on_done) override {
    auto mode = mode_of_.find(node);
    if (mode != mode_of_.end()) {
      absl::StatusOr<kagi::protocol::Envelope> env =
          kagi::protocol::DecodeEnvelope(envelope, 1u << 22);
      if (env.ok() && IsAck(env->header)) {
        if (mode->second == "no-ack") {
          on_done(absl::OkStatus());
          return;
        }
        env->payload[0] ^= 0x01;
        const auto digest =
            kagi::protocol::EnvelopeDigest(env->header, env->payload);
        const auto sig = identity_.Sign(digest);
        std::copy(sig.begin(), sig.end(), env->signature.begin());
        envelope = kagi::protocol::EncodeEnvelope(*env);
      }
    }
    inner_->Send(node, sid0, std::move(envelope), std::move(on_done));
  }

 private:
  static bool IsAck(const kagi::protocol::EnvelopeHeader& h) {
    return h.round == 4 && h.to == kagi::protocol::kBroadcast &&
           (h.op == kagi::protocol::Op::kDkg ||
            h.op == kagi::protocol::Op::kReshare);
  }

  std::unique_ptr<kagi::node::PeerTransport> inner_;
  kagi::crypto::Ed25519PrivateKey identity_;
  std::map<std::string, std::string> mode_of_;  // node -> bad-ack / no-ack
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--config") != 0) {
    std::cerr << "usage: kagi-node-misbehaving --config PATH\n";
    return 2;
  }
  const char* spec = std::getenv("KAGI_MISBEHAVE");
  std::map<std::string, std::string> mode_of;
  for (absl::string_view clause :
       absl::StrSplit(spec == nullptr ? "" : spec, ';', absl::SkipEmpty())) {
    const std::pair<std::string, std::string> parsed =
        absl::StrSplit(clause, absl::MaxSplits(':', 1));
    if (parsed.first != "bad-ack" && parsed.first != "no-ack") {
      std::cerr << "KAGI_MISBEHAVE: bad-ack:NODE,... or no-ack:NODE,...\n";
      return 2;
    }
    for (absl::string_view node : absl::StrSplit(parsed.second, ',')) {
      mode_of[std::string(node)] = parsed.first;
    }
  }
  if (mode_of.empty()) {
    std::cerr << "KAGI_MISBEHAVE: bad-ack:NODE,... or no-ack:NODE,...\n";
    return 2;
  }
  auto decorate = [&](const kagi::v1::NodeConfig& config,
                      std::unique_ptr<kagi::node::PeerTransport> inner)
      -> absl::StatusOr<std::unique_ptr<kagi::node::PeerTransport>> {
    absl::StatusOr<kagi::crypto::Ed25519PrivateKey> identity =
        kagi::transport::LoadIdentityKey(config.identity_key_file());
    if (!identity.ok()) return identity.status();
    return std::unique_ptr<kagi::node::PeerTransport>(new MisbehavingTransport(
        std::move(inner), *std::move(identity), mode_of));
  };
  absl::Status st =
      kagi::node::ServeNode(argv[2], decorate, kagi::node::StopOnSignals());
  if (!st.ok()) {
    std::cerr << "kagi-node-misbehaving: " << st.message() << "\n";
    return 2;
  }
  return 0;
}
