// Fuzz target: Ethereum decoding (libs/chain/rlp.h, ethereum.h), what a node
// does with an EthereumTxPayload. Selector byte: 0 RLP (generic item, under
// the default limits), 1 unsigned transaction of any type (legacy EIP-155,
// EIP-2930, EIP-1559) and its ERC-20 call data, 2 ERC-20 call data alone,
// 3 an address string ("0x" and 40 hex digits, EIP-55).
// Canonical forms: a decoded RLP item or transaction re-encodes to exactly
// the input; an accepted address prints back as its EIP-55 form, which
// parses to the same address.
#include "libs/chain/ethereum.h"
#include "libs/chain/rlp.h"
#include "tests/fuzz/fuzz_util.h"

namespace kagi::fuzz {
namespace {

void Rlp(ByteSpan in) {
  absl::StatusOr<chain::RlpItem> item = chain::RlpDecode(in);
  ExpectOkOrInputError(item.status(), "RlpDecode");
  if (!item.ok()) return;
  KAGI_CHECK(chain::RlpEncode(*item) == Bytes(in.begin(), in.end()));
  if (!item->is_list) {
    ExpectOkOrInputError(chain::RlpToUint64(*item, "x").status(), "Uint64");
    ExpectOkOrInputError(chain::RlpToUint256(*item, "x").status(), "Uint256");
  }
}

void Erc20(ByteSpan in) {
  absl::StatusOr<chain::Erc20Call> call = chain::DecodeErc20Call(in);
  ExpectOkOrInputError(call.status(), "DecodeErc20Call");
  if (call.ok()) KAGI_CHECK(in.size() == 68);
}

void Transaction(ByteSpan in) {
  absl::StatusOr<chain::EthTransaction> tx = chain::DecodeEthTransaction(in);
  ExpectOkOrInputError(tx.status(), "DecodeEthTransaction");
  if (!tx.ok()) return;
  KAGI_CHECK(tx->chain_id != 0);
  KAGI_CHECK(chain::EncodeUnsignedTransaction(*tx) ==
             Bytes(in.begin(), in.end()));
  (void)chain::SigningHash(*tx);
  const std::array<uint8_t, 32> r{1}, s{2};
  (void)chain::EncodeSignedTransaction(*tx, 1, r, s);
  Erc20(tx->data);
}

void Address(absl::string_view text) {
  absl::StatusOr<chain::EthAddress> a = chain::ParseAddress(text);
  ExpectOkOrInputError(a.status(), "ParseAddress");
  if (!a.ok()) return;
  const std::string eip55 = chain::Eip55Checksum(*a);
  absl::StatusOr<chain::EthAddress> back = chain::ParseAddress(eip55);
  KAGI_CHECK(back.ok() && *back == *a);
}

}  // namespace
}  // namespace kagi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  fuzz::FuzzInput in(data, size);
  switch (in.Select(4)) {
    case 0:
      fuzz::Rlp(in.rest());
      break;
    case 1:
      fuzz::Transaction(in.rest());
      break;
    case 2:
      fuzz::Erc20(in.rest());
      break;
    default:
      fuzz::Address(in.text());
      break;
  }
  return 0;
}
