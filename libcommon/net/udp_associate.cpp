// SOCKS5 UDP ASSOCIATE (RFC 1928 §7): a relay socket per association, datagrams routed per
// destination by the same Router decision as a TCP connection (cached, 1024 destinations at
// most), sent from one socket per address family, answers wrapped back in the SOCKS5 UDP header.
// Only direct outbounds (and the tailscale endpoint with a TUN) carry UDP.

#include <array>
#include <map>

#include <asio/experimental/awaitable_operators.hpp>

#include "libcommon/net/session.hpp"
#include "libcommon/net/socks5.hpp"

namespace tb::net::session {

namespace {

struct UdpAssoc {
  explicit UdpAssoc(asio::any_io_executor ex) : relay(ex), out4(ex), out6(ex) {}
  udp::socket relay, out4, out6;
  std::optional<udp::endpoint> client_ep;
  asio::ip::address client_addr;
  std::map<std::string, std::optional<udp::endpoint>> routes;  // "host:port" → target (nullopt = dropped)
  uint64_t up = 0, down = 0;
  Clock::time_point last = Clock::now();
  bool done = false;
  void close_all() {
    done = true;
    std::error_code ec;
    relay.close(ec);
    out4.close(ec);
    out6.close(ec);
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

awaitable<void> udp_loop(Session& s, std::shared_ptr<UdpAssoc> a) {
  auto ex = co_await asio::this_coro::executor;
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
      std::optional<udp::endpoint> target;
      auto o = co_await decide_and_dial(s, h.value, "udp");
      const OutboundSpec* ob = s.plan->outbound(s.info.outbound);
      if (o.dial.error.empty() && ob && (ob->type == "direct" || (ob->type == "tailscale" && s.plan->tun))) {
        auto r = co_await resolve_host(h.value.host, *s.plan);
        if (!r.addresses.empty()) {
          target = udp::endpoint(r.addresses.front(), h.value.port);
          s.info.ip = r.addresses.front().to_string();
          udp::socket& out = target->address().is_v6() ? a->out6 : a->out4;
          if (!out.is_open()) {
            std::error_code oe;
            out.open(target->address().is_v6() ? udp::v6() : udp::v4(), oe);
            if (!oe) {
              protect_socket(out.native_handle(), target->address().is_v6(), ob->dial);
              asio::co_spawn(ex, udp_replies(a, out), [](std::exception_ptr) {});
            }
          }
        } else {
          s.fail(r.error);
        }
      } else if (o.dial.error.empty()) {
        s.fail("UDP is not supported through outbound " + s.info.outbound);
      }
      it = a->routes.emplace(key, target).first;
    }
    if (!it->second) continue;
    udp::socket& out = it->second->address().is_v6() ? a->out6 : a->out4;
    size_t payload = n - h.used;
    a->up += payload;
    co_await out.async_send_to(asio::buffer(buf.data() + h.used, payload), *it->second, use_tuple);
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
  if (!ec) a->client_addr = unmapped(peer.address());
  if (!ec) a->relay.open(local.address().is_v6() ? udp::v6() : udp::v4(), ec);
  if (!ec) a->relay.bind(udp::endpoint(local.address(), 0), ec);
  if (ec) {
    s.fail("UDP relay socket: " + ec.message());
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
