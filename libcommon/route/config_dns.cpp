// dns: servers (keys by type, the tailscale server's endpoint) and rules, checked so that a config
// sing-box refuses is refused here too, and what sb-relay cannot carry out (docs/singbox.md, "DNS")
// is refused as not supported by tailbox. dns_settings.cpp reads the section for sb-relay.

#include <algorithm>
#include <set>

#include "libcommon/route/config_compiler.hpp"
#include "libcommon/route/dns_settings.hpp"

namespace tb::route::detail {

void Compiler::dns(const Json& obj) {
  if (obj.is_null() || !keys(obj, "dns", {{Section::kDns}})) return;
  if (obj.contains("fakeip") && !obj["fakeip"].is_null())
    rd_.impending("dns.fakeip", "legacy fakeip options are deprecated in sing-box 1.12.0 (fatal in 1.13.0 unless "
                                "ENABLE_DEPRECATED_LEGACY_DNS_FAKEIP_OPTIONS=true)", "LEGACY_DNS_FAKEIP_OPTIONS");
  std::set<std::string> server_tags, ts_endpoints;
  std::vector<std::string> detours, resolvers, types;  // per server: its type, what it depends on
  size_t server_count = 0;
  if (auto it = obj.find("servers"); it != obj.end()) {
    if (const Json* servers = list(*it, "dns.servers", "[]option.DNSServerOptions")) {
      server_count = servers->size();
      for (size_t i = 0; i < servers->size(); ++i) {
        auto p = index_path("dns.servers", i);
        const Json& s = (*servers)[i];
        if (!rd_.expect_object(s, p)) continue;
        auto tag = str(s, "tag", p);
        if (tag.empty()) tag = std::to_string(i);
        if (!server_tags.insert(tag).second) rd_.error(p, "duplicate dns server tag: " + tag);
        c_.dns_servers.push_back(tag);
        c_.dns_dials.emplace_back();
        auto type = str(s, "type", p);
        types.push_back(type);
        detours.push_back(type.empty() ? std::string() : str(s, "detour", p));
        resolvers.push_back(type.empty() ? std::string() : resolver_tag(s));
        if (!type.empty()) {
          dns_server(s, p, type, ts_endpoints);
          continue;
        }
        keys(s, p, {{Section::kLegacyDnsServer}, {}, {"tag"}});
        rd_.impending(p, "legacy DNS server format is deprecated in sing-box 1.12.0 (fatal in 1.13.0 unless "
                         "ENABLE_DEPRECATED_LEGACY_DNS_SERVERS=true); use a typed server", "LEGACY_DNS_SERVERS");
        if (c_.diagnostics.back().severity == Severity::kWarning)
          rd_.error(p, "legacy DNS server format is not supported by tailbox; use a typed server", "unsupported");
      }
    }
  }
  if (auto it = obj.find("rules"); it != obj.end()) {
    if (const Json* rules = list(*it, "dns.rules", "[]option.DNSRule")) {
      RuleCompiler rc{&c_.set_ids, &c_.diagnostics, true, nullptr, c_.clash_mode ? &*c_.clash_mode : nullptr};
      for (size_t i = 0; i < rules->size(); ++i) {
        rc.compile_top((*rules)[i], index_path("dns.rules", i));
        dns_rule_unsupported((*rules)[i], index_path("dns.rules", i));
      }
      dns_rule_servers(*rules);
    }
  }
  for (const char* k : {"reverse_mapping", "client_subnet"})
    if (obj.contains(k) && !obj[k].is_null() && obj[k] != false && obj[k] != "")
      rd_.error(key_path("dns", k), std::string(k) + " is not supported by tailbox", "unsupported");
  dns_references(obj, detours, resolvers);
  fakeip_servers(obj, types);
  dns_resolvers(server_count);
  c_.dns = dns_settings(c_);
}

// The tags a DNS server or dns.final names, resolved when sing-box starts (dns/transport_manager.go;
// a server's detour: common/dialer/detour.go).
void Compiler::dns_references(const Json& obj, const std::vector<std::string>& detours,
                              const std::vector<std::string>& resolvers) {
  for (size_t i = 0; i < c_.dns_servers.size() && i < detours.size(); ++i) {
    auto p = index_path("dns.servers", i);
    if (!detours[i].empty() && !c_.find_outbound(detours[i]))
      rd_.error(key_path(p, "detour"), "outbound detour not found: " + detours[i], "start");
    if (!resolvers[i].empty() &&
        std::find(c_.dns_servers.begin(), c_.dns_servers.end(), resolvers[i]) == c_.dns_servers.end())
      rd_.error(key_path(p, "domain_resolver"),
                "dependency[" + resolvers[i] + "] not found for server[" + c_.dns_servers[i] + "]", "start");
  }
  auto final_tag = str(obj, "final", "dns");
  if (!final_tag.empty() && std::find(c_.dns_servers.begin(), c_.dns_servers.end(), final_tag) == c_.dns_servers.end())
    rd_.error("dns.final", "default DNS server not found: " + final_tag, "start");
}

// The default server (dns.final, else the first one) cannot be fakeip, and there is one fakeip
// server at most (dns/transport_manager.go, Create).
void Compiler::fakeip_servers(const Json& obj, const std::vector<std::string>& types) {
  auto final_tag = str(obj, "final", "dns");
  bool seen = false;
  for (size_t i = 0; i < types.size() && i < c_.dns_servers.size(); ++i) {
    if (types[i] != "fakeip") continue;
    if (final_tag.empty() ? i == 0 : c_.dns_servers[i] == final_tag)
      rd_.error(final_tag.empty() ? index_path("dns.servers", i) : "dns.final", "default server cannot be fakeip", "create");
    else if (seen)
      rd_.error(index_path("dns.servers", i), "multiple fakeip server are not supported", "create");
    seen = true;
  }
}

// A DNS rule's route action names a server; a missing one is looked up per query, and sing-box
// logs it and skips the rule (dns/router.go, matchDNS).
void Compiler::dns_rule_servers(const Json& rules) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const Json& r = rules[i];
    if (!r.is_object()) continue;
    auto action = r.find("action");
    if (action != r.end() && !(action->is_string() && (*action == "route" || *action == "")))
      continue;
    auto server = r.find("server");
    if (server == r.end() || !server->is_string() || server->get<std::string>().empty()) continue;
    const std::string tag = server->get<std::string>();
    if (std::find(c_.dns_servers.begin(), c_.dns_servers.end(), tag) == c_.dns_servers.end())
      rd_.warn(key_path(index_path("dns.rules", i), "server"),
               "DNS server not found: " + tag + " (sing-box starts; each query this rule matches skips it)",
               "runtime");
  }
}

// A typed DNS server: its keys (by type), the tailscale server's endpoint, a remote one's server.
void Compiler::dns_server(const Json& s, const std::string& p, const std::string& type,
                          std::set<std::string>& ts_endpoints) {
  static const std::set<std::string, std::less<>> kDialing = {"local", "dhcp", "tcp", "udp", "tls", "quic", "https", "h3"};
  static const std::set<std::string, std::less<>> kOthers = {"hosts", "fakeip", "resolved", "tailscale"};
  static const std::set<std::string, std::less<>> kCarried = {"local", "hosts", "udp", "tcp", "https", "tailscale"};
  const bool dialing = kDialing.count(type) != 0;
  if (!dialing && !kOthers.count(type)) {
    rd_.error(key_path(p, "type"), "unknown DNS server type: " + type);
    return;
  }
  if (dialing) keys(s, p, {{Section::kDial, Section::kDnsServer}, type, {"type", "tag"}});
  else keys(s, p, {{Section::kDnsServer}, type, {"type", "tag"}});
  if (!kCarried.count(type)) {
    rd_.error(key_path(p, "type"), "DNS server type \"" + type + "\" is not supported by tailbox", "unsupported");
    return;
  }
  if (dialing) dns_server_dial(s, p, type);
  if (type == "tailscale") {
    auto ep = str(s, "endpoint", p);
    if (ep.empty()) {
      rd_.error(p, "missing tailscale endpoint tag", "create");
    } else if (!c_.find_outbound(ep)) {
      rd_.error(key_path(p, "endpoint"), "endpoint not found: " + ep, "start");
    } else if (!c_.find_endpoint(ep)) {
      rd_.error(key_path(p, "endpoint"), "endpoint is not Tailscale: " + ep, "start");
    } else if (!ts_endpoints.insert(ep).second) {
      rd_.error(key_path(p, "endpoint"), "only one Tailscale DNS server is allowed for single endpoint", "start");
    }
  } else if (dialing && type != "local" && type != "dhcp" && str(s, "server", p).empty()) {
    rd_.error(key_path(p, "server"), "missing server address", "create");
  }
}

// With two or more DNS servers, a tailscale endpoint whose control server is a domain needs a
// domain resolver (sing-box v1.13.19 common/dialer/dialer.go, NewWithOptions; the endpoint dials
// with ResolverOnDetour).
void Compiler::dns_resolvers(size_t server_count) {
  bool default_resolver = c_.source.contains("route") && c_.source["route"].is_object() &&
                          c_.source["route"].contains("default_domain_resolver") &&
                          !c_.source["route"]["default_domain_resolver"].is_null();
  if (server_count < 2 || default_resolver) return;
  for (const auto& e : c_.endpoints) {
    std::string host = e.control_url.empty() ? "controlplane.tailscale.com" : e.control_url;
    if (auto p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
    host = host.substr(0, host.find_first_of(":/"));
    if (!e.has_domain_resolver && !IpAddr::parse(host) && !(host.size() > 1 && host[0] == '['))
      rd_.error(e.path, "missing domain resolver for domain server address", "create");
  }
}

// A dialing DNS server's socket: its own dial fields (route.default_mark and the route's default
// interface as for outbounds), or, with a detour, those of the direct outbound it names; a detour
// through a proxy is not carried (sb-relay's DNS sockets are its own).
void Compiler::dns_server_dial(const Json& s, const std::string& p, const std::string& type) {
  DialOptions d = dial(s, p);
  if (!d.detour.empty()) {
    const OutboundInfo* o = c_.find_outbound(d.detour);
    if (o && o->type != "direct") {
      rd_.error(key_path(p, "detour"), "a DNS server's detour through outbound type \"" + o->type +
                                           "\" is not supported by tailbox (only direct)", "unsupported");
      return;
    }
    if (o) d = o->dial;
  }
  if (!d.routing_mark) d.routing_mark = c_.default_mark;
  if (d.bind_interface.empty() && d.inet4_bind_address.empty() && d.inet6_bind_address.empty()) {
    d.default_interface = c_.default_interface;
    d.auto_detect_interface = c_.default_interface.empty() && c_.auto_detect_interface;
  }
  c_.dns_dials.back() = d;
  if (type != "https" || !s.contains("tls") || !s["tls"].is_object()) return;
  static const std::set<std::string, std::less<>> kTls = {"enabled", "server_name", "insecure", "certificate",
                                                          "certificate_path"};
  for (auto it = s["tls"].begin(); it != s["tls"].end(); ++it)
    if (!kTls.count(it.key()) && !it.value().is_null())
      rd_.error(key_path(key_path(p, "tls"), it.key()), "tls." + it.key() + " on DNS server type \"https\" is not supported by tailbox",
                "unsupported");
}

// What a DNS rule may say that sb-relay's lookups cannot carry out: response-address conditions
// (sing-box matches them against the answer and retries the next rule), EDNS client subnet and
// TTL rewriting, and query types (a lookup asks A and AAAA at once). Logical rules are looked into.
void Compiler::dns_rule_unsupported(const Json& r, const std::string& p) {
  if (!r.is_object()) return;
  static const char* const kKeys[] = {"ip_cidr", "ip_is_private", "ip_accept_any", "rule_set_ip_cidr_accept_empty",
                                      "client_subnet", "rewrite_ttl", "query_type"};
  // ip_accept_any is carried on a top-level rule that is not inverted (dns_settings.hpp).
  bool top = p.find("].rules[") == std::string::npos;
  bool inverted = r.contains("invert") && r["invert"] == true;
  for (const char* k : kKeys)
    if (auto it = r.find(k); it != r.end() && !it->is_null() && *it != false &&
                             !(std::string_view(k) == "ip_accept_any" && top && !inverted))
      rd_.error(key_path(p, k), std::string("DNS rule item \"") + k + "\" is not supported by tailbox", "unsupported");
  if (auto sub = r.find("rules"); sub != r.end() && sub->is_array())
    for (size_t i = 0; i < sub->size(); ++i) dns_rule_unsupported((*sub)[i], index_path(key_path(p, "rules"), i));
}

}  // namespace tb::route::detail
