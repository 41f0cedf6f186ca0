// Robustness: every decoder of untrusted bytes (wire messages, setups,
// stored records) gets thousands of truncated, extended, bit-flipped,
// byte-replaced and random inputs derived from valid ones. Each must return a
// Status (or accept a still-valid input) and never crash, hang or read out of
// bounds — the ASan/UBSan run of this test is the point. Seeded; the seed is
// printed on failure.
#include <functional>

#include "gtest/gtest.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/schnorr.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/rvole.h"
#include "libs/protocol/common/envelope.h"
#include "libs/protocol/common/setup.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/testing/simulation.h"
#include "libs/storage/sealed.h"

namespace kagi {
namespace {

// Mutations of `valid`: every truncation (sampled for long inputs), one
// extra byte, random single-byte replacements and bit flips, random blobs.
std::vector<Bytes> Mutations(const Bytes& valid, Rng& rng, size_t count) {
  std::vector<Bytes> out;
  const size_t step = valid.size() > 512 ? valid.size() / 256 : 1;
  for (size_t len = 0; len < valid.size(); len += step) {
    out.emplace_back(valid.begin(), valid.begin() + static_cast<long>(len));
  }
  Bytes longer = valid;
  longer.push_back(0);
  out.push_back(longer);
  for (size_t i = 0; i < count && !valid.empty(); ++i) {
    Bytes m = valid;
    uint64_t r = 0;
    rng.Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(&r), sizeof(r)));
    const size_t pos = static_cast<size_t>(r % m.size());
    if (i % 2 == 0) {
      m[pos] = static_cast<uint8_t>(m[pos] ^ (1u << ((r >> 32) % 8)));
    } else {
      m[pos] = static_cast<uint8_t>(r >> 40);
    }
    out.push_back(std::move(m));
  }
  for (size_t i = 0; i < 64; ++i) {
    Bytes blob((i * 37) % (valid.size() + 80));
    rng.Fill(absl::MakeSpan(blob));
    out.push_back(std::move(blob));
  }
  return out;
}

void Fuzz(const char* name, const Bytes& valid, size_t count,
          const std::function<bool(ByteSpan)>& decode) {
  InsecureDeterministicRng rng(12345);
  ASSERT_TRUE(decode(valid)) << name << ": the valid input must decode";
  size_t rejected = 0;
  for (const Bytes& m : Mutations(valid, rng, count)) {
    rejected += decode(m) ? 0 : 1;
  }
  EXPECT_GT(rejected, 0u) << name;
  std::printf("%-24s %zu mutations, %zu rejected\n", name,
              Mutations(valid, rng, count).size(), rejected);
}

TEST(DecoderRobustnessTest, SetupEnvelopeAndProofDecoders) {
  protocol::testing::Identities ids = protocol::testing::MakeIdentities(3, 1);
  protocol::SessionSetup setup;
  setup.op = protocol::Op::kSign;
  setup.key_id[0] = 1;
  setup.parties = ids.parties;
  setup.threshold = 2;
  setup.signers = {1, 3};
  setup.items.resize(2);
  setup.items[1].path = {0, 5, 7};
  Fuzz("setup", protocol::EncodeSetup(setup), 4000,
       [](ByteSpan b) { return protocol::DecodeSetup(b).ok(); });
  protocol::EnvelopeHeader h;
  h.from = 1;
  const protocol::Envelope env =
      protocol::SignEnvelope(ids.signer(1), h, Bytes(100, 7));
  const protocol::IdentityVerifier verifier(setup);
  Fuzz("envelope", protocol::EncodeEnvelope(env), 4000, [&](ByteSpan b) {
    absl::StatusOr<protocol::Envelope> e = protocol::DecodeEnvelope(b, 4096);
    return e.ok() && verifier.Verify(*e).ok();
  });
  InsecureDeterministicRng rng(2);
  const crypto::Scalar a = crypto::Scalar::RandomNonZero(rng);
  const crypto::Point big_a = *crypto::Point::MulGenerator(a);
  const crypto::PokContext ctx{AsBytes("sid"), AsBytes("l"), 1, 0, ByteSpan()};
  const auto proof = crypto::ProveKnowledge(ctx, a, big_a, rng)->Encode();
  Fuzz("schnorr proof", Bytes(proof.begin(), proof.end()), 2000,
       [&](ByteSpan b) {
         absl::StatusOr<crypto::SchnorrProof> p =
             crypto::SchnorrProof::Decode(b, "pi");
         return p.ok() && crypto::VerifyKnowledge(ctx, big_a, *p).ok();
       });
  const std::string xpub =
      "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSg"
      "v6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB";
  Fuzz("xpub", Bytes(xpub.begin(), xpub.end()), 2000, [](ByteSpan b) {
    return crypto::ExtendedPublicKey::Decode(
               absl::string_view(reinterpret_cast<const char*>(b.data()),
                                 b.size()))
        .ok();
  });
}

TEST(DecoderRobustnessTest, OtStackMessages) {
  InsecureDeterministicRng rng(3);
  const mpc::BaseOtSession s{rng.Bytes<32>(), 1, 2};
  Bytes msg1;
  mpc::BaseOtReceiver::Start(s, rng, &msg1);
  // Base-OT msg1 through the sender (a full base OT per input: sample).
  Fuzz("base-ot msg1", msg1, 40,
       [&](ByteSpan b) { return mpc::BaseOtSenderRespond(s, b, rng).ok(); });
  Bytes m1;
  mpc::BaseOtReceiver recv = mpc::BaseOtReceiver::Start(s, rng, &m1);
  mpc::BaseOtSenderResult sent = *mpc::BaseOtSenderRespond(s, m1, rng);
  mpc::CoteSenderSeeds a = *std::move(recv).Finish(sent.msg2);
  const mpc::RvoleSession rs{rng.Bytes<32>(), 1, 2};
  // The receiver's state is a function of its Rng: a fixed seed recreates
  // the same β and rows for every decode of a mutated msg2.
  auto start_receiver = [&](Bytes* out) {
    InsecureDeterministicRng fixed(77);
    return mpc::RvoleReceiver::Start(sent.seeds, rs, fixed, out);
  };
  Bytes r1;
  start_receiver(&r1);
  const std::array<crypto::Scalar, 2> in = {crypto::Scalar::One(),
                                            crypto::Scalar::One()};
  Fuzz("cote/rvole msg1", r1, 60, [&](ByteSpan b) {
    return mpc::RvoleSenderRespond(a, rs, in, b, rng).ok();
  });
  const Bytes r2 = mpc::RvoleSenderRespond(a, rs, in, r1, rng)->msg2;
  Fuzz("rvole msg2", r2, 60, [&](ByteSpan b) {
    Bytes scratch;
    return start_receiver(&scratch).Finish(b).ok();
  });
}

TEST(DecoderRobustnessTest, StoredRecords) {
  const protocol::testing::DkgRun dkg = protocol::testing::RunDkg(2, 2, 4);
  ASSERT_TRUE(dkg.ok());
  const SecretBytes share = dkg.shares[0].Serialize();
  Fuzz("key share", ToBytes(share.secret()), 3000,
       [](ByteSpan b) { return protocol::KeyShare::Deserialize(b).ok(); });
  InsecureDeterministicRng rng(5);
  const SecretBytes kek(Bytes(32, 9));
  const storage::RecordContext ctx{"share", {}, 0, 1};
  const Bytes sealed = *storage::Seal(kek, ctx, AsBytes("secret"), rng);
  Fuzz("sealed record", sealed, 2000,
       [&](ByteSpan b) { return storage::Open(kek, ctx, b).ok(); });
}

}  // namespace
}  // namespace kagi
