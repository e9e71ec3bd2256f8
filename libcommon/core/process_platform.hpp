#pragma once
// The platform half of init_process: process_posix.cpp or process_win32.cpp (CMakeLists.txt picks
// one, as libcommon/tailscale picks its transport). Only process.cpp calls it.

namespace tb::core::detail {

// Turns the platform's interrupts into request_interrupt() (a second one exits 130 at once) and
// makes writes to stdout behave as process.hpp and output.hpp say.
void init_platform_process();

}  // namespace tb::core::detail
