#include "libcommon/route/records.hpp"

namespace tb::route {

using tb::core::ExitCode;
using tb::core::fail;

namespace {

Result<std::pair<std::string, uint16_t>> endpoint(const Json& j, const char* what, bool host_required) {
  if (j.is_string()) {
    auto hp = split_host_port(j.get<std::string>());
    if (!hp) return fail(ExitCode::kDataErr, std::string(what) + ": expected \"host:port\", got " + j.dump());
    return *hp;
  }
  if (!j.is_object()) return fail(ExitCode::kDataErr, std::string(what) + ": expected an object or \"host:port\"");
  std::string host;
  const char* host_key = j.contains("host") ? "host" : "ip";
  if (auto it = j.find(host_key); it != j.end()) {
    if (!it->is_string()) return fail(ExitCode::kDataErr, std::string(what) + "." + host_key + ": expected a string");
    host = it->get<std::string>();
  }
  if (host_required && host.empty()) return fail(ExitCode::kDataErr, std::string(what) + ": missing host");
  uint16_t port = 0;
  if (auto it = j.find("port"); it != j.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() > 65535)
      return fail(ExitCode::kDataErr, std::string(what) + ".port: expected an integer 0-65535");
    port = static_cast<uint16_t>(it->get<uint64_t>());
  }
  return std::pair{host, port};
}

}  // namespace

Result<Request> request_from_json(const Json& j) {
  if (!j.is_object()) return fail(ExitCode::kDataErr, "request: expected a JSON object");
  Request r;
  for (const char* k : {"inbound", "network", "user"}) {
    if (auto it = j.find(k); it != j.end() && !it->is_null()) {
      if (!it->is_string()) return fail(ExitCode::kDataErr, std::string(k) + ": expected a string");
      (std::string(k) == "inbound" ? r.inbound : std::string(k) == "network" ? r.network : r.user) = it->get<std::string>();
    }
  }
  if (r.network != "tcp" && r.network != "udp" && r.network != "icmp")
    return fail(ExitCode::kDataErr, "network: expected tcp, udp or icmp, got \"" + r.network + "\"");
  auto dst = j.find("destination");
  if (dst == j.end()) return fail(ExitCode::kDataErr, "missing destination");
  auto d = endpoint(*dst, "destination", true);
  if (!d) return tl::unexpected(d.error());
  r.destination_host = d->first;
  r.destination_port = d->second;
  if (auto it = j.find("source"); it != j.end() && !it->is_null()) {
    auto s = endpoint(*it, "source", false);
    if (!s) return tl::unexpected(s.error());
    if (!s->first.empty()) {
      r.source_ip = IpAddr::parse(s->first);
      if (!r.source_ip) return fail(ExitCode::kDataErr, "source: \"" + s->first + "\" is not an IP address");
    }
    r.source_port = s->second;
  }
  if (auto it = j.find("sniff_result"); it != j.end() && it->is_object()) {
    SniffResult s;
    s.protocol = tb::core::get_string(*it, "protocol");
    s.domain = tb::core::get_string(*it, "domain");
    s.client = tb::core::get_string(*it, "client");
    r.sniff = s;
  }
  for (const auto& s : tb::core::get_strings(j, "endpoint_self_ips")) {
    auto a = IpAddr::parse(s);
    if (!a) return fail(ExitCode::kDataErr, "endpoint_self_ips: \"" + s + "\" is not an IP address");
    r.endpoint_self_ips.push_back(*a);
  }
  if (const Json* p = tb::core::get_object(j, "process")) {
    ProcessInfo info;
    info.name = tb::core::get_string(*p, "name");
    info.path = tb::core::get_string(*p, "path");
    info.user = tb::core::get_string(*p, "user");
    info.user_id = tb::core::get_int(*p, "user_id", -1);
    if (info.name.empty() && !info.path.empty()) info.name = info.path.substr(info.path.rfind('/') + 1);
    r.process = info;
  }
  return r;
}

std::string matched_item_text(const MatchedItem& m) { return "\"" + m.key + "\": " + m.value; }

Json decision_to_json(const Decision& d, const Request& req) {
  Json j;
  j["v"] = 1;
  j["type"] = "decision";
  j["destination"] = {{"host", req.destination_host}, {"port", req.destination_port}};
  j["action"] = std::string(action_name(d.action));
  j["outbound"] = d.action == ActionType::kRoute ? Json(d.outbound) : Json(nullptr);
  if (d.action == ActionType::kReject) j["method"] = d.reject_method;
  j["matched_rule"] = d.rule_index ? Json(*d.rule_index) : Json(nullptr);
  j["final"] = d.fell_through();
  Json items = Json::array();
  for (const auto& m : d.matched_items) {
    Json it = Json::object();
    it[m.key] = Json::parse(m.value);
    items.push_back(it);
  }
  j["matched_items"] = items;
  j["rule"] = d.rule;
  j["route"] = d.action_text;
  Json steps = Json::array();
  for (const auto& s : d.steps) steps.push_back({{"rule", s.rule_index}, {"action", s.action}});
  j["steps"] = steps;
  j["effective_destination"] = {{"host", d.destination}, {"port", d.destination_port}};
  j["resolved"] = d.resolved;
  j["error"] = d.error.empty() ? Json(nullptr) : Json(d.error);
  return j;
}

namespace {

// What preferred_by matches (the same for every tailscale endpoint), null without an endpoint.
Json preferred_json(const Router& r) {
  if (r.config().endpoints.empty()) return nullptr;
  const PreferredRoutes& p = r.preferred();
  Json cidrs = Json::array();
  for (const auto& x : p.prefixes()) cidrs.push_back(x.str());
  return {{"domains", p.domains()}, {"dns_routes", p.routes()}, {"ip_cidr", cidrs}};
}

}  // namespace

Json plan_to_json(const Router& r, const std::vector<std::string>& config_paths) {
  const RouteConfig& c = r.config();
  const TailnetState& t = r.tailnet();
  Json j;
  j["v"] = 1;
  j["type"] = "plan";
  j["generation"] = 0;
  j["config"] = config_paths;
  Json tn;
  tn["state"] = t.state;
  tn["name"] = t.tailnet_name.empty() ? Json(nullptr) : Json(t.tailnet_name);
  Json self_ips = Json::array(), peer_ips = Json::array(), routes = Json::array(), peers = Json::array();
  if (t.self)
    for (const auto& a : t.self->ips) self_ips.push_back(a.str());
  bool accept_routes = false;
  std::string endpoint;
  for (const auto& e : c.endpoints) {
    accept_routes = accept_routes || e.accept_routes;
    if (endpoint.empty()) endpoint = e.tag;
  }
  for (const auto& p : t.peers) {
    Json ips = Json::array();
    for (const auto& a : p.ips) {
      peer_ips.push_back(a.str());
      ips.push_back(a.str());
    }
    Json pr = Json::array();
    for (const auto& x : p.routes) {
      pr.push_back(x.str());
      if (accept_routes && x.bits > 0) routes.push_back(x.str());
    }
    peers.push_back({{"name", p.name}, {"dns_name", p.dns_name}, {"ips", ips}, {"online", p.online}, {"routes", pr}});
  }
  tn["endpoint"] = endpoint.empty() ? Json(nullptr) : Json(endpoint);
  tn["self_ips"] = self_ips;
  tn["peer_ips"] = peer_ips;
  tn["accept_routes"] = accept_routes;
  tn["routes"] = routes;
  if (t.exit_node) {
    Json ips = Json::array();
    for (const auto& a : t.exit_node->ips) ips.push_back(a.str());
    tn["exit_node"] = {{"id", t.exit_node->id}, {"name", t.exit_node->name}, {"ips", ips}, {"online", t.exit_node->online}};
  } else {
    tn["exit_node"] = nullptr;
  }
  tn["peers"] = peers;
  tn["preferred"] = preferred_json(r);
  // How sb-relay reaches the tailnet for each tailscale endpoint by default (sb-relay(1), TAILNET
  // TRANSPORTS; --tailscale-transport may force another): the kernel TUN, tailscaled's Local API
  // dial transport in userspace mode without a detour, else the detour's proxy.
  Json transports = Json::object();
  for (const auto& o : c.outbounds)
    if (o.endpoint && o.type == "tailscale")
      transports[o.tag] = t.tun ? "tun" : o.dial.detour.empty() ? "dial" : "socks5";
  tn["transports"] = transports;
  j["tailnet"] = tn;
  Json names = Json::object();
  for (const auto& [name, ips] : r.magic_dns()) {
    Json a = Json::array();
    for (const auto& x : ips) a.push_back(x.str());
    names[name] = a;
  }
  j["magic_dns"] = {{"enabled", t.magic_dns_enabled && t.running()}, {"suffix", t.magic_dns_suffix}, {"names", names}};
  Json outs = Json::array();
  for (const auto& o : c.outbounds)
    outs.push_back({{"tag", o.tag}, {"type", o.type}, {"endpoint", o.endpoint}});
  j["outbounds"] = outs;
  j["final"] = c.final_outbound;
  j["final_from"] = c.final_from;
  Json rules = Json::array();
  const Json* src_rules = nullptr;
  if (auto it = c.source.find("route"); it != c.source.end() && it->is_object())
    if (auto rr = it->find("rules"); rr != it->end() && rr->is_array()) src_rules = &*rr;
  for (size_t i = 0; i < c.rules.size(); ++i) {
    Json rule;
    rule["index"] = i;
    rule["match"] = c.rules[i].rule.describe();
    rule["action"] = c.rules[i].action.describe();
    // What each connection this rule decides fails with (a tag that names nothing), or null.
    rule["error"] = c.rules[i].action.error.empty() ? Json(nullptr) : Json(c.rules[i].action.error);
    if (src_rules && i < src_rules->size()) rule["config"] = (*src_rules)[i];
    rules.push_back(rule);
  }
  j["rules"] = rules;
  j["tailnet_rule_sets"] = tailnet_set_tags();
  return j;
}

}  // namespace tb::route
