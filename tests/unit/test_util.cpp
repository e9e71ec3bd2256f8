#include "tests/unit/test_util.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace tb::test {

std::string fixture_path(const std::string& rel) { return std::string(TB_FIXTURES) + "/" + rel; }

std::string read_fixture(const std::string& rel) {
  std::ifstream in(fixture_path(rel), std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read fixture " << rel;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tb::test
