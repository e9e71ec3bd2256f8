#include "libcommon/net/dialer.hpp"

#include <net/if.h>

#include <chrono>
#include <memory>

#include "libcommon/core/strings.hpp"
#include "libcommon/net/dns.hpp"
#include "libcommon/net/http_proxy.hpp"
#include "libcommon/net/localapi_dial.hpp"

namespace tb::net {

using namespace std::chrono_literals;

void classify_error(const std::error_code& ec, DialResult& r) {
  using socks5::Reply;
  if (ec == asio::error::connection_refused) {
    r.reply = Reply::kConnectionRefused;
    r.http_status = 502;
  } else if (ec == asio::error::network_unreachable) {
    r.reply = Reply::kNetworkUnreachable;
    r.http_status = 502;
  } else if (ec == asio::error::host_unreachable) {
    r.reply = Reply::kHostUnreachable;
    r.http_status = 502;
  } else if (ec == asio::error::timed_out || ec == asio::error::operation_aborted) {
    r.reply = Reply::kTtlExpired;
    r.http_status = 504;
  } else if (ec == asio::error::no_permission || ec == std::errc::operation_not_permitted) {
    r.reply = Reply::kNotAllowed;
    r.http_status = 403;
  } else {
    r.reply = Reply::kGeneralFailure;
    r.http_status = 502;
  }
}

namespace {

// Reads into buf until parse() is done or bad, bounded by the buffer size.
template <typename ParseFn>
awaitable<std::pair<bool, size_t>> read_until_parsed(tcp::socket& s, Buffer& buf, size_t max, ParseFn parse) {
  for (;;) {
    auto st = parse(Bytes(buf.data(), buf.size()));
    if (st != ParseStatus::kNeedMore) co_return std::make_pair(st == ParseStatus::kDone, buf.size());
    if (buf.size() >= max) co_return std::make_pair(false, buf.size());
    size_t old = buf.size();
    buf.resize(max);
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf.data() + old, max - old), use_tuple);
    buf.resize(old + n);
    if (ec) co_return std::make_pair(false, buf.size());
  }
}

awaitable<DialResult> socks5_upstream(DialResult up, const OutboundSpec& ob, const HostPort& dst) {
  auto& s = *up.socket;
  bool auth = !ob.username.empty();
  Buffer hello = auth ? Buffer{5, 2, socks5::kMethodNoAuth, socks5::kMethodUserPass} : Buffer{5, 1, socks5::kMethodNoAuth};
  auto fail_up = [&](std::string msg) {
    return failure("socks upstream " + ob.server.str() + ": " + msg, socks5::Reply::kGeneralFailure, 502);
  };
  auto [we, wn] = co_await asio::async_write(s, asio::buffer(hello), use_tuple);
  if (we) co_return fail_up(we.message());
  Buffer buf;
  Parsed<uint8_t> method;
  auto [ok, n] = co_await read_until_parsed(s, buf, 2, [&](Bytes b) { return (method = socks5::parse_method_reply(b)).status; });
  if (!ok) co_return fail_up("no method reply");
  if (method.value == socks5::kMethodUserPass) {
    auto req = socks5::user_pass_request(ob.username, ob.password);
    auto [e2, n2] = co_await asio::async_write(s, asio::buffer(req), use_tuple);
    if (e2) co_return fail_up(e2.message());
    buf.clear();
    Parsed<bool> ar;
    auto [ok2, n3] = co_await read_until_parsed(s, buf, 2, [&](Bytes b) { return (ar = socks5::parse_user_pass_reply(b)).status; });
    if (!ok2 || !ar.value) co_return fail_up("authentication failed");
  } else if (method.value != socks5::kMethodNoAuth) {
    co_return fail_up("no acceptable authentication method");
  }
  auto req = socks5::connect_request(dst);
  auto [e3, n4] = co_await asio::async_write(s, asio::buffer(req), use_tuple);
  if (e3) co_return fail_up(e3.message());
  buf.clear();
  Parsed<socks5::ReplyMsg> rep;
  auto [ok3, n5] = co_await read_until_parsed(s, buf, 262, [&](Bytes b) { return (rep = socks5::parse_reply(b)).status; });
  if (!ok3) co_return fail_up("bad CONNECT reply");
  if (rep.value.code != socks5::Reply::kSucceeded) {
    auto r = failure("socks upstream " + ob.server.str() + ": " + std::string(socks5::reply_name(rep.value.code)),
                     rep.value.code, rep.value.code == socks5::Reply::kNotAllowed ? 403 : 502);
    co_return r;
  }
  up.ip.clear();
  co_return up;
}

awaitable<DialResult> http_upstream(DialResult up, const OutboundSpec& ob, const HostPort& dst) {
  auto& s = *up.socket;
  std::string req = "CONNECT " + dst.str() + " HTTP/1.1\r\nHost: " + dst.str() + "\r\n";
  if (!ob.username.empty())
    req += "Proxy-Authorization: Basic " + core::base64_encode(ob.username + ":" + ob.password) + "\r\n";
  req += "\r\n";
  auto fail_up = [&](std::string msg) {
    return failure("http upstream " + ob.server.str() + ": " + msg, socks5::Reply::kGeneralFailure, 502);
  };
  auto [we, wn] = co_await asio::async_write(s, asio::buffer(req), use_tuple);
  if (we) co_return fail_up(we.message());
  // Read byte-wise up to the end of the head so nothing of the tunnel is consumed.
  Buffer buf;
  Parsed<http::ResponseHead> head;
  while (true) {
    head = http::parse_response_head(Bytes(buf.data(), buf.size()));
    if (head.status != ParseStatus::kNeedMore) break;
    if (buf.size() >= http::kMaxHead) break;
    uint8_t c;
    auto [ec, n] = co_await asio::async_read(s, asio::buffer(&c, 1), use_tuple);
    if (ec) co_return fail_up("no CONNECT reply: " + ec.message());
    buf.push_back(c);
  }
  if (!head.ok()) co_return fail_up("bad CONNECT reply");
  if (head.value.status / 100 != 2) {
    auto r = fail_up("CONNECT answered " + std::to_string(head.value.status));
    r.http_status = head.value.status == 403 ? 403 : 502;
    if (head.value.status == 403) r.reply = socks5::Reply::kNotAllowed;
    co_return r;
  }
  up.ip.clear();
  co_return up;
}

// A destination that did not resolve: host unreachable, with the DNS server that said so.
DialResult resolve_failure(const Resolved& res) {
  auto r = failure(res.error, socks5::Reply::kHostUnreachable, 502);
  r.dns_server = res.server;
  return r;
}

}  // namespace

awaitable<DialResult> connect_outbound(const Plan& plan, const OutboundSpec& ob, const HostPort& dst) {
  if (ob.type == "block") co_return failure("blocked by outbound " + ob.tag, socks5::Reply::kNotAllowed, 403);
  if (ob.type == "direct") {
    const ResolveVia via = ResolveVia::dial(ob.tag);  // named: see resolve.hpp (g++ 12)
    auto res = co_await resolve_host(dst.host, plan, via);
    if (!res.error.empty()) co_return resolve_failure(res);
    auto r = co_await dial_addresses(std::move(res.addresses), dst.port, ob.dial);
    r.dns_server = res.server;
    co_return r;
  }
  if (ob.type == "socks" || ob.type == "http") {
    if (ob.type == "socks" && ob.socks_version != "5")
      co_return failure("socks upstream version " + ob.socks_version + " is not supported (only 5)",
                        socks5::Reply::kGeneralFailure, 502);
    DialResult up;
    if (const auto* via = plan.outbound(ob.dial.detour)) {  // sing-box's detour: the name goes on unresolved
      up = co_await connect_outbound(plan, *via, ob.server);   // (missing tags, cycles: refused at compile)
      if (!up.ok()) co_return up;
    } else {
      const ResolveVia by = ResolveVia::dial(ob.tag);
      auto res = co_await resolve_host(ob.server.host, plan, by);
      if (!res.error.empty()) co_return failure(res.error, socks5::Reply::kGeneralFailure, 502);
      up = co_await dial_addresses(std::move(res.addresses), ob.server.port, ob.dial);
    }
    if (!up.ok()) {
      up.error = ob.type + " upstream " + ob.server.str() + ": " + up.error;
      co_return up;
    }
    if (ob.type == "socks") co_return co_await socks5_upstream(std::move(up), ob, dst);
    co_return co_await http_upstream(std::move(up), ob, dst);
  }
  if (ob.type == "tailscale") {
    // A destination equal to one of the node's own tailnet addresses is this host: loopback,
    // as the Go endpoint rewrites it.
    HostPort target = dst;
    if (auto ip = tb::route::IpAddr::parse(dst.host))
      for (const auto& self : plan.self_ips)
        if (self == *ip) target.host = ip->v4 ? "127.0.0.1" : "::1";
    if (auto via = co_await tailnet_dial_hook(plan, ob, target)) co_return std::move(*via);  // Local API dial
    if (plan.tun) {
      if (target.host != "127.0.0.1" && target.host != "::1" && if_nametoindex("tailscale0") == 0)
        co_return failure("tailscale endpoint " + ob.tag +
                              ": the status says tailscaled uses a TUN but there is no tailscale0 interface",
                          socks5::Reply::kNetworkUnreachable, 502);
      const ResolveVia by = ResolveVia::dial(ob.tag);
      auto res = co_await resolve_host(target.host, plan, by);
      if (!res.error.empty()) co_return resolve_failure(res);
      auto r = co_await dial_addresses(std::move(res.addresses), target.port, ob.dial);
      r.dns_server = res.server;
      co_return r;
    }
    // Userspace networking: through tailscaled's own proxy.
    if (target.host == "127.0.0.1" || target.host == "::1") {
      const ResolveVia none;
      auto res = co_await resolve_host(target.host, plan, none);
      co_return co_await dial_addresses(std::move(res.addresses), target.port, ob.dial);
    }
    OutboundSpec proxy;
    if (!ob.detour.empty()) {
      const auto* d = plan.outbound(ob.detour);
      if (!d || (d->type != "socks" && d->type != "http"))
        co_return failure("tailscale endpoint " + ob.tag + ": detour " + ob.detour + " is not a socks or http outbound",
                          socks5::Reply::kGeneralFailure, 502);
      proxy = *d;
    } else {
      proxy.tag = ob.tag + "/socks5";
      proxy.type = "socks";
      proxy.server = HostPort{"127.0.0.1", 1055};
    }
    // MagicDNS names are resolved here, from the plan; tailscaled resolves anything else.
    std::string name = normalize_name(target.host);
    if (auto it = plan.magic_dns().find(name); it != plan.magic_dns().end() && !it->second.empty())
      target.host = it->second.front().str();
    co_return co_await connect_outbound(plan, proxy, target);
  }
  co_return failure("outbound " + ob.tag + " has unsupported type " + ob.type, socks5::Reply::kGeneralFailure, 502);
}

}  // namespace tb::net
