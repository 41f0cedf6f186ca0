// File: libs/mpc/internal/pair_session.h  (not API)
//
// The session id of one two-party instance (base OT, RVOLE): the outer
// session id bound to the tag of the primitive and the ordered pair of
// parties, H(tag, sid, a, b).
#ifndef KAGI_LIBS_MPC_INTERNAL_PAIR_SESSION_H_
#define KAGI_LIBS_MPC_INTERNAL_PAIR_SESSION_H_

#include <array>
#include <cstdint>

#include "libs/crypto/transcript.h"

namespace kagi::mpc::internal {

inline std::array<uint8_t, 32> PairSessionId(crypto::Tag tag,
                                             const std::array<uint8_t, 32>& sid,
                                             uint32_t a, uint32_t b) {
  return crypto::Transcript(tag).Add(sid).AddU32(a).AddU32(b).H();
}

}  // namespace kagi::mpc::internal

#endif  // KAGI_LIBS_MPC_INTERNAL_PAIR_SESSION_H_
