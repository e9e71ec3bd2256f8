// sb-route: sing-box configs and routing with sing-box's semantics, aware of the live tailnet.
// Flags → *Args structs → run_*; one guard for exceptions. Exit codes: man/tailbox.7.

#include <CLI/CLI.hpp>
#include <iostream>

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/cli.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/tool.hpp"

namespace {

using tb::core::ExitCode;
using tb::core::to_int;
namespace sr = tb::cmd::sb_route;

constexpr const char* kDescription =
    "sb-route: sing-box configs and route rules, with sing-box 1.13's semantics, aware of the live tailnet.";

constexpr const char* kFooter = R"(Examples:
  sb-route check -c config.json
  sb-route explain -c config.json example.com:443
  echo '{"destination":"1.1.1.1:53","network":"udp"}' | sb-route decide -c config.json
  sb-route format -c config.json -w
  sb-route schema | jq -r 'select(.support == "refused") | .section + "." + .key'
  ts-status watch | sb-route plan -c config.json | sb-relay

Exit status: 0 ok, 2 usage, 65 bad input records, 78 bad configuration, 141 closed pipe.
See sb-route(1), sb-route.json(5) and tailbox(7).)";

CLI::App* add_explain_command(CLI::App& app, sr::ExplainArgs& explain) {
  auto* cmd = app.add_subcommand("explain", "Show how one connection is routed and why");
  cmd->add_option("destination", explain.destination, "Destination HOST:PORT ([IPv6]:PORT)")->required();
  cmd->add_option("--inbound", explain.inbound, "Inbound tag (default: the first inbound)");
  cmd->add_option("--network", explain.network, "tcp, udp or icmp (default tcp)");
  cmd->add_option("--source", explain.source, "Client address IP[:PORT]");
  cmd->add_option("--user", explain.user, "Authenticated inbound user (auth_user)");
  cmd->add_option("--sniff-protocol", explain.sniff_protocol, "What a sniff action would find: protocol");
  cmd->add_option("--sniff-domain", explain.sniff_domain, "What a sniff action would find: domain");
  cmd->add_option("--process-name", explain.process_name, "Socket owner's process name");
  cmd->add_option("--process-path", explain.process_path, "Socket owner's executable path");
  cmd->add_option("--process-user", explain.process_user, "Socket owner's user name");
  cmd->add_option("--process-uid", explain.process_uid, "Socket owner's user id");
  cmd->add_option("--dns", explain.dns, "Answer for the resolve action: NAME=IP[,IP] (repeatable)")->allow_extra_args(false);
  cmd->add_option("--status", explain.status_file, "File with ts-status records (\"-\" = stdin); the last one is the tailnet");
  cmd->add_flag("--json", explain.json, "One decision record on stdout");
  return cmd;
}

int real_main(int argc, char** argv) {
  tb::core::init_process("sb-route");
  CLI::App app{kDescription, "sb-route"};
  tb::core::add_footer_and_version(app, kFooter, "--version", "sb-route");
  app.require_subcommand(1);
  app.fallthrough();

  sr::CommonArgs common;
  app.add_option("-c,--config", common.configs, "Config file (repeatable; \"stdin\" reads standard input)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("-C,--config-directory", common.config_dirs,
                 "Add every *.json (and *.yaml, *.yml) file of DIR (repeatable)")
      ->type_name("DIR")
      ->allow_extra_args(false);

  sr::CheckArgs check;
  auto* check_cmd = app.add_subcommand("check", "Report every config error with its JSON path, then warnings; exit 0 or 78");
  check_cmd->add_flag("--json", check.json, "Diagnostics as JSON Lines records on stdout");
  check_cmd->add_flag("-q,--quiet", check.quiet, "Print nothing; only the exit status");

  sr::ExplainArgs explain;
  auto* explain_cmd = add_explain_command(app, explain);

  sr::DecideArgs decide;
  auto* decide_cmd = app.add_subcommand("decide", "JSON Lines requests on stdin, one decision record per request on stdout");
  decide_cmd->add_option("--dns", decide.dns, "Answer for the resolve action: NAME=IP[,IP] (repeatable)")->allow_extra_args(false);
  decide_cmd->add_option("--status", decide.status_file, "File with ts-status records; the last one is the tailnet");
  decide_cmd->add_flag("--find-process", decide.find_process, "Look up socket owners (netlink sock_diag, else /proc) for process rules");

  sr::FormatArgs format;
  auto* format_cmd = app.add_subcommand("format", "Rewrite configs canonically, as sing-box format does");
  format_cmd->add_flag("-w,--write", format.write, "Rewrite changed files in place and name them on stderr");

  sr::PlanArgs plan;
  auto* plan_cmd = app.add_subcommand("plan", "status records on stdin → a plan record for each new tailnet state");
  plan_cmd->add_flag("--pretty", plan.pretty, "Indent the records (not JSON Lines; for people)");

  auto* schema_cmd = app.add_subcommand(
      "schema", "Every sing-box key as a JSON Lines record: its section, value type and support in tailbox");

  if (auto rc = tb::core::parse_command_line(app, argc, argv)) return *rc;
  if (*check_cmd) return sr::run_check(common, check);
  if (*explain_cmd) return sr::run_explain(common, explain);
  if (*decide_cmd) return sr::run_decide(common, decide);
  if (*format_cmd) return sr::run_format(common, format);
  if (*plan_cmd) return sr::run_plan(common, plan);
  if (*schema_cmd) return sr::run_schema();
  return to_int(ExitCode::kUsage);
}

}  // namespace

int main(int argc, char** argv) {
  return tb::core::run_guarded("sb-route", [&] { return real_main(argc, argv); });
}
