#include "libcommon/core/output.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/platform.hpp"

namespace tb::core {

bool detail::reader_gone(int err) { return err == EPIPE; }

void exit_when_stdout_closed() {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return;
  std::thread([] {
    for (;;) {
      // With no events requested, poll still reports POLLERR/POLLHUP: the read end is gone.
      pollfd p{STDOUT_FILENO, 0, 0};
      int n = ::poll(&p, 1, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0 && (p.revents & (POLLERR | POLLHUP))) std::_Exit(to_int(ExitCode::kClosedPipe));
      if (n < 0) return;
    }
  }).detach();
}

}  // namespace tb::core
