#include "libs/crypto/schnorr.h"

#include "absl/strings/str_cat.h"
#include "libs/base/secret.h"
#include "libs/crypto/transcript.h"

namespace kagi::crypto {
namespace {

// AddContext appends the statement context in the order of PROTOCOL.md §2:
// sid, label, prover, index, extra, A.
Transcript& AddContext(Transcript& t, const PokContext& ctx,
                       const Point& statement) {
  return t.Add(ctx.sid)
      .Add(ctx.label)
      .AddU32(ctx.prover)
      .AddU32(ctx.index)
      .Add(ctx.extra)
      .AddPoint(statement);
}

Scalar Challenge(const PokContext& ctx, const Point& statement,
                 const Point& t) {
  Transcript tr(Tag::kPok);
  return AddContext(tr, ctx, statement).AddPoint(t).Hn();
}

std::string Who(const PokContext& ctx) {
  return absl::StrCat(
      "proof of knowledge from party ", ctx.prover, " (",
      absl::string_view(reinterpret_cast<const char*>(ctx.label.data()),
                        ctx.label.size()),
      "[", ctx.index, "])");
}

}  // namespace

std::array<uint8_t, SchnorrProof::kBytes> SchnorrProof::Encode() const {
  std::array<uint8_t, kBytes> out{};
  const auto t = commitment.ToCompressed();
  const auto z = response.ToBytes();
  std::copy(t.begin(), t.end(), out.begin());
  std::copy(z.begin(), z.end(), out.begin() + Point::kCompressedBytes);
  return out;
}

absl::StatusOr<SchnorrProof> SchnorrProof::Decode(ByteSpan bytes,
                                                  absl::string_view field) {
  if (bytes.size() != kBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": proof must be ", kBytes, " bytes, got ", bytes.size()));
  }
  absl::StatusOr<Point> t = Point::FromCompressed(
      bytes.subspan(0, Point::kCompressedBytes), absl::StrCat(field, ".T"));
  if (!t.ok()) {
    return t.status();
  }
  absl::StatusOr<Scalar> z = Scalar::FromCanonicalBytes(
      bytes.subspan(Point::kCompressedBytes), absl::StrCat(field, ".z"));
  if (!z.ok()) {
    return z.status();
  }
  return SchnorrProof{*t, *z};
}

absl::StatusOr<SchnorrProof> ProveKnowledge(const PokContext& ctx,
                                            const Scalar& secret,
                                            const Point& statement, Rng& rng) {
  absl::StatusOr<Point> check = Point::MulGenerator(secret);
  if (!check.ok() || *check != statement) {
    return absl::InvalidArgumentError(
        "schnorr prove: secret does not match the statement");
  }
  std::array<uint8_t, 32> fresh = rng.Bytes<32>();
  Transcript nonce(Tag::kNonce);
  nonce.Add(fresh).AddScalar(secret);
  const Scalar k = AddContext(nonce, ctx, statement).Hn();
  SecureWipe(fresh.data(), fresh.size());
  absl::StatusOr<Point> t = Point::MulGenerator(k);
  if (!t.ok()) {
    return t.status();  // k == 0: probability 2^-256
  }
  const Scalar e = Challenge(ctx, statement, *t);
  return SchnorrProof{*t, k + e * secret};
}

absl::Status VerifyKnowledge(const PokContext& ctx, const Point& statement,
                             const SchnorrProof& proof) {
  const Scalar e = Challenge(ctx, statement, proof.commitment);
  if (e.IsZero()) {
    return absl::InvalidArgumentError(Who(ctx) + ": zero challenge");
  }
  absl::StatusOr<Point> lhs = Point::MulGenerator(proof.response);
  if (!lhs.ok()) {
    return absl::InvalidArgumentError(Who(ctx) + ": zero response");
  }
  absl::StatusOr<Point> ea = statement.MulPublicScalarVartime(e);
  if (!ea.ok()) {
    return absl::InvalidArgumentError(Who(ctx) + ": " +
                                      std::string(ea.status().message()));
  }
  absl::StatusOr<Point> rhs = proof.commitment.Add(*ea);
  if (!rhs.ok() || *lhs != *rhs) {
    return absl::InvalidArgumentError(Who(ctx) + ": verification failed");
  }
  return absl::OkStatus();
}

}  // namespace kagi::crypto
