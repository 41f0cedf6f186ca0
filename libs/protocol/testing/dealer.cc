// TEST ONLY — trusted-dealer fixture; see dealer.h. Never link into a binary.
#include "libs/protocol/testing/dealer.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "libs/base/bytes.h"
#include "libs/base/check.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"
#include "libs/mpc/base_ot.h"
#include "libs/protocol/common/ids.h"
#include "libs/protocol/lagrange.h"

namespace kagi::protocol::testing {

using crypto::Point;
using crypto::Scalar;

std::vector<KeyShare> DealShares(const Scalar& secret,
                                 const std::array<uint8_t, 32>& chain_code,
                                 uint32_t t, const Identities& ids,
                                 uint64_t seed) {
  const uint32_t n = static_cast<uint32_t>(ids.parties.size());
  KAGI_CHECK(t >= 2 && t <= n && n <= kMaxParties);
  KAGI_CHECK(!secret.IsZero());
  for (uint32_t i = 0; i < n; ++i) {
    KAGI_CHECK(ids.parties[i].id == i + 1);
  }
  InsecureDeterministicRng rng(seed);

  // f(z) = secret + Σ_{k=1}^{t-1} a_k z^k, every a_k ≠ 0 (as the DKG).
  std::vector<Scalar> coeffs;
  coeffs.push_back(secret);
  for (uint32_t k = 1; k < t; ++k) {
    coeffs.push_back(Scalar::RandomNonZero(rng));
  }
  absl::StatusOr<Point> public_key = Point::MulGenerator(secret);
  KAGI_CHECK(public_key.ok());

  std::vector<Scalar> x(n);
  std::vector<Point> public_shares;
  for (uint32_t m = 1; m <= n; ++m) {
    x[m - 1] = EvaluatePolynomial(coeffs, m);
    // x_m = 0 has negligible probability; MulGenerator would refuse it.
    absl::StatusOr<Point> xm = Point::MulGenerator(x[m - 1]);
    KAGI_CHECK(xm.ok());
    public_shares.push_back(*xm);
  }
  coeffs.clear();  // Scalar's destructor wipes

  // sid_key: a fixture-specific hash of the seed (there is no DKG session).
  ByteWriter sid_in;
  sid_in.PutLengthPrefixed(AsBytes(std::string("kagi/test/trusted-dealer")));
  sid_in.PutU64(seed);
  const std::array<uint8_t, 32> sid_key = crypto::Sha256(sid_in.bytes());

  // Real base OT for every ordered pair (A = i, B = j): A is the base-OT
  // receiver (COTe sender), B the base-OT sender (COTe receiver).
  std::map<std::pair<uint32_t, uint32_t>, mpc::CoteSenderSeeds> sender_seeds;
  std::map<std::pair<uint32_t, uint32_t>, mpc::CoteReceiverSeeds>
      receiver_seeds;
  for (uint32_t a = 1; a <= n; ++a) {
    for (uint32_t b = 1; b <= n; ++b) {
      if (a == b) {
        continue;
      }
      const mpc::BaseOtSession session{sid_key, a, b};
      Bytes msg1;
      mpc::BaseOtReceiver receiver =
          mpc::BaseOtReceiver::Start(session, rng, &msg1);
      absl::StatusOr<mpc::BaseOtSenderResult> sender =
          mpc::BaseOtSenderRespond(session, msg1, rng);
      KAGI_CHECK(sender.ok());
      absl::StatusOr<mpc::CoteSenderSeeds> seeds =
          std::move(receiver).Finish(sender->msg2);
      KAGI_CHECK(seeds.ok());
      sender_seeds.emplace(std::make_pair(a, b), std::move(*seeds));
      receiver_seeds.emplace(std::make_pair(a, b), std::move(sender->seeds));
    }
  }
  // κ per unordered pair {i < j}.
  std::map<std::pair<uint32_t, uint32_t>, SecretBytes> zero_seeds;
  for (uint32_t i = 1; i <= n; ++i) {
    for (uint32_t j = i + 1; j <= n; ++j) {
      SecretBytes kappa(32);
      rng.Fill(kappa.mutable_span());
      zero_seeds.emplace(std::make_pair(i, j), std::move(kappa));
    }
  }

  const std::array<uint8_t, 32> key_id =
      ComputeKeyId(*public_key, chain_code, ids.parties, t);
  std::vector<KeyShare> shares(n);
  for (uint32_t i = 1; i <= n; ++i) {
    KeyShare& s = shares[i - 1];
    s.key_id = key_id;
    s.sid_key = sid_key;
    s.epoch = 0;
    s.self = i;
    s.threshold = t;
    s.parties = ids.parties;
    s.secret_share = x[i - 1];
    s.public_key = *public_key;
    s.public_shares = public_shares;
    s.chain_code = chain_code;
    for (uint32_t j = 1; j <= n; ++j) {
      if (j == i) {
        continue;
      }
      PairwiseMaterial m;
      m.peer = j;
      const mpc::CoteSenderSeeds& snd = sender_seeds.at({i, j});
      m.as_sender.delta = snd.delta.Clone();
      m.as_sender.keys = snd.keys.Clone();
      const mpc::CoteReceiverSeeds& rcv = receiver_seeds.at({j, i});
      m.as_receiver.keys0 = rcv.keys0.Clone();
      m.as_receiver.keys1 = rcv.keys1.Clone();
      m.zero_seed = zero_seeds.at({std::min(i, j), std::max(i, j)}).Clone();
      s.pairwise.push_back(std::move(m));
    }
  }
  return shares;
}

}  // namespace kagi::protocol::testing
