#pragma once
// ts-status: the subcommands' arguments and entry points. main.cpp parses flags into these structs;
// each run_* builds its request, calls libcommon, and prints records. Each returns the exit code.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/core/term.hpp"
#include "libcommon/tailscale/cancellable_client.hpp"
#include "libcommon/tailscale/health.hpp"
#include "libcommon/tailscale/localapi_client.hpp"

namespace tb::cmd {

// A running node's status gets the netmap's DNS config (search domains, split-DNS routes) that
// sb-route's preferred_by reads; a daemon that cannot give it leaves the record's lists empty.
inline void add_dns_config(ts::LocalApiClient& client, ts::Status& s) {
  if (s.backend_state != ts::BackendState::kRunning && s.backend_state != ts::BackendState::kStarting) return;
  if (auto c = client.dns_config(); c && *c) s.dns_config = std::move(**c);
}

// The IPN bus's structured health (severity, impacts_connectivity) for the record's
// health_warnings; a daemon that cannot give it leaves them [].
inline void add_health(ts::LocalApiClient& client, ts::Status& s, std::chrono::milliseconds wait) {
  if (auto h = ts::read_health(client, wait); h && *h) s.health_warnings = std::move(**h);
}

struct CommonArgs {
  std::string socket;                             // --socket PATH (else TS_SOCKET, else discovery)
  std::chrono::milliseconds timeout{5000};        // --request-timeout: per Local API request
  core::ColorMode color = core::ColorMode::kAuto;
};

struct StatusArgs {
  enum class Format { kText, kJson, kRaw, kPrometheus };
  Format format = Format::kText;
  bool peers = true;     // --peers=false
  bool active = false;   // --active
  bool self = true;      // --self=false
  std::string output;    // --output FILE (prometheus: written atomically)
  bool probe = false;    // --probe (prometheus): ping each online peer once
  std::chrono::milliseconds probe_budget{std::chrono::seconds(10)};  // --probe-budget: all pings together
};

struct CheckArgs {
  std::chrono::milliseconds warn_expiry{std::chrono::hours(24 * 14)};
  std::chrono::milliseconds crit_expiry{std::chrono::hours(24 * 3)};
  std::vector<std::string> require_peers;
  bool require_direct = false;
  bool warn_health = false;
  bool require_exit_node_online = false;   // CRITICAL without an online exit node
  std::optional<int> max_relayed;          // WARNING above this many relayed peers
  bool quiet = false;
};

struct WatchArgs {
  std::chrono::milliseconds interval{std::chrono::seconds(10)};       // safety-net refresh
  std::chrono::milliseconds expiry_warn{std::chrono::hours(24 * 7)};  // key_expiring event threshold
  bool events = true;                                                  // --events=false: status only
};

struct WaitArgs {
  std::vector<std::string> conditions;  // --for, all must hold: wait.cpp lists them
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  bool quiet = false;
};

int run_status(const CommonArgs& common, const StatusArgs& args);
int run_check(const CommonArgs& common, const CheckArgs& args);
int run_watch(const CommonArgs& common, const WatchArgs& args);
int run_wait(const CommonArgs& common, const WaitArgs& args);

// Shared by the subcommands: a Local API client that SIGINT/SIGTERM cancel.
class Client : public ts::CancellableClient {
 public:
  explicit Client(const CommonArgs& common) : CancellableClient(common.socket, common.timeout) {}
};
// Prints "ts-status: <line>" on stderr and returns the error's exit code.
int report(const core::Error& e);

// text.cpp: the table for people.
std::string render_text(const core::Json& status_record, bool show_self, bool color, int64_t now);
// prometheus.cpp: node_exporter textfile format.
std::string render_prometheus(const core::Json& status_record, bool up, int64_t now);

}  // namespace tb::cmd
