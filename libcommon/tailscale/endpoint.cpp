#include "libcommon/tailscale/endpoint.hpp"

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>
#include <system_error>

#ifndef _WIN32
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#endif

#include "libcommon/core/strings.hpp"

namespace tb::ts {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLinuxDefaultSocket = "/var/run/tailscale/tailscaled.sock";
constexpr const char* kMacOsDaemonSocket = "/var/run/tailscaled.socket";
constexpr const char* kMacsysDir = "/Library/Tailscale";
constexpr const char* kWindowsPipe = R"(\\.\pipe\ProtectedPrefix\Administrators\Tailscale\tailscaled)";

std::string under_root(const std::string& root, std::string_view path) {
  if (root.empty()) return std::string(path);
  std::string out = root;
  // "/tmp/x/" + "/var/..." would still work, but messages read better without "//".
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  out += path;
  return out;
}

std::optional<int> parse_port(std::string_view s) {
  s = core::trim(s);
  int port = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  // These files hold a port or a 20-character token; anything large is not ours.
  std::string data;
  data.resize(4096);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.bad()) return std::nullopt;
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

// ipnport is a symlink whose *target* is the port number (the GUI writes it that way because a
// symlink is created atomically); an older or hand-made install may have a regular file instead.
std::optional<int> read_macsys_port(const std::string& ipnport) {
  std::error_code ec;
  auto st = fs::symlink_status(ipnport, ec);
  if (ec) return std::nullopt;
  if (fs::is_symlink(st)) {
    auto target = fs::read_symlink(ipnport, ec);
    if (ec) return std::nullopt;
    return parse_port(target.string());
  }
  if (!fs::is_regular_file(st)) return std::nullopt;
  auto content = read_small_file(ipnport);
  if (!content) return std::nullopt;
  return parse_port(*content);
}

std::optional<std::string> read_macsys_token(const std::string& path) {
  auto content = read_small_file(path);
  if (!content) return std::nullopt;
  std::string_view tok = core::trim(*content);
  if (tok.empty()) return std::nullopt;
  // The token goes into an Authorization header: refuse anything that is not plain hex rather
  // than send a garbled header.
  for (char c : tok) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::string(tok);
}

std::optional<Endpoint> discover_macsys(const DiscoveryOptions& opts) {
  std::string dir = under_root(opts.root, kMacsysDir);
  auto port = read_macsys_port(dir + "/ipnport");
  if (!port) return std::nullopt;
  auto token = read_macsys_token(dir + "/sameuserproof-" + std::to_string(*port));
  if (!token) return std::nullopt;
  if (opts.probe && !opts.probe(*port)) return std::nullopt;
  Endpoint ep;
  ep.kind = Endpoint::Kind::kTcp;
  ep.port = *port;
  ep.token = std::move(*token);
  ep.source = "macsys";
  return ep;
}

Endpoint path_endpoint(Platform platform, const std::string& path, const char* source) {
  Endpoint ep;
  ep.kind = platform == Platform::kWindows ? Endpoint::Kind::kPipe : Endpoint::Kind::kUnix;
  ep.path = path;
  ep.source = source;
  return ep;
}

}  // namespace

Platform current_platform() {
#if defined(_WIN32)
  return Platform::kWindows;
#elif defined(__APPLE__)
  return Platform::kMacOS;
#else
  return Platform::kLinux;
#endif
}

std::string Endpoint::describe() const {
  switch (kind) {
    case Kind::kTcp:
      return "127.0.0.1:" + std::to_string(port);
    case Kind::kUnix:
    case Kind::kPipe:
      break;
  }
  return path;
}

const std::vector<std::pair<std::string, std::string>>& linux_socket_candidates() {
  static const std::vector<std::pair<std::string, std::string>> kCandidates = {
      {kLinuxDefaultSocket, "default"},
      {"/run/tailscale/tailscaled.sock", "run"},
      {"/var/packages/Tailscale/var/tailscaled.sock", "synology-dsm7"},
      {"/var/packages/Tailscale/etc/tailscaled.sock", "synology-dsm6"},
      {"/tmp/tailscale/tailscaled.sock", "qnap"},
      {"/perm/tailscaled/tailscaled.sock", "gokrazy"},
      {"/tmp/tailscaled.sock", "container"},
  };
  return kCandidates;
}

bool probe_loopback_port(int port) {
#ifdef _WIN32
  (void)port;
  return false;  // only macOS discovery asks, and Windows never runs it outside tests
#else
  if (port < 1 || port > 65535) return false;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, 1000) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
  }
  ::close(fd);
  return ok;
#endif
}

Endpoint discover_endpoint(const DiscoveryOptions& opts) {
  if (!opts.explicit_socket.empty()) return path_endpoint(opts.platform, opts.explicit_socket, "--socket");
  if (!opts.env_socket.empty()) return path_endpoint(opts.platform, opts.env_socket, "TS_SOCKET");

  switch (opts.platform) {
    case Platform::kWindows:
      return path_endpoint(Platform::kWindows, kWindowsPipe, "default");
    case Platform::kMacOS: {
      if (auto ep = discover_macsys(opts)) return *ep;
      return path_endpoint(Platform::kMacOS, under_root(opts.root, kMacOsDaemonSocket), "default");
    }
    case Platform::kLinux:
      break;
  }
  for (const auto& [path, source] : linux_socket_candidates()) {
    std::string full = under_root(opts.root, path);
    std::error_code ec;
    // symlink_status: a dangling symlink still names where the daemon should be.
    if (fs::exists(fs::symlink_status(full, ec))) return path_endpoint(Platform::kLinux, full, source.c_str());
  }
  return path_endpoint(Platform::kLinux, under_root(opts.root, kLinuxDefaultSocket), "default");
}

}  // namespace tb::ts
