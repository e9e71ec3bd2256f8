// The config's inbounds, outbounds and endpoints: keys checked against the schema, the fields
// other layers need read into RouteConfig, typed.

#include <set>

#include "libcommon/route/config_compiler.hpp"

namespace tb::route::detail {

bool sing_box_knows(std::string_view kind, std::string_view type) {
  static const std::set<std::string_view> kInbounds = {
      "tun",   "redirect", "tproxy",    "direct", "socks", "http",   "mixed",   "shadowsocks", "vmess",
      "trojan", "naive",   "shadowtls", "vless",  "anytls", "hysteria", "tuic", "hysteria2", "shadowsocksr"};
  static const std::set<std::string_view> kOutbounds = {
      "direct", "block", "selector", "urltest", "socks",  "http",     "shadowsocks", "vmess", "trojan", "naive",
      "tor",    "ssh",   "shadowtls", "vless",  "anytls", "hysteria", "tuic",        "hysteria2", "shadowsocksr",
      "wireguard", "dns"};
  static const std::set<std::string_view> kEndpoints = {"wireguard", "tailscale"};
  static const std::set<std::string_view> kServices = {"resolved", "ssm-api", "derp", "ccm", "ocm", "oom-killer"};
  const auto& known = kind == "inbound" ? kInbounds : kind == "outbound" ? kOutbounds
                      : kind == "endpoint" ? kEndpoints : kServices;
  return known.count(type) != 0;
}

// "unknown <kind> type: X" (sing-box's decode error) or "<kind> type "X" is not supported by tailbox".
void Compiler::unsupported_type(const std::string& path, const std::string& kind, const std::string& type) {
  if (!sing_box_knows(kind, type))
    rd_.error(path, "unknown " + std::string(kind == "service" ? "inbound" : kind) + " type: " + type, "parse");
  else
    rd_.error(path, kind + " type \"" + type + "\" is not supported by tailbox", "unsupported");
}

DialOptions Compiler::dial(const Json& obj, const std::string& path) {
  DialOptions d;
  if (obj.contains("domain_strategy") && !obj["domain_strategy"].is_null())
    rd_.impending(key_path(path, "domain_strategy"),
                  "legacy domain_strategy dial field is deprecated in sing-box 1.12.0 (fatal in 1.13.0 unless "
                  "ENABLE_DEPRECATED_LEGACY_DOMAIN_STRATEGY_OPTIONS=true); use domain_resolver",
                  "LEGACY_DOMAIN_STRATEGY_OPTIONS");
  if (auto it = obj.find("routing_mark"); it != obj.end())
    if (auto m = rd_.mark(*it, key_path(path, "routing_mark")); m && *m != 0) d.routing_mark = *m;
  for (const auto& k : schema::table()) {
    if (k.section != Section::kDial || k.type != schema::Type::kDuration) continue;
    auto it = obj.find(k.name);
    if (it == obj.end()) continue;
    auto seconds = rd_.duration_seconds(*it, key_path(path, std::string(k.name)), false);
    if (!seconds || *seconds <= 0) continue;
    auto ms = std::chrono::milliseconds(static_cast<int64_t>(*seconds * 1000));
    if (k.name == "connect_timeout") d.connect_timeout = ms;
    if (k.name == "tcp_keep_alive") d.tcp_keep_alive = ms;
    if (k.name == "tcp_keep_alive_interval") d.tcp_keep_alive_interval = ms;
    if (k.name == "fallback_delay") d.fallback_delay = ms;
  }
  d.bind_interface = str(obj, "bind_interface", path);
  d.inet4_bind_address = str(obj, "inet4_bind_address", path);
  d.inet6_bind_address = str(obj, "inet6_bind_address", path);
  d.detour = str(obj, "detour", path);
  d.domain_resolver = resolver_tag(obj);
  network_strategy(obj, path, false);
  d.protect_path = str(obj, "protect_path", path);
  d.netns = str(obj, "netns", path);
  d.reuse_addr = boolean(obj, "reuse_addr", path);
  d.bind_address_no_port = boolean(obj, "bind_address_no_port", path);
  d.tcp_fast_open = boolean(obj, "tcp_fast_open", path);
  d.tcp_multi_path = boolean(obj, "tcp_multi_path", path);
  d.disable_tcp_keep_alive = boolean(obj, "disable_tcp_keep_alive", path);
  if (auto it = obj.find("udp_fragment"); it != obj.end() && !it->is_null())
    if (auto b = rd_.boolean(*it, key_path(path, "udp_fragment"))) d.udp_fragment = *b;
  return d;
}

// An inbound's listen fields that act on its sockets, read as the dial fields of the same names.
DialOptions Compiler::listen_socket(const Json& in, const std::string& path) {
  Json fields = Json::object();
  for (const char* k : {"bind_interface", "routing_mark", "reuse_addr", "netns", "disable_tcp_keep_alive",
                        "tcp_keep_alive", "tcp_keep_alive_interval", "tcp_fast_open", "tcp_multi_path", "udp_fragment"})
    if (auto it = in.find(k); it != in.end()) fields[k] = *it;
  return dial(fields, path);
}

void Compiler::inbounds(const Json& arr) {
  std::set<std::string> tags;
  each_object(arr, "inbounds", "[]option.Inbound", [&](const Json& in, const std::string& path, size_t i) {
    auto info = entry<InboundInfo>(in, path, i);
    if (!tags.insert(info.tag).second) rd_.error(path, "duplicate inbound tag: " + info.tag);
    if (info.type != "mixed" && info.type != "socks" && info.type != "http")
      unsupported_type(path, "inbound", info.type);
    else
      inbound_fields(in, path, info);
    c_.inbounds.push_back(info);
  });
}

void Compiler::inbound_fields(const Json& in, const std::string& path, InboundInfo& info) {
  keys(in, path, {{Section::kListen, Section::kLegacyInbound, Section::kInbound}, info.type, {"type", "tag"}});
  // option/inbound.go (v1.13.19): any legacy field with a value other than its zero is refused;
  // zero ones are accepted silently.
  bool legacy_set = false;
  for (auto k : schema::order(Section::kLegacyInbound)) {
    auto it = in.find(k);
    if (it == in.end()) continue;
    const Json& v = *it;
    bool zero = v.is_null() || v == false || v == 0 || v == "" || v == "0s" || v == "0" || v == "as_is";
    legacy_set = legacy_set || !zero;
    if (zero)
      rd_.warn(key_path(path, std::string(k)),
               "legacy inbound field, deprecated in sing-box 1.11.0 and ignored by 1.13.0; use a sniff/resolve "
               "rule action", "deprecated");
  }
  if (legacy_set)
    rd_.error(path, "legacy inbound fields are deprecated in sing-box 1.11.0 and removed in sing-box 1.13.0, checkout "
                    "migration: https://sing-box.sagernet.org/migration/#migrate-legacy-inbound-fields-to-rule-actions",
              "parse");
  if (auto it = in.find("listen"); it != in.end()) {
    auto s = rd_.string(*it, key_path(path, "listen"));
    if (s && !s->empty()) {
      if (!IpAddr::parse(*s)) rd_.error(key_path(path, "listen"), "ParseAddr(\"" + *s + "\"): unable to parse IP");
      info.listen = *s;
    }
  }
  if (auto it = in.find("listen_port"); it != in.end()) {
    auto n = rd_.integer(*it, key_path(path, "listen_port"), 0, 65535, "uint16");
    if (n) info.listen_port = static_cast<uint16_t>(*n);
  }
  if (auto it = in.find("udp_timeout"); it != in.end()) rd_.duration_seconds(*it, key_path(path, "udp_timeout"), true);
  info.socket = listen_socket(in, path);
  if (auto it = in.find("users"); it != in.end() && !it->is_null()) {
    auto up = key_path(path, "users");
    if (const Json* users = list(*it, up, "[]auth.User")) {
      for (size_t u = 0; u < users->size(); ++u) {
        auto p = index_path(up, u);
        if (keys((*users)[u], p, {{Section::kUser}}))
          info.users.emplace_back(str((*users)[u], "username", p), str((*users)[u], "password", p));
      }
    }
  }
  if (tls_enabled(in, path))
    rd_.error(key_path(path, "tls"), "TLS on inbound type \"" + info.type + "\" is not supported by tailbox", "unsupported");
  if (!str(in, "detour", path).empty())
    rd_.error(key_path(path, "detour"), "detour of inbound type \"" + info.type + "\" is not supported by tailbox",
              "unsupported");
}

void Compiler::outbounds(const Json& arr) {
  each_object(arr, "outbounds", "[]option.Outbound", [&](const Json& o, const std::string& path, size_t i) {
    auto info = entry<OutboundInfo>(o, path, i);
    if (info.type == "direct") {
      keys(o, path, {{Section::kDial, Section::kOutbound}, info.type, {"type", "tag"}});
      for (const char* k : {"override_address", "override_port"})
        if (o.contains(k))
          rd_.error(key_path(path, k),
                    "destination override fields in direct outbound are deprecated in sing-box 1.11.0 and removed "
                    "in sing-box 1.13.0, use route options instead", "create");
      if (o.contains("detour")) rd_.error(key_path(path, "detour"), "`detour` is not supported in direct context", "create");
      info.dial = dial(o, path);
    } else if (info.type == "block") {
      keys(o, path, {{}, {}, {"type", "tag"}});
      rd_.warn(path, "the block outbound is deprecated in sing-box 1.11.0; use a reject rule action", "deprecated");
    } else if (info.type == "socks" || info.type == "http") {
      upstream(o, path, info);
    } else if (info.type == "dns") {
      rd_.error(path, "dns outbound is deprecated in sing-box 1.11.0 and removed in sing-box 1.13.0, use rule actions instead", "create");
      info.supported = false;
    } else {
      unsupported_type(path, "outbound", info.type);
      info.supported = false;
    }
    add_tag(std::move(info));
  });
}

// A socks or http upstream.
void Compiler::upstream(const Json& o, const std::string& path, OutboundInfo& info) {
  keys(o, path, {{Section::kDial, Section::kOutbound}, info.type, {"type", "tag"}});
  info.dial = dial(o, path);
  info.server = str(o, "server", path);
  if (info.server.empty()) rd_.error(key_path(path, "server"), "missing server address", "create");
  if (auto it = o.find("server_port"); it != o.end())
    if (auto n = rd_.integer(*it, key_path(path, "server_port"), 0, 65535, "uint16")) info.server_port = static_cast<uint16_t>(*n);
  if (info.type == "socks") {
    auto v = str(o, "version", path);
    if (!v.empty() && v != "4" && v != "4a" && v != "5") rd_.error(key_path(path, "version"), "unknown socks version: " + v, "create");
    else if (v == "4" || v == "4a")  // sb-relay's upstream dialer speaks SOCKS5 only
      rd_.error(key_path(path, "version"), "SOCKS" + v + " on outbound type \"socks\" is not supported by tailbox (use version 5)",
                "unsupported");
    if (!v.empty()) info.socks_version = v;
    auto n = str(o, "network", path);
    if (!n.empty() && n != "tcp" && n != "udp") rd_.error(key_path(path, "network"), "unknown network: " + n);
    else if (n == "udp")  // sb-relay carries UDP through direct outbounds (and the tailscale endpoint) only
      rd_.error(key_path(path, "network"), "a UDP-only socks outbound is not supported by tailbox", "unsupported");
  } else if (tls_enabled(o, path)) {
    rd_.error(key_path(path, "tls"), "TLS on outbound type \"" + info.type + "\" is not supported by tailbox", "unsupported");
  }
  info.username = str(o, "username", path);
  info.password = str(o, "password", path);
}

void Compiler::endpoints(const Json& arr) {
  each_object(arr, "endpoints", "[]option.Endpoint", [&](const Json& e, const std::string& path, size_t i) {
    auto out = entry<OutboundInfo>(e, path, i);
    out.endpoint = true;
    if (out.type != "tailscale") {
      unsupported_type(path, "endpoint", out.type);
      out.supported = false;
      add_tag(std::move(out));
      return;
    }
    keys(e, path, {{Section::kTailscale, Section::kDial}, {}, {"type", "tag"}});
    out.dial = dial(e, path);
    EndpointInfo info;
    info.tag = out.tag;
    info.path = path;
    tailscale(e, path, info);
    add_tag(std::move(out));
    c_.endpoints.push_back(info);
  });
}

// The tailscale endpoint's own fields, checked as sing-box's NewEndpoint does.
void Compiler::tailscale(const Json& e, const std::string& path, EndpointInfo& info) {
  info.hostname = str(e, "hostname", path);
  info.auth_key = str(e, "auth_key", path);
  info.control_url = str(e, "control_url", path);
  info.exit_node = str(e, "exit_node", path);
  info.accept_routes = boolean(e, "accept_routes", path);
  info.exit_node_allow_lan_access = boolean(e, "exit_node_allow_lan_access", path);
  info.advertise_exit_node = boolean(e, "advertise_exit_node", path);
  info.ephemeral = boolean(e, "ephemeral", path);
  info.has_domain_resolver = e.contains("domain_resolver") && !e["domain_resolver"].is_null();
  if (auto it = e.find("advertise_routes"); it != e.end()) {
    auto rp = key_path(path, "advertise_routes");
    if (auto s = rd_.strings(*it, rp)) {
      for (size_t r = 0; r < s->size(); ++r) {
        auto p = Prefix::parse((*s)[r]);
        if (!p) {
          rd_.error(index_path(rp, r), "netip.ParsePrefix(\"" + (*s)[r] + "\"): invalid prefix");
        } else if (p->bits == 0) {
          rd_.error(rp, "`advertise_routes` cannot be default, use `advertise_exit_node` instead.", "create");
        }
      }
      info.advertise_routes = *s;
    }
  }
  if (auto it = e.find("advertise_tags"); it != e.end())
    if (auto s = rd_.strings(*it, key_path(path, "advertise_tags"))) info.advertise_tags = *s;
  if (info.advertise_exit_node && !info.exit_node.empty())
    rd_.error(path, "cannot advertise an exit node and use an exit node at the same time.", "create");
  if (!info.control_url.empty()) {
    // A URL needs a scheme and a host; a bracketed IPv6 host must be closed.
    auto scheme = info.control_url.find("://");
    std::string host = scheme == std::string::npos ? "" : info.control_url.substr(scheme + 3);
    bool bad = scheme == std::string::npos || scheme == 0 ||
               (!host.empty() && host[0] == '[' && host.find(']') == std::string::npos);
    if (bad) rd_.error(key_path(path, "control_url"), "parse control URL: parse \"" + info.control_url + "\": invalid URL", "create");
  }
  if (auto it = e.find("udp_timeout"); it != e.end()) {
    if (auto d = rd_.duration_seconds(*it, key_path(path, "udp_timeout"), true); d && *d > 0) info.udp_timeout_seconds = *d;
  }
  if (auto it = e.find("relay_server_port"); it != e.end() && !it->is_null())
    if (auto n = rd_.integer(*it, key_path(path, "relay_server_port"), 0, 65535, "uint16")) info.relay_server_port = *n;
  if (auto it = e.find("system_interface_mtu"); it != e.end())
    rd_.integer(*it, key_path(path, "system_interface_mtu"), 0, UINT32_MAX, "uint32");
  if (auto it = e.find("relay_server_static_endpoints"); it != e.end()) {
    auto rp = key_path(path, "relay_server_static_endpoints");
    if (auto s = rd_.strings(*it, rp)) {
      for (size_t r = 0; r < s->size(); ++r)
        if (!split_host_port((*s)[r]) || !IpAddr::parse(split_host_port((*s)[r])->first))
          rd_.error(index_path(rp, r), "ParseAddrPort(\"" + (*s)[r] + "\"): invalid address");
      info.relay_server_static_endpoints = *s;
    }
  }
  if (boolean(e, "system_interface", path))
    rd_.warn(key_path(path, "system_interface"), "ignored in daemon-only mode: tailscaled owns its interface", "ignored");
  if (!str(e, "state_directory", path).empty())
    rd_.warn(key_path(path, "state_directory"), "ignored in daemon-only mode: tailscaled keeps its own state", "ignored");
}

}  // namespace tb::route::detail
