// Fuzz target: PSBT decoding and wallet analysis (libs/chain/psbt.h,
// psbt_signer.h), what a node does with a BitcoinPsbtPayload. The input is
// the binary PSBT. It is decoded under the node's default request limits,
// re-encoded and decoded again (the encoding must be a fixed point), then
// analysed for the BIP32 test-vector-1 wallet (whose fingerprint the seeds
// carry) on every network, with its fee and spent outputs.
#include "libs/chain/psbt.h"
#include "libs/chain/psbt_signer.h"
#include "libs/crypto/bip32.h"
#include "tests/fuzz/fixtures.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  static const crypto::ExtendedPublicKey* root =
      new crypto::ExtendedPublicKey(fuzz::Bip32Vector1Root());
  chain::PsbtLimits limits;  // node.h RequestLimits' defaults
  limits.max_bytes = 4u << 20;
  limits.max_unsigned_tx_bytes = 100000;
  limits.max_inputs = 64;
  limits.max_outputs = 256;
  limits.max_prev_tx_bytes = 400000;
  absl::StatusOr<chain::Psbt> psbt =
      chain::DecodePsbt(ByteSpan(data, size), limits);
  fuzz::ExpectOkOrInputError(psbt.status(), "DecodePsbt");
  if (!psbt.ok()) return 0;
  const Bytes encoded = chain::EncodePsbt(*psbt);
  absl::StatusOr<chain::Psbt> again = chain::DecodePsbt(encoded);
  KAGI_CHECK(again.ok());
  KAGI_CHECK(chain::EncodePsbt(*again) == encoded);
  for (size_t i = 0; i < psbt->inputs.size(); ++i) {
    fuzz::ExpectOkOrInputError(chain::SpentOutput(*psbt, i).status(),
                               "SpentOutput");
  }
  fuzz::ExpectOkOrInputError(chain::Fee(*psbt).status(), "Fee");
  for (chain::Network network :
       {chain::Network::kMainnet, chain::Network::kTestnet,
        chain::Network::kRegtest}) {
    absl::StatusOr<chain::PsbtAnalysis> a =
        chain::AnalyzePsbt(*psbt, *root, network, chain::PsbtChangeRule{});
    fuzz::ExpectOkOrInputError(a.status(), "AnalyzePsbt");
    if (!a.ok()) continue;
    KAGI_CHECK(a->inputs.size() == psbt->inputs.size());
    KAGI_CHECK(a->outputs.size() == psbt->outputs.size());
    KAGI_CHECK(a->input_total == a->external_total + a->change_total + a->fee);
  }
  return 0;
}
