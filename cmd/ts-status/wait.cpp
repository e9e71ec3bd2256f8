// `ts-status wait --for running|ip|peer:NAME`: block until the condition holds (exit 0) or the
// timeout passes (exit 75). Follows the IPN bus, so it returns the moment the state changes.
// An unreachable daemon is not fatal here: `tailscaled & ts-status wait --for running` works.

#include "cmd/ts-status/follower.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/time.hpp"

namespace tb::cmd {

using core::Json;

namespace {
bool holds(const std::string& cond, const Json& rec) {
  bool running = rec.value("state", "") == "running";
  if (cond == "running") return running;
  if (cond == "ip") return running && rec["self"].is_object() && !rec["self"]["ips"].empty();
  std::string want = cond.substr(5);  // peer:NAME
  if (!want.empty() && want.back() == '.') want.pop_back();
  for (const auto& p : rec["peers"]) {
    bool match = p.value("name", "") == want || p.value("dns_name", "") == want || p.value("host_name", "") == want;
    for (const auto& ip : p["ips"]) match = match || ip.get<std::string>() == want;
    if (match && p.value("online", false)) return true;
  }
  return false;
}
}  // namespace

int run_wait(const CommonArgs& common, const WaitArgs& args) {
  if (args.condition != "running" && args.condition != "ip" &&
      (args.condition.rfind("peer:", 0) != 0 || args.condition.size() == 5)) {
    core::print_error_line("ts-status", "--for must be running, ip or peer:NAME");
    return core::to_int(core::ExitCode::kUsage);
  }
  auto deadline = std::chrono::steady_clock::now() + args.timeout;
  StatusFollower follower(common, std::chrono::seconds(5));
  std::string last_state = "unknown";
  for (;;) {
    auto u = follower.next(deadline);
    if (u.interrupted) return core::to_int(core::ExitCode::kInterrupted);
    if (!u.timed_out) {
      last_state = u.record.value("state", "unknown");
      if (holds(args.condition, u.record)) {
        if (!args.quiet) core::print_error_line("ts-status", args.condition + ": ok");
        return 0;
      }
    }
    if (u.timed_out || std::chrono::steady_clock::now() >= deadline) {
      return report(core::Error{core::ExitCode::kTimeout,
                                "timed out after " + core::format_duration(args.timeout.count() / 1000) +
                                    " waiting for " + args.condition + " (state: " + last_state + ")",
                                {}});
    }
  }
}

}  // namespace tb::cmd
