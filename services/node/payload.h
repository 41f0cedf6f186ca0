// File: services/node/payload.h
//
// What a node decodes from a signing request before it takes part, for
// every payload kind (raw digests, Bitcoin PSBT, Ethereum transaction): the
// payload is decoded in full, every digest to sign is computed here (never
// taken from the caller, except for an explicit raw-digest request), and the
// facts that policy judges are extracted (destinations, amounts, fee,
// change). After signing, the same decoding turns the signatures into what
// the caller can use: the PSBT with partial signatures inserted, or the
// signed Ethereum transaction with its yParity.
#ifndef KAGI_SERVICES_NODE_PAYLOAD_H_
#define KAGI_SERVICES_NODE_PAYLOAD_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/node.pb.h"
#include "libs/chain/ethereum.h"
#include "libs/chain/psbt.h"
#include "libs/chain/psbt_signer.h"
#include "libs/policy/policy.h"
#include "libs/protocol/keyshare.h"
#include "libs/protocol/sign.h"
#include "services/node/request.h"

namespace kagi::node {

struct DecodedPayload {
  std::vector<protocol::SignItem> items;  // what the protocol signs
  policy::RequestFacts facts;             // what policy judges
  // Kept to build the signed result.
  absl::optional<chain::Psbt> psbt;
  chain::PsbtAnalysis psbt_analysis;
  absl::optional<chain::EthTransaction> eth;
  absl::optional<crypto::Point> eth_key;
};

// SignItemsFromRequest validates a raw-digest SignRequest's shape and returns
// the items to sign. A raw-digest payload is refused (PermissionDenied
// naming `node`) unless limits.allow_raw_digest. DecodePayload uses it for
// the raw_digest kind.
absl::StatusOr<std::vector<protocol::SignItem>> SignItemsFromRequest(
    const v1::SignRequest& request, const RequestLimits& limits,
    absl::string_view node);

// DecodePayload decodes `request`'s payload for the key of `share`; `change`
// (the policy's bitcoin_change) says which PSBT outputs to the key's own
// addresses are change, every other output is a transfer. Errors are
// InvalidArgument / PermissionDenied naming the field and what is wrong (a
// PSBT input that is not this key's or lacks its previous transaction,
// non-canonical RLP, ...). A payload over one of `limits`' bounds (a PSBT's
// bytes, inputs, outputs, unsigned or previous tx bytes; an Ethereum tx's
// bytes) is refused with ResourceExhausted naming the request, before the
// work that bound is for.
absl::StatusOr<DecodedPayload> DecodePayload(
    const v1::SignRequest& request, const protocol::KeyShare& share,
    const RequestLimits& limits, const chain::PsbtChangeRule& change,
    absl::string_view node);

// FillSignedResult adds the signed PSBT or Ethereum transaction to
// `response` from the protocol's signatures (in item order).
absl::Status FillSignedResult(const DecodedPayload& decoded,
                              const std::vector<protocol::Signature>& sigs,
                              v1::StartSignResponse* response);

}  // namespace kagi::node

#endif  // KAGI_SERVICES_NODE_PAYLOAD_H_
