// `sb-route plan`: status records on stdin (ts-status watch, or one ts-status --json) → one
// complete plan record per new tailnet state, only when the plan changed, with a generation number.

#include <iostream>
#include <optional>

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
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
  std::optional<bool> tailnet_up;  // said on stderr once per change, never per record
  uint64_t generation = 0;
  bool ok = read_json_lines(std::cin, [&](const Json& j) -> tb::core::Result<void> {
    if (!j.contains("type") || j["type"] != "status") return {};  // other record types are not ours
    auto t = tailnet_from_status(j);
    if (!t) return tl::unexpected(t.error());
    std::string state = j.contains("state") && j["state"].is_string() ? j["state"].get<std::string>() : "";
    bool up = state == "running";
    if (!up && tailnet_up.value_or(true)) {
      std::string why = j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "tailscaled is " + state;
      tb::core::print_error_line("sb-route", "the tailnet is unavailable (" + why +
                                                 "); its routes are empty until tailscaled is running, everything else is routed as usual");
    } else if (up && tailnet_up == false) {
      tb::core::print_error_line("sb-route", "the tailnet is available again: its routes are back");
    }
    tailnet_up = up;
    const bool tun = t->tun;
    router = router.with_tailnet(std::move(*t));
    Json plan = plan_to_json(router, loaded->paths);
    // The TUN flag decides how sb-relay dials the endpoint, so it is part of what "changed" means.
    plan["tun"] = tun;
    if (plan == last) return {};
    last = plan;
    plan["generation"] = ++generation;
    plan["source"] = loaded->config->source;
    plan["status"] = j;
    tb::core::write_stdout(args.pretty ? plan.dump(2) + "\n" : tb::core::dump_line(plan) + "\n");
    return {};
  });
  if (tb::core::interrupted()) return to_int(ExitCode::kInterrupted);
  return to_int(ok ? ExitCode::kOk : ExitCode::kDataErr);
}

}  // namespace tb::cmd::sb_route
