#pragma once
// Helpers shared by the unit tests.
#include <string>

namespace tb::test {

// Absolute path of a file under tests/fixtures.
std::string fixture_path(const std::string& rel);
// Whole file as a string; fails the test (ADD_FAILURE) and returns "" when unreadable.
std::string read_fixture(const std::string& rel);

// A fresh directory under the system's temporary directory ("" when it cannot be made), removed
// with all it holds at the end of the test, even where a test took its permissions away.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "tb-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tb::test
