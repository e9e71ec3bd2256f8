#pragma once
// The session core shared by the protocol handlers of relay_session.cpp (SOCKS5, SOCKS4/4a),
// http_session.cpp (HTTP proxy) and udp_associate.cpp (SOCKS5 UDP ASSOCIATE): one client
// connection's state, its handshake watchdog, buffered reads through the pure codecs, and the
// decide → dial step every protocol ends in. Internal header: it includes asio.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libcommon/net/bytes.hpp"
#include "libcommon/net/dialer.hpp"
#include "libcommon/net/io.hpp"
#include "libcommon/net/records.hpp"
#include "libcommon/net/relay_session.hpp"

namespace tb::net::session {

using Clock = std::chrono::steady_clock;

struct Session {
  Session(tcp::socket c, tcp::endpoint p, InboundCtx x)
      : client(std::move(c)), peer(p), ctx(std::move(x)), hs_timer(client.get_executor()) {}
  tcp::socket client;
  tcp::endpoint peer;
  InboundCtx ctx;
  std::shared_ptr<const Plan> plan;
  // The inbound's users, in `plan` (or the spec): not copied per connection.
  const std::vector<std::pair<std::string, std::string>>* users = nullptr;
  ConnInfo info;
  Buffer buf;
  Clock::time_point start = Clock::now();
  asio::steady_timer hs_timer;
  std::shared_ptr<bool> hs_armed = std::make_shared<bool>(false);
  bool opened = false;
  bool between_requests = false;  // HTTP keep-alive: a close here is a normal end
  bool process_checked = false;   // the client's process was looked up (once per connection)
  // Set by a handshake that ends in a relayed connection. The handshake's coroutine frames (large:
  // every local of every step) are freed before run_session relays, so a held connection costs
  // only the relay's own state.
  std::optional<tcp::socket> upstream;

  void fail(std::string e) {
    if (info.error.empty()) info.error = std::move(e);
  }
  // The watchdog closes the client when a step takes too long (slowloris).
  void arm(std::chrono::milliseconds d);
  void disarm();
};

// Whether user:password is one of `users`, in time that does not depend on where they differ.
bool check_user(const std::vector<std::pair<std::string, std::string>>& users, const std::string& user,
                const std::string& password);

// The address, an IPv4-mapped IPv6 one (a dual-stack socket's view of an IPv4 peer) as IPv4.
asio::ip::address unmapped(asio::ip::address a);

// Reads more of the client's bytes into s.buf (at most `max` buffered); false at the end.
awaitable<bool> read_more(Session& s, size_t max);

// Reads until `parse` is done or bad; consumes the bytes of a done message.
template <typename T, typename F>
awaitable<Parsed<T>> read_parsed(Session& s, size_t max, F parse) {
  for (;;) {
    Parsed<T> p = parse(Bytes(s.buf.data(), s.buf.size()));
    if (p.status == ParseStatus::kDone) {
      s.buf.erase(s.buf.begin(), s.buf.begin() + static_cast<std::ptrdiff_t>(p.used));
      co_return p;
    }
    if (p.status == ParseStatus::kBad) co_return p;
    if (!co_await read_more(s, max)) co_return Parsed<T>::need_more();
  }
}

awaitable<bool> write_all(tcp::socket& sock, Bytes data);
awaitable<bool> write_all(tcp::socket& sock, std::string_view data);

struct Outcome {
  DialResult dial;
  bool drop = false;  // a reject rule's "drop": close without an answer
  bool hijack_dns = false;  // hijack-dns on "udp": the association answers the datagrams itself
};
// The Router's decision for `dst`, then the outbound's dial (for "udp", the decision only: the
// UDP relay dials per datagram). Records the connection's open event.
awaitable<Outcome> decide_and_dial(Session& s, const HostPort& dst, const std::string& network);

awaitable<void> serve_http(Session& s);     // http_session.cpp
awaitable<void> udp_associate(Session& s);  // udp_associate.cpp: after the SOCKS5 request

}  // namespace tb::net::session
