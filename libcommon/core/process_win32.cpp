#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <fcntl.h>
#include <io.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/platform.hpp"

// Windows has no SIGTERM to send: Ctrl-C is SIGINT, and Ctrl-Break, closing the console and
// shutdown are SIGTERM, as the Go runtime maps them. Windows has no SIGPIPE either: a write to a
// pipe whose reader is gone fails (output_win32.cpp, reader_gone).

namespace tb::core::detail {

namespace {
// The system runs this on a thread of its own for each console event.
BOOL WINAPI on_console_event(DWORD event) {
  int signo = SIGTERM;
  switch (event) {
    case CTRL_C_EVENT:
      signo = SIGINT;
      break;
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      break;
    default:
      return FALSE;
  }
  if (interrupted()) std::_Exit(to_int(ExitCode::kInterrupted));  // second event: now
  request_interrupt(signo);
  return TRUE;
}
}  // namespace

void init_platform_process() {
  // Output is the same bytes as on every platform: lines end in "\n", never "\r\n".
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
  SetConsoleCtrlHandler(on_console_event, TRUE);
}

}  // namespace tb::core::detail
