#include "libs/policy/request_digest.h"

#include <functional>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/crypto/hash.h"

namespace kagi::policy {
namespace {

v1::SignRequest EthRequest() {
  v1::SignRequest r;
  r.set_request_id("w-1");
  r.set_key_id(std::string(32, '\x07'));
  r.mutable_payload()->mutable_ethereum_tx()->set_unsigned_tx("\x02\xc0");
  r.mutable_payload()->mutable_ethereum_tx()->add_path(0);
  r.mutable_payload()->mutable_ethereum_tx()->add_path(5);
  r.set_expiry_unix_seconds(1900000000);
  return r;
}

void PutField(Bytes& out, ByteSpan field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(n >> s));
  out.insert(out.end(), field.begin(), field.end());
}
void PutU32(Bytes& out, uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v >> 24),
                        static_cast<uint8_t>(v >> 16),
                        static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  PutField(out, b);
}

// The digest of docs/policy.md, built here byte by byte from the
// description, not through Transcript.
TEST(RequestDigestTest, MatchesTheDocumentedEncoding) {
  const v1::SignRequest r = EthRequest();
  Bytes in;
  PutField(in, AsBytes("kagi/v1"));
  PutField(in, AsBytes(std::string("request\x01", 8)));
  PutField(in, AsBytes("sign"));
  PutField(in, AsBytes("w-1"));
  PutField(in, AsBytes(r.key_id()));
  PutField(in, AsBytes("ethereum_tx"));
  PutField(in, AsBytes(std::string("\x02\xc0", 2)));
  PutU32(in, 2);
  PutU32(in, 0);
  PutU32(in, 5);
  const uint64_t e = 1900000000;
  uint8_t eb[8];
  for (int i = 0; i < 8; ++i) eb[i] = static_cast<uint8_t>(e >> (56 - 8 * i));
  PutField(in, eb);
  const crypto::Digest32 expected = crypto::Sha256(in);
  absl::StatusOr<RequestDigest> got = SignRequestDigest(r);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(HexEncode(*got), HexEncode(expected));
}

// Every field the approvers see changes the digest.
TEST(RequestDigestTest, EveryFieldIsCovered) {
  std::set<std::string> seen;
  auto add = [&seen](const v1::SignRequest& r) {
    absl::StatusOr<RequestDigest> d = SignRequestDigest(r);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(seen.insert(HexEncode(*d)).second);
  };
  const v1::SignRequest base = EthRequest();
  add(base);
  v1::SignRequest r = base;
  r.set_request_id("w-2");
  add(r);
  r = base;
  r.set_key_id(std::string(32, '\x08'));
  add(r);
  r = base;
  r.set_expiry_unix_seconds(1900000001);
  add(r);
  r = base;
  r.mutable_payload()->mutable_ethereum_tx()->set_unsigned_tx("\x02\xc1");
  add(r);
  r = base;
  r.mutable_payload()->mutable_ethereum_tx()->set_path(1, 6);
  add(r);
  r = base;
  r.mutable_payload()->mutable_bitcoin_psbt()->set_network("regtest");
  r.mutable_payload()->mutable_bitcoin_psbt()->set_psbt("\x02\xc0");
  add(r);
  r.mutable_payload()->mutable_bitcoin_psbt()->set_network("mainnet");
  add(r);
  v1::SignRequest raw = base;
  v1::DigestItem* item =
      raw.mutable_payload()->mutable_raw_digest()->add_items();
  item->set_digest(std::string(32, '\x01'));
  item->add_path(1);
  add(raw);
  r = raw;
  r.mutable_payload()->mutable_raw_digest()->mutable_items(0)->set_path(0, 2);
  add(r);
  r = raw;
  r.mutable_payload()->mutable_raw_digest()->mutable_items(0)->set_digest(
      std::string(32, '\x02'));
  add(r);
  // Approvals are not covered: they sign the digest.
  r = base;
  r.add_approvals()->set_approver("alice");
  EXPECT_EQ(*SignRequestDigest(r), *SignRequestDigest(base));
  v1::SignRequest empty;
  EXPECT_FALSE(SignRequestDigest(empty).ok());
}

CommitteeMember Member(const std::string& node, uint8_t fill) {
  CommitteeMember m;
  m.node = node;
  m.identity_key.fill(fill);
  return m;
}

AdminChange Reshare() {
  AdminChange c;
  c.operation = AdminOperation::kReshare;
  c.request_id = "rs-1";
  c.key_id = std::string(32, '\x07');
  c.epoch = 3;
  c.old_threshold = 2;
  c.old_committee = {Member("node-1", 1), Member("node-2", 2),
                     Member("node-3", 3)};
  c.new_threshold = 2;
  c.new_committee = {Member("node-1", 1), Member("node-4", 4)};
  c.dealers = {1, 3};
  c.networks = {"bitcoin:mainnet", "ethereum:1"};
  c.expiry = 1900000000;
  return c;
}

void PutU64(Bytes& out, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  PutField(out, b);
}

void PutCommittee(Bytes& out, const std::vector<CommitteeMember>& c) {
  PutU32(out, static_cast<uint32_t>(c.size()));
  for (const CommitteeMember& m : c) {
    PutField(out, AsBytes(m.node));
    PutField(out, m.identity_key);
  }
}

// The admin digest of docs/policy.md, built here byte by byte from the
// description, not through Transcript.
TEST(RequestDigestTest, AdminDigestMatchesTheDocumentedEncoding) {
  const AdminChange c = Reshare();
  Bytes in;
  PutField(in, AsBytes("kagi/v1"));
  PutField(in, AsBytes(std::string("request\x01", 8)));
  PutField(in, AsBytes("admin"));
  PutU32(in, 3);
  PutField(in, AsBytes("rs-1"));
  PutField(in, AsBytes(c.key_id));
  PutU64(in, 3);
  PutU32(in, 2);
  PutCommittee(in, c.old_committee);
  PutU32(in, 2);
  PutCommittee(in, c.new_committee);
  PutU32(in, 2);
  PutU32(in, 1);
  PutU32(in, 3);
  PutU32(in, 2);
  PutField(in, AsBytes("bitcoin:mainnet"));
  PutField(in, AsBytes("ethereum:1"));
  PutU64(in, 1900000000);
  EXPECT_EQ(HexEncode(AdminDigest(c)), HexEncode(crypto::Sha256(in)));

  // create_key: no key, epoch, old committee or dealers.
  AdminChange create;
  create.operation = AdminOperation::kCreateKey;
  create.request_id = "k-1";
  create.new_threshold = 2;
  create.new_committee = {Member("node-1", 1), Member("node-2", 2)};
  create.networks = {"bitcoin:regtest"};
  create.expiry = 9;
  Bytes cin;
  PutField(cin, AsBytes("kagi/v1"));
  PutField(cin, AsBytes(std::string("request\x01", 8)));
  PutField(cin, AsBytes("admin"));
  PutU32(cin, 1);
  PutField(cin, AsBytes("k-1"));
  PutField(cin, {});
  PutU64(cin, 0);
  PutU32(cin, 0);
  PutU32(cin, 0);
  PutU32(cin, 2);
  PutCommittee(cin, create.new_committee);
  PutU32(cin, 0);
  PutU32(cin, 1);
  PutField(cin, AsBytes("bitcoin:regtest"));
  PutU64(cin, 9);
  EXPECT_EQ(HexEncode(AdminDigest(create)), HexEncode(crypto::Sha256(cin)));
}

// Everything an admin operation changes is bound: an approved refresh or
// reshare cannot be rewritten into another committee, threshold or dealer
// set, nor replayed as another operation, key or epoch.
TEST(RequestDigestTest, AdminDigestCoversEveryField) {
  std::set<std::string> seen;
  auto add = [&seen](const AdminChange& c) {
    EXPECT_TRUE(seen.insert(HexEncode(AdminDigest(c))).second) << c.Summary();
  };
  const AdminChange base = Reshare();
  add(base);
  std::vector<std::function<void(AdminChange&)>> edits = {
      [](AdminChange& c) { c.operation = AdminOperation::kRefresh; },
      [](AdminChange& c) { c.operation = AdminOperation::kCreateKey; },
      [](AdminChange& c) { c.request_id = "rs-2"; },
      [](AdminChange& c) { c.key_id[0] = '\x08'; },
      [](AdminChange& c) { c.epoch = 4; },
      [](AdminChange& c) { c.old_threshold = 3; },
      [](AdminChange& c) { c.old_committee.pop_back(); },
      [](AdminChange& c) { std::swap(c.old_committee[0], c.old_committee[1]); },
      [](AdminChange& c) { c.old_committee[2].identity_key[5] ^= 1; },
      [](AdminChange& c) { c.old_committee[2].node = "node-9"; },
      [](AdminChange& c) { c.new_threshold = 3; },
      [](AdminChange& c) { c.new_committee.push_back(Member("node-2", 2)); },
      [](AdminChange& c) { c.new_committee.pop_back(); },
      [](AdminChange& c) { c.new_committee[1].identity_key[0] ^= 1; },
      [](AdminChange& c) { c.new_committee[1].node = "node-5"; },
      [](AdminChange& c) {
        c.dealers = {1, 2};
      },
      [](AdminChange& c) {
        c.dealers = {1, 2, 3};
      },
      [](AdminChange& c) { c.networks.pop_back(); },
      [](AdminChange& c) { c.networks.clear(); },
      [](AdminChange& c) { c.networks[0] = "bitcoin:testnet"; },
      [](AdminChange& c) { c.networks.push_back("raw_digest"); },
      [](AdminChange& c) { c.expiry += 1; },
  };
  for (const auto& edit : edits) {
    AdminChange c = base;
    edit(c);
    add(c);
  }
  EXPECT_EQ(AdminDigest(base), AdminDigest(Reshare()));
  EXPECT_THAT(base.Summary(),
              testing::HasSubstr("2-of-3 [node-1,node-2,node-3] -> 2-of-2 "
                                 "[node-1,node-4], dealers 1,3, networks "
                                 "[bitcoin:mainnet,ethereum:1]"));
}

}  // namespace
}  // namespace kagi::policy
