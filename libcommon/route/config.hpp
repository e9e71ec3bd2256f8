#pragma once
// The sing-box config subset tailbox understands (man/sb-route.json.5): inbounds mixed/socks/http,
// outbounds direct/block/socks/http, tailscale endpoints, route and dns. Everything is checked and
// every finding is kept (with its JSON path), so `sb-route check` reports them all at once;
// anything outside the subset is reported as unsupported while the rest is still checked.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/route/diagnostic.hpp"
#include "libcommon/route/rule.hpp"

namespace tb::route {

using tb::core::Json;

// The dial fields tailbox carries out (option.DialerOptions), applied by libcommon/net/protect.hpp.
// An inbound's listen fields of the same names (option.ListenOptions) use the same struct.
struct DialOptions {
  std::optional<uint32_t> routing_mark;  // SO_MARK (route.default_mark when the outbound has none)
  std::string bind_interface;            // SO_BINDTOIFINDEX, falling back to SO_BINDTODEVICE
  std::string inet4_bind_address, inet6_bind_address;
  std::chrono::milliseconds connect_timeout{5000};  // 0 or absent: sing-box's default, 5s
  std::string detour;
  std::string domain_resolver;  // the DNS server tag (a string, or the object's "server")
  std::string protect_path;     // a protect server's Unix socket (the descriptor in SCM_RIGHTS)
  std::string netns;            // a name under /var/run/netns, or a path
  bool reuse_addr = false, bind_address_no_port = false, tcp_fast_open = false, tcp_multi_path = false;
  std::optional<bool> udp_fragment;  // absent: the type's default (direct: true, others: false)
  bool disable_tcp_keep_alive = false;
  std::chrono::milliseconds tcp_keep_alive{0}, tcp_keep_alive_interval{0};  // 0: 5 min and 75 s
  std::chrono::milliseconds fallback_delay{0};                              // 0: 300 ms
  // route.default_interface and route.auto_detect_interface, on outbounds that set neither
  // bind_interface nor a bind address (sing-box's disableDefaultBind).
  std::string default_interface;
  bool auto_detect_interface = false;
  bool operator==(const DialOptions&) const = default;
};

struct InboundInfo {
  std::string tag, type, path, listen = "127.0.0.1";
  uint16_t listen_port = 0;
  std::vector<std::pair<std::string, std::string>> users;
  DialOptions socket;  // the listen fields: bind_interface, routing_mark, reuse_addr, netns, tcp_*, udp_fragment
};

struct OutboundInfo {
  std::string tag, type, path;
  bool endpoint = false;
  bool supported = true;
  DialOptions dial;
  // socks / http upstreams
  std::string server;
  uint16_t server_port = 0;
  std::string username, password;
  std::string socks_version = "5";
};

// A tailscale endpoint's settings (option.TailscaleEndpointOptions).
struct EndpointInfo {
  std::string tag, path, hostname, control_url, exit_node, auth_key;
  bool accept_routes = false, exit_node_allow_lan_access = false, advertise_exit_node = false, ephemeral = false;
  std::vector<std::string> advertise_routes, advertise_tags;
  std::optional<int64_t> relay_server_port;  // present and not null
  std::optional<std::vector<std::string>> relay_server_static_endpoints;
  double udp_timeout_seconds = 300;
  bool has_domain_resolver = false;
};

// The built-in rule-sets filled from the live tailnet (man/sb-route.json.5, "TAILNET RULE-SETS").
inline const std::vector<std::string>& tailnet_set_tags() {
  static const std::vector<std::string> tags = {"tailscale",       "tailscale:self",     "tailscale:peers",
                                                "tailscale:routes", "tailscale:magicdns", "tailscale:exit-node"};
  return tags;
}

struct RouteConfig {
  Json source;  // the merged config as read
  std::vector<InboundInfo> inbounds;
  std::vector<OutboundInfo> outbounds;  // outbounds then endpoints (shared tag namespace)
  std::vector<EndpointInfo> endpoints;
  std::vector<std::string> dns_servers;  // the tags of dns.servers (an untagged one: its index)
  std::vector<DialOptions> dns_dials;    // per dns.servers entry: its socket's dial fields (config_dns.cpp)
  std::shared_ptr<const struct DnsSettings> dns;  // for sb-relay (dns_settings.hpp); null without dns.servers
  std::vector<TopRule> rules;
  std::vector<std::unique_ptr<RuleSet>> rule_sets;  // config sets; ids 0..n-1
  RuleSetIds set_ids;                                // includes the tailnet tags (ids n..)
  uint32_t tailnet_set_base = 0;
  std::optional<uint32_t> default_mark;  // route.default_mark, when not 0 (already applied to every dial)
  std::string default_interface;         // route.default_interface (already applied, as default_mark)
  bool auto_detect_interface = false;    // route.auto_detect_interface (likewise)
  // experimental.clash_api's default_mode ("Rule" when unset), the mode clash_mode rules compare
  // with; nullopt without a Clash API (then no clash_mode item matches).
  std::optional<std::string> clash_mode;
  std::string final_outbound;
  std::string final_from;  // "final" | "first_outbound" | "implicit_direct"
  bool needs_process = false;
  Diagnostics diagnostics;

  bool ok() const { return !has_errors(diagnostics); }
  const OutboundInfo* find_outbound(const std::string& tag) const;
  const EndpointInfo* find_endpoint(const std::string& tag) const;
};

struct CompileOptions {
  std::string base_dir;  // where relative rule-set paths are resolved ("" = the working directory)
};

// Never fails as a call: errors are diagnostics inside.
std::shared_ptr<RouteConfig> compile_config(Json merged, const CompileOptions& opts = {});

}  // namespace tb::route
