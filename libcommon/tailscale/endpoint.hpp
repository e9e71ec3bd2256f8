#pragma once
// Where tailscaled's Local API listens, and how we find it (docs/localapi.md, "Where the daemon
// listens" and "Choosing the socket").
//
// Order of precedence: --socket PATH, then TS_SOCKET, then the platform's candidates:
//   Linux:  /var/run/tailscale/tailscaled.sock, /run/tailscale/tailscaled.sock,
//           Synology DSM7 /var/packages/Tailscale/var/tailscaled.sock,
//           Synology DSM6 /var/packages/Tailscale/etc/tailscaled.sock,
//           QNAP /tmp/tailscale/tailscaled.sock, gokrazy /perm/tailscaled/tailscaled.sock,
//           containers (containerboot) /tmp/tailscaled.sock.
//           The first that exists wins; when none exists we use the default path so the error names it.
//   macOS:  the standalone GUI ("macsys"): /Library/Tailscale/ipnport is a symlink whose target is
//           the port; /Library/Tailscale/sameuserproof-<port> holds the token (Basic auth, empty
//           user). Then the open-source daemon's /var/run/tailscaled.socket.
//   Windows: the named pipe \\.\pipe\ProtectedPrefix\Administrators\Tailscale\tailscaled.
// An explicit --socket disables the macOS TCP discovery, as in the Go CLI.

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tb::ts {

enum class Platform { kLinux, kMacOS, kWindows };
Platform current_platform();

struct Endpoint {
  enum class Kind { kUnix, kTcp, kPipe };
  Kind kind = Kind::kUnix;
  std::string path;   // kUnix: socket path; kPipe: pipe name
  int port = 0;       // kTcp: 127.0.0.1:port
  std::string token;  // kTcp: Basic-auth password (never printed)
  std::string source; // how it was chosen: "--socket", "TS_SOCKET", "default", "synology-dsm7", "macsys", …

  // For messages: the socket path, "127.0.0.1:<port>" or the pipe name. Never the token.
  std::string describe() const;
};

// A 1 s TCP connect to 127.0.0.1:port; true if something accepted it.
bool probe_loopback_port(int port);

struct DiscoveryOptions {
  std::string explicit_socket;  // --socket
  std::string env_socket;       // TS_SOCKET (the caller reads the environment)
  Platform platform = current_platform();
  std::string root;             // filesystem root prefix, "" in production; a temp dir in tests
  // macOS: the port files can outlive the GUI, so a port is trusted only if something listens on
  // 127.0.0.1:port (as the Go client does). Tests replace this to stay off the network.
  std::function<bool(int port)> probe = [](int port) { return probe_loopback_port(port); };
};

Endpoint discover_endpoint(const DiscoveryOptions& opts);

// The Linux candidates in order, without the root prefix (documented in ts-status.1 FILES).
const std::vector<std::pair<std::string, std::string>>& linux_socket_candidates();

}  // namespace tb::ts
