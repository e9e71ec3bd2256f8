// Compiling rules and actions from JSON: strict on keys as sing-box's decoder is, then the items
// built in sing-box's order (route/rule/rule_default.go, rule_action.go in sing-box v1.13.19).
#include <algorithm>
#include <regex>
#include <set>

#include "libcommon/route/json_read.hpp"
#include "libcommon/route/rule.hpp"
#include "libcommon/route/rule_items.hpp"

namespace tb::route {

namespace {

const std::set<std::string, std::less<>> kSupportedMatchKeys = {
    "inbound", "ip_version", "network", "auth_user", "protocol", "client", "domain", "domain_suffix",
    "domain_keyword", "domain_regex", "source_ip_cidr", "source_ip_is_private", "ip_cidr", "ip_is_private",
    "source_port", "source_port_range", "port", "port_range", "process_name", "process_path",
    "process_path_regex", "user", "user_id", "rule_set", "rule_set_ip_cidr_match_source", "invert"};
const std::set<std::string, std::less<>> kHeadlessKeys = {
    "query_type", "network", "domain", "domain_suffix", "domain_keyword", "domain_regex", "source_ip_cidr",
    "ip_cidr", "source_port", "source_port_range", "port", "port_range", "process_name", "process_path",
    "process_path_regex", "package_name", "network_type", "network_is_expensive", "network_is_constrained",
    "wifi_ssid", "wifi_bssid", "network_interface_address", "default_interface_address", "invert"};
// Known to sing-box 1.13 but outside tailbox's host-proxy subset.
const std::set<std::string, std::less<>> kUnsupportedMatchKeys = {
    "package_name", "clash_mode", "network_type", "network_is_expensive", "network_is_constrained", "wifi_ssid",
    "wifi_bssid", "interface_address", "network_interface_address", "default_interface_address", "preferred_by"};
const std::set<std::string, std::less<>> kDnsOnlyKeys = {"query_type", "ip_accept_any", "outbound",
                                                         "rule_set_ip_cidr_accept_empty"};
const std::set<std::string, std::less<>> kRouteOptionKeys = {
    "override_address", "override_port", "network_strategy", "fallback_delay", "udp_disable_domain_unmapping",
    "udp_connect", "udp_timeout", "tls_fragment", "tls_fragment_fallback_delay", "tls_record_fragment"};
const std::set<std::string, std::less<>> kDialKeys = {
    "detour", "bind_interface", "inet4_bind_address", "inet6_bind_address", "bind_address_no_port",
    "routing_mark", "reuse_addr", "netns", "connect_timeout", "tcp_fast_open", "tcp_multi_path",
    "disable_tcp_keep_alive", "tcp_keep_alive", "tcp_keep_alive_interval", "udp_fragment", "domain_resolver",
    "domain_strategy", "network_strategy", "network_type", "fallback_network_type", "fallback_delay",
    "protect_path"};
const std::set<std::string, std::less<>> kSniffers = {"http", "tls", "quic", "stun", "dns", "bittorrent",
                                                      "dtls", "ssh", "rdp", "ntp"};

// Which of the key sets above a match key is in, with one hash lookup (compiling 100k rules
// classifies a few hundred thousand keys).
constexpr uint8_t kSupported = 1, kUnsupported = 2, kHeadless = 4, kDnsOnly = 8;
uint8_t key_class(std::string_view k) {
  static const auto table = [] {
    std::unordered_map<std::string_view, uint8_t> m;
    for (const auto& x : kSupportedMatchKeys) m[x] |= kSupported;
    for (const auto& x : kUnsupportedMatchKeys) m[x] |= kUnsupported;
    for (const auto& x : kHeadlessKeys) m[x] |= kHeadless;
    for (const auto& x : kDnsOnlyKeys) m[x] |= kDnsOnly;
    return m;
  }();
  auto it = table.find(k);
  return it == table.end() ? 0 : it->second;
}

}  // namespace

void RuleCompiler::error(const std::string& path, const std::string& msg, const std::string& kind) const {
  diags->push_back({Severity::kError, path, msg, kind});
}
void RuleCompiler::warn(const std::string& path, const std::string& msg, const std::string& kind) const {
  diags->push_back({Severity::kWarning, path, msg, kind});
}

std::optional<Rule> RuleCompiler::compile_rule(const Json& j, const std::string& path, bool headless, bool top,
                                               std::vector<std::string>* rest) const {
  Reader rd(*diags);
  if (!rd.expect_object(j, path)) return std::nullopt;
  Rule r;
  bool ok = true;
  std::string type = "default";
  if (auto it = j.find("type"); it != j.end()) {
    auto t = rd.string(*it, key_path(path, "type"));
    if (!t) return std::nullopt;
    if (!t->empty()) type = *t;
  }
  if (type == "logical") {
    r.logical = true;
    std::string mode;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      auto kp = key_path(path, k);
      if (k == "type") continue;
      if (k == "mode") {
        auto m = rd.string(it.value(), kp);
        if (!m) return std::nullopt;
        mode = *m;
      } else if (k == "rules") {
        if (!it.value().is_array()) {
          rd.error(kp, "json: cannot unmarshal " + json_type_name(it.value()) + " into Go value of type []Rule");
          ok = false;
          continue;
        }
        for (size_t i = 0; i < it.value().size(); ++i) {
          std::vector<std::string> sub_rest;
          auto sub = compile_rule(it.value()[i], index_path(kp, i), headless, false, headless ? nullptr : &sub_rest);
          if (!sub) {
            ok = false;
            continue;
          }
          // A sub-rule's own action fields are parsed and ignored (SPEC §3.3).
          if (!headless && !sub_rest.empty()) compile_action(it.value()[i], index_path(kp, i), sub_rest);
          r.rules.push_back(std::move(*sub));
        }
      } else if (k == "invert") {
        auto b = rd.boolean(it.value(), kp);
        if (!b) ok = false;
        else r.invert = *b;
      } else if (rest) {
        rest->push_back(k);
      } else {
        rd.error(path, "json: unknown field \"" + k + "\"");
        ok = false;
      }
    }
    if (mode != "and" && mode != "or") {
      error(key_path(path, "mode"), "unknown logical mode: " + mode, "create");
      return std::nullopt;
    }
    r.mode_and = mode == "and";
    r.empty = false;
    if (!ok) return std::nullopt;
    return r;
  }
  if (type != "default") {
    error(key_path(path, "type"), "unknown rule type: " + type, "parse");
    return std::nullopt;
  }

  // Default rule. First collect the values (strictness on keys), then build items in a fixed
  // order per group, as sing-box's NewDefaultRule does.
  std::vector<std::string> domains, suffixes, keywords, regexes, src_cidr, dst_cidr, src_pr, dst_pr;
  std::vector<uint16_t> src_ports, dst_ports;
  bool src_private = false, dst_private = false, match_source = false;
  std::vector<std::pair<std::string, std::vector<std::string>>> others;  // key → values
  std::vector<std::string> rule_sets, path_regex;
  std::vector<int64_t> user_ids;
  int ip_version = 0;
  bool query_type = false;
  std::string set_path;

  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const std::string_view kv = k;  // literal comparisons check the length first, no strlen
    const Json& v = it.value();
    if (kv == "type") continue;
    uint8_t cls = key_class(kv);
    bool known = headless ? (cls & kHeadless) != 0
                          : ((cls & (kSupported | kUnsupported)) != 0 || (dns && (cls & kDnsOnly)) ||
                             kv == "geosite" || kv == "geoip" || kv == "source_geoip" ||
                             kv == "rule_set_ipcidr_match_source");
    if (!known) {
      if (rest) {
        rest->push_back(k);
      } else {
        rd.error(path, "json: unknown field \"" + k + "\"");
        ok = false;
      }
      continue;
    }
    auto kp = key_path(path, k);
    if (kv == "geosite" || kv == "geoip" || kv == "source_geoip") {
      std::string db = kv == "geosite" ? "geosite" : "geoip";
      error(kp, db + " database is deprecated in sing-box 1.8.0 and removed in sing-box 1.12.0", "create");
      ok = false;
    } else if (kv == "rule_set_ipcidr_match_source") {
      error(kp, "rule_set_ipcidr_match_source is deprecated in sing-box 1.10.0 and removed in sing-box 1.11.0, "
                "use rule_set_ip_cidr_match_source instead", "create");
      ok = false;
    } else if ((cls & kUnsupported) && !(headless && v.is_null())) {
      error(kp, "\"" + k + "\" is not supported by tailbox (no such state on a host proxy)", "unsupported");
      ok = false;
    } else if (dns && (cls & kDnsOnly)) {
      if (kv == "outbound")
        warn(kp, "the outbound DNS rule item is deprecated in sing-box 1.12.0 and fatal in 1.13.0 unless "
                 "ENABLE_DEPRECATED_OUTBOUND_DNS_RULE_ITEM=true", "deprecated");
    } else if (kv == "query_type") {
      if (!v.is_null()) query_type = true;
    } else if (kv == "invert") {
      auto b = rd.boolean(v, kp);
      if (!b) ok = false;
      else r.invert = *b;
    } else if (kv == "ip_is_private" || kv == "source_ip_is_private" || kv == "rule_set_ip_cidr_match_source") {
      auto b = rd.boolean(v, kp);
      if (!b) {
        ok = false;
        continue;
      }
      (kv == "ip_is_private" ? dst_private : kv == "source_ip_is_private" ? src_private : match_source) = *b;
    } else if (kv == "ip_version") {
      auto n = rd.integer(v, kp, INT64_MIN, INT64_MAX, "int");
      if (!n) {
        ok = false;
        continue;
      }
      if (*n != 0 && *n != 4 && *n != 6) {
        error(kp, "invalid ip version: " + std::to_string(*n), "create");
        ok = false;
        continue;
      }
      ip_version = static_cast<int>(*n);
    } else if (kv == "port" || kv == "source_port") {
      auto p = rd.ports(v, kp);
      if (!p) {
        ok = false;
        continue;
      }
      (kv == "port" ? dst_ports : src_ports) = *p;
    } else if (kv == "user_id") {
      if (v.is_null()) continue;
      std::vector<int64_t> ids;
      auto one = [&](const Json& x, const std::string& p) {
        auto n = rd.integer(x, p, INT32_MIN, INT32_MAX, "int32");
        if (!n) ok = false;
        else ids.push_back(*n);
      };
      if (v.is_array())
        for (size_t i = 0; i < v.size(); ++i) one(v[i], index_path(kp, i));
      else
        one(v, kp);
      user_ids = ids;
    } else {
      auto s = rd.strings(v, kp);
      if (!s) {
        ok = false;
        continue;
      }
      if (kv == "domain" || kv == "domain_suffix") {
        for (size_t i = 0; i < s->size(); ++i) {
          if ((*s)[i].empty()) {
            error(kp, "domain: empty item is not allowed", "create");
            ok = false;
          }
        }
        (kv == "domain" ? domains : suffixes) = std::move(*s);
      } else if (kv == "domain_keyword") {
        keywords = *s;
      } else if (kv == "domain_regex") {
        regexes = *s;
      } else if (kv == "ip_cidr" || kv == "source_ip_cidr") {
        (kv == "ip_cidr" ? dst_cidr : src_cidr) = std::move(*s);
      } else if (kv == "port_range" || kv == "source_port_range") {
        (kv == "port_range" ? dst_pr : src_pr) = *s;
      } else if (kv == "rule_set") {
        rule_sets = *s;
        set_path = kp;
      } else if (kv == "process_path_regex") {
        path_regex = *s;
      } else {
        if (!s->empty()) others.emplace_back(k, *s);
      }
    }
  }

  // Items, grouped.
  auto cidrs = [&](const std::vector<std::string>& src, bool source, const std::string& key) -> ItemPtr {
    std::vector<Prefix> prefixes;
    for (size_t i = 0; i < src.size(); ++i) {
      auto p = Prefix::parse(src[i]);
      if (!p) {
        error(key_path(path, key), (source ? "source_ip_cidr" : "ipcidr") + std::string(": parse [") +
                                       std::to_string(i) + "]: netip.ParsePrefix(\"" + src[i] + "\"): invalid prefix",
              "create");
        ok = false;
        continue;
      }
      prefixes.push_back(*p);
    }
    return std::make_unique<CidrItem>(source, src, std::move(prefixes));
  };
  auto ranges = [&](const std::vector<std::string>& src, bool source, const std::string& key) -> ItemPtr {
    std::vector<PortRange> out;
    for (const auto& s : src) {
      auto colon = s.find(':');
      auto num = [&](std::string_view t, uint16_t def) -> std::optional<uint16_t> {
        if (t.empty()) return def;
        if (t.size() > 5 || !std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
          return std::nullopt;
        unsigned long n = std::stoul(std::string(t));
        if (n > 65535) return std::nullopt;
        return static_cast<uint16_t>(n);
      };
      std::optional<uint16_t> lo, hi;
      if (colon != std::string::npos) {
        lo = num(std::string_view(s).substr(0, colon), 0);
        hi = num(std::string_view(s).substr(colon + 1), 65535);
      }
      if (!lo || !hi) {
        error(key_path(path, key), "bad port range: " + s, "create");
        ok = false;
        continue;
      }
      out.push_back({*lo, *hi});
    }
    return std::make_unique<PortRangeItem>(source, src, std::move(out));
  };
  auto regex_item = [&](const std::vector<std::string>& src, const std::string& key) -> ItemPtr {
    std::vector<std::regex> res;
    for (size_t i = 0; i < src.size(); ++i) {
      try {
        res.emplace_back(src[i], std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        error(key_path(path, key), "parse expression " + std::to_string(i) + ": " + e.what(), "create");
        ok = false;
      }
    }
    return std::make_unique<RegexItem>(key, src, std::move(res));
  };

  if (!src_cidr.empty()) r.src_addr.push_back(cidrs(src_cidr, true, "source_ip_cidr"));
  if (src_private) r.src_addr.push_back(std::make_unique<PrivateItem>(true));
  if (!src_ports.empty()) r.src_port.push_back(std::make_unique<PortItem>(true, src_ports));
  if (!src_pr.empty()) r.src_port.push_back(ranges(src_pr, true, "source_port_range"));
  if (!domains.empty() || !suffixes.empty())
    r.dst_addr.push_back(std::make_unique<DomainItem>(std::move(domains), std::move(suffixes)));
  if (!keywords.empty()) r.dst_addr.push_back(std::make_unique<KeywordItem>(keywords));
  if (!regexes.empty()) r.dst_addr.push_back(regex_item(regexes, "domain_regex"));
  if (!dst_cidr.empty()) r.dst_cidr.push_back(cidrs(dst_cidr, false, "ip_cidr"));
  if (dst_private) r.dst_cidr.push_back(std::make_unique<PrivateItem>(false));
  if (!dst_ports.empty()) r.dst_port.push_back(std::make_unique<PortItem>(false, dst_ports));
  if (!dst_pr.empty()) r.dst_port.push_back(ranges(dst_pr, false, "port_range"));
  static const std::vector<std::pair<std::string, Field>> kOrder = {
      {"inbound", Field::kInbound},       {"network", Field::kNetwork},         {"auth_user", Field::kAuthUser},
      {"protocol", Field::kProtocol},     {"client", Field::kClient},           {"user", Field::kUser},
      {"process_name", Field::kProcessName}, {"process_path", Field::kProcessPath}};
  if (ip_version) r.other.push_back(std::make_unique<IpVersionItem>(ip_version));
  if (query_type) r.other.push_back(std::make_unique<NeverItem>("query_type"));
  for (const auto& [key, field] : kOrder) {
    for (const auto& [k, values] : others) {
      if (k != key) continue;
      if (k == "network") {
        for (const auto& n : values) {
          if (n != "tcp" && n != "udp" && n != "icmp") {
            error(key_path(path, k), "unknown network: " + n, "parse");
            ok = false;
          }
        }
      }
      r.other.push_back(std::make_unique<StringsItem>(k, field, values));
    }
  }
  if (!user_ids.empty()) r.other.push_back(std::make_unique<UserIdItem>(user_ids));
  for (const auto& [k, values] : others) r.needs_process = r.needs_process || k == "user" || k.rfind("process_", 0) == 0;
  r.needs_process = r.needs_process || !user_ids.empty() || !path_regex.empty();
  r.dst_private = dst_private;
  for (const auto& tag : rule_sets) r.mentions_tailnet = r.mentions_tailnet || tag.rfind("tailscale", 0) == 0;
  for (const auto& cidr : dst_cidr) r.mentions_tailnet = r.mentions_tailnet || cidr == "100.64.0.0/10";
  if (!path_regex.empty()) r.other.push_back(regex_item(path_regex, "process_path_regex"));
  if (!rule_sets.empty()) {
    std::vector<uint32_t> ids;
    for (const auto& tag : rule_sets) {
      auto it = set_ids ? set_ids->find(tag) : RuleSetIds::const_iterator{};
      if (!set_ids || it == set_ids->end()) {
        error(set_path, "rule-set not found: " + tag, "start");
        ok = false;
        continue;
      }
      ids.push_back(it->second);
    }
    r.other.push_back(std::make_unique<RuleSetItem>(rule_sets, ids, match_source));
  }
  r.empty = r.src_addr.empty() && r.src_port.empty() && r.dst_addr.empty() && r.dst_cidr.empty() &&
            r.dst_port.empty() && r.other.empty();
  (void)top;
  if (!ok) return std::nullopt;
  return r;
}

using KeySet = std::set<std::string, std::less<>>;

std::optional<Action> RuleCompiler::compile_action(const Json& j, const std::string& path,
                                                   const std::vector<std::string>& keys) const {
  Reader rd(*diags);
  Action a;
  std::string name;
  bool has_action = false;
  if (auto it = j.find("action"); it != j.end()) {
    auto s = rd.string(*it, key_path(path, "action"));
    if (!s) return std::nullopt;
    name = *s;
    has_action = !name.empty();
  }
  if (name.empty()) name = "route";
  static const KeySet kDnsRoute = {"server", "strategy", "disable_cache", "rewrite_ttl", "client_subnet"};
  static const KeySet kDnsOptions = {"disable_cache", "rewrite_ttl", "client_subnet"};
  static const KeySet kReject = {"method", "no_drop"};
  static const KeySet kPredefined = {"rcode", "answer", "ns", "extra"};
  static const KeySet kRoute = [] {
    KeySet k = kRouteOptionKeys;
    k.insert("outbound");
    return k;
  }();
  static const KeySet kSniff = {"sniffer", "timeout"};
  static const KeySet kNone = {};
  const KeySet* allowed = &kNone;
  bool lenient = false;
  if (dns) {
    if (name == "route") {
      a.type = ActionType::kRoute;
      allowed = &kDnsRoute;
    } else if (name == "route-options") {
      a.type = ActionType::kRouteOptions;
      allowed = &kDnsOptions;
      lenient = true;
    } else if (name == "reject") {
      a.type = ActionType::kReject;
      allowed = &kReject;
      lenient = true;
    } else if (name == "predefined") {
      a.type = ActionType::kRouteOptions;
      allowed = &kPredefined;
    } else {
      error(key_path(path, "action"), "unknown rule action: " + name, "parse");
      return std::nullopt;
    }
  } else if (name == "route" || name == "bypass") {
    a.type = name == "route" ? ActionType::kRoute : ActionType::kBypass;
    allowed = &kRoute;
  } else if (name == "route-options") {
    a.type = ActionType::kRouteOptions;
    allowed = &kRouteOptionKeys;
    lenient = true;
  } else if (name == "reject") {
    a.type = ActionType::kReject;
    allowed = &kReject;
    lenient = true;
  } else if (name == "hijack-dns") {
    a.type = ActionType::kHijackDns;
  } else if (name == "sniff") {
    a.type = ActionType::kSniff;
    allowed = &kSniff;
  } else if (name == "resolve") {
    a.type = ActionType::kResolve;
    allowed = &kDnsRoute;
  } else if (name == "direct") {
    a.type = ActionType::kDirect;
    allowed = &kDialKeys;
    lenient = true;
  } else {
    error(key_path(path, "action"), "unknown rule action: " + name, "parse");
    return std::nullopt;
  }
  bool ok = true;
  bool any_option = false;
  for (const auto& k : keys) {
    const std::string_view kv = k;
    if (kv == "action") continue;
    const Json& v = j.at(k);
    auto kp = key_path(path, k);
    if (!allowed->count(k)) {
      if (lenient) {
        warn(kp, "\"" + k + "\" is ignored by the " + name + " action (sing-box accepts it silently)", "ignored");
        continue;
      }
      rd.error(path, "json: unknown field \"" + k + "\"");
      ok = false;
      continue;
    }
    if (dns) continue;
    if (kv == "outbound" || kv == "method" || kv == "server" || kv == "strategy" || kv == "override_address" ||
        kv == "timeout") {
      auto s = rd.string(v, kp);
      if (!s) {
        ok = false;
        continue;
      }
      if (kv == "outbound") a.outbound = *s;
      if (kv == "method") a.method = s->empty() ? "default" : *s;
      if (kv == "server") a.server = *s;
      if (kv == "strategy") a.strategy = *s;
      if (kv == "override_address") a.override_address = *s, any_option = any_option || !s->empty();
      if (kv == "timeout") {
        if (!s->empty() && !parse_go_duration(*s)) {
          rd.error(kp, "time: invalid duration \"" + *s + "\"");
          ok = false;
        }
        a.timeout = *s;
      }
    } else if (kv == "override_port") {
      auto n = rd.integer(v, kp, 0, 65535, "uint16");
      if (!n) {
        ok = false;
        continue;
      }
      if (*n) a.override_port = static_cast<uint16_t>(*n), any_option = true;
    } else if (kv == "no_drop") {
      auto b = rd.boolean(v, kp);
      if (!b) ok = false;
      else a.no_drop = *b;
    } else if (kv == "sniffer") {
      auto s = rd.strings(v, kp);
      if (!s) {
        ok = false;
        continue;
      }
      for (const auto& x : *s) {
        if (!kSniffers.count(x)) {
          error(kp, "unknown sniffer: " + x, "parse");
          ok = false;
        }
      }
      a.sniffers = *s;
    } else if (!v.is_null() && !(v.is_boolean() && !v.get<bool>()) && !(v.is_string() && v.get<std::string>().empty())) {
      if (kv == "udp_timeout" || kv == "fallback_delay" || kv == "tls_fragment_fallback_delay") {
        if (!rd.duration_seconds(v, kp, kv == "udp_timeout")) {
          ok = false;
          continue;
        }
      }
      a.options.emplace_back(k, v.dump());
      any_option = true;
    }
  }
  if (!ok) return std::nullopt;
  if (a.type == ActionType::kReject && !dns) {
    if (a.method != "default" && a.method != "drop" && a.method != "reply") {
      error(key_path(path, "method"), "unknown reject method: " + a.method, "parse");
      return std::nullopt;
    }
    if (a.method == "drop" && a.no_drop) {
      error(key_path(path, "no_drop"), "no_drop is not available in current context", "parse");
      return std::nullopt;
    }
  }
  if (a.type == ActionType::kRouteOptions && !dns && !any_option) {
    error(path, "empty route option action", "parse");
    return std::nullopt;
  }
  bool has_tls_fragment = false, has_record_fragment = false;
  for (const auto& [k, v] : a.options) {
    has_tls_fragment = has_tls_fragment || k == "tls_fragment";
    has_record_fragment = has_record_fragment || k == "tls_record_fragment";
  }
  if (has_tls_fragment && has_record_fragment) {
    error(path, "`tls_fragment` and `tls_record_fragment` are mutually exclusive", "parse");
    return std::nullopt;
  }
  (void)has_action;
  return a;
}

std::optional<TopRule> RuleCompiler::compile_top(const Json& j, const std::string& path) const {
  std::vector<std::string> rest;
  auto rule = compile_rule(j, path, false, true, &rest);
  if (!j.is_object()) return std::nullopt;
  auto action = compile_action(j, path, rest);
  if (!rule || !action) return std::nullopt;
  if (!dns && action->type == ActionType::kRoute && action->outbound.empty()) {
    error(path, "missing outbound field", "create");
    return std::nullopt;
  }
  return TopRule{std::move(*rule), std::move(*action), path};
}

std::optional<Rule> RuleCompiler::compile_headless(const Json& j, const std::string& path) const {
  return compile_rule(j, path, true, false, nullptr);
}

}  // namespace tb::route
