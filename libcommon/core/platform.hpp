#pragma once
// What the platform files give the shared code of libcommon/core: each pair (process_posix.cpp and
// process_win32.cpp, output_posix.cpp and output_win32.cpp) defines these, and CMakeLists.txt picks
// one file of each, as libcommon/tailscale picks its transport.

namespace tb::core::detail {

// The platform half of init_process: turns the platform's interrupts into request_interrupt() (a
// second one exits 130 at once) and makes writes to stdout behave as process.hpp and output.hpp say.
void init_platform_process();

// Whether a failed write's errno says that the reader of our stdout went away (exit 141, quietly).
bool reader_gone(int err);

}  // namespace tb::core::detail
