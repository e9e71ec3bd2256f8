#pragma once
// Reaching a destination through one outbound: name resolution (MagicDNS from the plan first,
// other names under the tailnet suffix from 100.100.100.100, the rest through asio's resolver,
// which runs getaddrinfo off the event loop), socket protection (SO_MARK, SO_BINDTOIFINDEX with
// a SO_BINDTODEVICE fallback, bind addresses), a connect timeout, happy eyeballs (RFC 8305:
// families interleaved, a new attempt every 250 ms, first success wins), and the upstream
// handshakes of socks and http outbounds. Internal header: it includes asio.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/net/address.hpp"
#include "libcommon/net/io.hpp"
#include "libcommon/net/outbound.hpp"
#include "libcommon/net/plan.hpp"
#include "libcommon/net/socks5.hpp"

namespace tb::net {

struct DialResult {
  std::optional<tcp::socket> socket;
  std::string ip;     // address connected to ("" when an upstream proxy resolved it)
  std::string error;  // non-empty on failure
  socks5::Reply reply = socks5::Reply::kSucceeded;
  int http_status = 200;
  bool ok() const { return socket.has_value() && error.empty(); }
};

struct Resolved {
  std::vector<asio::ip::address> addresses;
  std::string error;
};

awaitable<Resolved> resolve_host(const std::string& host, const Plan& plan);

// A and AAAA for `name` from one DNS server (tailscaled's 100.100.100.100:53 for names under the
// tailnet suffix), asked at once on one socket, each query with its own random ID; an answer
// counts only when its ID, type and question match one of ours. Both answers, or whatever came
// within `timeout`; A before AAAA.
awaitable<Resolved> ask_dns(const std::string& name, udp::endpoint server, std::chrono::milliseconds timeout);

// Opens, protects and connects a socket to one of `addrs` (happy eyeballs when several).
awaitable<DialResult> dial_addresses(std::vector<asio::ip::address> addrs, uint16_t port, const DialOptions& opts);

// The whole outbound: direct, block, socks, http or the tailscale endpoint.
awaitable<DialResult> connect_outbound(const Plan& plan, const OutboundSpec& ob, const HostPort& dst);

// Applies the dial fields to an open socket; returns an error text or "".
std::string protect_socket(int fd, bool v6, const DialOptions& opts);

// errno of a failed dial → SOCKS5 reply code and HTTP status.
void classify_error(const std::error_code& ec, DialResult& r);

}  // namespace tb::net
