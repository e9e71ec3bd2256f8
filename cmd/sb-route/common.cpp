#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/json_lines.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/strings.hpp"
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
    tb::core::lower_in_place(name);
    out.add(name, addrs);
  }
  return true;
}

bool read_json_lines(std::istream& in, const std::function<tb::core::Result<void>(const tb::core::Json&)>& on_record) {
  bool bad = false;
  auto report = [&bad](size_t n, const std::string& problem) {
    tb::core::print_error_line("sb-route", "stdin line " + std::to_string(n) + ": " + problem);
    bad = true;
  };
  tb::core::JsonLinesReader reader(
      in, [&](size_t n, const tb::core::Error& e) { report(n, e.message + "; skipped"); },
      tb::core::InterruptPolicy::kExitWhileWaiting);
  while (auto line = reader.next()) {
    if (auto r = on_record(line->value); !r) report(line->number, r.error().message);
  }
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
  tb::core::JsonLinesReader reader(*in, tb::core::skip_bad_line);
  while (auto line = reader.next()) {
    if (auto t = tb::route::tailnet_from_status(line->value)) last = std::move(*t);
  }
  if (!last) tb::core::print_error_line("sb-route", "no status record in " + path);
  return last;
}

std::unique_ptr<Routing> make_router(const Loaded& loaded, const std::vector<std::string>& dns,
                                     const std::string& status_file, bool find_process, int* exit_code) {
  auto r = std::make_unique<Routing>(loaded.config);
  if (!parse_dns_args(dns, r->dns)) {
    *exit_code = tb::core::to_int(tb::core::ExitCode::kUsage);
    return nullptr;
  }
  if (!status_file.empty()) {
    auto t = read_status_file(status_file);
    if (!t) {
      *exit_code = tb::core::to_int(tb::core::ExitCode::kDataErr);
      return nullptr;
    }
    r->router = r->router.with_tailnet(std::move(*t));
  }
  r->router.set_resolver(&r->dns);
  if (find_process) r->router.set_process_searcher(&r->owners);
  return r;
}

}  // namespace tb::cmd::sb_route
