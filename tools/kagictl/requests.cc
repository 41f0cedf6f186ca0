#include "tools/kagictl/requests.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/status_macros.h"
#include "libs/chain/bech32.h"
#include "libs/chain/bitcoin_tx.h"
#include "libs/chain/ethereum.h"
#include "libs/chain/psbt.h"
#include "libs/chain/script.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/hash.h"
#include "libs/policy/approval.h"
#include "libs/policy/networks.h"
#include "libs/transport/pki.h"

namespace kagi::kagictl {
namespace {

std::string Str(ByteSpan b) { return std::string(b.begin(), b.end()); }

chain::Uint256 U256(uint64_t v) {
  chain::Uint256 out{};
  for (int i = 0; i < 8; ++i) {
    out[31 - static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  }
  return out;
}

// Member returns the committee member with `identity_key`, named as the
// gateway's ListNodes names it.
absl::StatusOr<policy::CommitteeMember> MemberByKey(
    const std::string& identity_key, const v1::ListNodesResponse& nodes) {
  for (const v1::NodeEntry& e : nodes.nodes()) {
    if (e.identity_key() == identity_key && identity_key.size() == 32) {
      policy::CommitteeMember m;
      m.node = e.name();
      std::copy(identity_key.begin(), identity_key.end(),
                m.identity_key.begin());
      return m;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("no node the gateway lists has identity key ",
                   HexEncode(AsBytes(identity_key)), " (unreachable?)"));
}

absl::StatusOr<policy::CommitteeMember> MemberByName(
    const std::string& name, const v1::ListNodesResponse& nodes) {
  for (const v1::NodeEntry& e : nodes.nodes()) {
    if (e.name() != name) continue;
    if (e.identity_key().size() != 32) {
      return absl::UnavailableError(absl::StrCat(
          "node ", name,
          " is unreachable, its identity key unknown: ", e.error()));
    }
    return MemberByKey(e.identity_key(), nodes);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("node ", name, " is not a node of the gateway"));
}

absl::StatusOr<std::vector<policy::CommitteeMember>> KeyCommittee(
    const v1::KeyInfo& key, const v1::ListNodesResponse& nodes) {
  std::vector<policy::CommitteeMember> out;
  for (const v1::KeyParty& p : key.parties()) {
    KAGI_ASSIGN_OR_RETURN(policy::CommitteeMember m,
                          MemberByKey(p.identity_key(), nodes));
    out.push_back(std::move(m));
  }
  return out;
}

policy::AdminChange ChangeOfKey(policy::AdminOperation op,
                                const std::string& request_id,
                                const v1::KeyInfo& key, uint64_t expiry) {
  policy::AdminChange c;
  c.operation = op;
  c.request_id = request_id;
  c.key_id = key.key_id();
  c.epoch = key.epoch();
  c.old_threshold = key.threshold();
  c.expiry = expiry;
  return c;
}

}  // namespace

absl::StatusOr<v1::Approval> Approve(const std::string& name,
                                     const std::string& key_file,
                                     const std::array<uint8_t, 32>& digest) {
  KAGI_ASSIGN_OR_RETURN(
      SecretBytes pem,
      transport::ReadSecretFile(key_file, 16384, /*owner_only=*/true));
  absl::StatusOr<policy::ApproverKey> key = policy::ApproverKey::FromPem(
      absl::string_view(reinterpret_cast<const char*>(pem.secret().data()),
                        pem.secret().size()));
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat(key_file, ": ", key.status().message()));
  }
  KAGI_ASSIGN_OR_RETURN(Bytes sig, key->Sign(digest));
  v1::Approval a;
  a.set_approver(name);
  a.set_signature(Str(sig));
  return a;
}

absl::StatusOr<std::vector<v1::Approval>> ApproveAll(
    const std::vector<std::string>& specs,
    const std::array<uint8_t, 32>& digest) {
  std::vector<v1::Approval> out;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--approve ", spec, ": expected NAME=KEY_FILE"));
    }
    KAGI_ASSIGN_OR_RETURN(v1::Approval a, Approve(spec.substr(0, eq),
                                                  spec.substr(eq + 1), digest));
    out.push_back(std::move(a));
  }
  return out;
}

std::string ApprovalText(const v1::Approval& approval) {
  return absl::StrCat(approval.approver(), ":",
                      HexEncode(AsBytes(approval.signature())));
}

absl::StatusOr<v1::Approval> ParseApproval(absl::string_view line) {
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("approval '", line.substr(0, 80), "': expected NAME:HEX"));
  }
  absl::StatusOr<Bytes> sig = HexDecode(line.substr(colon + 1));
  if (!sig.ok() || sig->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("approval '", line.substr(0, 80), "': bad hex signature"));
  }
  v1::Approval a;
  a.set_approver(std::string(line.substr(0, colon)));
  a.set_signature(Str(*sig));
  return a;
}

absl::StatusOr<Bytes> DemoPsbt(const v1::KeyInfo& key,
                               absl::string_view network_name,
                               const std::string& to_address,
                               uint64_t amount_sat, uint64_t fee_sat,
                               uint64_t input_sat) {
  KAGI_ASSIGN_OR_RETURN(chain::Network network,
                        chain::NetworkFromName(network_name));
  KAGI_ASSIGN_OR_RETURN(chain::SegwitProgram dest,
                        chain::DecodeSegwitAddress(to_address));
  if (amount_sat + fee_sat > input_sat) {
    return absl::InvalidArgumentError("amount + fee exceed the input");
  }
  KAGI_ASSIGN_OR_RETURN(crypto::Point root_key, crypto::Point::FromCompressed(
                                                    AsBytes(key.public_key())));
  if (key.chain_code().size() != 32) {
    return absl::InvalidArgumentError("key: chain code is not 32 bytes");
  }
  std::array<uint8_t, 32> chain_code;
  std::copy(key.chain_code().begin(), key.chain_code().end(),
            chain_code.begin());
  const crypto::ExtendedPublicKey root =
      crypto::ExtendedPublicKey::Root(root_key, chain_code);
  const crypto::Bip32Fingerprint fp = root.Fingerprint();
  auto derive = [&](std::vector<uint32_t> path)
      -> absl::StatusOr<chain::PsbtBip32Derivation> {
    KAGI_ASSIGN_OR_RETURN(crypto::DerivedKey d, crypto::DerivePath(root, path));
    chain::PsbtBip32Derivation out;
    const auto pub = d.xpub.key().ToCompressed();
    out.pubkey.assign(pub.begin(), pub.end());
    out.fingerprint = fp;
    out.path = std::move(path);
    return out;
  };
  KAGI_ASSIGN_OR_RETURN(chain::PsbtBip32Derivation in_key, derive({0, 1}));
  KAGI_ASSIGN_OR_RETURN(chain::PsbtBip32Derivation change_key, derive({1, 0}));
  const Bytes in_script = chain::P2wpkhScript(crypto::Hash160(in_key.pubkey));
  // The made-up funding transaction (what a block explorer would show).
  chain::Transaction funding;
  chain::TxIn coinbase_like;
  coinbase_like.prevout.txid.fill(0x11);
  funding.inputs.push_back(coinbase_like);
  funding.outputs.push_back({input_sat, in_script});
  chain::Psbt psbt;
  chain::TxIn in;
  in.prevout.txid = chain::Txid(funding);
  in.prevout.index = 0;
  in.sequence = 0xfffffffd;
  psbt.tx.inputs.push_back(in);
  psbt.tx.outputs.push_back({amount_sat, chain::SegwitScriptPubKey(dest)});
  const uint64_t change = input_sat - amount_sat - fee_sat;
  if (change > 0) {
    psbt.tx.outputs.push_back(
        {change, chain::P2wpkhScript(crypto::Hash160(change_key.pubkey))});
  }
  chain::PsbtInput pin;
  pin.non_witness_utxo = funding;
  pin.witness_utxo = funding.outputs[0];
  pin.bip32_derivations.push_back(in_key);
  psbt.inputs.push_back(std::move(pin));
  psbt.outputs.emplace_back();
  if (change > 0) {
    chain::PsbtOutput pout;
    pout.bip32_derivations.push_back(change_key);
    psbt.outputs.push_back(std::move(pout));
  }
  (void)network;  // addresses encode the network; the PSBT does not
  return chain::EncodePsbt(psbt);
}

absl::StatusOr<Bytes> DemoEthTx(uint64_t chain_id, uint64_t nonce,
                                const std::string& to, uint64_t value_wei) {
  chain::EthTransaction tx;
  tx.type = chain::EthTxType::kDynamicFee;
  tx.chain_id = chain_id;
  tx.nonce = nonce;
  tx.max_priority_fee_per_gas = U256(1000000000);
  tx.max_fee_per_gas = U256(2000000000);
  tx.gas_limit = 21000;
  KAGI_ASSIGN_OR_RETURN(chain::EthAddress address, chain::ParseAddress(to));
  tx.to = address;
  tx.value = U256(value_wei);
  return chain::EncodeUnsignedTransaction(tx);
}

std::string DescribePayload(const v1::SignPayload& payload) {
  std::vector<std::string> lines;
  if (payload.has_bitcoin_psbt()) {
    absl::StatusOr<chain::Network> network =
        chain::NetworkFromName(payload.bitcoin_psbt().network());
    absl::StatusOr<chain::Psbt> psbt =
        chain::DecodePsbt(AsBytes(payload.bitcoin_psbt().psbt()));
    if (!network.ok() || !psbt.ok()) {
      return absl::StrCat(
          "  (cannot decode: ",
          (network.ok() ? psbt.status() : network.status()).message(), ")\n");
    }
    lines.push_back(absl::StrCat("  bitcoin ", payload.bitcoin_psbt().network(),
                                 ", ", psbt->tx.inputs.size(), " input(s)"));
    for (size_t i = 0; i < psbt->tx.outputs.size(); ++i) {
      const chain::TxOut& out = psbt->tx.outputs[i];
      absl::StatusOr<std::string> address =
          chain::ScriptAddress(out.script_pubkey, *network);
      lines.push_back(
          absl::StrCat("  output ", i, ": ", out.amount, " sat to ",
                       address.ok() ? *address : HexEncode(out.script_pubkey),
                       psbt->outputs[i].bip32_derivations.empty()
                           ? ""
                           : " (claims to be change; each node checks)"));
    }
    absl::StatusOr<uint64_t> fee = chain::Fee(*psbt);
    // The fee as the nodes count it: input amounts from the previous
    // transactions only (chain::SpentOutput).
    lines.push_back(
        fee.ok() ? absl::StrCat("  fee ", *fee, " sat")
                 : absl::StrCat("  fee unknown: ", fee.status().message(),
                                " (every node refuses it)"));
  } else if (payload.has_ethereum_tx()) {
    absl::StatusOr<chain::EthTransaction> tx = chain::DecodeEthTransaction(
        AsBytes(payload.ethereum_tx().unsigned_tx()));
    if (!tx.ok()) {
      return absl::StrCat("  (cannot decode: ", tx.status().message(), ")\n");
    }
    lines.push_back(absl::StrCat(
        "  ethereum chain ", tx->chain_id, ", type ",
        static_cast<int>(tx->type), ", nonce ", tx->nonce, ", to ",
        tx->to.has_value() ? chain::Eip55Checksum(*tx->to) : "(creation)",
        ", value 0x", HexEncode(tx->value), " wei, data ", tx->data.size(),
        " bytes"));
  } else {
    lines.push_back(absl::StrCat(
        "  raw digests: ", payload.raw_digest().items_size(),
        " (nothing to decode: only a raw_digest rule can allow them)"));
  }
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
}

// Binding: the request's networks, sorted and deduplicated as every node
// reads them (so the digest shown is the one the nodes compute).
absl::StatusOr<std::vector<std::string>> Binding(
    google::protobuf::RepeatedPtrField<std::string>* networks) {
  KAGI_ASSIGN_OR_RETURN(std::vector<std::string> bound,
                        policy::ParseNetworkBinding(*networks, "--networks"));
  networks->Clear();
  for (const std::string& n : bound) *networks->Add() = n;
  return bound;
}

// CarriedBinding: a refresh or reshare names the key's own networks unless
// the client named others (binding a key made before bindings).
absl::StatusOr<std::vector<std::string>> CarriedBinding(
    google::protobuf::RepeatedPtrField<std::string>* networks,
    const v1::KeyInfo& key) {
  if (networks->empty()) *networks = key.networks();
  return Binding(networks);
}

absl::StatusOr<policy::AdminChange> CreateKeyChange(
    v1::CreateKeyRequest* request, const v1::ListNodesResponse& nodes) {
  if (request->nodes().empty()) {
    for (const v1::NodeEntry& e : nodes.nodes()) request->add_nodes(e.name());
  }
  policy::AdminChange c;
  c.operation = policy::AdminOperation::kCreateKey;
  c.request_id = request->request_id();
  c.new_threshold = request->threshold();
  for (const std::string& name : request->nodes()) {
    KAGI_ASSIGN_OR_RETURN(policy::CommitteeMember m, MemberByName(name, nodes));
    c.new_committee.push_back(std::move(m));
  }
  KAGI_ASSIGN_OR_RETURN(c.networks, Binding(request->mutable_networks()));
  if (c.networks.empty()) {
    return absl::InvalidArgumentError(
        "--networks: name the networks the key may sign for, e.g. "
        "bitcoin:mainnet,ethereum:1 (raw_digest for raw digests)");
  }
  c.expiry = request->expiry_unix_seconds();
  return c;
}

absl::StatusOr<policy::AdminChange> RefreshChange(
    v1::RefreshRequest* request, const v1::KeyInfo& key,
    const v1::ListNodesResponse& nodes) {
  if (request->dealers().empty()) {
    for (uint32_t id = 1; id <= key.threshold(); ++id) request->add_dealers(id);
  }
  policy::AdminChange c =
      ChangeOfKey(policy::AdminOperation::kRefresh, request->request_id(), key,
                  request->expiry_unix_seconds());
  KAGI_ASSIGN_OR_RETURN(c.old_committee, KeyCommittee(key, nodes));
  c.new_threshold = key.threshold();
  c.new_committee = c.old_committee;
  c.dealers.assign(request->dealers().begin(), request->dealers().end());
  KAGI_ASSIGN_OR_RETURN(c.networks,
                        CarriedBinding(request->mutable_networks(), key));
  return c;
}

absl::StatusOr<policy::AdminChange> ReshareChange(
    v1::ReshareRequest* request, const v1::KeyInfo& key,
    const v1::ListNodesResponse& nodes) {
  policy::AdminChange c =
      ChangeOfKey(policy::AdminOperation::kReshare, request->request_id(), key,
                  request->expiry_unix_seconds());
  KAGI_ASSIGN_OR_RETURN(c.old_committee, KeyCommittee(key, nodes));
  if (request->dealers().empty()) {
    for (int p = 0;
         p < key.parties_size() &&
         static_cast<uint32_t>(request->dealers_size()) < key.threshold();
         ++p) {
      for (const v1::NodeEntry& e : nodes.nodes()) {
        if (e.reachable() &&
            e.identity_key() == key.parties(p).identity_key()) {
          request->add_dealers(key.parties(p).id());
        }
      }
    }
  }
  c.new_threshold = request->new_threshold();
  for (const std::string& name : request->new_nodes()) {
    KAGI_ASSIGN_OR_RETURN(policy::CommitteeMember m, MemberByName(name, nodes));
    c.new_committee.push_back(std::move(m));
  }
  c.dealers.assign(request->dealers().begin(), request->dealers().end());
  KAGI_ASSIGN_OR_RETURN(c.networks,
                        CarriedBinding(request->mutable_networks(), key));
  return c;
}

}  // namespace kagi::kagictl
