#include "services/node/request_claims.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/transcript.h"
#include "libs/policy/request_digest.h"

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
  // A completion's proof: a relaying member cannot swap it.
  t.AddU32(static_cast<uint32_t>(c.signatures_size()));
  for (const v1::SignatureResult& r : c.signatures()) {
    t.Add(AsBytes(r.digest())).Add(AsBytes(r.signature()));
    t.AddU32(static_cast<uint32_t>(r.path_size()));
    for (uint32_t index : r.path()) t.AddU32(index);
  }
  return t.H();
}

v1::RequestClaim MakeClaim(
    const ClaimSubject& subject, absl::string_view state,
    const v1::SignRequest& request,
    const google::protobuf::RepeatedPtrField<v1::SignatureResult>& signatures,
    const crypto::Ed25519PrivateKey& identity) {
  v1::RequestClaim c;
  c.set_request_id(subject.request_id);
  c.set_key_id(Str(subject.key_id));
  c.set_request_digest(Str(subject.request_digest));
  c.set_sid0(Str(subject.sid0));
  c.set_state(std::string(state));
  c.set_node_identity_key(Str(identity.PublicKey()));
  if (state == kClaimSucceeded) {
    *c.mutable_request() = request;
    *c.mutable_signatures() = signatures;
  }
  const crypto::Ed25519Signature sig = identity.Sign(ClaimDigest(c));
  c.set_signature(std::string(sig.begin(), sig.end()));
  return c;
}

namespace {

// CheckEvidence: a completion carries the request it names and signatures.
absl::Status CheckEvidence(const v1::RequestClaim& c) {
  if (c.state() != kClaimSucceeded) return absl::OkStatus();
  if (!c.has_request()) {
    return absl::InvalidArgumentError(
        "claim.request: missing (a completion carries the request it names)");
  }
  if (c.request().request_id() != c.request_id() ||
      c.request().key_id() != c.key_id()) {
    return absl::InvalidArgumentError(
        "claim.request: is about another request id or key than the claim");
  }
  absl::StatusOr<policy::RequestDigest> digest =
      policy::SignRequestDigest(c.request());
  if (!digest.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("claim.request: ", digest.status().message()));
  }
  if (Str(*digest) != c.request_digest()) {
    return absl::InvalidArgumentError(
        "claim.request: its digest is not the claim's request_digest");
  }
  if (c.signatures().empty()) {
    return absl::InvalidArgumentError(
        "claim.signatures: a 'succeeded' claim carries its signatures");
  }
  return absl::OkStatus();
}

// HasUnknownFields: bytes no field of `m` names, at any depth (covered by
// neither the claim's signature nor the request digest).
bool HasUnknownFields(const google::protobuf::Message& m) {
  std::unique_ptr<google::protobuf::Message> copy(m.New());
  copy->CopyFrom(m);
  copy->DiscardUnknownFields();
  return copy->ByteSizeLong() != m.ByteSizeLong();
}

}  // namespace

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
  if (HasUnknownFields(c)) {
    return absl::InvalidArgumentError(
        "claim: carries fields this node does not know");
  }
  const absl::Status sig = crypto::Ed25519Verify(
      AsBytes(c.node_identity_key()), ClaimDigest(c), AsBytes(c.signature()));
  if (!sig.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "claim of node ", HexEncode(AsBytes(c.node_identity_key())),
        " about request '", request_id,
        "': the signature does not verify under its identity key"));
  }
  return CheckEvidence(c);
}

bool ProvesCompletion(const v1::RequestClaim& claim,
                      const std::vector<protocol::SignItem>& items,
                      const crypto::ExtendedPublicKey& root) {
  if (claim.state() != kClaimSucceeded ||
      static_cast<size_t>(claim.signatures_size()) != items.size()) {
    return false;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const v1::SignatureResult& r = claim.signatures(static_cast<int>(i));
    if (r.digest() != Str(items[i].digest) ||
        !std::equal(r.path().begin(), r.path().end(), items[i].path.begin(),
                    items[i].path.end())) {
      return false;
    }
    absl::StatusOr<crypto::DerivedKey> derived =
        crypto::DerivePath(root, items[i].path);
    if (!derived.ok() ||
        !crypto::EcdsaVerify(derived->xpub.key(), items[i].digest,
                             AsBytes(r.signature()))
             .ok()) {
      return false;
    }
  }
  return true;
}

absl::Status CheckClaims(const ClaimSubject& mine, const Key32& self_key,
                         const std::vector<v1::RequestClaim>& claims,
                         const NodeNameOf& name_of) {
  const std::string prefix = absl::StrCat("request id '", mine.request_id, "'");
  for (const v1::RequestClaim& c : claims) {
    if (Fixed(c.key_id()) != mine.key_id) continue;  // not about this key
    // Only completions refuse: an admission or failure is the request
    // record's business (Store::BeginRequest) on the node that made it.
    if (c.state() != kClaimSucceeded) continue;
    // This node's own word in the words of its request record; another
    // member's naming it.
    const bool own = Fixed(c.node_identity_key()) == self_key;
    if (Fixed(c.request_digest()) != mine.request_digest) {
      return absl::AlreadyExistsError(absl::StrCat(
          prefix, " was already used for a different request",
          own ? "" : absl::StrCat(" (completed on ", Who(c, name_of), ")"),
          own ? "" : ": a request id names one request of a key"));
    }
    return absl::AlreadyExistsError(absl::StrCat(
        prefix, " was already completed",
        own ? "" : absl::StrCat(" (signed by ", Who(c, name_of), ")"),
        "; GetRequestStatus returns its result"));
  }
  return absl::OkStatus();
}

}  // namespace kagi::node
