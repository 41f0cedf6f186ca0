// kagictl sign, approve, request status and the demo transactions.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/bip32.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/point.h"
#include "libs/transport/config.h"
#include "libs/transport/pki.h"
#include "tools/kagictl/commands.h"
#include "tools/kagictl/requests.h"

namespace kagi::kagictl {
namespace {

// ReadPsbt reads a binary or base64 PSBT file.
absl::StatusOr<std::string> ReadPsbt(const std::string& path) {
  KAGI_ASSIGN_OR_RETURN(std::string data,
                        transport::ReadFileToString(path, 4 << 20));
  if (data.rfind("psbt\xff", 0) == 0) return data;
  std::string decoded;
  std::string text(absl::StripAsciiWhitespace(data));
  if (!absl::Base64Unescape(text, &decoded) ||
      decoded.rfind("psbt\xff", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--psbt ", path, ": neither a binary nor a base64 PSBT"));
  }
  return decoded;
}

// BuildSignRequest reads the REQUEST flags (see usage).
absl::StatusOr<v1::SignRequest> BuildSignRequest(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(std::string key_id, a.RequiredHex("key", 32));
  v1::SignRequest req;
  req.set_request_id(a.Get("request-id", NewRequestId("sign")));
  req.set_key_id(key_id);
  KAGI_ASSIGN_OR_RETURN(uint64_t expiry, Expiry(a));
  req.set_expiry_unix_seconds(expiry);
  if (a.Has("psbt")) {
    v1::BitcoinPsbtPayload* p = req.mutable_payload()->mutable_bitcoin_psbt();
    p->set_network(a.Get("network", "regtest"));
    KAGI_ASSIGN_OR_RETURN(*p->mutable_psbt(), ReadPsbt(a.Get("psbt")));
    return req;
  }
  if (a.Has("eth-tx")) {
    v1::EthereumTxPayload* p = req.mutable_payload()->mutable_ethereum_tx();
    std::string hex = a.Get("eth-tx");
    if (hex.rfind("0x", 0) == 0) hex = hex.substr(2);
    absl::StatusOr<Bytes> tx = HexDecode(hex);
    if (!tx.ok() || tx->empty()) {
      return absl::InvalidArgumentError("--eth-tx: expected hex");
    }
    p->set_unsigned_tx(std::string(tx->begin(), tx->end()));
    KAGI_ASSIGN_OR_RETURN(std::vector<uint32_t> path,
                          crypto::ParsePath(a.Get("path", "m/0/0")));
    for (uint32_t i : path) p->add_path(i);
    return req;
  }
  const std::vector<std::string> digests = a.All("digest");
  const std::vector<std::string> paths = a.All("path");
  if (digests.empty()) {
    return absl::InvalidArgumentError(
        "a payload is required: --psbt, --eth-tx or --digest");
  }
  for (size_t i = 0; i < digests.size(); ++i) {
    v1::DigestItem* item =
        req.mutable_payload()->mutable_raw_digest()->add_items();
    KAGI_ASSIGN_OR_RETURN(std::string d, HexArg(digests[i], 32, "--digest"));
    item->set_digest(d);
    KAGI_ASSIGN_OR_RETURN(
        std::vector<uint32_t> path,
        crypto::ParsePath(i < paths.size() ? paths[i] : std::string("m")));
    for (uint32_t p : path) item->add_path(p);
  }
  return req;
}

// PrintSignatures prints each signature, verified here too: the CLI trusts
// neither gateway nor nodes.
absl::Status PrintSignatures(const v1::SignResponse& resp) {
  for (const v1::SignatureResult& s : resp.signatures()) {
    absl::StatusOr<crypto::Point> pub =
        crypto::Point::FromCompressed(AsBytes(s.public_key()));
    absl::Status ok = pub.status();
    if (ok.ok() && s.digest().size() == 32 && s.signature().size() == 64) {
      crypto::Digest32 digest;
      std::copy(s.digest().begin(), s.digest().end(), digest.begin());
      crypto::CompactSignature sig;
      std::copy(s.signature().begin(), s.signature().end(), sig.begin());
      ok = crypto::EcdsaVerify(*pub, digest, sig);
    }
    std::cout << "digest     " << Hex(s.digest()) << "\n"
              << "signature  " << Hex(s.signature()) << " (r||s, low-S)\n"
              << "recovery   " << s.recovery_id() << "\n"
              << "public key " << Hex(s.public_key()) << "\n"
              << "verified   "
              << (ok.ok() ? "yes (libsecp256k1, by kagictl)"
                          : absl::StrCat("NO: ", ok.message()))
              << "\n";
    if (!ok.ok()) return absl::DataLossError("a signature did not verify");
  }
  return absl::OkStatus();
}

// WriteSigned prints (or writes to --out) the signed PSBT or transaction.
absl::Status WriteSigned(const Args& a, const v1::SignResponse& resp) {
  if (!resp.signed_psbt().empty()) {
    const std::string b64 = absl::Base64Escape(resp.signed_psbt());
    std::cout << "signed PSBT with " << resp.signatures_size()
              << " partial signature(s)";
    if (a.Has("out")) {
      KAGI_RETURN_IF_ERROR(
          transport::WriteFileAtomically(a.Get("out"), b64 + "\n", 0644));
      std::cout << " written to " << a.Get("out") << "\n";
    } else {
      std::cout << ":\n" << b64 << "\n";
    }
  }
  if (resp.has_ethereum()) {
    const std::string hex =
        absl::StrCat("0x", Hex(resp.ethereum().signed_tx()));
    std::cout << "from       " << resp.ethereum().from() << "\n"
              << "yParity    " << resp.ethereum().y_parity() << "\n"
              << "signed tx  " << hex << "\n";
    if (a.Has("out")) {
      KAGI_RETURN_IF_ERROR(
          transport::WriteFileAtomically(a.Get("out"), hex + "\n", 0644));
    }
  }
  return absl::OkStatus();
}

// DemoEthTx: kagictl demo-eth-tx, an unsigned EIP-1559 transfer.
absl::Status DemoEthTxCommand(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(std::string to, a.Required("to"));
  uint64_t value = 0, chain_id = 1337, nonce = 0;
  if (!absl::SimpleAtoi(a.Get("value-wei", "0"), &value) ||
      !absl::SimpleAtoi(a.Get("chain-id", "1337"), &chain_id) ||
      !absl::SimpleAtoi(a.Get("nonce", "0"), &nonce)) {
    return absl::InvalidArgumentError(
        "--value-wei, --chain-id, --nonce: numbers");
  }
  KAGI_ASSIGN_OR_RETURN(Bytes tx, DemoEthTx(chain_id, nonce, to, value));
  std::cout << HexEncode(tx) << "\n";
  return absl::OkStatus();
}

// DemoPsbt: kagictl demo-psbt, a PSBT spending a made-up output of the key.
absl::Status DemoPsbtCommand(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(auto wallet, Wallet(a));
  KAGI_ASSIGN_OR_RETURN(std::string key_id, a.RequiredHex("key", 32));
  KAGI_ASSIGN_OR_RETURN(std::string to, a.Required("to"));
  KAGI_ASSIGN_OR_RETURN(std::string out, a.Required("out"));
  uint64_t amount = 0, fee = 1000;
  if (!absl::SimpleAtoi(a.Get("amount", "0"), &amount) || amount == 0 ||
      !absl::SimpleAtoi(a.Get("fee", "1000"), &fee)) {
    return absl::InvalidArgumentError("--amount SAT and --fee SAT: numbers");
  }
  KAGI_ASSIGN_OR_RETURN(v1::KeyInfo key, GetKey(*wallet, key_id));
  KAGI_ASSIGN_OR_RETURN(
      Bytes psbt, DemoPsbt(key, a.Get("network", "regtest"), to, amount, fee));
  KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
      out,
      absl::Base64Escape(absl::string_view(
          reinterpret_cast<const char*>(psbt.data()), psbt.size())),
      0644));
  std::cout << "PSBT written to " << out << ": " << amount << " sat to " << to
            << ", fee " << fee << ", change to m/1/0\n";
  return absl::OkStatus();
}

}  // namespace

absl::Status ApproveCommand(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(std::string name, a.Required("as"));
  KAGI_ASSIGN_OR_RETURN(std::string key_file, a.Required("approver-key"));
  KAGI_ASSIGN_OR_RETURN(v1::SignRequest req, BuildSignRequest(a));
  KAGI_ASSIGN_OR_RETURN(const auto digest, policy::SignRequestDigest(req));
  std::cout << "request    " << req.request_id() << " for key "
            << Hex(req.key_id()) << ", expires " << req.expiry_unix_seconds()
            << "\n"
            << DescribePayload(req.payload()) << "digest     "
            << HexEncode(digest) << "\n";
  KAGI_ASSIGN_OR_RETURN(v1::Approval approval, Approve(name, key_file, digest));
  const std::string line = ApprovalText(approval);
  if (a.Has("out")) {
    std::string existing;
    absl::StatusOr<std::string> old =
        transport::ReadFileToString(a.Get("out"), 1 << 20);
    if (old.ok()) existing = *old;
    KAGI_RETURN_IF_ERROR(transport::WriteFileAtomically(
        a.Get("out"), absl::StrCat(existing, line, "\n"), 0644));
    std::cout << "approved   by " << name << " (appended to " << a.Get("out")
              << ")\n";
  } else {
    std::cout << line << "\n";
  }
  return absl::OkStatus();
}

absl::Status SignCommand(const Args& a) {
  KAGI_ASSIGN_OR_RETURN(v1::SignRequest req, BuildSignRequest(a));
  KAGI_ASSIGN_OR_RETURN(const auto digest, policy::SignRequestDigest(req));
  if (a.Has("print-digest")) {
    std::cout << HexEncode(digest) << "\n";
    return absl::OkStatus();
  }
  KAGI_RETURN_IF_ERROR(AddApprovals(a, digest, req.mutable_approvals()));
  KAGI_ASSIGN_OR_RETURN(auto wallet, Wallet(a));
  v1::SignResponse resp;
  KAGI_RETURN_IF_ERROR(
      Rpc(wallet->Sign(Ctx(absl::Seconds(60)).get(), req, &resp)));
  std::cout << "request    " << req.request_id() << " signed by";
  for (const std::string& n : resp.signer_nodes()) std::cout << " " << n;
  std::cout << " (attempts: " << resp.attempts() << ")\n";
  KAGI_RETURN_IF_ERROR(PrintSignatures(resp));
  return WriteSigned(a, resp);
}

absl::Status RequestCommand(const Args& a) {
  if (a.words.size() != 3 || a.words[1] != "status") {
    return absl::InvalidArgumentError("request status ID");
  }
  KAGI_ASSIGN_OR_RETURN(auto wallet, Wallet(a));
  v1::GetRequestStatusRequest req;
  req.set_request_id(a.words[2]);
  if (a.Has("key")) {
    KAGI_ASSIGN_OR_RETURN(std::string key_id,
                          HexArg(a.Get("key"), 32, "--key"));
    req.set_key_id(key_id);
  }
  v1::RequestStatus st;
  KAGI_RETURN_IF_ERROR(
      Rpc(wallet->GetRequestStatus(Ctx(absl::Seconds(30)).get(), req, &st)));
  std::cout << "request " << st.request_id() << ": " << st.state();
  if (!st.outcome().empty()) std::cout << " (" << st.outcome() << ")";
  std::cout << "\n";
  for (const v1::SignatureResult& s : st.signatures()) {
    std::cout << "  " << Hex(s.digest()) << " -> " << Hex(s.signature())
              << "\n";
  }
  return absl::OkStatus();
}

absl::Status DemoCommand(const Args& a) {
  return a.words[0] == "demo-eth-tx" ? DemoEthTxCommand(a) : DemoPsbtCommand(a);
}

}  // namespace kagi::kagictl
