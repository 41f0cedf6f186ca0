#include "libs/protocol/keyshare.h"

#include "absl/strings/str_cat.h"
#include "libs/base/ctime.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/transcript.h"
#include "libs/protocol/lagrange.h"

namespace kagi::protocol {
namespace {

using crypto::Point;
using crypto::Scalar;

constexpr char kMagic[] = "KAGI-KS";  // 7 bytes, no terminator on the wire
// Version 2 adds field 12 (legacy_base_ot); version 1 is still read and
// means "made before the uniform base-OT fix" (keyshare.h). Version 3 adds
// field 13 (networks); version 2 is still read and means "no binding".
constexpr uint16_t kFormatVersion = 3;
constexpr uint16_t kFormatVersionUnbound = 2;
constexpr uint16_t kFormatVersionLegacyBaseOt = 1;
constexpr size_t kMaxNetworkName = 64;
constexpr size_t kSeedBytes = mpc::kBaseOts * 32;

// Field tags, in the order they appear.
enum FieldTag : uint8_t {
  kTagKeyId = 1,
  kTagSidKey,
  kTagEpoch,
  kTagSelf,
  kTagThreshold,
  kTagParties,
  kTagSecretShare,
  kTagPublicKey,
  kTagPublicShares,
  kTagChainCode,
  kTagPairwise,
  kTagLegacyBaseOt,  // version 2 on
  kTagNetworks,      // version 3 on
};

void PutField(ByteWriter& w, uint8_t tag, ByteSpan value) {
  w.PutU8(tag);
  w.PutLengthPrefixed(value);
}

absl::StatusOr<ByteSpan> GetField(ByteReader& r, uint8_t tag,
                                  absl::string_view name, size_t max_len) {
  KAGI_ASSIGN_OR_RETURN(const uint8_t got, r.ReadU8(name));
  if (got != tag) {
    return absl::InvalidArgumentError(absl::StrCat("keyshare: expected field ",
                                                   name, " (tag ", tag,
                                                   "), found tag ", got));
  }
  return r.ReadLengthPrefixed(max_len, name);
}

absl::Status ExpectLength(ByteSpan v, size_t len, absl::string_view name) {
  if (v.size() != len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keyshare: ", name, " must be ", len, " bytes, got ", v.size()));
  }
  return absl::OkStatus();
}

template <size_t N>
std::array<uint8_t, N> ToArray(ByteSpan v) {
  std::array<uint8_t, N> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

}  // namespace

const PairwiseMaterial* KeyShare::Pairwise(uint32_t peer) const {
  for (const PairwiseMaterial& p : pairwise) {
    if (p.peer == peer) {
      return &p;
    }
  }
  return nullptr;
}

std::array<uint8_t, 32> ComputeKeyId(const Point& public_key,
                                     const std::array<uint8_t, 32>& chain_code,
                                     const std::vector<PartyInfo>& parties,
                                     uint32_t threshold) {
  ByteWriter list;
  list.PutU32(static_cast<uint32_t>(parties.size()));
  for (const PartyInfo& p : parties) {
    list.PutU32(p.id);
    list.PutRaw(p.identity_key);
  }
  return crypto::Transcript(crypto::Tag::kKeyId)
      .AddPoint(public_key)
      .Add(chain_code)
      .Add(list.bytes())
      .AddU32(threshold)
      .H();
}

SecretBytes KeyShare::Serialize() const {
  ByteWriter w;
  w.PutRaw(AsBytes(absl::string_view(kMagic, 7)));
  w.PutU8(static_cast<uint8_t>(kFormatVersion >> 8));
  w.PutU8(static_cast<uint8_t>(kFormatVersion & 0xff));
  PutField(w, kTagKeyId, key_id);
  PutField(w, kTagSidKey, sid_key);
  {
    ByteWriter v;
    v.PutU64(epoch);
    PutField(w, kTagEpoch, v.bytes());
  }
  {
    ByteWriter v;
    v.PutU32(self);
    PutField(w, kTagSelf, v.bytes());
  }
  {
    ByteWriter v;
    v.PutU32(threshold);
    PutField(w, kTagThreshold, v.bytes());
  }
  {
    ByteWriter v;
    v.PutU32(static_cast<uint32_t>(parties.size()));
    for (const PartyInfo& p : parties) {
      v.PutU32(p.id);
      v.PutRaw(p.identity_key);
    }
    PutField(w, kTagParties, v.bytes());
  }
  {
    std::array<uint8_t, 32> x = secret_share.ToBytes();
    PutField(w, kTagSecretShare, x);
    SecureWipe(x.data(), x.size());
  }
  PutField(w, kTagPublicKey, public_key.ToCompressed());
  {
    ByteWriter v;
    v.PutU32(static_cast<uint32_t>(public_shares.size()));
    for (const Point& p : public_shares) {
      v.PutRaw(p.ToCompressed());
    }
    PutField(w, kTagPublicShares, v.bytes());
  }
  PutField(w, kTagChainCode, chain_code);
  {
    ByteWriter v;
    v.PutU32(static_cast<uint32_t>(pairwise.size()));
    for (const PairwiseMaterial& p : pairwise) {
      v.PutU32(p.peer);
      v.PutRaw(p.as_sender.delta.secret());
      v.PutRaw(p.as_sender.keys.secret());
      v.PutRaw(p.as_receiver.keys0.secret());
      v.PutRaw(p.as_receiver.keys1.secret());
      v.PutRaw(p.zero_seed.secret());
    }
    PutField(w, kTagPairwise, v.bytes());
    Bytes raw = std::move(v).Take();
    SecureWipe(raw.data(), raw.size());
  }
  {
    const uint8_t legacy[1] = {static_cast<uint8_t>(legacy_base_ot ? 1 : 0)};
    PutField(w, kTagLegacyBaseOt, ByteSpan(legacy, 1));
  }
  {
    ByteWriter v;
    v.PutU32(static_cast<uint32_t>(networks.size()));
    for (const std::string& name : networks) v.PutLengthPrefixed(AsBytes(name));
    PutField(w, kTagNetworks, v.bytes());
  }
  const crypto::Digest32 sum = crypto::Sha256(w.bytes());
  w.PutRaw(sum);
  Bytes raw = std::move(w).Take();
  SecretBytes out(raw);
  SecureWipe(raw.data(), raw.size());
  return out;
}

namespace {

// ReadHeader checks the checksum, the magic and the format version and
// leaves `r` at the first field.
absl::StatusOr<uint16_t> ReadHeader(ByteSpan bytes, ByteReader& r) {
  if (bytes.size() < 7 + 2 + 32) {
    return absl::InvalidArgumentError("keyshare: truncated (too short)");
  }
  const ByteSpan body = bytes.subspan(0, bytes.size() - 32);
  const crypto::Digest32 sum = crypto::Sha256(body);
  // Public by design: whether the record is intact (an error if not).
  if (!CtDeclassifyValue(
          ConstantTimeEqual(sum, bytes.subspan(bytes.size() - 32)))) {
    return absl::DataLossError(
        "keyshare: checksum mismatch (corrupted or truncated record)");
  }
  r = ByteReader(body);
  KAGI_ASSIGN_OR_RETURN(const ByteSpan magic, r.ReadSpan(7, "keyshare.magic"));
  if (!ConstantTimeEqual(magic, AsBytes(absl::string_view(kMagic, 7)))) {
    return absl::InvalidArgumentError("keyshare: not a Kagi key share");
  }
  KAGI_ASSIGN_OR_RETURN(const uint8_t vhi, r.ReadU8("keyshare.version"));
  KAGI_ASSIGN_OR_RETURN(const uint8_t vlo, r.ReadU8("keyshare.version"));
  const uint16_t version = static_cast<uint16_t>((vhi << 8) | vlo);
  if (version != kFormatVersion && version != kFormatVersionUnbound &&
      version != kFormatVersionLegacyBaseOt) {
    return absl::InvalidArgumentError(
        absl::StrCat("keyshare: unsupported format version ", version));
  }
  return version;
}

// Fields 1-5: key id, sid, epoch, own id, threshold.
absl::Status ReadIdentity(ByteReader& r, KeyShare& s) {
  KAGI_ASSIGN_OR_RETURN(ByteSpan f, GetField(r, kTagKeyId, "key_id", 32));
  KAGI_RETURN_IF_ERROR(ExpectLength(f, 32, "key_id"));
  s.key_id = ToArray<32>(f);
  KAGI_ASSIGN_OR_RETURN(f, GetField(r, kTagSidKey, "sid_key", 32));
  KAGI_RETURN_IF_ERROR(ExpectLength(f, 32, "sid_key"));
  s.sid_key = ToArray<32>(f);
  KAGI_ASSIGN_OR_RETURN(f, GetField(r, kTagEpoch, "epoch", 8));
  KAGI_RETURN_IF_ERROR(ExpectLength(f, 8, "epoch"));
  s.epoch = LoadBigEndian64(f.data());
  KAGI_ASSIGN_OR_RETURN(f, GetField(r, kTagSelf, "self", 4));
  KAGI_RETURN_IF_ERROR(ExpectLength(f, 4, "self"));
  s.self = LoadBigEndian32(f.data());
  KAGI_ASSIGN_OR_RETURN(f, GetField(r, kTagThreshold, "threshold", 4));
  KAGI_RETURN_IF_ERROR(ExpectLength(f, 4, "threshold"));
  s.threshold = LoadBigEndian32(f.data());

  return absl::OkStatus();
}

// Field 6, the parties (ids 1..n), with t and the own id in range.
absl::Status ReadParties(ByteReader& r, KeyShare& s) {
  ByteSpan f;
  KAGI_ASSIGN_OR_RETURN(
      f, GetField(r, kTagParties, "parties", 4 + kMaxParties * 36));
  {
    ByteReader pr(f);
    KAGI_ASSIGN_OR_RETURN(const uint32_t n, pr.ReadU32("parties.count"));
    if (n < 2 || n > kMaxParties) {
      return absl::InvalidArgumentError(
          absl::StrCat("keyshare: party count ", n, " out of range"));
    }
    for (uint32_t i = 0; i < n; ++i) {
      PartyInfo p;
      KAGI_ASSIGN_OR_RETURN(p.id, pr.ReadU32("parties.id"));
      KAGI_ASSIGN_OR_RETURN(p.identity_key,
                            pr.ReadFixed<32>("parties.identity_key"));
      if (p.id != i + 1) {
        return absl::InvalidArgumentError("keyshare: party ids must be 1..n");
      }
      s.parties.push_back(p);
    }
    KAGI_RETURN_IF_ERROR(pr.ExpectEnd("keyshare.parties"));
  }
  if (s.threshold < 2 || s.threshold > s.n() || s.self < 1 || s.self > s.n()) {
    return absl::InvalidArgumentError(
        "keyshare: threshold or own id out of range");
  }
  return absl::OkStatus();
}

// Fields 7-10: x_i, X, X_1..X_n, cc.
absl::Status ReadKeys(ByteReader& r, KeyShare& s) {
  ByteSpan f;
  const uint32_t n = s.n();
  KAGI_ASSIGN_OR_RETURN(f, GetField(r, kTagSecretShare, "secret_share", 32));
  KAGI_ASSIGN_OR_RETURN(s.secret_share, Scalar::FromCanonicalBytesNonZero(
                                            f, "keyshare.secret_share"));
  KAGI_ASSIGN_OR_RETURN(f, GetField(r, kTagPublicKey, "public_key", 33));
  KAGI_ASSIGN_OR_RETURN(s.public_key,
                        Point::FromCompressed(f, "keyshare.public_key"));
  KAGI_ASSIGN_OR_RETURN(
      f, GetField(r, kTagPublicShares, "public_shares", 4 + kMaxParties * 33));
  {
    ByteReader pr(f);
    KAGI_ASSIGN_OR_RETURN(const uint32_t count,
                          pr.ReadU32("public_shares.count"));
    if (count != n) {
      return absl::InvalidArgumentError(
          "keyshare: one public share per party expected");
    }
    for (uint32_t i = 0; i < count; ++i) {
      KAGI_ASSIGN_OR_RETURN(const ByteSpan p, pr.ReadSpan(33, "public_share"));
      KAGI_ASSIGN_OR_RETURN(Point pt,
                            Point::FromCompressed(p, "keyshare.public_share"));
      s.public_shares.push_back(pt);
    }
    KAGI_RETURN_IF_ERROR(pr.ExpectEnd("keyshare.public_shares"));
  }
  KAGI_ASSIGN_OR_RETURN(f, GetField(r, kTagChainCode, "chain_code", 32));
  KAGI_RETURN_IF_ERROR(ExpectLength(f, 32, "chain_code"));
  s.chain_code = ToArray<32>(f);
  return absl::OkStatus();
}

// Field 11: the pairwise material, one per peer in id order.
absl::Status ReadPairwise(ByteReader& r, KeyShare& s) {
  ByteSpan f;
  const uint32_t n = s.n();
  constexpr size_t kPairBytes = 4 + 32 + 3 * kSeedBytes + 32;
  KAGI_ASSIGN_OR_RETURN(
      f, GetField(r, kTagPairwise, "pairwise", 4 + kMaxParties * kPairBytes));
  {
    ByteReader pr(f);
    KAGI_ASSIGN_OR_RETURN(const uint32_t count, pr.ReadU32("pairwise.count"));
    if (count != n - 1) {
      return absl::InvalidArgumentError(
          "keyshare: OT material for every peer expected");
    }
    uint32_t expect_peer = 1;
    for (uint32_t i = 0; i < count; ++i, ++expect_peer) {
      if (expect_peer == s.self) {
        ++expect_peer;
      }
      PairwiseMaterial m;
      KAGI_ASSIGN_OR_RETURN(m.peer, pr.ReadU32("pairwise.peer"));
      if (m.peer != expect_peer) {
        return absl::InvalidArgumentError(
            "keyshare: pairwise material out of order or for self");
      }
      KAGI_ASSIGN_OR_RETURN(ByteSpan v, pr.ReadSpan(32, "pairwise.delta"));
      m.as_sender.delta = SecretBytes(v);
      KAGI_ASSIGN_OR_RETURN(v, pr.ReadSpan(kSeedBytes, "pairwise.keys"));
      m.as_sender.keys = SecretBytes(v);
      KAGI_ASSIGN_OR_RETURN(v, pr.ReadSpan(kSeedBytes, "pairwise.keys0"));
      m.as_receiver.keys0 = SecretBytes(v);
      KAGI_ASSIGN_OR_RETURN(v, pr.ReadSpan(kSeedBytes, "pairwise.keys1"));
      m.as_receiver.keys1 = SecretBytes(v);
      KAGI_ASSIGN_OR_RETURN(v, pr.ReadSpan(32, "pairwise.zero_seed"));
      m.zero_seed = SecretBytes(v);
      s.pairwise.push_back(std::move(m));
    }
    KAGI_RETURN_IF_ERROR(pr.ExpectEnd("keyshare.pairwise"));
  }
  return absl::OkStatus();
}

// Fields 12-13 by version: legacy_base_ot and the network binding.
absl::Status ReadFlags(ByteReader& r, uint16_t version, KeyShare& s) {
  ByteSpan f;
  if (version == kFormatVersionLegacyBaseOt) {
    // Written before the uniform base-OT fix: the peer knows about half of
    // each Δ in this OT material.
    s.legacy_base_ot = true;
  } else {
    KAGI_ASSIGN_OR_RETURN(f,
                          GetField(r, kTagLegacyBaseOt, "legacy_base_ot", 1));
    KAGI_RETURN_IF_ERROR(ExpectLength(f, 1, "legacy_base_ot"));
    if (f[0] > 1) {
      return absl::InvalidArgumentError(
          "keyshare: legacy_base_ot must be 0 or 1");
    }
    s.legacy_base_ot = f[0] == 1;
  }
  if (version == kFormatVersion) {
    KAGI_ASSIGN_OR_RETURN(
        f, GetField(r, kTagNetworks, "networks",
                    4 + kMaxShareNetworks * (4 + kMaxNetworkName)));
    ByteReader nr(f);
    KAGI_ASSIGN_OR_RETURN(const uint32_t count, nr.ReadU32("networks.count"));
    if (count > kMaxShareNetworks) {
      return absl::InvalidArgumentError(absl::StrCat(
          "keyshare: ", count, " networks; at most ", kMaxShareNetworks));
    }
    for (uint32_t i = 0; i < count; ++i) {
      KAGI_ASSIGN_OR_RETURN(const ByteSpan name,
                            nr.ReadLengthPrefixed(kMaxNetworkName, "networks"));
      std::string text(name.begin(), name.end());
      if (text.empty() || (!s.networks.empty() && text <= s.networks.back())) {
        return absl::InvalidArgumentError(
            "keyshare: networks must be non-empty names in strictly "
            "increasing order");
      }
      s.networks.push_back(std::move(text));
    }
    KAGI_RETURN_IF_ERROR(nr.ExpectEnd("keyshare.networks"));
  }
  return absl::OkStatus();
}

// CheckConsistency: the share matches its public share, the public shares
// interpolate to X (any t of them), and the key id matches.
absl::Status CheckConsistency(const KeyShare& s) {
  const uint32_t n = s.n();
  KAGI_ASSIGN_OR_RETURN(const Point own, Point::MulGenerator(s.secret_share));
  // Public by design: x_i·G is the public share the record also holds.
  CtDeclassifyObject(own);
  if (own != s.public_shares[s.self - 1]) {
    return absl::InvalidArgumentError(
        "keyshare: secret share does not match its public share");
  }
  // Every public share must lie on the same polynomial of degree t − 1:
  // X_m = Σ_{i ≤ t} λ_i(m)·X_i for all m (and X = the value at 0).
  std::vector<uint32_t> first_t;
  for (uint32_t i = 1; i <= s.threshold; ++i) {
    first_t.push_back(i);
  }
  for (uint32_t m = 0; m <= n; ++m) {
    if (m >= 1 && m <= s.threshold) {
      continue;  // the basis itself
    }
    std::vector<Point> terms;
    for (uint32_t i : first_t) {
      KAGI_ASSIGN_OR_RETURN(Point term,
                            s.public_shares[i - 1].MulPublicScalarVartime(
                                LagrangeAt(m, i, first_t)));
      terms.push_back(term);
    }
    absl::StatusOr<Point> at_m = Point::Sum(terms);
    const Point& want = m == 0 ? s.public_key : s.public_shares[m - 1];
    if (!at_m.ok() || *at_m != want) {
      return absl::InvalidArgumentError(
          m == 0
              ? "keyshare: public shares do not interpolate to the public key"
              : absl::StrCat("keyshare: public share ", m,
                             " is not on the sharing polynomial"));
    }
  }
  // The key id is computed at DKG (epoch 0) and inherited by every later
  // epoch, whose committee and threshold may differ.
  if (s.epoch == 0 && ComputeKeyId(s.public_key, s.chain_code, s.parties,
                                   s.threshold) != s.key_id) {
    return absl::InvalidArgumentError("keyshare: key id does not match");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KeyShare> KeyShare::Deserialize(ByteSpan bytes) {
  ByteReader r(ByteSpan{});
  KAGI_ASSIGN_OR_RETURN(const uint16_t version, ReadHeader(bytes, r));
  KeyShare s;
  KAGI_RETURN_IF_ERROR(ReadIdentity(r, s));
  KAGI_RETURN_IF_ERROR(ReadParties(r, s));
  KAGI_RETURN_IF_ERROR(ReadKeys(r, s));
  KAGI_RETURN_IF_ERROR(ReadPairwise(r, s));
  KAGI_RETURN_IF_ERROR(ReadFlags(r, version, s));
  KAGI_RETURN_IF_ERROR(r.ExpectEnd("keyshare"));
  KAGI_RETURN_IF_ERROR(CheckConsistency(s));
  return s;
}

}  // namespace kagi::protocol
