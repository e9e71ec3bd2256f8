#include "libcommon/core/process.hpp"

#include <pthread.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "libcommon/core/exit_code.hpp"

namespace tb::core {

namespace {
std::string g_tool = "tailbox";
std::atomic<int> g_signal{0};
std::mutex g_mu;
std::condition_variable g_cv;
std::map<int, std::function<void()>> g_callbacks;
int g_next_handle = 1;

void fire(int signo) {
  std::map<int, std::function<void()>> callbacks;
  {
    std::lock_guard lock(g_mu);
    int expected = 0;
    if (!g_signal.compare_exchange_strong(expected, signo)) return;
    callbacks = g_callbacks;
  }
  g_cv.notify_all();
  for (auto& [id, fn] : callbacks) fn();
}

void signal_thread(sigset_t set) {
  for (;;) {
    int signo = 0;
    if (sigwait(&set, &signo) != 0) continue;
    if (g_signal.load() != 0) std::_Exit(to_int(ExitCode::kInterrupted));  // second signal: now
    fire(signo);
  }
}
}  // namespace

void init_process(const std::string& tool) {
  g_tool = tool;
  std::signal(SIGPIPE, SIG_IGN);

  // Plain "tool: level: message" lines on stderr; no colour so logs stay greppable.
  auto logger = spdlog::stderr_logger_mt(tool);
  logger->set_pattern("%n: %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);
  spdlog::cfg::load_env_levels();

  // Every thread created after this inherits the blocked mask; one thread receives the signals.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(signal_thread, set).detach();
}

void set_log_level(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
}

bool interrupted() { return g_signal.load() != 0; }
int interrupt_signal() { return g_signal.load(); }

bool sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(g_mu);
  return !g_cv.wait_for(lock, d, [] { return g_signal.load() != 0; });
}

int on_interrupt(std::function<void()> fn) {
  std::lock_guard lock(g_mu);
  int id = g_next_handle++;
  g_callbacks.emplace(id, std::move(fn));
  return id;
}

void remove_on_interrupt(int handle) {
  std::lock_guard lock(g_mu);
  g_callbacks.erase(handle);
}

void request_interrupt(int signo) { fire(signo); }

const std::string& tool_name() { return g_tool; }

}  // namespace tb::core
