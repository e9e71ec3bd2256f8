#include "libcommon/route/preferred.hpp"

#include "libcommon/route/tailnet.hpp"

namespace tb::route {

namespace {

// tailscaled's DNS routes for MagicDNS: the suffix and the reverse zones of fd7a:115c:a1e0::/48
// and 100.64.0.0/10 (ipn/ipnlocal/local.go, magicDNSRootDomains, tailscale.com v1.102.5).
std::vector<std::string> magic_dns_routes(const std::string& suffix) {
  std::vector<std::string> out{suffix, "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa"};
  for (int i = 64; i <= 127; ++i) out.push_back(std::to_string(i) + ".100.in-addr.arpa");
  return out;
}

// nmcfg's cidrIsSubnet: not a default route, and not one of the node's own addresses.
bool is_subnet(const TailnetNode& n, const Prefix& p) {
  if (p.bits == 0) return false;
  if (p.bits != (p.addr.v4 ? 32 : 128)) return true;
  for (const auto& a : n.ips)
    if (a == p.addr) return false;
  return true;
}

}  // namespace

PreferredRoutes::PreferredRoutes(const TailnetState& t, bool accept_routes) {
  if (!t.running()) return;
  // The DNS config is empty while this node's key is expired (dnsConfigForNetmap, selfExpired).
  if (!(t.self && t.self->key_expired)) {
    auto host = [&](const TailnetNode& n) {
      if (!n.dns_name.empty() && !n.ips.empty()) domains_.insert(n.dns_name);
    };
    if (t.self) host(*t.self);
    for (const auto& p : t.peers) host(p);
    for (const auto& [name, ip] : t.extra_records) domains_.insert(name);
    if (t.magic_dns_enabled && !t.magic_dns_suffix.empty()) routes_ = magic_dns_routes(t.magic_dns_suffix);
    routes_.insert(routes_.end(), t.dns_routes.begin(), t.dns_routes.end());
    route_set_.insert(routes_.begin(), routes_.end());
    domains_.insert(t.search_domains.begin(), t.search_domains.end());
    search_domains_ = !t.search_domains.empty();
  }
  for (const auto& p : t.peers) {
    if (p.key_expired) continue;
    for (const auto& x : p.allowed_ips) {
      if (x.bits == 0 || (is_subnet(p, x) && !accept_routes)) continue;
      index_.add(x, static_cast<uint32_t>(prefixes_.size()));
      prefixes_.push_back(x);
    }
  }
}

bool PreferredRoutes::domain(std::string_view d) const {
  if (d.empty()) return false;
  if (domains_.count(d)) return true;
  if (search_domains_ && d.find('.') == std::string_view::npos) return true;
  if (route_set_.empty()) return false;
  // miekg/dns IsSubDomain: the route's labels end the name's (a trailing dot changes nothing).
  if (d.back() == '.') d.remove_suffix(1);
  for (size_t i = 0;;) {
    if (route_set_.count(d.substr(i))) return true;
    size_t dot = d.find('.', i);
    if (dot == std::string_view::npos) return false;
    i = dot + 1;
  }
}

bool PreferredRoutes::address(const IpAddr& a) const {
  bool hit = false;
  index_.lookup(a, [&](uint32_t) {
    hit = true;
    return false;
  });
  return hit;
}

}  // namespace tb::route
