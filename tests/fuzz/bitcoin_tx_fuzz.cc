// Fuzz target: Bitcoin transactions (libs/chain/bitcoin_tx.h) as a node
// reads them out of a PSBT: whole transactions in either serialization,
// transaction outputs and witness stacks. Selector byte: 0 transaction (any
// form), 1 legacy-only transaction, 2 TxOut, 3 witness stack.
// A decoded value must re-encode to exactly the input (the decoders are
// strict: minimal compact sizes, no trailing bytes).
#include "libs/chain/bitcoin_tx.h"
#include "tests/fuzz/fuzz_util.h"

namespace kagi::fuzz {
namespace {

void DecodeTx(ByteSpan in, chain::TxFormat format) {
  absl::StatusOr<chain::Transaction> tx = chain::DecodeTransaction(in, format);
  ExpectOkOrInputError(tx.status(), "DecodeTransaction");
  if (!tx.ok()) return;
  KAGI_CHECK(chain::EncodeTransaction(*tx) == Bytes(in.begin(), in.end()));
  (void)chain::Txid(*tx);
}

}  // namespace
}  // namespace kagi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  fuzz::FuzzInput in(data, size);
  switch (in.Select(4)) {
    case 0:
      fuzz::DecodeTx(in.rest(), chain::TxFormat::kAny);
      break;
    case 1:
      fuzz::DecodeTx(in.rest(), chain::TxFormat::kLegacyOnly);
      break;
    case 2: {
      absl::StatusOr<chain::TxOut> out = chain::DecodeTxOut(in.rest());
      fuzz::ExpectOkOrInputError(out.status(), "DecodeTxOut");
      if (out.ok()) {
        KAGI_CHECK(chain::EncodeTxOut(*out) ==
                   Bytes(in.rest().begin(), in.rest().end()));
      }
      break;
    }
    default: {
      absl::StatusOr<std::vector<Bytes>> w =
          chain::DecodeWitnessStack(in.rest());
      fuzz::ExpectOkOrInputError(w.status(), "DecodeWitnessStack");
      if (w.ok()) {
        KAGI_CHECK(chain::EncodeWitnessStack(*w) ==
                   Bytes(in.rest().begin(), in.rest().end()));
      }
      break;
    }
  }
  return 0;
}
