#include "libcommon/route/config.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "libcommon/route/json_read.hpp"
#include "libcommon/route/schema.hpp"
#include "libcommon/route/source.hpp"

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

namespace {

using schema::Section;

// The keys an object accepts: those of the schema sections (for an object of `variant` type) and
// the `extra` ones.
struct Allowed {
  std::initializer_list<Section> sections;
  std::string_view variant = {};
  std::initializer_list<std::string_view> extra = {};

  bool has(std::string_view key) const {
    for (auto e : extra)
      if (e == key) return true;
    for (auto s : sections)
      if (schema::accepts(s, key, variant)) return true;
    return false;
  }
};

class Compiler {
 public:
  Compiler(RouteConfig& c, const CompileOptions& o) : c_(c), o_(o), rd_(c.diagnostics) {}
  void run();

 private:
  // Unknown keys → errors; returns false when the value is not an object.
  bool keys(const Json& obj, const std::string& path, const Allowed& allowed) {
    if (!rd_.expect_object(obj, path)) return false;
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.has(it.key())) rd_.error(path, "json: unknown field \"" + it.key() + "\"");
    return true;
  }
  std::string str(const Json& obj, const std::string& key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end()) return {};
    auto s = rd_.string(*it, key_path(path, key));
    return s ? *s : std::string();
  }
  bool boolean(const Json& obj, const std::string& key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end()) return false;
    auto b = rd_.boolean(*it, key_path(path, key));
    return b && *b;
  }
  void check_dial(const Json& obj, const std::string& path) {
    if (obj.contains("domain_strategy") && !obj["domain_strategy"].is_null())
      rd_.warn(key_path(path, "domain_strategy"),
               "legacy domain_strategy dial field is deprecated in sing-box 1.12.0 (fatal in 1.13.0 unless "
               "ENABLE_DEPRECATED_LEGACY_DOMAIN_STRATEGY_OPTIONS=true); use domain_resolver",
               "deprecated");
    if (auto it = obj.find("routing_mark"); it != obj.end() && !it->is_null() && !it->is_number_unsigned() &&
                                            !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      if (!it->is_string()) rd_.error(key_path(path, "routing_mark"), "json: cannot unmarshal " + json_type_name(*it) + " into Go value of type uint32");
    }
    for (const auto& k : schema::table())
      if (k.section == Section::kDial && k.type == schema::Type::kDuration)
        if (auto it = obj.find(k.name); it != obj.end()) rd_.duration_seconds(*it, key_path(path, std::string(k.name)), false);
  }
  bool tls_enabled(const Json& obj, const std::string& path) {
    auto it = obj.find("tls");
    if (it == obj.end() || it->is_null()) return false;
    if (!rd_.expect_object(*it, key_path(path, "tls"))) return false;
    return it->value("enabled", false) == true;
  }
  void add_tag(const std::string& tag, const std::string& type, const std::string& path, bool endpoint,
               bool supported) {
    for (const auto& o : c_.outbounds) {
      if (o.tag == tag) {
        rd_.error(path, "duplicate outbound/endpoint tag: " + tag);
        return;
      }
    }
    c_.outbounds.push_back({tag, type, path, endpoint, supported});
  }

  void inbounds(const Json& arr);
  void outbounds(const Json& arr);
  void endpoints(const Json& arr);
  void dns(const Json& obj);
  void dns_server(const Json& s, const std::string& p, const std::string& type, std::set<std::string>& ts_endpoints);
  void route(const Json& obj);
  void rule_sets(const Json& arr, const std::string& path);
  void traps();

  RouteConfig& c_;
  const CompileOptions& o_;
  Reader rd_;
  std::vector<std::pair<std::string, std::string>> pending_sets_;  // json path → (validated later)
};

void Compiler::run() {
  const Json& root = c_.source;
  if (!rd_.expect_object(root, "")) return;
  keys(root, "", {{Section::kTop}});
  static const Json kNull;
  auto get = [&](const char* k) -> const Json& {
    auto it = root.find(k);
    return it == root.end() ? kNull : *it;
  };
  if (const Json& log = get("log"); !log.is_null()) {
    if (keys(log, "log", {{Section::kLog}})) {
      auto level = str(log, "level", "log");
      static const std::set<std::string, std::less<>> kLevels = {"", "trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"};
      if (!kLevels.count(level)) rd_.error("log.level", "unknown log level: " + level);
    }
  }
  for (const char* k : {"ntp", "certificate", "experimental"}) {
    const Json& v = get(k);
    if (v.is_null()) continue;
    if (rd_.expect_object(v, k) && !v.empty())
      rd_.warn(k, std::string("\"") + k + "\" is ignored by tailbox (sing-box-only feature)", "ignored");
  }
  if (const Json& s = get("services"); !s.is_null()) {
    if (!s.is_array()) {
      rd_.error("services", "json: cannot unmarshal " + json_type_name(s) + " into Go value of type []option.Service");
    } else {
      for (size_t i = 0; i < s.size(); ++i)
        rd_.error(index_path("services", i),
                  "service type \"" + (s[i].is_object() ? s[i].value("type", std::string()) : std::string()) +
                      "\" is not supported by tailbox", "unsupported");
    }
  }
  inbounds(get("inbounds"));
  outbounds(get("outbounds"));
  endpoints(get("endpoints"));
  route(get("route"));
  dns(get("dns"));
  traps();
}

void Compiler::inbounds(const Json& arr) {
  if (arr.is_null()) return;
  if (!arr.is_array()) {
    rd_.error("inbounds", "json: cannot unmarshal " + json_type_name(arr) + " into Go value of type []option.Inbound");
    return;
  }
  std::set<std::string> tags;
  for (size_t i = 0; i < arr.size(); ++i) {
    auto path = index_path("inbounds", i);
    const Json& in = arr[i];
    if (!rd_.expect_object(in, path)) continue;
    InboundInfo info;
    info.path = path;
    info.type = str(in, "type", path);
    info.tag = str(in, "tag", path);
    if (info.tag.empty()) info.tag = std::to_string(i);
    if (!tags.insert(info.tag).second) rd_.error(path, "duplicate inbound tag: " + info.tag);
    if (info.type != "mixed" && info.type != "socks" && info.type != "http") {
      rd_.error(path, "inbound type \"" + info.type + "\" is not supported by tailbox", "unsupported");
      c_.inbounds.push_back(info);
      continue;
    }
    keys(in, path, {{Section::kListen, Section::kLegacyInbound, Section::kInbound}, info.type, {"type", "tag"}});
    for (auto k : schema::order(Section::kLegacyInbound))
      if (in.contains(k))
        rd_.warn(key_path(path, std::string(k)),
                 "legacy inbound field, deprecated in sing-box 1.11.0 and ignored by 1.13.0; use a sniff/resolve "
                 "rule action", "deprecated");
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
    if (auto it = in.find("users"); it != in.end() && !it->is_null()) {
      if (!it->is_array()) {
        rd_.error(key_path(path, "users"), "json: cannot unmarshal " + json_type_name(*it) + " into Go value of type []auth.User");
      } else {
        for (size_t u = 0; u < it->size(); ++u) {
          auto up = index_path(key_path(path, "users"), u);
          if (keys((*it)[u], up, {{Section::kUser}}))
            info.users.emplace_back(str((*it)[u], "username", up), str((*it)[u], "password", up));
        }
      }
    }
    if (tls_enabled(in, path))
      rd_.error(key_path(path, "tls"), "inbound TLS is not supported by tailbox", "unsupported");
    c_.inbounds.push_back(info);
  }
}

void Compiler::outbounds(const Json& arr) {
  if (arr.is_null()) return;
  if (!arr.is_array()) {
    rd_.error("outbounds", "json: cannot unmarshal " + json_type_name(arr) + " into Go value of type []option.Outbound");
    return;
  }
  for (size_t i = 0; i < arr.size(); ++i) {
    auto path = index_path("outbounds", i);
    const Json& o = arr[i];
    if (!rd_.expect_object(o, path)) continue;
    std::string type = str(o, "type", path), tag = str(o, "tag", path);
    if (tag.empty()) tag = std::to_string(i);
    bool supported = true;
    if (type == "direct") {
      keys(o, path, {{Section::kDial, Section::kOutbound}, type, {"type", "tag"}});
      for (const char* k : {"override_address", "override_port"})
        if (o.contains(k))
          rd_.error(key_path(path, k),
                    "destination override fields in direct outbound are deprecated in sing-box 1.11.0 and removed "
                    "in sing-box 1.13.0, use route options instead", "create");
      if (o.contains("detour")) rd_.error(key_path(path, "detour"), "`detour` is not supported in direct context", "create");
      check_dial(o, path);
    } else if (type == "block") {
      keys(o, path, {{}, {}, {"type", "tag"}});
      rd_.warn(path, "the block outbound is deprecated in sing-box 1.11.0; use a reject rule action", "deprecated");
    } else if (type == "socks" || type == "http") {
      keys(o, path, {{Section::kDial, Section::kOutbound}, type, {"type", "tag"}});
      check_dial(o, path);
      if (str(o, "server", path).empty()) rd_.error(key_path(path, "server"), "missing server address", "create");
      if (auto it = o.find("server_port"); it != o.end()) rd_.integer(*it, key_path(path, "server_port"), 0, 65535, "uint16");
      if (type == "socks") {
        auto v = str(o, "version", path);
        if (!v.empty() && v != "4" && v != "4a" && v != "5") rd_.error(key_path(path, "version"), "unknown socks version: " + v, "create");
        auto n = str(o, "network", path);
        if (!n.empty() && n != "tcp" && n != "udp") rd_.error(key_path(path, "network"), "unknown network: " + n);
      } else if (tls_enabled(o, path)) {
        rd_.error(key_path(path, "tls"), "outbound TLS is not supported by tailbox", "unsupported");
      }
    } else if (type == "dns") {
      rd_.error(path, "dns outbound is deprecated in sing-box 1.11.0 and removed in sing-box 1.13.0, use rule actions instead", "create");
      supported = false;
    } else {
      rd_.error(path, "outbound type \"" + type + "\" is not supported by tailbox", "unsupported");
      supported = false;
    }
    add_tag(tag, type, path, false, supported);
  }
}

void Compiler::endpoints(const Json& arr) {
  if (arr.is_null()) return;
  if (!arr.is_array()) {
    rd_.error("endpoints", "json: cannot unmarshal " + json_type_name(arr) + " into Go value of type []option.Endpoint");
    return;
  }
  for (size_t i = 0; i < arr.size(); ++i) {
    auto path = index_path("endpoints", i);
    const Json& e = arr[i];
    if (!rd_.expect_object(e, path)) continue;
    std::string type = str(e, "type", path), tag = str(e, "tag", path);
    if (tag.empty()) tag = std::to_string(i);
    if (type != "tailscale") {
      rd_.error(path, "endpoint type \"" + type + "\" is not supported by tailbox", "unsupported");
      add_tag(tag, type, path, true, false);
      continue;
    }
    keys(e, path, {{Section::kTailscale, Section::kDial}, {}, {"type", "tag"}});
    check_dial(e, path);
    EndpointInfo info;
    info.tag = tag;
    info.path = path;
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
      rd_.integer(*it, key_path(path, "relay_server_port"), 0, 65535, "uint16");
    if (auto it = e.find("system_interface_mtu"); it != e.end())
      rd_.integer(*it, key_path(path, "system_interface_mtu"), 0, UINT32_MAX, "uint32");
    if (auto it = e.find("relay_server_static_endpoints"); it != e.end()) {
      auto rp = key_path(path, "relay_server_static_endpoints");
      if (auto s = rd_.strings(*it, rp))
        for (size_t r = 0; r < s->size(); ++r)
          if (!split_host_port((*s)[r]) || !IpAddr::parse(split_host_port((*s)[r])->first))
            rd_.error(index_path(rp, r), "ParseAddrPort(\"" + (*s)[r] + "\"): invalid address");
    }
    if (boolean(e, "system_interface", path))
      rd_.warn(key_path(path, "system_interface"), "ignored in daemon-only mode: tailscaled owns its interface", "ignored");
    if (!str(e, "state_directory", path).empty())
      rd_.warn(key_path(path, "state_directory"), "ignored in daemon-only mode: tailscaled keeps its own state", "ignored");
    add_tag(tag, type, path, true, true);
    c_.endpoints.push_back(info);
  }
}

void Compiler::rule_sets(const Json& arr, const std::string& path) {
  if (arr.is_null()) return;
  if (!arr.is_array()) {
    rd_.error(path, "json: cannot unmarshal " + json_type_name(arr) + " into Go value of type []option.RuleSet");
    return;
  }
  // Tags first, so rules and sets can refer to any set.
  std::vector<std::pair<const Json*, std::string>> defs;
  for (size_t i = 0; i < arr.size(); ++i) {
    auto p = index_path(path, i);
    if (!rd_.expect_object(arr[i], p)) continue;
    auto tag = str(arr[i], "tag", p);
    if (tag.empty()) {
      rd_.error(p, "missing tag");
      continue;
    }
    if (tag.rfind("tailscale", 0) == 0 &&
        std::find(tailnet_set_tags().begin(), tailnet_set_tags().end(), tag) != tailnet_set_tags().end()) {
      rd_.error(key_path(p, "tag"), "rule-set tag \"" + tag + "\" is reserved for the live tailnet", "parse");
      continue;
    }
    if (c_.set_ids.count(tag)) {
      rd_.error(key_path(p, "tag"), "duplicate rule-set tag: " + tag);
      continue;
    }
    c_.set_ids[tag] = static_cast<uint32_t>(c_.rule_sets.size());
    auto rs = std::make_unique<RuleSet>();
    rs->tag = tag;
    c_.rule_sets.push_back(std::move(rs));
    defs.emplace_back(&arr[i], p);
  }
  c_.tailnet_set_base = static_cast<uint32_t>(c_.rule_sets.size());
  for (size_t i = 0; i < tailnet_set_tags().size(); ++i)
    c_.set_ids[tailnet_set_tags()[i]] = c_.tailnet_set_base + static_cast<uint32_t>(i);

  RuleCompiler rc{&c_.set_ids, &c_.diagnostics, false};
  for (size_t d = 0; d < defs.size(); ++d) {
    const Json& def = *defs[d].first;
    const std::string& p = defs[d].second;
    RuleSet& set = *c_.rule_sets[d];
    std::string type = str(def, "type", p);
    if (type.empty()) type = "inline";
    const Json* rules = nullptr;
    Json file_json;
    std::string rules_path = key_path(p, "rules");
    if (type == "inline") {
      keys(def, p, {{Section::kRuleSet}, type});
      auto it = def.find("rules");
      if (it != def.end()) rules = &*it;
    } else if (type == "local" || type == "remote") {
      keys(def, p, {{Section::kRuleSet}, type});
      if (type == "remote") {
        rd_.error(p, "remote rule-set is not supported by tailbox (no downloads); use a local source file", "unsupported");
        continue;
      }
      std::string file = str(def, "path", p), format = str(def, "format", p);
      if (format.empty()) {
        if (file.size() > 5 && file.compare(file.size() - 5, 5, ".json") == 0) format = "source";
        else if (file.size() > 4 && file.compare(file.size() - 4, 4, ".srs") == 0) format = "binary";
      }
      if (format == "binary") {
        rd_.error(p, "binary rule-set is not supported by tailbox; decompile it with `sing-box rule-set decompile`", "unsupported");
        continue;
      }
      if (format != "source") {
        rd_.error(key_path(p, "format"), "unknown rule-set format: " + format);
        continue;
      }
      std::filesystem::path fp(file);
      if (fp.is_relative() && !o_.base_dir.empty()) fp = std::filesystem::path(o_.base_dir) / fp;
      std::ifstream in(fp, std::ios::binary);
      if (!in) {
        rd_.error(key_path(p, "path"), "read rule-set at " + fp.string() + ": " + std::strerror(errno), "start");
        continue;
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      auto parsed = parse_config_text(ss.str(), fp.string());
      if (!parsed) {
        rd_.error(key_path(p, "path"), parsed.error().message, "start");
        continue;
      }
      file_json = std::move(*parsed);
      rules_path = key_path(p, "path") + "(" + file + ").rules";
      keys(file_json, key_path(p, "path") + "(" + file + ")", {{}, {}, {"version", "rules"}});
      auto v = file_json.value("version", 0);
      if (!file_json.contains("version") || !file_json["version"].is_number_integer() || v < 1 || v > 4)
        rd_.error(key_path(p, "path"), "unknown rule-set version: " + file_json.value("version", Json()).dump());
      if (file_json.contains("rules")) rules = &file_json["rules"];
    } else {
      rd_.error(key_path(p, "type"), "unknown rule-set type: " + type);
      continue;
    }
    if (!rules || rules->is_null()) continue;
    if (!rules->is_array()) {
      rd_.error(rules_path, "json: cannot unmarshal " + json_type_name(*rules) + " into Go value of type []option.HeadlessRule");
      continue;
    }
    for (size_t r = 0; r < rules->size(); ++r) {
      auto rule = rc.compile_headless((*rules)[r], index_path(rules_path, r));
      if (rule) set.rules.push_back(std::move(*rule));
    }
  }
}

void Compiler::route(const Json& obj) {
  c_.set_ids.clear();
  bool is_obj = !obj.is_null() && keys(obj, "route", {{Section::kRoute}});
  if (is_obj) rule_sets(obj.value("rule_set", Json()), "route.rule_set");
  if (!c_.set_ids.count(tailnet_set_tags()[0])) {
    c_.tailnet_set_base = static_cast<uint32_t>(c_.rule_sets.size());
    for (size_t i = 0; i < tailnet_set_tags().size(); ++i)
      c_.set_ids[tailnet_set_tags()[i]] = c_.tailnet_set_base + static_cast<uint32_t>(i);
  }
  if (is_obj) {
    for (const char* k : {"geoip", "geosite"})
      if (obj.contains(k) && !obj[k].is_null())
        rd_.warn(key_path("route", k), std::string(k) + " database is removed in sing-box 1.12.0; the object is ignored", "deprecated");
    c_.final_outbound = str(obj, "final", "route");
    if (!c_.final_outbound.empty()) c_.final_from = "final";
    c_.needs_process = boolean(obj, "find_process", "route");
    if (auto it = obj.find("default_mark"); it != obj.end() && !it->is_null() && !it->is_string())
      rd_.integer(*it, "route.default_mark", 0, UINT32_MAX, "uint32");
    if (auto it = obj.find("rules"); it != obj.end() && !it->is_null()) {
      if (!it->is_array()) {
        rd_.error("route.rules", "json: cannot unmarshal " + json_type_name(*it) + " into Go value of type []option.Rule");
      } else {
        RuleCompiler rc{&c_.set_ids, &c_.diagnostics, false};
        for (size_t i = 0; i < it->size(); ++i) {
          auto r = rc.compile_top((*it)[i], index_path("route.rules", i));
          if (r) {
            c_.needs_process = c_.needs_process || r->rule.uses_process();
            c_.rules.push_back(std::move(*r));
          }
        }
      }
    }
  }
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
  for (const auto& r : c_.rules) {
    const auto& a = r.action;
    if ((a.type == ActionType::kRoute || a.type == ActionType::kBypass) && !a.outbound.empty() &&
        !c_.find_outbound(a.outbound))
      rd_.error(key_path(r.path, "outbound"), "outbound not found: " + a.outbound, "runtime");
  }
}

void Compiler::dns(const Json& obj) {
  if (obj.is_null() || !keys(obj, "dns", {{Section::kDns}})) return;
  if (obj.contains("fakeip") && !obj["fakeip"].is_null())
    rd_.warn("dns.fakeip", "legacy fakeip options are deprecated in sing-box 1.12.0 (fatal in 1.13.0 unless "
                           "ENABLE_DEPRECATED_LEGACY_DNS_FAKEIP_OPTIONS=true)", "deprecated");
  std::set<std::string> server_tags;
  size_t server_count = 0;
  std::set<std::string> ts_endpoints;
  if (auto it = obj.find("servers"); it != obj.end() && !it->is_null()) {
    if (!it->is_array()) {
      rd_.error("dns.servers", "json: cannot unmarshal " + json_type_name(*it) + " into Go value of type []option.DNSServerOptions");
    } else {
      server_count = it->size();
      for (size_t i = 0; i < it->size(); ++i) {
        auto p = index_path("dns.servers", i);
        const Json& s = (*it)[i];
        if (!rd_.expect_object(s, p)) continue;
        auto tag = str(s, "tag", p);
        if (tag.empty()) tag = std::to_string(i);
        if (!server_tags.insert(tag).second) rd_.error(p, "duplicate dns server tag: " + tag);
        auto type = str(s, "type", p);
        if (type.empty()) {
          keys(s, p, {{Section::kLegacyDnsServer}, {}, {"tag"}});
          rd_.warn(p, "legacy DNS server format is deprecated in sing-box 1.12.0 (fatal in 1.13.0 unless "
                      "ENABLE_DEPRECATED_LEGACY_DNS_SERVERS=true); use a typed server", "deprecated");
          continue;
        }
        dns_server(s, p, type, ts_endpoints);
      }
    }
  }
  if (auto it = obj.find("rules"); it != obj.end() && !it->is_null()) {
    if (!it->is_array()) {
      rd_.error("dns.rules", "json: cannot unmarshal " + json_type_name(*it) + " into Go value of type []option.DNSRule");
    } else {
      RuleCompiler rc{&c_.set_ids, &c_.diagnostics, true};
      for (size_t i = 0; i < it->size(); ++i) rc.compile_top((*it)[i], index_path("dns.rules", i));
    }
  }
  // SPEC §2.9: with two or more DNS servers an endpoint needs a domain resolver.
  bool default_resolver = c_.source.contains("route") && c_.source["route"].is_object() &&
                          c_.source["route"].contains("default_domain_resolver") &&
                          !c_.source["route"]["default_domain_resolver"].is_null();
  if (server_count >= 2 && !default_resolver) {
    for (const auto& e : c_.endpoints) {
      std::string host = e.control_url.empty() ? "controlplane.tailscale.com" : e.control_url;
      if (auto p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
      host = host.substr(0, host.find_first_of(":/"));
      if (!e.has_domain_resolver && !IpAddr::parse(host) && !(host.size() > 1 && host[0] == '['))
        rd_.error(e.path, "missing domain resolver for domain server address", "create");
    }
  }
}

// A typed DNS server: its keys (by type), the tailscale server's endpoint, a remote one's server.
void Compiler::dns_server(const Json& s, const std::string& p, const std::string& type,
                          std::set<std::string>& ts_endpoints) {
  static const std::set<std::string, std::less<>> kDialing = {"local", "dhcp", "tcp", "udp", "tls", "quic", "https", "h3"};
  static const std::set<std::string, std::less<>> kOthers = {"hosts", "fakeip", "resolved", "tailscale"};
  const bool dialing = kDialing.count(type) != 0;
  if (!dialing && !kOthers.count(type)) {
    rd_.error(key_path(p, "type"), "unknown DNS server type: " + type);
    return;
  }
  if (dialing) keys(s, p, {{Section::kDial, Section::kDnsServer}, type, {"type", "tag"}});
  else keys(s, p, {{Section::kDnsServer}, type, {"type", "tag"}});
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

}  // namespace

std::shared_ptr<RouteConfig> compile_config(Json merged, const CompileOptions& opts) {
  auto c = std::make_shared<RouteConfig>();
  c->source = std::move(merged);
  Compiler(*c, opts).run();
  return c;
}

}  // namespace tb::route
