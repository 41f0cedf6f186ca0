// File: libs/transport/test_util.h
//
// TEST ONLY (libs/transport tests). A temporary directory that removes itself
// and small file helpers. Never linked into a binary.
#ifndef KAGI_LIBS_TRANSPORT_TEST_UTIL_H_
#define KAGI_LIBS_TRANSPORT_TEST_UTIL_H_

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace kagi::transport::testutil {

// TempDir makes a unique directory under $TEST_TMPDIR (or /tmp) and removes
// it, with everything in it, when destroyed.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp",
                                    "/kagi_transport_test.XXXXXX");
    const char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const { return path_; }
  // File returns the path of `name` inside the directory.
  std::string File(const std::string& name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

// WriteTestFile writes `data` to `path` and sets its mode to `mode`.
inline void WriteTestFile(const std::string& path, const std::string& data,
                          mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    out << data;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

// ReadTestFile returns the contents of `path` ("" if it cannot be read).
inline std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// FileMode returns the permission bits of `path` (or -1 if stat fails).
inline int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return -1;
  }
  return static_cast<int>(st.st_mode & 07777);
}

}  // namespace kagi::transport::testutil

#endif  // KAGI_LIBS_TRANSPORT_TEST_UTIL_H_
