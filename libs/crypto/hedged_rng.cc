#include "libs/crypto/hedged_rng.h"

#include "libs/crypto/transcript.h"

namespace kagi::crypto {

HedgedRng::HedgedRng(Rng& base, ByteSpan secret_digest, ByteSpan context)
    : base_(base), secret_digest_(secret_digest), context_(ToBytes(context)) {}

void HedgedRng::Fill(absl::Span<uint8_t> out) {
  std::array<uint8_t, 32> fresh = base_.Bytes<32>();
  Transcript(Tag::kRoundNonce)
      .Add(fresh)
      .Add(secret_digest_.secret())
      .Add(context_)
      .AddU64(counter_++)
      .AddU64(out.size())
      .Xof(out);
  WipeInline(fresh);
}

}  // namespace kagi::crypto
