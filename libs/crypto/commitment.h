// File: libs/crypto/commitment.h
//
// Hash commitments, PROTOCOL.md §2:
//   Com(tag, sid, i, data; ρ) = H(tag, sid, i, data, ρ), ρ a fresh 32 bytes.
//
// Binding comes from SHA-256's collision resistance, hiding from the 256-bit
// ρ. The committer's index `i` and the session id are hashed so a commitment
// cannot be replayed by another party or in another session.
#ifndef KAGI_LIBS_CRYPTO_COMMITMENT_H_
#define KAGI_LIBS_CRYPTO_COMMITMENT_H_

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/tags.h"

namespace kagi::crypto {

// A commitment and the randomness that opens it.
struct CommitmentWithOpening {
  Digest32 commitment;
  std::array<uint8_t, 32> rho;  // sent with the opening, secret until then
};

// Commit commits party `party` in session `sid` to `data` under `tag`, with a
// fresh ρ from `rng`. `tag` must be one of the commitment tags
// (kDkgCommit, kSignCommit, kReshareCommit).
CommitmentWithOpening Commit(Tag tag, ByteSpan sid, uint32_t party,
                             ByteSpan data, Rng& rng);

// ComputeCommitment recomputes H(tag, sid, party, data, rho).
Digest32 ComputeCommitment(Tag tag, ByteSpan sid, uint32_t party, ByteSpan data,
                           const std::array<uint8_t, 32>& rho);

// VerifyOpening checks that (data, rho) opens `commitment` for `party`.
// Returns InvalidArgument("commitment from party <party> does not open") on
// mismatch. The comparison is constant time.
absl::Status VerifyOpening(Tag tag, ByteSpan sid, uint32_t party, ByteSpan data,
                           const std::array<uint8_t, 32>& rho,
                           const Digest32& commitment);

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_COMMITMENT_H_
