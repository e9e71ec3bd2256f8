#include "libcommon/route/schema.hpp"

#include <iterator>

namespace tb::route::schema {

namespace {

// Does the space-separated list `only` name `variant`? An empty list or variant matches.
bool belongs(std::string_view only, std::string_view variant) {
  if (only.empty() || variant.empty()) return true;
  while (!only.empty()) {
    auto sp = only.find(' ');
    if (only.substr(0, sp) == variant) return true;
    if (sp == std::string_view::npos) break;
    only.remove_prefix(sp + 1);
  }
  return false;
}

using S = Section;
using T = Type;
using A = Support;

// The reasons shared by several keys.
constexpr std::string_view kGui =
    "sing-box uses it only in its graphical clients on Android and Apple platforms; on Linux it ignores it";
constexpr std::string_view kDaemonIf =
    "ignored in daemon-only mode: tailscaled owns its interface (and sing-box ignores it without system_interface)";

// clang-format off
constexpr Key kKeys[] = {
  // option.Options
  {S::kTop, "$schema", T::kString, A::kCarried},
  {S::kTop, "log", T::kObject, A::kCarried},
  {S::kTop, "dns", T::kObject, A::kCarried},
  {S::kTop, "ntp", T::kObject, A::kWarned},
  {S::kTop, "certificate", T::kObject, A::kWarned},
  {S::kTop, "endpoints", T::kList, A::kCarried},
  {S::kTop, "inbounds", T::kList, A::kCarried},
  {S::kTop, "outbounds", T::kList, A::kCarried},
  {S::kTop, "route", T::kObject, A::kCarried},
  {S::kTop, "services", T::kList, A::kRefused},
  {S::kTop, "experimental", T::kObject, A::kWarned},
  // option.LogOptions
  {S::kLog, "disabled", T::kBool, A::kCarried},
  {S::kLog, "level", T::kString, A::kCarried},
  {S::kLog, "output", T::kString, A::kCarried},
  {S::kLog, "timestamp", T::kBool, A::kCarried},
  // option.ListenOptions
  {S::kListen, "listen", T::kString, A::kCarried},
  {S::kListen, "listen_port", T::kPort, A::kCarried},
  {S::kListen, "bind_interface", T::kString, A::kCarried},
  {S::kListen, "routing_mark", T::kMark, A::kCarried},
  {S::kListen, "reuse_addr", T::kBool, A::kCarried},
  {S::kListen, "netns", T::kString, A::kCarried},
  {S::kListen, "disable_tcp_keep_alive", T::kBool, A::kCarried},
  {S::kListen, "tcp_keep_alive", T::kDuration, A::kCarried},
  {S::kListen, "tcp_keep_alive_interval", T::kDuration, A::kCarried},
  {S::kListen, "tcp_fast_open", T::kBool, A::kCarried},
  {S::kListen, "tcp_multi_path", T::kBool, A::kCarried},
  {S::kListen, "udp_fragment", T::kBool, A::kWarned, "", "sing-box's mixed, socks and http inbounds never read it (their UDP socket does not)"},
  {S::kListen, "udp_timeout", T::kDuration, A::kRefused, "", "a per-inbound UDP timeout; sb-relay's --idle-timeout (5m, sing-box's default) applies"},
  {S::kListen, "detour", T::kString, A::kRefused},
  {S::kListen, "proxy_protocol", T::kBool, A::kLater},
  {S::kListen, "proxy_protocol_accept_no_header", T::kBool, A::kLater},
  // option.InboundOptions, deprecated in 1.11, ignored by 1.13
  {S::kLegacyInbound, "sniff", T::kBool, A::kWarned},
  {S::kLegacyInbound, "sniff_override_destination", T::kBool, A::kWarned},
  {S::kLegacyInbound, "sniff_timeout", T::kDuration, A::kWarned},
  {S::kLegacyInbound, "domain_strategy", T::kString, A::kWarned},
  {S::kLegacyInbound, "udp_disable_domain_unmapping", T::kBool, A::kWarned},
  // option.HTTPMixedInboundOptions / SocksInboundOptions
  {S::kInbound, "users", T::kList, A::kCarried, "mixed socks http"},
  {S::kInbound, "domain_resolver", T::kAny, A::kWarned, "mixed socks http", "sing-box 1.13.19 declares it for these inbounds and never uses it"},
  {S::kInbound, "set_system_proxy", T::kBool, A::kRefused, "mixed http", "setting the desktop's proxy"},
  {S::kInbound, "tls", T::kObject, A::kRefused, "mixed http"},
  // auth.User
  {S::kUser, "username", T::kString, A::kCarried},
  {S::kUser, "password", T::kString, A::kCarried},
  // option.DialerOptions
  {S::kDial, "detour", T::kString, A::kCarried},
  {S::kDial, "bind_interface", T::kString, A::kCarried},
  {S::kDial, "inet4_bind_address", T::kString, A::kCarried},
  {S::kDial, "inet6_bind_address", T::kString, A::kCarried},
  {S::kDial, "bind_address_no_port", T::kBool, A::kCarried},
  {S::kDial, "protect_path", T::kString, A::kCarried},
  {S::kDial, "routing_mark", T::kMark, A::kCarried},
  {S::kDial, "reuse_addr", T::kBool, A::kCarried},
  {S::kDial, "netns", T::kString, A::kCarried},
  {S::kDial, "connect_timeout", T::kDuration, A::kCarried},
  {S::kDial, "tcp_fast_open", T::kBool, A::kCarried},
  {S::kDial, "tcp_multi_path", T::kBool, A::kCarried},
  {S::kDial, "disable_tcp_keep_alive", T::kBool, A::kCarried},
  {S::kDial, "tcp_keep_alive", T::kDuration, A::kCarried},
  {S::kDial, "tcp_keep_alive_interval", T::kDuration, A::kCarried},
  {S::kDial, "udp_fragment", T::kBool, A::kCarried},
  {S::kDial, "domain_resolver", T::kAny, A::kCarried},
  {S::kDial, "network_strategy", T::kString, A::kWarned, "", kGui},
  {S::kDial, "network_type", T::kListable, A::kWarned, "", kGui},
  {S::kDial, "fallback_network_type", T::kListable, A::kWarned, "", kGui},
  {S::kDial, "fallback_delay", T::kDuration, A::kCarried},
  {S::kDial, "domain_strategy", T::kString, A::kWarned},
  // option.DirectOutboundOptions / SOCKSOutboundOptions / HTTPOutboundOptions
  {S::kOutbound, "override_address", T::kString, A::kRemoved, "direct"},
  {S::kOutbound, "override_port", T::kPort, A::kRemoved, "direct"},
  {S::kOutbound, "proxy_protocol", T::kInt, A::kLater, "direct"},
  {S::kOutbound, "server", T::kString, A::kCarried, "socks http"},
  {S::kOutbound, "server_port", T::kPort, A::kCarried, "socks http"},
  {S::kOutbound, "version", T::kString, A::kCarried, "socks"},
  {S::kOutbound, "username", T::kString, A::kCarried, "socks http"},
  {S::kOutbound, "password", T::kString, A::kCarried, "socks http"},
  {S::kOutbound, "network", T::kListable, A::kCarried, "socks"},
  {S::kOutbound, "udp_over_tcp", T::kAny, A::kRefused, "socks", "UDP over TCP"},
  {S::kOutbound, "tls", T::kObject, A::kRefused, "http"},
  {S::kOutbound, "path", T::kString, A::kRefused, "http", "a request path on an HTTP upstream"},
  {S::kOutbound, "headers", T::kObject, A::kRefused, "http", "extra headers to an HTTP upstream"},
  // option.TailscaleEndpointOptions (ssh_server: 1.14)
  {S::kTailscale, "state_directory", T::kString, A::kWarned},
  {S::kTailscale, "auth_key", T::kString, A::kCarried},
  {S::kTailscale, "control_url", T::kString, A::kCarried},
  {S::kTailscale, "ephemeral", T::kBool, A::kCarried},
  {S::kTailscale, "hostname", T::kString, A::kCarried},
  {S::kTailscale, "accept_routes", T::kBool, A::kCarried},
  {S::kTailscale, "exit_node", T::kString, A::kCarried},
  {S::kTailscale, "exit_node_allow_lan_access", T::kBool, A::kCarried},
  {S::kTailscale, "advertise_routes", T::kList, A::kCarried},
  {S::kTailscale, "advertise_exit_node", T::kBool, A::kCarried},
  {S::kTailscale, "advertise_tags", T::kListable, A::kCarried},
  {S::kTailscale, "relay_server_port", T::kPort, A::kCarried},
  {S::kTailscale, "relay_server_static_endpoints", T::kList, A::kCarried},
  {S::kTailscale, "system_interface", T::kBool, A::kWarned},
  {S::kTailscale, "system_interface_name", T::kString, A::kWarned, "", kDaemonIf},
  {S::kTailscale, "system_interface_mtu", T::kInt, A::kWarned, "", kDaemonIf},
  {S::kTailscale, "udp_timeout", T::kDuration, A::kWarned, "", "sing-box 1.13.19 keeps it but never uses it (protocol/tailscale/endpoint.go)"},
  {S::kTailscale, "ssh_server", T::kBool, A::kLater},
  // option.RouteOptions (find_neighbor, dhcp_lease_files: 1.14)
  {S::kRoute, "geoip", T::kObject, A::kRemoved},
  {S::kRoute, "geosite", T::kObject, A::kRemoved},
  {S::kRoute, "rules", T::kList, A::kCarried},
  {S::kRoute, "rule_set", T::kList, A::kCarried},
  {S::kRoute, "final", T::kString, A::kCarried},
  {S::kRoute, "find_process", T::kBool, A::kCarried},
  {S::kRoute, "find_neighbor", T::kBool, A::kLater},
  {S::kRoute, "dhcp_lease_files", T::kList, A::kLater},
  {S::kRoute, "auto_detect_interface", T::kBool, A::kCarried},
  {S::kRoute, "override_android_vpn", T::kBool, A::kWarned, "", "Android only: sing-box on Linux ignores it"},
  {S::kRoute, "default_interface", T::kString, A::kCarried},
  {S::kRoute, "default_mark", T::kMark, A::kCarried},
  {S::kRoute, "default_domain_resolver", T::kAny, A::kCarried},
  {S::kRoute, "default_network_strategy", T::kString, A::kWarned, "", kGui},
  {S::kRoute, "default_network_type", T::kListable, A::kWarned, "", kGui},
  {S::kRoute, "default_fallback_network_type", T::kListable, A::kWarned, "", kGui},
  {S::kRoute, "default_fallback_delay", T::kDuration, A::kWarned, "", kGui},
  // option.RuleSet
  {S::kRuleSet, "type", T::kString, A::kCarried},
  {S::kRuleSet, "tag", T::kString, A::kCarried},
  {S::kRuleSet, "format", T::kString, A::kCarried, "local remote"},
  {S::kRuleSet, "rules", T::kList, A::kCarried, "inline"},
  {S::kRuleSet, "path", T::kString, A::kCarried, "local"},
  {S::kRuleSet, "url", T::kString, A::kRefused, "remote"},
  {S::kRuleSet, "download_detour", T::kString, A::kRefused, "remote"},
  {S::kRuleSet, "update_interval", T::kDuration, A::kRefused, "remote"},
  // option.RuleAction by action (route-options fields: kRouteOptions)
  {S::kRouteRuleAction, "action", T::kString, A::kCarried},
  {S::kRouteRuleAction, "outbound", T::kString, A::kCarried, "route bypass"},
  {S::kRouteRuleAction, "method", T::kString, A::kCarried, "reject"},
  {S::kRouteRuleAction, "no_drop", T::kBool, A::kCarried, "reject"},
  {S::kRouteRuleAction, "sniffer", T::kListable, A::kCarried, "sniff"},
  {S::kRouteRuleAction, "timeout", T::kDuration, A::kCarried, "sniff"},
  // option.RouteOptionsActionOptions
  {S::kRouteOptions, "override_address", T::kString, A::kCarried},
  {S::kRouteOptions, "override_port", T::kPort, A::kCarried},
  {S::kRouteOptions, "network_strategy", T::kString, A::kRefused, "", "a network strategy (sing-box's Android and Apple clients)"},
  {S::kRouteOptions, "fallback_delay", T::kDuration, A::kRefused, "", "a per-rule fallback delay"},
  {S::kRouteOptions, "udp_disable_domain_unmapping", T::kBool, A::kRefused, "", "UDP domain unmapping control"},
  {S::kRouteOptions, "udp_connect", T::kBool, A::kRefused, "", "connected UDP sockets"},
  {S::kRouteOptions, "udp_timeout", T::kDuration, A::kRefused, "route-options", "a per-rule UDP timeout"},
  {S::kRouteOptions, "udp_timeout", T::kDuration, A::kWarned, "route bypass", "sing-box ignores udp_timeout on the route and bypass actions (only route-options applies it)"},
  {S::kRouteOptions, "tls_fragment", T::kBool, A::kRefused, "", "TLS fragmentation"},
  {S::kRouteOptions, "tls_fragment_fallback_delay", T::kDuration, A::kRefused, "", "TLS fragmentation"},
  {S::kRouteOptions, "tls_record_fragment", T::kBool, A::kRefused, "", "TLS record fragmentation"},
  // option.DomainResolveOptions
  {S::kResolver, "server", T::kString, A::kCarried},
  {S::kResolver, "strategy", T::kString, A::kCarried},
  {S::kResolver, "disable_cache", T::kBool, A::kCarried},
  {S::kResolver, "rewrite_ttl", T::kInt, A::kRefused, "", "rewriting DNS TTLs"},
  {S::kResolver, "client_subnet", T::kString, A::kRefused, "", "EDNS client subnet"},
  // option.DNSOptions
  {S::kDns, "servers", T::kList, A::kCarried},
  {S::kDns, "rules", T::kList, A::kCarried},
  {S::kDns, "final", T::kString, A::kCarried},
  {S::kDns, "reverse_mapping", T::kBool, A::kRefused},
  {S::kDns, "strategy", T::kString, A::kCarried},
  {S::kDns, "disable_cache", T::kBool, A::kCarried},
  {S::kDns, "disable_expire", T::kBool, A::kCarried},
  {S::kDns, "independent_cache", T::kBool, A::kCarried},
  {S::kDns, "cache_capacity", T::kInt, A::kCarried},
  {S::kDns, "client_subnet", T::kString, A::kRefused},
  {S::kDns, "fakeip", T::kObject, A::kWarned},
  // option.*DNSServerOptions by type, after the dial fields (local, dhcp, remote types)
  {S::kDnsServer, "prefer_go", T::kBool, A::kRefused, "local", "the local server always asks the system resolver"},
  {S::kDnsServer, "prefer_go", T::kBool, A::kRefused, "dhcp"},
  {S::kDnsServer, "interface", T::kString, A::kRefused, "dhcp"},
  {S::kDnsServer, "path", T::kString, A::kCarried, "hosts"},
  {S::kDnsServer, "predefined", T::kObject, A::kCarried, "hosts"},
  {S::kDnsServer, "server", T::kString, A::kCarried, "tcp udp https"},
  {S::kDnsServer, "server", T::kString, A::kRefused, "tls quic h3"},
  {S::kDnsServer, "server_port", T::kPort, A::kCarried, "tcp udp https"},
  {S::kDnsServer, "server_port", T::kPort, A::kRefused, "tls quic h3"},
  {S::kDnsServer, "tls", T::kObject, A::kCarried, "https"},
  {S::kDnsServer, "tls", T::kObject, A::kRefused, "tls quic h3"},
  {S::kDnsServer, "path", T::kString, A::kCarried, "https"},
  {S::kDnsServer, "path", T::kString, A::kRefused, "h3"},
  {S::kDnsServer, "method", T::kString, A::kLater, "https h3"},
  {S::kDnsServer, "headers", T::kObject, A::kCarried, "https"},
  {S::kDnsServer, "headers", T::kObject, A::kRefused, "h3"},
  {S::kDnsServer, "inet4_range", T::kString, A::kRefused, "fakeip"},
  {S::kDnsServer, "inet6_range", T::kString, A::kRefused, "fakeip"},
  {S::kDnsServer, "endpoint", T::kString, A::kCarried, "tailscale"},
  {S::kDnsServer, "accept_default_resolvers", T::kBool, A::kCarried, "tailscale"},
  {S::kDnsServer, "accept_default_resolvers", T::kBool, A::kRefused, "resolved"},
  {S::kDnsServer, "service", T::kString, A::kRefused, "resolved"},
  // option.LegacyDNSServerOptions, deprecated in 1.12
  {S::kLegacyDnsServer, "address", T::kString, A::kRefused},
  {S::kLegacyDnsServer, "address_resolver", T::kString, A::kRefused},
  {S::kLegacyDnsServer, "address_strategy", T::kString, A::kRefused},
  {S::kLegacyDnsServer, "address_fallback_delay", T::kDuration, A::kRefused},
  {S::kLegacyDnsServer, "strategy", T::kString, A::kRefused},
  {S::kLegacyDnsServer, "detour", T::kString, A::kRefused},
  {S::kLegacyDnsServer, "client_subnet", T::kString, A::kRefused},
  // option.DNSRuleAction by action (route: kResolver)
  {S::kDnsRuleAction, "action", T::kString, A::kCarried},
  {S::kDnsRuleAction, "strategy", T::kString, A::kLater, "route-options"},
  {S::kDnsRuleAction, "disable_cache", T::kBool, A::kCarried, "route-options"},
  {S::kDnsRuleAction, "rewrite_ttl", T::kInt, A::kRefused, "route-options"},
  {S::kDnsRuleAction, "client_subnet", T::kString, A::kRefused, "route-options"},
  {S::kDnsRuleAction, "method", T::kString, A::kCarried, "reject"},
  {S::kDnsRuleAction, "no_drop", T::kBool, A::kCarried, "reject"},
  {S::kDnsRuleAction, "rcode", T::kString, A::kCarried, "predefined"},
  {S::kDnsRuleAction, "answer", T::kListable, A::kCarried, "predefined"},
  {S::kDnsRuleAction, "ns", T::kListable, A::kRefused, "predefined", "authority records in predefined answers"},
  {S::kDnsRuleAction, "extra", T::kListable, A::kRefused, "predefined", "additional records in predefined answers"},
  // option.ExperimentalOptions
  {S::kExperimental, "cache_file", T::kObject, A::kWarned},
  {S::kExperimental, "clash_api", T::kObject, A::kWarned},
  {S::kExperimental, "v2ray_api", T::kObject, A::kWarned},
  {S::kExperimental, "debug", T::kObject, A::kWarned},
  // option.CacheFileOptions
  {S::kCacheFile, "enabled", T::kBool, A::kWarned},
  {S::kCacheFile, "path", T::kString, A::kWarned},
  {S::kCacheFile, "cache_id", T::kString, A::kWarned},
  {S::kCacheFile, "store_fakeip", T::kBool, A::kWarned},
  {S::kCacheFile, "store_rdrc", T::kBool, A::kWarned},
  {S::kCacheFile, "rdrc_timeout", T::kDuration, A::kWarned},
  // option.ClashAPIOptions
  {S::kClashApi, "external_controller", T::kString, A::kWarned},
  {S::kClashApi, "external_ui", T::kString, A::kWarned},
  {S::kClashApi, "external_ui_download_url", T::kString, A::kWarned},
  {S::kClashApi, "external_ui_download_detour", T::kString, A::kWarned},
  {S::kClashApi, "secret", T::kString, A::kWarned},
  {S::kClashApi, "default_mode", T::kString, A::kCarried},
  {S::kClashApi, "access_control_allow_origin", T::kListable, A::kWarned},
  {S::kClashApi, "access_control_allow_private_network", T::kBool, A::kWarned},
  {S::kClashApi, "cache_file", T::kString, A::kRemoved},
  {S::kClashApi, "cache_id", T::kString, A::kRemoved},
  {S::kClashApi, "store_mode", T::kBool, A::kRemoved},
  {S::kClashApi, "store_selected", T::kBool, A::kRemoved},
  {S::kClashApi, "store_fakeip", T::kBool, A::kRemoved},
  // option.DefaultRule
  {S::kRule, "type", T::kString, A::kCarried},
  {S::kRule, "inbound", T::kListable, A::kCarried},
  {S::kRule, "ip_version", T::kInt, A::kCarried},
  {S::kRule, "network", T::kListable, A::kCarried},
  {S::kRule, "auth_user", T::kListable, A::kCarried},
  {S::kRule, "protocol", T::kListable, A::kCarried},
  {S::kRule, "client", T::kListable, A::kCarried},
  {S::kRule, "domain", T::kListable, A::kCarried},
  {S::kRule, "domain_suffix", T::kListable, A::kCarried},
  {S::kRule, "domain_keyword", T::kListable, A::kCarried},
  {S::kRule, "domain_regex", T::kListable, A::kCarried},
  {S::kRule, "geosite", T::kListable, A::kRemoved},
  {S::kRule, "source_geoip", T::kListable, A::kRemoved},
  {S::kRule, "geoip", T::kListable, A::kRemoved},
  {S::kRule, "source_ip_cidr", T::kListable, A::kCarried},
  {S::kRule, "source_ip_is_private", T::kBool, A::kCarried},
  {S::kRule, "ip_cidr", T::kListable, A::kCarried},
  {S::kRule, "ip_is_private", T::kBool, A::kCarried},
  {S::kRule, "source_port", T::kListable, A::kCarried},
  {S::kRule, "source_port_range", T::kListable, A::kCarried},
  {S::kRule, "port", T::kListable, A::kCarried},
  {S::kRule, "port_range", T::kListable, A::kCarried},
  {S::kRule, "process_name", T::kListable, A::kCarried},
  {S::kRule, "process_path", T::kListable, A::kCarried},
  {S::kRule, "process_path_regex", T::kListable, A::kCarried},
  {S::kRule, "package_name", T::kListable, A::kRefused},
  {S::kRule, "user", T::kListable, A::kCarried},
  {S::kRule, "user_id", T::kListable, A::kCarried},
  {S::kRule, "clash_mode", T::kString, A::kCarried},
  {S::kRule, "network_type", T::kListable, A::kRefused},
  {S::kRule, "network_is_expensive", T::kBool, A::kRefused},
  {S::kRule, "network_is_constrained", T::kBool, A::kRefused},
  {S::kRule, "wifi_ssid", T::kListable, A::kRefused},
  {S::kRule, "wifi_bssid", T::kListable, A::kRefused},
  {S::kRule, "interface_address", T::kObject, A::kRefused},
  {S::kRule, "network_interface_address", T::kObject, A::kRefused},
  {S::kRule, "default_interface_address", T::kListable, A::kRefused},
  {S::kRule, "source_mac_address", T::kList, A::kLater},
  {S::kRule, "source_hostname", T::kList, A::kLater},
  {S::kRule, "preferred_by", T::kListable, A::kCarried},
  {S::kRule, "rule_set", T::kListable, A::kCarried},
  {S::kRule, "rule_set_ip_cidr_match_source", T::kBool, A::kCarried},
  {S::kRule, "invert", T::kBool, A::kCarried},
  {S::kRule, "rule_set_ipcidr_match_source", T::kBool, A::kRemoved},
  // option.DefaultDNSRule
  {S::kDnsRule, "type", T::kString, A::kCarried},
  {S::kDnsRule, "inbound", T::kListable, A::kCarried},
  {S::kDnsRule, "ip_version", T::kInt, A::kCarried},
  {S::kDnsRule, "query_type", T::kListable, A::kRefused, "", "DNS rules by query type"},
  {S::kDnsRule, "network", T::kListable, A::kCarried},
  {S::kDnsRule, "auth_user", T::kListable, A::kCarried},
  {S::kDnsRule, "protocol", T::kListable, A::kCarried},
  {S::kDnsRule, "domain", T::kListable, A::kCarried},
  {S::kDnsRule, "domain_suffix", T::kListable, A::kCarried},
  {S::kDnsRule, "domain_keyword", T::kListable, A::kCarried},
  {S::kDnsRule, "domain_regex", T::kListable, A::kCarried},
  {S::kDnsRule, "geosite", T::kListable, A::kRemoved},
  {S::kDnsRule, "source_geoip", T::kListable, A::kRemoved},
  {S::kDnsRule, "geoip", T::kListable, A::kRemoved},
  {S::kDnsRule, "ip_cidr", T::kListable, A::kRefused},
  {S::kDnsRule, "ip_is_private", T::kBool, A::kRefused},
  {S::kDnsRule, "ip_accept_any", T::kBool, A::kCarried},
  {S::kDnsRule, "source_ip_cidr", T::kListable, A::kCarried},
  {S::kDnsRule, "source_ip_is_private", T::kBool, A::kCarried},
  {S::kDnsRule, "source_port", T::kListable, A::kCarried},
  {S::kDnsRule, "source_port_range", T::kListable, A::kCarried},
  {S::kDnsRule, "port", T::kListable, A::kCarried},
  {S::kDnsRule, "port_range", T::kListable, A::kCarried},
  {S::kDnsRule, "process_name", T::kListable, A::kCarried},
  {S::kDnsRule, "process_path", T::kListable, A::kCarried},
  {S::kDnsRule, "process_path_regex", T::kListable, A::kCarried},
  {S::kDnsRule, "package_name", T::kListable, A::kRefused},
  {S::kDnsRule, "user", T::kListable, A::kCarried},
  {S::kDnsRule, "user_id", T::kListable, A::kCarried},
  {S::kDnsRule, "outbound", T::kListable, A::kWarned},
  {S::kDnsRule, "clash_mode", T::kString, A::kCarried},
  {S::kDnsRule, "network_type", T::kListable, A::kRefused},
  {S::kDnsRule, "network_is_expensive", T::kBool, A::kRefused},
  {S::kDnsRule, "network_is_constrained", T::kBool, A::kRefused},
  {S::kDnsRule, "wifi_ssid", T::kListable, A::kRefused},
  {S::kDnsRule, "wifi_bssid", T::kListable, A::kRefused},
  {S::kDnsRule, "interface_address", T::kObject, A::kRefused},
  {S::kDnsRule, "network_interface_address", T::kObject, A::kRefused},
  {S::kDnsRule, "default_interface_address", T::kListable, A::kRefused},
  {S::kDnsRule, "source_mac_address", T::kList, A::kLater},
  {S::kDnsRule, "source_hostname", T::kList, A::kLater},
  {S::kDnsRule, "rule_set", T::kListable, A::kCarried},
  {S::kDnsRule, "rule_set_ip_cidr_match_source", T::kBool, A::kCarried},
  {S::kDnsRule, "rule_set_ip_cidr_accept_empty", T::kBool, A::kRefused},
  {S::kDnsRule, "invert", T::kBool, A::kCarried},
  {S::kDnsRule, "rule_set_ipcidr_match_source", T::kBool, A::kRemoved},
  // option.DefaultHeadlessRule (rule-set rules)
  {S::kHeadlessRule, "query_type", T::kListable, A::kCarried},
  {S::kHeadlessRule, "network", T::kListable, A::kCarried},
  {S::kHeadlessRule, "domain", T::kListable, A::kCarried},
  {S::kHeadlessRule, "domain_suffix", T::kListable, A::kCarried},
  {S::kHeadlessRule, "domain_keyword", T::kListable, A::kCarried},
  {S::kHeadlessRule, "domain_regex", T::kListable, A::kCarried},
  {S::kHeadlessRule, "source_ip_cidr", T::kListable, A::kCarried},
  {S::kHeadlessRule, "ip_cidr", T::kListable, A::kCarried},
  {S::kHeadlessRule, "source_port", T::kListable, A::kCarried},
  {S::kHeadlessRule, "source_port_range", T::kListable, A::kCarried},
  {S::kHeadlessRule, "port", T::kListable, A::kCarried},
  {S::kHeadlessRule, "port_range", T::kListable, A::kCarried},
  {S::kHeadlessRule, "process_name", T::kListable, A::kCarried},
  {S::kHeadlessRule, "process_path", T::kListable, A::kCarried},
  {S::kHeadlessRule, "process_path_regex", T::kListable, A::kCarried},
  {S::kHeadlessRule, "package_name", T::kListable, A::kRefused},
  {S::kHeadlessRule, "network_type", T::kListable, A::kRefused},
  {S::kHeadlessRule, "network_is_expensive", T::kBool, A::kRefused},
  {S::kHeadlessRule, "network_is_constrained", T::kBool, A::kRefused},
  {S::kHeadlessRule, "wifi_ssid", T::kListable, A::kRefused},
  {S::kHeadlessRule, "wifi_bssid", T::kListable, A::kRefused},
  {S::kHeadlessRule, "network_interface_address", T::kObject, A::kRefused},
  {S::kHeadlessRule, "default_interface_address", T::kListable, A::kRefused},
  {S::kHeadlessRule, "invert", T::kBool, A::kCarried},
  // option.LogicalRule / LogicalDNSRule
  {S::kLogicalRule, "type", T::kString, A::kCarried},
  {S::kLogicalRule, "mode", T::kString, A::kCarried},
  {S::kLogicalRule, "rules", T::kList, A::kCarried},
  {S::kLogicalRule, "invert", T::kBool, A::kCarried},
};
// clang-format on

}  // namespace

std::span<const Key> table() { return kKeys; }

const Key* find(Section s, std::string_view name, std::string_view variant) {
  for (const auto& k : table())
    if (k.section == s && k.name == name && belongs(k.only, variant)) return &k;
  return nullptr;
}

bool accepts(Section s, std::string_view name, std::string_view variant) {
  const Key* k = find(s, name, variant);
  return k && k->support != Support::kLater;
}

std::vector<std::string_view> order(Section s, std::string_view variant) {
  std::vector<std::string_view> out;
  for (const auto& k : table())
    if (k.section == s && belongs(k.only, variant)) out.push_back(k.name);
  return out;
}

std::string_view support_name(Support s) {
  switch (s) {
    case Support::kCarried: return "carried";
    case Support::kWarned: return "warned";
    case Support::kRefused: return "refused";
    case Support::kRemoved: return "removed";
    case Support::kLater: return "later";
  }
  return "";
}

std::string_view section_name(Section s) {
  static constexpr std::string_view kNames[] = {
      "top",   "log",         "listen",         "legacy_inbound", "inbound",        "user",      "dial",
      "outbound", "tailscale", "route",         "rule_set",       "route_rule_action", "route_options",
      "resolver", "dns",       "dns_server",    "legacy_dns_server", "dns_rule_action", "rule", "dns_rule",
      "headless_rule", "logical_rule", "experimental", "cache_file", "clash_api"};
  auto i = static_cast<size_t>(s);
  return i < std::size(kNames) ? kNames[i] : "";
}

bool is_dial_key(std::string_view name) { return find(Section::kDial, name) != nullptr; }

}  // namespace tb::route::schema
