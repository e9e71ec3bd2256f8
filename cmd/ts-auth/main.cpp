// ts-auth: log a node in or out through a running tailscaled, without hanging or leaking the key.
// Flags → *Args structs → run_*; one guard for exceptions. Exit codes: man/tailbox.7.

#include <sys/prctl.h>
#include <sys/resource.h>

#include <iostream>

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/core/cli.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/tool.hpp"

namespace {

constexpr const char* kDescription =
    "ts-auth: log this node in (or out) through a running tailscaled.\n"
    "Headless with an auth key, or interactive with a login URL; never waits forever, never prints the key.";

constexpr const char* kFooter = R"(Examples:
  ts-auth up --auth-key-file /run/credentials/ts.key --hostname web1 --advertise-tags server
  TS_AUTHKEY=file:/etc/tailscale/key ts-auth up --json
  url=$(ts-auth up --no-wait --json | jq -r 'select(.type=="auth_url").url')
  ts-auth up -c /etc/sing-box/config.json --endpoint ts-ep
  ts-auth url          the login URL tailscaled is waiting on
  ts-auth set --exit-node auto:any      tailscaled picks the exit node and fails over
  ts-auth logout

Exit status: 0 up (or URL printed with --no-wait), 1 no URL pending (url), 2 usage, 65 key or
prefs rejected, 69 tailscaled unreachable, 75 timeout, 76 protocol error, 77 access denied,
78 bad config, 130 interrupted. See ts-auth(1) and tailbox(7).)";

// Tri-state boolean flags: --x, --x=true|false; unset leaves the daemon's value alone.
struct BoolFlags {
  struct Entry {
    CLI::Option* opt;
    bool* store;
    std::optional<bool>* out;
  };
  std::vector<Entry> entries;
  void add(CLI::App* app, const std::string& name, bool& store, std::optional<bool>& out, const std::string& desc) {
    entries.push_back({app->add_flag(name, store, desc), &store, &out});
  }
  void resolve() {
    for (auto& e : entries) {
      if (e.opt->count() > 0) *e.out = *e.store;
    }
  }
};

// Comma-separated and repeatable; empty parts dropped, so an empty value ("--advertise-routes=") clears.
std::vector<std::string> non_empty(const std::vector<std::string>& in) {
  std::vector<std::string> v;
  for (const auto& item : in) {
    size_t start = 0;
    for (;;) {
      size_t comma = item.find(',', start);
      std::string part = item.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) v.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return v;
}

// `up`'s flags: where CLI11 stores them, and which were given, until they go into UpArgs.
struct UpFlags {
  CLI::Option *key = nullptr, *host = nullptr, *control = nullptr, *exit = nullptr, *routes = nullptr, *tags = nullptr;
  std::string hostname, control_url, exit_node;
  bool accept_routes = false, lan = false, adv_exit = false;
  BoolFlags bools;
  std::vector<std::string> route_list, tag_list;

  CLI::App* add(CLI::App& app, tb::cmd::UpArgs& up) {
    auto* cmd = app.add_subcommand("up", "Log in and bring the node up; wait until Running (or --no-wait)");
    cmd->fallthrough();
    key = cmd->add_option("--auth-key", up.auth_key_arg,
                          "Auth key: '-' reads it from stdin, 'file:PATH' from a file; a literal key is "
                          "visible in ps (a warning says so). Default: $TS_AUTHKEY")
              ->type_name("KEY|-|file:PATH");
    cmd->add_option("--auth-key-file", up.auth_key_file, "Read the auth key from this file")->type_name("FILE");
    cmd->add_option("-c,--config", up.config, "Take the options from the tailscale endpoint of this sing-box config")
        ->type_name("FILE");
    cmd->add_option("--endpoint", up.endpoint_tag, "With --config: the tailscale endpoint's tag")->type_name("TAG");
    host = cmd->add_option("--hostname", hostname, "Node name (a DNS label)")->type_name("NAME");
    control = cmd->add_option("--control-url", control_url, "Coordination server, e.g. a Headscale URL (default: Tailscale's)")
                  ->type_name("URL");
    exit = cmd->add_option("--exit-node", exit_node, "Use this peer (IP or name) as exit node; '' clears")->type_name("IP|NAME");
    bools.add(cmd, "--accept-routes", accept_routes, up.flags.accept_routes,
              "Accept subnet routes other nodes advertise (--accept-routes=false refuses)");
    bools.add(cmd, "--exit-node-allow-lan-access", lan, up.flags.exit_node_allow_lan_access,
              "Keep the local network reachable while using an exit node");
    bools.add(cmd, "--advertise-exit-node", adv_exit, up.flags.advertise_exit_node,
              "Offer this node as an exit node (--advertise-exit-node=false stops)");
    routes = cmd->add_option("--advertise-routes", route_list, "Subnet routes to offer, comma-separated")->type_name("PREFIXES");
    tags = cmd->add_option("--advertise-tags", tag_list, "ACL tags for this node, comma-separated (tag: is added)")
               ->type_name("TAGS");
    cmd->add_flag("--ephemeral", up.flags.ephemeral, "Ask for an ephemeral node (daemon-only mode cannot: a warning explains why)");
    cmd->add_flag("--force-reauth", up.force_reauth, "Log in again even if the node is up (needed to change control URL or tags)");
    cmd->add_flag("--no-wait", up.no_wait, "Return as soon as a login URL (or machine approval) is pending");
    tb::core::add_duration_option(cmd, "--timeout", up.wait_timeout, "Give up (exit 75) after this long (default 2m)");
    cmd->add_option("--qr", up.qr, "QR code of the login URL on stderr: auto (when a terminal), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->type_name("WHEN");
    return cmd;
  }

  // After parsing: the given flags into up.flags, and the key out of sight.
  void finish(int argc, char** argv, tb::cmd::UpArgs& up) {
    up.auth_key_arg_given = key->count() > 0;
    // A literal key on the command line: hide it from /proc/PID/cmdline as soon as possible,
    // and wipe CLI11's copy. (It was visible until now: the warning in run_up says so.)
    if (up.auth_key_arg_given && up.auth_key_arg != "-" && up.auth_key_arg.rfind("file:", 0) != 0) {
      tb::cmd::scrub_argv(argc, argv, up.auth_key_arg);
    }
    for (auto& r : const_cast<CLI::results_t&>(key->results())) tb::cmd::wipe_string(r);
    bools.resolve();
    if (host->count()) up.flags.hostname = hostname;
    if (control->count()) up.flags.control_url = control_url;
    if (exit->count()) up.flags.exit_node = exit_node;
    if (routes->count()) up.flags.advertise_routes = non_empty(route_list);
    if (tags->count()) up.flags.advertise_tags = non_empty(tag_list);
  }
};

// `set`'s flags; unset ones leave the daemon's prefs alone.
struct SetFlags {
  CLI::Option* exit = nullptr;
  std::string exit_node;
  bool lan = false;
  BoolFlags bools;

  CLI::App* add(CLI::App& app, tb::cmd::SetArgs& set) {
    auto* cmd = app.add_subcommand("set", "Change prefs of a running node (exit node) without logging in again");
    cmd->fallthrough();
    exit = cmd->add_option("--exit-node", exit_node,
                           "Exit node: a peer's name or IP, auto:any (tailscaled chooses and fails over), or none")
               ->type_name("NAME|IP|auto:any|none");
    bools.add(cmd, "--allow-lan-access,--exit-node-allow-lan-access", lan, set.exit_node_allow_lan_access,
              "Keep the local network reachable while using an exit node (=false: not)");
    return cmd;
  }
  void finish(tb::cmd::SetArgs& set) {
    bools.resolve();
    if (exit->count()) set.exit_node = exit_node;
  }
};

int real_main(int argc, char** argv) {
  tb::core::init_process("ts-auth");
  tb::cmd::CommonArgs common;
  tb::cmd::UpArgs up;
  tb::cmd::LogoutArgs logout;
  tb::cmd::UrlArgs url;

  CLI::App app{kDescription, "ts-auth"};
  tb::core::add_footer_and_version(app, kFooter, "-V,--version", "ts-auth (tailbox)");
  app.require_subcommand(1, 1);
  tb::core::add_local_api_options(&app, common.socket, common.timeout);
  app.add_flag("--json", common.json, "Print v1 JSON records (one per line, flushed as they happen)");
  tb::core::add_log_level_option(&app);
  UpFlags up_flags;
  auto* up_cmd = up_flags.add(app, up);
  tb::cmd::SetArgs set;
  SetFlags set_flags;
  auto* set_cmd = set_flags.add(app, set);
  auto* logout_cmd = app.add_subcommand("logout", "Log the node out (nothing to do when already logged out)");
  logout_cmd->fallthrough();
  auto* url_cmd = app.add_subcommand("url", "Print the login URL tailscaled is waiting on; exit 1 if none");
  url_cmd->fallthrough();

  if (auto rc = tb::core::parse_command_line(app, argc, argv)) return *rc;
  if (*up_cmd) {
    up_flags.finish(argc, argv, up);
    return tb::cmd::run_up(common, up);
  }
  if (*set_cmd) {
    set_flags.finish(set);
    return tb::cmd::run_set(common, set);
  }
  if (*logout_cmd) return tb::cmd::run_logout(common, logout);
  return tb::cmd::run_url(common, url);
}

}  // namespace

int main(int argc, char** argv) {
  // The auth key passes through this process's memory: no core dump may hold it, and other
  // non-root users cannot read /proc/PID/{environ,mem} or attach a debugger (non-dumpable).
  struct rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return tb::core::run_guarded("ts-auth", [&] { return real_main(argc, argv); });
}
