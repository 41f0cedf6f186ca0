#include "libs/crypto/point.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "tests/testing/vectors.h"

namespace kagi::crypto {
namespace {

using ::testing::HasSubstr;

constexpr char kGHex[] =
    "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
// 2·G, from the SEC 2 / well-known multiples of the generator.
constexpr char k2GHex[] =
    "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";

Scalar S(uint64_t v) { return Scalar::FromUint64(v); }

TEST(PointTest, GeneratorEncodesAsSec2) {
  EXPECT_EQ(Point::Generator().ToHex(), kGHex);
  EXPECT_FALSE(Point::Generator().HasOddY());
}

TEST(PointTest, ThreeMultiplicationsAgree) {
  InsecureDeterministicRng rng(11);
  for (int i = 0; i < 200; ++i) {
    const Scalar k = Scalar::RandomNonZero(rng);
    absl::StatusOr<Point> a = Point::MulGenerator(k);
    absl::StatusOr<Point> b = Point::Generator().MulPublicScalarVartime(k);
    absl::StatusOr<Point> c = Point::Generator().MulSecretScalar(k);
    absl::StatusOr<SecretBytes> d =
        Point::Generator().MulSecretScalarCompressed(k);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(*a, *c);
    const auto enc = a->ToCompressed();
    EXPECT_TRUE(ConstantTimeEqual(d->secret(), enc));
  }
  EXPECT_EQ(Point::MulGenerator(S(2))->ToHex(), k2GHex);
}

TEST(PointTest, MultiplicationIsLinear) {
  InsecureDeterministicRng rng(12);
  const Point p = *Point::MulGenerator(Scalar::RandomNonZero(rng));
  for (int i = 0; i < 50; ++i) {
    const Scalar a = Scalar::RandomNonZero(rng);
    const Scalar b = Scalar::RandomNonZero(rng);
    // (a+b)·P = a·P + b·P, and a·(b·P) = (ab)·P.
    const Point lhs = *p.MulSecretScalar(a + b);
    const Point rhs = *p.MulSecretScalar(a)->Add(*p.MulPublicScalarVartime(b));
    EXPECT_EQ(lhs, rhs);
    EXPECT_EQ(*p.MulSecretScalar(b)->MulSecretScalar(a),
              *p.MulPublicScalarVartime(a * b));
  }
}

TEST(PointTest, ZeroScalarIsAnErrorForEveryMultiplication) {
  const Point& g = Point::Generator();
  for (const absl::Status& st :
       {Point::MulGenerator(Scalar::Zero()).status(),
        g.MulPublicScalarVartime(Scalar::Zero()).status(),
        g.MulSecretScalar(Scalar::Zero()).status(),
        g.MulSecretScalarCompressed(Scalar::Zero()).status()}) {
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(st.message(), HasSubstr("infinity"));
  }
}

TEST(PointTest, InfinityResultsAreErrors) {
  const Point& g = Point::Generator();
  absl::StatusOr<Point> sum = g.Add(g.Negate());
  ASSERT_FALSE(sum.ok());
  EXPECT_THAT(sum.status().message(), HasSubstr("point at infinity"));
  const std::vector<Point> cancel = {g, *Point::MulGenerator(S(2)),
                                     *Point::MulGenerator(-S(3))};
  EXPECT_FALSE(Point::Sum(cancel).ok());
  EXPECT_FALSE(Point::Sum({}).ok());
  // n·G: the order, as the scalar -1 plus one more G.
  const Point minus_g = *Point::MulGenerator(-Scalar::One());
  EXPECT_EQ(minus_g, g.Negate());
  EXPECT_FALSE(minus_g.Add(g).ok());
}

TEST(PointTest, SumMatchesRepeatedAddition) {
  std::vector<Point> pts;
  Scalar total;
  for (uint64_t i = 1; i <= 16; ++i) {
    pts.push_back(*Point::MulGenerator(S(i * 1000 + 7)));
    total += S(i * 1000 + 7);
  }
  EXPECT_EQ(*Point::Sum(pts), *Point::MulGenerator(total));
  EXPECT_EQ(*Point::Sum(absl::MakeConstSpan(pts.data(), 1)), pts[0]);
}

TEST(PointTest, ConditionalSwapSwapsOnlyOnOne) {
  Point a = Point::Generator();
  Point b = *Point::MulGenerator(S(5));
  const Point a0 = a, b0 = b;
  Point::ConditionalSwap(0, a, b);
  EXPECT_EQ(a, a0);
  EXPECT_EQ(b, b0);
  Point::ConditionalSwap(1, a, b);
  EXPECT_EQ(a, b0);
  EXPECT_EQ(b, a0);
  // Still fully usable points after the swap.
  EXPECT_EQ(*a.Add(b), *Point::MulGenerator(S(6)));
}

TEST(PointTest, CompressedRoundTripAndUncompressed) {
  InsecureDeterministicRng rng(13);
  for (int i = 0; i < 100; ++i) {
    const Point p = *Point::MulGenerator(Scalar::RandomNonZero(rng));
    const auto c = p.ToCompressed();
    EXPECT_EQ(*Point::FromCompressed(c), p);
    const auto u = p.ToUncompressed();
    EXPECT_EQ(*Point::FromSec1(u), p);
    EXPECT_EQ(p.HasOddY(), (u[64] & 1) == 1);
    // x mod n: x < p < 2^256, so it matches the encoding reduced once.
    std::array<uint8_t, 32> x{};
    std::copy(c.begin() + 1, c.end(), x.begin());
    EXPECT_EQ(p.XModOrder(), Scalar::FromBytesModOrder(x));
  }
}

TEST(PointTest, ParsingRejectsBadEncodingsWithReasons) {
  const Bytes g = *HexDecode(kGHex);
  Bytes bad = g;
  // The identity has no encoding.
  Bytes zero(33, 0);
  EXPECT_THAT(Point::FromCompressed(zero, "peer.R").status().message(),
              HasSubstr("peer.R: invalid compressed point prefix 0x00"));
  // Wrong lengths.
  EXPECT_THAT(Point::FromCompressed(Bytes(32, 2)).status().message(),
              HasSubstr("must be 33 bytes, got 32"));
  EXPECT_FALSE(Point::FromCompressed(Bytes()).ok());
  Bytes longer = g;
  longer.push_back(0);
  EXPECT_FALSE(Point::FromCompressed(longer).ok());
  // Uncompressed is not accepted on the wire.
  EXPECT_FALSE(Point::FromCompressed(Point::Generator().ToUncompressed()).ok());
  // x not on the curve (x = 5 has no square root of x^3 + 7).
  Bytes off = Bytes(33, 0);
  off[0] = 0x02;
  off[32] = 5;
  EXPECT_THAT(Point::FromCompressed(off).status().message(),
              HasSubstr("not on secp256k1"));
  // x >= p.
  Bytes big(33, 0xff);
  big[0] = 0x02;
  EXPECT_FALSE(Point::FromCompressed(big).ok());
  // Hybrid encodings are refused even though libsecp256k1 parses them.
  auto hybrid = Point::Generator().ToUncompressed();
  hybrid[0] = 0x06;
  EXPECT_THAT(Point::FromSec1(hybrid).status().message(),
              HasSubstr("invalid uncompressed point prefix 0x06"));
  // An uncompressed point with y off the curve.
  auto u = Point::Generator().ToUncompressed();
  u[64] ^= 1;
  EXPECT_FALSE(Point::FromSec1(u).ok());
  bad[0] = 0x04;
  EXPECT_FALSE(Point::FromSec1(bad).ok());
}

// --- Wycheproof ECDH (secp256k1, X.509 SubjectPublicKeyInfo keys) ---

// Reads one DER TLV with a definite, minimally encoded length.
bool ReadTlv(ByteSpan& in, uint8_t tag, ByteSpan* out) {
  if (in.size() < 2 || in[0] != tag) {
    return false;
  }
  size_t len = in[1];
  size_t hdr = 2;
  if (len == 0x81) {
    if (in.size() < 3 || in[2] < 0x80) {
      return false;
    }
    len = in[2];
    hdr = 3;
  } else if (len > 0x80) {
    return false;
  }
  if (in.size() - hdr < len) {
    return false;
  }
  *out = in.subspan(hdr, len);
  in = in.subspan(hdr + len);
  return true;
}

// Kagi accepts exactly one key shape from X.509: id-ecPublicKey with the
// named curve secp256k1. Anything else (explicit parameters, other curves,
// malformed DER) is rejected.
absl::StatusOr<ByteSpan> ExtractSecp256k1Point(ByteSpan spki) {
  static const Bytes kAlgId =
      *HexDecode("06072a8648ce3d020106052b8104000a");  // ecPublicKey, secp256k1
  ByteSpan seq, alg, bits;
  if (!ReadTlv(spki, 0x30, &seq) || !spki.empty()) {
    return absl::InvalidArgumentError("spki: bad outer sequence");
  }
  if (!ReadTlv(seq, 0x30, &alg) || !ConstantTimeEqual(alg, kAlgId)) {
    return absl::InvalidArgumentError("spki: not named-curve secp256k1");
  }
  if (!ReadTlv(seq, 0x03, &bits) || !seq.empty() || bits.empty() ||
      bits[0] != 0) {
    return absl::InvalidArgumentError("spki: bad bit string");
  }
  return bits.subspan(1);
}

TEST(PointWycheproofTest, EcdhVectorsParseAndMultiplyAsExpected) {
  absl::StatusOr<google::protobuf::Value> doc =
      kagi::testing::LoadJsonVector("wycheproof_ecdh_secp256k1_test.json");
  ASSERT_TRUE(doc.ok()) << doc.status();
  int valid = 0, invalid_rejected = 0, acceptable = 0, point_rejected = 0;
  for (const auto& group :
       kagi::testing::GetField(*doc, "testGroups").list_value().values()) {
    for (const auto& tc :
         kagi::testing::GetField(group, "tests").list_value().values()) {
      const int id = static_cast<int>(kagi::testing::GetNumber(tc, "tcId"));
      const std::string result = kagi::testing::GetString(tc, "result");
      const Bytes spki = *HexDecode(kagi::testing::GetString(tc, "public"));
      Bytes priv = *HexDecode(kagi::testing::GetString(tc, "private"));
      while (priv.size() > 32 && priv[0] == 0) {
        priv.erase(priv.begin());
      }
      ASSERT_LE(priv.size(), 32u) << "tcId " << id;
      std::array<uint8_t, 32> priv32{};
      std::copy(priv.begin(), priv.end(), priv32.end() - priv.size());

      absl::StatusOr<std::string> shared =
          [&]() -> absl::StatusOr<std::string> {
        absl::StatusOr<ByteSpan> raw = ExtractSecp256k1Point(spki);
        if (!raw.ok()) {
          return raw.status();
        }
        absl::StatusOr<Point> pub = Point::FromSec1(*raw, "wycheproof.public");
        if (!pub.ok()) {
          ++point_rejected;
          return pub.status();
        }
        absl::StatusOr<Scalar> k = Scalar::FromCanonicalBytesNonZero(priv32);
        if (!k.ok()) {
          return k.status();
        }
        absl::StatusOr<Point> prod = pub->MulSecretScalar(*k);
        if (!prod.ok()) {
          return prod.status();
        }
        return HexEncode(prod->ToCompressed()).substr(2);  // x-coordinate
      }();
      const std::string want = kagi::testing::GetString(tc, "shared");
      if (result == "valid") {
        ASSERT_TRUE(shared.ok()) << "tcId " << id << ": " << shared.status();
        EXPECT_EQ(*shared, want) << "tcId " << id;
        ++valid;
      } else if (result == "invalid") {
        EXPECT_FALSE(shared.ok()) << "tcId " << id << " must be rejected";
        ++invalid_rejected;
      } else {
        ASSERT_EQ(result, "acceptable");
        if (shared.ok()) {
          EXPECT_EQ(*shared, want) << "tcId " << id;
        }
        ++acceptable;
      }
    }
  }
  EXPECT_EQ(valid + invalid_rejected + acceptable, 752);
  EXPECT_EQ(valid, 473);
  // The invalid-curve and modified-point cases must be caught by Point
  // itself, not only by the key-format check.
  EXPECT_GE(point_rejected, 25);
  std::printf(
      "wycheproof ecdh: %d valid matched, %d invalid rejected, "
      "%d acceptable, %d rejected by point parsing\n",
      valid, invalid_rejected, acceptable, point_rejected);
}

}  // namespace
}  // namespace kagi::crypto
