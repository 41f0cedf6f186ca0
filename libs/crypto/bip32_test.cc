#include "libs/crypto/bip32.h"

#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/check.h"
#include "libs/crypto/base58.h"
#include "tests/testing/vectors.h"

namespace kagi::crypto {
namespace {

using ::kagi::testing::GetField;
using ::kagi::testing::GetNumber;
using ::kagi::testing::GetString;
using ::testing::HasSubstr;

// One step of a BIP32 test-vector chain.
struct Step {
  std::string chain;  // "m/0H/1", as printed in BIP32
  bool has_parent = false;
  uint32_t index = 0;  // the last index, with kBip32HardenedBit if hardened
  std::string xpub;
  std::string xprv;
};

struct Vector {
  int number = 0;
  std::vector<Step> steps;
  std::vector<std::pair<std::string, std::string>> invalid;  // key, reason
};

// Parses the last index of a chain label such as "m/0<sub>H</sub>/1"
// (BIP32's markup for hardened steps).
uint32_t LastIndex(const std::string& chain) {
  const std::string label = absl::StrReplaceAll(chain, {{"<sub>H</sub>", "H"}});
  std::string last = label.substr(label.rfind('/') + 1);
  uint32_t hardened = 0;
  if (!last.empty() && last.back() == 'H') {
    last.pop_back();
    hardened = kBip32HardenedBit;
  }
  return static_cast<uint32_t>(std::stoul(last)) | hardened;
}

std::vector<Vector> LoadVectors() {
  absl::StatusOr<google::protobuf::Value> json =
      kagi::testing::LoadJsonVector("bip32_test_vectors.json");
  KAGI_CHECK(json.ok());
  std::vector<Vector> out;
  for (const auto& v : GetField(*json, "vectors").list_value().values()) {
    Vector vec;
    vec.number = static_cast<int>(GetNumber(v, "vector"));
    for (const auto& c : GetField(v, "chains").list_value().values()) {
      Step step;
      step.chain = GetString(c, "chain");
      step.has_parent = step.chain != "m";
      if (step.has_parent) {
        step.index = LastIndex(step.chain);
      }
      step.xpub = GetString(c, "ext_pub");
      step.xprv = GetString(c, "ext_prv");
      vec.steps.push_back(std::move(step));
    }
    for (const auto& i : GetField(v, "invalid").list_value().values()) {
      vec.invalid.emplace_back(GetString(i, "key"), GetString(i, "reason"));
    }
    out.push_back(std::move(vec));
  }
  return out;
}

const std::vector<Vector>& Vectors() {
  static const std::vector<Vector>* vectors =
      new std::vector<Vector>(LoadVectors());
  return *vectors;
}

ExtendedPublicKey MustDecodeXpub(absl::string_view text) {
  absl::StatusOr<ExtendedPublicKey> k = ExtendedPublicKey::Decode(text);
  KAGI_CHECK(k.ok());
  return *std::move(k);
}

ExtendedKey MustDecodeAny(absl::string_view text) {
  absl::StatusOr<ExtendedKey> k = DecodeExtendedKey(text);
  KAGI_CHECK(k.ok());
  return *std::move(k);
}

TEST(Bip32Test, LoadsVectorsOneToFive) {
  ASSERT_EQ(Vectors().size(), 5u);
  EXPECT_EQ(Vectors()[0].steps.size(), 6u);
  EXPECT_EQ(Vectors()[4].invalid.size(), 16u);
}

TEST(Bip32Test, CkdpubReproducesEveryNonHardenedStepOfVectors1To4) {
  int checked = 0;
  for (const Vector& v : Vectors()) {
    for (size_t s = 1; s < v.steps.size(); ++s) {
      const Step& step = v.steps[s];
      if ((step.index & kBip32HardenedBit) != 0) {
        continue;
      }
      SCOPED_TRACE(absl::StrCat("vector ", v.number, " ", step.chain));
      const ExtendedPublicKey parent = MustDecodeXpub(v.steps[s - 1].xpub);
      absl::StatusOr<ExtendedPublicKey> child = parent.Ckdpub(step.index);
      ASSERT_TRUE(child.ok()) << child.status();
      EXPECT_EQ(child->Encode(), step.xpub);
      EXPECT_EQ(child->parent_fingerprint(), parent.Fingerprint());
      ++checked;
    }
  }
  // V1: /1, /2, /1000000000; V2: /0, /1, /2. V3 and V4 are all hardened.
  EXPECT_EQ(checked, 6);
}

TEST(Bip32Test, EveryXprvNeutersToTheXpubOfTheSameStep) {
  for (const Vector& v : Vectors()) {
    for (const Step& step : v.steps) {
      SCOPED_TRACE(absl::StrCat("vector ", v.number, " ", step.chain));
      absl::StatusOr<ExtendedKey> xprv = DecodeExtendedKey(step.xprv);
      ASSERT_TRUE(xprv.ok()) << xprv.status();
      ASSERT_TRUE(xprv->is_private());
      EXPECT_EQ(xprv->version(), kBip32VersionXprv);
      EXPECT_EQ(xprv->Neuter().Encode(), step.xpub);
    }
  }
}

TEST(Bip32Test, EveryKeyRoundTripsThroughDecodeAndEncode) {
  for (const Vector& v : Vectors()) {
    for (const Step& step : v.steps) {
      SCOPED_TRACE(absl::StrCat("vector ", v.number, " ", step.chain));
      absl::StatusOr<ExtendedPublicKey> xpub =
          ExtendedPublicKey::Decode(step.xpub);
      ASSERT_TRUE(xpub.ok()) << xpub.status();
      EXPECT_EQ(xpub->Encode(), step.xpub);
      EXPECT_EQ(xpub->version(), kBip32VersionXpub);

      absl::StatusOr<ExtendedKey> any_pub = DecodeExtendedKey(step.xpub);
      ASSERT_TRUE(any_pub.ok()) << any_pub.status();
      EXPECT_FALSE(any_pub->is_private());
      EXPECT_FALSE(any_pub->PrivateKeyForTestFixtures().has_value());
      EXPECT_EQ(any_pub->Encode(), step.xpub);
      EXPECT_EQ(any_pub->Neuter(), *xpub);

      absl::StatusOr<ExtendedKey> any_prv = DecodeExtendedKey(step.xprv);
      ASSERT_TRUE(any_prv.ok()) << any_prv.status();
      EXPECT_EQ(any_prv->Encode(), step.xprv);
      EXPECT_EQ(any_prv->depth(), xpub->depth());
      EXPECT_EQ(any_prv->child_number(), xpub->child_number());
      EXPECT_EQ(any_prv->chain_code(), xpub->chain_code());
      EXPECT_EQ(any_prv->parent_fingerprint(), xpub->parent_fingerprint());
      EXPECT_EQ(any_prv->public_key(), xpub->key());
    }
  }
}

TEST(Bip32Test, PublicDecodeRejectsPrivateKeys) {
  for (const Vector& v : Vectors()) {
    for (const Step& step : v.steps) {
      absl::StatusOr<ExtendedPublicKey> r =
          ExtendedPublicKey::Decode(step.xprv);
      ASSERT_FALSE(r.ok()) << step.xprv;
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(r.status().message(),
                  HasSubstr("expected an extended public key"));
    }
  }
}

TEST(Bip32Test, RejectsEveryVector5InvalidKeyWithAReason) {
  // BIP32's reason → a phrase our error message must contain.
  const std::vector<std::pair<std::string, std::string>> kKeywords = {
      {"pubkey version / prvkey mismatch", "version/key mismatch"},
      {"prvkey version / pubkey mismatch", "version/key mismatch"},
      {"invalid pubkey prefix 04", "invalid public key prefix 0x04"},
      {"invalid prvkey prefix 04", "invalid private key prefix 0x04"},
      {"invalid pubkey prefix 01", "invalid public key prefix 0x01"},
      {"invalid prvkey prefix 01", "invalid private key prefix 0x01"},
      {"zero depth with non-zero parent fingerprint",
       "non-zero parent fingerprint"},
      {"zero depth with non-zero index", "non-zero child number"},
      {"unknown extended key version", "unknown extended key version"},
      {"private key 0 not in 1..n-1", "not in 1..n-1 (it is 0)"},
      {"private key n not in 1..n-1", "not in 1..n-1 (it is >= the group"},
      {"invalid pubkey 0200000000000000000000000000000000000000000000000000000"
       "00000000007",
       "not on the curve"},
      {"invalid checksum", "checksum mismatch"},
  };
  const Vector& v5 = Vectors()[4];
  ASSERT_EQ(v5.number, 5);
  ASSERT_FALSE(v5.invalid.empty());
  for (const auto& [key, reason] : v5.invalid) {
    SCOPED_TRACE(absl::StrCat(reason, ": ", key));
    absl::StatusOr<ExtendedKey> r = DecodeExtendedKey(key);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    std::cout << "  [" << reason << "] -> " << r.status().message() << "\n";
    bool matched = false;
    for (const auto& [bip_reason, phrase] : kKeywords) {
      if (bip_reason == reason) {
        EXPECT_THAT(r.status().message(), HasSubstr(phrase));
        matched = true;
      }
    }
    EXPECT_TRUE(matched) << "no expected phrase for this reason";
    // The xpub-only decoder rejects them all too.
    EXPECT_FALSE(ExtendedPublicKey::Decode(key).ok());
  }
}

TEST(Bip32Test, RejectsHardenedIndexInPublicDerivation) {
  const ExtendedPublicKey root = MustDecodeXpub(Vectors()[0].steps[0].xpub);
  for (uint32_t index :
       {kBip32HardenedBit, kBip32HardenedBit + 1, uint32_t{0xffffffff}}) {
    absl::StatusOr<ExtendedPublicKey> r = root.Ckdpub(index);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(),
                HasSubstr("hardened derivation needs the private key"));
  }
  EXPECT_TRUE(root.Ckdpub(kBip32HardenedBit - 1).ok());
}

TEST(Bip32Test, DerivePathTweakMovesTheParentKeyToTheChild) {
  // V1: m/0H/1/2H → /2 → /1000000000, which PROTOCOL.md §5's fixture A uses.
  const std::vector<Step>& v1 = Vectors()[0].steps;
  const ExtendedPublicKey root = MustDecodeXpub(v1[3].xpub);
  const std::vector<uint32_t> path = {2, 1000000000};
  absl::StatusOr<DerivedKey> derived = DerivePath(root, path);
  ASSERT_TRUE(derived.ok()) << derived.status();
  EXPECT_EQ(derived->xpub.Encode(), v1[5].xpub);

  // child key == parent key + tweak·G.
  absl::StatusOr<Point> tweak_g = Point::MulGenerator(derived->tweak);
  ASSERT_TRUE(tweak_g.ok());
  absl::StatusOr<Point> expected = root.key().Add(*tweak_g);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(derived->xpub.key(), *expected);

  // The same tweak moves the fixture's private key: k' = k + tweak.
  const ExtendedKey parent_prv = MustDecodeAny(v1[3].xprv);
  const ExtendedKey child_prv = MustDecodeAny(v1[5].xprv);
  ASSERT_TRUE(parent_prv.PrivateKeyForTestFixtures().has_value());
  ASSERT_TRUE(child_prv.PrivateKeyForTestFixtures().has_value());
  EXPECT_TRUE(*parent_prv.PrivateKeyForTestFixtures() + derived->tweak ==
              *child_prv.PrivateKeyForTestFixtures());

  // One step at a time gives the same keys and the tweaks add up.
  absl::StatusOr<DerivedKey> first = DerivePath(root, {path[0]});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->xpub.Encode(), v1[4].xpub);
  absl::StatusOr<DerivedKey> second = DerivePath(first->xpub, {path[1]});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->xpub, derived->xpub);
  EXPECT_TRUE(first->tweak + second->tweak == derived->tweak);
}

TEST(Bip32Test, DerivePathFromVector2Master) {
  // PROTOCOL.md §5 fixture B: V2 master, path 0 → V2 m/0.
  const std::vector<Step>& v2 = Vectors()[1].steps;
  absl::StatusOr<DerivedKey> derived =
      DerivePath(MustDecodeXpub(v2[0].xpub), std::vector<uint32_t>{0});
  ASSERT_TRUE(derived.ok()) << derived.status();
  EXPECT_EQ(derived->xpub.Encode(), v2[1].xpub);
  const ExtendedKey master = MustDecodeAny(v2[0].xprv);
  const ExtendedKey child = MustDecodeAny(v2[1].xprv);
  EXPECT_TRUE(*master.PrivateKeyForTestFixtures() + derived->tweak ==
              *child.PrivateKeyForTestFixtures());
}

TEST(Bip32Test, DerivePathWithEmptyPathReturnsTheRootAndZeroTweak) {
  const ExtendedPublicKey root = MustDecodeXpub(Vectors()[1].steps[0].xpub);
  absl::StatusOr<DerivedKey> derived = DerivePath(root, {});
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->xpub, root);
  EXPECT_TRUE(derived->tweak.IsZero());
}

TEST(Bip32Test, DerivePathErrorNamesTheStep) {
  const ExtendedPublicKey root = MustDecodeXpub(Vectors()[1].steps[0].xpub);
  absl::StatusOr<DerivedKey> r =
      DerivePath(root, std::vector<uint32_t>{0, 1, kBip32HardenedBit | 2});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("path step 2 (index 2147483650)"));
  EXPECT_THAT(r.status().message(), HasSubstr("hardened"));
}

TEST(Bip32Test, MatchesProtocolSection5Chains) {
  const struct {
    const char* parent;
    std::vector<uint32_t> path;
    const char* child;
  } kCases[] = {
      // V1 m/0H → m/0H/1.
      {"xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1"
       "VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
       {1},
       "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj"
       "7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ"},
      // V1 m/0H/1/2H → /2.
      {"xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dF"
       "DFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
       {2},
       "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6Z"
       "LRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV"},
      // V1 m/0H/1/2H/2 → /1000000000.
      {"xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6Z"
       "LRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
       {1000000000},
       "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaF"
       "cxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy"},
      // V1 m/0H/1/2H → /2/1000000000 in one call.
      {"xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dF"
       "DFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
       {2, 1000000000},
       "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaF"
       "cxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy"},
      // V2 m → m/0.
      {"xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDM"
       "Sgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
       {0},
       "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERf"
       "vrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.child);
    absl::StatusOr<DerivedKey> d = DerivePath(MustDecodeXpub(c.parent), c.path);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->xpub.Encode(), c.child);
  }
}

TEST(Bip32Test, FingerprintMatchesVector1Master) {
  // BIP32 lists 3442193e as the identifier prefix of vector 1's master key.
  const ExtendedPublicKey master = MustDecodeXpub(Vectors()[0].steps[0].xpub);
  EXPECT_EQ(HexEncode(master.Fingerprint()), "3442193e");
  const ExtendedPublicKey child = MustDecodeXpub(Vectors()[0].steps[1].xpub);
  EXPECT_EQ(HexEncode(child.parent_fingerprint()), "3442193e");
  EXPECT_EQ(child.child_number(), kBip32HardenedBit);
  EXPECT_EQ(child.depth(), 1);
}

TEST(Bip32Test, RootRebuildsTheVector2MasterXpub) {
  const ExtendedPublicKey master = MustDecodeXpub(Vectors()[1].steps[0].xpub);
  const ExtendedPublicKey root =
      ExtendedPublicKey::Root(master.key(), master.chain_code());
  EXPECT_EQ(root, master);
  EXPECT_EQ(root.Encode(), Vectors()[1].steps[0].xpub);
}

TEST(Bip32Test, TestnetKeysKeepTheirVersion) {
  const ExtendedPublicKey master = MustDecodeXpub(Vectors()[1].steps[0].xpub);
  const ExtendedPublicKey root = ExtendedPublicKey::Root(
      master.key(), master.chain_code(), Bip32Network::kTestnet);
  const std::string text = root.Encode();
  EXPECT_EQ(text.substr(0, 4), "tpub");
  absl::StatusOr<ExtendedPublicKey> back = ExtendedPublicKey::Decode(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, root);
  absl::StatusOr<ExtendedPublicKey> child = root.Ckdpub(0);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->version(), kBip32VersionTpub);
  EXPECT_EQ(child->key(), MustDecodeXpub(Vectors()[1].steps[1].xpub).key());
}

TEST(Bip32Test, CreateValidatesVersionAndDepthZeroFields) {
  const ExtendedPublicKey master = MustDecodeXpub(Vectors()[1].steps[0].xpub);
  const Bip32ChainCode& cc = master.chain_code();
  const Point& k = master.key();
  EXPECT_TRUE(
      ExtendedPublicKey::Create(kBip32VersionXpub, 0, {}, 0, cc, k).ok());
  EXPECT_THAT(ExtendedPublicKey::Create(kBip32VersionXprv, 0, {}, 0, cc, k)
                  .status()
                  .message(),
              HasSubstr("not an extended public key version"));
  EXPECT_THAT(
      ExtendedPublicKey::Create(kBip32VersionXpub, 0, {0, 0, 0, 1}, 0, cc, k)
          .status()
          .message(),
      HasSubstr("non-zero parent fingerprint"));
  EXPECT_THAT(ExtendedPublicKey::Create(kBip32VersionXpub, 0, {}, 7, cc, k)
                  .status()
                  .message(),
              HasSubstr("non-zero child number"));
  EXPECT_TRUE(
      ExtendedPublicKey::Create(kBip32VersionXpub, 1, {1, 2, 3, 4}, 7, cc, k)
          .ok());
}

TEST(Bip32Test, RejectsDerivationBelowMaximumDepth) {
  const ExtendedPublicKey master = MustDecodeXpub(Vectors()[1].steps[0].xpub);
  absl::StatusOr<ExtendedPublicKey> deep =
      ExtendedPublicKey::Create(kBip32VersionXpub, 255, {1, 2, 3, 4}, 5,
                                master.chain_code(), master.key());
  ASSERT_TRUE(deep.ok());
  EXPECT_THAT(deep->Ckdpub(0).status().message(), HasSubstr("maximum depth"));
}

TEST(Bip32Test, RejectsPayloadsOfTheWrongLength) {
  absl::StatusOr<Bytes> payload = Base58CheckDecode(Vectors()[0].steps[0].xpub);
  ASSERT_TRUE(payload.ok());
  ASSERT_EQ(payload->size(), kBip32SerializedBytes);
  Bytes shorter(payload->begin(), payload->end() - 1);
  Bytes longer = *payload;
  longer.push_back(0);
  for (const Bytes& bad : {shorter, longer, Bytes{}}) {
    absl::StatusOr<ExtendedKey> r = DecodeExtendedKey(Base58CheckEncode(bad));
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr("must be 78 bytes"));
  }
  EXPECT_THAT(DecodeExtendedKey("xpub0").status().message(),
              HasSubstr("invalid character '0' at position 4"));
  EXPECT_THAT(DecodeExtendedKey("").status().message(), HasSubstr("too short"));
}

TEST(Bip32Test, ParsePathAcceptsNonHardenedPaths) {
  const struct {
    const char* text;
    std::vector<uint32_t> want;
  } kCases[] = {
      {"m", {}},
      {"m/0", {0}},
      {"m/0/1/2", {0, 1, 2}},
      {"0/1", {0, 1}},
      {"7", {7}},
      {"m/2/1000000000", {2, 1000000000}},
      {"m/2147483647", {2147483647}},
  };
  for (const auto& c : kCases) {
    absl::StatusOr<std::vector<uint32_t>> got = ParsePath(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(Bip32Test, ParsePathRejectsHardenedAndMalformedSteps) {
  const struct {
    const char* text;
    const char* want;
  } kCases[] = {
      {"", "empty"},
      {"m/", "step 0 is empty"},
      {"m//1", "step 0 is empty"},
      {"0/1/", "step 2 is empty"},
      {"/0", "step 0 is empty"},
      {"m/0'", "step 0 (\"0'\") is hardened"},
      {"m/1/0h", "step 1 (\"0h\") is hardened"},
      {"m/44H", "step 0 (\"44H\") is hardened"},
      {"m/2147483648", "out of range"},
      {"m/4294967296", "out of range"},
      {"m/99999999999999999999999", "out of range"},
      {"m/-1", "not a decimal number"},
      {"m/+1", "not a decimal number"},
      {"m/1a", "not a decimal number"},
      {"m/ 1", "not a decimal number"},
      {"m/01", "leading zero"},
      {"mm", "must be followed by '/'"},
      {"m0", "must be followed by '/'"},
      {"M/0", "not a decimal number"},
      {"0/m/1", "step 1 (\"m\") is not a decimal number"},
  };
  for (const auto& c : kCases) {
    absl::StatusOr<std::vector<uint32_t>> got = ParsePath(c.text);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr(c.want)) << c.text;
  }
}

TEST(Bip32Test, ParsePathRejectsMoreThanMaximumDepthSteps) {
  std::string ok = "m";
  for (int i = 0; i < 255; ++i) {
    ok += "/1";
  }
  absl::StatusOr<std::vector<uint32_t>> got = ParsePath(ok);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 255u);
  EXPECT_THAT(ParsePath(ok + "/1").status().message(),
              HasSubstr("more than 255 steps"));
}

TEST(Bip32Test, PrintsTheXpub) {
  const ExtendedPublicKey master = MustDecodeXpub(Vectors()[1].steps[0].xpub);
  std::ostringstream os;
  os << master;
  EXPECT_EQ(os.str(), Vectors()[1].steps[0].xpub);
}

}  // namespace
}  // namespace kagi::crypto
