#include "libcommon/net/relay_session.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <charconv>
#include <strings.h>
#include <map>
#include <spdlog/spdlog.h>

#include "libcommon/core/output.hpp"
#include "libcommon/net/dialer.hpp"
#include "libcommon/net/http_chunked.hpp"
#include "libcommon/net/http_proxy.hpp"
#include "libcommon/net/pump.hpp"
#include "libcommon/net/socks4.hpp"
#include "libcommon/net/socks5.hpp"

namespace tb::net {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Constant-time comparison: the time taken does not depend on where the strings differ.
bool same_secret(std::string_view a, std::string_view b) {
  volatile uint8_t diff = static_cast<uint8_t>(a.size() != b.size());
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    uint8_t x = i < a.size() ? static_cast<uint8_t>(a[i]) : 0;
    uint8_t y = i < b.size() ? static_cast<uint8_t>(b[i]) : 0;
    diff = static_cast<uint8_t>(diff | (x ^ y));
  }
  return diff == 0;
}

bool check_user(const std::vector<std::pair<std::string, std::string>>& users, const std::string& user,
                const std::string& password) {
  bool ok = false;
  for (const auto& [u, p] : users) ok = (same_secret(u, user) & same_secret(p, password)) | ok;  // no early exit
  return ok;
}

struct Session {
  Session(tcp::socket c, tcp::endpoint p, InboundCtx x)
      : client(std::move(c)), peer(p), ctx(std::move(x)), hs_timer(client.get_executor()) {}
  tcp::socket client;
  tcp::endpoint peer;
  InboundCtx ctx;
  std::shared_ptr<const Plan> plan;
  std::vector<std::pair<std::string, std::string>> users;
  ConnInfo info;
  Buffer buf;
  Clock::time_point start = Clock::now();
  asio::steady_timer hs_timer;
  std::shared_ptr<bool> hs_armed = std::make_shared<bool>(false);
  bool opened = false;
  bool between_requests = false;  // HTTP keep-alive: a close here is a normal end
  // Set by a handshake that ends in a relayed connection. The handshake's coroutine frames (large:
  // every local of every step) are freed before run_session relays, so a held connection costs
  // only the relay's own state.
  std::optional<tcp::socket> upstream;

  void fail(std::string e) {
    if (info.error.empty()) info.error = std::move(e);
  }
  // The watchdog closes the client when a step takes too long (slowloris).
  void arm(std::chrono::milliseconds d) {
    disarm();
    hs_armed = std::make_shared<bool>(true);
    hs_timer.expires_after(d);
    auto armed = hs_armed;
    hs_timer.async_wait([this, armed](std::error_code ec) {
      if (ec || !*armed) return;
      fail("handshake timeout");
      std::error_code ignored;
      client.close(ignored);
    });
  }
  void disarm() {
    *hs_armed = false;
    hs_timer.cancel();
  }
};

awaitable<bool> read_more(Session& s, size_t max) {
  if (s.buf.size() >= max) co_return false;
  size_t old = s.buf.size();
  s.buf.resize(std::min(max, old + 4096));
  auto [ec, n] = co_await s.client.async_read_some(asio::buffer(s.buf.data() + old, s.buf.size() - old), use_tuple);
  s.buf.resize(old + n);
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted && ec != asio::error::bad_descriptor)
      s.fail("client read: " + ec.message());
    else if (ec == asio::error::eof && !(s.between_requests && s.buf.empty()))
      s.fail("client closed during handshake");
    co_return false;
  }
  co_return true;
}

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

awaitable<bool> write_all(tcp::socket& sock, Bytes data) {
  auto [ec, n] = co_await asio::async_write(sock, asio::buffer(data.data(), data.size()), use_tuple);
  co_return !ec;
}
awaitable<bool> write_all(tcp::socket& sock, std::string_view data) {
  Bytes msg1(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  co_return co_await write_all(sock, Bytes(msg1));
}

std::string endpoint_text(const tcp::endpoint& e) {
  auto a = e.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return HostPort{a.to_string(), e.port()}.str();
}

void emit_open(Session& s) {
  if (s.ctx.shared->opts.events == Events::kAll && !s.opened) {
    s.opened = true;
    tb::core::emit_record(conn_record(s.info, "open"));
  }
}

struct Outcome {
  DialResult dial;
  bool drop = false;
};

// decide → dial
awaitable<Outcome> decide_and_dial(Session& s, const HostPort& dst, const std::string& network) {
  s.info.host = dst.host;
  s.info.port = dst.port;
  const Plan& plan = *s.plan;
  tb::route::Request req;
  req.inbound = s.ctx.spec.tag;
  req.network = network;
  if (s.peer.port() != 0) {
    auto a = s.peer.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    req.source_ip = tb::route::IpAddr::parse(a.to_string());
    req.source_port = s.peer.port();
  }
  req.destination_host = dst.host;
  req.destination_port = dst.port;
  req.user = s.info.user;
  if (plan.has_resolve_action && !is_ip_literal(dst.host)) {
    auto r = co_await resolve_host(dst.host, plan);
    std::vector<tb::route::IpAddr> ips;
    for (const auto& a : r.addresses)
      if (auto ip = tb::route::IpAddr::parse(a.to_string())) ips.push_back(*ip);
    prefetch_answer(normalize_name(dst.host), std::move(ips));
  }
  auto d = plan.router->decide(req);
  if (plan.has_resolve_action) clear_prefetched();
  s.info.rule = d.rule_index;
  s.info.action = std::string(tb::route::action_name(d.action));
  s.info.outbound = d.outbound;
  Outcome out;
  auto failed = [&](std::string msg, socks5::Reply reply, int http) {
    out.dial.error = std::move(msg);
    out.dial.reply = reply;
    out.dial.http_status = http;
  };
  if (!d.error.empty()) {
    failed(d.error, socks5::Reply::kGeneralFailure, 502);
  } else if (d.action == tb::route::ActionType::kReject) {
    s.info.outbound.clear();
    out.drop = d.reject_method == "drop";
    failed("rejected by rule" + (d.rule_index ? " " + std::to_string(*d.rule_index) : std::string()) +
               (out.drop ? " (drop)" : ""),
           socks5::Reply::kNotAllowed, 403);
  } else if (d.action == tb::route::ActionType::kHijackDns) {
    failed("hijack-dns is not supported by sb-relay", socks5::Reply::kGeneralFailure, 502);
  } else if (const OutboundSpec* ob = plan.outbound(d.outbound); !ob) {
    failed("outbound not found: " + d.outbound, socks5::Reply::kGeneralFailure, 502);
  } else {
    emit_open(s);
    HostPort target{d.destination.empty() ? dst.host : d.destination, d.destination_port ? d.destination_port : dst.port};
    if (network == "udp") co_return out;  // the UDP relay dials per datagram
    out.dial = co_await connect_outbound(plan, *ob, target);
    s.info.ip = out.dial.ip;
    if (s.info.ip.empty() && is_ip_literal(target.host)) s.info.ip = target.host;  // known even when the dial failed
  }
  emit_open(s);
  if (!out.dial.error.empty()) s.fail(out.dial.error);
  co_return out;
}

// Sends bytes the client pipelined behind its request, then pumps until both sides are done.
awaitable<void> relay(Session& s, tcp::socket& upstream) {
  if (!s.buf.empty()) {
    Bytes msg2(s.buf.data(), s.buf.size());
    if (!co_await write_all(upstream, Bytes(msg2))) {
      s.fail("upstream write failed");
      co_return;
    }
    s.info.bytes_up += s.buf.size();
    s.buf.clear();
    s.buf.shrink_to_fit();
  } else {
    Buffer().swap(s.buf);
  }
  auto r = co_await pump(s.client, upstream, s.ctx.shared->opts.idle_timeout);
  s.info.bytes_up += r.up;
  s.info.bytes_down += r.down;
  if (!r.error.empty()) s.fail(r.error);
}

// ---- UDP ASSOCIATE ----------------------------------------------------------------------------

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
    auto addr = from.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
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
    auto faddr = from.address();
    if (faddr.is_v6() && faddr.to_v6().is_v4_mapped()) faddr = asio::ip::make_address_v4(asio::ip::v4_mapped, faddr.to_v6());
    if (faddr != a->client_addr) continue;
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

awaitable<void> udp_associate(Session& s) {
  auto ex = co_await asio::this_coro::executor;
  s.info.protocol = "socks5-udp";
  auto a = std::make_shared<UdpAssoc>(ex);
  std::error_code ec;
  auto local = s.client.local_endpoint(ec);
  auto peer = s.client.remote_endpoint(ec);
  if (!ec) {
    a->client_addr = peer.address();
    if (a->client_addr.is_v6() && a->client_addr.to_v6().is_v4_mapped())
      a->client_addr = asio::ip::make_address_v4(asio::ip::v4_mapped, a->client_addr.to_v6());
  }
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

// ---- SOCKS5 -----------------------------------------------------------------------------------

awaitable<void> serve_socks5(Session& s) {
  s.info.protocol = "socks5";
  auto g = co_await read_parsed<socks5::Greeting>(s, 2 + 255, socks5::parse_greeting);
  if (!g.ok()) co_return s.fail(g.error.empty() ? "incomplete SOCKS5 greeting" : g.error);
  auto offered = [&](uint8_t m) { return std::find(g.value.methods.begin(), g.value.methods.end(), m) != g.value.methods.end(); };
  uint8_t method = socks5::kMethodNone;
  if (!s.users.empty()) {
    if (offered(socks5::kMethodUserPass)) method = socks5::kMethodUserPass;
  } else if (offered(socks5::kMethodNoAuth)) {
    method = socks5::kMethodNoAuth;
  }
  Buffer msg5 = socks5::method_reply(method);
  if (!co_await write_all(s.client, Bytes(msg5))) co_return;
  if (method == socks5::kMethodNone) co_return s.fail("no acceptable authentication method");
  if (method == socks5::kMethodUserPass) {
    auto up = co_await read_parsed<socks5::UserPass>(s, 513, socks5::parse_user_pass);
    if (!up.ok()) co_return s.fail(up.error.empty() ? "incomplete authentication" : up.error);
    bool ok = check_user(s.users, up.value.user, up.value.password);
    Buffer msg6 = socks5::user_pass_reply(ok);
    co_await write_all(s.client, Bytes(msg6));
    if (!ok) co_return s.fail("authentication failed");
    s.info.user = up.value.user;
  }
  socks5::RequestParse rp;
  auto req = co_await read_parsed<socks5::Request>(s, 4 + 257 + 2, [&](Bytes b) {
    rp = socks5::parse_request(b);
    return rp.parsed;
  });
  if (!req.ok()) {
    Buffer msg7 = socks5::reply(rp.bad_reply);
    if (req.status == ParseStatus::kBad) co_await write_all(s.client, Bytes(msg7));
    co_return s.fail(req.error.empty() ? "incomplete SOCKS5 request" : req.error);
  }
  s.disarm();
  auto cmd = static_cast<socks5::Command>(req.value.command);
  if (cmd == socks5::Command::kUdpAssociate) {
    co_return co_await udp_associate(s);
  }
  if (cmd != socks5::Command::kConnect) {
    s.info.host = req.value.destination.host;
    s.info.port = req.value.destination.port;
    Buffer msg8 = socks5::reply(socks5::Reply::kCommandNotSupported);
    co_await write_all(s.client, Bytes(msg8));
    co_return s.fail("SOCKS5 command " + std::to_string(req.value.command) + " not supported");
  }
  auto o = co_await decide_and_dial(s, req.value.destination, "tcp");
  if (!o.dial.ok()) {
    Buffer msg9 = socks5::reply(o.dial.reply);
    if (!o.drop) co_await write_all(s.client, Bytes(msg9));
    co_return;
  }
  std::error_code ec;
  auto le = o.dial.socket->local_endpoint(ec);
  Buffer msg10 = socks5::reply(socks5::Reply::kSucceeded, {ec ? "" : le.address().to_string(), ec ? uint16_t(0) : le.port()});
  if (!co_await write_all(s.client, Bytes(msg10)))
    co_return;
  s.upstream = std::move(o.dial.socket);  // run_session relays, once this frame is gone
}

// ---- SOCKS4 / 4a ------------------------------------------------------------------------------

awaitable<void> serve_socks4(Session& s) {
  s.info.protocol = "socks4";
  auto req = co_await read_parsed<socks4::Request>(s, 8 + 256 + 256, socks4::parse_request);
  if (!req.ok()) co_return s.fail(req.error.empty() ? "incomplete SOCKS4 request" : req.error);
  if (req.value.socks4a) s.info.protocol = "socks4a";
  s.disarm();
  s.info.host = req.value.destination.host;
  s.info.port = req.value.destination.port;
  if (!s.users.empty()) {
    Buffer msg11 = socks4::reply(socks4::kRejected);
    co_await write_all(s.client, Bytes(msg11));
    co_return s.fail("SOCKS4 has no passwords and this inbound requires users");
  }
  if (req.value.command != socks4::kConnect) {
    Buffer msg12 = socks4::reply(socks4::kRejected);
    co_await write_all(s.client, Bytes(msg12));
    co_return s.fail("SOCKS4 command " + std::to_string(req.value.command) + " not supported");
  }
  auto o = co_await decide_and_dial(s, req.value.destination, "tcp");
  if (!o.dial.ok()) {
    Buffer msg13 = socks4::reply(socks4::kRejected);
    if (!o.drop) co_await write_all(s.client, Bytes(msg13));
    co_return;
  }
  Buffer msg14 = socks4::reply(socks4::kGranted);
  if (!co_await write_all(s.client, Bytes(msg14))) co_return;
  s.upstream = std::move(o.dial.socket);  // run_session relays, once this frame is gone
}

// ---- HTTP -------------------------------------------------------------------------------------

std::string_view reason_of(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 407: return "Proxy Authentication Required";
    case 411: return "Length Required";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
  }
  return "Error";
}

awaitable<bool> http_error(Session& s, int status, std::string msg) {
  std::vector<http::Header> extra;
  if (status == 407) extra.push_back({std::string("Proxy-Authenticate"), std::string("Basic realm=\"sb-relay\", charset=\"UTF-8\"")});
  std::string resp = http::simple_response(status, reason_of(status), msg + "\n", extra);
  co_await write_all(s.client, resp);
  s.fail(std::move(msg));
  co_return false;
}

// One forwarded request: dial, send it in origin form with its body, stream the answer back.
// Returns whether the client connection can carry another request.
awaitable<bool> http_forward(Session& s, const http::RequestHead& head) {
  auto framing = http::request_framing(head);
  if (framing.bad) co_return co_await http_error(s, 400, "bad request body framing");
  auto o = co_await decide_and_dial(s, head.destination, "tcp");
  if (!o.dial.ok()) {
    if (o.drop) co_return false;
    co_return co_await http_error(s, o.dial.http_status, o.dial.error);
  }
  tcp::socket& up = *o.dial.socket;
  // Expect: 100-continue is answered here, as soon as the upstream is connected, and not passed
  // on: the client sends its body without waiting for an answer the relay would only read after
  // the body (a request is forwarded one direction at a time).
  const std::string* expect = head.find("Expect");
  bool answer_continue = expect && head.version != "HTTP/1.0" && (framing.chunked || framing.length.value_or(0) > 0) && s.buf.empty() &&
                         std::string_view(*expect).size() == 12 && strncasecmp(expect->c_str(), "100-continue", 12) == 0;
  std::string req;
  if (answer_continue) {
    http::RequestHead fwd = head;
    std::erase_if(fwd.headers, [](const http::Header& h) { return strcasecmp(h.name.c_str(), "Expect") == 0; });
    req = http::origin_request(fwd);
  } else {
    req = http::origin_request(head);
  }
  if (!co_await write_all(up, req)) co_return co_await http_error(s, 502, "upstream write failed");
  s.info.bytes_up += req.size();
  if (answer_continue) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!co_await write_all(s.client, std::string_view(kContinue))) co_return false;
  }
  uint64_t body = framing.length.value_or(0);
  std::array<uint8_t, 16384> chunk;
  // A chunked body is forwarded as it comes, chunk framing and trailers included; the scanner
  // finds where it ends, so a pipelined next request is not sent upstream with it.
  if (framing.chunked) {
    http::ChunkedScanner scan;
    while (scan.status() == http::ChunkedScanner::Status::kMore) {
      if (s.buf.empty()) {
        auto [ec, n] = co_await s.client.async_read_some(asio::buffer(chunk), use_tuple);
        if (ec) co_return (s.fail("client closed during request body"), false);
        s.buf.assign(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
      }
      size_t take = scan.feed(Bytes(s.buf.data(), s.buf.size()));
      if (scan.status() == http::ChunkedScanner::Status::kBad)
        co_return co_await http_error(s, 400, std::string("bad chunked request body: ") + scan.error());
      Bytes part(s.buf.data(), take);
      if (!co_await write_all(up, Bytes(part))) co_return co_await http_error(s, 502, "upstream write failed");
      s.buf.erase(s.buf.begin(), s.buf.begin() + static_cast<std::ptrdiff_t>(take));
      s.info.bytes_up += take;
    }
  }
  while (body > 0) {
    if (s.buf.empty()) {
      auto [ec, n] = co_await s.client.async_read_some(asio::buffer(chunk.data(), std::min<uint64_t>(chunk.size(), body)), use_tuple);
      if (ec) co_return (s.fail("client closed during request body"), false);
      s.buf.assign(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(s.buf.size(), body));
    Bytes msg15(s.buf.data(), take);
    if (!co_await write_all(up, Bytes(msg15))) co_return co_await http_error(s, 502, "upstream write failed");
    s.buf.erase(s.buf.begin(), s.buf.begin() + static_cast<std::ptrdiff_t>(take));
    body -= take;
    s.info.bytes_up += take;
  }
  // The response head, bounded. Interim answers (100 Continue, 103 Early Hints) are passed on
  // as they come, then the final one is read.
  Buffer rbuf;
  Parsed<http::ResponseHead> rh;
  for (;;) {
    rh = http::parse_response_head(Bytes(rbuf.data(), rbuf.size()));
    if (rh.ok() && rh.value.status / 100 == 1 && rh.value.status != 101) {
      Bytes interim(rbuf.data(), rh.used);
      if (!co_await write_all(s.client, Bytes(interim))) co_return false;
      s.info.bytes_down += rh.used;
      rbuf.erase(rbuf.begin(), rbuf.begin() + static_cast<std::ptrdiff_t>(rh.used));
      continue;
    }
    if (rh.status != ParseStatus::kNeedMore) break;
    size_t old = rbuf.size();
    rbuf.resize(old + 4096);
    auto [ec, n] = co_await up.async_read_some(asio::buffer(rbuf.data() + old, 4096), use_tuple);
    rbuf.resize(old + n);
    if (ec) co_return co_await http_error(s, 502, "upstream closed before a response");
  }
  if (!rh.ok()) co_return co_await http_error(s, 502, "upstream sent a malformed response: " + rh.error);
  // Where the body ends: nowhere (HEAD, 204, 304), after Content-Length bytes, after the last
  // chunk, or when the upstream closes. Only the last one ends the client's connection too; the
  // others stop at the body's end even if the upstream keeps its connection open.
  enum class Body { kNone, kLength, kChunked, kUntilClose } mode = Body::kUntilClose;
  uint64_t left = 0;
  const int st = rh.value.status;
  if (head.method == "HEAD" || st == 204 || st == 304) {
    mode = Body::kNone;
  } else if (rh.value.find("Transfer-Encoding")) {
    if (http::response_chunked(rh.value)) mode = Body::kChunked;  // any other coding: until close
  } else if (const auto* cl = rh.value.find("Content-Length")) {
    std::string_view v = *cl;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    auto [ptr, perr] = std::from_chars(v.data(), v.data() + v.size(), left);
    if (perr == std::errc() && ptr == v.data() + v.size() && !v.empty()) mode = left == 0 ? Body::kNone : Body::kLength;
  }
  bool keep = http::wants_keep_alive(head) && mode != Body::kUntilClose;
  std::string out = http::response_head_text(rh.value, keep);
  if (!co_await write_all(s.client, out)) co_return false;
  s.info.bytes_down += out.size();  // heads count both ways, as the request head does upstream
  Buffer pending(rbuf.begin() + static_cast<std::ptrdiff_t>(rh.used), rbuf.end());
  http::ChunkedScanner scan;
  bool done = mode == Body::kNone;
  while (!done) {
    if (pending.empty()) {
      auto [ec, n] = co_await up.async_read_some(asio::buffer(chunk), use_tuple);
      if (n > 0) {
        pending.assign(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
      } else if (ec) {
        if (mode == Body::kUntilClose) break;
        co_return (s.fail("upstream closed in the middle of the response body"), false);
      }
      continue;
    }
    size_t take = pending.size();
    if (mode == Body::kLength) {
      take = static_cast<size_t>(std::min<uint64_t>(take, left));
      left -= take;
      done = left == 0;
    } else if (mode == Body::kChunked) {
      take = scan.feed(Bytes(pending.data(), pending.size()));
      if (scan.status() == http::ChunkedScanner::Status::kBad)
        co_return (s.fail(std::string("upstream sent a bad chunked body: ") + scan.error()), false);
      done = scan.status() == http::ChunkedScanner::Status::kDone;
    }
    s.info.bytes_down += take;
    Bytes part(pending.data(), take);
    if (!co_await write_all(s.client, Bytes(part))) co_return false;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(take));
  }
  co_return keep;
}

awaitable<void> serve_http(Session& s) {
  s.info.protocol = "http";
  for (;;) {
    auto head = co_await read_parsed<http::RequestHead>(s, http::kMaxHead + 4096, http::parse_request_head);
    if (!head.ok()) {
      int status = std::atoi(head.error.substr(0, 3).c_str());
      std::string why = head.error.size() > 4 ? head.error.substr(4) : head.error;
      if (head.status == ParseStatus::kBad) co_await http_error(s, status, why);
      else if (s.buf.size() >= http::kMaxHead) co_await http_error(s, 431, "request header fields too large");
      co_return;
    }
    s.between_requests = false;
    if (!s.users.empty()) {
      const std::string* auth = head.value.find("Proxy-Authorization");
      auto creds = auth ? http::parse_basic_auth(*auth) : std::nullopt;
      if (!creds || !check_user(s.users, creds->first, creds->second)) {
        co_await http_error(s, 407, auth ? "authentication failed" : "proxy authentication required");
        co_return;
      }
      s.info.user = creds->first;
    }
    s.disarm();
    if (head.value.connect) {
      s.info.protocol = "http-connect";
      auto o = co_await decide_and_dial(s, head.value.destination, "tcp");
      if (!o.dial.ok()) {
        if (!o.drop) co_await http_error(s, o.dial.http_status, o.dial.error);
        co_return;
      }
      static const std::string kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
      if (!co_await write_all(s.client, std::string_view(kEstablished))) co_return;
      s.upstream = std::move(o.dial.socket);  // run_session relays, once this frame is gone
      co_return;
    }
    if (!co_await http_forward(s, head.value)) co_return;
    // Keep-alive: the next request head must come within the idle timeout.
    s.between_requests = true;
    s.arm(s.ctx.shared->opts.idle_timeout);
  }
}

awaitable<void> serve(Session& s) {
  if (!co_await read_more(s, 512)) co_return;  // one read: usually the whole greeting or request head
  uint8_t first = s.buf[0];
  const std::string& type = s.ctx.spec.type;
  bool socks = first == socks5::kVersion || first == socks4::kVersion;
  if (type == "socks" && !socks) co_return s.fail("not a SOCKS request on a socks inbound");
  if (type == "http" && socks) co_return s.fail("a SOCKS request on an http inbound");
  if (first == socks5::kVersion) co_return co_await serve_socks5(s);
  if (first == socks4::kVersion) co_return co_await serve_socks4(s);
  co_await serve_http(s);
}

thread_local int t_loop_sessions = 0;  // run_session's on this thread's loop

}  // namespace

int loop_sessions() { return t_loop_sessions; }

awaitable<void> run_session(tcp::socket client, tcp::endpoint peer, InboundCtx ctx) {
  struct Active {
    RelayShared& sh;
    explicit Active(RelayShared& s) : sh(s) { ++t_loop_sessions; }
    ~Active() {
      sh.active.fetch_sub(1);
      --t_loop_sessions;
    }
  } active{*ctx.shared};
  Session s(std::move(client), peer, std::move(ctx));
  s.plan = s.ctx.shared->current();
  s.users = s.ctx.spec.users;
  for (const auto& in : s.plan->inbounds)
    if (in.tag == s.ctx.spec.tag) s.users = in.users;
  s.info.id = s.ctx.shared->next_id.fetch_add(1);
  s.info.inbound = s.ctx.spec.tag;
  s.info.generation = s.plan->generation;
  std::error_code ec;
  if (peer.port() != 0) s.info.source = endpoint_text(peer);
  s.client.set_option(tcp::no_delay(true), ec);
  s.arm(s.ctx.shared->opts.handshake_timeout);
  co_await serve(s);
  s.disarm();
  if (s.upstream) {
    co_await relay(s, *s.upstream);
    s.upstream->close(ec);
  }
  s.client.close(ec);
  s.info.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s.start).count();
  spdlog::debug("conn {} {} {} → {}:{} {} {}", s.info.id, s.info.protocol, s.info.source, s.info.host, s.info.port,
                s.info.outbound, s.info.error.empty() ? "ok" : s.info.error);
  if (s.ctx.shared->opts.events != Events::kNone) tb::core::emit_record(conn_record(s.info, "close"));
}

awaitable<void> refuse_session(tcp::socket client, tcp::endpoint peer, InboundCtx ctx) {
  struct Refusing {
    RelayShared& sh;
    ~Refusing() { sh.refusing.fetch_sub(1); }
  } guard{*ctx.shared};
  ConnInfo info;
  info.id = ctx.shared->next_id.fetch_add(1);
  info.inbound = ctx.spec.tag;
  info.error = "connection limit reached";
  std::error_code ec;
  if (peer.port() != 0) info.source = endpoint_text(peer);
  auto start = Clock::now();
  // Peek at the first byte (briefly) to refuse in the client's own protocol.
  std::array<uint8_t, 1> b{};
  asio::steady_timer t(client.get_executor(), 1s);
  t.async_wait([&client](std::error_code e) {
    if (!e) client.cancel();
  });
  auto [re, n] = co_await client.async_receive(asio::buffer(b), tcp::socket::message_peek, use_tuple);
  t.cancel();
  if (!re && n == 1) {
    if (b[0] == socks5::kVersion) {
      info.protocol = "socks5";
      Buffer msg17 = socks5::method_reply(socks5::kMethodNone);
      co_await write_all(client, Bytes(msg17));
    } else if (b[0] == socks4::kVersion) {
      info.protocol = "socks4";
      Buffer msg18 = socks4::reply(socks4::kRejected);
      co_await write_all(client, Bytes(msg18));
    } else {
      info.protocol = "http";
      std::vector<http::Header> extra{http::Header{std::string("Retry-After"), std::string("1")}};
      std::string resp = http::simple_response(503, "Service Unavailable", "sb-relay: too many connections\n", extra);
      co_await write_all(client, resp);
    }
  }
  client.close(ec);
  info.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  if (ctx.shared->opts.events != Events::kNone) tb::core::emit_record(conn_record(info, "close"));
}

}  // namespace tb::net
