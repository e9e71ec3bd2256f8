// ts-status: tailscaled's state for people, scripts and cron.
// Flags → *Args structs → run_*; one guard for exceptions. Exit codes: man/tailbox.7.

#include <cstring>
#include <iostream>

#include "cmd/ts-status/commands.hpp"
#include "cmd/ts-status/probe_commands.hpp"
#include "libcommon/core/cli.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/tool.hpp"

namespace {

using tb::core::ExitCode;
using tb::core::to_int;

constexpr const char* kDescription =
    "ts-status: tailscaled's state for people, scripts and cron.\n"
    "Talks to a running tailscaled over its Local API; never changes anything.";

constexpr const char* kFooter = R"(Examples:
  ts-status                                 table of this node and its peers
  ts-status --json | jq '.peers[] | select(.online) | .name'
  ts-status check --warn-expiry 14d --require-peer nas     monitoring plugin (0/1/2/3)
  ts-status watch | sb-route plan -c config.json | sb-relay
  ts-status wait --for running --timeout 60s && systemctl start myservice
  ts-status wait --for peer-online:nas --for dns:nas --timeout 2m
  ts-status --format prometheus --output /var/lib/prometheus/node-exporter/tailscale.prom

Exit status: 0 running, 1 not running (logged out, stopped, …), 2 usage, 65 no such peer (ping),
69 tailscaled unreachable, 74 --output not written, 75 timeout, 76 protocol error, 77 access
denied, 130 interrupted, 141 closed pipe.
`check` exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See ts-status(1) and tailbox(7).)";

bool argv_has_check(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "check") == 0) return true;
  }
  return false;
}

// The default command's output flags: --json, --raw and --format each name a format.
struct FormatFlags {
  bool json = false, raw = false;
  std::string format;
};

void add_status_flags(CLI::App& app, tb::cmd::StatusArgs& status, FormatFlags& f) {
  app.add_flag("--json", f.json, "Print one v1 status record (JSON) instead of the table");
  app.add_flag("--raw", f.raw, "Print the daemon's status document unchanged");
  app.add_option("--format", f.format, "Output format: text, json, raw, prometheus")
      ->check(CLI::IsMember({"text", "json", "raw", "prometheus", "prom"}));
  app.add_option("--output", status.output, "With --format prometheus: write this file atomically")
      ->type_name("FILE");
  app.add_flag("--peers,!--no-peers", status.peers, "Include peers (--peers=false: only this node)");
  app.add_flag("--self,!--no-self", status.self, "Show this node's row in the table (--self=false hides it)");
  app.add_flag("--active", status.active, "Only peers with traffic in the last ~2 minutes");
  app.add_flag("--probe", status.probe, "With --format prometheus: ping each online peer once (latency per peer)");
  tb::core::add_duration_option(&app, "--probe-budget", status.probe_budget,
                                "With --probe: time for all pings together (default 10s)");
}

CLI::App* add_check_command(CLI::App& app, tb::cmd::CheckArgs& check) {
  auto* cmd = app.add_subcommand("check", "Monitoring plugin: one line with perfdata, exit 0/1/2/3");
  cmd->fallthrough();
  tb::core::add_duration_option(cmd, "--warn-expiry", check.warn_expiry, "WARNING when the node key expires within this (default 14d)");
  tb::core::add_duration_option(cmd, "--crit-expiry", check.crit_expiry, "CRITICAL when the node key expires within this (default 3d)");
  cmd->add_option("--require-peer", check.require_peers, "CRITICAL unless this peer (name, FQDN or IP) is online; repeatable")
      ->type_name("NAME");
  cmd->add_flag("--require-direct", check.require_direct,
                "WARNING when a required peer (or, without --require-peer, any active peer) is relayed");
  cmd->add_flag("--warn-health", check.warn_health,
                "WARNING on health messages that do not impact connectivity (those that do are CRITICAL)");
  cmd->add_flag("--require-exit-node-online", check.require_exit_node_online,
                "CRITICAL unless an exit node is in use and online");
  cmd->add_option("--max-relayed", check.max_relayed, "WARNING when more than N peers are relayed (DERP or peer relay)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-q,--quiet", check.quiet, "Print nothing; only the exit status");
  return cmd;
}

CLI::App* add_watch_command(CLI::App& app, tb::cmd::WatchArgs& watch) {
  auto* cmd = app.add_subcommand("watch", "Stream status records and events as JSON lines; never exits on its own");
  cmd->fallthrough();
  tb::core::add_duration_option(cmd, "--interval", watch.interval, "Re-read the status at least this often (default 10s)");
  tb::core::add_duration_option(cmd, "--expiry-warn", watch.expiry_warn, "Emit key_expiring when the key expires within this (default 7d)");
  cmd->add_flag("--events,!--no-events", watch.events, "Print event records (--events=false: status records only)");
  return cmd;
}

CLI::App* add_wait_command(CLI::App& app, tb::cmd::WaitArgs& wait) {
  auto* cmd = app.add_subcommand("wait", "Block until every condition holds; exit 75 on timeout");
  cmd->fallthrough();
  cmd->add_option("--for", wait.conditions,
                  "running, ip, peer-online:NAME (peer:NAME), direct:NAME, exit-node-online or dns:NAME; repeatable")
      ->type_name("CONDITION")
      ->required();
  tb::core::add_duration_option(cmd, "--timeout", wait.timeout, "Give up after this long (default 60s)");
  cmd->add_flag("-q,--quiet", wait.quiet, "Print nothing on success");
  return cmd;
}

// The format flags into status.format; false (said on stderr) when they disagree.
bool resolve_format(const FormatFlags& f, tb::cmd::StatusArgs& status) {
  using Format = tb::cmd::StatusArgs::Format;
  int formats = (f.json ? 1 : 0) + (f.raw ? 1 : 0) + (f.format.empty() ? 0 : 1);
  if (formats > 1) {
    tb::core::print_error_line("ts-status", "choose one of --json, --raw and --format");
    return false;
  }
  if (f.json || f.format == "json") status.format = Format::kJson;
  if (f.raw || f.format == "raw") status.format = Format::kRaw;
  if (f.format == "prometheus" || f.format == "prom") status.format = Format::kPrometheus;
  if (status.probe && status.format != Format::kPrometheus) {
    tb::core::print_error_line("ts-status", "--probe is only for --format prometheus (exit-nodes has its own)");
    return false;
  }
  if (!status.output.empty() && status.format != Format::kPrometheus) {
    tb::core::print_error_line("ts-status", "--output is only for --format prometheus");
    return false;
  }
  return true;
}

int real_main(int argc, char** argv) {
  tb::core::init_process("ts-status");
  CLI::App app{kDescription, "ts-status"};
  tb::core::add_footer_and_version(app, kFooter, "-V,--version", "ts-status (tailbox)");
  app.require_subcommand(0, 1);

  // Options shared by every subcommand (fallthrough lets them follow the subcommand too).
  tb::cmd::CommonArgs common;
  tb::core::add_local_api_options(&app, common.socket, common.timeout);
  std::string color = "auto";
  app.add_option("--color", color, "Colour in text output: auto, never, always (NO_COLOR is honoured)")
      ->check(CLI::IsMember({"auto", "never", "always"}));
  tb::core::add_log_level_option(&app);

  tb::cmd::StatusArgs status;  // the default command
  FormatFlags format;
  add_status_flags(app, status, format);
  tb::cmd::CheckArgs check;
  auto* check_cmd = add_check_command(app, check);
  tb::cmd::WatchArgs watch;
  auto* watch_cmd = add_watch_command(app, watch);
  tb::cmd::WaitArgs wait;
  auto* wait_cmd = add_wait_command(app, wait);
  tb::cmd::PingArgs ping;
  auto* ping_cmd = tb::cmd::add_ping_command(app, ping);
  tb::cmd::ExitNodesArgs exit_nodes;
  auto* exit_nodes_cmd = tb::cmd::add_exit_nodes_command(app, exit_nodes);

  int usage = argv_has_check(argc, argv) ? to_int(tb::core::CheckStatus::kUnknown) : to_int(ExitCode::kUsage);
  if (auto rc = tb::core::parse_command_line(app, argc, argv, usage)) return *rc;
  common.color = color == "never" ? tb::core::ColorMode::kNever
                 : color == "always" ? tb::core::ColorMode::kAlways : tb::core::ColorMode::kAuto;
  if (*check_cmd) return tb::cmd::run_check(common, check);
  if (*watch_cmd) return tb::cmd::run_watch(common, watch);
  if (*wait_cmd) return tb::cmd::run_wait(common, wait);
  if (*ping_cmd) return tb::cmd::run_ping(common, ping);
  if (*exit_nodes_cmd) return tb::cmd::run_exit_nodes(common, exit_nodes);
  if (!resolve_format(format, status)) return to_int(ExitCode::kUsage);
  return tb::cmd::run_status(common, status);
}

}  // namespace

int main(int argc, char** argv) {
  return tb::core::run_guarded("ts-status", [&] { return real_main(argc, argv); });
}
