#pragma once
// The live tailnet as the route engine sees it, read from a v1 `status` record (ts-status), and
// the built-in rule-sets it fills (man/sb-route.json.5, TAILNET RULE-SETS):
//   tailscale:self      this node's addresses and MagicDNS names
//   tailscale:peers     every peer's addresses and MagicDNS names (FQDN and short name)
//   tailscale:routes    subnet routes offered by peers, only when the endpoint has accept_routes
//   tailscale:magicdns  every MagicDNS name, and domain_suffix = the tailnet's MagicDNS suffix
//   tailscale:exit-node the current exit node's addresses
//   tailscale           self + peers + routes + magicdns
// When there is no tailnet (daemon unreachable, stopped, logged out) the sets are empty: rules
// that need the tailnet stop matching and everything else keeps working.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/route/ip.hpp"
#include "libcommon/route/rule.hpp"

namespace tb::route {

using tb::core::Json;
using tb::core::Result;

struct TailnetNode {
  std::string id, name, dns_name;
  std::vector<IpAddr> ips;
  std::vector<Prefix> routes;  // primary_routes (subnet routes this node serves)
  // allowed_ips: what tailscaled routes to the node (its addresses, approved subnet routes, and
  // /0 for an exit node); a record without the field gives the node's addresses.
  std::vector<Prefix> allowed_ips;
  bool online = false;
  bool key_expired = false;
  bool exit_node = false;
};

struct TailnetState {
  std::string state = "unknown";  // the status record's state; "unknown" before any record
  std::optional<TailnetNode> self;
  std::vector<TailnetNode> peers;
  std::optional<TailnetNode> exit_node;
  bool magic_dns_enabled = false;
  std::string magic_dns_suffix;
  std::vector<std::pair<std::string, IpAddr>> extra_records;  // control's DNS records (A/AAAA)
  // Control's search domains and split-DNS route suffixes (magic_dns.search_domains, dns_routes:
  // the netmap's DNS config), lower case without trailing dots; empty when the record has none.
  std::vector<std::string> search_domains, dns_routes;
  // Their resolvers (magic_dns.dns_route_resolvers: suffix → "ip", "ip:port" or an https:// URL;
  // a route answered by MagicDNS alone has none) and the tailnet's default resolvers
  // (magic_dns.default_resolvers): what the tailscale DNS server forwards to.
  std::map<std::string, std::vector<std::string>> dns_route_resolvers;
  std::vector<std::string> default_resolvers;
  std::string tailnet_name;
  // tailscaled has a kernel TUN (sb-relay dials the tailnet from the host stack) rather than
  // userspace networking. A record without "tun" means a TUN, as a daemon without the TUN field
  // does (ts-status reads the Local API's Status.TUN the same way).
  bool tun = true;

  bool running() const { return state == "running"; }
};

// A `status` record → TailnetState. Errors (ExitCode::kDataErr) for records that are not v1 status.
Result<TailnetState> tailnet_from_status(const Json& record);

// MagicDNS names → addresses: FQDN (no trailing dot) and, for nodes inside the suffix, the short
// name; then control's extra DNS records, for names that are not a node's (a node's name wins).
using MagicDnsTable = std::map<std::string, std::vector<IpAddr>>;
MagicDnsTable magic_dns_table(const TailnetState& t);

// The built-in rule-sets, in tailnet_set_tags() order.
std::vector<std::unique_ptr<RuleSet>> tailnet_rule_sets(const TailnetState& t, bool accept_routes);

}  // namespace tb::route
