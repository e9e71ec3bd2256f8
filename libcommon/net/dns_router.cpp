// sb-relay's DNS router (dns_router.hpp): sing-box v1.13.19 dns/router.go (matchDNS, Lookup),
// dns/client.go (Lookup, lookupToExchange, sortAddresses) and protocol/tailscale/dns_transport.go.

#include "libcommon/net/dns_router.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>

#include <asio/experimental/awaitable_operators.hpp>

#include "libcommon/net/dialer.hpp"
#include "libcommon/net/dns.hpp"
#include "libcommon/net/dns_cache.hpp"
#include "libcommon/net/dns_transport.hpp"

namespace tb::net {

using tb::route::DnsActionType;
using tb::route::DnsAsk;
using tb::route::DnsServerSpec;
using tb::route::DnsSettings;

namespace {

const char* rcode_name(int rcode) {
  static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
  return rcode >= 0 && rcode < 6 ? kNames[rcode] : "error rcode";
}

// One cache per DNS settings (a new plan starts a new one, as a reload does in sing-box). Shared:
// a lookup of the old plan that is suspended across a reload keeps its cache alive.
std::shared_ptr<DnsCache> cache_for(const DnsSettings& dns) {
  static std::mutex mu;
  static const DnsSettings* owner = nullptr;
  static std::shared_ptr<DnsCache> cache;
  std::lock_guard lock(mu);
  if (owner != &dns || !cache) {
    cache = std::make_shared<DnsCache>(dns.cache_capacity, dns.independent_cache, dns.disable_expire);
    owner = &dns;
  }
  return cache;
}

struct Lookup {
  const Plan& plan;
  const DnsSettings& dns;
  int depth = 0;  // a server named by domain is looked up first, at most a few levels deep

  awaitable<DnsReply> exchange(const DnsServerSpec& s, const std::string& name, uint16_t qtype);
  awaitable<DnsReply> tailscale(const DnsServerSpec& s, const std::string& name, uint16_t qtype);
  awaitable<DnsReply> ask_resolver(const DnsServerSpec& s, const std::string& resolver, const std::string& name,
                                   uint16_t qtype);
  // accept_any: the asking rule has ip_accept_any, so an answer without addresses is a rejection,
  // which client.go does not cache (it returns ErrResponseRejected before storeCache).
  awaitable<Resolved> addresses(const DnsServerSpec& s, const std::string& name, const std::string& strategy,
                                bool disable_cache, bool accept_any = false);
  awaitable<Resolved> server_address(const DnsServerSpec& s);
};

awaitable<Resolved> Lookup::server_address(const DnsServerSpec& s) {
  std::error_code ec;
  auto ip = asio::ip::make_address(s.server, ec);
  if (!ec) co_return Resolved{{ip}, "", s.tag};
  if (depth >= 4) co_return Resolved{{}, "DNS server " + s.tag + ": its address " + s.server + " resolves in a loop", {}};
  const DnsServerSpec* via = s.resolver.empty() ? dns.server(dns.final_tag) : dns.server(s.resolver);
  if (!via || via == &s)
    co_return Resolved{{}, "DNS server " + s.tag + ": its address " + s.server + " is a domain and it has no domain_resolver", {}};
  Lookup inner{plan, dns, depth + 1};
  const std::string host = normalize_name(s.server);  // named: g++ 12 and coroutine temporaries
  auto r = co_await inner.addresses(*via, host, dns.strategy, false);
  if (!r.error.empty()) r.error = "DNS server " + s.tag + ": " + r.error;
  co_return r;
}

awaitable<DnsReply> Lookup::exchange(const DnsServerSpec& s, const std::string& name, uint16_t qtype) {
  if (s.type == "local") co_return co_await exchange_local(name, qtype);
  if (s.type == "hosts") co_return lookup_hosts(s, name, qtype);
  if (s.type == "tailscale") co_return co_await tailscale(s, name, qtype);
  auto addr = co_await server_address(s);
  if (!addr.error.empty()) co_return DnsReply{{}, 0, 0, addr.error};
  const auto& ip = addr.addresses.front();
  if (s.type == "udp") co_return co_await exchange_udp(udp::endpoint(ip, s.port), name, qtype, s.dial);
  if (s.type == "tcp") co_return co_await exchange_tcp(tcp::endpoint(ip, s.port), name, qtype, s.dial);
  if (s.type == "https") co_return co_await exchange_https(s, ip, name, qtype);
  co_return DnsReply{{}, 0, 0, "DNS server type " + s.type + " is not supported by tailbox"};
}

// A split-DNS or default resolver of the tailnet: "ip", "ip:port" or "[ip]:port" over TCP
// through the tailscale endpoint (its TUN or tailscaled's proxy), or an https:// URL (DoH).
awaitable<DnsReply> Lookup::ask_resolver(const DnsServerSpec& s, const std::string& resolver, const std::string& name,
                                         uint16_t qtype) {
  if (resolver.rfind("https://", 0) == 0) {
    DnsServerSpec doh;
    doh.tag = s.tag;
    doh.type = "https";
    std::string rest = resolver.substr(8);
    auto slash = rest.find('/');
    doh.http_path = slash == std::string::npos ? "/dns-query" : rest.substr(slash);
    auto hp = parse_host_port(rest.substr(0, slash), 443);  // [v6]:port too
    if (!hp) co_return DnsReply{{}, 0, 0, "tailscale resolver " + resolver + ": not a URL"};
    doh.server = hp->host;
    doh.port = hp->port;
    doh.resolver = dns.final_tag;
    co_return co_await exchange(doh, name, qtype);
  }
  auto hp = is_ip_literal(resolver) ? std::optional<HostPort>(HostPort{resolver, 53}) : parse_host_port(resolver, 53);
  const OutboundSpec* ep = plan.outbound(s.endpoint);
  if (!hp || !ep) co_return DnsReply{{}, 0, 0, "tailscale resolver " + resolver + ": not an address"};
  auto conn = co_await connect_outbound(plan, *ep, *hp);
  if (!conn.ok()) co_return DnsReply{{}, 0, 0, "tailscale resolver " + resolver + ": " + conn.error};
  const std::string label = "tailscale resolver " + resolver + ": ";  // named: g++ 12
  co_return co_await exchange_on(*conn.socket, name, qtype, label);
}

// protocol/tailscale/dns_transport.go: the MagicDNS hosts, else the longest route suffix's
// resolvers (first success; none listed: NXDOMAIN), else the default resolvers with
// accept_default_resolvers, else NXDOMAIN.
awaitable<DnsReply> Lookup::tailscale(const DnsServerSpec& s, const std::string& name, uint16_t qtype) {
  DnsReply out;
  if (auto it = plan.magic_dns().find(name); it != plan.magic_dns().end()) {
    for (const auto& ip : it->second)
      if (ip.v4 == (qtype == dns::kTypeA)) out.addresses.push_back(asio::ip::make_address(ip.str()));
    out.ttl = 600;
    co_return out;
  }
  const auto& t = plan.router->tailnet();
  const std::string* best = nullptr;
  for (const auto& suffix : t.dns_routes)
    if ((name == suffix || name.ends_with("." + suffix)) && (!best || suffix.size() > best->size())) best = &suffix;
  std::vector<std::string> resolvers;
  if (best) {
    auto it = t.dns_route_resolvers.find(*best);
    if (it != t.dns_route_resolvers.end()) resolvers = it->second;
  } else if (s.accept_default_resolvers) {
    resolvers = t.default_resolvers;
  }
  std::string last_error;
  for (const auto& r : resolvers) {
    auto reply = co_await ask_resolver(s, r, name, qtype);
    if (reply.error.empty()) co_return reply;
    last_error = reply.error;
  }
  if (!last_error.empty()) co_return DnsReply{{}, 0, 0, last_error};
  out.rcode = 3;
  co_return out;
}

// client.go Lookup: A and/or AAAA by strategy, each from the cache or the server.
awaitable<Resolved> Lookup::addresses(const DnsServerSpec& s, const std::string& name, const std::string& strategy,
                                      bool disable_cache, bool accept_any) {
  std::vector<uint16_t> types;
  if (strategy != "ipv6_only") types.push_back(dns::kTypeA);
  if (strategy != "ipv4_only") types.push_back(dns::kTypeAAAA);
  bool use_cache = !dns.disable_cache && !disable_cache;
  const std::shared_ptr<DnsCache> cache_ref = cache_for(dns);
  DnsCache& cache = *cache_ref;
  Resolved v4, v6;
  std::string error;
  // The questions the cache cannot answer go out together, as client.go's task.Group asks A and
  // AAAA at once: a lookup costs one round trip to the server, not two.
  std::vector<uint16_t> ask;
  auto rcode_error = [&](int rcode) { return "lookup " + name + " on " + s.tag + ": " + rcode_name(rcode); };
  for (uint16_t qtype : types) {
    Resolved& part = qtype == dns::kTypeA ? v4 : v6;
    auto hit = use_cache ? cache.get(name, qtype, s.tag, DnsCache::Clock::now()) : std::nullopt;
    if (!hit) {
      ask.push_back(qtype);
      continue;
    }
    if (hit->rcode != 0) error = rcode_error(hit->rcode);
    for (const auto& a : hit->addresses) part.addresses.push_back(asio::ip::make_address(a));
  }
  std::vector<DnsReply> replies;
  if (ask.size() == 2) {
    using namespace asio::experimental::awaitable_operators;
    auto ask_first = exchange(s, name, ask[0]);  // named: g++ 12 and coroutine temporaries
    auto ask_second = exchange(s, name, ask[1]);
    auto both = co_await (std::move(ask_first) && std::move(ask_second));
    replies.push_back(std::move(std::get<0>(both)));
    replies.push_back(std::move(std::get<1>(both)));
  } else if (ask.size() == 1) {
    replies.push_back(co_await exchange(s, name, ask[0]));
  }
  for (size_t i = 0; i < ask.size(); ++i) {
    const uint16_t qtype = ask[i];
    Resolved& part = qtype == dns::kTypeA ? v4 : v6;
    auto now = DnsCache::Clock::now();
    DnsReply& reply = replies[i];
    if (!reply.error.empty()) {
      error = reply.error;
      continue;
    }
    if (reply.rcode != 0) {
      error = rcode_error(reply.rcode);
      if (use_cache && reply.rcode == 3 && !accept_any)
        cache.put(name, qtype, s.tag, DnsCache::Entry{{}, s.tag, 3}, reply.ttl, now);
      continue;
    }
    part.addresses = reply.addresses;
    DnsCache::Entry e{{}, s.tag};
    for (const auto& a : reply.addresses) e.addresses.push_back(a.to_string());
    if (use_cache && !(accept_any && e.addresses.empty())) cache.put(name, qtype, s.tag, std::move(e), reply.ttl, now);
  }
  Resolved out;
  out.server = s.tag;
  auto& first = strategy == "prefer_ipv6" ? v6 : v4;
  auto& second = strategy == "prefer_ipv6" ? v4 : v6;
  out.addresses = first.addresses;
  out.addresses.insert(out.addresses.end(), second.addresses.begin(), second.addresses.end());
  if (out.addresses.empty()) out.error = error.empty() ? "lookup " + name + " on " + s.tag + ": no addresses" : error;
  co_return out;
}

// The asker's choice of server (DnsAsk), as dns/router.go Lookup: a named server skips the rules.
DnsAsk ask_of(const DnsSettings& dns, const ResolveVia& via) {
  if (via.resolve_action) {
    DnsAsk a;
    a.server = via.server;
    a.strategy = via.strategy;
    return a;
  }
  return dns.ask_for_outbound(via.outbound);
}

}  // namespace

namespace {

tb::route::MatchContext rule_context(const Plan& plan, const std::string& name, const ResolveVia& via) {
  tb::route::MatchContext c;
  c.domain = name;
  if (via.request) {
    c.inbound = via.request->inbound;
    c.network = via.request->network;
    c.user = via.request->user;
    c.src_ip = via.request->source_ip;
    c.src_port = via.request->source_port;
    c.dst_port = via.request->destination_port;
  }
  c.sets = &plan.router->rule_sets();
  c.preferred = &plan.router->preferred();
  return c;
}

// A reject or predefined rule's answer.
Resolved rule_answer(const tb::route::DnsRuleSpec& r, const std::string& name) {
  if (r.type == DnsActionType::kReject) return Resolved{{}, "lookup " + name + ": rejected by " + r.path, r.path};
  if (r.rcode != 0) return Resolved{{}, "lookup " + name + ": " + rcode_name(r.rcode) + " (" + r.path + ")", r.path};
  Resolved out;
  out.server = r.path;
  for (const auto& ip : r.answer) out.addresses.push_back(asio::ip::make_address(ip.str()));
  if (out.addresses.empty()) out.error = "lookup " + name + ": no addresses (" + r.path + ")";
  return out;
}

}  // namespace

awaitable<Resolved> dns_lookup(const Plan& plan, const DnsSettings& dns, const std::string& name,
                               const ResolveVia& via) {
  DnsAsk ask = ask_of(dns, via);
  Lookup l{plan, dns};
  if (!ask.server.empty()) {
    const DnsServerSpec* server = dns.server(ask.server);
    if (!server) co_return Resolved{{}, "DNS server not found: " + ask.server, {}};
    co_return co_await l.addresses(*server, name, ask.strategy.empty() ? dns.strategy : ask.strategy, ask.disable_cache);
  }
  // dns/router.go matchDNS (choose_dns); with ip_accept_any an empty answer moves on to the
  // rules after it.
  auto c = rule_context(plan, name, via);
  for (size_t from = 0;;) {
    auto ch = tb::route::choose_dns(dns, c, ask, from);
    if (!ch.error.empty()) co_return Resolved{{}, ch.error, {}};
    if (!ch.server) co_return rule_answer(*ch.rule, name);
    auto out = co_await l.addresses(*ch.server, name, ch.ask.strategy.empty() ? dns.strategy : ch.ask.strategy,
                                    ch.ask.disable_cache, ch.rule && ch.rule->accept_any);
    if (!ch.rule || !ch.rule->accept_any || !out.addresses.empty()) co_return out;
    from = ch.next;
  }
}

}  // namespace tb::net
