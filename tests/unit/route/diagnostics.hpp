#pragma once
// The route tests' view of a compiled config's findings: one "path: message" line per diagnostic
// of a severity, in the order they were found, with the kind in brackets when asked.

#include <string>

#include "libcommon/route/config.hpp"

namespace tb::route {

inline std::string diagnostic_lines(const RouteConfig& c, Severity s, bool with_kind = false) {
  std::string out;
  for (const auto& d : c.diagnostics)
    if (d.severity == s) out += d.path + ": " + d.message + (with_kind ? " [" + d.kind + "]" : "") + "\n";
  return out;
}

}  // namespace tb::route
