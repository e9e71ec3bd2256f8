#pragma once
// StatusFollower: keeps a fresh status record for `watch` and `wait`.
//
// A ts::BusFollower (its own thread) marks the state dirty on every Notify; the caller then
// re-reads /status (a Linux daemon ≥1.100 pushes no netmaps, so the status document is
// the one complete source). Notifies are coalesced (50 ms quiet, 250 ms at most) so a churning
// tailnet costs one read per burst, and the read always happens after the last Notify: the final
// state is never missed. A timer re-reads every `interval` as a safety net for daemons whose bus
// says nothing about a change. When the stream breaks the bus follower reconnects with backoff
// (250 ms doubling to 5 s) for ever; this reports the daemon going away and coming back.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "cmd/ts-status/commands.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/tailscale/bus_follower.hpp"
#include "libcommon/tailscale/health.hpp"

namespace tb::cmd {

class StatusFollower {
 public:
  StatusFollower(const CommonArgs& common, std::chrono::milliseconds interval);
  ~StatusFollower();
  StatusFollower(const StatusFollower&) = delete;
  StatusFollower& operator=(const StatusFollower&) = delete;

  struct Update {
    core::Json record;                 // a status record (maybe daemon_unreachable/access_denied)
    std::vector<core::Json> events;    // from the bus: daemon gone/back, backend errors, auth URLs
    bool reconnected = false;          // the bus came back after a break: re-announce
    bool timed_out = false;            // deadline reached before anything changed
    bool interrupted = false;          // SIGINT/SIGTERM
  };

  // The first call reads at once; later calls block until the bus reports something, the
  // interval passes, or the deadline. Reads the status before returning (except on timeout).
  Update next(std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

 private:
  void on_bus(const ts::BusEvent& e);
  void stop();

  std::unique_ptr<ts::LocalApiClient> req_client_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true;
  bool stop_ = false;
  bool reconnected_ = false;
  bool daemon_down_ = false;  // announced as a daemon event (by the bus or a failed status read)
  std::optional<std::chrono::steady_clock::time_point> retry_at_;  // after a failed status read
  std::chrono::milliseconds retry_backoff_{250};
  std::deque<core::Json> events_;
  std::optional<std::vector<ts::HealthWarning>> health_;  // the bus's last health.State
  int interrupt_handle_ = 0;
  std::unique_ptr<ts::BusFollower> bus_;  // last: its thread calls on_bus
};

}  // namespace tb::cmd
