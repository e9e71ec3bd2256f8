#include "libcommon/route/format.hpp"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string_view>
#include <vector>

namespace tb::route {

using tb::core::Json;

namespace {

const std::set<std::string, std::less<>> kListable = {
    "inbound", "network", "auth_user", "protocol", "client", "domain", "domain_suffix", "domain_keyword",
    "domain_regex", "source_ip_cidr", "ip_cidr", "source_port", "source_port_range", "port", "port_range",
    "process_name", "process_path", "process_path_regex", "package_name", "user", "user_id", "rule_set",
    "query_type", "advertise_tags", "sniffer", "outbound", "wifi_ssid", "wifi_bssid", "clash_mode",
    "network_type", "preferred_by"};

bool is_empty(const Json& v) {
  return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
         (v.is_boolean() && !v.get<bool>()) || (v.is_number_integer() && v.get<int64_t>() == 0) ||
         (v.is_number_unsigned() && v.get<uint64_t>() == 0) || (v.is_array() && v.empty()) ||
         (v.is_object() && v.empty());
}

Json clean(const Json& v, const std::string& key) {
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      Json c = clean(it.value(), it.key());
      if (!is_empty(c)) out[it.key()] = std::move(c);
    }
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& x : v) {
      Json c = clean(x, "");
      if (!c.is_null()) out.push_back(std::move(c));
    }
    if (out.size() == 1 && kListable.count(key) && !out[0].is_object() && !out[0].is_array()) return out[0];
    return out;
  }
  return v;
}

// Field orders of sing-box's option structs (option/*.go, 1.13), embedded structs expanded in
// place. Keys not listed keep their input order after the listed ones.
using Keys = std::vector<std::string_view>;

// clang-format off
const Keys kTop = {"$schema", "log", "dns", "ntp", "certificate", "endpoints", "inbounds", "outbounds", "route",
                   "services", "experimental"};
const Keys kLog = {"disabled", "level", "output", "timestamp"};
const Keys kListen = {"listen", "listen_port", "bind_interface", "routing_mark", "reuse_addr", "netns",
                      "disable_tcp_keep_alive", "tcp_keep_alive", "tcp_keep_alive_interval", "tcp_fast_open",
                      "tcp_multi_path", "udp_fragment", "udp_timeout", "detour", "proxy_protocol",
                      "proxy_protocol_accept_no_header", "sniff", "sniff_override_destination", "sniff_timeout",
                      "domain_strategy", "udp_disable_domain_unmapping"};
const Keys kDial = {"detour", "bind_interface", "inet4_bind_address", "inet6_bind_address", "bind_address_no_port",
                    "protect_path", "routing_mark", "reuse_addr", "netns", "connect_timeout", "tcp_fast_open",
                    "tcp_multi_path", "disable_tcp_keep_alive", "tcp_keep_alive", "tcp_keep_alive_interval",
                    "udp_fragment", "domain_resolver", "network_strategy", "network_type", "fallback_network_type",
                    "fallback_delay", "domain_strategy"};
const Keys kResolver = {"server", "strategy", "disable_cache", "rewrite_ttl", "client_subnet"};
const Keys kUser = {"username", "password"};
const Keys kTailscale = {"state_directory", "auth_key", "control_url", "ephemeral", "hostname", "accept_routes",
                         "exit_node", "exit_node_allow_lan_access", "advertise_routes", "advertise_exit_node",
                         "advertise_tags", "relay_server_port", "relay_server_static_endpoints", "system_interface",
                         "system_interface_name", "system_interface_mtu", "udp_timeout", "ssh_server"};
const Keys kRoute = {"geoip", "geosite", "rules", "rule_set", "final", "find_process", "find_neighbor",
                     "dhcp_lease_files", "auto_detect_interface", "override_android_vpn", "default_interface",
                     "default_mark", "default_domain_resolver", "default_network_strategy", "default_network_type",
                     "default_fallback_network_type", "default_fallback_delay"};
const Keys kRule = {"type", "inbound", "ip_version", "network", "auth_user", "protocol", "client", "domain",
                    "domain_suffix", "domain_keyword", "domain_regex", "geosite", "source_geoip", "geoip",
                    "source_ip_cidr", "source_ip_is_private", "ip_cidr", "ip_is_private", "source_port",
                    "source_port_range", "port", "port_range", "process_name", "process_path", "process_path_regex",
                    "package_name", "user", "user_id", "clash_mode", "network_type", "network_is_expensive",
                    "network_is_constrained", "wifi_ssid", "wifi_bssid", "interface_address",
                    "network_interface_address", "default_interface_address", "source_mac_address",
                    "source_hostname", "preferred_by", "rule_set", "rule_set_ip_cidr_match_source", "invert",
                    "rule_set_ipcidr_match_source"};
const Keys kDnsRule = {"type", "inbound", "ip_version", "query_type", "network", "auth_user", "protocol", "domain",
                       "domain_suffix", "domain_keyword", "domain_regex", "geosite", "source_geoip", "geoip",
                       "ip_cidr", "ip_is_private", "ip_accept_any", "source_ip_cidr", "source_ip_is_private",
                       "source_port", "source_port_range", "port", "port_range", "process_name", "process_path",
                       "process_path_regex", "package_name", "user", "user_id", "outbound", "clash_mode",
                       "network_type", "network_is_expensive", "network_is_constrained", "wifi_ssid", "wifi_bssid",
                       "interface_address", "network_interface_address", "default_interface_address",
                       "source_mac_address", "source_hostname", "rule_set", "rule_set_ip_cidr_match_source",
                       "rule_set_ip_cidr_accept_empty", "invert", "rule_set_ipcidr_match_source"};
const Keys kLogical = {"type", "mode", "rules", "invert"};
const Keys kRouteOptions = {"override_address", "override_port", "network_strategy", "fallback_delay",
                            "udp_disable_domain_unmapping", "udp_connect", "udp_timeout", "tls_fragment",
                            "tls_fragment_fallback_delay", "tls_record_fragment"};
const Keys kDns = {"servers", "rules", "final", "reverse_mapping", "strategy", "disable_cache", "disable_expire",
                   "independent_cache", "cache_capacity", "client_subnet", "fakeip"};
const Keys kLegacyDnsServer = {"address", "address_resolver", "address_strategy", "address_fallback_delay",
                               "strategy", "detour", "client_subnet"};
const Keys kRuleSet = {"type", "tag", "format", "rules", "path", "url", "download_detour", "update_interval"};
const Keys kExperimental = {"cache_file", "clash_api", "v2ray_api", "debug"};
const Keys kCacheFile = {"enabled", "path", "cache_id", "store_fakeip", "store_rdrc", "rdrc_timeout"};
const Keys kClashApi = {"external_controller", "external_ui", "external_ui_download_url",
                        "external_ui_download_detour", "secret", "default_mode", "access_control_allow_origin",
                        "access_control_allow_private_network", "cache_file", "cache_id", "store_mode",
                        "store_selected", "store_fakeip"};
// clang-format on

Keys cat(std::initializer_list<const Keys*> parts) {
  Keys out;
  for (const Keys* p : parts)
    for (auto k : *p)
      if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  return out;
}

// Listed keys first, in list order; then the rest in input order.
Json reorder(const Json& obj, const Keys& order) {
  Json out = Json::object();
  for (auto k : order) {
    auto it = obj.find(std::string(k));
    if (it != obj.end()) out[std::string(k)] = *it;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!out.contains(it.key())) out[it.key()] = it.value();
  return out;
}

std::string type_of(const Json& obj) {
  auto it = obj.find("type");
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename F>
void each_object(Json& obj, const char* key, F f) {
  auto it = obj.find(key);
  if (it == obj.end()) return;
  if (it->is_array()) {
    for (auto& x : *it)
      if (x.is_object()) x = f(x);
  } else if (it->is_object()) {
    *it = f(*it);
  }
}

void resolver_field(Json& obj, const char* key) {
  each_object(obj, key, [](const Json& r) { return reorder(r, kResolver); });
}

Json order_dial(Json o) {
  resolver_field(o, "domain_resolver");
  return o;
}

Json order_inbound(const Json& in) {
  const std::string t = type_of(in);
  Keys head = {"type", "tag"};
  Keys order;
  if (t == "mixed" || t == "http") {
    Keys rest = {"users", "domain_resolver", "set_system_proxy", "tls"};
    order = cat({&head, &kListen, &rest});
  } else if (t == "socks") {
    Keys rest = {"users", "domain_resolver"};
    order = cat({&head, &kListen, &rest});
  } else {
    order = head;
  }
  Json out = reorder(in, order);
  each_object(out, "users", [](const Json& u) { return reorder(u, kUser); });
  resolver_field(out, "domain_resolver");
  return out;
}

Json order_outbound(const Json& in) {
  const std::string t = type_of(in);
  Keys head = {"type", "tag"};
  Keys order;
  if (t == "direct") {
    Keys rest = {"override_address", "override_port", "proxy_protocol"};
    order = cat({&head, &kDial, &rest});
  } else if (t == "socks") {
    Keys rest = {"server", "server_port", "version", "username", "password", "network", "udp_over_tcp"};
    order = cat({&head, &kDial, &rest});
  } else if (t == "http") {
    Keys rest = {"server", "server_port", "username", "password", "tls", "path", "headers"};
    order = cat({&head, &kDial, &rest});
  } else {
    order = head;
  }
  return order_dial(reorder(in, order));
}

Json order_endpoint(const Json& in) {
  Keys head = {"type", "tag"};
  if (type_of(in) != "tailscale") return reorder(in, head);
  return order_dial(reorder(in, cat({&head, &kDial, &kTailscale})));
}

// Action fields for `action` (default "route"), route rules.
Keys route_action_keys(const std::string& action) {
  Keys a = {"action"};
  if (action == "route" || action == "bypass") {
    Keys o = {"outbound"};
    return cat({&a, &o, &kRouteOptions});
  }
  if (action == "route-options") return cat({&a, &kRouteOptions});
  if (action == "reject") return Keys{"action", "method", "no_drop"};
  if (action == "sniff") return Keys{"action", "sniffer", "timeout"};
  if (action == "resolve") return cat({&a, &kResolver});
  if (action == "direct") return cat({&a, &kDial});
  return a;
}

Keys dns_action_keys(const std::string& action) {
  Keys a = {"action"};
  if (action == "route") return cat({&a, &kResolver});
  if (action == "route-options") {
    Keys o = {"strategy", "disable_cache", "rewrite_ttl", "client_subnet"};
    return cat({&a, &o});
  }
  if (action == "reject") return Keys{"action", "method", "no_drop"};
  if (action == "predefined") return Keys{"action", "rcode", "answer", "ns", "extra"};
  return a;
}

Json order_rule(const Json& in, bool dns) {
  auto it = in.find("action");
  std::string action = it != in.end() && it->is_string() ? it->get<std::string>() : "route";
  Keys acts = dns ? dns_action_keys(action) : route_action_keys(action);
  const bool logical = type_of(in) == "logical";
  Keys order = cat({logical ? &kLogical : (dns ? &kDnsRule : &kRule), &acts});
  Json out = reorder(in, order);
  if (logical) each_object(out, "rules", [dns](const Json& r) { return order_rule(r, dns); });
  if (action == "direct" && !dns) out = order_dial(std::move(out));
  return out;
}

Json order_dns_server(const Json& in) {
  const std::string t = type_of(in);
  Keys head = {"type", "tag"};
  Keys order;
  if (t.empty() && in.contains("address")) {
    order = cat({&head, &kLegacyDnsServer});
  } else if (t == "local" || t == "dhcp") {
    Keys rest = {"prefer_go", "interface"};
    order = cat({&head, &kDial, &rest});
  } else if (t == "hosts") {
    order = Keys{"type", "tag", "path", "predefined"};
  } else if (t == "tcp" || t == "udp" || t == "tls" || t == "quic" || t == "https" || t == "h3") {
    Keys rest = {"server", "server_port", "tls", "path", "method", "headers"};
    order = cat({&head, &kDial, &rest});
  } else if (t == "fakeip") {
    order = Keys{"type", "tag", "inet4_range", "inet6_range"};
  } else if (t == "tailscale") {
    order = Keys{"type", "tag", "endpoint", "accept_default_resolvers"};
  } else {
    order = head;
  }
  return order_dial(reorder(in, order));
}

Json order_config(const Json& in) {
  Json out = reorder(in, kTop);
  each_object(out, "log", [](const Json& o) { return reorder(o, kLog); });
  each_object(out, "inbounds", order_inbound);
  each_object(out, "outbounds", order_outbound);
  each_object(out, "endpoints", order_endpoint);
  each_object(out, "route", [](const Json& r) {
    Json o = reorder(r, kRoute);
    each_object(o, "rules", [](const Json& x) { return order_rule(x, false); });
    each_object(o, "rule_set", [](const Json& x) { return reorder(x, kRuleSet); });
    resolver_field(o, "default_domain_resolver");
    return o;
  });
  each_object(out, "dns", [](const Json& d) {
    Json o = reorder(d, kDns);
    each_object(o, "servers", order_dns_server);
    each_object(o, "rules", [](const Json& x) { return order_rule(x, true); });
    return o;
  });
  each_object(out, "experimental", [](const Json& e) {
    Json o = reorder(e, kExperimental);
    each_object(o, "cache_file", [](const Json& x) { return reorder(x, kCacheFile); });
    each_object(o, "clash_api", [](const Json& x) { return reorder(x, kClashApi); });
    return o;
  });
  return out;
}

}  // namespace

Json format_config(const Json& config) {
  Json cleaned = clean(config, "");
  if (!cleaned.is_object()) return cleaned;
  return order_config(cleaned);
}

std::string format_config_text(const Json& config) {
  return format_config(config).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace tb::route
