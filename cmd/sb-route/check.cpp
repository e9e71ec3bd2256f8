// `sb-route check`: every error with its JSON path, then the warnings (traps, deprecations);
// exit 0 or 78. Text goes to stderr like a compiler's; --json puts records on stdout.
// Like `sing-box check` (which builds the box without starting it), a reference sing-box resolves
// only at start (diagnostic kind "start") is a warning here; every other command refuses it at load.

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/output.hpp"

namespace tb::cmd::sb_route {

using tb::core::ExitCode;
using tb::core::Json;
using tb::core::to_int;
using tb::route::Severity;

constexpr const char* kStartSuffix =
    " (sing-box check accepts this; sing-box, sb-route plan/decide/explain and sb-relay refuse it at start)";

int run_check(const CommonArgs& common, const CheckArgs& args) {
  auto loaded = tb::route::load_config(sources(common));
  if (!loaded) {
    if (args.json) {
      Json r;
      r["v"] = 1;
      r["type"] = "diagnostic";
      r["severity"] = "error";
      r["path"] = "";
      r["message"] = loaded.error().message;
      r["kind"] = "parse";
      tb::core::emit_record(r);
    } else if (!args.quiet) {
      tb::core::print_error_line("sb-route", "error: " + loaded.error().line());
    }
    return to_int(ExitCode::kConfig);
  }
  auto config = tb::route::compile_config(loaded->merged);
  auto diagnostics = config->diagnostics;
  for (auto& d : diagnostics)
    if (d.severity == Severity::kError && d.kind == "start") d.severity = Severity::kWarning;
  // Errors first, then warnings, each in document order.
  std::vector<const tb::route::Diagnostic*> ordered;
  for (auto sev : {Severity::kError, Severity::kWarning})
    for (const auto& d : diagnostics)
      if (d.severity == sev) ordered.push_back(&d);
  size_t errors = 0, warnings = 0;
  for (const auto* d : ordered) {
    (d->severity == Severity::kError ? errors : warnings)++;
    if (args.json) {
      Json r;
      r["v"] = 1;
      r["type"] = "diagnostic";
      r["severity"] = d->severity == Severity::kError ? "error" : "warning";
      r["path"] = d->path;
      r["message"] = d->message;
      r["kind"] = d->kind;
      tb::core::emit_record(r);
    } else if (!args.quiet && d->kind == "start") {
      tb::route::Diagnostic shown = *d;
      shown.message += kStartSuffix;
      print_diagnostic(shown);
    } else if (!args.quiet) {
      print_diagnostic(*d);
    }
  }
  if (args.json) {
    Json r;
    r["v"] = 1;
    r["type"] = "check";
    r["ok"] = errors == 0;
    r["errors"] = errors;
    r["warnings"] = warnings;
    r["config"] = loaded->paths;
    r["rules"] = config->rules.size();
    r["final"] = config->final_outbound;
    tb::core::emit_record(r);
  }
  return to_int(errors ? ExitCode::kConfig : ExitCode::kOk);
}

}  // namespace tb::cmd::sb_route
