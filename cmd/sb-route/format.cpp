// `sb-route format [-w]`: each config rewritten canonically, as `sing-box format` does.

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/atomic_file.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/route/format.hpp"

#include <fstream>
#include <sstream>

namespace tb::cmd::sb_route {

using tb::core::ExitCode;
using tb::core::to_int;

int run_format(const CommonArgs& common, const FormatArgs& args) {
  std::vector<std::string> files = common.configs;
  auto loaded = tb::route::load_config({{}, common.config_dirs});
  if (!common.config_dirs.empty()) {
    if (!loaded) {
      tb::core::print_error_line("sb-route", loaded.error().line());
      return to_int(ExitCode::kConfig);
    }
    files.insert(files.end(), loaded->paths.begin(), loaded->paths.end());
  }
  if (files.empty()) files.push_back("config.json");
  int rc = 0;
  for (const auto& f : files) {
    auto one = tb::route::load_config({{f}, {}});
    if (!one) {
      tb::core::print_error_line("sb-route", one.error().line());
      rc = to_int(ExitCode::kConfig);
      continue;
    }
    auto config = tb::route::compile_config(one->merged);
    bool decode_error = false;
    for (const auto& d : config->diagnostics) {
      if (d.severity == tb::route::Severity::kError && d.kind == "parse") {
        tb::core::print_error_line("sb-route", f + ": " + d.line());
        decode_error = true;
      }
    }
    if (decode_error) {
      rc = to_int(ExitCode::kConfig);
      continue;
    }
    std::string text = tb::route::format_config_text(one->merged);
    if (args.write) {
      std::ifstream in(f, std::ios::binary);
      std::ostringstream old;
      old << in.rdbuf();
      if (old.str() == text) continue;
      auto w = tb::core::write_file_atomic(f, text);
      if (!w) {
        tb::core::print_error_line("sb-route", w.error().line());
        rc = to_int(ExitCode::kIoErr);
        continue;
      }
      tb::core::print_error_line("sb-route", f);
      continue;
    }
    if (files.size() > 1) tb::core::write_stdout(f + "\n");
    tb::core::write_stdout(text);
  }
  return rc;
}

}  // namespace tb::cmd::sb_route
