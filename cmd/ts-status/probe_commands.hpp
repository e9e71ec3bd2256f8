#pragma once
// ts-status's path and exit-node commands (ping.cpp, exit_nodes.cpp): their arguments, their
// flags (added to the app by main.cpp) and what --format prometheus --probe shares with them.

#include <chrono>
#include <string>

#include "cmd/ts-status/commands.hpp"
#include "libcommon/core/json.hpp"

namespace CLI {
class App;
}

namespace tb::cmd {

struct PingArgs {
  std::string peer;                                         // name, FQDN, host name or IP
  int count = 10;                                           // --count N (0: until interrupted)
  std::chrono::milliseconds interval{1000};                 // --interval: between attempts
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // --timeout: per ping
  std::string type = "disco";                               // --type disco|TSMP|ICMP
  bool until_direct = false;                                // stop at the first direct pong
  bool json = false;
};

struct ExitNodesArgs {
  bool json = false;
  bool probe = false;                                             // one disco ping per exit node
  std::chrono::milliseconds probe_timeout{std::chrono::seconds(3)};  // per ping
};

CLI::App* add_ping_command(CLI::App& app, PingArgs& args);
CLI::App* add_exit_nodes_command(CLI::App& app, ExitNodesArgs& args);
int run_ping(const CommonArgs& common, const PingArgs& args);
int run_exit_nodes(const CommonArgs& common, const ExitNodesArgs& args);

// The peer a user names: a Tailscale IP, FQDN (trailing dot optional), short MagicDNS name or host
// name, case-insensitively; nullptr when none is.
const ts::PeerStatus* find_peer(const ts::Status& s, const std::string& arg);
// The peer's IPv4 tailnet address (else its first one, else "").
std::string first_ipv4(const ts::PeerStatus& p);
// One disco ping of the peer within `timeout`, as ts::ping_json (a ping without a reply is
// error "timeout").
core::Json probe_peer(Client& client, const ts::PeerStatus& p, std::chrono::milliseconds timeout);

// --format prometheus --probe (prometheus.cpp): one ping per online peer within `budget` in all
// (each at most kProbePingTimeoutMs), by peer id; then the metrics with them (null: not probed).
inline constexpr int kProbePingTimeoutMs = 3000;
core::Json probe_peers(Client& client, const ts::Status& st, std::chrono::milliseconds budget);
std::string render_prometheus(const core::Json& status_record, bool up, int64_t now, const core::Json& probes);

}  // namespace tb::cmd
