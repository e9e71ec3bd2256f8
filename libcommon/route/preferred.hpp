#pragma once
// The preferred routes of a tailscale endpoint, which the `preferred_by` rule item asks about, as
// sing-box 1.13.19 builds them on every reconfig (protocol/tailscale/endpoint.go, onReconfig,
// PreferredDomain, PreferredAddress; docs/singbox.md, "Preferred routes"), here from the last
// status record (TailnetState) instead of tailscaled's engine:
//   domains   every MagicDNS name (self and peers with an address) and control's extra DNS record
//             names: the Hosts of tailscaled's DNS config (ipn/ipnlocal/node_backend.go,
//             dnsConfigForNetmap), and control's search domains, matched exactly; with search
//             domains, every single-label name too;
//   routes    the DNS routes: with MagicDNS on, the MagicDNS suffix and the reverse zones of the
//             tailnet ranges (ipn/ipnlocal/local.go, magicDNSRootDomains), and control's split-DNS
//             routes, matched as a name or any name under it;
//   prefixes  the union of the peers' AllowedIPs as tailscaled's WireGuard config has them
//             (wgengine/wgcfg/nmcfg/nmcfg.go, WGCfg): expired peers left out, default routes
//             (/0) left out, subnet routes only with accept_routes.
// Control's search domains and split-DNS routes come from the record's magic_dns (ts-status reads
// them from /localapi/v0/dns-config, tailscaled 1.102); a record without them has none.
// Empty when the tailnet is not running.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "libcommon/route/index.hpp"
#include "libcommon/route/ip.hpp"

namespace tb::route {

struct TailnetState;

class PreferredRoutes {
 public:
  PreferredRoutes() = default;
  PreferredRoutes(const TailnetState& t, bool accept_routes);

  // sing-box's PreferredDomain: d lower-cased; an exact name, or a DNS route or a name under one.
  bool domain(std::string_view d) const;
  // sing-box's PreferredAddress.
  bool address(const IpAddr& a) const;

  const std::set<std::string, std::less<>>& domains() const { return domains_; }
  const std::vector<std::string>& routes() const { return routes_; }
  const std::vector<Prefix>& prefixes() const { return prefixes_; }

 private:
  std::set<std::string, std::less<>> domains_;  // lower case, no trailing dot
  std::vector<std::string> routes_;             // lower case, no trailing dot
  std::set<std::string, std::less<>> route_set_;
  bool search_domains_ = false;  // a single-label name is preferred when there are search domains
  std::vector<Prefix> prefixes_;
  PrefixIndex index_;
};

}  // namespace tb::route
