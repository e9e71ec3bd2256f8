#pragma once
// One client connection, as one coroutine of named steps:
//   detect → greeting → auth → request → decide → dial → reply → pump
// for SOCKS5 (CONNECT, UDP ASSOCIATE), SOCKS4/4a and HTTP (CONNECT and absolute-URI forwarding).
// The byte work is done by the pure codecs (socks5.hpp, socks4.hpp, http_proxy.hpp); errors are
// values; the handshake races a watchdog. The steps are in relay_session.cpp (core, SOCKS),
// http_session.cpp and udp_associate.cpp, sharing session.hpp. Internal header: it includes asio.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "libcommon/net/io.hpp"
#include "libcommon/net/plan.hpp"
#include "libcommon/net/server.hpp"

namespace tb::net {

// What every session shares: the current plan, counters, options.
struct RelayShared {
  RelayOptions opts;
  mutable std::mutex mu;
  std::shared_ptr<const Plan> plan;
  std::atomic<uint64_t> next_id{1};
  std::atomic<int64_t> active{0};
  std::atomic<int64_t> refusing{0};
  std::atomic<bool> draining{false};

  std::shared_ptr<const Plan> current() const {
    std::lock_guard lock(mu);
    return plan;
  }
};

struct InboundCtx {
  // Tag, type and listen address; users come from the session's plan. Shared, not copied: every
  // session of the inbound points at the one spec (a copy cost each held connection ~0.9 KB).
  std::shared_ptr<const InboundSpec> spec;
  std::shared_ptr<RelayShared> shared;
};

// `peer` is the client's address as accept() returned it.
awaitable<void> run_session(tcp::socket client, tcp::endpoint peer, InboundCtx ctx);
// Beyond the connection cap: answer in the client's protocol that we are busy, then close.
awaitable<void> refuse_session(tcp::socket client, tcp::endpoint peer, InboundCtx ctx);
// Sessions running on the calling thread's event loop.
int loop_sessions();

}  // namespace tb::net
