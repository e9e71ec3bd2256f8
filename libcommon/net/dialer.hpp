#pragma once
// Reaching a destination through one outbound: name resolution (resolve.hpp), every socket
// opened and protected by protect.hpp (all dial fields), a connect timeout, happy eyeballs
// (dial_addresses.cpp, RFC 8305: families interleaved, a new attempt after fallback_delay, first
// success wins), and the upstream handshakes of socks and http outbounds. Internal header: it
// includes asio.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/net/address.hpp"
#include "libcommon/net/io.hpp"
#include "libcommon/net/outbound.hpp"
#include "libcommon/net/plan.hpp"
#include "libcommon/net/resolve.hpp"
#include "libcommon/net/socks5.hpp"

namespace tb::net {

struct DialResult {
  std::optional<tcp::socket> socket;
  std::string ip;     // address connected to ("" when an upstream proxy resolved it)
  std::string error;  // non-empty on failure
  std::string dns_server;  // the DNS server tag that resolved the destination ("" if none did)
  socks5::Reply reply = socks5::Reply::kSucceeded;
  int http_status = 200;
  bool ok() const { return socket.has_value() && error.empty(); }
};

// A failed dial: its error, SOCKS5 reply and HTTP status.
inline DialResult failure(std::string msg, socks5::Reply reply, int http) {
  DialResult r;
  r.error = std::move(msg);
  r.reply = reply;
  r.http_status = http;
  return r;
}

// Opens, protects and connects a socket to one of `addrs` (happy eyeballs when several).
awaitable<DialResult> dial_addresses(std::vector<asio::ip::address> addrs, uint16_t port, const DialOptions& opts);

// The whole outbound: direct, block, socks, http or the tailscale endpoint.
awaitable<DialResult> connect_outbound(const Plan& plan, const OutboundSpec& ob, const HostPort& dst);

// errno of a failed dial → SOCKS5 reply code and HTTP status.
void classify_error(const std::error_code& ec, DialResult& r);

}  // namespace tb::net
