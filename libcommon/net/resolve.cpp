#include "libcommon/net/resolve.hpp"

// Name resolution for dials: literals, the plan's MagicDNS table, names under the tailnet suffix
// from 100.100.100.100 (ask_dns), the rest through asio's resolver.

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>

#include "libcommon/net/address.hpp"
#include "libcommon/net/dns.hpp"
#include "libcommon/net/dns_router.hpp"
#include "libcommon/net/protect.hpp"

namespace tb::net {

using namespace std::chrono_literals;

awaitable<Resolved> ask_dns(const std::string& name, udp::endpoint server, std::chrono::milliseconds timeout,
                            const DialOptions* dial) {
  static const DialOptions kNone;
  auto ex = co_await asio::this_coro::executor;
  auto opened = co_await open_udp(server, dial ? *dial : kNone);  // protect.hpp: the one protection path
  if (!opened.ok()) co_return Resolved{{}, "DNS socket: " + opened.error, {}};
  udp::socket sock = std::move(*opened.socket);
  std::error_code ec;
  const std::string who = server.address().to_string();
  auto failed = [&](const std::string& why) { return Resolved{{}, "ask " + who + " for " + name + ": " + why, {}}; };
  struct Ask {
    uint16_t qtype, id;
    bool answered = false;
    std::vector<std::string> addresses;
  } asks[2] = {{dns::kTypeA, dns::random_id(), false, {}}, {dns::kTypeAAAA, dns::random_id(), false, {}}};
  while (asks[1].id == asks[0].id) asks[1].id = dns::random_id();
  for (const auto& q : asks) {
    auto [se, sn] = co_await sock.async_send_to(asio::buffer(dns::query(q.id, name, q.qtype)), server, use_tuple);
    if (se) co_return failed(se.message());
  }
  // The timer's handler may already be queued when the answers are in: it touches the socket only
  // while `waiting` says this frame is still there.
  auto waiting = std::make_shared<bool>(true);
  bool timed_out = false;
  asio::steady_timer timer(ex, timeout);
  timer.async_wait([waiting, &sock, &timed_out](std::error_code e) {
    if (e || !*waiting) return;
    timed_out = true;
    sock.cancel();
  });
  std::array<uint8_t, 1500> buf;
  std::string receive_error = "timed out";
  while (!(asks[0].answered && asks[1].answered)) {
    udp::endpoint from;
    auto [re, rn] = co_await sock.async_receive_from(asio::buffer(buf), from, use_tuple);
    if (re && !timed_out) receive_error = re.message();
    if (re) break;
    auto ans = dns::parse_response(Bytes(buf.data(), rn));
    if (!ans.ok() || normalize_name(ans.value.qname) != name) continue;
    for (auto& q : asks) {
      if (q.answered || ans.value.id != q.id || ans.value.qtype != q.qtype) continue;
      q.answered = true;
      q.addresses = std::move(ans.value.addresses);
    }
  }
  *waiting = false;
  timer.cancel();
  Resolved out;
  for (const auto& q : asks)
    for (const auto& a : q.addresses)
      if (auto addr = asio::ip::make_address(a, ec); !ec) out.addresses.push_back(addr);
  if (!out.addresses.empty()) co_return out;
  if (asks[0].answered || asks[1].answered) co_return Resolved{{}, who + " has no address for " + name, {}};
  co_return failed(receive_error);
}

awaitable<Resolved> resolve_host(const std::string& host, const Plan& plan, const ResolveVia& via) {
  std::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) co_return Resolved{{literal}, "", {}};
  std::string name = normalize_name(host);
  if (const auto& dns = plan.router->config().dns) co_return co_await dns_lookup(plan, *dns, name, via);
  const auto& table = plan.magic_dns();
  if (auto it = table.find(name); it != table.end()) {
    Resolved r;
    for (const auto& ip : it->second) r.addresses.push_back(asio::ip::make_address(ip.str()));
    co_return r;
  }
  const std::string& suffix = plan.magic_dns_suffix;
  if (!suffix.empty() && (name == suffix || (name.size() > suffix.size() + 1 && name.ends_with("." + suffix)))) {
    const OutboundSpec* ob = plan.outbound(via.outbound);  // its dial fields protect the query
    co_return co_await ask_dns(name, udp::endpoint(asio::ip::make_address_v4("100.100.100.100"), 53), 2s,
                               ob ? &ob->dial : nullptr);
  }
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [re, results] = co_await resolver.async_resolve(name, "", use_tuple);
  if (re) co_return Resolved{{}, "resolve " + name + ": " + re.message(), {}};
  Resolved r;
  for (const auto& e : results) {
    auto a = e.endpoint().address();
    if (std::find(r.addresses.begin(), r.addresses.end(), a) == r.addresses.end()) r.addresses.push_back(a);
  }
  if (r.addresses.empty()) r.error = "resolve " + name + ": no addresses";
  co_return r;
}

awaitable<tb::route::Decision> decide_resolving(const Plan& plan, const tb::route::Request& req,
                                                const std::string& host, std::string& dns_server) {
  auto d = plan.router->decide(req);
  if (!plan.has_resolve_action || is_ip_literal(host)) co_return d;
  // A resolve action failed for want of an answer: look the name up as that action says, then
  // decide again with the answer at hand (the rules before it decide the same).
  const auto& rules = plan.router->config().rules;
  if (d.action != tb::route::ActionType::kResolve || !d.rule_index || *d.rule_index >= rules.size()) co_return d;
  const auto& action = rules[*d.rule_index].action;
  if (!action.error.empty()) co_return d;
  ResolveVia via;
  via.resolve_action = true;
  via.server = action.server;
  via.strategy = action.strategy;
  via.request = &req;
  auto r = co_await resolve_host(host, plan, via);
  dns_server = r.server;
  std::vector<tb::route::IpAddr> ips;
  for (const auto& a : r.addresses)
    if (auto ip = tb::route::IpAddr::parse(a.to_string())) ips.push_back(*ip);
  if (ips.empty()) {
    if (!r.error.empty()) d.error = r.error;
    co_return d;
  }
  prefetch_answer(normalize_name(host), std::move(ips));
  d = plan.router->decide(req);
  clear_prefetched();
  co_return d;
}

awaitable<Buffer> dns_answer(const Plan& plan, Bytes query, const tb::route::Request* req) {
  auto q = dns::parse_query(query);
  if (!q.ok()) co_return Buffer{};
  if ((q.value.qtype != dns::kTypeA && q.value.qtype != dns::kTypeAAAA) || q.value.qclass != 1)
    co_return dns::response(q.value, 4, {}, 0);  // NOTIMP: only address questions are answered
  ResolveVia via;
  via.resolve_action = true;  // the DNS rules decide (no server named), with the question's type
  via.strategy = q.value.qtype == dns::kTypeA ? "ipv4_only" : "ipv6_only";
  via.request = req;
  auto r = co_await resolve_host(q.value.qname, plan, via);
  if (!r.error.empty() && r.addresses.empty())
    co_return dns::response(q.value, r.error.find("NXDOMAIN") != std::string::npos ? 3 : 2, {}, 0);
  std::vector<std::string> texts;
  for (const auto& a : r.addresses) texts.push_back(a.to_string());
  co_return dns::response(q.value, 0, texts, 60);
}

namespace {

// Answers length-prefixed DNS queries on `sock` until the other end closes it.
awaitable<void> serve_dns_stream(tcp::socket sock, std::shared_ptr<const Plan> plan, tb::route::Request req) {
  for (;;) {
    std::array<uint8_t, 2> len{};
    auto [e1, n1] = co_await asio::async_read(sock, asio::buffer(len), use_tuple);
    if (e1) co_return;
    Buffer msg(static_cast<size_t>(len[0] << 8 | len[1]));
    auto [e2, n2] = co_await asio::async_read(sock, asio::buffer(msg), use_tuple);
    if (e2) co_return;
    Buffer answer = co_await dns_answer(*plan, Bytes(msg.data(), msg.size()), &req);
    if (answer.empty()) co_return;  // not a query: the stream is not DNS
    Buffer framed(answer.size() + 2);
    framed[0] = static_cast<uint8_t>(answer.size() >> 8);
    framed[1] = static_cast<uint8_t>(answer.size());
    std::copy(answer.begin(), answer.end(), framed.begin() + 2);
    auto [e3, n3] = co_await asio::async_write(sock, asio::buffer(framed), use_tuple);
    if (e3) co_return;
  }
}

}  // namespace

awaitable<DialResult> hijack_dns_stream(std::shared_ptr<const Plan> plan, tb::route::Request req) {
  auto ex = co_await asio::this_coro::executor;
  DialResult r;
  std::error_code ec;
  tcp::acceptor acceptor(ex);
  tcp::endpoint loopback(asio::ip::address_v4::loopback(), 0);
  acceptor.open(loopback.protocol(), ec);
  if (!ec) acceptor.bind(loopback, ec);
  if (!ec) acceptor.listen(1, ec);
  tcp::socket relay_end(ex), dns_end(ex);
  if (!ec) relay_end.connect(acceptor.local_endpoint(), ec);
  if (!ec) acceptor.accept(dns_end, ec);
  if (ec) {
    r.error = "hijack-dns: loopback stream: " + ec.message();
    r.reply = socks5::Reply::kGeneralFailure;
    r.http_status = 502;
    co_return r;
  }
  asio::co_spawn(ex, serve_dns_stream(std::move(dns_end), std::move(plan), std::move(req)), [](std::exception_ptr) {});
  r.socket.emplace(std::move(relay_end));
  co_return r;
}

}  // namespace tb::net
