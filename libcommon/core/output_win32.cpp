#include "libcommon/core/output.hpp"

namespace tb::core {

// Windows cannot wait for the reader of a pipe to go away without writing to it (there is no
// poll() for a pipe's write end): there the next record's write fails with EPIPE and exits 141.
void exit_when_stdout_closed() {}

}  // namespace tb::core
