#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/route/router.hpp"

namespace tb::cmd::sb_route {

using tb::route::Severity;

tb::route::ConfigSources sources(const CommonArgs& common) { return {common.configs, common.config_dirs}; }

void print_diagnostic(const tb::route::Diagnostic& d) {
  std::string line = (d.severity == Severity::kError ? "error: " : "warning: ") + d.line();
  if (d.kind == "unsupported" || d.kind == "trap" || d.kind == "deprecated") line += " [" + d.kind + "]";
  tb::core::print_error_line("sb-route", line);
}

std::optional<Loaded> load_or_report(const CommonArgs& common, bool quiet_warnings) {
  auto loaded = tb::route::load_config(sources(common));
  if (!loaded) {
    tb::core::print_error_line("sb-route", loaded.error().line());
    return std::nullopt;
  }
  tb::route::CompileOptions opts;
  auto config = tb::route::compile_config(loaded->merged, opts);
  bool ok = config->ok();
  for (const auto& d : config->diagnostics)
    if (d.severity == Severity::kError || !quiet_warnings) print_diagnostic(d);
  if (!ok) return std::nullopt;
  return Loaded{config, loaded->paths};
}

bool parse_dns_args(const std::vector<std::string>& in, tb::route::StaticResolver& out) {
  for (const auto& entry : in) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      tb::core::print_error_line("sb-route", "--dns " + entry + ": expected NAME=IP[,IP…]");
      return false;
    }
    std::vector<tb::route::IpAddr> addrs;
    std::string rest = entry.substr(eq + 1);
    size_t start = 0;
    while (start <= rest.size()) {
      auto comma = rest.find(',', start);
      auto part = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      auto a = tb::route::IpAddr::parse(part);
      if (!a) {
        tb::core::print_error_line("sb-route", "--dns " + entry + ": \"" + part + "\" is not an IP address");
        return false;
      }
      addrs.push_back(*a);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    std::string name = entry.substr(0, eq);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.add(name, addrs);
  }
  return true;
}

namespace {
// Set while a record is being handled (its output may be half written): an interrupt then waits
// for the record to finish instead of exiting at once.
std::atomic<bool> g_handling{false};
}  // namespace

bool read_json_lines(std::istream& in, const std::function<tb::core::Result<void>(const tb::core::Json&)>& on_record) {
  // A read of stdin never observes the interrupt flag, so SIGINT/SIGTERM exit from the signal
  // thread, unless a record is being handled; then the loop stops right after it.
  int handle = tb::core::on_interrupt([] {
    if (!g_handling.load()) std::_Exit(tb::core::to_int(tb::core::ExitCode::kInterrupted));
  });
  std::string line;
  size_t n = 0;
  bool bad = false;
  while (!tb::core::interrupted() && std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    g_handling = true;
    tb::core::Json j = tb::core::parse_or_discarded(line);
    std::string problem;
    if (j.is_discarded() || !j.is_object()) {
      problem = tb::core::nests_deeper_than(line)
                    ? "nested deeper than " + std::to_string(tb::core::kMaxJsonDepth) + " levels; skipped"
                    : "not a JSON object; skipped";
    } else if (auto r = on_record(j); !r) {
      problem = r.error().message;
    }
    g_handling = false;
    if (problem.empty()) continue;
    tb::core::print_error_line("sb-route", "stdin line " + std::to_string(n) + ": " + problem);
    bad = true;
  }
  tb::core::remove_on_interrupt(handle);
  return !bad;
}

std::optional<tb::route::TailnetState> read_status_file(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) {
      tb::core::print_error_line("sb-route", "read status at " + path + ": " + std::strerror(errno));
      return std::nullopt;
    }
    in = &file;
  }
  std::optional<tb::route::TailnetState> last;
  std::string line;
  while (std::getline(*in, line)) {
    auto j = tb::core::parse_or_discarded(line);
    if (j.is_discarded() || !j.is_object()) continue;
    if (auto t = tb::route::tailnet_from_status(j)) last = std::move(*t);
  }
  if (!last) tb::core::print_error_line("sb-route", "no status record in " + path);
  return last;
}

}  // namespace tb::cmd::sb_route
