# Configuration files of kagi-node and kagi-gateway (config.h); included from
# libs/transport/CMakeLists.txt.
kagi_cc_library(
  NAME config
  SRCS config.cc config_gateway.cc config_node.cc
  HDRS config.h config_internal.h
  DEPS kagi::proto::v1 kagi::base::base kagi::crypto::crypto
       protobuf::libprotobuf absl::status absl::statusor absl::strings
)

kagi_cc_test(
  NAME config_test
  SRCS config_test.cc
  DEPS kagi::transport::config
)
