// SOCKS5 UDP ASSOCIATE (RFC 1928 §7): a relay socket per association, datagrams routed per
// destination by the same Router decision as a TCP connection (cached, 1024 destinations at
// most), sent from one socket per address family, answers wrapped back in the SOCKS5 UDP header.
// Only direct outbounds (and the tailscale endpoint with a TUN) carry UDP. Each outbound's
// sockets are opened and protected by protect.hpp with its dial fields.

#include <unistd.h>

#include <array>
#include <map>

#include <asio/experimental/awaitable_operators.hpp>

#include "libcommon/net/dns_router.hpp"
#include "libcommon/net/protect.hpp"
#include "libcommon/net/session.hpp"
#include "libcommon/net/socks5.hpp"

namespace tb::net::session {

namespace {

struct UdpAssoc {
  explicit UdpAssoc(asio::any_io_executor ex) : relay(ex) {}
  udp::socket relay;
  // One protected socket per outbound and address family ("tag/4", "tag/6"), each with the
  // outbound's dial fields (protect.hpp).
  std::map<std::string, std::unique_ptr<udp::socket>> outs;
  std::optional<udp::endpoint> client_ep;
  asio::ip::address client_addr;
  struct Route {
    udp::endpoint target;
    udp::socket* out;  // nullptr: hijack-dns, answered by the DNS router
  };
  std::map<std::string, std::optional<Route>> routes;  // "host:port" → target (nullopt = dropped)
  uint64_t up = 0, down = 0;
  Clock::time_point last = Clock::now();
  bool done = false;
  void close_all() {
    done = true;
    std::error_code ec;
    relay.close(ec);
    for (auto& [k, o] : outs) o->close(ec);
  }
};

awaitable<void> udp_replies(std::shared_ptr<UdpAssoc> a, udp::socket& out) {
  std::vector<uint8_t> buf(65536);
  for (;;) {
    udp::endpoint from;
    auto [ec, n] = co_await out.async_receive_from(asio::buffer(buf), from, use_tuple);
    if (ec || a->done) co_return;
    if (!a->client_ep) continue;
    auto addr = unmapped(from.address());
    Buffer pkt = socks5::udp_header(HostPort{addr.to_string(), from.port()});
    pkt.insert(pkt.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    a->down += n;
    a->last = Clock::now();
    co_await a->relay.async_send_to(asio::buffer(pkt), *a->client_ep, use_tuple);
  }
}

// The socket toward `target` through `ob`, opened and protected on first use; nullptr (and
// `error`) when protection fails: the destination is then dropped, never sent unprotected.
awaitable<udp::socket*> out_socket(std::shared_ptr<UdpAssoc> a, const OutboundSpec& ob, const udp::endpoint& target,
                                   std::string& error) {
  std::string key = ob.tag + (target.address().is_v6() ? "/6" : "/4");
  if (auto it = a->outs.find(key); it != a->outs.end()) co_return it->second.get();
  auto p = co_await open_udp(target, ob.dial);
  if (!p.ok()) {
    error = p.error;
    co_return nullptr;
  }
  auto& out = a->outs[key] = std::make_unique<udp::socket>(std::move(*p.socket));
  asio::co_spawn(co_await asio::this_coro::executor, udp_replies(a, *out), [](std::exception_ptr) {});
  co_return out.get();
}

// A new destination: the Router's decision, then the address and the outbound's socket.
awaitable<std::optional<UdpAssoc::Route>> udp_route(Session& s, std::shared_ptr<UdpAssoc> a, const HostPort& dst) {
  auto o = co_await decide_and_dial(s, dst, "udp");
  if (!o.dial.error.empty()) co_return std::nullopt;
  if (o.hijack_dns) co_return UdpAssoc::Route{udp::endpoint(), nullptr};
  const OutboundSpec* ob = s.plan->outbound(s.info.outbound);
  if (!ob || !(ob->type == "direct" || (ob->type == "tailscale" && s.plan->tun))) {
    s.fail("UDP is not supported through outbound " + s.info.outbound);
    co_return std::nullopt;
  }
  const ResolveVia via = ResolveVia::dial(ob->tag);  // named: see resolve.hpp (g++ 12)
  auto r = co_await resolve_host(dst.host, *s.plan, via);
  if (!r.server.empty()) s.info.dns_server = r.server;
  if (r.addresses.empty()) {
    s.fail(r.error);
    co_return std::nullopt;
  }
  udp::endpoint target(r.addresses.front(), dst.port);
  s.info.ip = r.addresses.front().to_string();
  std::string error;
  udp::socket* out = co_await out_socket(a, *ob, target, error);
  if (!out) {
    s.fail(error);
    co_return std::nullopt;
  }
  co_return UdpAssoc::Route{target, out};
}

awaitable<void> udp_loop(Session& s, std::shared_ptr<UdpAssoc> a) {
  std::vector<uint8_t> buf(65536);
  for (;;) {
    udp::endpoint from;
    auto [ec, n] = co_await a->relay.async_receive_from(asio::buffer(buf), from, use_tuple);
    if (ec || a->done) co_return;
    // Only the client that opened the association may use it.
    if (unmapped(from.address()) != a->client_addr) continue;
    a->client_ep = from;
    auto h = socks5::parse_udp_header(Bytes(buf.data(), n));
    if (!h.ok()) continue;
    a->last = Clock::now();
    std::string key = h.value.str();
    auto it = a->routes.find(key);
    if (it == a->routes.end()) {
      if (a->routes.size() >= 1024) a->routes.clear();  // bounded
      auto route = co_await udp_route(s, a, h.value);
      if (a->done) co_return;
      it = a->routes.emplace(key, route).first;
    }
    if (!it->second) continue;
    size_t payload = n - h.used;
    a->up += payload;
    if (!it->second->out) {  // hijack-dns: the answer comes back from the destination the client named
      Buffer answer = co_await dns_answer(*s.plan, Bytes(buf.data() + h.used, payload), nullptr);
      if (answer.empty() || a->done) continue;
      Buffer pkt = socks5::udp_header(h.value);
      pkt.insert(pkt.end(), answer.begin(), answer.end());
      a->down += answer.size();
      co_await a->relay.async_send_to(asio::buffer(pkt), from, use_tuple);
      continue;
    }
    co_await it->second->out->async_send_to(asio::buffer(buf.data() + h.used, payload), it->second->target, use_tuple);
  }
}

// The association lives as long as the TCP connection that asked for it (RFC 1928 §7).
awaitable<void> udp_control(Session& s, std::shared_ptr<UdpAssoc> a) {
  std::array<uint8_t, 512> sink;
  for (;;) {
    auto [ec, n] = co_await s.client.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
  }
  a->close_all();
}

void arm_udp_idle(std::shared_ptr<UdpAssoc> a, std::shared_ptr<asio::steady_timer> t, std::chrono::milliseconds idle,
                  tcp::socket* client) {
  t->expires_at(a->last + idle);
  t->async_wait([a, t, idle, client](std::error_code ec) {
    if (ec || a->done) return;
    if (Clock::now() - a->last >= idle) {
      std::error_code ignored;
      client->close(ignored);
      a->close_all();
      return;
    }
    arm_udp_idle(a, t, idle, client);
  });
}

}  // namespace

awaitable<void> udp_associate(Session& s) {
  auto ex = co_await asio::this_coro::executor;
  s.info.protocol = "socks5-udp";
  auto a = std::make_shared<UdpAssoc>(ex);
  std::error_code ec;
  auto local = s.client.local_endpoint(ec);
  auto peer = s.client.remote_endpoint(ec);
  std::string error;
  if (!ec) a->client_addr = unmapped(peer.address());
  // The inbound's listen fields, as sing-box's listener.ListenPacket applies them.
  int fd = ec ? -1 : open_socket_fd(SocketKind::kUdp, local.address().is_v6(), s.ctx.spec->socket, error);
  if (fd >= 0) a->relay.assign(local.address().is_v6() ? udp::v6() : udp::v4(), fd, ec);
  if (fd >= 0 && ec) ::close(fd);
  if (fd >= 0 && !ec) error = protect_listener(fd, SocketKind::kUdp, s.ctx.spec->socket);
  if (fd >= 0 && !ec && error.empty()) a->relay.bind(udp::endpoint(local.address(), 0), ec);
  if (ec || !error.empty()) {
    s.fail("UDP relay socket: " + (ec ? ec.message() : error));
    Buffer msg3 = socks5::reply(socks5::Reply::kGeneralFailure);
    co_await write_all(s.client, Bytes(msg3));
    co_return;
  }
  auto bound = a->relay.local_endpoint(ec);
  Buffer msg4 = socks5::reply(socks5::Reply::kSucceeded, {bound.address().to_string(), bound.port()});
  if (!co_await write_all(s.client, Bytes(msg4)))
    co_return;
  s.info.host = bound.address().to_string();
  auto timer = std::make_shared<asio::steady_timer>(ex);
  arm_udp_idle(a, timer, s.ctx.shared->opts.idle_timeout, &s.client);
  using namespace asio::experimental::awaitable_operators;
  co_await (udp_control(s, a) && udp_loop(s, a));
  a->close_all();
  timer->cancel();
  s.info.bytes_up = a->up;
  s.info.bytes_down = a->down;
}

}  // namespace tb::net::session
