#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <thread>

#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/platform.hpp"

// SIGINT and SIGTERM arrive on one thread (sigwait); SIGPIPE is ignored, so a closed stdout is
// EPIPE where we write (output.cpp).

namespace tb::core::detail {

namespace {
void signal_thread(sigset_t set) {
  for (;;) {
    int signo = 0;
    if (sigwait(&set, &signo) != 0) continue;
    if (interrupted()) std::_Exit(to_int(ExitCode::kInterrupted));  // second signal: now
    request_interrupt(signo);
  }
}
}  // namespace

void init_platform_process() {
  std::signal(SIGPIPE, SIG_IGN);
  // Every thread created after this inherits the blocked mask; one thread receives the signals.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(signal_thread, set).detach();
}

}  // namespace tb::core::detail
