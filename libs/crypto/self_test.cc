#include "libs/crypto/self_test.h"

#include <secp256k1.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/commitment.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/gf128.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/crypto/schnorr.h"
#include "libs/crypto/secp_context.h"
#include "libs/crypto/transcript.h"

namespace kagi::crypto {
namespace {

absl::Status Expect(bool cond, absl::string_view what) {
  if (!cond) {
    return absl::InternalError(absl::StrCat("check failed: ", what));
  }
  return absl::OkStatus();
}

absl::Status ExpectHex(ByteSpan got, absl::string_view want_hex,
                       absl::string_view what) {
  return Expect(HexEncode(got) == want_hex, what);
}

Bytes Hex(absl::string_view h) {
  absl::StatusOr<Bytes> b = HexDecode(h);
  return b.ok() ? *b : Bytes();
}

absl::Status Hashes() {
  KAGI_RETURN_IF_ERROR(ExpectHex(
      Sha256(AsBytes("abc")),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "SHA-256(abc)"));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      Sha512(AsBytes("abc")),
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
      "SHA-512(abc)"));
  std::array<uint8_t, 32> shake{};
  Shake256(ByteSpan(), absl::MakeSpan(shake));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      shake, "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f",
      "SHAKE256('')"));
  return ExpectHex(Ripemd160(AsBytes("abc")),
                   "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
                   "RIPEMD-160(abc)");
}

absl::Status ScalarField() {
  const Scalar a = Scalar::FromBytesModOrder(Sha256(AsBytes("a")));
  const Scalar b = Scalar::FromBytesModOrder(Sha256(AsBytes("b")));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      (a * b).ToBytes(),
      "bc38b1271efbc43ba8e61ae95dcfdadebe1e008c2ca9f1ac5c205753cec96378",
      "a*b mod n"));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      a.Invert().ToBytes(),
      "1a3cfd5a9820dd97f60e7d6a766e8e93c358814a9e46c2d7f5a883194675c55c",
      "a^-1 mod n"));
  const Scalar minus_one = -Scalar::One();
  KAGI_RETURN_IF_ERROR(
      Expect(minus_one * minus_one == Scalar::One(), "(n-1)^2 = 1"));
  KAGI_RETURN_IF_ERROR(Expect(
      Scalar::FromUint64(2) * Scalar::FromUint64(2).Invert() == Scalar::One(),
      "2 * 2^-1 = 1"));
  const Bytes n =
      Hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  return Expect(!Scalar::FromCanonicalBytes(n).ok(),
                "canonical decoding rejects n");
}

absl::Status Points() {
  KAGI_ASSIGN_OR_RETURN(const Point two_g,
                        Point::MulGenerator(Scalar::FromUint64(2)));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      two_g.ToCompressed(),
      "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",
      "2G (SEC 2)"));
  const Scalar k = Scalar::FromBytesModOrder(Sha256(AsBytes("k")));
  KAGI_ASSIGN_OR_RETURN(const Point p1, Point::MulGenerator(k));
  KAGI_ASSIGN_OR_RETURN(const Point p2,
                        Point::Generator().MulPublicScalarVartime(k));
  KAGI_ASSIGN_OR_RETURN(const Point p3, Point::Generator().MulSecretScalar(k));
  KAGI_RETURN_IF_ERROR(
      Expect(p1 == p2 && p2 == p3, "k*G equal on all three multiplications"));
  KAGI_RETURN_IF_ERROR(
      Expect(!Point::Generator().Add(Point::Generator().Negate()).ok(),
             "G + (-G) is refused as infinity"));
  return Expect(!Point::FromCompressed(Bytes(33, 0)).ok(),
                "the identity has no encoding");
}

absl::Status Transcripts() {
  const Transcript t = std::move(Transcript(Tag::kEcho).Add(AsBytes("abc")));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      t.H(), "c4872b70626b6a6f93492c7dbb1e3ac0180546c5056ccc95537996042e1b4634",
      "H(echo, abc)"));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      t.Hn().ToBytes(),
      "30f94a92ec5c587773d5fa680b109a1ba3d2735aa627e4f89abe1fb5c4fca890",
      "Hn(echo, abc)"));
  return Expect(
      Transcript(Tag::kEcho).Add(AsBytes("ab")).Add(AsBytes("c")).H() !=
          Transcript(Tag::kEcho).Add(AsBytes("a")).Add(AsBytes("bc")).H(),
      "field boundaries are hashed");
}

absl::Status ProofsAndCommitments() {
  InsecureDeterministicRng rng(1);
  const Bytes sid = {1, 2, 3};
  const CommitmentWithOpening c =
      Commit(Tag::kDkgCommit, sid, 1, AsBytes("data"), rng);
  KAGI_RETURN_IF_ERROR(VerifyOpening(Tag::kDkgCommit, sid, 1, AsBytes("data"),
                                     c.rho, c.commitment));
  KAGI_RETURN_IF_ERROR(
      Expect(!VerifyOpening(Tag::kDkgCommit, sid, 2, AsBytes("data"), c.rho,
                            c.commitment)
                  .ok(),
             "commitment bound to its party"));
  const Scalar a = Scalar::RandomNonZero(rng);
  KAGI_ASSIGN_OR_RETURN(const Point big_a, Point::MulGenerator(a));
  const PokContext ctx{sid, AsBytes("self-test"), 1, 0, ByteSpan()};
  KAGI_ASSIGN_OR_RETURN(const SchnorrProof proof,
                        ProveKnowledge(ctx, a, big_a, rng));
  KAGI_RETURN_IF_ERROR(VerifyKnowledge(ctx, big_a, proof));
  PokContext other = ctx;
  other.prover = 2;
  return Expect(!VerifyKnowledge(other, big_a, proof).ok(),
                "proof bound to its prover");
}

absl::Status Gf128Field() {
  Gf128 x127{0, uint64_t{1} << 63};
  Gf128 x{2, 0};
  KAGI_RETURN_IF_ERROR(Expect(Gf128Mul(x127, x) == Gf128{0x87, 0},
                              "x^127 * x = x^7 + x^2 + x + 1"));
  Gf128 a{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  Gf128 acc = a;
  for (int i = 0; i < 128; ++i) {
    acc = Gf128Mul(acc, acc);
  }
  return Expect(acc == a, "a^(2^128) = a");
}

absl::Status OpenSslEvp() {
  KAGI_RETURN_IF_ERROR(ExpectHex(
      HmacSha512(AsBytes("Jefe"), AsBytes("what do ya want for nothing?")),
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
      "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
      "HMAC-SHA512 (RFC 4231 case 2)"));
  const SecretBytes ikm(Bytes(22, 0x0b));
  KAGI_ASSIGN_OR_RETURN(const SecretBytes okm,
                        HkdfSha256(ikm, Hex("000102030405060708090a0b0c"),
                                   Hex("f0f1f2f3f4f5f6f7f8f9"), 42));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      okm.secret(),
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
      "34007208d5b887185865",
      "HKDF-SHA256 (RFC 5869 case 1)"));
  const SecretBytes key(Bytes(32, 0));
  const Bytes nonce(12, 0);
  KAGI_ASSIGN_OR_RETURN(Bytes sealed,
                        Aes256GcmSeal(key, nonce, ByteSpan(), Bytes(16, 0)));
  KAGI_RETURN_IF_ERROR(ExpectHex(sealed,
                                 "cea7403d4d606b6e074ec5d3baf39d18"
                                 "d0d1c8a799996bf0265b98b5d48ab919",
                                 "AES-256-GCM (GCM spec test case 14)"));
  sealed[3] ^= 1;
  KAGI_RETURN_IF_ERROR(
      Expect(!Aes256GcmOpen(key, nonce, ByteSpan(), sealed).ok(),
             "AES-256-GCM rejects a tampered ciphertext"));
  const SecretBytes seed(
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  KAGI_ASSIGN_OR_RETURN(const Ed25519PrivateKey ed,
                        Ed25519PrivateKey::FromSeed(seed));
  KAGI_RETURN_IF_ERROR(ExpectHex(
      ed.PublicKey(),
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      "Ed25519 public key (RFC 8032 test 1)"));
  const auto sig = ed.Sign(ByteSpan());
  KAGI_RETURN_IF_ERROR(ExpectHex(
      sig,
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
      "Ed25519 signature (RFC 8032 test 1)"));
  return Ed25519Verify(ed.PublicKey(), ByteSpan(), sig);
}

absl::Status Ecdsa() {
  const Scalar key = Scalar::FromBytesModOrder(Sha256(AsBytes("ecdsa key")));
  KAGI_ASSIGN_OR_RETURN(const Point pub, Point::MulGenerator(key));
  const Digest32 digest = Sha256(AsBytes("self-test message"));
  const auto kb = key.ToBytes();
  secp256k1_ecdsa_signature sig;
  KAGI_RETURN_IF_ERROR(
      Expect(secp256k1_ecdsa_sign(SecpContext(), &sig, digest.data(), kb.data(),
                                  nullptr, nullptr) == 1,
             "libsecp256k1 signs"));
  CompactSignature compact{};
  secp256k1_ecdsa_signature_serialize_compact(SecpContext(), compact.data(),
                                              &sig);
  KAGI_RETURN_IF_ERROR(EcdsaVerify(pub, digest, compact));
  std::array<uint8_t, 32> s{};
  std::copy(compact.begin() + 32, compact.end(), s.begin());
  KAGI_ASSIGN_OR_RETURN(const Scalar s_scalar, Scalar::FromCanonicalBytes(s));
  const auto high = (-s_scalar).ToBytes();
  CompactSignature twin = compact;
  std::copy(high.begin(), high.end(), twin.begin() + 32);
  KAGI_RETURN_IF_ERROR(
      Expect(!EcdsaVerify(pub, digest, twin).ok(), "high-S twin is refused"));
  compact[10] ^= 1;
  return Expect(!EcdsaVerify(pub, digest, compact).ok(),
                "tampered signature is refused");
}

absl::Status Bip32() {
  KAGI_ASSIGN_OR_RETURN(
      const ExtendedPublicKey m,
      ExtendedPublicKey::Decode(
          "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6o"
          "DMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB"));
  KAGI_ASSIGN_OR_RETURN(const ExtendedPublicKey child, m.Ckdpub(0));
  KAGI_RETURN_IF_ERROR(Expect(
      child.Encode() ==
          "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7E"
          "RfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH",
      "CKDpub(V2 m, 0) = V2 m/0"));
  return Expect(!m.Ckdpub(0x80000000u).ok(), "hardened index is refused");
}

absl::Status Randomness() {
  OsRng rng;
  const auto a = rng.Bytes<32>();
  const auto b = rng.Bytes<32>();
  return Expect(a != b && a != std::array<uint8_t, 32>{},
                "two OS draws differ and are not zero");
}

struct Case {
  const char* name;
  const char* verified;
  absl::Status (*body)();
};

constexpr Case kCases[] = {
    {"hashes",
     "SHA-256, SHA-512, SHAKE256, RIPEMD-160 known answers (FIPS 180-4, FIPS 202)",
     Hashes},
    {"scalar",
     "arithmetic mod n: a*b and a^-1 match independent values; (n-1)^2 = 1; n is not canonical",
     ScalarField},
    {"point",
     "2G matches SEC 2; constant-time, variable-time and ECDH multiplications agree; infinity refused",
     Points},
    {"transcript",
     "length-prefixed H and Hn match independent values; field boundaries change the hash",
     Transcripts},
    {"proofs",
     "commitment opens only for its party; Schnorr PoK verifies and is bound to its prover",
     ProofsAndCommitments},
    {"gf128", "x^127*x = x^7+x^2+x+1 and the Fermat identity a^(2^128) = a",
     Gf128Field},
    {"openssl-evp",
     "HMAC-SHA512 (RFC 4231), HKDF-SHA256 (RFC 5869), AES-256-GCM (GCM spec) incl. tamper, Ed25519 (RFC 8032)",
     OpenSslEvp},
    {"ecdsa",
     "libsecp256k1 signature verifies; its high-S twin and a tampered copy are refused",
     Ecdsa},
    {"bip32",
     "CKDpub reproduces BIP32 vector 2 m -> m/0; a hardened index is refused",
     Bip32},
    {"rng", "the OS random source answers with distinct non-zero output",
     Randomness},
};

}  // namespace

absl::StatusOr<std::vector<SelfTestResult>> RunCryptoSelfTests() {
  std::vector<SelfTestResult> out;
  for (const Case& c : kCases) {
    const absl::Status st = c.body();
    if (!st.ok()) {
      return absl::InternalError(
          absl::StrCat("self-test '", c.name, "' failed: ", st.message()));
    }
    out.push_back({c.name, c.verified});
  }
  return out;
}

}  // namespace kagi::crypto
