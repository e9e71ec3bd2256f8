#pragma once
// What every tool's main() shares without CLI11 (see cli.hpp for the flags): the one guard for
// exceptions.

#include <functional>
#include <string_view>

namespace tb::core {

// Runs body and returns its exit code. An exception that escapes it is a bug: one line
// "TOOL: internal error: …" on stderr and exit 70. The only try of a tool is here.
int run_guarded(std::string_view tool, const std::function<int()>& body);

}  // namespace tb::core
