# libs/chain/ethereum.cmake: Keccak-256, RLP, Ethereum transactions and
# EIP-55 addresses (included from libs/chain/CMakeLists.txt).
kagi_cc_library(
  NAME ethereum
  STRICT
  SRCS keccak.cc rlp.cc ethereum.cc
  HDRS keccak.h rlp.h ethereum.h
  DEPS kagi::chain::chain kagi::crypto::crypto kagi::base::base absl::status
       absl::statusor absl::strings absl::span
)

kagi_cc_test(
  NAME keccak_test
  SRCS keccak_test.cc
  DEPS kagi::chain::ethereum OpenSSL::Crypto
)

kagi_cc_test(
  NAME rlp_test
  SRCS rlp_test.cc
  DEPS kagi::chain::ethereum
)

kagi_cc_test(
  NAME ethereum_test
  SRCS ethereum_test.cc
  DEPS kagi::chain::ethereum kagi::crypto::crypto
)
