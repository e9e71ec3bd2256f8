// The session core (state, watchdog, reads, decide → dial, relay) and the SOCKS5 and SOCKS4/4a
// handshakes; the HTTP proxy session is http_session.cpp, UDP ASSOCIATE udp_associate.cpp.

#include "libcommon/net/relay_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <mutex>

#include "libcommon/core/output.hpp"
#include "libcommon/net/dns_router.hpp"
#include "libcommon/net/exit_path.hpp"
#include "libcommon/net/http_proxy.hpp"
#include "libcommon/net/process_lookup.hpp"
#include "libcommon/net/pump.hpp"
#include "libcommon/net/session.hpp"
#include "libcommon/net/socks4.hpp"
#include "libcommon/net/socks5.hpp"

namespace tb::net {

namespace session {

using namespace std::chrono_literals;

void Session::arm(std::chrono::milliseconds d) {
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

void Session::disarm() {
  *hs_armed = false;
  hs_timer.cancel();
}

asio::ip::address unmapped(asio::ip::address a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

namespace {
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

std::string endpoint_text(const tcp::endpoint& e) {
  return HostPort{unmapped(e.address()).to_string(), e.port()}.str();
}

void emit_open(Session& s) {
  if (s.ctx.shared->opts.events == Events::kAll && !s.opened) {
    s.opened = true;
    tb::core::emit_record(conn_record(s.info, "open"));
  }
}

// What the Router is asked for one destination of this session.
tb::route::Request route_request(const Session& s, const HostPort& dst, const std::string& network) {
  tb::route::Request req;
  req.inbound = s.ctx.spec->tag;
  req.network = network;
  if (s.peer.port() != 0) {
    req.source_ip = tb::route::IpAddr::parse(unmapped(s.peer.address()).to_string());
    req.source_port = s.peer.port();
  }
  req.destination_host = dst.host;
  req.destination_port = dst.port;
  req.user = s.info.user;
  if (s.info.process) req.process = s.info.process->info;
  return req;
}

// How long a connection waits for its process before the rules see none (as in sing-box when
// its search fails); the lookup itself takes microseconds to a few milliseconds.
constexpr auto kProcessWait = 250ms;

// The client's process (process_lookup.hpp) into s.info.process, once per connection.
awaitable<void> find_process(Session& s) {
  s.process_checked = true;
  std::error_code ec;
  auto local = s.client.local_endpoint(ec);
  auto client = tb::route::IpAddr::parse(unmapped(s.peer.address()).to_string());
  auto self = tb::route::IpAddr::parse(unmapped(local.address()).to_string());
  if (ec || !client || !self || s.peer.port() == 0) co_return;
  struct Wait {
    std::mutex mu;
    bool done = false;
    std::optional<tb::route::SocketOwner> owner;
    asio::steady_timer* timer = nullptr;  // set while this frame waits
  };
  auto w = std::make_shared<Wait>();
  asio::steady_timer timer(s.client.get_executor(), kProcessWait);
  auto ex = s.client.get_executor();
  {
    std::lock_guard lock(w->mu);
    w->timer = &timer;
  }
  struct Detach {  // also when the loop destroys this frame
    Wait& w;
    ~Detach() {
      std::lock_guard lock(w.mu);
      w.timer = nullptr;
    }
  } detach{*w};
  find_client_process(*client, s.peer.port(), *self, local.port(), [w, ex](std::optional<tb::route::SocketOwner> o) {
    std::lock_guard lock(w->mu);
    w->owner = std::move(o);
    w->done = true;
    if (w->timer) asio::post(ex, [w] {
      std::lock_guard l(w->mu);
      if (w->timer) w->timer->cancel();
    });
  });
  bool done = false;
  {
    std::lock_guard lock(w->mu);
    done = w->done;
  }
  if (!done) co_await timer.async_wait(use_tuple);
  std::lock_guard lock(w->mu);
  if (w->done)
    s.info.process = std::move(w->owner);
  else
    spdlog::debug("conn {}: no process found within {} ms", s.info.id, kProcessWait.count());
}

}  // namespace

bool check_user(const std::vector<std::pair<std::string, std::string>>& users, const std::string& user,
                const std::string& password) {
  bool ok = false;
  for (const auto& [u, p] : users) ok = (same_secret(u, user) & same_secret(p, password)) | ok;  // no early exit
  return ok;
}

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

awaitable<bool> write_all(tcp::socket& sock, Bytes data) {
  auto [ec, n] = co_await asio::async_write(sock, asio::buffer(data.data(), data.size()), use_tuple);
  co_return !ec;
}
awaitable<bool> write_all(tcp::socket& sock, std::string_view data) {
  Bytes msg1(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  co_return co_await write_all(sock, Bytes(msg1));
}

awaitable<Outcome> decide_and_dial(Session& s, const HostPort& dst, const std::string& network) {
  s.info.host = dst.host;
  s.info.port = dst.port;
  const Plan& plan = *s.plan;
  if (plan.needs_process && !s.process_checked) co_await find_process(s);
  tb::route::Request req = route_request(s, dst, network);
  auto d = co_await decide_resolving(plan, req, dst.host, s.info.dns_server);  // dns_router.hpp
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
    // sing-box answers the stream's (or the datagrams') DNS queries with its DNS router
    // (route/dns.go); so does sb-relay (dns_router.hpp).
    emit_open(s);
    if (network == "udp") {
      out.hijack_dns = true;
      co_return out;
    }
    out.dial = co_await hijack_dns_stream(s.plan, req);
  } else if (const OutboundSpec* ob = plan.outbound(d.outbound); !ob) {
    failed("outbound not found: " + d.outbound, socks5::Reply::kGeneralFailure, 502);
  } else {
    emit_open(s);
    HostPort target{d.destination.empty() ? dst.host : d.destination, d.destination_port ? d.destination_port : dst.port};
    if (network == "udp") co_return out;  // the UDP relay dials per datagram
    if (!d.resolved.empty() && ob->type == "direct" && !is_ip_literal(target.host)) {
      // sing-box dials the resolve action's addresses (metadata.DestinationAddresses)
      std::vector<asio::ip::address> addrs;
      for (const auto& a : d.resolved) addrs.push_back(asio::ip::make_address(a));
      out.dial = co_await dial_addresses(std::move(addrs), target.port, ob->dial);
    } else {
      out.dial = co_await connect_outbound(plan, *ob, target);
    }
    s.info.ip = out.dial.ip;
    if (auto e = exit_node_for(plan, *ob, s.info.ip)) s.info.exit_node = ConnInfo::ExitNode{e->id, e->name, e->online};
    if (!out.dial.dns_server.empty()) s.info.dns_server = out.dial.dns_server;
    if (s.info.ip.empty() && is_ip_literal(target.host)) s.info.ip = target.host;  // known even when the dial failed
  }
  emit_open(s);
  if (!out.dial.error.empty()) s.fail(out.dial.error);
  co_return out;
}

namespace {

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

// ---- SOCKS5 -----------------------------------------------------------------------------------

awaitable<void> serve_socks5(Session& s) {
  s.info.protocol = "socks5";
  auto g = co_await read_parsed<socks5::Greeting>(s, 2 + 255, socks5::parse_greeting);
  if (!g.ok()) co_return s.fail(g.error.empty() ? "incomplete SOCKS5 greeting" : g.error);
  auto offered = [&](uint8_t m) { return std::find(g.value.methods.begin(), g.value.methods.end(), m) != g.value.methods.end(); };
  uint8_t method = socks5::kMethodNone;
  if (!s.users->empty()) {
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
    bool ok = check_user(*s.users, up.value.user, up.value.password);
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
  if (!s.users->empty()) {
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

awaitable<void> serve(Session& s) {
  if (!co_await read_more(s, 512)) co_return;  // one read: usually the whole greeting or request head
  uint8_t first = s.buf[0];
  const std::string& type = s.ctx.spec->type;
  bool socks = first == socks5::kVersion || first == socks4::kVersion;
  if (type == "socks" && !socks) co_return s.fail("not a SOCKS request on a socks inbound");
  if (type == "http" && socks) co_return s.fail("a SOCKS request on an http inbound");
  if (first == socks5::kVersion) co_return co_await serve_socks5(s);
  if (first == socks4::kVersion) co_return co_await serve_socks4(s);
  co_await serve_http(s);
}

thread_local int t_loop_sessions = 0;  // run_session's on this thread's loop

}  // namespace
}  // namespace session

using namespace session;  // this file's steps, and the core shared with the other sessions
using namespace std::chrono_literals;

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
  s.users = &s.ctx.spec->users;
  for (const auto& in : s.plan->inbounds)
    if (in.tag == s.ctx.spec->tag) s.users = &in.users;
  s.info.id = s.ctx.shared->next_id.fetch_add(1);
  s.info.inbound = s.ctx.spec->tag;
  s.info.generation = s.plan->generation;
  std::error_code ec;
  if (peer.port() != 0) s.info.source = endpoint_text(peer);
  // TCP_NODELAY and keep-alive come from the listening socket (server.cpp, open_acceptor).
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
  info.inbound = ctx.spec->tag;
  info.error = "connection limit reached";
  std::error_code ec;
  if (peer.port() != 0) info.source = endpoint_text(peer);
  auto start = Clock::now();
  // Peek at the first byte (briefly) to refuse in the client's own protocol.
  std::array<uint8_t, 1> b{};
  // A timer handler already queued when the peek completes must not cancel the answer's write.
  auto peeking = std::make_shared<bool>(true);
  asio::steady_timer t(client.get_executor(), 1s);
  t.async_wait([peeking, &client](std::error_code e) {
    if (!e && *peeking) client.cancel();
  });
  auto [re, n] = co_await client.async_receive(asio::buffer(b), tcp::socket::message_peek, use_tuple);
  *peeking = false;
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
