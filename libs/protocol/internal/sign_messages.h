// File: libs/protocol/internal/sign_messages.h  (not API)
//
// The signing rounds' messages (PROTOCOL.md §3.6, sign.h), one struct each,
// with the encoding and a decoder that blames the sender for any malformed
// payload. P1 is CommitMessage (round_messages.h). Everything here is sent
// in the clear by design (sign.cc declassifies what it sends).
#ifndef KAGI_LIBS_PROTOCOL_INTERNAL_SIGN_MESSAGES_H_
#define KAGI_LIBS_PROTOCOL_INTERNAL_SIGN_MESSAGES_H_

#include <array>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/base/bytes.h"
#include "libs/crypto/point.h"
#include "libs/crypto/scalar.h"
#include "libs/protocol/internal/round_messages.h"

namespace kagi::protocol::internal {

// P2 direct, after the echo: per item the RVOLE msg1 of (A = recipient,
// B = sender).
struct SignP2 {
  std::vector<ByteSpan> msg1;  // borrowed from the payload

  static absl::StatusOr<SignP2> Decode(ByteSpan body, size_t items,
                                       uint32_t sender);
};

// P3 direct: ρ ‖ per item msg2 ‖ R_i ‖ pk_i ‖ Γ_u ‖ Γ_v ‖ ψ_{i→j}.
struct SignP3 {
  struct Item {
    ByteSpan msg2;  // borrowed when decoded
    crypto::Point r = crypto::Point::Generator();
    crypto::Point pk = crypto::Point::Generator();
    std::array<crypto::Point, 2> gamma = {crypto::Point::Generator(),
                                          crypto::Point::Generator()};
    crypto::Scalar psi;
  };
  Hash32 rho{};
  std::vector<Item> items;

  Bytes Encode() const;
  // The data the P1 commitment covers: every R_i.
  Bytes CommitData() const;
  static absl::StatusOr<SignP3> Decode(ByteSpan payload, size_t items,
                                       uint32_t sender);
};

// Online broadcast: per item the signature share s0 ‖ s1.
struct SignOnline {
  std::vector<std::array<crypto::Scalar, 2>> shares;

  static absl::StatusOr<SignOnline> Decode(ByteSpan payload, size_t items,
                                           uint32_t sender);
};

}  // namespace kagi::protocol::internal

#endif  // KAGI_LIBS_PROTOCOL_INTERNAL_SIGN_MESSAGES_H_
