// Tags one part of the config names in another, checked when sing-box checks them (sing-box
// v1.13.19; docs/singbox.md, "Tags"):
//   * per connection, so sing-box starts: a rule's outbound (route/route.go, "outbound not
//     found"), a resolve action's server (route/route.go, actionResolve). check warns; the
//     connections the rule decides fail with sing-box's message;
//   * when sing-box starts or creates the box: detours (adapter/outbound/manager.go,
//     startOutbounds), domain resolvers (common/dialer/dialer.go, NewWithOptions). Errors.
// The DNS section's own references are checked in config_dns.cpp.

#include <algorithm>

#include "libcommon/route/config_compiler.hpp"

namespace tb::route::detail {

namespace {
bool names_dns_server(const RouteConfig& c, const std::string& tag) {
  return std::find(c.dns_servers.begin(), c.dns_servers.end(), tag) != c.dns_servers.end();
}
}  // namespace

void Compiler::references() {
  rule_references();
  detours();
  domain_resolvers();
  resolver_support();
}

void Compiler::rule_references() {
  for (auto& r : c_.rules) {
    auto& a = r.action;
    if ((a.type == ActionType::kRoute || a.type == ActionType::kBypass) && !a.outbound.empty() &&
        !c_.find_outbound(a.outbound)) {
      a.error = "outbound not found: " + a.outbound;
      rd_.warn(key_path(r.path, "outbound"), a.error + " (sing-box starts; each connection this rule decides fails)",
               "runtime");
    }
    if (a.type == ActionType::kResolve && !a.server.empty() && !names_dns_server(c_, a.server)) {
      a.error = "DNS server not found: " + a.server;
      rd_.warn(key_path(r.path, "server"),
               a.error + " (sing-box starts; each connection to a domain this rule resolves fails)", "runtime");
    }
  }
}

// An outbound's or endpoint's detour: another outbound, started first; a missing one or a cycle
// stops sing-box at start.
void Compiler::detours() {
  for (size_t i = 0; i < c_.outbounds.size(); ++i) {
    const OutboundInfo& o = c_.outbounds[i];
    if (o.dial.detour.empty()) continue;
    if (!c_.find_outbound(o.dial.detour)) {
      rd_.error(key_path(o.path, "detour"), "dependency[" + o.dial.detour + "] not found for outbound[" + o.tag + "]",
                "start");
      continue;
    }
    // Follow the chain; a cycle is reported once, at its first member in the config.
    std::vector<std::string> chain = {o.tag};
    const OutboundInfo* at = &o;
    while (at && !at->dial.detour.empty()) {
      const std::string& next = at->dial.detour;
      if (std::find(chain.begin(), chain.end(), next) != chain.end()) {
        if (next != o.tag) break;  // a cycle further on: reported at its own member
        bool first = true;
        for (const auto& t : chain)
          for (size_t j = 0; j < i; ++j) first = first && c_.outbounds[j].tag != t;
        std::string text;
        for (const auto& t : chain) text += t + " -> ";
        if (first) rd_.error(key_path(o.path, "detour"), "circular outbound dependency: " + text + next, "start");
        break;
      }
      chain.push_back(next);
      at = c_.find_outbound(next);
    }
  }
}

// domain_resolver names a DNS server (when the dialer resolves a domain at all: a direct
// outbound, an upstream whose server is a name, the tailscale endpoint); without one, the dialers
// that resolve there and have no detour use route.default_domain_resolver.
void Compiler::domain_resolvers() {
  bool uses_default = c_.final_from == "implicit_direct";  // sing-box's fallback direct outbound
  auto route = c_.source.find("route");
  const bool has_default = route != c_.source.end() && route->is_object() &&
                           !resolver_tag(*route, "default_domain_resolver").empty();
  bool reported = false;
  for (const auto& o : c_.outbounds) {
    bool resolves = o.type == "direct" || o.type == "tailscale" ||
                    ((o.type == "socks" || o.type == "http") && !IpAddr::parse(o.server));
    if (!resolves || !o.supported) continue;
    if (o.dial.domain_resolver.empty()) {
      bool by_default = o.dial.detour.empty() || o.type == "tailscale";
      uses_default = uses_default || by_default;
      // With two DNS servers or more, which one resolves is ambiguous (reported once, as sing-box).
      if (by_default && !has_default && o.type != "tailscale" && c_.dns_servers.size() >= 2 && !reported) {
        reported = true;
        rd_.impending(o.path,
                      "missing `route.default_domain_resolver` or `domain_resolver` in dial fields is deprecated in "
                      "sing-box 1.12.0 (fatal in 1.13.0 unless ENABLE_DEPRECATED_MISSING_DOMAIN_RESOLVER=true)",
                      "MISSING_DOMAIN_RESOLVER");
      }
    } else if (!names_dns_server(c_, o.dial.domain_resolver)) {
      rd_.error(key_path(o.path, "domain_resolver"), "domain resolver not found: " + o.dial.domain_resolver,
                "create");
    }
  }
  if (!uses_default || !has_default) return;
  std::string tag = resolver_tag(*route, "default_domain_resolver");
  if (!tag.empty() && !names_dns_server(c_, tag))
    rd_.error("route.default_domain_resolver", "default domain resolver not found: " + tag,
              c_.final_from == "implicit_direct" && c_.outbounds.empty() ? "start" : "create");
}

// The fields of every domain resolver object (route.default_domain_resolver, an inbound's,
// outbound's, endpoint's or DNS server's domain_resolver) against the schema: a refused one
// (rewrite_ttl, client_subnet) is an error with its path, as in a resolve action.
void Compiler::resolver_support() {
  auto check = [this](const Json& obj, const std::string& path) {
    auto r = obj.find("domain_resolver");
    if (r == obj.end() || !r->is_object()) return;
    for (auto it = r->begin(); it != r->end(); ++it)
      route::report_support(schema::find(schema::Section::kResolver, it.key()), it.key(), *it,
                     key_path(key_path(path, "domain_resolver"), it.key()), rd_);
  };
  auto route = c_.source.find("route");
  if (route != c_.source.end() && route->is_object() && route->contains("default_domain_resolver")) {
    const Json& d = (*route)["default_domain_resolver"];
    if (d.is_object())
      for (auto it = d.begin(); it != d.end(); ++it)
        route::report_support(schema::find(schema::Section::kResolver, it.key()), it.key(), *it,
                       key_path("route.default_domain_resolver", it.key()), rd_);
  }
  for (const char* section : {"inbounds", "outbounds", "endpoints"}) {
    auto list = c_.source.find(section);
    if (list == c_.source.end() || !list->is_array()) continue;
    for (size_t i = 0; i < list->size(); ++i)
      if ((*list)[i].is_object()) check((*list)[i], index_path(section, i));
  }
  if (auto dns = c_.source.find("dns"); dns != c_.source.end() && dns->is_object())
    if (auto servers = dns->find("servers"); servers != dns->end() && servers->is_array())
      for (size_t i = 0; i < servers->size(); ++i)
        if ((*servers)[i].is_object()) check((*servers)[i], index_path("dns.servers", i));
}

}  // namespace tb::route::detail
