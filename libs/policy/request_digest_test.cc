#include "libs/policy/request_digest.h"

#include <set>

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

TEST(RequestDigestTest, AdminDigestsDifferAndSortNames) {
  const RequestDigest a = CreateKeyDigest("k-1", 2, {"node-2", "node-1"}, 9);
  EXPECT_EQ(a, CreateKeyDigest("k-1", 2, {"node-1", "node-2"}, 9));
  EXPECT_NE(a, CreateKeyDigest("k-1", 2, {"node-1", "node-3"}, 9));
  EXPECT_NE(a, CreateKeyDigest("k-1", 1, {"node-1", "node-2"}, 9));
  EXPECT_NE(a, CreateKeyDigest("k-1", 2, {"node-1", "node-2"}, 10));
  EXPECT_NE(RefreshDigest("r", "key", 9), RefreshDigest("r", "key", 10));
  EXPECT_NE(ReshareDigest("r", "key", 2, {"a", "b"}, 9),
            ReshareDigest("r", "key", 2, {"a", "c"}, 9));
}

}  // namespace
}  // namespace kagi::policy
