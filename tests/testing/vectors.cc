#include "tests/testing/vectors.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <sstream>

#include "libs/base/check.h"

#ifndef KAGI_TEST_VECTORS_DIR
#error "KAGI_TEST_VECTORS_DIR must be defined by the build"
#endif

namespace kagi::testing {

kagi::Bytes HexOrDie(absl::string_view hex) {
  absl::StatusOr<kagi::Bytes> b = kagi::HexDecode(hex);
  KAGI_CHECK(b.ok());
  return *std::move(b);
}

std::string VectorPath(const std::string& name) {
  return std::string(KAGI_TEST_VECTORS_DIR) + "/" + name;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError("cannot open " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<google::protobuf::Value> LoadJsonVector(
    const std::string& name) {
  absl::StatusOr<std::string> text = ReadFile(VectorPath(name));
  if (!text.ok()) {
    return text.status();
  }
  google::protobuf::Value value;
  auto status = google::protobuf::util::JsonStringToMessage(*text, &value);
  if (!status.ok()) {
    return absl::InvalidArgumentError("bad JSON in " + name + ": " +
                                      std::string(status.message()));
  }
  return value;
}

const google::protobuf::Value& GetField(const google::protobuf::Value& v,
                                        const std::string& key) {
  KAGI_CHECK(v.has_struct_value());
  const auto& fields = v.struct_value().fields();
  auto it = fields.find(key);
  KAGI_CHECK(it != fields.end());
  return it->second;
}

std::string GetString(const google::protobuf::Value& v,
                      const std::string& key) {
  const google::protobuf::Value& f = GetField(v, key);
  KAGI_CHECK(f.has_string_value());
  return f.string_value();
}

double GetNumber(const google::protobuf::Value& v, const std::string& key) {
  const google::protobuf::Value& f = GetField(v, key);
  KAGI_CHECK(f.kind_case() == google::protobuf::Value::kNumberValue);
  return f.number_value();
}

}  // namespace kagi::testing
