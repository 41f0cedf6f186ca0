#include "services/node/request_claims.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/crypto/transcript.h"

namespace kagi::node {
namespace {

using Key32 = std::array<uint8_t, 32>;

bool IsState(absl::string_view s) {
  return s == kClaimAdmitted || s == kClaimSucceeded || s == kClaimFailed;
}

Key32 Fixed(const std::string& bytes) {
  Key32 out{};
  if (bytes.size() == out.size()) {
    std::copy(bytes.begin(), bytes.end(), out.begin());
  }
  return out;
}

std::string Str(const Key32& k) { return std::string(k.begin(), k.end()); }

std::string Who(const v1::RequestClaim& claim, const NodeNameOf& name_of) {
  const std::string name = name_of(Fixed(claim.node_identity_key()));
  return name.empty()
             ? absl::StrCat("node ",
                            HexEncode(AsBytes(claim.node_identity_key())))
             : name;
}

}  // namespace

Key32 ClaimDigest(const v1::RequestClaim& c) {
  crypto::Transcript t(crypto::Tag::kRequest);
  t.Add(AsBytes("request-claim"))
      .Add(AsBytes(c.request_id()))
      .Add(AsBytes(c.key_id()))
      .Add(AsBytes(c.request_digest()))
      .Add(AsBytes(c.sid0()))
      .Add(AsBytes(c.state()))
      .Add(AsBytes(c.node_identity_key()));
  return t.H();
}

v1::RequestClaim MakeClaim(const ClaimSubject& subject, absl::string_view state,
                           const crypto::Ed25519PrivateKey& identity) {
  v1::RequestClaim c;
  c.set_request_id(subject.request_id);
  c.set_key_id(Str(subject.key_id));
  c.set_request_digest(Str(subject.request_digest));
  c.set_sid0(Str(subject.sid0));
  c.set_state(std::string(state));
  c.set_node_identity_key(Str(identity.PublicKey()));
  const crypto::Ed25519Signature sig = identity.Sign(ClaimDigest(c));
  c.set_signature(std::string(sig.begin(), sig.end()));
  return c;
}

absl::Status VerifyClaim(const v1::RequestClaim& c,
                         absl::string_view request_id) {
  if (c.request_id() != request_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("claim.request_id: '", c.request_id().substr(0, 128),
                     "' is not the request asked about"));
  }
  for (const auto& [field, value] :
       {std::pair<absl::string_view, const std::string*>{"key_id", &c.key_id()},
        {"request_digest", &c.request_digest()},
        {"sid0", &c.sid0()},
        {"node_identity_key", &c.node_identity_key()}}) {
    if (value->size() != 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("claim.", field, ": must be 32 bytes"));
    }
  }
  if (!IsState(c.state())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "claim.state: '", c.state().substr(0, 32), "' is not a claim state"));
  }
  const absl::Status sig = crypto::Ed25519Verify(
      AsBytes(c.node_identity_key()), ClaimDigest(c), AsBytes(c.signature()));
  if (!sig.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "claim of node ", HexEncode(AsBytes(c.node_identity_key())),
        " about request '", request_id,
        "': the signature does not verify under its identity key"));
  }
  return absl::OkStatus();
}

absl::Status CheckClaims(const ClaimSubject& mine, const Key32& self_key,
                         const std::vector<v1::RequestClaim>& claims,
                         const NodeNameOf& name_of) {
  const auto conflict = [&](const v1::RequestClaim& c) {
    return Fixed(c.request_digest()) != mine.request_digest ||
           Fixed(c.key_id()) != mine.key_id;
  };
  // This node's own word first, in the words of its request record
  // (Store::BeginRequest); its own earlier session in another sid0 is
  // BeginRequest's business (a retry after it failed or crashed).
  for (const v1::RequestClaim& c : claims) {
    if (Fixed(c.node_identity_key()) != self_key) continue;
    if (conflict(c)) {
      return absl::AlreadyExistsError(
          absl::StrCat("request id '", mine.request_id,
                       "' was already used for a different request"));
    }
    if (c.state() == kClaimSucceeded) {
      return absl::AlreadyExistsError(absl::StrCat("request '", mine.request_id,
                                                   "' was already completed"));
    }
  }
  const std::string prefix = absl::StrCat("request id '", mine.request_id, "'");
  for (const v1::RequestClaim& c : claims) {
    if (Fixed(c.node_identity_key()) == self_key) continue;
    if (conflict(c)) {
      return absl::AlreadyExistsError(absl::StrCat(
          prefix, " was already used for a different request (on ",
          Who(c, name_of), "): a request id names one request, cluster-wide"));
    }
    if (c.state() == kClaimSucceeded) {
      return absl::AlreadyExistsError(absl::StrCat(
          prefix, " was already completed (signed by ", Who(c, name_of),
          "); GetRequestStatus returns its result"));
    }
    if (c.state() == kClaimAdmitted && Fixed(c.sid0()) != mine.sid0) {
      return absl::AlreadyExistsError(absl::StrCat(
          prefix, " is being signed by ", Who(c, name_of),
          " in another session; it may be retried once that session failed"));
    }
  }
  return absl::OkStatus();
}

}  // namespace kagi::node
