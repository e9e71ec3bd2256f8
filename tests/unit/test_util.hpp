#pragma once
// Helpers shared by the unit tests.
#include <string>

namespace tb::test {

// Absolute path of a file under tests/fixtures.
std::string fixture_path(const std::string& rel);
// Whole file as a string; fails the test (ADD_FAILURE) and returns "" when unreadable.
std::string read_fixture(const std::string& rel);

}  // namespace tb::test
