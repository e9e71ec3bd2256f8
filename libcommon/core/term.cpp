#include "libcommon/core/term.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tb::core {

namespace {
bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}
}  // namespace

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

bool use_color(int fd, ColorMode mode) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  if (mode == ColorMode::kNever) return false;
  if (mode == ColorMode::kAlways) return true;
  if (env_set("CLICOLOR_FORCE") || env_set("FORCE_COLOR")) return true;
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return is_terminal(fd);
}

std::string paint(bool enabled, std::string_view sgr, std::string_view text) {
  if (!enabled) return std::string(text);
  std::string out = "\x1b[";
  out.append(sgr).append("m").append(text).append("\x1b[0m");
  return out;
}

}  // namespace tb::core
