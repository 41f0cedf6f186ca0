// KeyShare serialization: exact round trip of a real DKG share (every field,
// including the secret share and all OT material), deterministic encoding,
// and rejection — never a crash — of truncations, bit flips, trailing bytes
// and, with the checksum recomputed over a tampered body, of every
// inconsistency the decoder promises to catch, each with its own reason.
// Also: printing a share never shows its secrets.
#include "libs/protocol/keyshare.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/mpc/base_ot.h"
#include "libs/protocol/testing/simulation.h"

namespace kagi::protocol {
namespace {

using crypto::Point;
using crypto::Scalar;
using testing::DkgRun;
using testing::RunDkg;

// Field tags in keyshare.cc's order (the format is part of the contract).
enum : uint8_t {
  kKeyId = 1,
  kSidKey,
  kEpoch,
  kSelf,
  kThreshold,
  kParties,
  kSecretShare,
  kPublicKey,
  kPublicShares,
  kChainCode,
  kPairwise,
  kLegacyBaseOt,  // version 2 on
  kNetworks,      // version 3 on
};
constexpr size_t kFields = 13;
constexpr size_t kHeader = 7 + 2;  // "KAGI-KS" ‖ u16 version
constexpr size_t kChecksum = 32;

const DkgRun& Dkg() {
  static const DkgRun* run = [] {
    auto* r = new DkgRun(RunDkg(2, 3, 4242));
    for (const auto& [id, st] : r->result.status) {
      EXPECT_TRUE(st.ok()) << "DKG party " << id << ": " << st;
    }
    return r;
  }();
  return *run;
}

template <size_t N>
Bytes ToBytesArr(const std::array<uint8_t, N>& a) {
  return Bytes(a.begin(), a.end());
}

Bytes Serialized(const KeyShare& s) { return ToBytes(s.Serialize().secret()); }

// The serialized record taken apart: header, tagged fields, checksum.
struct Record {
  Bytes header;
  std::vector<std::pair<uint8_t, Bytes>> fields;

  static Record Parse(const Bytes& b) {
    Record r;
    r.header.assign(b.begin(), b.begin() + kHeader);
    size_t p = kHeader;
    const size_t end = b.size() - kChecksum;
    while (p < end) {
      const uint8_t tag = b[p];
      const uint32_t len = LoadBigEndian32(b.data() + p + 1);
      r.fields.emplace_back(tag,
                            Bytes(b.begin() + p + 5, b.begin() + p + 5 + len));
      p += 5 + len;
    }
    EXPECT_EQ(p, end);
    return r;
  }
  Bytes& Field(uint8_t tag) {
    for (auto& [t, v] : fields) {
      if (t == tag) {
        return v;
      }
    }
    ADD_FAILURE() << "no field " << int{tag};
    return fields[0].second;
  }
  // Encode re-serializes and appends a freshly computed (valid) checksum.
  Bytes Encode() const {
    ByteWriter w;
    w.PutRaw(header);
    for (const auto& [t, v] : fields) {
      w.PutU8(t);
      w.PutLengthPrefixed(v);
    }
    const crypto::Digest32 sum = crypto::Sha256(w.bytes());
    w.PutRaw(sum);
    return std::move(w).Take();
  }
};

// V2Of builds the version-2 encoding of `share` by hand from the documented
// format (keyshare.h): the version-3 record with version 2 in the header and
// without field 13, under a fresh checksum. Version 2 is exactly what nodes
// wrote before keys were bound to networks.
Bytes V2Of(const KeyShare& share) {
  Record r = Record::Parse(Serialized(share));
  EXPECT_EQ(r.fields.size(), kFields);
  EXPECT_EQ(r.fields.back().first, kNetworks);
  r.fields.pop_back();
  r.header[7] = 0;
  r.header[8] = 2;
  return r.Encode();
}

// V1Of builds the version-1 encoding of `share`: the version-2 record with
// version 1 in the header and without field 12. Version 1 is exactly what
// nodes wrote before the uniform base-OT fix.
Bytes V1Of(const KeyShare& share) {
  Record r = Record::Parse(V2Of(share));
  EXPECT_EQ(r.fields.back().first, kLegacyBaseOt);
  r.fields.pop_back();
  r.header[7] = 0;
  r.header[8] = 1;
  return r.Encode();
}

// Expects rejection with InvalidArgument and a message containing `reason`.
void ExpectRejected(const Bytes& b, absl::string_view reason,
                    const std::string& what) {
  const absl::StatusOr<KeyShare> s = KeyShare::Deserialize(b);
  ASSERT_FALSE(s.ok()) << what << ": accepted";
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument)
      << what << ": " << s.status();
  EXPECT_NE(s.status().message().find(reason), absl::string_view::npos)
      << what << ": got \"" << s.status().message() << "\", want \"" << reason
      << "\"";
}

void ExpectEqualShares(const KeyShare& a, const KeyShare& b) {
  EXPECT_EQ(a.key_id, b.key_id);
  EXPECT_EQ(a.sid_key, b.sid_key);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.self, b.self);
  EXPECT_EQ(a.threshold, b.threshold);
  ASSERT_EQ(a.parties.size(), b.parties.size());
  for (size_t i = 0; i < a.parties.size(); ++i) {
    EXPECT_EQ(a.parties[i].id, b.parties[i].id);
    EXPECT_EQ(a.parties[i].identity_key, b.parties[i].identity_key);
  }
  EXPECT_EQ(a.secret_share, b.secret_share);
  EXPECT_EQ(a.secret_share.ToBytes(), b.secret_share.ToBytes());
  EXPECT_EQ(a.public_key, b.public_key);
  EXPECT_EQ(a.public_shares, b.public_shares);
  EXPECT_EQ(a.chain_code, b.chain_code);
  EXPECT_EQ(a.legacy_base_ot, b.legacy_base_ot);
  EXPECT_EQ(a.networks, b.networks);
  ASSERT_EQ(a.pairwise.size(), b.pairwise.size());
  for (size_t i = 0; i < a.pairwise.size(); ++i) {
    const PairwiseMaterial& x = a.pairwise[i];
    const PairwiseMaterial& y = b.pairwise[i];
    EXPECT_EQ(x.peer, y.peer);
    // Compare raw bytes (not only SecretBytes' operator==) to be explicit.
    auto same = [](const SecretBytes& p, const SecretBytes& q) {
      return p.size() == q.size() &&
             std::equal(p.secret().begin(), p.secret().end(),
                        q.secret().begin());
    };
    EXPECT_TRUE(same(x.as_sender.delta, y.as_sender.delta))
        << "peer " << x.peer;
    EXPECT_TRUE(same(x.as_sender.keys, y.as_sender.keys)) << "peer " << x.peer;
    EXPECT_TRUE(same(x.as_receiver.keys0, y.as_receiver.keys0));
    EXPECT_TRUE(same(x.as_receiver.keys1, y.as_receiver.keys1));
    EXPECT_TRUE(same(x.zero_seed, y.zero_seed));
    EXPECT_EQ(x.as_sender.delta.size(), 32u);
    EXPECT_EQ(x.as_sender.keys.size(), mpc::kBaseOts * 32);
    EXPECT_EQ(x.zero_seed.size(), 32u);
  }
}

TEST(KeyShareTest, RoundTripIsExactForEveryParty) {
  const DkgRun& dkg = Dkg();
  ASSERT_TRUE(dkg.ok());
  for (const KeyShare& share : dkg.shares) {
    const SecretBytes bytes = share.Serialize();
    const absl::StatusOr<KeyShare> back = KeyShare::Deserialize(bytes.secret());
    ASSERT_TRUE(back.ok()) << back.status();
    ExpectEqualShares(share, *back);
    // Re-serializing the decoded share gives the same bytes.
    EXPECT_EQ(back->Serialize(), bytes);
    EXPECT_NE(back->Pairwise(share.pairwise[0].peer), nullptr);
    EXPECT_EQ(back->Pairwise(share.self), nullptr);
  }
}

TEST(KeyShareTest, SerializeIsDeterministic) {
  const KeyShare& share = Dkg().shares[1];
  const Bytes a = Serialized(share);
  const Bytes b = Serialized(share);
  EXPECT_EQ(a, b);
  // Different parties' shares differ.
  EXPECT_NE(a, Serialized(Dkg().shares[0]));
  // Expected size: header, 13 fields, checksum.
  const size_t n = 3;
  const size_t pair = 4 + 32 + 3 * mpc::kBaseOts * 32 + 32;
  const size_t want = kHeader + kFields * 5 + 32 + 32 + 8 + 4 + 4 +
                      (4 + n * 36) + 32 + 33 + (4 + n * 33) + 32 +
                      (4 + (n - 1) * pair) + 1 + 4 + kChecksum;
  EXPECT_EQ(a.size(), want);
  // The layout is what the header documents: version 3, fields 1..13, the
  // legacy_base_ot byte (0: a DKG share), then the networks (none here).
  EXPECT_EQ(std::string(a.begin(), a.begin() + 7), "KAGI-KS");
  EXPECT_EQ(a[7], 0);
  EXPECT_EQ(a[8], 3);
  const Record r = Record::Parse(a);
  ASSERT_EQ(r.fields.size(), kFields);
  for (size_t i = 0; i < r.fields.size(); ++i) {
    EXPECT_EQ(r.fields[i].first, i + 1);
  }
  EXPECT_EQ(r.fields[kFields - 2].second, Bytes{0});
  EXPECT_EQ(r.fields.back().second, (Bytes{0, 0, 0, 0}));
  EXPECT_EQ(Record::Parse(a).Encode(), a);  // the test's re-encoder is exact
}

TEST(KeyShareTest, EveryTruncationIsRejected) {
  const Bytes full = Serialized(Dkg().shares[0]);
  std::vector<size_t> lengths;
  for (size_t len = 0; len < full.size(); ++len) {  // every proper prefix
    lengths.push_back(len);
  }
  for (size_t len : lengths) {
    const absl::StatusOr<KeyShare> s =
        KeyShare::Deserialize(ByteSpan(full.data(), len));
    ASSERT_FALSE(s.ok()) << "prefix of " << len << " bytes accepted";
    if (len >= kHeader + kChecksum) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << len;
    } else {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << len;
    }
  }
  EXPECT_FALSE(KeyShare::Deserialize(ByteSpan()).ok());
}

// The parser itself (behind the checksum) must cope with every truncation:
// a proper prefix of the body, under a valid checksum, is rejected with
// InvalidArgument (never a crash, never an over-read: run under ASan).
TEST(KeyShareTest, EveryBodyTruncationWithValidChecksumIsRejected) {
  const Bytes full = Serialized(Dkg().shares[1]);
  const size_t body = full.size() - kChecksum;
  // Every length through the fixed-size fields and the first pairwise
  // entries, then a dense sample through the OT seeds, then the tail.
  std::vector<size_t> lengths;
  for (size_t len = 0; len < body; len += (len < 1500 ? 1 : 13)) {
    lengths.push_back(len);
  }
  for (size_t len = body - 200; len < body; ++len) {
    lengths.push_back(len);
  }
  for (size_t len : lengths) {
    Bytes b(full.begin(), full.begin() + len);
    const crypto::Digest32 sum = crypto::Sha256(b);
    b.insert(b.end(), sum.begin(), sum.end());
    const absl::StatusOr<KeyShare> s = KeyShare::Deserialize(b);
    ASSERT_FALSE(s.ok()) << "body prefix of " << len << " bytes accepted";
    ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument)
        << len << ": " << s.status();
  }
}

// Any single-byte change of the body under a valid checksum is either
// rejected with InvalidArgument or, where the format cannot tell (sid_key,
// epoch, OT seeds, κ), accepted — and then the encoding is canonical:
// re-serializing gives back exactly the input.
TEST(KeyShareTest, BodyByteChangesWithValidChecksumNeverCrash) {
  const Bytes full = Serialized(Dkg().shares[0]);
  const size_t body = full.size() - kChecksum;
  size_t accepted = 0;
  size_t rejected = 0;
  for (size_t pos = 0; pos < body; pos += (pos < 700 ? 1 : 211)) {
    for (uint8_t mask : {0x01, 0x80}) {
      Bytes b(full.begin(), full.begin() + body);
      b[pos] ^= mask;
      const crypto::Digest32 sum = crypto::Sha256(b);
      b.insert(b.end(), sum.begin(), sum.end());
      const absl::StatusOr<KeyShare> s = KeyShare::Deserialize(b);
      if (s.ok()) {
        ++accepted;
        ASSERT_EQ(Serialized(*s), b) << "non-canonical encoding at " << pos;
      } else {
        ++rejected;
        ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument)
            << pos << ": " << s.status();
      }
    }
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(rejected, 0u);
}

TEST(KeyShareTest, EverySingleByteFlipIsRejected) {
  const Bytes full = Serialized(Dkg().shares[2]);
  std::vector<size_t> positions;
  for (size_t i = 0; i < 600; ++i) {
    positions.push_back(i);
  }
  for (size_t i = 600; i < full.size(); i += 101) {
    positions.push_back(i);
  }
  for (size_t i = full.size() - 64; i < full.size(); ++i) {
    positions.push_back(i);  // the last field's tail and the checksum
  }
  for (size_t pos : positions) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes b = full;
      b[pos] ^= mask;
      const absl::StatusOr<KeyShare> s = KeyShare::Deserialize(b);
      ASSERT_FALSE(s.ok()) << "flip at " << pos << " accepted";
      EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << pos;
    }
  }
}

TEST(KeyShareTest, TrailingBytesAreRejected) {
  const Bytes full = Serialized(Dkg().shares[0]);
  // Bytes after the checksum: the checksum no longer matches.
  for (size_t extra : {1, 31, 32, 33}) {
    Bytes b = full;
    b.insert(b.end(), extra, 0);
    const absl::StatusOr<KeyShare> s = KeyShare::Deserialize(b);
    ASSERT_FALSE(s.ok()) << extra;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  }
  // Bytes after the last field, under a valid checksum.
  Bytes body(full.begin(), full.end() - kChecksum);
  body.push_back(0);
  const crypto::Digest32 sum = crypto::Sha256(body);
  body.insert(body.end(), sum.begin(), sum.end());
  ExpectRejected(body, "keyshare", "trailing byte");
  // A 14th (unknown) field after the last one.
  Record r = Record::Parse(full);
  r.fields.emplace_back(14, Bytes{1, 2, 3});
  ExpectRejected(r.Encode(), "keyshare", "unknown trailing field");
  // A version-1 record carrying the version-2 field 12.
  Record v1 = Record::Parse(V1Of(Dkg().shares[0]));
  v1.fields.emplace_back(kLegacyBaseOt, Bytes{1});
  ExpectRejected(v1.Encode(), "keyshare", "field 12 in a version-1 record");
  // A version-2 record carrying the version-3 field 13.
  Record v2 = Record::Parse(V2Of(Dkg().shares[0]));
  v2.fields.emplace_back(kNetworks, Bytes{0, 0, 0, 0});
  ExpectRejected(v2.Encode(), "keyshare", "field 13 in a version-2 record");
}

// A valid checksum over a tampered body: each inconsistency is caught by
// the decoder's own checks, with a reason naming it.
TEST(KeyShareTest, TamperedBodyWithValidChecksumIsRejected) {
  const KeyShare& share = Dkg().shares[0];  // party 1 of 2-of-3
  ASSERT_EQ(share.self, 1u);
  const Bytes full = Serialized(share);
  auto with = [&](auto mutate) {
    Record r = Record::Parse(full);
    mutate(r);
    return r.Encode();
  };
  // Sanity: the unmodified record re-encodes to something accepted.
  ASSERT_TRUE(KeyShare::Deserialize(with([](Record&) {})).ok());

  // The secret share no longer matches X_self.
  ExpectRejected(with([&](Record& r) {
                   r.Field(kSecretShare) = ToBytesArr(
                       (share.secret_share + Scalar::One()).ToBytes());
                 }),
                 "does not match its public share", "secret share + 1");
  // Zero and non-canonical (≥ n) secret shares.
  ExpectRejected(with([](Record& r) { r.Field(kSecretShare) = Bytes(32, 0); }),
                 "secret_share", "zero secret share");
  ExpectRejected(
      with([](Record& r) { r.Field(kSecretShare) = Bytes(32, 0xff); }),
      "secret_share", "secret share >= n");
  // Another (valid) group key.
  ExpectRejected(with([&](Record& r) {
                   const Point other =
                       *share.public_key.Add(Point::Generator());
                   r.Field(kPublicKey) = ToBytesArr(other.ToCompressed());
                 }),
                 "do not interpolate", "public key + G");
  // A group key that is not a point.
  ExpectRejected(with([](Record& r) { r.Field(kPublicKey)[0] = 0x05; }),
                 "public_key", "bad point prefix");
  // Another public share (party 2: inside the first t).
  ExpectRejected(with([&](Record& r) {
                   Bytes& f = r.Field(kPublicShares);
                   const Point p =
                       *share.public_shares[1].Add(Point::Generator());
                   const auto enc = p.ToCompressed();
                   std::copy(enc.begin(), enc.end(), f.begin() + 4 + 33);
                 }),
                 "do not interpolate", "X_2 + G");
  // Own public share changed.
  ExpectRejected(with([&](Record& r) {
                   Bytes& f = r.Field(kPublicShares);
                   const Point p =
                       *share.public_shares[0].Add(Point::Generator());
                   const auto enc = p.ToCompressed();
                   std::copy(enc.begin(), enc.end(), f.begin() + 4);
                 }),
                 "does not match its public share", "X_1 + G");
  // Public share count ≠ n.
  ExpectRejected(with([](Record& r) {
                   Bytes& f = r.Field(kPublicShares);
                   f[3] = 2;
                   f.resize(4 + 2 * 33);
                 }),
                 "one public share per party", "two public shares");
  // Key id, chain code and identity keys are bound by the key id.
  ExpectRejected(with([](Record& r) { r.Field(kKeyId)[5] ^= 1; }),
                 "key id does not match", "key id");
  ExpectRejected(with([](Record& r) { r.Field(kChainCode)[0] ^= 1; }),
                 "key id does not match", "chain code");
  ExpectRejected(with([](Record& r) { r.Field(kParties)[4 + 4 + 3] ^= 1; }),
                 "key id does not match", "identity key of party 1");
  // Raising t to 3: a degree-1 polynomial still interpolates from 3 points,
  // so this is caught by the key id (which binds t).
  ExpectRejected(with([](Record& r) { r.Field(kThreshold)[3] = 3; }),
                 "key id does not match", "t = 3");
  ExpectRejected(with([](Record& r) { r.Field(kThreshold)[3] = 1; }),
                 "out of range", "t = 1");
  ExpectRejected(with([](Record& r) { r.Field(kThreshold)[3] = 4; }),
                 "out of range", "t = 4 > n");
  ExpectRejected(with([](Record& r) { r.Field(kSelf)[3] = 0; }), "out of range",
                 "self = 0");
  ExpectRejected(with([](Record& r) { r.Field(kSelf)[3] = 4; }), "out of range",
                 "self = 4");
  // Claiming to be party 2 with party 1's material.
  ExpectRejected(with([](Record& r) { r.Field(kSelf)[3] = 2; }),
                 "pairwise material out of order", "self = 2");
  // Format version and magic.
  ExpectRejected(with([](Record& r) { r.header[8] = 4; }),
                 "unsupported format version", "version 4");
  ExpectRejected(with([](Record& r) { r.header[8] = 0; }),
                 "unsupported format version", "version 0");
  ExpectRejected(with([](Record& r) { r.header[7] = 1; }),
                 "unsupported format version", "version 257");
  ExpectRejected(with([](Record& r) { r.header[0] = 'k'; }),
                 "not a Kagi key share", "magic");
  // Field order: swapping two fields, dropping one, repeating one.
  ExpectRejected(with([](Record& r) { std::swap(r.fields[0], r.fields[1]); }),
                 "expected field key_id", "key_id and sid_key swapped");
  ExpectRejected(with([](Record& r) { std::swap(r.fields[6], r.fields[7]); }),
                 "expected field secret_share", "share and key swapped");
  ExpectRejected(with([](Record& r) { r.fields.erase(r.fields.begin() + 9); }),
                 "expected field chain_code", "chain code missing");
  ExpectRejected(
      with([](Record& r) { r.fields.insert(r.fields.begin(), r.fields[0]); }),
      "expected field sid_key", "key_id twice");
  ExpectRejected(with([](Record& r) { r.fields[2].first = 99; }),
                 "expected field epoch", "unknown tag");
  // Party count.
  ExpectRejected(with([](Record& r) { r.Field(kParties)[3] = 4; }), "parties",
                 "party count 4 with 3 entries");
  ExpectRejected(with([](Record& r) {
                   Bytes& f = r.Field(kParties);
                   f[3] = 4;
                   const Bytes last(f.end() - 36, f.end());
                   f.insert(f.end(), last.begin(), last.end());
                   f[4 + 3 * 36 + 3] = 4;   // id 4
                   f[4 + 3 * 36 + 4] ^= 1;  // a distinct identity key
                 }),
                 "one public share per party", "a 4th party");
  ExpectRejected(with([](Record& r) {
                   Bytes& f = r.Field(kParties);
                   f[3] = 1;
                   f.resize(4 + 36);
                 }),
                 "party count 1 out of range", "one party");
  ExpectRejected(with([](Record& r) {
                   Bytes& f = r.Field(kParties);
                   f[0] = 0xff;  // a huge count, bounded before reading
                 }),
                 "out of range", "party count 2^32-ish");
  ExpectRejected(with([](Record& r) { r.Field(kParties)[4 + 3] = 2; }),
                 "party ids must be 1..n", "party ids 2,2,3");
  // Wrong field lengths.
  ExpectRejected(with([](Record& r) { r.Field(kKeyId).pop_back(); }),
                 "key_id must be 32 bytes", "31-byte key id");
  ExpectRejected(with([](Record& r) { r.Field(kEpoch).push_back(0); }), "epoch",
                 "9-byte epoch");
  ExpectRejected(with([](Record& r) { r.Field(kSecretShare).push_back(0); }),
                 "secret_share", "33-byte secret share");
  ExpectRejected(with([](Record& r) { r.Field(kChainCode).pop_back(); }),
                 "chain_code must be 32 bytes", "31-byte chain code");
  // Pairwise material.
  ExpectRejected(with([](Record& r) { r.Field(kPairwise)[3] = 1; }),
                 "OT material for every peer", "one pairwise entry");
  ExpectRejected(with([](Record& r) { r.Field(kPairwise)[4 + 3] = 3; }),
                 "pairwise material out of order", "peer 3 first");
  ExpectRejected(with([](Record& r) { r.Field(kPairwise).pop_back(); }),
                 "zero_seed", "pairwise entry one byte short");
  ExpectRejected(with([](Record& r) { r.Field(kPairwise).push_back(0); }),
                 "pairwise", "pairwise one byte long");
  // The legacy flag: required from version 2, one byte, 0 or 1.
  ExpectRejected(with([](Record& r) { r.fields.erase(r.fields.end() - 2); }),
                 "legacy_base_ot", "v3 without the flag");
  ExpectRejected(with([](Record& r) { r.Field(kLegacyBaseOt) = Bytes{2}; }),
                 "legacy_base_ot must be 0 or 1", "flag = 2");
  ExpectRejected(with([](Record& r) { r.Field(kLegacyBaseOt) = Bytes{}; }),
                 "legacy_base_ot must be 1 byte", "empty flag");
  ExpectRejected(with([](Record& r) {
                   r.Field(kLegacyBaseOt) = Bytes{0, 0};
                 }),
                 "legacy_base_ot", "2-byte flag");
}

// Shares made before the uniform base-OT fix (format version 1) carry OT
// material the peer partly knows: they decode with legacy_base_ot set, and
// the flag survives re-serialization (which writes version 2) for as long
// as the share exists. New shares never have it.
TEST(KeyShareTest, VersionOneSharesAreMarkedLegacyBaseOt) {
  for (const KeyShare& share : Dkg().shares) {
    EXPECT_FALSE(share.legacy_base_ot) << "a new DKG share is not legacy";
    const Bytes v1 = V1Of(share);
    ASSERT_EQ(v1[8], 1);
    absl::StatusOr<KeyShare> old = KeyShare::Deserialize(v1);
    ASSERT_TRUE(old.ok()) << old.status();
    EXPECT_TRUE(old->legacy_base_ot) << "party " << share.self;
    // Everything else decodes as before.
    KeyShare expect = std::move(*KeyShare::Deserialize(Serialized(share)));
    expect.legacy_base_ot = true;
    ExpectEqualShares(expect, *old);
    // Round trip: re-serialized as version 3 with the flag byte 1, and it
    // decodes still marked; once more gives the same bytes.
    const Bytes v2 = Serialized(*old);
    EXPECT_EQ(v2[8], 3);
    EXPECT_EQ(Record::Parse(v2).Field(kLegacyBaseOt), Bytes{1});
    absl::StatusOr<KeyShare> again = KeyShare::Deserialize(v2);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->legacy_base_ot);
    ExpectEqualShares(*old, *again);
    EXPECT_EQ(Serialized(*again), v2);
    // The flag is the only difference from the new share's encoding.
    Record diff = Record::Parse(v2);
    diff.Field(kLegacyBaseOt) = Bytes{0};
    EXPECT_EQ(diff.Encode(), Serialized(share));
  }
  // A new share round-trips with the flag clear.
  absl::StatusOr<KeyShare> fresh =
      KeyShare::Deserialize(Serialized(Dkg().shares[0]));
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->legacy_base_ot);
}

// The network binding is part of the sealed record (format version 3): it
// round-trips, a version-2 record (made before bindings) decodes with none,
// and a malformed list is refused.
TEST(KeyShareTest, NetworkBindingIsStoredInTheRecord) {
  KeyShare bound =
      std::move(*KeyShare::Deserialize(Serialized(Dkg().shares[0])));
  bound.networks = {"bitcoin:mainnet", "ethereum:1", "raw_digest"};
  const Bytes record = Serialized(bound);
  absl::StatusOr<KeyShare> back = KeyShare::Deserialize(record);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectEqualShares(bound, *back);
  EXPECT_EQ(Serialized(*back), record);

  for (const KeyShare& share : Dkg().shares) {
    absl::StatusOr<KeyShare> old = KeyShare::Deserialize(V2Of(share));
    ASSERT_TRUE(old.ok()) << old.status();
    EXPECT_TRUE(old->networks.empty());
    EXPECT_FALSE(old->legacy_base_ot);
    ExpectEqualShares(share, *old);
    EXPECT_EQ(Serialized(*old), Serialized(share));  // written as version 3
  }

  auto with_networks = [&](const Bytes& field) {
    Record r = Record::Parse(record);
    r.Field(kNetworks) = field;
    return r.Encode();
  };
  auto list = [](std::vector<std::string> names) {
    ByteWriter w;
    w.PutU32(static_cast<uint32_t>(names.size()));
    for (const std::string& n : names) w.PutLengthPrefixed(AsBytes(n));
    return std::move(w).Take();
  };
  ExpectRejected(with_networks(list({"ethereum:1", "bitcoin:mainnet"})),
                 "strictly increasing", "unsorted");
  ExpectRejected(with_networks(list({"ethereum:1", "ethereum:1"})),
                 "strictly increasing", "duplicate");
  ExpectRejected(with_networks(list({""})), "strictly increasing", "empty");
  ExpectRejected(with_networks(list({std::string(65, 'a')})), "networks",
                 "65-byte name");
  std::vector<std::string> many;
  for (char c = 'a'; c <= 'q'; ++c) many.push_back(std::string(1, c));
  ExpectRejected(with_networks(list(many)), "at most 16", "17 names");
  ExpectRejected(with_networks(Bytes{0, 0, 0, 1}), "networks", "count 1, none");
  ExpectRejected(with_networks(Bytes{0, 0, 0}), "networks", "short count");
}

// keyshare.h promises Deserialize rejects "X ≠ Lagrange-combination of the
// public shares", but keyshare.cc only interpolates the first t public
// shares: with t = 2, n = 3, party 1's record accepts any X_3 (X_3 is not
// bound by the key id either). A stored share whose public shares do not lie
// on one degree-(t−1) polynomial is then used as if valid. Disabled until
// Deserialize checks every X_m (e.g. X_m = Σ_{i≤t} λ_i(m)·X_i for m > t).
TEST(KeyShareTest, PublicShareOutsideFirstTIsChecked) {
  const KeyShare& share = Dkg().shares[0];
  Record r = Record::Parse(Serialized(share));
  Bytes& f = r.Field(kPublicShares);
  const auto enc =
      share.public_shares[2].Add(Point::Generator())->ToCompressed();
  std::copy(enc.begin(), enc.end(), f.begin() + 4 + 2 * 33);
  ExpectRejected(r.Encode(), "not on the sharing polynomial", "X_3 + G");
}

TEST(KeyShareTest, PrintingRedactsSecrets) {
  const KeyShare& share = Dkg().shares[0];
  std::ostringstream os;
  os << share;
  const std::string text = os.str();
  EXPECT_NE(text.find("party 1 of 3"), std::string::npos) << text;
  const std::string secret_hex = HexEncode(share.secret_share.ToBytes());
  std::string upper = secret_hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_EQ(text.find(secret_hex), std::string::npos);
  EXPECT_EQ(text.find(upper), std::string::npos);
  // Not even a part of it, nor of any OT seed or κ.
  EXPECT_EQ(text.find(secret_hex.substr(0, 16)), std::string::npos);
  for (const PairwiseMaterial& m : share.pairwise) {
    EXPECT_EQ(text.find(HexEncode(m.zero_seed.secret()).substr(0, 16)),
              std::string::npos);
    EXPECT_EQ(text.find(HexEncode(m.as_sender.delta.secret()).substr(0, 16)),
              std::string::npos);
  }
}

}  // namespace
}  // namespace kagi::protocol
