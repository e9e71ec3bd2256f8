// Reading the auth key without leaking it. See auth_key.hpp.

#include "cmd/ts-auth/auth_key.hpp"

#include <fcntl.h>
#include <string.h>  // explicit_bzero
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tb::cmd {

using core::ExitCode;

void wipe_string(std::string& s) {
  if (s.capacity() > 0) explicit_bzero(s.data(), s.capacity());
  s.clear();
}

SecretString& SecretString::operator=(SecretString&& o) noexcept {
  if (this != &o) {
    wipe();
    s_ = std::move(o.s_);
    o.wipe();
  }
  return *this;
}

void SecretString::wipe() { wipe_string(s_); }

namespace {

void trim_in_place(std::string& s) {
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  size_t start = 0;
  while (start < end && (s[start] == ' ' || s[start] == '\t')) ++start;
  if (start > 0 || end < s.size()) {
    // Shift in place so no untrimmed copy is left behind.
    std::memmove(s.data(), s.data() + start, end - start);
    explicit_bzero(s.data() + (end - start), s.size() - (end - start));
    s.resize(end - start);
  }
}

// Reads all of fd into out, growing without leaving stale copies: the buffer is reserved once
// and then only appended to (a reallocation would leave the old bytes in freed memory).
core::Result<void> read_fd(int fd, std::string& out, bool one_line, const std::string& what) {
  out.reserve(4096);
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      explicit_bzero(buf, sizeof buf);
      return core::fail(ExitCode::kDataErr, "cannot read the auth key from " + what + ": " + std::strerror(err));
    }
    if (n == 0) break;
    size_t take = static_cast<size_t>(n);
    bool stop = false;
    if (one_line) {
      if (const void* nl = std::memchr(buf, '\n', take)) {
        take = static_cast<size_t>(static_cast<const char*>(nl) - buf);
        stop = true;
      }
    }
    if (out.size() + take > out.capacity()) {
      explicit_bzero(buf, sizeof buf);
      return core::fail(ExitCode::kDataErr, "the auth key from " + what + " is too long (over 4 KiB)");
    }
    out.append(buf, take);
    if (stop) break;
  }
  explicit_bzero(buf, sizeof buf);
  return {};
}

core::Result<void> read_file(const std::string& path, std::string& out, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return core::fail(ExitCode::kDataErr, "cannot open " + what + " " + path + ": " + std::strerror(err));
  }
  auto r = read_fd(fd, out, false, what + " " + path);
  ::close(fd);
  return r;
}

core::Result<void> read_stdin(std::string& out) {
  bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    static const char prompt[] = "auth key: ";
    [[maybe_unused]] auto w = ::write(STDERR_FILENO, prompt, sizeof prompt - 1);
  } else {
    tty = false;
  }
  auto r = read_fd(STDIN_FILENO, out, true, "standard input");
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    [[maybe_unused]] auto w = ::write(STDERR_FILENO, "\n", 1);
  }
  return r;
}

// Reads "file:PATH" or a literal value into key.
core::Result<void> from_value(std::string value, const std::string& what, std::string& key) {
  if (value.rfind("file:", 0) == 0) {
    auto r = read_file(value.substr(5), key, "the auth key file named by " + what);
    wipe_string(value);
    return r;
  }
  key.reserve(4096);
  key.append(value);
  wipe_string(value);
  return {};
}

}  // namespace

core::Result<void> validate_key(const std::string& key, const std::string& source) {
  if (key.empty()) return core::fail(ExitCode::kDataErr, "the auth key from " + source + " is empty");
  for (unsigned char c : key) {
    if (c <= ' ' || c == 0x7f)
      return core::fail(ExitCode::kDataErr, "the auth key from " + source + " contains whitespace or control characters",
                        "a file must hold the key alone, on one line");
  }
  if (key.rfind("tskey-client-", 0) == 0)
    return core::fail(ExitCode::kDataErr,
                      "the key from " + source + " is an OAuth client secret, not an auth key",
                      "create an auth key in the admin console, or exchange the client secret for one");
  return {};
}

core::Result<AuthKey> read_auth_key(KeySources& src) {
  if (src.arg_given && !src.file.empty())
    return core::fail(ExitCode::kUsage, "give the auth key once: --auth-key or --auth-key-file, not both");
  AuthKey out;
  std::string key;
  core::Result<void> r;
  if (src.arg_given) {
    if (src.arg == "-") {
      out.source = "standard input";
      r = read_stdin(key);
    } else if (src.arg.rfind("file:", 0) == 0) {
      out.source = "--auth-key file:";
      r = from_value(src.arg, "--auth-key", key);
    } else {
      out.source = "--auth-key";
      r = from_value(src.arg, "--auth-key", key);
    }
    wipe_string(src.arg);
  } else if (!src.file.empty()) {
    out.source = "--auth-key-file";
    r = read_file(src.file, key, "--auth-key-file");
  } else if (char* env = std::getenv("TS_AUTHKEY"); env && *env) {
    out.source = "TS_AUTHKEY";
    r = from_value(std::string(env), "TS_AUTHKEY", key);
    // Overwrite the bytes in the environment block itself (what /proc/PID/environ shows), then
    // drop the variable so nothing we might start inherits it.
    explicit_bzero(env, std::strlen(env));
    ::unsetenv("TS_AUTHKEY");
    src.env_scrubbed = true;
  } else {
    return out;  // no key: interactive login
  }
  if (!r) {
    wipe_string(key);
    return tl::unexpected(r.error());
  }
  trim_in_place(key);
  if (auto v = validate_key(key, out.source); !v) {
    wipe_string(key);
    return tl::unexpected(v.error());
  }
  out.key = SecretString(std::move(key));
  return out;
}

std::string redact(std::string text, const std::string& secret) {
  if (secret.size() >= 4 && secret.find('\0') == std::string::npos) {
    for (size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p)) {
      text.replace(p, secret.size(), "[REDACTED]");
      p += 10;
    }
  }
  // Any Tailscale key, also once ours is wiped: "tskey-" and the key characters after it.
  for (size_t p = text.find("tskey-"); p != std::string::npos; p = text.find("tskey-", p)) {
    size_t end = p + 6;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '-' || text[end] == '_')) ++end;
    text.replace(p, end - p, "[REDACTED]");
    p += 10;
  }
  return text;
}

bool scrub_argv(int argc, char** argv, const std::string& secret) {
  if (secret.empty()) return false;
  bool any = false;
  for (int i = 1; i < argc; ++i) {
    char* a = argv[i];
    size_t len = std::strlen(a);
    const char* hit = std::strstr(a, secret.c_str());
    if (hit == nullptr) continue;
    // Keep what precedes the key ("--auth-key=") readable; blank the rest.
    size_t from = static_cast<size_t>(hit - a);
    std::memset(a + from, 'x', len - from);
    any = true;
  }
  return any;
}

}  // namespace tb::cmd
