#include "libs/protocol/common/setup.h"

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/rng.h"
#include "libs/crypto/transcript.h"

namespace kagi::protocol {
namespace {

using ::testing::HasSubstr;

SessionSetup MakeDkgSetup(uint32_t n, uint32_t t, uint64_t seed = 1) {
  InsecureDeterministicRng rng(seed);
  SessionSetup s;
  s.op = Op::kDkg;
  s.epoch = 0;  // a DKG has no epoch yet
  for (uint32_t id = 1; id <= n; ++id) {
    s.parties.push_back(PartyInfo{id, rng.Bytes<32>()});
  }
  s.threshold = t;
  s.initiator_nonce = rng.Bytes<32>();
  s.expiry_unix_seconds = 1700000000;
  return s;
}

SessionSetup MakeSignSetup() {
  InsecureDeterministicRng rng(2);
  SessionSetup s = MakeDkgSetup(5, 3);
  s.op = Op::kSign;
  s.key_id = rng.Bytes<32>();
  s.epoch = 0x0102030405060708u;
  s.signers = {1, 3, 5};
  s.items.push_back(SignItem{rng.Bytes<32>(), {0, 1, 0x7fffffffu}});
  s.items.push_back(SignItem{rng.Bytes<32>(), {}});
  s.items.push_back(SignItem{rng.Bytes<32>(), {44}});
  s.request_digest = rng.Bytes<32>();
  return s;
}

void ExpectSameSetup(const SessionSetup& a, const SessionSetup& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.key_id, b.key_id);
  EXPECT_EQ(a.epoch, b.epoch);
  ASSERT_EQ(a.parties.size(), b.parties.size());
  for (size_t i = 0; i < a.parties.size(); ++i) {
    EXPECT_EQ(a.parties[i].id, b.parties[i].id);
    EXPECT_EQ(a.parties[i].identity_key, b.parties[i].identity_key);
  }
  EXPECT_EQ(a.threshold, b.threshold);
  EXPECT_EQ(a.signers, b.signers);
  ASSERT_EQ(a.items.size(), b.items.size());
  for (size_t i = 0; i < a.items.size(); ++i) {
    EXPECT_EQ(a.items[i].digest, b.items[i].digest);
    EXPECT_EQ(a.items[i].path, b.items[i].path);
  }
  EXPECT_EQ(a.request_digest, b.request_digest);
  EXPECT_EQ(a.initiator_nonce, b.initiator_nonce);
  EXPECT_EQ(a.expiry_unix_seconds, b.expiry_unix_seconds);
}

// Expects both ValidateSetup and a decode of the encoding to fail naming
// `field`.
void ExpectRejected(const SessionSetup& s, absl::string_view field) {
  const absl::Status v = ValidateSetup(s);
  EXPECT_EQ(v.code(), absl::StatusCode::kInvalidArgument) << v;
  EXPECT_THAT(std::string(v.message()), HasSubstr(field));
  const absl::StatusOr<SessionSetup> d = DecodeSetup(EncodeSetup(s));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument)
      << d.status();
  EXPECT_THAT(std::string(d.status().message()), HasSubstr(field));
}

TEST(SetupTest, DkgRoundTrips) {
  const SessionSetup s = MakeDkgSetup(4, 3);
  ASSERT_TRUE(ValidateSetup(s).ok()) << ValidateSetup(s);
  const Bytes enc = EncodeSetup(s);
  absl::StatusOr<SessionSetup> back = DecodeSetup(enc);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameSetup(s, *back);
  EXPECT_EQ(EncodeSetup(*back), enc);
}

TEST(SetupTest, SignRoundTrips) {
  const SessionSetup s = MakeSignSetup();
  ASSERT_TRUE(ValidateSetup(s).ok()) << ValidateSetup(s);
  const Bytes enc = EncodeSetup(s);
  absl::StatusOr<SessionSetup> back = DecodeSetup(enc);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameSetup(s, *back);
  EXPECT_EQ(EncodeSetup(*back), enc);
}

// A reshare 2-of-3 -> 2-of-3 where old party 3 is replaced: participants
// 1, 2 (dealers and members), 3 (new member only).
SessionSetup MakeReshareSetup() {
  SessionSetup s = MakeDkgSetup(3, 2);
  s.op = Op::kReshare;
  s.key_id[0] = 9;
  s.old_threshold = 2;
  s.reshare_roles = {{1, 1}, {2, 2}, {0, 3}};
  return s;
}

TEST(SetupTest, ReshareRoundTrips) {
  const SessionSetup s = MakeReshareSetup();
  absl::StatusOr<SessionSetup> back = DecodeSetup(EncodeSetup(s));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameSetup(s, *back);
  ASSERT_EQ(back->reshare_roles.size(), 3u);
  EXPECT_EQ(back->reshare_roles[2].old_id, 0u);
  EXPECT_EQ(back->reshare_roles[2].new_id, 3u);
  EXPECT_EQ(back->old_threshold, 2u);
  EXPECT_NE(Sid0(*back), Sid0(MakeDkgSetup(3, 2)));
}

TEST(SetupTest, FieldsThatDoNotApplyMustBeEmpty) {
  // One operation, one encoding: a field another op uses must be empty.
  SessionSetup dkg_key = MakeDkgSetup(3, 2);
  dkg_key.key_id[0] = 1;
  ExpectRejected(dkg_key, "setup.key_id");
  SessionSetup dkg_epoch = MakeDkgSetup(3, 2);
  dkg_epoch.epoch = 1;
  ExpectRejected(dkg_epoch, "setup.key_id");
  SessionSetup dkg_digest = MakeDkgSetup(3, 2);
  dkg_digest.request_digest[0] = 1;
  ExpectRejected(dkg_digest, "setup.request_digest");
  SessionSetup sign_roles = MakeSignSetup();
  sign_roles.reshare_roles = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}};
  ExpectRejected(sign_roles, "setup.reshare_roles");
  SessionSetup sign_old_t = MakeSignSetup();
  sign_old_t.old_threshold = 2;
  ExpectRejected(sign_old_t, "setup.reshare_roles");
  SessionSetup reshare_digest = MakeReshareSetup();
  reshare_digest.request_digest[0] = 1;
  ExpectRejected(reshare_digest, "setup.request_digest");
}

TEST(SetupTest, ReshareRolesAreValidated) {
  SessionSetup none = MakeReshareSetup();
  none.reshare_roles[2] = {0, 0};
  ExpectRejected(none, "no role");
  SessionSetup dealers = MakeReshareSetup();
  dealers.old_threshold = 3;  // only two dealers
  ExpectRejected(dealers, "setup.old_threshold");
  SessionSetup repeated = MakeReshareSetup();
  repeated.reshare_roles[1].old_id = 1;
  ExpectRejected(repeated, "repeated");
  SessionSetup gap = MakeReshareSetup();
  gap.reshare_roles[2].new_id = 4;  // new ids 1, 2, 4
  ExpectRejected(gap, "1..n'");
  SessionSetup count = MakeReshareSetup();
  count.reshare_roles.pop_back();
  ExpectRejected(count, "one role per participant");
  SessionSetup dkg = MakeDkgSetup(3, 2);
  dkg.reshare_roles = {{1, 1}, {2, 2}, {3, 3}};
  ExpectRejected(dkg, "reshare_roles");
  // Changing a role changes sid0.
  SessionSetup other = MakeReshareSetup();
  other.reshare_roles[0] = {1, 2};
  other.reshare_roles[1] = {2, 1};
  EXPECT_NE(Sid0(other), Sid0(MakeReshareSetup()));
}

TEST(SetupTest, EncodingIsFixedWidthBigEndianWithCounts) {
  const SessionSetup s = MakeSignSetup();
  const Bytes enc = EncodeSetup(s);
  size_t expected = 1 + 1 + 32 + 8 + 4 + 5 * (4 + 32) + 4 + 4 + 3 * 4 + 4 +
                    (32 + 4 + 3 * 4) + (32 + 4) + (32 + 4 + 4) + 32 + 32 + 8 +
                    4 + 4;  // old_threshold, no reshare roles
  ASSERT_EQ(enc.size(), expected);
  EXPECT_EQ(enc[0], 1);  // version
  EXPECT_EQ(enc[1], 2);  // op = SIGN
  EXPECT_TRUE(std::equal(s.key_id.begin(), s.key_id.end(), enc.begin() + 2));
  const Bytes epoch(enc.begin() + 34, enc.begin() + 42);
  EXPECT_EQ(epoch, (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  const Bytes n(enc.begin() + 42, enc.begin() + 46);
  EXPECT_EQ(n, (Bytes{0, 0, 0, 5}));
  const Bytes first_id(enc.begin() + 46, enc.begin() + 50);
  EXPECT_EQ(first_id, (Bytes{0, 0, 0, 1}));
  const Bytes expiry(enc.end() - 16, enc.end() - 8);
  EXPECT_EQ(expiry, (Bytes{0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00}));
}

TEST(SetupTest, DecodeRejectsTruncationAtEveryLength) {
  for (const SessionSetup& s : {MakeDkgSetup(3, 2), MakeSignSetup()}) {
    const Bytes enc = EncodeSetup(s);
    for (size_t len = 0; len < enc.size(); ++len) {
      absl::StatusOr<SessionSetup> d = DecodeSetup(ByteSpan(enc.data(), len));
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument)
          << "len " << len;
    }
  }
}

TEST(SetupTest, DecodeRejectsTrailingBytes) {
  Bytes enc = EncodeSetup(MakeSignSetup());
  enc.push_back(0);
  absl::StatusOr<SessionSetup> d = DecodeSetup(enc);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("setup"));
}

TEST(SetupTest, RejectsBadVersion) {
  for (uint8_t v : {0, 2, 255}) {
    SessionSetup s = MakeDkgSetup(3, 2);
    s.version = v;
    ExpectRejected(s, "setup.version");
  }
}

TEST(SetupTest, RejectsUnknownOp) {
  for (uint8_t op : {0, 4, 255}) {
    SessionSetup s = MakeDkgSetup(3, 2);
    s.op = static_cast<Op>(op);
    ExpectRejected(s, "setup.op");
  }
}

TEST(SetupTest, RejectsThresholdBelowTwo) {
  for (uint32_t t : {0u, 1u}) {
    ExpectRejected(MakeDkgSetup(3, t), "setup.threshold");
  }
}

TEST(SetupTest, RejectsThresholdAboveN) {
  ExpectRejected(MakeDkgSetup(3, 4), "setup.threshold");
  ExpectRejected(MakeDkgSetup(0, 2), "setup.threshold");
}

TEST(SetupTest, AcceptsBoundaryThresholdsAndSizes) {
  EXPECT_TRUE(ValidateSetup(MakeDkgSetup(2, 2)).ok());
  EXPECT_TRUE(ValidateSetup(MakeDkgSetup(16, 16)).ok());
  EXPECT_TRUE(DecodeSetup(EncodeSetup(MakeDkgSetup(16, 2))).ok());
}

TEST(SetupTest, RejectsMoreThanSixteenParties) {
  ExpectRejected(MakeDkgSetup(17, 2), "setup.parties");
}

TEST(SetupTest, RejectsPartyIdsOtherThanOneToN) {
  const std::vector<std::function<void(SessionSetup&)>> mutations = {
      [](SessionSetup& s) { s.parties[0].id = 0; },
      [](SessionSetup& s) { s.parties[2].id = 5; },
      [](SessionSetup& s) { std::swap(s.parties[0].id, s.parties[1].id); },
      [](SessionSetup& s) { s.parties[1].id = 1; },
      [](SessionSetup& s) {
        for (PartyInfo& p : s.parties) {
          p.id += 1;
        }
      },
  };
  for (const auto& mutate : mutations) {
    SessionSetup s = MakeDkgSetup(3, 2);
    mutate(s);
    ExpectRejected(s, "setup.parties");
  }
}

TEST(SetupTest, RejectsSharedIdentityKey) {
  SessionSetup s = MakeDkgSetup(3, 2);
  s.parties[2].identity_key = s.parties[0].identity_key;
  ExpectRejected(s, "setup.parties");
}

TEST(SetupTest, RejectsDuplicateOrUnsortedSigners) {
  for (const std::vector<uint32_t>& signers :
       std::vector<std::vector<uint32_t>>{{1, 1, 5}, {1, 5, 3}, {5, 3, 1}}) {
    SessionSetup s = MakeSignSetup();
    s.signers = signers;
    ExpectRejected(s, "setup.signers");
  }
}

TEST(SetupTest, RejectsSignerCountOtherThanThreshold) {
  for (const std::vector<uint32_t>& signers :
       std::vector<std::vector<uint32_t>>{
           {}, {1, 3}, {1, 2, 3, 4}, {1, 2, 3, 4, 5}}) {
    SessionSetup s = MakeSignSetup();
    s.signers = signers;
    ExpectRejected(s, "setup.signers");
  }
}

TEST(SetupTest, RejectsSignerThatIsNotAParty) {
  for (const std::vector<uint32_t>& signers :
       std::vector<std::vector<uint32_t>>{{0, 1, 2}, {1, 2, 6}}) {
    SessionSetup s = MakeSignSetup();
    s.signers = signers;
    ExpectRejected(s, "setup.signers");
  }
}

TEST(SetupTest, RejectsHardenedPathIndex) {
  SessionSetup s = MakeSignSetup();
  s.items[2].path.push_back(0x80000000u);
  ExpectRejected(s, "setup.items[2].path[1]");
  s.items[2].path.back() = 0xffffffffu;
  ExpectRejected(s, "setup.items[2].path[1]");
}

TEST(SetupTest, RejectsTooDeepPath) {
  SessionSetup s = MakeSignSetup();
  s.items[0].path.assign(kMaxPathDepth, 1);
  EXPECT_TRUE(ValidateSetup(s).ok());
  EXPECT_TRUE(DecodeSetup(EncodeSetup(s)).ok());
  s.items[0].path.push_back(1);
  ExpectRejected(s, "setup.items[0].path");
}

TEST(SetupTest, RejectsItemCountOutOfRange) {
  SessionSetup s = MakeSignSetup();
  s.items.assign(kMaxSignItems, s.items[0]);
  EXPECT_TRUE(ValidateSetup(s).ok());
  EXPECT_TRUE(DecodeSetup(EncodeSetup(s)).ok());
  s.items.push_back(s.items[0]);
  ExpectRejected(s, "setup.items");
  s.items.clear();
  ExpectRejected(s, "setup.items");
}

TEST(SetupTest, RejectsSignFieldsOutsideSign) {
  for (Op op : {Op::kDkg, Op::kReshare}) {
    SessionSetup s = MakeDkgSetup(3, 2);
    s.op = op;
    s.signers = {1, 2};
    ExpectRejected(s, "setup.signers");
    s.signers.clear();
    s.items.push_back(SignItem{});
    ExpectRejected(s, "setup.items");
  }
}

// Offsets into EncodeSetup(MakeSignSetup()): n = 5, 3 signers, first item's
// path has 3 entries.
constexpr size_t kPartiesCountOffset = 42;
constexpr size_t kSignersCountOffset = kPartiesCountOffset + 4 + 5 * 36 + 4;
constexpr size_t kItemsCountOffset = kSignersCountOffset + 4 + 3 * 4;
constexpr size_t kFirstPathDepthOffset = kItemsCountOffset + 4 + 32;

TEST(SetupTest, HugeCountsAreRejectedBeforeAllocating) {
  const Bytes enc = EncodeSetup(MakeSignSetup());
  // Sanity-check the offsets against the real encoding.
  ASSERT_EQ(LoadBigEndian32(&enc[kPartiesCountOffset]), 5u);
  ASSERT_EQ(LoadBigEndian32(&enc[kSignersCountOffset]), 3u);
  ASSERT_EQ(LoadBigEndian32(&enc[kItemsCountOffset]), 3u);
  ASSERT_EQ(LoadBigEndian32(&enc[kFirstPathDepthOffset]), 3u);
  const std::vector<std::pair<size_t, std::string>> cases = {
      {kPartiesCountOffset, "setup.parties"},
      {kSignersCountOffset, "setup.signers"},
      {kItemsCountOffset, "setup.items"},
      {kFirstPathDepthOffset, "setup.items[0].path"},
  };
  for (const auto& [offset, field] : cases) {
    for (uint32_t count : {0xffffffffu, 0x80000000u, 0x10000u}) {
      Bytes bad = enc;
      StoreBigEndian32(count, &bad[offset]);
      absl::StatusOr<SessionSetup> d = DecodeSetup(bad);
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
      // "exceeds" (the bound), not "truncated" (which would mean the
      // decoder started reading, and possibly allocating, first).
      EXPECT_THAT(std::string(d.status().message()), HasSubstr(field));
      EXPECT_THAT(std::string(d.status().message()), HasSubstr("exceeds"));
    }
  }
}

TEST(SetupTest, PartyLookup) {
  const SessionSetup s = MakeDkgSetup(4, 2);
  EXPECT_EQ(s.n(), 4u);
  EXPECT_FALSE(s.HasParty(0));
  EXPECT_TRUE(s.HasParty(1));
  EXPECT_TRUE(s.HasParty(4));
  EXPECT_FALSE(s.HasParty(5));
  ASSERT_NE(s.Party(3), nullptr);
  EXPECT_EQ(s.Party(3)->identity_key, s.parties[2].identity_key);
  EXPECT_EQ(s.Party(9), nullptr);
}

TEST(SetupTest, Sid0IsTheSetupTranscriptHash) {
  const SessionSetup s = MakeSignSetup();
  const crypto::Digest32 expected =
      crypto::Transcript(crypto::Tag::kSetup).Add(EncodeSetup(s)).H();
  EXPECT_EQ(Sid0(s), expected);
  EXPECT_EQ(Sid0(s), Sid0(MakeSignSetup()));
}

TEST(SetupTest, Sid0ChangesWhenAnyFieldChanges) {
  const std::vector<std::pair<std::string, std::function<void(SessionSetup&)>>>
      mutations = {
          {"version", [](SessionSetup& s) { s.version = 2; }},
          {"op", [](SessionSetup& s) { s.op = Op::kReshare; }},
          {"key_id", [](SessionSetup& s) { s.key_id[31] ^= 1; }},
          {"epoch", [](SessionSetup& s) { s.epoch += 1; }},
          {"party id", [](SessionSetup& s) { s.parties[4].id = 6; }},
          {"identity key",
           [](SessionSetup& s) { s.parties[1].identity_key[0] ^= 1; }},
          {"party added",
           [](SessionSetup& s) {
             s.parties.push_back(PartyInfo{6, {}});
           }},
          {"party removed", [](SessionSetup& s) { s.parties.pop_back(); }},
          {"threshold", [](SessionSetup& s) { s.threshold = 2; }},
          {"signer", [](SessionSetup& s) { s.signers[1] = 4; }},
          {"signer removed", [](SessionSetup& s) { s.signers.pop_back(); }},
          {"item digest", [](SessionSetup& s) { s.items[1].digest[5] ^= 1; }},
          {"path index", [](SessionSetup& s) { s.items[0].path[2] = 0; }},
          {"path extended", [](SessionSetup& s) { s.items[1].path = {0}; }},
          {"path moved",
           [](SessionSetup& s) {
             // Same flattened indices, different split between items.
             s.items[1].path.push_back(s.items[0].path.back());
             s.items[0].path.pop_back();
           }},
          {"item removed", [](SessionSetup& s) { s.items.pop_back(); }},
          {"items swapped",
           [](SessionSetup& s) { std::swap(s.items[0], s.items[2]); }},
          {"request digest",
           [](SessionSetup& s) { s.request_digest[0] ^= 0x80; }},
          {"initiator nonce",
           [](SessionSetup& s) { s.initiator_nonce[17] ^= 1; }},
          {"expiry", [](SessionSetup& s) { s.expiry_unix_seconds += 1; }},
      };
  std::set<crypto::Digest32> seen = {Sid0(MakeSignSetup())};
  for (const auto& [name, mutate] : mutations) {
    SessionSetup s = MakeSignSetup();
    mutate(s);
    EXPECT_TRUE(seen.insert(Sid0(s)).second) << name;
  }
}

}  // namespace
}  // namespace kagi::protocol
