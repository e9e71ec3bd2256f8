#include "libcommon/core/output.hpp"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <cerrno>
#include <cstdlib>

#include "libcommon/core/platform.hpp"

namespace tb::core {

// The C runtime turns a write to a pipe whose reader is gone into EINVAL, not EPIPE; the Windows
// error beneath tells it from a real EINVAL: ERROR_NO_DATA ("the pipe is being closed"), or
// ERROR_PIPE_NOT_CONNECTED under wine.
bool detail::reader_gone(int err) {
  unsigned long os = _doserrno;
  return err == EPIPE || os == ERROR_NO_DATA || os == ERROR_PIPE_NOT_CONNECTED || os == ERROR_BROKEN_PIPE;
}

// Windows cannot wait for the reader of a pipe to go away without writing to it (there is no
// poll() for a pipe's write end): there the next record's write finds it gone and exits 141.
void exit_when_stdout_closed() {}

}  // namespace tb::core
