// compile_config: the root of the config, route (rules, final outbound) and the traps; the
// other sections are in config_bounds.cpp, config_rule_sets.cpp and config_dns.cpp.

#include "libcommon/route/config.hpp"

#include <set>

#include "libcommon/route/config_compiler.hpp"

namespace tb::route {

const OutboundInfo* RouteConfig::find_outbound(const std::string& tag) const {
  for (const auto& o : outbounds)
    if (o.tag == tag) return &o;
  return nullptr;
}
const EndpointInfo* RouteConfig::find_endpoint(const std::string& tag) const {
  for (const auto& e : endpoints)
    if (e.tag == tag) return &e;
  return nullptr;
}

namespace detail {

namespace {
const Json& member(const Json& obj, const char* key) {
  static const Json kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}
}  // namespace

void Compiler::run() {
  const Json& root = c_.source;
  if (!rd_.expect_object(root, "")) return;
  keys(root, "", {{Section::kTop}});
  root_objects(root);
  inbounds(member(root, "inbounds"));
  outbounds(member(root, "outbounds"));
  endpoints(member(root, "endpoints"));
  route(member(root, "route"));
  dns(member(root, "dns"));
  references();
  traps();
  if (c_.default_mark)
    for (auto& o : c_.outbounds)
      if (!o.dial.routing_mark) o.dial.routing_mark = c_.default_mark;
  // common/dialer/default.go: the route's default interface, else auto-detection, for an outbound
  // that binds neither an interface nor an address. Not for the tailscale endpoint: its sockets
  // go to the tailnet (tailscale0 or tailscaled's proxy), where sing-box's own endpoint uses its
  // netstack; binding them to the underlay's interface would take them out of the tailnet.
  for (auto& o : c_.outbounds) {
    if (o.endpoint || !o.dial.bind_interface.empty() || !o.dial.inet4_bind_address.empty() ||
        !o.dial.inet6_bind_address.empty())
      continue;
    o.dial.default_interface = c_.default_interface;
    o.dial.auto_detect_interface = c_.default_interface.empty() && c_.auto_detect_interface;
  }
}

// The keys the schema table reports wherever they hold a value (Key::why): a refusal, or a warning
// saying why, at the key's path. Every key of an object checked by keys() passes here.
void Compiler::report_support(const Json& obj, const std::string& path, const Allowed& allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    route::report_support(allowed.find(it.key()), it.key(), *it, key_path(path, it.key()), rd_);
}

// network_strategy, network_type, fallback_network_type (dial fields; with route, the default_
// ones): their values, and the checks across fields sing-box makes before ignoring them on Linux
// (common/dialer/default.go, route/network.go).
void Compiler::network_strategy(const Json& obj, const std::string& path, bool route) {
  std::string pre = route ? "default_" : "";
  auto strategy = obj.find(pre + "network_strategy");
  bool has_strategy = strategy != obj.end() && !strategy->is_null();
  if (has_strategy) {
    auto s = rd_.string(*strategy, key_path(path, pre + "network_strategy"));
    if (s && *s != "default" && *s != "hybrid" && *s != "fallback")
      rd_.error(key_path(path, pre + "network_strategy"), "unknown network strategy: " + *s);
  }
  bool has_type = false;
  for (const std::string& k : {pre + "network_type", pre + "fallback_network_type"}) {
    auto it = obj.find(k);
    if (it == obj.end()) continue;
    if (auto v = rd_.strings(*it, key_path(path, k))) {
      has_type = has_type || (k == pre + "network_type" && !v->empty());
      for (const auto& t : *v)
        if (t != "wifi" && t != "cellular" && t != "ethernet" && t != "other")
          rd_.error(key_path(path, k), "unknown interface type: " + t);
    }
  }
  if (route) {
    if (!has_strategy) return;
    if (!str(obj, "default_interface", path).empty())
      rd_.error(key_path(path, "default_network_strategy"), "`default_network_strategy` is conflict with `default_interface`", "create");
    else if (!boolean(obj, "auto_detect_interface", path))
      rd_.error(key_path(path, "default_network_strategy"), "`auto_detect_interface` is required by `default_network_strategy`", "create");
    return;
  }
  auto present = [&](const char* k) { return obj.contains(k) && !obj[k].is_null(); };
  bool bound = !str(obj, "bind_interface", path).empty() || present("inet4_bind_address") || present("inet6_bind_address");
  bool no_fallback = !present("fallback_network_type") && (!present("fallback_delay") || is_zero(obj["fallback_delay"]));
  if ((bound || (present("tcp_fast_open") && obj["tcp_fast_open"] == true)) && (has_strategy || (has_type && no_fallback)))
    rd_.error(path, "`network_strategy` is conflict with `bind_interface`, `inet4_bind_address`, `inet6_bind_address` and `tcp_fast_open`",
              "create");
}

// log, and the sections tailbox ignores (with a warning) or refuses.
void Compiler::root_objects(const Json& root) {
  if (const Json& log = member(root, "log"); !log.is_null()) {
    if (keys(log, "log", {{Section::kLog}})) {
      auto level = str(log, "level", "log");
      static const std::set<std::string, std::less<>> kLevels = {"",      "trace", "debug", "info", "warn",
                                                                 "warning", "error", "fatal", "panic"};
      if (!kLevels.count(level)) rd_.error("log.level", "unknown log level: " + level);
      if (str(log, "output", "log") == "stdout")  // sb-relay's stdout is its record stream
        rd_.error("log.output", "log output \"stdout\" is not supported by tailbox (sb-relay writes its records there); use stderr or a file",
                  "unsupported");
    }
  }
  for (const char* k : {"ntp", "certificate"}) {
    const Json& v = member(root, k);
    if (v.is_null()) continue;
    if (rd_.expect_object(v, k) && !v.empty())
      rd_.warn(k, std::string("\"") + k + "\" is ignored by tailbox (sing-box-only feature)", "ignored");
  }
  experimental(member(root, "experimental"));
  if (const Json* s = list(member(root, "services"), "services", "[]option.Service")) {
    for (size_t i = 0; i < s->size(); ++i)
      unsupported_type(index_path("services", i), "service",
                       (*s)[i].is_object() ? (*s)[i].value("type", std::string()) : std::string());
  }
}

// experimental: ignored but for the Clash API's default mode, which clash_mode rules match
// (experimental/clashapi/server.go, NewServer: "Rule" unless default_mode says otherwise).
void Compiler::experimental(const Json& v) {
  // Decoded as strictly as the rest (option/experimental.go): unknown keys are errors.
  if (v.is_null() || !keys(v, "experimental", {{Section::kExperimental}})) return;
  if (const Json& cache = member(v, "cache_file"); !cache.is_null())
    keys(cache, "experimental.cache_file", {{Section::kCacheFile}});
  bool other = false;
  for (auto it = v.begin(); it != v.end(); ++it) other = other || (it.key() != "clash_api" && !it->is_null());
  if (other) rd_.warn("experimental", "\"experimental\" is ignored by tailbox (sing-box-only feature)", "ignored");
  const Json& api = member(v, "clash_api");
  if (api.is_null() || !keys(api, "experimental.clash_api", {{Section::kClashApi}})) return;
  auto mode = str(api, "default_mode", "experimental.clash_api");
  c_.clash_mode = mode.empty() ? "Rule" : mode;
  rd_.warn("experimental.clash_api",
           "the Clash API is not served by tailbox; clash_mode rules match its default_mode (\"" + *c_.clash_mode + "\")",
           "ignored");
  bool removed = false;
  for (const char* k : {"store_mode", "store_selected", "store_fakeip"}) removed = removed || member(api, k) == true;
  for (const char* k : {"cache_file", "cache_id"})
    removed = removed || (member(api, k).is_string() && !member(api, k).get<std::string>().empty());
  if (removed)
    rd_.error("experimental.clash_api",
              "cache_file and related fields in Clash API is deprecated in sing-box 1.8.0, use experimental.cache_file "
              "instead.", "create");
}

void Compiler::route(const Json& obj) {
  c_.set_ids.clear();
  bool is_obj = !obj.is_null() && keys(obj, "route", {{Section::kRoute}});
  if (is_obj) rule_sets(obj.value("rule_set", Json()), "route.rule_set");
  if (!c_.set_ids.count(tailnet_set_tags()[0])) tailnet_set_ids();
  if (is_obj) {
    for (const char* k : {"geoip", "geosite"})
      if (obj.contains(k) && !obj[k].is_null())
        rd_.warn(key_path("route", k), std::string(k) + " database is removed in sing-box 1.12.0; the object is ignored", "deprecated");
    c_.final_outbound = str(obj, "final", "route");
    if (!c_.final_outbound.empty()) c_.final_from = "final";
    c_.needs_process = boolean(obj, "find_process", "route");
    network_strategy(obj, "route", true);
    if (auto it = obj.find("default_mark"); it != obj.end())
      if (auto m = rd_.mark(*it, "route.default_mark"); m && *m != 0) c_.default_mark = *m;
    c_.default_interface = str(obj, "default_interface", "route");
    c_.auto_detect_interface = boolean(obj, "auto_detect_interface", "route");
    if (auto it = obj.find("rules"); it != obj.end()) route_rules(*it);
  }
  final_outbound();
}

void Compiler::route_rules(const Json& rules) {
  const Json* list = this->list(rules, "route.rules", "[]option.Rule");
  if (!list) return;
  RuleCompiler rc{&c_.set_ids, &c_.diagnostics, false, &c_.outbounds, c_.clash_mode ? &*c_.clash_mode : nullptr};
  for (size_t i = 0; i < list->size(); ++i) {
    auto r = rc.compile_top((*list)[i], index_path("route.rules", i));
    if (r) {
      c_.needs_process = c_.needs_process || r->rule.uses_process();
      c_.rules.push_back(std::move(*r));
    }
  }
}

// route.final, else the first outbound (not an endpoint), else sing-box's implicit direct.
void Compiler::final_outbound() {
  if (c_.final_outbound.empty()) {
    for (const auto& o : c_.outbounds) {
      if (!o.endpoint) {
        c_.final_outbound = o.tag;
        c_.final_from = "first_outbound";
        break;
      }
    }
  }
  if (c_.final_outbound.empty()) {
    c_.final_outbound = "direct";
    c_.final_from = "implicit_direct";
  } else if (c_.final_from == "final" && !c_.find_outbound(c_.final_outbound)) {
    rd_.error("route.final", "default outbound not found: " + c_.final_outbound, "start");
  }
}

void Compiler::traps() {
  for (size_t i = 0; i < c_.rules.size(); ++i) {
    const auto& r = c_.rules[i];
    if (r.action.final() && !r.rule.logical && r.rule.empty && i + 1 < c_.rules.size()) {
      for (size_t j = i + 1; j < c_.rules.size(); ++j)
        rd_.warn(c_.rules[j].path, "unreachable: rule " + std::to_string(i) + " has no conditions and matches every connection", "trap");
      break;
    }
  }
  bool tailnet_first = false;  // an earlier rule already sends the tailnet somewhere
  for (const auto& r : c_.rules) {
    tailnet_first = tailnet_first || r.rule.mentions_tailnet;
    if (!tailnet_first && r.rule.dst_private)
      rd_.warn(key_path(r.path, "ip_is_private"),
               "the tailnet's IPv4 range 100.64.0.0/10 counts as public for ip_is_private (its IPv6 range "
               "fd7a:115c:a1e0::/48 counts as private); match the tailnet first with rule_set \"tailscale\" or "
               "ip_cidr 100.64.0.0/10", "trap");
  }
}

}  // namespace detail

std::shared_ptr<RouteConfig> compile_config(Json merged, const CompileOptions& opts) {
  auto c = std::make_shared<RouteConfig>();
  c->source = std::move(merged);
  detail::Compiler(*c, opts).run();
  return c;
}

}  // namespace tb::route
