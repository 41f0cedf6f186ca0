// Differential tests of Scalar against OpenSSL BIGNUM (the oracle), on
// random and edge values. The seed is printed so a failure can be replayed.
#include "libs/crypto/scalar.h"

#include <openssl/bn.h>

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"

namespace kagi::crypto {
namespace {

using ::testing::HasSubstr;

struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
struct CtxDeleter {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};

constexpr char kOrderHex[] =
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";

class Oracle {
 public:
  Oracle() : ctx_(BN_CTX_new()) {
    BIGNUM* n = nullptr;
    BN_hex2bn(&n, kOrderHex);
    n_.reset(n);
  }
  const BIGNUM* n() const { return n_.get(); }
  BN_CTX* ctx() { return ctx_.get(); }

  BnPtr FromBytes(ByteSpan b) {
    return BnPtr(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
  }
  BnPtr FromScalar(const Scalar& s) { return FromBytes(s.ToBytes()); }
  std::array<uint8_t, 32> ToBytes32(const BIGNUM* b) {
    std::array<uint8_t, 32> out{};
    EXPECT_EQ(BN_bn2binpad(b, out.data(), 32), 32);
    return out;
  }

 private:
  BnPtr n_;
  std::unique_ptr<BN_CTX, CtxDeleter> ctx_;
};

// Interesting 32-byte values: edges around 0, n and 2^256.
std::vector<std::array<uint8_t, 32>> EdgeValues() {
  std::vector<std::string> hex = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0000000000000000000000000000000000000000000000000000000000000001",
      "0000000000000000000000000000000000000000000000000000000000000002",
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140",  // n-1
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD036413F",  // n-2
      "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0",  // (n-1)/2
      "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A1",  // (n+1)/2
      "8000000000000000000000000000000000000000000000000000000000000000",
      "00000000000000000000000000000001FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE00000000000000000000000000000000",
      "00000000000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
      "FFFFFFFFFFFFFFFF000000000000000000000000000000000000000000000000",
  };
  std::vector<std::array<uint8_t, 32>> out;
  for (const std::string& h : hex) {
    out.push_back(*HexDecodeFixed<32>(h));
  }
  return out;
}

// A mix of shapes: uniform, small, and just below n.
std::array<uint8_t, 32> RandomShape(Rng& rng, Oracle& o) {
  std::array<uint8_t, 32> b = rng.Bytes<32>();
  switch (b[0] % 4) {
    case 0: {  // small: top 24 bytes zero
      for (size_t i = 0; i < 24; ++i) {
        b[i] = 0;
      }
      break;
    }
    case 1: {  // n - small
      BnPtr small = o.FromBytes(ByteSpan(b.data() + 24, 8));
      BnPtr v(BN_new());
      BN_sub(v.get(), o.n(), small.get());
      b = o.ToBytes32(v.get());
      break;
    }
    default:
      break;  // uniform 256-bit (reduced by the caller)
  }
  return b;
}

class ScalarDifferentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = static_cast<uint64_t>(
                ::testing::UnitTest::GetInstance()->random_seed()) +
            20260101;
    std::printf("ScalarDifferentialTest seed=%llu\n",
                static_cast<unsigned long long>(seed_));
  }
  // Draw a canonical scalar and its BIGNUM value.
  std::pair<Scalar, BnPtr> Draw(Rng& rng) {
    std::array<uint8_t, 32> b = RandomShape(rng, oracle_);
    BnPtr v = oracle_.FromBytes(b);
    BN_nnmod(v.get(), v.get(), oracle_.n(), oracle_.ctx());
    const std::array<uint8_t, 32> canon = oracle_.ToBytes32(v.get());
    absl::StatusOr<Scalar> s = Scalar::FromCanonicalBytes(canon);
    EXPECT_TRUE(s.ok());
    return {*s, std::move(v)};
  }
  void ExpectEq(const Scalar& got, const BIGNUM* want, const char* op) {
    ASSERT_EQ(HexEncode(got.ToBytes()), HexEncode(oracle_.ToBytes32(want)))
        << op << " mismatch; seed=" << seed_;
  }

  uint64_t seed_ = 0;
  Oracle oracle_;
};

constexpr int kCases = 100000;

TEST_F(ScalarDifferentialTest, AddSubMulNegMatchBignum) {
  InsecureDeterministicRng rng(seed_);
  BnPtr want(BN_new());
  for (int i = 0; i < kCases; ++i) {
    auto [a, abn] = Draw(rng);
    auto [b, bbn] = Draw(rng);
    BN_mod_add(want.get(), abn.get(), bbn.get(), oracle_.n(), oracle_.ctx());
    ExpectEq(a + b, want.get(), "add");
    BN_mod_sub(want.get(), abn.get(), bbn.get(), oracle_.n(), oracle_.ctx());
    ExpectEq(a - b, want.get(), "sub");
    BN_mod_mul(want.get(), abn.get(), bbn.get(), oracle_.n(), oracle_.ctx());
    ExpectEq(a * b, want.get(), "mul");
    BN_mod_sub(want.get(), oracle_.n(), abn.get(), oracle_.n(), oracle_.ctx());
    ExpectEq(-a, want.get(), "neg");
  }
}

TEST_F(ScalarDifferentialTest, InverseMatchesBignum) {
  InsecureDeterministicRng rng(seed_ + 1);
  BnPtr want(BN_new());
  for (int i = 0; i < kCases / 5; ++i) {
    auto [a, abn] = Draw(rng);
    if (a.IsZero()) {
      EXPECT_TRUE(a.Invert().IsZero());
      continue;
    }
    ASSERT_NE(BN_mod_inverse(want.get(), abn.get(), oracle_.n(), oracle_.ctx()),
              nullptr);
    ExpectEq(a.Invert(), want.get(), "inverse");
    ASSERT_EQ(a * a.Invert(), Scalar::One());
  }
}

TEST_F(ScalarDifferentialTest, WideReductionMatchesBignum) {
  InsecureDeterministicRng rng(seed_ + 2);
  BnPtr want(BN_new());
  for (int i = 0; i < kCases; ++i) {
    std::array<uint8_t, 64> wide = rng.Bytes<64>();
    if (i % 3 == 0) {
      for (size_t j = 0; j < 8; ++j) {
        wide[j] = 0xff;  // near 2^512
      }
    }
    BnPtr v = oracle_.FromBytes(wide);
    BN_nnmod(want.get(), v.get(), oracle_.n(), oracle_.ctx());
    ExpectEq(Scalar::FromWideBytes(wide), want.get(), "wide");
  }
  std::array<uint8_t, 64> all_ones{};
  all_ones.fill(0xff);
  BnPtr v = oracle_.FromBytes(all_ones);
  BN_nnmod(want.get(), v.get(), oracle_.n(), oracle_.ctx());
  ExpectEq(Scalar::FromWideBytes(all_ones), want.get(), "wide 2^512-1");
}

TEST_F(ScalarDifferentialTest, EdgeValuesAllPairs) {
  std::vector<std::array<uint8_t, 32>> edges = EdgeValues();
  BnPtr want(BN_new());
  for (const auto& ea : edges) {
    for (const auto& eb : edges) {
      Scalar a = Scalar::FromBytesModOrder(ea);
      Scalar b = Scalar::FromBytesModOrder(eb);
      BnPtr abn = oracle_.FromBytes(ea);
      BnPtr bbn = oracle_.FromBytes(eb);
      BN_nnmod(abn.get(), abn.get(), oracle_.n(), oracle_.ctx());
      BN_nnmod(bbn.get(), bbn.get(), oracle_.n(), oracle_.ctx());
      ExpectEq(a, abn.get(), "reduce");
      BN_mod_add(want.get(), abn.get(), bbn.get(), oracle_.n(), oracle_.ctx());
      ExpectEq(a + b, want.get(), "edge add");
      BN_mod_sub(want.get(), abn.get(), bbn.get(), oracle_.n(), oracle_.ctx());
      ExpectEq(a - b, want.get(), "edge sub");
      BN_mod_mul(want.get(), abn.get(), bbn.get(), oracle_.n(), oracle_.ctx());
      ExpectEq(a * b, want.get(), "edge mul");
    }
  }
}

TEST_F(ScalarDifferentialTest, InnerProductMatchesNaiveSumAndBignum) {
  InsecureDeterministicRng rng(seed_ + 3);
  BnPtr want(BN_new());
  BnPtr term(BN_new());
  for (size_t len : {0u, 1u, 2u, 3u, 17u, 512u, 4096u}) {
    std::vector<Scalar> a, b;
    BN_zero(want.get());
    for (size_t i = 0; i < len; ++i) {
      auto [x, xbn] = Draw(rng);
      auto [y, ybn] = Draw(rng);
      a.push_back(x);
      b.push_back(y);
      BN_mod_mul(term.get(), xbn.get(), ybn.get(), oracle_.n(), oracle_.ctx());
      BN_mod_add(want.get(), want.get(), term.get(), oracle_.n(),
                 oracle_.ctx());
    }
    ExpectEq(Scalar::InnerProduct(a, b), want.get(), "inner product");
  }
  // The worst case for the lazy accumulator: every term (n-1)^2.
  std::vector<Scalar> worst(1u << 16, -Scalar::One());
  EXPECT_EQ(Scalar::InnerProduct(worst, worst),
            Scalar::FromUint64(uint64_t{1} << 16));
}

TEST(ScalarTest, CanonicalDecodingRejectsOrderAndAbove) {
  const auto n = *HexDecodeFixed<32>(kOrderHex);
  auto n_plus_1 = n;
  n_plus_1[31] = static_cast<uint8_t>(n_plus_1[31] + 1);
  std::array<uint8_t, 32> max{};
  max.fill(0xff);
  for (const auto& bad : {n, n_plus_1, max}) {
    absl::StatusOr<Scalar> s = Scalar::FromCanonicalBytes(bad, "test.field");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr("test.field"));
    EXPECT_THAT(s.status().message(), HasSubstr("not canonical"));
  }
  auto n_minus_1 = n;
  n_minus_1[31] = static_cast<uint8_t>(n_minus_1[31] - 1);
  absl::StatusOr<Scalar> ok = Scalar::FromCanonicalBytes(n_minus_1);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok + Scalar::One(), Scalar::Zero());
  EXPECT_EQ(ok->ToBytes(), n_minus_1);
}

TEST(ScalarTest, DecodingRejectsWrongLengthAndZeroWhereRequired) {
  const Bytes short_input(31, 1);
  const Bytes long_input(33, 1);
  EXPECT_THAT(Scalar::FromCanonicalBytes(short_input).status().message(),
              HasSubstr("must be 32 bytes, got 31"));
  EXPECT_FALSE(Scalar::FromCanonicalBytes(long_input).ok());
  const std::array<uint8_t, 32> zero{};
  EXPECT_TRUE(Scalar::FromCanonicalBytes(zero).ok());
  absl::StatusOr<Scalar> nz = Scalar::FromCanonicalBytesNonZero(zero, "z");
  ASSERT_FALSE(nz.ok());
  EXPECT_THAT(nz.status().message(), HasSubstr("z: scalar is zero"));
}

TEST(ScalarTest, ReducingDecodersWrapAroundTheOrder) {
  std::array<uint8_t, 32> max{};
  max.fill(0xff);
  // 2^256 - 1 mod n = NC - 1 = 0x14551231950b75fc4402da1732fc9bebe.
  EXPECT_EQ(HexEncode(Scalar::FromBytesModOrder(max).ToBytes()),
            "000000000000000000000000000000014551231950b75fc4402da1732fc9bebe");
}

TEST(ScalarTest, NegateZeroIsZeroAndHighHalf) {
  EXPECT_TRUE((-Scalar::Zero()).IsZero());
  EXPECT_FALSE(Scalar::One().IsHigh());
  EXPECT_TRUE((-Scalar::One()).IsHigh());
  const auto half = *HexDecodeFixed<32>(
      "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0");
  Scalar h = Scalar::FromBytesModOrder(half);
  EXPECT_FALSE(h.IsHigh());
  EXPECT_TRUE((h + Scalar::One()).IsHigh());
  EXPECT_EQ(h + h + Scalar::One(), Scalar::Zero());
}

TEST(ScalarTest, ConditionalSelectPicksByBit) {
  const Scalar a = Scalar::FromUint64(7);
  const Scalar b = Scalar::FromUint64(9);
  EXPECT_EQ(Scalar::ConditionalSelect(1, a, b), a);
  EXPECT_EQ(Scalar::ConditionalSelect(0, a, b), b);
}

TEST(ScalarTest, RandomIsUniformLookingAndNonZeroVariantNeverZero) {
  InsecureDeterministicRng rng(5);
  Scalar prev = Scalar::Random(rng);
  for (int i = 0; i < 100; ++i) {
    Scalar s = Scalar::RandomNonZero(rng);
    EXPECT_FALSE(s.IsZero());
    EXPECT_NE(s, prev);
    prev = s;
  }
}

TEST(ScalarTest, NeverPrintsItsValue) {
  std::ostringstream os;
  os << Scalar::FromUint64(0x1234);
  EXPECT_EQ(os.str(), "Scalar(<redacted>)");
}

}  // namespace
}  // namespace kagi::crypto
