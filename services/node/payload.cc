#include "services/node/payload.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/status_macros.h"
#include "libs/chain/bech32.h"
#include "libs/crypto/bip32.h"

namespace kagi::node {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Prefixed keeps a decoder's status code and names the field in front.
absl::Status Prefixed(absl::string_view field, const absl::Status& st) {
  return absl::Status(st.code(), absl::StrCat(field, ": ", st.message()));
}

std::string PathText(const std::vector<uint32_t>& path) {
  return absl::StrCat("m/", absl::StrJoin(path, "/"));
}

crypto::ExtendedPublicKey Root(const protocol::KeyShare& share) {
  return crypto::ExtendedPublicKey::Root(share.public_key, share.chain_code);
}

absl::StatusOr<std::vector<uint32_t>> CheckedPath(
    const google::protobuf::RepeatedField<uint32_t>& path,
    absl::string_view field, size_t max_depth = chain::kPsbtMaxPathDepth) {
  if (static_cast<size_t>(path.size()) > max_depth) {
    return FieldError(field, "too deep");
  }
  for (uint32_t index : path) {
    if (index >= crypto::kBip32HardenedBit) {
      return FieldError(field,
                        "hardened index: only public (non-hardened) "
                        "derivation is possible for a threshold key");
    }
  }
  return std::vector<uint32_t>(path.begin(), path.end());
}

// NamedForRequest names the request in front of a bound's refusal: the
// caller may not know which of its requests was over a node's limit.
absl::Status NamedForRequest(absl::string_view request_id,
                             absl::string_view field, const absl::Status& st) {
  return absl::Status(st.code(), absl::StrCat("request ", request_id, ": ",
                                              field, ": ", st.message()));
}

chain::PsbtLimits PsbtLimitsOf(const RequestLimits& limits) {
  chain::PsbtLimits out;
  out.max_bytes = limits.max_psbt_bytes;
  out.max_unsigned_tx_bytes = limits.max_psbt_unsigned_tx_bytes;
  out.max_inputs = limits.max_sign_items;
  out.max_outputs = limits.max_psbt_outputs;
  out.max_prev_tx_bytes = limits.max_psbt_prev_tx_bytes;
  return out;
}

absl::Status DecodeBitcoin(absl::string_view request_id,
                           const v1::BitcoinPsbtPayload& payload,
                           const protocol::KeyShare& share,
                           const RequestLimits& limits,
                           const chain::PsbtChangeRule& change,
                           DecodedPayload& out) {
  absl::StatusOr<chain::Network> network =
      chain::NetworkFromName(payload.network());
  if (!network.ok()) {
    return FieldError("payload.bitcoin_psbt.network",
                      network.status().message());
  }
  // The decode checks the size and counts before the per-input work.
  absl::StatusOr<chain::Psbt> psbt =
      chain::DecodePsbt(AsBytes(payload.psbt()), PsbtLimitsOf(limits));
  if (absl::IsResourceExhausted(psbt.status())) {
    return NamedForRequest(request_id, "payload.bitcoin_psbt.psbt",
                           psbt.status());
  }
  if (!psbt.ok()) return Prefixed("payload.bitcoin_psbt.psbt", psbt.status());
  absl::StatusOr<chain::PsbtAnalysis> analysis =
      chain::AnalyzePsbt(*psbt, Root(share), *network, change);
  if (!analysis.ok()) {
    return Prefixed("payload.bitcoin_psbt.psbt", analysis.status());
  }
  policy::RequestFacts& f = out.facts;
  f.chain = std::string(policy::kBitcoin);
  f.network = payload.network();
  f.asset = "BTC";
  f.fee = policy::Amount::FromU64(analysis->fee);
  uint64_t leaving = analysis->fee;
  for (const chain::PsbtSigningInput& in : analysis->inputs) {
    out.items.push_back({in.sighash, in.path});
  }
  f.notes.push_back(absl::StrCat(analysis->inputs.size(), " inputs, ",
                                 analysis->input_total, " sat"));
  for (const chain::PsbtOutputSummary& o : analysis->outputs) {
    if (o.change) {
      f.notes.push_back(absl::StrCat("change ", o.amount, " to ", o.address,
                                     " (", PathText(o.change_path), ")"));
      continue;
    }
    if (!o.self_payment.empty()) {
      f.notes.push_back(absl::StrCat("output ", o.index, " ", o.self_payment,
                                     ": counted as a transfer"));
    }
    KAGI_ASSIGN_OR_RETURN(
        std::string address,
        policy::NormalizeAddress(policy::kBitcoin, o.address));
    f.transfers.push_back(
        {std::move(address), policy::Amount::FromU64(o.amount)});
    leaving += o.amount;  // cannot overflow: AnalyzePsbt bounds the totals
  }
  f.amount = policy::Amount::FromU64(leaving);
  out.psbt = *std::move(psbt);
  out.psbt_analysis = *std::move(analysis);
  return absl::OkStatus();
}

absl::Status DecodeEthereum(absl::string_view request_id,
                            const v1::EthereumTxPayload& payload,
                            const protocol::KeyShare& share,
                            const RequestLimits& limits, DecodedPayload& out) {
  if (payload.unsigned_tx().size() > limits.max_eth_tx_bytes) {
    return NamedForRequest(request_id, "payload.ethereum_tx.unsigned_tx",
                           absl::ResourceExhaustedError(absl::StrCat(
                               "has ", payload.unsigned_tx().size(),
                               " bytes; at most ", limits.max_eth_tx_bytes)));
  }
  KAGI_ASSIGN_OR_RETURN(
      std::vector<uint32_t> path,
      CheckedPath(payload.path(), "payload.ethereum_tx.path"));
  absl::StatusOr<chain::EthTransaction> tx =
      chain::DecodeEthTransaction(AsBytes(payload.unsigned_tx()));
  if (!tx.ok()) return Prefixed("payload.ethereum_tx.unsigned_tx", tx.status());
  KAGI_ASSIGN_OR_RETURN(crypto::DerivedKey derived,
                        crypto::DerivePath(Root(share), path));
  policy::RequestFacts& f = out.facts;
  f.chain = std::string(policy::kEthereum);
  f.network = absl::StrCat(tx->chain_id);
  KAGI_ASSIGN_OR_RETURN(policy::Amount value,
                        policy::Amount::FromBigEndian(tx->value));
  const chain::Uint256& fee_per_gas = tx->type == chain::EthTxType::kDynamicFee
                                          ? tx->max_fee_per_gas
                                          : tx->gas_price;
  KAGI_ASSIGN_OR_RETURN(policy::Amount max_fee,
                        policy::Amount::FromBigEndian(fee_per_gas));
  absl::StatusOr<policy::Amount> fee_limit = max_fee.MulU64(tx->gas_limit);
  if (!fee_limit.ok()) {
    return FieldError("payload.ethereum_tx.unsigned_tx",
                      "gas limit times fee per gas overflows 2^256");
  }
  f.fee = *fee_limit;
  f.notes.push_back(absl::StrCat("from ",
                                 chain::Eip55Address(derived.xpub.key()), " (",
                                 PathText(path), ") nonce ", tx->nonce));
  absl::StatusOr<chain::Erc20Call> erc20 =
      tx->to.has_value() && !tx->data.empty()
          ? chain::DecodeErc20Call(tx->data)
          : absl::StatusOr<chain::Erc20Call>(absl::NotFoundError(""));
  if (erc20.ok()) {
    if (!(value == policy::Amount())) {
      return FieldError("payload.ethereum_tx.unsigned_tx",
                        "an ERC-20 call that also sends ETH is refused");
    }
    f.asset = absl::StrCat("ERC20:", chain::Eip55Checksum(*tx->to));
    KAGI_ASSIGN_OR_RETURN(f.amount,
                          policy::Amount::FromBigEndian(erc20->amount));
    f.transfers.push_back({chain::Eip55Checksum(erc20->to), f.amount});
    if (erc20->kind == chain::Erc20Kind::kApprove) {
      f.notes.push_back("ERC-20 approve: the destination is the spender");
    }
  } else {
    // Plain ETH: the value and the most the fee can take both leave.
    f.asset = "ETH";
    absl::StatusOr<policy::Amount> total = value.Add(*fee_limit);
    if (!total.ok()) {
      return FieldError("payload.ethereum_tx.unsigned_tx",
                        "value plus fee overflows 2^256");
    }
    f.amount = *total;
    if (tx->to.has_value()) {
      f.transfers.push_back({chain::Eip55Checksum(*tx->to), value});
    }
    f.contract_call = !tx->data.empty() || !tx->to.has_value();
  }
  const chain::Keccak256Digest hash = chain::SigningHash(*tx);
  protocol::SignItem item;
  std::copy(hash.begin(), hash.end(), item.digest.begin());
  item.path = std::move(path);
  out.items.push_back(std::move(item));
  out.eth = *std::move(tx);
  out.eth_key = derived.xpub.key();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<protocol::SignItem>> SignItemsFromRequest(
    const v1::SignRequest& request, const RequestLimits& limits,
    absl::string_view node) {
  KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  KAGI_RETURN_IF_ERROR(Fixed32(request.key_id(), "key_id").status());
  if (!request.has_payload()) return FieldError("payload", "missing");
  if (request.payload().kind_case() != v1::SignPayload::kRawDigest) {
    return FieldError("payload", "unknown payload kind");
  }
  if (!limits.allow_raw_digest) {
    return absl::PermissionDeniedError(
        absl::StrCat("payload.raw_digest: raw-digest signing is disabled on ",
                     node, " (config allow_raw_digest)"));
  }
  const auto& items = request.payload().raw_digest().items();
  if (items.empty() ||
      static_cast<size_t>(items.size()) > limits.max_sign_items) {
    return FieldError("payload.raw_digest.items",
                      absl::StrCat("must have 1..", limits.max_sign_items,
                                   " items, got ", items.size()));
  }
  std::vector<protocol::SignItem> out;
  for (int i = 0; i < items.size(); ++i) {
    const std::string f = absl::StrCat("payload.raw_digest.items[", i, "]");
    protocol::SignItem item;
    KAGI_ASSIGN_OR_RETURN(
        item.digest, Fixed32(items[i].digest(), absl::StrCat(f, ".digest")));
    KAGI_ASSIGN_OR_RETURN(item.path,
                          CheckedPath(items[i].path(), absl::StrCat(f, ".path"),
                                      protocol::kMaxPathDepth));
    out.push_back(std::move(item));
  }
  return out;
}

absl::StatusOr<DecodedPayload> DecodePayload(
    const v1::SignRequest& request, const protocol::KeyShare& share,
    const RequestLimits& limits, const chain::PsbtChangeRule& change,
    absl::string_view node) {
  DecodedPayload out;
  switch (request.payload().kind_case()) {
    case v1::SignPayload::kRawDigest: {
      KAGI_ASSIGN_OR_RETURN(out.items,
                            SignItemsFromRequest(request, limits, node));
      out.facts.chain = std::string(policy::kRawDigest);
      out.facts.notes.push_back(absl::StrCat(out.items.size(), " digests"));
      break;
    }
    case v1::SignPayload::kBitcoinPsbt:
      KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
      KAGI_RETURN_IF_ERROR(DecodeBitcoin(request.request_id(),
                                         request.payload().bitcoin_psbt(),
                                         share, limits, change, out));
      break;
    case v1::SignPayload::kEthereumTx:
      KAGI_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
      KAGI_RETURN_IF_ERROR(DecodeEthereum(request.request_id(),
                                          request.payload().ethereum_tx(),
                                          share, limits, out));
      break;
    default:
      return FieldError("payload", "missing or unknown payload kind");
  }
  out.facts.key_id = HexEncode(share.key_id);
  return out;
}

absl::Status FillSignedResult(const DecodedPayload& decoded,
                              const std::vector<protocol::Signature>& sigs,
                              v1::StartSignResponse* response) {
  if (decoded.psbt.has_value()) {
    std::vector<std::array<uint8_t, 64>> compact;
    for (const protocol::Signature& s : sigs) compact.push_back(s.Compact());
    KAGI_ASSIGN_OR_RETURN(
        Bytes signed_psbt,
        chain::SignPsbt(*decoded.psbt, decoded.psbt_analysis, compact));
    response->set_signed_psbt(
        std::string(signed_psbt.begin(), signed_psbt.end()));
  }
  if (decoded.eth.has_value()) {
    if (sigs.size() != 1) {
      return absl::InternalError("an Ethereum request has one signature");
    }
    if (sigs[0].recovery_id > 1) {
      // x(R) >= n: probability ~2^-128; Ethereum cannot express it.
      return absl::InternalError(
          "the signature's R has x >= n; Ethereum cannot encode it, retry "
          "with a new request id");
    }
    const uint8_t y_parity = sigs[0].recovery_id;
    const Bytes signed_tx = chain::EncodeSignedTransaction(
        *decoded.eth, y_parity, sigs[0].r, sigs[0].s);
    v1::EthereumSigned* eth = response->mutable_ethereum();
    eth->set_signed_tx(std::string(signed_tx.begin(), signed_tx.end()));
    eth->set_y_parity(y_parity);
    eth->set_from(chain::Eip55Address(*decoded.eth_key));
  }
  return absl::OkStatus();
}

}  // namespace kagi::node
