#pragma once
// CLI11 helpers shared by the tools' main.cpp files (the only places that include CLI11: it costs
// seconds per translation unit).

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/process.hpp"
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

// What every tool's --help ends with: the footer (examples, exit status) and the version flag, which
// prints "VERSION_TEXT VERSION".
inline void add_footer_and_version(CLI::App& app, const std::string& footer, const std::string& version_flag,
                                   const std::string& version_text) {
  app.footer(footer);
  app.set_version_flag(version_flag, version_text + " " + TB_VERSION);
}

// --socket PATH and --request-timeout DURATION: how ts-status and ts-auth reach tailscaled.
inline void add_local_api_options(CLI::App* app, std::string& socket, std::chrono::milliseconds& timeout) {
  app->add_option("--socket", socket, "Path of tailscaled's socket (default: $TS_SOCKET, then the platform's usual paths)")
      ->type_name("PATH");
  add_duration_option(app, "--request-timeout", timeout, "Time limit for each Local API request (default 5s)");
}

// --log-level LEVEL, applied as it is parsed (set_log_level). Without it the level stays warn, or
// what SPDLOG_LEVEL says (init_process).
inline CLI::Option* add_log_level_option(CLI::App* app,
                                         const std::string& desc = "Log level on stderr: trace, debug, info, warn, error, off") {
  return app->add_option_function<std::string>("--log-level", [](const std::string& v) { set_log_level(v); }, desc)
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

// app.parse with CLI11's own messages (help and version on stdout, errors on stderr). nullopt when
// the command line is good; else the exit code: 0 after --help/--version, usage_code otherwise.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                             int usage_code = to_int(ExitCode::kUsage)) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : usage_code;
  }
  return std::nullopt;
}

}  // namespace tb::core
