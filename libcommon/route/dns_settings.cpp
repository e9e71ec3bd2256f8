// The `dns` section read for sb-relay, from a config compile_config accepted (config_dns.cpp
// checked every key; what it refused never gets here). sing-box v1.13.19: option/dns.go,
// option/rule_action.go (DNS actions), dns/router.go, common/dialer/dialer.go (domain resolvers).

#include "libcommon/route/dns_settings.hpp"

#include <algorithm>

#include "libcommon/core/json.hpp"

namespace tb::route {

namespace {

std::string text(const Json& obj, const char* key, std::string fallback = {}) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() && !it->get<std::string>().empty() ? it->get<std::string>() : fallback;
}

bool flag(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

// option.DomainStrategy: "" and "as_is" are the same.
std::string strategy(const Json& obj) {
  auto s = text(obj, "strategy");
  return s == "as_is" ? std::string() : s;
}

std::vector<std::string> strings(const Json& v) {
  std::vector<std::string> out;
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array())
    for (const auto& x : v)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

// A domain_resolver value: a tag, or {server, strategy, disable_cache, …}.
std::optional<DnsAsk> resolver_ask(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  DnsAsk a;
  if (it->is_string()) a.server = it->get<std::string>();
  if (it->is_object()) {
    a.server = text(*it, "server");
    a.strategy = strategy(*it);
    a.disable_cache = flag(*it, "disable_cache");
  }
  if (a.server.empty()) return std::nullopt;
  return a;
}

void hosts_fields(const Json& s, DnsServerSpec& d) {
  if (auto it = s.find("path"); it != s.end()) d.hosts_paths = strings(*it);
  if (d.hosts_paths.empty()) d.hosts_paths.push_back("/etc/hosts");
  if (auto it = s.find("predefined"); it != s.end() && it->is_object())
    for (auto p = it->begin(); p != it->end(); ++p) {
      std::string name = p.key();
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      if (!name.empty() && name.back() == '.') name.pop_back();
      for (const auto& a : strings(p.value()))
        if (auto ip = IpAddr::parse(a)) d.predefined[name].push_back(*ip);
    }
}

void remote_fields(const Json& s, DnsServerSpec& d) {
  d.server = text(s, "server");
  if (d.server.size() > 2 && d.server.front() == '[' && d.server.back() == ']') d.server = d.server.substr(1, d.server.size() - 2);
  auto port = s.find("server_port");
  d.port = port != s.end() && port->is_number_unsigned() && port->get<uint64_t>() ? port->get<uint16_t>()
                                                                                   : (d.type == "https" ? 443 : 53);
  if (d.type != "https") return;
  d.http_path = text(s, "path", "/dns-query");
  if (auto h = s.find("headers"); h != s.end() && h->is_object())
    for (auto it = h->begin(); it != h->end(); ++it)
      for (const auto& v : strings(it.value())) d.headers.emplace_back(it.key(), v);
  if (auto t = s.find("tls"); t != s.end() && t->is_object()) {
    d.tls_insecure = flag(*t, "insecure");
    d.tls_server_name = text(*t, "server_name");
    d.tls_ca_path = text(*t, "certificate_path");
    for (const auto& line : strings(t->value("certificate", Json()))) d.tls_ca_pem += line + "\n";
  }
}

DnsServerSpec server_spec(const RouteConfig& config, const Json& s, size_t i) {
  DnsServerSpec d;
  d.path = "dns.servers[" + std::to_string(i) + "]";
  d.tag = i < config.dns_servers.size() ? config.dns_servers[i] : std::to_string(i);
  d.type = text(s, "type");
  if (i < config.dns_dials.size()) d.dial = config.dns_dials[i];
  if (auto r = resolver_ask(s, "domain_resolver")) d.resolver = r->server;
  if (d.type == "hosts") hosts_fields(s, d);
  if (d.type == "udp" || d.type == "tcp" || d.type == "https") remote_fields(s, d);
  if (d.type == "tailscale") {
    d.endpoint = text(s, "endpoint");
    d.accept_default_resolvers = flag(s, "accept_default_resolvers");
  }
  return d;
}

// rcode names of the predefined action (option/rule_action.go, DNSRCode).
int rcode_of(const std::string& s) {
  static const std::pair<const char*, int> kCodes[] = {{"NOERROR", 0}, {"FORMERR", 1}, {"SERVFAIL", 2},
                                                       {"NXDOMAIN", 3}, {"NOTIMP", 4}, {"REFUSED", 5}};
  for (const auto& [name, code] : kCodes)
    if (s == name) return code;
  return 0;
}

// The A / AAAA records of a predefined answer, as miekg/dns text: "name. [ttl] [IN] A 1.2.3.4".
std::vector<IpAddr> answer_addresses(const Json& v) {
  std::vector<IpAddr> out;
  for (const auto& rr : strings(v)) {
    auto sp = rr.find_last_of(" \t");
    if (sp == std::string::npos) continue;
    auto before = rr.find_last_not_of(" \t", sp);
    auto type_start = rr.find_last_of(" \t", before);
    std::string type = rr.substr(type_start == std::string::npos ? 0 : type_start + 1,
                                 before - (type_start == std::string::npos ? 0 : type_start + 1) + 1);
    if (type != "A" && type != "AAAA") continue;
    if (auto ip = IpAddr::parse(rr.substr(sp + 1))) out.push_back(*ip);
  }
  return out;
}

DnsRuleSpec rule_action(const Json& j) {
  DnsRuleSpec r;
  std::string action = text(j, "action", "route");
  if (action == "route-options") r.type = DnsActionType::kRouteOptions;
  if (action == "reject") r.type = DnsActionType::kReject;
  if (action == "predefined") r.type = DnsActionType::kPredefined;
  if (action == "route") r.ask.server = text(j, "server");
  r.ask.strategy = strategy(j);
  r.ask.disable_cache = flag(j, "disable_cache");
  r.reject_method = text(j, "method", "default");
  r.rcode = rcode_of(text(j, "rcode", "NOERROR"));
  r.answer = answer_addresses(j.value("answer", Json()));
  r.accept_any = flag(j, "ip_accept_any");
  return r;
}

void rules(const RouteConfig& config, const Json& dns, DnsSettings& out) {
  auto it = dns.find("rules");
  if (it == dns.end() || !it->is_array()) return;
  Diagnostics scratch;  // the config was checked: nothing new is found here
  RuleCompiler rc{&config.set_ids, &scratch, true, nullptr, config.clash_mode ? &*config.clash_mode : nullptr};
  for (size_t i = 0; i < it->size(); ++i) {
    std::string path = "dns.rules[" + std::to_string(i) + "]";
    auto top = rc.compile_top((*it)[i], path);
    if (!top) continue;
    DnsRuleSpec r = rule_action((*it)[i]);
    r.path = path;
    r.rule = std::move(top->rule);
    out.rules.push_back(std::move(r));
  }
}

}  // namespace

DnsAsk DnsSettings::ask_for_outbound(const std::string& outbound) const {
  if (auto it = outbound_resolvers.find(outbound); it != outbound_resolvers.end()) return it->second;
  if (default_resolver) return *default_resolver;
  DnsAsk a;
  if (servers.size() < 2) a.server = final_tag;
  return a;
}

DnsChoice choose_dns(const DnsSettings& dns, MatchContext& c, DnsAsk ask, size_t from) {
  DnsChoice out;
  for (size_t i = from; i < dns.rules.size(); ++i) {
    const auto& r = dns.rules[i];
    c.reset_flags();
    if (!r.rule.match(c)) continue;
    out.index = i;
    out.next = i + 1;
    if (r.type == DnsActionType::kReject || r.type == DnsActionType::kPredefined) {
      out.rule = &r;
      out.ask = ask;
      return out;
    }
    if (r.type == DnsActionType::kRoute && !dns.server(r.ask.server)) continue;  // sing-box logs and skips it
    if (!r.ask.strategy.empty()) ask.strategy = r.ask.strategy;
    ask.disable_cache = ask.disable_cache || r.ask.disable_cache;
    if (r.type == DnsActionType::kRouteOptions) continue;
    out.rule = &r;
    out.server = dns.server(r.ask.server);
    out.ask = ask;
    return out;
  }
  out.next = dns.rules.size();
  out.ask = ask;
  out.server = dns.server(dns.final_tag);
  if (!out.server) out.error = "default DNS server not found: " + dns.final_tag;
  return out;
}

std::string describe_dns_choice(const DnsSettings& dns, MatchContext& c, const std::string& outbound) {
  DnsAsk ask = dns.ask_for_outbound(outbound);
  if (!ask.server.empty()) {
    std::string why = dns.outbound_resolvers.count(outbound) ? "domain_resolver of " + outbound
                      : dns.default_resolver                 ? std::string("route.default_domain_resolver")
                                                             : std::string("the only DNS server");
    return "server " + ask.server + " (" + why + ")";
  }
  return describe_dns_resolve(dns, c, "");
}

std::string describe_dns_resolve(const DnsSettings& dns, MatchContext& c, const std::string& server) {
  if (!server.empty()) return "server " + server + " (the resolve action)";
  DnsAsk ask;
  std::string out;
  for (size_t from = 0;;) {
    auto ch = choose_dns(dns, c, ask, from);
    if (!ch.error.empty()) return out + ch.error;
    if (!ch.server) return out + ch.rule->path + " answers";
    out += "server " + ch.server->tag + " (" + (ch.rule ? ch.rule->path : std::string("dns.final")) + ")";
    if (!ch.rule || !ch.rule->accept_any) return out;
    out += ", else ";
    from = ch.next;
  }
}

std::shared_ptr<const DnsSettings> dns_settings(const RouteConfig& config) {
  auto dns = config.source.find("dns");
  if (dns == config.source.end() || !dns->is_object()) return nullptr;
  auto servers = dns->find("servers");
  if (servers == dns->end() || !servers->is_array() || servers->empty()) return nullptr;
  auto out = std::make_shared<DnsSettings>();
  for (size_t i = 0; i < servers->size(); ++i) out->servers.push_back(server_spec(config, (*servers)[i], i));
  rules(config, *dns, *out);
  out->final_tag = text(*dns, "final", out->servers.front().tag);
  out->strategy = strategy(*dns);
  out->disable_cache = flag(*dns, "disable_cache");
  out->disable_expire = flag(*dns, "disable_expire");
  out->independent_cache = flag(*dns, "independent_cache");
  if (auto c = dns->find("cache_capacity"); c != dns->end() && c->is_number_unsigned())
    out->cache_capacity = std::max<uint32_t>(1024, c->get<uint32_t>());
  if (auto route = config.source.find("route"); route != config.source.end() && route->is_object())
    out->default_resolver = resolver_ask(*route, "default_domain_resolver");
  for (const char* section : {"outbounds", "endpoints"}) {
    auto list = config.source.find(section);
    if (list == config.source.end() || !list->is_array()) continue;
    for (const auto& o : *list)
      if (o.is_object())
        if (auto a = resolver_ask(o, "domain_resolver")) out->outbound_resolvers[text(o, "tag")] = *a;
  }
  return out;
}

}  // namespace tb::route
