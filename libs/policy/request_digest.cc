#include "libs/policy/request_digest.h"

#include <algorithm>

#include "libs/crypto/transcript.h"

namespace kagi::policy {
namespace {

crypto::Transcript& AddPath(
    crypto::Transcript& t, const google::protobuf::RepeatedField<uint32_t>& p) {
  t.AddU32(static_cast<uint32_t>(p.size()));
  for (uint32_t index : p) t.AddU32(index);
  return t;
}

crypto::Transcript& AddNames(crypto::Transcript& t,
                             std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  t.AddU32(static_cast<uint32_t>(names.size()));
  for (const std::string& n : names) t.Add(AsBytes(n));
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

RequestDigest CreateKeyDigest(absl::string_view request_id, uint32_t threshold,
                              std::vector<std::string> nodes, uint64_t expiry) {
  crypto::Transcript t(crypto::Tag::kRequest);
  t.Add(AsBytes("create_key")).Add(AsBytes(request_id)).AddU32(threshold);
  AddNames(t, std::move(nodes)).AddU64(expiry);
  return t.H();
}

RequestDigest RefreshDigest(absl::string_view request_id,
                            absl::string_view key_id, uint64_t expiry) {
  crypto::Transcript t(crypto::Tag::kRequest);
  t.Add(AsBytes("refresh")).Add(AsBytes(request_id)).Add(AsBytes(key_id));
  t.AddU64(expiry);
  return t.H();
}

RequestDigest ReshareDigest(absl::string_view request_id,
                            absl::string_view key_id, uint32_t new_threshold,
                            std::vector<std::string> nodes, uint64_t expiry) {
  crypto::Transcript t(crypto::Tag::kRequest);
  t.Add(AsBytes("reshare")).Add(AsBytes(request_id)).Add(AsBytes(key_id));
  t.AddU32(new_threshold);
  AddNames(t, std::move(nodes)).AddU64(expiry);
  return t.H();
}

}  // namespace kagi::policy
