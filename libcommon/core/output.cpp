#include "libcommon/core/output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/platform.hpp"

namespace tb::core {

namespace {
std::mutex g_stdout_mu;  // records from several threads never interleave

bool write_all(int fd, std::string_view text, int* err) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}
}  // namespace

void write_stdout(std::string_view text) {
  std::lock_guard lock(g_stdout_mu);
  int err = 0;
  if (write_all(STDOUT_FILENO, text, &err)) return;
  if (detail::reader_gone(err)) std::_Exit(to_int(ExitCode::kClosedPipe));
  std::string line = std::string("error writing to stdout: ") + std::strerror(err) + "\n";
  int ignored = 0;
  write_all(STDERR_FILENO, line, &ignored);
  std::_Exit(to_int(ExitCode::kIoErr));
}

void emit_record(const Json& record) {
  std::string line = dump_line(record);
  line.push_back('\n');
  write_stdout(line);
}

void print_error_line(std::string_view tool, std::string_view line) {
  std::string text;
  text.reserve(tool.size() + line.size() + 3);
  text.append(tool).append(": ").append(line).push_back('\n');
  int ignored = 0;
  write_all(STDERR_FILENO, text, &ignored);
}

}  // namespace tb::core
