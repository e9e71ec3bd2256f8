#include "libcommon/core/process.hpp"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "libcommon/core/platform.hpp"

namespace tb::core {

namespace {
std::string g_tool = "tailbox";
std::atomic<int> g_signal{0};
std::mutex g_mu;
std::condition_variable g_cv;
std::map<int, std::function<void()>> g_callbacks;
int g_next_handle = 1;
// Held while callbacks run, so that remove_on_interrupt() returns only once no callback can still
// touch the object it captured (an owner removes its callback in its destructor). Recursive: a
// callback may itself remove a callback, and request_interrupt() may run on an owner's thread.
std::recursive_mutex g_run_mu;

void fire(int signo) {
  std::lock_guard run(g_run_mu);
  std::map<int, std::function<void()>> callbacks;
  {
    std::lock_guard lock(g_mu);
    int expected = 0;
    if (!g_signal.compare_exchange_strong(expected, signo)) return;
    callbacks = g_callbacks;
  }
  g_cv.notify_all();
  for (auto& [id, fn] : callbacks) {
    {
      std::lock_guard lock(g_mu);
      if (!g_callbacks.count(id)) continue;  // removed by an earlier callback
    }
    fn();
  }
}
}  // namespace

void init_process(const std::string& tool) {
  g_tool = tool;

  // Plain "tool: level: message" lines on stderr; no colour so logs stay greppable.
  auto logger = spdlog::stderr_logger_mt(tool);
  logger->set_pattern("%n: %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);
  spdlog::cfg::load_env_levels();

  detail::init_platform_process();
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
  int id = 0;
  {
    std::lock_guard lock(g_mu);
    id = g_next_handle++;
    // A signal that came before this registration would otherwise never reach fn: the cancellation
    // it stands for must still happen, so run it now (fire() checks g_signal under the same lock).
    if (g_signal.load() == 0) {
      g_callbacks.emplace(id, std::move(fn));
      return id;
    }
  }
  fn();
  return id;
}

void remove_on_interrupt(int handle) {
  {
    std::lock_guard lock(g_mu);
    g_callbacks.erase(handle);
  }
  // Wait for a fire() in progress: it may have copied this callback before the erase.
  std::lock_guard run(g_run_mu);
}

void request_interrupt(int signo) { fire(signo); }

const std::string& tool_name() { return g_tool; }

}  // namespace tb::core
