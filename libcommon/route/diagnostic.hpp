#pragma once
// A finding about a config: where (JSON path, sing-box style: route.rules[3].port) and what.

#include <string>
#include <vector>

namespace tb::route {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string path;     // "" for the whole document
  std::string message;  // one line
  // parse | create | start (the sing-box stage that reports it), unsupported (tailbox's subset),
  // deprecated, trap (valid but probably not what was meant), ignored
  std::string kind;

  std::string line() const { return path.empty() ? message : path + ": " + message; }
};

using Diagnostics = std::vector<Diagnostic>;

inline bool has_errors(const Diagnostics& d) {
  for (const auto& x : d)
    if (x.severity == Severity::kError) return true;
  return false;
}

}  // namespace tb::route
