#include "libcommon/route/tailnet.hpp"

#include <algorithm>

#include "libcommon/route/config.hpp"
#include "libcommon/core/strings.hpp"

namespace tb::route {

using tb::core::ExitCode;
using tb::core::fail;

namespace {

// A DNS name as the MagicDNS table keys it: lower case, without the trailing dot(s).
std::string dns_key(std::string s) {
  tb::core::lower_in_place(s);
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

TailnetNode node_from(const Json& j) {
  TailnetNode n;
  n.id = tb::core::get_string(j, "id");
  n.name = tb::core::lower(tb::core::get_string(j, "name"));
  n.dns_name = dns_key(tb::core::get_string(j, "dns_name"));
  for (const auto& s : tb::core::get_strings(j, "ips"))
    if (auto a = IpAddr::parse(s)) n.ips.push_back(*a);
  for (const auto& s : tb::core::get_strings(j, "primary_routes"))
    if (auto p = Prefix::parse(s)) n.routes.push_back(*p);
  if (j.contains("allowed_ips")) {
    for (const auto& s : tb::core::get_strings(j, "allowed_ips"))
      if (auto p = Prefix::parse(s)) n.allowed_ips.push_back(*p);
  } else {
    for (const auto& a : n.ips) n.allowed_ips.push_back(Prefix{a, a.v4 ? 32 : 128});
  }
  n.online = tb::core::get_bool(j, "online");
  n.key_expired = tb::core::get_bool(j, "key_expired");
  n.exit_node = tb::core::get_bool(j, "exit_node");
  return n;
}

}  // namespace

Result<TailnetState> tailnet_from_status(const Json& r) {
  if (!r.is_object() || r.value("type", Json()) != "status")
    return fail(ExitCode::kDataErr, "not a status record");
  if (r.value("v", Json()) != 1) return fail(ExitCode::kDataErr, "unsupported status record version " + r.value("v", Json()).dump());
  TailnetState t;
  t.state = tb::core::get_string(r, "state", "unknown");
  t.tun = tb::core::get_bool(r, "tun", true);
  if (const Json* s = tb::core::get_object(r, "self")) t.self = node_from(*s);
  if (auto it = r.find("peers"); it != r.end() && it->is_array())
    for (const auto& p : *it)
      if (p.is_object()) t.peers.push_back(node_from(p));
  if (const Json* e = tb::core::get_object(r, "exit_node")) t.exit_node = node_from(*e);
  if (const Json* m = tb::core::get_object(r, "magic_dns")) {
    t.magic_dns_enabled = tb::core::get_bool(*m, "enabled");
    t.magic_dns_suffix = dns_key(tb::core::get_string(*m, "suffix"));
    // As tailscaled's resolver takes them (dnsConfigForNetmap): A, AAAA or no type, and a value that
    // is an IP address; anything else is skipped.
    if (auto it = m->find("extra_records"); it != m->end() && it->is_array())
      for (const auto& rec : *it) {
        if (!rec.is_object()) continue;
        std::string type = tb::core::get_string(rec, "type"), name = dns_key(tb::core::get_string(rec, "name"));
        auto ip = IpAddr::parse(tb::core::get_string(rec, "value"));
        if ((type.empty() || type == "A" || type == "AAAA") && ip && !name.empty()) t.extra_records.emplace_back(name, *ip);
      }
    for (const auto& d : tb::core::get_strings(*m, "search_domains"))
      if (auto k = dns_key(d); !k.empty()) t.search_domains.push_back(k);
    for (const auto& d : tb::core::get_strings(*m, "dns_routes"))
      if (auto k = dns_key(d); !k.empty()) t.dns_routes.push_back(k);
    if (const Json* rr = tb::core::get_object(*m, "dns_route_resolvers"))
      for (auto it = rr->begin(); it != rr->end(); ++it)
        if (auto k = dns_key(it.key()); !k.empty()) t.dns_route_resolvers[k] = tb::core::get_strings(*rr, it.key());
    t.default_resolvers = tb::core::get_strings(*m, "default_resolvers");
  }
  if (const Json* n = tb::core::get_object(r, "tailnet")) t.tailnet_name = tb::core::get_string(*n, "name");
  return t;
}

MagicDnsTable magic_dns_table(const TailnetState& t) {
  MagicDnsTable table;
  if (!t.running() || !t.magic_dns_enabled) return table;
  auto add = [&](const TailnetNode& n) {
    if (n.ips.empty()) return;
    if (!n.dns_name.empty()) table[n.dns_name] = n.ips;
    const std::string& suffix = t.magic_dns_suffix;
    if (!suffix.empty() && n.dns_name.size() > suffix.size() + 1 &&
        n.dns_name.compare(n.dns_name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        n.dns_name[n.dns_name.size() - suffix.size() - 1] == '.') {
      std::string short_name = n.dns_name.substr(0, n.dns_name.size() - suffix.size() - 1);
      table.emplace(short_name, n.ips);  // an FQDN never loses its entry to a short name
    }
  };
  if (t.self) add(*t.self);
  for (const auto& p : t.peers) add(p);
  MagicDnsTable records;
  for (const auto& [name, ip] : t.extra_records) records[name].push_back(ip);
  table.merge(records);  // keeps the nodes' entries where a name is both
  return table;
}

namespace {

// A headless rule with only destination-address items, built without JSON.
Rule address_rule(const std::vector<std::string>& domains, const std::vector<std::string>& suffixes,
                  const std::vector<std::string>& cidrs) {
  Json j = Json::object();
  if (!domains.empty()) j["domain"] = domains;
  if (!suffixes.empty()) j["domain_suffix"] = suffixes;
  if (!cidrs.empty()) j["ip_cidr"] = cidrs;
  Diagnostics d;
  RuleCompiler rc{nullptr, &d, false};
  auto r = rc.compile_headless(j, "");
  return r ? std::move(*r) : Rule{};
}

std::string host_prefix(const IpAddr& a) { return a.str() + (a.v4 ? "/32" : "/128"); }

// Each name also as a fully qualified one: rules see a destination name as the client sent it
// (sing-box keeps "peer.tail1ab.ts.net."), and the tailnet sets mean the node either way.
std::vector<std::string> with_root_dot(std::vector<std::string> names) {
  size_t n = names.size();
  for (size_t i = 0; i < n; ++i) names.push_back(names[i] + ".");
  return names;
}

}  // namespace

std::vector<std::unique_ptr<RuleSet>> tailnet_rule_sets(const TailnetState& t, bool accept_routes) {
  std::vector<std::vector<std::string>> dom(6), suf(6), cidr(6);
  enum { kAll, kSelf, kPeers, kRoutes, kMagic, kExit };
  bool live = t.running();
  if (live) {
    auto table = magic_dns_table(t);
    auto node_names = [&](const TailnetNode& n, std::vector<std::string>& out) {
      for (const auto& [name, ips] : table)
        if (name == n.dns_name || (!n.dns_name.empty() && n.dns_name.rfind(name + ".", 0) == 0)) out.push_back(name);
    };
    if (t.self) {
      for (const auto& a : t.self->ips) cidr[kSelf].push_back(host_prefix(a));
      node_names(*t.self, dom[kSelf]);
    }
    for (const auto& p : t.peers) {
      for (const auto& a : p.ips) cidr[kPeers].push_back(host_prefix(a));
      node_names(p, dom[kPeers]);
      if (accept_routes)
        for (const auto& r : p.routes)
          if (r.bits > 0) cidr[kRoutes].push_back(r.str());
    }
    for (const auto& [name, ips] : table) dom[kMagic].push_back(name);
    if (t.magic_dns_enabled && !t.magic_dns_suffix.empty()) suf[kMagic].push_back(t.magic_dns_suffix);
    if (t.exit_node)
      for (const auto& a : t.exit_node->ips) cidr[kExit].push_back(host_prefix(a));
    for (int k : {kSelf, kPeers, kRoutes, kMagic}) {
      dom[kAll].insert(dom[kAll].end(), dom[k].begin(), dom[k].end());
      suf[kAll].insert(suf[kAll].end(), suf[k].begin(), suf[k].end());
      cidr[kAll].insert(cidr[kAll].end(), cidr[k].begin(), cidr[k].end());
    }
  }
  std::vector<std::unique_ptr<RuleSet>> out;
  for (size_t i = 0; i < tailnet_set_tags().size(); ++i) {
    auto s = std::make_unique<RuleSet>();
    s->tag = tailnet_set_tags()[i];
    if (!dom[i].empty() || !suf[i].empty() || !cidr[i].empty()) s->rules.push_back(address_rule(with_root_dot(dom[i]), with_root_dot(suf[i]), cidr[i]));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tb::route
