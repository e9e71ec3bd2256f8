#include "libcommon/net/dialer.hpp"

#include <poll.h>

#include <net/if.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>

#include "libcommon/net/dns.hpp"
#include "libcommon/net/http_proxy.hpp"
#include "libcommon/net/localapi_dial.hpp"

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

namespace tb::net {

using namespace std::chrono_literals;

std::string protect_socket(int fd, bool /*v6*/, const DialOptions& opts) {
  if (opts.routing_mark) {
    uint32_t mark = *opts.routing_mark;
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
      return std::string("set routing_mark (SO_MARK needs CAP_NET_ADMIN): ") + std::strerror(errno);
  }
  if (!opts.bind_interface.empty()) {
    unsigned idx = if_nametoindex(opts.bind_interface.c_str());
    if (idx == 0) return "bind_interface " + opts.bind_interface + ": no such interface";
    int i = static_cast<int>(idx);
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &i, sizeof i) != 0) {
      if (errno != ENOPROTOOPT && errno != EINVAL)
        return "bind_interface " + opts.bind_interface + ": " + std::strerror(errno);
      if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, opts.bind_interface.c_str(),
                     static_cast<socklen_t>(opts.bind_interface.size())) != 0)
        return "bind_interface " + opts.bind_interface + ": " + std::strerror(errno);
    }
  }
  return "";
}

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

DialResult failure(std::string msg, socks5::Reply reply, int http) {
  DialResult r;
  r.error = std::move(msg);
  r.reply = reply;
  r.http_status = http;
  return r;
}

// RFC 8305 §4: alternate families, starting with the first one the resolver returned.
std::vector<asio::ip::address> interleave(const std::vector<asio::ip::address>& in) {
  std::vector<asio::ip::address> v6, v4, out;
  for (const auto& a : in) (a.is_v6() ? v6 : v4).push_back(a);
  bool six_first = !in.empty() && in.front().is_v6();
  auto& first = six_first ? v6 : v4;
  auto& second = six_first ? v4 : v6;
  for (size_t i = 0; i < std::max(first.size(), second.size()); ++i) {
    if (i < first.size()) out.push_back(first[i]);
    if (i < second.size()) out.push_back(second[i]);
  }
  return out;
}

struct Race {
  explicit Race(asio::any_io_executor ex) : wake(ex) {}
  std::vector<std::unique_ptr<tcp::socket>> attempts;
  std::optional<tcp::socket> winner;
  std::string winner_ip;
  std::error_code last_error;
  int pending = 0;
  bool finished = false;
  bool timed_out = false;
  asio::steady_timer wake;
};

// The outcome of a connect() that has finished (the socket is writable): SO_ERROR.
std::error_code connect_result(tcp::socket& sock) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err ? std::error_code(err, asio::error::get_system_category()) : std::error_code{};
}

// A non-blocking connect(). Loopback (and other local) connects are usually established, or
// refused, by the time connect() returns: a zero-timeout poll() then settles it without the
// reactor. `pending` says the caller must wait (finish_connect).
std::error_code begin_connect(tcp::socket& sock, const tcp::endpoint& ep, bool& pending) {
  pending = false;
  std::error_code ec;
  if (!sock.native_non_blocking()) sock.native_non_blocking(true, ec);
  if (ec) return ec;
  if (::connect(sock.native_handle(), ep.data(), static_cast<socklen_t>(ep.size())) == 0) return {};
  if (errno != EINPROGRESS && errno != EINTR) return std::error_code(errno, asio::error::get_system_category());
  struct pollfd pfd {sock.native_handle(), POLLOUT, 0};
  if (::poll(&pfd, 1, 0) != 1) {
    pending = true;
    return {};
  }
  return connect_result(sock);
}

// The wait for writability, then SO_ERROR: what async_connect does, less the poll() it adds.
awaitable<std::error_code> finish_connect(tcp::socket& sock) {
  auto [we] = co_await sock.async_wait(tcp::socket::wait_write, use_tuple);
  if (we) co_return we;
  co_return connect_result(sock);
}

// One attempt of the race; `started` when begin_connect already left it pending.
awaitable<void> attempt(std::shared_ptr<Race> race, size_t i, tcp::endpoint ep, bool started) {
  std::error_code ec;
  bool pending = started;
  if (!started) ec = begin_connect(*race->attempts[i], ep, pending);
  if (pending) ec = co_await finish_connect(*race->attempts[i]);
  --race->pending;
  if (!ec && !race->finished) {
    race->finished = true;
    race->winner.emplace(std::move(*race->attempts[i]));
    race->winner_ip = ep.address().to_string();
  } else if (ec) {
    race->last_error = ec;
  }
  race->wake.cancel();
}

// Every attempt failed: the last connect error, or else why no socket could be set up.
DialResult dial_failure(const std::error_code& last_error, const std::string& setup_error) {
  if (!last_error) return failure(setup_error.empty() ? "connect failed" : setup_error, socks5::Reply::kGeneralFailure, 502);
  DialResult r;
  r.error = "connect: " + last_error.message();
  classify_error(last_error, r);
  return r;
}

// A socket for one address, protected and bound as the outbound says; nullptr and `error` set
// when that fails.
std::unique_ptr<tcp::socket> open_attempt(asio::any_io_executor ex, const tcp::endpoint& ep, const DialOptions& opts,
                                          std::string& error) {
  auto sock = std::make_unique<tcp::socket>(ex);
  std::error_code ec;
  sock->open(ep.protocol(), ec);
  if (ec) {
    error = "socket: " + ec.message();
    return nullptr;
  }
  bool v6 = ep.address().is_v6();
  if (auto err = protect_socket(sock->native_handle(), v6, opts); !err.empty()) {
    error = err;
    return nullptr;
  }
  const std::string& bind = v6 ? opts.inet6_bind_address : opts.inet4_bind_address;
  if (!bind.empty()) {
    auto ba = asio::ip::make_address(bind, ec);
    if (!ec) sock->bind(tcp::endpoint(ba, 0), ec);
    if (ec) {
      error = "bind " + bind + ": " + ec.message();
      return nullptr;
    }
  }
  return sock;
}

}  // namespace

awaitable<DialResult> dial_addresses(std::vector<asio::ip::address> addrs, uint16_t port, const DialOptions& opts) {
  auto ex = co_await asio::this_coro::executor;
  if (addrs.empty()) co_return failure("no address to dial", socks5::Reply::kHostUnreachable, 502);
  addrs = interleave(addrs);
  std::string setup_error;
  // The first address first, without the race's timers and coroutines: when its connect settles at
  // once (a local destination, an immediate refusal), that is the whole dial.
  tcp::endpoint first_ep(addrs[0], port);
  auto first = open_attempt(ex, first_ep, opts, setup_error);
  bool first_pending = false;
  std::error_code first_error;
  if (first) {
    first_error = begin_connect(*first, first_ep, first_pending);
    if (!first_pending && !first_error) {
      DialResult r;
      r.socket.emplace(std::move(*first));
      r.ip = addrs[0].to_string();
      co_return r;
    }
    if (!first_pending) first.reset();
  }
  if (!first_pending && addrs.size() == 1) co_return dial_failure(first_error, setup_error);
  auto race = std::make_shared<Race>(ex);
  race->last_error = first_error;
  auto deadline = std::chrono::steady_clock::now() + opts.connect_timeout;
  asio::steady_timer watchdog(ex, opts.connect_timeout);
  watchdog.async_wait([race](std::error_code e) {
    if (e || race->finished) return;
    race->timed_out = true;
    for (auto& s : race->attempts)
      if (s) s->close();
    race->wake.cancel();
  });
  for (size_t i = 0; i < addrs.size() && !race->finished && !race->timed_out; ++i) {
    tcp::endpoint ep(addrs[i], port);
    bool started = i == 0 && first_pending;
    if (i == 0 && !first_pending) continue;  // settled above (refused, or no socket)
    auto sock = started ? std::move(first) : open_attempt(ex, ep, opts, setup_error);
    if (!sock) continue;
    race->attempts.push_back(std::move(sock));
    ++race->pending;
    asio::co_spawn(ex, attempt(race, race->attempts.size() - 1, ep, started), [](std::exception_ptr) {});
    if (i + 1 == addrs.size()) break;
    // Wait up to 250 ms (RFC 8305's connection attempt delay), less when every attempt so far failed.
    auto next = std::chrono::steady_clock::now() + 250ms;
    while (!race->finished && !race->timed_out && race->pending > 0 && std::chrono::steady_clock::now() < next) {
      race->wake.expires_at(next);
      co_await race->wake.async_wait(use_tuple);
    }
  }
  while (!race->finished && !race->timed_out && race->pending > 0) {
    race->wake.expires_at(deadline + 1s);
    co_await race->wake.async_wait(use_tuple);
  }
  bool timed_out = race->timed_out;
  watchdog.cancel();
  for (auto& s : race->attempts)
    if (s && s->is_open()) s->close();
  if (race->finished && race->winner) {
    DialResult r;
    r.socket.emplace(std::move(*race->winner));
    r.ip = race->winner_ip;
    co_return r;
  }
  if (timed_out)
    co_return failure("connect timed out after " + std::to_string(opts.connect_timeout.count()) + " ms",
                      socks5::Reply::kTtlExpired, 504);
  co_return dial_failure(race->last_error, setup_error);
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
    req += "Proxy-Authorization: Basic " + http::base64_encode(ob.username + ":" + ob.password) + "\r\n";
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

}  // namespace

awaitable<DialResult> connect_outbound(const Plan& plan, const OutboundSpec& ob, const HostPort& dst) {
  if (ob.type == "block") co_return failure("blocked by outbound " + ob.tag, socks5::Reply::kNotAllowed, 403);
  if (ob.type == "direct") {
    auto res = co_await resolve_host(dst.host, plan);
    if (!res.error.empty()) co_return failure(res.error, socks5::Reply::kHostUnreachable, 502);
    co_return co_await dial_addresses(std::move(res.addresses), dst.port, ob.dial);
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
      auto res = co_await resolve_host(ob.server.host, plan);
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
      auto res = co_await resolve_host(target.host, plan);
      if (!res.error.empty()) co_return failure(res.error, socks5::Reply::kHostUnreachable, 502);
      co_return co_await dial_addresses(std::move(res.addresses), target.port, ob.dial);
    }
    // Userspace networking: through tailscaled's own proxy.
    if (target.host == "127.0.0.1" || target.host == "::1") {
      auto res = co_await resolve_host(target.host, plan);
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
