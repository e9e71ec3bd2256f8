#pragma once
// Process set-up shared by every tool: a stderr logger (spdlog's default writes to stdout),
// SIGPIPE ignored (EPIPE is handled where we write), and SIGINT/SIGTERM turned into a cancellation
// that blocking calls observe. A second signal exits 130 at once.

#include <chrono>
#include <functional>
#include <string>

namespace tb::core {

// Call first thing in main(), before any thread starts.
void init_process(const std::string& tool_name);

// Log level: "trace", "debug", "info", "warn", "error", "off". SPDLOG_LEVEL overrides the default.
void set_log_level(const std::string& level);

// True once SIGINT or SIGTERM arrived.
bool interrupted();
// The signal that interrupted us (SIGINT/SIGTERM), or 0.
int interrupt_signal();

// Sleeps up to d; returns false early when interrupted.
bool sleep_for(std::chrono::milliseconds d);

// Runs fn (from the signal thread) when an interrupt arrives; returns a handle for remove.
int on_interrupt(std::function<void()> fn);
void remove_on_interrupt(int handle);

// Triggers the interrupt path by hand (tests, timeouts that must unblock the same waits).
void request_interrupt(int signo);

const std::string& tool_name();

}  // namespace tb::core
