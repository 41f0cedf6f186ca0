#include "libs/crypto/commitment.h"

#include "absl/strings/str_cat.h"
#include "libs/base/check.h"
#include "libs/base/secret.h"
#include "libs/crypto/transcript.h"

namespace kagi::crypto {
namespace {

bool IsCommitmentTag(Tag tag) {
  return tag == Tag::kDkgCommit || tag == Tag::kSignCommit ||
         tag == Tag::kReshareCommit;
}

}  // namespace

Digest32 ComputeCommitment(Tag tag, ByteSpan sid, uint32_t party, ByteSpan data,
                           const std::array<uint8_t, 32>& rho) {
  KAGI_CHECK(IsCommitmentTag(tag));
  return Transcript(tag).Add(sid).AddU32(party).Add(data).Add(rho).H();
}

CommitmentWithOpening Commit(Tag tag, ByteSpan sid, uint32_t party,
                             ByteSpan data, Rng& rng) {
  CommitmentWithOpening out;
  out.rho = rng.Bytes<32>();
  out.commitment = ComputeCommitment(tag, sid, party, data, out.rho);
  return out;
}

absl::Status VerifyOpening(Tag tag, ByteSpan sid, uint32_t party, ByteSpan data,
                           const std::array<uint8_t, 32>& rho,
                           const Digest32& commitment) {
  const Digest32 expect = ComputeCommitment(tag, sid, party, data, rho);
  if (!ConstantTimeEqual(expect, commitment)) {
    return absl::InvalidArgumentError(
        absl::StrCat("commitment from party ", party, " does not open"));
  }
  return absl::OkStatus();
}

}  // namespace kagi::crypto
