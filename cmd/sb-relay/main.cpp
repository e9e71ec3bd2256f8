// sb-relay: the data plane. A mixed SOCKS5/SOCKS4/HTTP proxy that routes every connection with
// the same Router as `sb-route explain`, from `plan` records on stdin or a config.
// Flags → RelayOptions; one guard for exceptions. Exit codes: man/tailbox.7.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

#include "cmd/sb-relay/source.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/net/records.hpp"
#include "libcommon/net/server.hpp"

namespace {

using tb::core::ExitCode;
using tb::core::to_int;
namespace sr = tb::cmd::sb_relay;

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
  std::string log_level = "warn";
};

std::chrono::milliseconds secs(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); }

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
};
Wake g_wake;

int real_main(int argc, char** argv) {
  // SIGHUP (reload) is blocked before any thread starts, init_process's signal thread included,
  // so every thread inherits the mask and only the sigwait below ever takes it. Blocked later, a
  // SIGHUP could land on that thread and kill the process (its default action).
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  tb::core::init_process("sb-relay");
  CLI::App app{kDescription, "sb-relay"};
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("sb-relay ") + TB_VERSION);
  Args a;
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
  app.add_option("--log-level", a.log_level, "stderr log level: trace, debug, info, warn (default), error, off");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : to_int(ExitCode::kUsage);
  }
  tb::core::set_log_level(a.log_level);

  tb::net::RelayOptions opts;
  opts.events = a.events == "none" ? tb::net::Events::kNone : a.events == "all" ? tb::net::Events::kAll : tb::net::Events::kClose;
  opts.threads = a.threads;
  opts.reuseport = a.reuseport;
  opts.busy_poll = std::chrono::microseconds(a.busy_poll);
  opts.max_connections = a.max_connections;  // the server fits it to the file limit
  opts.handshake_timeout = secs(a.handshake_timeout);
  opts.idle_timeout = secs(a.idle_timeout);
  opts.allow_open = a.allow_open;

  bool standalone = !a.configs.empty() || !a.config_dirs.empty() || a.use_default || isatty(STDIN_FILENO);
  std::shared_ptr<const tb::net::Plan> plan;
  size_t line_no = 0;
  if (standalone) {
    auto p = sr::load_config_plan(a.configs, a.config_dirs);
    if (!p) {
      tb::core::print_error_line("sb-relay", p.error().line());
      return to_int(p.error().code);
    }
    plan = *p;
  } else {
    // The listeners come from the first plan: wait for it. A blocked read of stdin never looks at
    // the interrupt flag, and the signal thread exits only on a second signal: until a plan is in,
    // there is nothing to drain and nothing on stdout, so SIGINT/SIGTERM end sb-relay at once (130).
    // Without this, a relay whose planner never produced a plan outlived tailbox-proxy.
    int waiting = tb::core::on_interrupt([] { std::_Exit(to_int(ExitCode::kInterrupted)); });
    std::string line;
    while (!plan && std::getline(std::cin, line)) {
      ++line_no;
      auto p = sr::plan_from_line(line);
      if (!p) tb::core::print_error_line("sb-relay", "stdin line " + std::to_string(line_no) + ": " + p.error().message);
      else if (*p) plan = **p;
    }
    tb::core::remove_on_interrupt(waiting);
    if (!plan) {
      tb::core::print_error_line("sb-relay", "no usable plan record on stdin (pipe `sb-route plan` into sb-relay, or use -c)");
      return to_int(tb::core::interrupted() ? ExitCode::kInterrupted : ExitCode::kDataErr);
    }
  }
  if (auto msg = tb::net::check_exposure(plan->inbounds, a.allow_open); !msg.empty()) {
    tb::core::print_error_line("sb-relay", msg);
    return to_int(ExitCode::kConfig);
  }

  tb::net::RelayServer server(opts);
  auto bound = server.start(plan);
  if (!bound) {
    tb::core::print_error_line("sb-relay", bound.error().line());
    return to_int(bound.error().code);
  }
  unsigned threads = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  tb::core::emit_record(tb::net::listening_record(*bound, threads, plan->generation));

  tb::core::on_interrupt([] { g_wake.notify(true); });
  std::thread([hup] {
    for (;;) {
      int sig = 0;
      if (sigwait(&hup, &sig) == 0 && sig == SIGHUP) g_wake.notify(false);
    }
  }).detach();

  auto apply = [&](std::shared_ptr<const tb::net::Plan> p) {
    if (p->inbounds != server.plan()->inbounds) {
      bool listeners_same = p->inbounds.size() == bound->size();
      for (size_t i = 0; listeners_same && i < p->inbounds.size(); ++i)
        listeners_same = p->inbounds[i].tag == (*bound)[i].spec.tag && p->inbounds[i].listen == (*bound)[i].spec.listen &&
                         (p->inbounds[i].port == 0 || p->inbounds[i].port == (*bound)[i].port);
      if (!listeners_same)
        tb::core::print_error_line("sb-relay", "the new plan changes inbound addresses; they apply after a restart");
    }
    server.set_plan(std::move(p));
  };

  if (!standalone) {
    std::thread([&apply, line_no, exit_on_eof = a.exit_on_eof]() mutable {
      std::string line;
      while (std::getline(std::cin, line)) {
        ++line_no;
        auto p = sr::plan_from_line(line);
        if (!p) {
          tb::core::print_error_line("sb-relay", "stdin line " + std::to_string(line_no) + ": " + p.error().message +
                                                     "; keeping the last good plan");
          continue;
        }
        if (*p) apply(**p);
      }
      if (exit_on_eof) g_wake.notify(true);
    }).detach();
  }

  for (;;) {
    std::unique_lock lock(g_wake.mu);
    g_wake.cv.wait(lock, [] { return g_wake.stop || g_wake.hup; });
    if (g_wake.stop) break;
    g_wake.hup = false;
    lock.unlock();
    if (!standalone) {
      tb::core::print_error_line("sb-relay", "SIGHUP: plans come from stdin; nothing to reload");
      continue;
    }
    auto p = sr::load_config_plan(a.configs, a.config_dirs);
    if (!p) {
      tb::core::print_error_line("sb-relay", "SIGHUP: " + p.error().line() + "; keeping the running config");
      continue;
    }
    apply(*p);
    tb::core::print_error_line("sb-relay", "SIGHUP: config reloaded");
  }
  server.drain_and_stop(secs(a.drain_timeout));
  int sig = tb::core::interrupt_signal();
  std::fflush(stdout);
  std::_Exit(sig == SIGINT ? to_int(ExitCode::kInterrupted) : to_int(ExitCode::kOk));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return real_main(argc, argv);
  } catch (const std::exception& e) {
    tb::core::print_error_line("sb-relay", std::string("internal error: ") + e.what());
    return to_int(ExitCode::kInternal);
  }
}
