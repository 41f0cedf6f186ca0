#include "services/node/claim_book.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"
#include "libs/base/status_macros.h"

namespace kagi::node {
namespace {

using Key32 = ClaimBook::Key32;

// How long a member's answer is waited for (a silent member costs this
// before admission; honest answers take milliseconds).
constexpr absl::Duration kClaimTimeout = absl::Milliseconds(500);

std::string Str(const Key32& k) { return std::string(k.begin(), k.end()); }

Key32 Fixed(const std::string& bytes) {
  Key32 out{};
  if (bytes.size() == out.size()) {
    std::copy(bytes.begin(), bytes.end(), out.begin());
  }
  return out;
}

bool IsMember(const protocol::KeyShare& share, const Key32& identity_key) {
  return std::any_of(share.parties.begin(), share.parties.end(),
                     [&](const protocol::PartyInfo& p) {
                       return p.identity_key == identity_key;
                     });
}

crypto::ExtendedPublicKey Root(const protocol::KeyShare& share) {
  return crypto::ExtendedPublicKey::Root(share.public_key, share.chain_code);
}

}  // namespace

ClaimBook::ClaimBook(Node node)
    : node_(std::move(node)),
      self_key_(node_.identity->PublicKey()),
      worker_([this] { Work(); }) {}

ClaimBook::~ClaimBook() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  worker_.join();
}

void ClaimBook::Work() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ClaimBook* b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(b->mu_) {
            return b->stopping_ || !b->queue_.empty();
          },
          this));
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ClaimBook::TellLater(
    const ClaimSubject& subject, absl::string_view state,
    const v1::SignRequest& request,
    const google::protobuf::RepeatedPtrField<v1::SignatureResult>& signatures,
    SharePtr share) {
  auto mine = std::make_shared<v1::RequestClaims>();
  mine->set_request_id(subject.request_id);
  *mine->add_claims() =
      MakeClaim(subject, state, request, signatures, *node_.identity);
  Put(mine->claims(0)).IgnoreError();
  absl::MutexLock lock(&mu_);
  queue_.push_back([this, mine, share] { Send(*mine, *share); });
}

bool ClaimBook::AlreadyHeld(const v1::RequestClaim& c) const {
  absl::StatusOr<std::vector<storage::RequestClaimRow>> rows =
      node_.store->GetRequestClaims(Fixed(c.key_id()), c.request_id());
  if (!rows.ok()) return false;
  const std::string bytes = c.SerializeAsString();
  return std::any_of(
      rows->begin(), rows->end(), [&](const storage::RequestClaimRow& r) {
        return r.claim.size() == bytes.size() &&
               std::equal(r.claim.begin(), r.claim.end(), bytes.begin());
      });
}

absl::Status ClaimBook::Accept(const v1::RequestClaim& c,
                               const protocol::KeyShare& share) const {
  return Proves(c, share, node_.completed_items);
}

absl::Status ClaimBook::Proven(const v1::RequestClaim& c,
                               const protocol::KeyShare& share) const {
  return Proves(c, share, node_.signed_items);
}

absl::Status ClaimBook::Proves(
    const v1::RequestClaim& c, const protocol::KeyShare& share,
    const decltype(Node::signed_items)& items_of) const {
  KAGI_RETURN_IF_ERROR(VerifyClaim(c, c.request_id()));
  if (c.state() != kClaimSucceeded) {
    return absl::InvalidArgumentError(
        "claim.state: only a completion is kept from another member");
  }
  if (c.key_id() != Str(share.key_id)) {
    return absl::InvalidArgumentError(
        "claim.key_id: not the key this claim was checked for");
  }
  if (!IsMember(share, Fixed(c.node_identity_key()))) {
    return absl::PermissionDeniedError(
        absl::StrCat("claim: its claimant is not a member of key ",
                     HexEncode(share.key_id), " on ", node_.name));
  }
  absl::StatusOr<std::vector<protocol::SignItem>> items =
      items_of(c.request(), share);
  if (!items.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("claim.request: not a request ", node_.name,
                     " would have signed: ", items.status().message()));
  }
  if (!ProvesCompletion(c, *items, Root(share))) {
    return absl::PermissionDeniedError(
        "claim.signatures: do not verify under the key over the request's "
        "items");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RequestClaim>> ClaimBook::Held(
    const Key32& key_id, const std::string& request_id) const {
  KAGI_ASSIGN_OR_RETURN(std::vector<storage::RequestClaimRow> rows,
                        node_.store->GetRequestClaims(key_id, request_id));
  std::vector<v1::RequestClaim> out;
  for (const storage::RequestClaimRow& row : rows) {
    v1::RequestClaim claim;
    if (claim.ParseFromArray(row.claim.data(),
                             static_cast<int>(row.claim.size())) &&
        VerifyClaim(claim, request_id).ok() && claim.key_id() == Str(key_id)) {
      out.push_back(std::move(claim));
    }
  }
  return out;
}

absl::Status ClaimBook::Put(const v1::RequestClaim& claim) {
  storage::RequestClaimRow row;
  row.key_id = Fixed(claim.key_id());
  row.request_id = claim.request_id();
  row.node_key = Fixed(claim.node_identity_key());
  row.state = claim.state();
  const std::string bytes = claim.SerializeAsString();
  row.claim.assign(bytes.begin(), bytes.end());
  return node_.store->PutRequestClaim(row);
}

absl::Status ClaimBook::Reserve(const std::string& peer, size_t bytes) {
  absl::MutexLock lock(&mu_);
  size_t& used = inflight_[peer];
  if (used + bytes > node_.max_inflight_bytes_per_peer) {
    return absl::ResourceExhaustedError(
        absl::StrCat("claims: ", peer, " has ", used,
                     " bytes of claim exchanges in work on ", node_.name,
                     "; at most ", node_.max_inflight_bytes_per_peer));
  }
  used += bytes;
  return absl::OkStatus();
}

void ClaimBook::Release(const std::string& peer, size_t bytes) {
  absl::MutexLock lock(&mu_);
  size_t& used = inflight_[peer];
  used -= std::min(used, bytes);
}

absl::Status ClaimBook::Check(const ClaimSubject& subject,
                              const protocol::KeyShare& share) {
  KAGI_ASSIGN_OR_RETURN(std::vector<v1::RequestClaim> held,
                        Held(subject.key_id, subject.request_id));
  // This node's own claims as they are; another member's completion proven
  // again (the database may have been changed since it was stored), but
  // not judged again by the policy, which may have changed since.
  std::vector<v1::RequestClaim> counted;
  for (v1::RequestClaim& c : held) {
    if (Fixed(c.node_identity_key()) == self_key_ || Proven(c, share).ok()) {
      counted.push_back(std::move(c));
    }
  }
  return CheckClaims(subject, self_key_, counted, node_.name_of);
}

void ClaimBook::Tell(
    const ClaimSubject& subject, absl::string_view state,
    const v1::SignRequest& request,
    const google::protobuf::RepeatedPtrField<v1::SignatureResult>& signatures,
    const protocol::KeyShare& share) {
  v1::RequestClaims mine;
  mine.set_request_id(subject.request_id);
  *mine.add_claims() =
      MakeClaim(subject, state, request, signatures, *node_.identity);
  Put(mine.claims(0)).IgnoreError();  // best effort, as the peers' copies
  Send(mine, share);
}

void ClaimBook::Send(const v1::RequestClaims& mine,
                     const protocol::KeyShare& share) {
  if (node_.transport == nullptr) return;
  std::vector<std::string> members;
  for (const protocol::PartyInfo& p : share.parties) {
    const std::string node = node_.name_of(p.identity_key);
    if (p.identity_key != self_key_ && !node.empty()) members.push_back(node);
  }
  for (const absl::StatusOr<v1::RequestClaims>& answer :
       node_.transport->Exchange(members, mine, kClaimTimeout)) {
    if (!answer.ok()) continue;
    // An honest answer holds one completion per digest: at most one claim
    // per member of the key is looked at, the rest of a flood is not.
    std::set<std::string> seen;
    size_t looked = 0;
    for (const v1::RequestClaim& c : answer->claims()) {
      if (looked++ == share.parties.size()) break;
      if (c.request_id() != mine.request_id() ||
          Fixed(c.node_identity_key()) == self_key_ ||
          !seen.insert(c.node_identity_key() + c.request_digest()).second ||
          AlreadyHeld(c) || !Accept(c, share).ok()) {
        continue;
      }
      Put(c).IgnoreError();
    }
  }
}

absl::StatusOr<v1::RequestClaims> ClaimBook::Exchange(
    const std::string& from_node, const v1::RequestClaims& request) {
  const size_t bytes = request.ByteSizeLong();
  KAGI_RETURN_IF_ERROR(Reserve(from_node, bytes));
  const absl::Cleanup release = [&] { Release(from_node, bytes); };
  if (request.claims_size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("claims: ", from_node, " sent ", request.claims_size(),
                     " claims; a node sends exactly its own claim"));
  }
  const v1::RequestClaim& c = request.claims(0);
  KAGI_RETURN_IF_ERROR(VerifyClaim(c, request.request_id()));
  const Key32 claimant = Fixed(c.node_identity_key());
  if (node_.name_of(claimant) != from_node || claimant == self_key_) {
    return absl::PermissionDeniedError(absl::StrCat(
        "claims[0]: ", from_node, " sent a claim signed by another node"));
  }
  // Only about keys this node holds, from their members.
  const Key32 key_id = Fixed(c.key_id());
  absl::StatusOr<SharePtr> share = node_.load_share(key_id);
  if (!share.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "claims[0]: ", from_node, " claims about key ", HexEncode(key_id),
        ", which ", node_.name, " cannot check: ", share.status().message()));
  }
  if (!IsMember(**share, claimant)) {
    return absl::PermissionDeniedError(
        absl::StrCat("claims[0]: ", from_node, " is not a member of key ",
                     HexEncode(key_id), " on ", node_.name));
  }
  if (c.state() == kClaimSucceeded && !AlreadyHeld(c)) {
    const absl::Status accepted = Accept(c, **share);
    if (!accepted.ok()) {
      return absl::Status(
          accepted.code(),
          absl::StrCat("claims[0] from ", from_node, ": ", accepted.message()));
    }
    KAGI_RETURN_IF_ERROR(Put(c));
  }
  // The completions held, one per request digest (this node's own first,
  // then what it accepted).
  KAGI_ASSIGN_OR_RETURN(std::vector<v1::RequestClaim> held,
                        Held(key_id, request.request_id()));
  std::set<std::string> digests;
  v1::RequestClaims out;
  out.set_request_id(request.request_id());
  for (v1::RequestClaim& h : held) {
    if (h.state() == kClaimSucceeded &&
        digests.insert(h.request_digest()).second) {
      *out.add_claims() = std::move(h);
    }
  }
  return out;
}

std::vector<std::string> ClaimBook::ReleaseInterrupted() {
  std::vector<std::string> out;
  absl::StatusOr<std::vector<storage::RequestClaimRow>> rows =
      node_.store->GetClaimsInState(self_key_, kClaimAdmitted);
  if (!rows.ok()) {
    out.push_back(
        absl::StrCat("cannot read request claims: ", rows.status().message()));
    return out;
  }
  for (const storage::RequestClaimRow& row : *rows) {
    v1::RequestClaim claim;
    if (!claim.ParseFromArray(row.claim.data(),
                              static_cast<int>(row.claim.size())) ||
        !VerifyClaim(claim, row.request_id).ok()) {
      out.push_back(absl::StrCat("request '", row.request_id,
                                 "': stored claim does not verify"));
      continue;
    }
    const ClaimSubject subject{row.request_id, Fixed(claim.key_id()),
                               Fixed(claim.request_digest()),
                               Fixed(claim.sid0())};
    absl::StatusOr<SharePtr> share = node_.load_share(subject.key_id);
    if (!share.ok()) {
      out.push_back(absl::StrCat("request '", row.request_id,
                                 "': ", share.status().message()));
      continue;
    }
    Tell(subject, kClaimFailed, v1::SignRequest(), {}, **share);
    out.push_back(absl::StrCat("request '", row.request_id,
                               "': its signing session ended with the last "
                               "process; claimed failed to the key's members"));
  }
  return out;
}

}  // namespace kagi::node
