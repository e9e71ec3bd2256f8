#include "libcommon/core/exit_code.hpp"

namespace tb::core {

std::string_view exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::kOk: return "ok";
    case ExitCode::kFalse: return "false";
    case ExitCode::kUsage: return "usage";
    case ExitCode::kDataErr: return "bad_input";
    case ExitCode::kUnavailable: return "daemon_unreachable";
    case ExitCode::kInternal: return "internal";
    case ExitCode::kIoErr: return "io_error";
    case ExitCode::kTimeout: return "timeout";
    case ExitCode::kProtocol: return "protocol";
    case ExitCode::kNoPerm: return "access_denied";
    case ExitCode::kConfig: return "bad_config";
    case ExitCode::kInterrupted: return "interrupted";
    case ExitCode::kClosedPipe: return "closed_pipe";
  }
  return "unknown";
}

std::string_view check_status_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::kOk: return "OK";
    case CheckStatus::kWarning: return "WARNING";
    case CheckStatus::kCritical: return "CRITICAL";
    case CheckStatus::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

}  // namespace tb::core
