#include "libs/storage/sealed.h"

#include "absl/status/status.h"
#include "libs/crypto/evp.h"
#include "libs/crypto/transcript.h"

namespace kagi::storage {

Bytes SealAad(const RecordContext& ctx) {
  const crypto::Digest32 d = crypto::Transcript(crypto::Tag::kSealAad)
                                 .Add(AsBytes(ctx.record_type))
                                 .Add(ctx.key_id)
                                 .AddU64(ctx.epoch)
                                 .AddU32(ctx.version)
                                 .H();
  return Bytes(d.begin(), d.end());
}

absl::StatusOr<Bytes> Seal(const SecretBytes& kek, const RecordContext& ctx,
                           ByteSpan plaintext, Rng& rng) {
  if (kek.size() != crypto::kAes256GcmKeyBytes) {
    return absl::InvalidArgumentError(
        "seal: key-encryption key must be 32 bytes");
  }
  const auto nonce = rng.Bytes<crypto::kAes256GcmNonceBytes>();
  absl::StatusOr<Bytes> ct =
      crypto::Aes256GcmSeal(kek, nonce, SealAad(ctx), plaintext);
  if (!ct.ok()) return ct.status();
  Bytes out(nonce.begin(), nonce.end());
  out.insert(out.end(), ct->begin(), ct->end());
  return out;
}

absl::StatusOr<SecretBytes> Open(const SecretBytes& kek,
                                 const RecordContext& ctx, ByteSpan sealed) {
  const absl::Status failed = absl::DataLossError(
      "sealed record failed authentication (tampered, wrong key, or wrong "
      "context)");
  if (kek.size() != crypto::kAes256GcmKeyBytes ||
      sealed.size() <
          crypto::kAes256GcmNonceBytes + crypto::kAes256GcmTagBytes) {
    return failed;
  }
  absl::StatusOr<SecretBytes> pt = crypto::Aes256GcmOpen(
      kek, sealed.subspan(0, crypto::kAes256GcmNonceBytes), SealAad(ctx),
      sealed.subspan(crypto::kAes256GcmNonceBytes));
  if (!pt.ok()) return failed;
  return pt;
}

}  // namespace kagi::storage
