// sb-relay: the data plane. A mixed SOCKS5/SOCKS4/HTTP proxy that routes every connection with
// the same Router as `sb-route explain`, from `plan` records on stdin or a config.
// Flags → RelayOptions; one guard for exceptions. Exit codes: man/tailbox.7.

#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "cmd/sb-relay/log_config.hpp"
#include "cmd/sb-relay/source.hpp"
#include "libcommon/core/cli.hpp"
#include "libcommon/core/json_lines.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/tool.hpp"
#include "libcommon/net/localapi_dial.hpp"
#include "libcommon/net/records.hpp"
#include "libcommon/net/server.hpp"

namespace {

using tb::core::ExitCode;
using tb::core::to_int;
using PlanPtr = std::shared_ptr<const tb::net::Plan>;
namespace sr = tb::cmd::sb_relay;

constexpr const char* kTool = "sb-relay";
constexpr const char* kDescription =
    "sb-relay: a SOCKS5/SOCKS4/HTTP proxy that routes each connection as sb-route decides.";

constexpr const char* kFooter = R"(Examples:
  ts-status watch | sb-route plan -c config.json | sb-relay
  sb-relay -c config.json --events all
  curl --proxy socks5h://127.0.0.1:1080 http://nas.tail1234.ts.net/

Exit status: 0 ok (SIGTERM drained, or EOF with --exit-on-eof), 2 usage, 65 no usable plan on stdin,
69 cannot listen, 78 bad configuration, 130 interrupted (SIGINT, or SIGTERM before the first plan).
See sb-relay(1), sb-route(1) and tailbox(7).)";

struct Args {
  std::vector<std::string> configs, config_dirs;
  std::string events = "close";
  bool exit_on_eof = false;
  bool allow_open = false;
  bool use_default = false;
  unsigned threads = 0;
  bool reuseport = false;
  int64_t busy_poll = 30;
  int64_t max_connections = 4096;
  double handshake_timeout = 10, idle_timeout = 300, drain_timeout = 5;
  std::string socket;                           // tailscaled's Local API, for the dial transport
  std::vector<std::string> tailnet_transports;  // --tailscale-transport [TAG=]MODE
};

std::chrono::milliseconds secs(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); }

void add_options(CLI::App& app, Args& a) {
  tb::core::add_footer_and_version(app, kFooter, "--version", kTool);
  app.add_option("-c,--config", a.configs, "Config file (repeatable): run standalone, without a plan stream")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("-C,--config-directory", a.config_dirs, "Add every *.json (*.yaml, *.yml) file of DIR (repeatable)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  app.add_flag("--default-config", a.use_default,
               "Run standalone with the embedded default config (as when stdin is a terminal)");
  app.add_option("--events", a.events, "Records on stdout: none, close (default) or all (open and close)")
      ->check(CLI::IsMember({"none", "close", "all"}));
  app.add_flag("--exit-on-eof", a.exit_on_eof, "Drain and exit when the plan stream ends (default: keep running)");
  app.add_flag("--allow-open", a.allow_open, "Allow a non-loopback listen address for an inbound without users");
  app.add_option("--threads", a.threads, "Event loops, one per thread, sharing one accept queue (default: one per core)");
  app.add_flag("--reuseport", a.reuseport,
               "One listening socket per event loop (SO_REUSEPORT; the kernel spreads connections by address hash)");
  app.add_option("--busy-poll", a.busy_poll,
                 "Microseconds an event loop keeps polling after its last event before it sleeps (default 30; 0: sleep at once)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  app.add_option("--max-connections", a.max_connections, "Connections beyond this are refused politely (default 4096)");
  app.add_option("--handshake-timeout", a.handshake_timeout, "Seconds for a client to finish its request (default 10)");
  app.add_option("--idle-timeout", a.idle_timeout, "Seconds without traffic before a connection is closed (default 300)");
  app.add_option("--drain-timeout", a.drain_timeout, "Seconds SIGTERM waits for open connections (default 5)");
  app.add_option("--socket", a.socket, "tailscaled's Local API socket, for the dial transport (default: $TS_SOCKET, else /var/run/tailscale/tailscaled.sock)")
      ->type_name("PATH");
  app.add_option("--tailscale-transport", a.tailnet_transports,
                 "How tailscale endpoints reach the tailnet: auto (default), dial (the Local API) or socks5; TAG=MODE for one endpoint; repeatable")
      ->type_name("[TAG=]MODE");
  tb::core::add_log_level_option(&app, "stderr log level: trace, debug, info, warn (default), error, off");
}

tb::net::RelayOptions relay_options(const Args& a) {
  tb::net::RelayOptions opts;
  opts.events = a.events == "none" ? tb::net::Events::kNone : a.events == "all" ? tb::net::Events::kAll : tb::net::Events::kClose;
  opts.threads = a.threads;
  opts.reuseport = a.reuseport;
  opts.busy_poll = std::chrono::microseconds(a.busy_poll);
  opts.max_connections = a.max_connections;  // the server fits it to the file limit
  opts.handshake_timeout = secs(a.handshake_timeout);
  opts.idle_timeout = secs(a.idle_timeout);
  opts.allow_open = a.allow_open;
  return opts;
}

// What ends the main wait: an interrupt, SIGHUP (reload) or the end of stdin.
struct Wake {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool hup = false;
  void notify(bool is_stop) {
    {
      std::lock_guard l(mu);
      (is_stop ? stop : hup) = true;
    }
    cv.notify_all();
  }
  // Waits for the next wake: true for SIGHUP, false to stop.
  bool wait_hup() {
    std::unique_lock lock(mu);
    cv.wait(lock, [this] { return stop || hup; });
    if (stop) return false;
    hup = false;
    return true;
  }
};
Wake g_wake;

// SIGHUP (reload) is blocked before any thread starts, init_process's signal thread included, so
// every thread inherits the mask and only the sigwait of watch_signals ever takes it. Blocked
// later, a SIGHUP could land on that thread and kill the process (its default action).
sigset_t block_sighup() {
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  return hup;
}

void watch_signals(sigset_t hup) {
  tb::core::on_interrupt([] { g_wake.notify(true); });
  std::thread([hup] {
    for (;;) {
      int sig = 0;
      if (sigwait(&hup, &sig) == 0 && sig == SIGHUP) g_wake.notify(false);
    }
  }).detach();
}

void print_line_error(size_t number, const std::string& message, const char* then = "") {
  tb::core::print_error_line(kTool, "stdin line " + std::to_string(number) + ": " + message + then);
}

// The listeners come from the first plan: wait for it. A blocked read of stdin never looks at the
// interrupt flag, and the signal thread exits only on a second signal: until a plan is in, there
// is nothing to drain and nothing on stdout, so SIGINT/SIGTERM end sb-relay at once (130).
// Without this, a relay whose planner never produced a plan outlived tailbox-proxy.
tb::core::Result<PlanPtr> first_stdin_plan(tb::core::JsonLinesReader& in) {
  in.set_interrupt_policy(tb::core::InterruptPolicy::kExitWhileWaiting);
  in.set_bad_line_handler([](size_t n, const tb::core::Error& e) { print_line_error(n, e.message); });
  PlanPtr plan;
  while (!plan && !tb::core::interrupted()) {
    auto line = in.next();
    if (!line) break;
    auto p = tb::net::plan_from_object(line->value);
    if (!p) print_line_error(line->number, p.error().message);
    else if (*p) plan = **p;
  }
  in.set_interrupt_policy(tb::core::InterruptPolicy::kIgnore);
  bool interrupted = tb::core::interrupted();
  if (plan && !interrupted) return plan;
  if (plan) return tb::core::fail(ExitCode::kInterrupted, "");  // as if it had come while waiting
  return tb::core::fail(interrupted ? ExitCode::kInterrupted : ExitCode::kDataErr,
                        "no usable plan record on stdin (pipe `sb-route plan` into sb-relay, or use -c)");
}

// Later plans replace the running one; a bad line keeps it. The end of stdin stops the relay
// only with --exit-on-eof.
template <typename Apply>
void follow_stdin(tb::core::JsonLinesReader& in, Apply apply, bool exit_on_eof) {
  constexpr const char* kKeep = "; keeping the last good plan";
  in.set_bad_line_handler([kKeep](size_t n, const tb::core::Error& e) { print_line_error(n, e.message, kKeep); });
  std::thread([&in, apply, exit_on_eof, kKeep] {
    while (auto line = in.next()) {
      auto p = tb::net::plan_from_object(line->value);
      if (!p) print_line_error(line->number, p.error().message, kKeep);
      else if (*p) apply(**p);
    }
    if (exit_on_eof) g_wake.notify(true);
  }).detach();
}

// SIGHUP reloads the config of a standalone relay; a relay fed by stdin has nothing to reload.
template <typename Apply>
void serve_until_stopped(bool standalone, const Args& a, Apply apply) {
  while (g_wake.wait_hup()) {
    if (!standalone) {
      tb::core::print_error_line(kTool, "SIGHUP: plans come from stdin; nothing to reload");
      continue;
    }
    auto p = sr::load_config_plan(a.configs, a.config_dirs);
    if (!p) {
      tb::core::print_error_line(kTool, "SIGHUP: " + p.error().line() + "; keeping the running config");
      continue;
    }
    apply(*p);
    tb::core::print_error_line(kTool, "SIGHUP: config reloaded");
  }
}

// "--tailscale-transport TAG=MODE: ..." for the first TAG the plan has no tailscale endpoint
// of, naming the ones it has; "" when every TAG names one.
std::string unknown_transport_text(const tb::net::Plan& plan) {
  auto unknown = tb::net::unknown_transport_tags(plan);
  if (unknown.empty()) return "";
  std::string have;
  for (const auto& [tag, ob] : plan.outbounds)
    if (ob.type == "tailscale") have += (have.empty() ? "" : ", ") + tag;
  const auto& mode = tb::net::dial_transport().by_tag.at(unknown.front());
  return "--tailscale-transport " + unknown.front() + "=" + tb::net::tailnet_transport_name(mode) +
         ": the config has no tailscale endpoint \"" + unknown.front() + "\" (" +
         (have.empty() ? std::string("it has none") : "its tailscale endpoints: " + have) + ")";
}

int fail_with(const tb::core::Error& e) {
  if (!e.message.empty()) tb::core::print_error_line(kTool, e.line());
  return to_int(e.code);
}

int real_main(int argc, char** argv) {
  sigset_t hup = block_sighup();
  tb::core::init_process(kTool);
  CLI::App app{kDescription, kTool};
  Args a;
  add_options(app, a);
  if (auto rc = tb::core::parse_command_line(app, argc, argv)) return *rc;
  if (auto t = tb::net::configure_dial_transport(a.socket, a.tailnet_transports); !t) return fail_with(t.error());

  bool standalone = !a.configs.empty() || !a.config_dirs.empty() || a.use_default || isatty(STDIN_FILENO);
  tb::core::JsonLinesReader stdin_plans(std::cin, nullptr);
  auto plan = standalone ? sr::load_config_plan(a.configs, a.config_dirs) : first_stdin_plan(stdin_plans);
  if (!plan) return fail_with(plan.error());
  bool level_given = app.get_option("--log-level")->count() > 0 || std::getenv("SPDLOG_LEVEL") != nullptr;
  if (auto log = sr::apply_log_section((*plan)->router->config().source.value("log", tb::core::Json()), level_given); !log)
    return fail_with(log.error());
  if (auto msg = tb::net::check_exposure((*plan)->inbounds, a.allow_open); !msg.empty())
    return fail_with({ExitCode::kConfig, msg, ""});
  if (auto msg = unknown_transport_text(**plan); !msg.empty()) return fail_with({ExitCode::kUsage, msg, ""});

  tb::net::RelayServer server(relay_options(a));
  auto bound = server.start(*plan);
  if (!bound) return fail_with(bound.error());
  unsigned threads = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  tb::core::emit_record(tb::net::listening_record(*bound, threads, (*plan)->generation));

  watch_signals(hup);
  auto apply = [&server](PlanPtr p) {
    if (auto msg = unknown_transport_text(*p); !msg.empty()) tb::core::print_error_line(kTool, msg + "; it applies to nothing");
    if (!server.set_plan(std::move(p)))
      tb::core::print_error_line(kTool, "the new plan changes inbound addresses; they apply after a restart");
  };
  if (!standalone) follow_stdin(stdin_plans, apply, a.exit_on_eof);
  serve_until_stopped(standalone, a, apply);
  server.drain_and_stop(secs(a.drain_timeout));
  int sig = tb::core::interrupt_signal();
  std::fflush(stdout);
  std::_Exit(sig == SIGINT ? to_int(ExitCode::kInterrupted) : to_int(ExitCode::kOk));
}

}  // namespace

int main(int argc, char** argv) {
  return tb::core::run_guarded(kTool, [&] { return real_main(argc, argv); });
}
