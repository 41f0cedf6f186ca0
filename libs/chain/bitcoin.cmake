# libs/chain/bitcoin.cmake: Bitcoin transactions, BIP143/legacy sighashes,
# BIP174 PSBT v0 and scriptPubKey addresses (included by CMakeLists.txt).
kagi_cc_library(
  NAME bitcoin
  STRICT
  SRCS bitcoin_tx.cc sighash.cc psbt.cc script.cc
  HDRS bitcoin_tx.h sighash.h psbt.h script.h
  DEPS kagi::chain::chain kagi::crypto::crypto kagi::base::base absl::status
       absl::statusor absl::strings absl::str_format absl::span absl::optional
)

kagi_cc_test(
  NAME bitcoin_tx_test
  SRCS bitcoin_tx_test.cc
  DEPS kagi::chain::bitcoin kagi::tests::testing::testing
)

kagi_cc_test(
  NAME sighash_test
  SRCS sighash_test.cc
  DEPS kagi::chain::bitcoin kagi::crypto::crypto kagi::tests::testing::testing
)

kagi_cc_test(
  NAME psbt_test
  SRCS psbt_test.cc
  DEPS kagi::chain::bitcoin kagi::tests::testing::testing
)

kagi_cc_test(
  NAME script_test
  SRCS script_test.cc
  DEPS kagi::chain::bitcoin kagi::crypto::crypto kagi::tests::testing::testing
)

# Verified PSBT analysis and signature insertion for one wallet key.
kagi_cc_library(
  NAME psbt_signer
  STRICT
  SRCS psbt_signer.cc
  HDRS psbt_signer.h
  DEPS kagi::chain::bitcoin kagi::chain::chain kagi::crypto::crypto
       kagi::base::base absl::status absl::statusor absl::strings
       absl::optional
)

kagi_cc_test(
  NAME psbt_signer_test
  SRCS psbt_signer_test.cc
  DEPS kagi::chain::psbt_signer kagi::crypto::crypto
       kagi::tests::testing::testing
)
