#include "services/node/request.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/transcript.h"

namespace kagi::node {
namespace {

using Key32 = std::array<uint8_t, 32>;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

bool IsKnown(const Key32& key, const Key32& self,
             const std::vector<Key32>& known) {
  return key == self ||
         std::find(known.begin(), known.end(), key) != known.end();
}

// PartyKeys parses a list of 32-byte identity keys that must be distinct and
// each either this node's or a configured peer's.
absl::StatusOr<std::vector<Key32>> PartyKeys(
    const google::protobuf::RepeatedPtrField<std::string>& list,
    absl::string_view field, const Key32& self,
    const std::vector<Key32>& known) {
  std::vector<Key32> keys;
  std::set<Key32> seen;
  for (int i = 0; i < list.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "]");
    KAGI_ASSIGN_OR_RETURN(Key32 k, Fixed32(list[i], f));
    if (!IsKnown(k, self, known)) {
      return absl::PermissionDeniedError(
          absl::StrCat(f, ": not a node this node knows (not in its config)"));
    }
    if (!seen.insert(k).second) return FieldError(f, "listed twice");
    keys.push_back(k);
  }
  return keys;
}

}  // namespace

absl::StatusOr<Key32> Fixed32(const std::string& bytes,
                              absl::string_view field) {
  if (bytes.size() != 32) {
    return FieldError(field,
                      absl::StrCat("must be 32 bytes, got ", bytes.size()));
  }
  Key32 out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

absl::Status ValidateRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) {
    return FieldError("request_id", "must be 1..128 characters");
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return FieldError("request_id", "must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckExpiry(uint64_t expiry, absl::Time now,
                         absl::Duration max_ahead) {
  const int64_t now_s = absl::ToUnixSeconds(now);
  if (expiry <= static_cast<uint64_t>(now_s)) {
    return absl::FailedPreconditionError(
        absl::StrCat("expiry_unix_seconds: the request expired at ", expiry,
                     " (now ", now_s, ")"));
  }
  if (expiry > static_cast<uint64_t>(now_s + absl::ToInt64Seconds(max_ahead))) {
    return FieldError(
        "expiry_unix_seconds",
        absl::StrCat("more than ", absl::FormatDuration(max_ahead), " ahead"));
  }
  return absl::OkStatus();
}

std::array<uint8_t, 32> DkgRequestDigest(const v1::StartDkgRequest& r) {
  crypto::Transcript t(crypto::Tag::kRequest);
  t.Add(AsBytes("dkg")).Add(AsBytes(r.request_id())).AddU32(r.threshold());
  t.AddU32(static_cast<uint32_t>(r.party_identity_keys_size()));
  for (const std::string& k : r.party_identity_keys()) t.Add(AsBytes(k));
  return t.H();
}

std::array<uint8_t, 32> ReshareRequestDigest(const v1::StartReshareRequest& r) {
  crypto::Transcript t(crypto::Tag::kRequest);
  t.Add(AsBytes("reshare"))
      .Add(AsBytes(r.request_id()))
      .Add(AsBytes(r.key_id()))
      .AddU64(r.epoch())
      .AddU32(r.new_threshold());
  t.AddU32(static_cast<uint32_t>(r.dealers_size()));
  for (uint32_t d : r.dealers()) t.AddU32(d);
  t.AddU32(static_cast<uint32_t>(r.new_party_identity_keys_size()));
  for (const std::string& k : r.new_party_identity_keys()) t.Add(AsBytes(k));
  return t.H();
}

absl::StatusOr<protocol::SessionSetup> BuildSignSetup(
    const protocol::KeyShare& share, const v1::StartSignRequest& request,
    std::vector<protocol::SignItem> items, const Key32& request_digest) {
  protocol::SessionSetup s;
  s.op = protocol::Op::kSign;
  s.key_id = share.key_id;
  s.epoch = share.epoch;
  s.parties = share.parties;
  s.threshold = share.threshold;
  s.signers.assign(request.signers().begin(), request.signers().end());
  s.items = std::move(items);
  s.request_digest = request_digest;
  KAGI_ASSIGN_OR_RETURN(s.initiator_nonce,
                        Fixed32(request.initiator_nonce(), "initiator_nonce"));
  s.expiry_unix_seconds = request.request().expiry_unix_seconds();
  KAGI_RETURN_IF_ERROR(protocol::ValidateSetup(s));
  if (std::find(s.signers.begin(), s.signers.end(), share.self) ==
      s.signers.end()) {
    return FieldError("signers", absl::StrCat("this node (party ", share.self,
                                              ") is not a signer"));
  }
  return s;
}

absl::StatusOr<protocol::SessionSetup> BuildDkgSetup(
    const v1::StartDkgRequest& request, const Key32& self_key,
    const std::vector<Key32>& known_keys) {
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  KAGI_ASSIGN_OR_RETURN(std::vector<Key32> keys,
                        PartyKeys(request.party_identity_keys(),
                                  "party_identity_keys", self_key, known_keys));
  if (std::find(keys.begin(), keys.end(), self_key) == keys.end()) {
    return FieldError("party_identity_keys", "this node is not a party");
  }
  protocol::SessionSetup s;
  s.op = protocol::Op::kDkg;
  for (size_t i = 0; i < keys.size(); ++i) {
    s.parties.push_back({static_cast<uint32_t>(i + 1), keys[i]});
  }
  s.threshold = request.threshold();
  KAGI_ASSIGN_OR_RETURN(s.initiator_nonce,
                        Fixed32(request.initiator_nonce(), "initiator_nonce"));
  s.expiry_unix_seconds = request.expiry_unix_seconds();
  KAGI_RETURN_IF_ERROR(protocol::ValidateSetup(s));
  return s;
}

absl::StatusOr<protocol::SessionSetup> BuildReshareSetup(
    const v1::StartReshareRequest& request, const protocol::KeyShare* old_share,
    const Key32& self_key, const std::vector<Key32>& known_keys) {
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  KAGI_ASSIGN_OR_RETURN(Key32 key_id, Fixed32(request.key_id(), "key_id"));
  if (request.dealers_size() != request.dealer_identity_keys_size()) {
    return FieldError("dealer_identity_keys", "must match dealers one to one");
  }
  KAGI_ASSIGN_OR_RETURN(
      std::vector<Key32> dealer_keys,
      PartyKeys(request.dealer_identity_keys(), "dealer_identity_keys",
                self_key, known_keys));
  KAGI_ASSIGN_OR_RETURN(
      std::vector<Key32> new_keys,
      PartyKeys(request.new_party_identity_keys(), "new_party_identity_keys",
                self_key, known_keys));
  if (old_share != nullptr) {
    if (old_share->key_id != key_id) return FieldError("key_id", "mismatch");
    if (old_share->epoch != request.epoch()) {
      return absl::FailedPreconditionError(
          absl::StrCat("epoch: this node holds epoch ", old_share->epoch,
                       ", request says ", request.epoch()));
    }
    for (int i = 0; i < request.dealers_size(); ++i) {
      const uint32_t id = request.dealers(i);
      const protocol::PartyInfo* p = nullptr;
      for (const protocol::PartyInfo& q : old_share->parties) {
        if (q.id == id) p = &q;
      }
      if (p == nullptr ||
          p->identity_key != dealer_keys[static_cast<size_t>(i)]) {
        return FieldError(absl::StrCat("dealer_identity_keys[", i, "]"),
                          absl::StrCat("is not the identity key of party ", id,
                                       " of the key"));
      }
    }
  }
  protocol::SessionSetup s;
  s.op = protocol::Op::kReshare;
  s.key_id = key_id;
  s.epoch = request.epoch();
  s.threshold = request.new_threshold();
  s.old_threshold = static_cast<uint32_t>(request.dealers_size());
  auto dealer_of = [&](const Key32& k) -> uint32_t {
    for (size_t i = 0; i < dealer_keys.size(); ++i) {
      if (dealer_keys[i] == k) return request.dealers(static_cast<int>(i));
    }
    return 0;
  };
  uint32_t next = 1;
  for (size_t i = 0; i < new_keys.size(); ++i) {
    s.parties.push_back({next++, new_keys[i]});
    s.reshare_roles.push_back(
        {dealer_of(new_keys[i]), static_cast<uint32_t>(i + 1)});
  }
  std::vector<std::pair<uint32_t, Key32>> leaving;
  for (size_t i = 0; i < dealer_keys.size(); ++i) {
    if (std::find(new_keys.begin(), new_keys.end(), dealer_keys[i]) ==
        new_keys.end()) {
      leaving.emplace_back(request.dealers(static_cast<int>(i)),
                           dealer_keys[i]);
    }
  }
  std::sort(leaving.begin(), leaving.end());
  for (const auto& [old_id, k] : leaving) {
    s.parties.push_back({next++, k});
    s.reshare_roles.push_back({old_id, 0});
  }
  KAGI_ASSIGN_OR_RETURN(s.initiator_nonce,
                        Fixed32(request.initiator_nonce(), "initiator_nonce"));
  s.expiry_unix_seconds = request.expiry_unix_seconds();
  KAGI_RETURN_IF_ERROR(protocol::ValidateSetup(s));
  if (std::none_of(s.parties.begin(), s.parties.end(),
                   [&](const protocol::PartyInfo& p) {
                     return p.identity_key == self_key;
                   })) {
    return FieldError("new_party_identity_keys",
                      "this node is neither a dealer nor a new member");
  }
  return s;
}

v1::KeyInfo KeyInfoFromShare(const protocol::KeyShare& share) {
  v1::KeyInfo info;
  info.set_key_id(std::string(share.key_id.begin(), share.key_id.end()));
  const auto pub = share.public_key.ToCompressed();
  info.set_public_key(std::string(pub.begin(), pub.end()));
  info.set_chain_code(
      std::string(share.chain_code.begin(), share.chain_code.end()));
  info.set_xpub(
      crypto::ExtendedPublicKey::Root(share.public_key, share.chain_code)
          .Encode());
  info.set_threshold(share.threshold);
  info.set_epoch(share.epoch);
  for (const protocol::PartyInfo& p : share.parties) {
    v1::KeyParty* kp = info.add_parties();
    kp->set_id(p.id);
    kp->set_identity_key(
        std::string(p.identity_key.begin(), p.identity_key.end()));
  }
  return info;
}

}  // namespace kagi::node
