// `sb-route plan`: status records on stdin (ts-status watch, or one ts-status --json) → one
// complete plan record per new tailnet state, only when the plan changed, with a generation number.

#include <iostream>

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/route/default_config.hpp"
#include "libcommon/route/records.hpp"
#include "libcommon/route/router.hpp"

namespace tb::cmd::sb_route {

using tb::core::ExitCode;
using tb::core::Json;
using tb::core::to_int;
using namespace tb::route;

int run_plan(const CommonArgs& common, const PlanArgs& args) {
  std::optional<Loaded> loaded;
  if (common.configs.empty() && common.config_dirs.empty()) {
    auto def = default_config();
    loaded = Loaded{compile_config(def.merged), def.paths};
  } else {
    loaded = load_or_report(common, false);
  }
  if (!loaded) return to_int(ExitCode::kConfig);
  Router router(loaded->config);
  Json last;
  uint64_t generation = 0;
  std::string line;
  size_t n = 0;
  bool bad = false;
  while (std::getline(std::cin, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      tb::core::print_error_line("sb-route", "stdin line " + std::to_string(n) + ": not a JSON object; skipped");
      bad = true;
      continue;
    }
    if (!j.contains("type") || j["type"] != "status") continue;  // other record types are not ours
    auto t = tailnet_from_status(j);
    if (!t) {
      tb::core::print_error_line("sb-route", "stdin line " + std::to_string(n) + ": " + t.error().message);
      bad = true;
      continue;
    }
    router = router.with_tailnet(std::move(*t));
    Json plan = plan_to_json(router, loaded->paths);
    // The TUN flag decides how sb-relay dials the endpoint, so it is part of what "changed" means.
    plan["tun"] = j.contains("tun") && j["tun"].is_boolean() && j["tun"].get<bool>();
    if (plan == last) continue;
    last = plan;
    plan["generation"] = ++generation;
    plan["source"] = loaded->config->source;
    plan["status"] = j;
    tb::core::write_stdout(args.pretty ? plan.dump(2) + "\n" : tb::core::dump_line(plan) + "\n");
  }
  return to_int(bad ? ExitCode::kDataErr : ExitCode::kOk);
}

}  // namespace tb::cmd::sb_route
