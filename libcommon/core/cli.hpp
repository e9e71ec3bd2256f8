#pragma once
// CLI11 helpers shared by the tools' main.cpp files (the only places that include CLI11: it costs
// seconds per translation unit).

#include <CLI/CLI.hpp>
#include <chrono>
#include <string>

#include "libcommon/core/time.hpp"

namespace tb::core {

// A duration option ("500ms", "30s", "2m", "7d"); a bad value is a CLI11 validation error (exit 2,
// or UNKNOWN for check subcommands).
inline CLI::Option* add_duration_option(CLI::App* app, const std::string& name, std::chrono::milliseconds& out,
                                        const std::string& desc) {
  return app
      ->add_option_function<std::string>(
          name,
          [&out, name](const std::string& v) {
            auto d = parse_duration(v);
            if (!d) throw CLI::ValidationError(name, d.error().line());
            out = *d;
          },
          desc)
      ->type_name("DURATION");
}

}  // namespace tb::core
