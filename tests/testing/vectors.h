// File: tests/testing/vectors.h
//
// Test-only helpers for the public test vectors in tests/vectors/. JSON is
// parsed with protobuf's JSON support into google.protobuf.Value, which
// avoids a JSON library dependency. Never linked into a binary.
#ifndef KAGI_TESTS_TESTING_VECTORS_H_
#define KAGI_TESTS_TESTING_VECTORS_H_

#include <google/protobuf/struct.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/base/bytes.h"

namespace kagi::testing {

// HexOrDie decodes hex that a test itself wrote; aborts on bad input.
kagi::Bytes HexOrDie(absl::string_view hex);

// VectorPath returns the absolute path of tests/vectors/<name>.
std::string VectorPath(const std::string& name);

// ReadFile returns the whole file or NotFound.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// LoadJsonVector parses tests/vectors/<name> as JSON.
absl::StatusOr<google::protobuf::Value> LoadJsonVector(const std::string& name);

// Field access that fails the enclosing test loudly instead of returning a
// default: GetString(v, "key") is the string at v["key"].
const google::protobuf::Value& GetField(const google::protobuf::Value& v,
                                        const std::string& key);
std::string GetString(const google::protobuf::Value& v, const std::string& key);
double GetNumber(const google::protobuf::Value& v, const std::string& key);

}  // namespace kagi::testing

#endif  // KAGI_TESTS_TESTING_VECTORS_H_
