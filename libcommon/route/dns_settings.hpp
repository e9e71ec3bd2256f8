#pragma once
// The `dns` section as sb-relay carries it out (docs/singbox.md, "DNS"): the servers by tag, the
// DNS rules (the route rules' matching engine, with the DNS actions), dns.final, dns.strategy and
// the cache keys, plus which server each dial resolves with (an outbound's `domain_resolver`,
// `route.default_domain_resolver`). Read from a config `compile_config` accepted; no sockets.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/route/config.hpp"

namespace tb::route {

// One dns.servers entry of a type tailbox carries: local, hosts, udp, tcp, https, tailscale.
struct DnsServerSpec {
  std::string tag, type, path;  // path: dns.servers[i]
  std::string server;           // udp / tcp / https: address or name
  uint16_t port = 0;            // 53, or 443 for https, when absent
  std::string http_path = "/dns-query";
  std::vector<std::pair<std::string, std::string>> headers;
  bool tls_insecure = false;
  std::string tls_server_name, tls_ca_path, tls_ca_pem;  // tls.server_name, certificate_path, certificate
  std::vector<std::string> hosts_paths;                  // hosts: path (default /etc/hosts)
  std::map<std::string, std::vector<IpAddr>> predefined; // hosts: predefined (lower-case names)
  bool accept_default_resolvers = false;                 // tailscale
  std::string endpoint;                                  // tailscale
  DialOptions dial;                                      // the server's dial fields (or its detour's)
  std::string resolver;                                  // domain_resolver of a server named by domain
};

// What a lookup asks: sing-box's DNSQueryOptions (server "" = the DNS rules decide).
struct DnsAsk {
  std::string server;
  std::string strategy;  // "" (as_is), ipv4_only, ipv6_only, prefer_ipv4, prefer_ipv6
  bool disable_cache = false;
};

enum class DnsActionType { kRoute, kRouteOptions, kReject, kPredefined };

struct DnsRuleSpec {
  std::string path;  // dns.rules[i]
  Rule rule;
  DnsActionType type = DnsActionType::kRoute;
  DnsAsk ask;                  // route / route-options: server (route only), strategy, disable_cache
  std::string reject_method;   // reject: default | drop
  int rcode = 0;               // predefined: NOERROR unless rcode says otherwise
  std::vector<IpAddr> answer;  // predefined: its A / AAAA answers
  // ip_accept_any: the rule matches before the lookup, and its answer is taken only when it has an
  // address; otherwise the rules after it are tried (dns/router.go, addressLimitResponseCheck).
  bool accept_any = false;
};

struct DnsSettings {
  std::vector<DnsServerSpec> servers;
  std::vector<DnsRuleSpec> rules;
  std::string final_tag;  // dns.final, else the first server's tag
  std::string strategy;   // dns.strategy
  bool disable_cache = false, disable_expire = false, independent_cache = false;
  uint32_t cache_capacity = 1024;  // at least 1024, as sing-box
  // route.default_domain_resolver and each outbound's (or endpoint's) domain_resolver, by tag.
  std::optional<DnsAsk> default_resolver;
  std::map<std::string, DnsAsk> outbound_resolvers;

  const DnsServerSpec* server(const std::string& tag) const {
    for (const auto& s : servers)
      if (s.tag == tag) return &s;
    return nullptr;
  }
  // The server a dial of `outbound` resolves its destination with: its domain_resolver, else
  // route.default_domain_resolver, else (fewer than two servers) the default server, else "" (the
  // DNS rules decide), as sing-box's common/dialer/dialer.go.
  DnsAsk ask_for_outbound(const std::string& outbound) const;
};

// One step of dns/router.go's matchDNS from rule `from` on: the server to ask (`rule` set when a
// DNS rule chose it, null for dns.final), or the reject / predefined rule that answers instead
// (server null), with the options in effect. `next` is where the rules go on when the answer of an
// ip_accept_any rule has no address. The context carries the name and the connection.
struct DnsChoice {
  const DnsServerSpec* server = nullptr;
  const DnsRuleSpec* rule = nullptr;
  size_t index = 0, next = 0;  // the rule's index; the next to try
  DnsAsk ask;
  std::string error;  // dns.final names nothing
};
DnsChoice choose_dns(const DnsSettings& dns, MatchContext& c, DnsAsk ask, size_t from);

// For people (sb-route explain): which server answers a dial of `outbound` for the name in `c`,
// and why ("server u (domain_resolver of outbound direct)", "server t (dns.rules[2])", …).
std::string describe_dns_choice(const DnsSettings& dns, MatchContext& c, const std::string& outbound);
// The same for a resolve action naming `server` ("" = the DNS rules).
std::string describe_dns_resolve(const DnsSettings& dns, MatchContext& c, const std::string& server);

// nullptr when the config has no dns.servers (sb-relay then resolves as before: the plan's
// MagicDNS table, tailscaled's resolver for the tailnet suffix, the system resolver).
std::shared_ptr<const DnsSettings> dns_settings(const RouteConfig& config);

}  // namespace tb::route
