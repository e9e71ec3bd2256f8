#pragma once
// The relay: one io_context (event loop) per thread. Each inbound has one listening socket whose
// descriptor every loop watches (a dup each), so whichever loop is free accepts the next
// connection; with RelayOptions::reuseport, one SO_REUSEPORT socket per loop instead. A coroutine
// per connection (relay_session), the current plan swapped atomically. No asio in this header:
// cmd/sb-relay includes it without paying for asio.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/net/plan.hpp"
#include "libcommon/net/records.hpp"

namespace tb::net {

enum class Events { kNone, kClose, kAll };

struct RelayOptions {
  Events events = Events::kClose;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds idle_timeout{300000};
  int64_t max_connections = 4096;
  unsigned threads = 0;  // 0: one per core
  bool reuseport = false;  // one listening socket per loop (SO_REUSEPORT) instead of a shared one
  std::chrono::microseconds busy_poll{30};  // a loop polls this long after its last event before it sleeps
  bool allow_open = false;
};

// A listen address is exposed when it is not loopback; exposed without users needs allow_open.
// Returns the message to print, or "" when the inbounds may be opened.
std::string check_exposure(const std::vector<InboundSpec>& inbounds, bool allow_open);

// Whether `inbounds` are the listeners `bound`: the same tags on the same addresses, in order (a
// port of 0 matches the bound one).
bool listeners_match(const std::vector<InboundSpec>& inbounds, const std::vector<BoundInbound>& bound);

class RelayServer {
 public:
  explicit RelayServer(RelayOptions opts);
  ~RelayServer();
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  // Binds every inbound of the plan and starts the threads. kConfig / kUnavailable on failure.
  tb::core::Result<std::vector<BoundInbound>> start(std::shared_ptr<const Plan> plan);
  // New connections use `plan`; running ones keep the plan they started with. Listeners are not
  // reopened: false when `plan` names inbounds (tags, addresses, ports) other than the bound
  // ones, which then apply only after a restart.
  bool set_plan(std::shared_ptr<const Plan> plan);
  std::shared_ptr<const Plan> plan() const;
  const std::vector<BoundInbound>& bound() const;
  // Stops accepting; waits up to `deadline` for connections to end, then closes the rest and joins.
  void drain_and_stop(std::chrono::milliseconds deadline);
  int64_t active() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tb::net
