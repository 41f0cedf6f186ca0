#include "libs/policy/request_digest.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/bytes.h"
#include "libs/crypto/transcript.h"

namespace kagi::policy {
namespace {

crypto::Transcript& AddPath(
    crypto::Transcript& t, const google::protobuf::RepeatedField<uint32_t>& p) {
  t.AddU32(static_cast<uint32_t>(p.size()));
  for (uint32_t index : p) t.AddU32(index);
  return t;
}

crypto::Transcript& AddCommittee(crypto::Transcript& t,
                                 const std::vector<CommitteeMember>& members) {
  t.AddU32(static_cast<uint32_t>(members.size()));
  for (const CommitteeMember& m : members) {
    t.Add(AsBytes(m.node)).Add(m.identity_key);
  }
  return t;
}

}  // namespace

absl::StatusOr<RequestDigest> SignRequestDigest(const v1::SignRequest& r) {
  crypto::Transcript t(crypto::Tag::kRequest);
  t.Add(AsBytes("sign")).Add(AsBytes(r.request_id())).Add(AsBytes(r.key_id()));
  const v1::SignPayload& p = r.payload();
  switch (p.kind_case()) {
    case v1::SignPayload::kRawDigest:
      t.Add(AsBytes("raw_digest"))
          .AddU32(static_cast<uint32_t>(p.raw_digest().items_size()));
      for (const v1::DigestItem& item : p.raw_digest().items()) {
        t.Add(AsBytes(item.digest()));
        AddPath(t, item.path());
      }
      break;
    case v1::SignPayload::kBitcoinPsbt:
      t.Add(AsBytes("bitcoin_psbt"))
          .Add(AsBytes(p.bitcoin_psbt().network()))
          .Add(AsBytes(p.bitcoin_psbt().psbt()));
      break;
    case v1::SignPayload::kEthereumTx:
      t.Add(AsBytes("ethereum_tx")).Add(AsBytes(p.ethereum_tx().unsigned_tx()));
      AddPath(t, p.ethereum_tx().path());
      break;
    default:
      return absl::InvalidArgumentError("payload: missing or unknown kind");
  }
  t.AddU64(r.expiry_unix_seconds());
  return t.H();
}

absl::string_view AdminOperationName(AdminOperation op) {
  switch (op) {
    case AdminOperation::kCreateKey:
      return "create_key";
    case AdminOperation::kRefresh:
      return "refresh";
    case AdminOperation::kReshare:
      return "reshare";
  }
  return "unknown";
}

std::string AdminChange::Summary() const {
  auto committee = [](uint32_t t, const std::vector<CommitteeMember>& c) {
    std::vector<std::string> names;
    for (const CommitteeMember& m : c) names.push_back(m.node);
    return absl::StrCat(t, "-of-", c.size(), " [", absl::StrJoin(names, ","),
                        "]");
  };
  const std::string bound =
      absl::StrCat(", networks [", absl::StrJoin(networks, ","), "]");
  if (operation == AdminOperation::kCreateKey) {
    return absl::StrCat("create_key ", committee(new_threshold, new_committee),
                        bound, ", request ", request_id);
  }
  return absl::StrCat(
      AdminOperationName(operation), " of key ", HexEncode(AsBytes(key_id)),
      " epoch ", epoch, ": ", committee(old_threshold, old_committee), " -> ",
      committee(new_threshold, new_committee), ", dealers ",
      absl::StrJoin(dealers, ","), bound, ", request ", request_id);
}

RequestDigest AdminDigest(const AdminChange& c) {
  crypto::Transcript t(crypto::Tag::kRequest);
  t.Add(AsBytes("admin"))
      .AddU32(static_cast<uint32_t>(c.operation))
      .Add(AsBytes(c.request_id))
      .Add(AsBytes(c.key_id))
      .AddU64(c.epoch)
      .AddU32(c.old_threshold);
  AddCommittee(t, c.old_committee).AddU32(c.new_threshold);
  AddCommittee(t, c.new_committee)
      .AddU32(static_cast<uint32_t>(c.dealers.size()));
  for (uint32_t id : c.dealers) t.AddU32(id);
  t.AddU32(static_cast<uint32_t>(c.networks.size()));
  for (const std::string& n : c.networks) t.Add(AsBytes(n));
  t.AddU64(c.expiry);
  return t.H();
}

}  // namespace kagi::policy
