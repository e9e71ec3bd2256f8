// fake_tailscaled — a faithful stand-in for tailscaled's Local API, for tests (docs/localapi.md,
// "What a stand-in must reproduce").
//
//   fake_tailscaled --socket PATH [--control PATH] [--scenario FILE] [--log FILE]
//                   [--tcp-port N --token T] [--state S] [--permissions rw|readonly|none]
//                   [--generate-peers N] [--fixtures DIR]
//
// Once listening it prints one line on stdout and flushes it:
//   {"type":"ready","socket":"…","pid":N}            (+ "control", "tcp_port" when given)
// SIGTERM/SIGINT: closes all streams and listeners, deletes its sockets, exits 0.
//
// Control API (plain HTTP on --control; every POST answers 200 with a JSON summary of the state,
// 400/404/409 with a text reason). Changes are applied synchronously: when the call returns, the
// status reflects them and the Notify lines are queued to every watcher.
//   GET  /state                          summary: state, logged_in, auth_url, permissions, peers, watchers, away, health
//   POST /state?value=Running            set the backend state (NoState…Running), Notify State
//   POST /peer?name=N&online=false       also direct=IP:PORT | direct=true, relay=CODE, active=BOOL,
//                                        RxBytes=, TxBytes=, ExitNodeOption=; N = HostName, DNS label, nodekey, ID or IP
//   POST /peer/add?name=N[&os=linux&online=true]   POST /peer/remove?name=N
//   POST /health?msg=A&msg=B             (or a JSON array body; no msg = healthy)
//   POST /fault?kind=slow|403|500|garbage[&ms=N][&count=N|-1][&path=status][&body=TEXT]
//   POST /clear-faults   POST /cut-streams (half a Notify line, then close)
//   POST /go-away[?back_after_ms=N]      close listeners, delete the socket, drop streams
//   POST /come-back                      recreate them
//   POST /permissions?mode=rw|readonly|none
//   POST /visit-auth-url                 the user finished the browser login (409 if no URL pending)
//   POST /approve-machine                NeedsMachineAuth -> Starting -> Running
//   GET|POST /wait-watchers?n=1&timeout_ms=10000   block until n watch-ipn-bus streams are open (408 on timeout)
//   GET  /auth-url                       the pending URL, text
//   POST /action                         body: one timeline step (JSON) without after_ms
// The scenario format and the timeline actions are documented in README.md.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fake.hpp"

#ifndef TB_FIXTURES_DIR
#define TB_FIXTURES_DIR "."
#endif

namespace {

using tb::fake::Json;

// The scenario file; DIR becomes its directory (relative fixture paths are looked up there first).
Json read_scenario(const std::string& path, std::string& dir) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Json sc = Json::parse(ss.str());
  dir = std::filesystem::absolute(path).parent_path().string();
  return sc;
}

// The ready line, flushed: tests wait for it before they talk to the fake.
void print_ready(const std::string& socket, const std::string& control, int tcp_port) {
  Json ready;
  ready["type"] = "ready";
  ready["socket"] = socket;
  ready["pid"] = static_cast<int>(::getpid());
  if (!control.empty()) ready["control"] = control;
  if (tcp_port >= 0) ready["tcp_port"] = tcp_port;
  std::string line = ready.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tb::fake;
  CLI::App app{"fake_tailscaled: a stand-in for tailscaled's Local API, for tests"};
  ListenOptions lo;
  std::string control, scenario_path, log_path, state, perms, fixtures = TB_FIXTURES_DIR;
  int gen = -1;
  app.add_option("--socket", lo.socket, "Unix socket to serve the Local API on")->required();
  app.add_option("--control", control, "Unix socket for the control API");
  app.add_option("--scenario", scenario_path, "scenario JSON file");
  app.add_option("--log", log_path, "append one JSON line per request (auth keys redacted)");
  app.add_option("--tcp-port", lo.tcp_port, "also listen on 127.0.0.1:N with --token (0 = any port)");
  app.add_option("--token", lo.token, "Basic-auth password for the TCP listener");
  app.add_option("--state", state, "initial backend state (overrides the scenario)");
  app.add_option("--permissions", perms, "rw, readonly or none (overrides the scenario)");
  app.add_option("--generate-peers", gen, "synthesise N peers (overrides the scenario)");
  app.add_option("--fixtures", fixtures, "directory that fixture paths are resolved against");
  CLI11_PARSE(app, argc, argv);
  if (lo.tcp_port >= 0 && lo.token.empty()) {
    std::cerr << "fake_tailscaled: --tcp-port needs --token\n";
    return 2;
  }

  // Signals are taken by sigwait in main; block them before any thread exists.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  Json sc = Json::object();
  std::string sc_dir = ".";
  try {
    if (!scenario_path.empty()) sc = read_scenario(scenario_path, sc_dir);
    if (!state.empty()) sc["state"] = state;
    if (!perms.empty()) sc["permissions"] = perms;
    if (gen >= 0) sc["generate_peers"] = gen;
  } catch (const std::exception& e) {
    std::cerr << "fake_tailscaled: scenario: " << e.what() << "\n";
    return 78;
  }

  Daemon daemon;
  try {
    daemon.load(sc, sc_dir, fixtures);
    if (!log_path.empty()) daemon.open_log(log_path);
  } catch (const std::exception& e) {
    std::cerr << "fake_tailscaled: scenario: " << e.what() << "\n";
    return 78;
  }
  Listeners listeners(daemon, lo);
  daemon.set_hooks({[&] { listeners.stop(); },
                    [&] {
                      std::string err;
                      if (!listeners.start(err)) std::cerr << "fake_tailscaled: come back: " << err << "\n";
                    }});
  std::string err;
  if (!listeners.start(err)) {
    std::cerr << "fake_tailscaled: " << err << "\n";
    return 69;
  }
  Control ctl(daemon);
  if (!control.empty() && !ctl.start(control, err)) {
    std::cerr << "fake_tailscaled: " << err << "\n";
    return 69;
  }

  print_ready(lo.socket, control, lo.tcp_port >= 0 ? listeners.tcp_port() : -1);
  daemon.start_timeline();

  int sig = 0;
  sigwait(&sigs, &sig);
  daemon.shutdown();  // ends watch streams so the servers' worker threads can be joined
  ctl.stop();
  listeners.stop();
  return 0;
}
