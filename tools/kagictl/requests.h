// File: tools/kagictl/requests.h
//
// Client-side helpers for requests that need approvals: approver signatures
// over the canonical request digests (libs/policy/request_digest.h), and the
// demo transactions `kagictl demo-psbt` / `demo-eth-tx` build (a PSBT that
// spends a made-up output of the wallet, an EIP-1559 transfer) so that the
// local demo and the integration tests can sign real transaction formats
// without a blockchain node.
#ifndef KAGI_TOOLS_KAGICTL_REQUESTS_H_
#define KAGI_TOOLS_KAGICTL_REQUESTS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kagi/v1/common.pb.h"
#include "kagi/v1/wallet.pb.h"
#include "libs/base/bytes.h"
#include "libs/policy/request_digest.h"

namespace kagi::kagictl {

// Approve signs `digest` as approver `name` with the PEM key in `key_file`.
absl::StatusOr<v1::Approval> Approve(const std::string& name,
                                     const std::string& key_file,
                                     const std::array<uint8_t, 32>& digest);

// ApproveAll: for each "NAME=KEYFILE", Approve.
absl::StatusOr<std::vector<v1::Approval>> ApproveAll(
    const std::vector<std::string>& name_equals_file,
    const std::array<uint8_t, 32>& digest);

// ApprovalText / ParseApproval: "NAME:HEX", one approval per line.
std::string ApprovalText(const v1::Approval& approval);
absl::StatusOr<v1::Approval> ParseApproval(absl::string_view line);

// The admin changes a client asks approvers to sign (libs/policy/
// request_digest.h), built from the request and what the gateway reports:
// `nodes` from Wallet.ListNodes (names and identity keys; an approver should
// check the keys against the cluster's published ones) and, for refresh and
// reshare, the key from Wallet.GetKey. Each fills what the client left to
// defaults into the request, so that the request sent is the one approved:
// create_key without nodes: every node, in the gateway's order; refresh
// without dealers: parties 1..t; reshare without dealers: the first t_old
// parties that ListNodes reports reachable. Networks: create_key needs at
// least one (InvalidArgument); refresh and reshare without networks carry
// the key's own (KeyInfo.networks); all are sorted as the nodes read them.
absl::StatusOr<policy::AdminChange> CreateKeyChange(
    v1::CreateKeyRequest* request, const v1::ListNodesResponse& nodes);
absl::StatusOr<policy::AdminChange> RefreshChange(
    v1::RefreshRequest* request, const v1::KeyInfo& key,
    const v1::ListNodesResponse& nodes);
absl::StatusOr<policy::AdminChange> ReshareChange(
    v1::ReshareRequest* request, const v1::KeyInfo& key,
    const v1::ListNodesResponse& nodes);

// DemoPsbt returns a binary PSBT for `key` on `network`: one input spending
// a made-up previous output of `input_sat` paid to the key's m/0/1 P2WPKH
// address (witness and non-witness UTXO, BIP32 derivation), `amount_sat` to
// `to_address` (a segwit address) and the rest minus `fee_sat` as change to
// m/1/0 (with its BIP32 derivation, so nodes recognise it).
absl::StatusOr<Bytes> DemoPsbt(const v1::KeyInfo& key,
                               absl::string_view network,
                               const std::string& to_address,
                               uint64_t amount_sat, uint64_t fee_sat,
                               uint64_t input_sat = 1000000);

// DemoEthTx returns an unsigned EIP-1559 transaction: `value_wei` to `to`,
// 21000 gas at 2 gwei max (1 gwei tip).
absl::StatusOr<Bytes> DemoEthTx(uint64_t chain_id, uint64_t nonce,
                                const std::string& to, uint64_t value_wei);

// DescribePayload renders what an approver should read before approving:
// the decoded outputs of a PSBT or the fields of an Ethereum transaction.
std::string DescribePayload(const v1::SignPayload& payload);

}  // namespace kagi::kagictl

#endif  // KAGI_TOOLS_KAGICTL_REQUESTS_H_
