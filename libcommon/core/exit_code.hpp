#pragma once
// The single source of tailbox's exit codes. man/tailbox.7 documents this table; a CLI test
// (tests/cli/contract-exit-codes.sh) checks that the page and this enum agree.

#include <string_view>

namespace tb::core {

enum class ExitCode : int {
  kOk = 0,               // success, predicate true
  kFalse = 1,            // predicate false: not connected, peer offline, logged out, stopped
  kUsage = 2,            // bad command line
  kDataErr = 65,         // bad input data (a rejected auth key, a malformed record)
  kUnavailable = 69,     // tailscaled not listening
  kInternal = 70,        // a bug in tailbox
  kIoErr = 74,           // could not write an output file
  kTimeout = 75,         // a deadline passed; retrying may help
  kProtocol = 76,        // the daemon answered with something unparseable or an unexpected error
  kNoPerm = 77,          // access denied (403, socket permissions)
  kConfig = 78,          // bad configuration
  kInterrupted = 130,    // SIGINT/SIGTERM
  kClosedPipe = 141,     // stdout closed by the reader (quiet)
};

// Monitoring-plugin codes, used only by `check` subcommands.
enum class CheckStatus : int { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };

// Stable snake_case name of a code, used as "code" in v1 error records.
std::string_view exit_code_name(ExitCode code);
std::string_view check_status_name(CheckStatus status);

constexpr int to_int(ExitCode c) { return static_cast<int>(c); }
constexpr int to_int(CheckStatus c) { return static_cast<int>(c); }

}  // namespace tb::core
