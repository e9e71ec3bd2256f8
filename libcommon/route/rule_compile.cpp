// Compiling rules from JSON: strict on keys as sing-box's decoder is, then the items built in
// sing-box's order (route/rule/rule_default.go, NewDefaultRule and NewLogicalRule, in sing-box
// v1.13.19). The actions are compiled in rule_action.cpp.
#include <algorithm>
#include <regex>
#include <set>

#include "libcommon/core/strings.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/json_read.hpp"
#include "libcommon/route/rule.hpp"
#include "libcommon/route/rule_items.hpp"
#include "libcommon/route/schema.hpp"

namespace tb::route {

namespace {

// Which class a match key is in (from the schema table), with one hash lookup (compiling 100k
// rules classifies a few hundred thousand keys): a route rule's carried-out or refused ("known to
// sing-box 1.13 but outside tailbox's host-proxy subset") keys, a rule-set rule's keys, and the
// keys only DNS rules have.
constexpr uint8_t kSupported = 1, kUnsupported = 2, kHeadless = 4, kDnsOnly = 8;
uint8_t key_class(std::string_view k) {
  using schema::Section;
  using schema::Support;
  static const auto table = [] {
    std::unordered_map<std::string_view, uint8_t> m;
    for (const auto& key : schema::table()) {
      if (key.section == Section::kRule && key.name != "type") {
        if (key.support == Support::kCarried) m[key.name] |= kSupported;
        if (key.support == Support::kRefused) m[key.name] |= kUnsupported;
      } else if (key.section == Section::kHeadlessRule) {
        m[key.name] |= kHeadless;
      } else if (key.section == Section::kDnsRule && !schema::find(Section::kRule, key.name)) {
        m[key.name] |= kDnsOnly;
      }
    }
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

// ---- default rules ----

namespace {

// "lo:hi" with either side optional (0 and 65535), as sing-box's port_range.
std::optional<PortRange> parse_port_range(std::string_view s) {
  auto num = [](std::string_view t, uint16_t def) -> std::optional<uint16_t> {
    if (t.empty()) return def;
    if (t.size() > 5 || !std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return std::nullopt;
    unsigned long n = std::stoul(std::string(t));
    if (n > 65535) return std::nullopt;
    return static_cast<uint16_t>(n);
  };
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto lo = num(s.substr(0, colon), 0), hi = num(s.substr(colon + 1), 65535);
  if (!lo || !hi) return std::nullopt;
  return PortRange{*lo, *hi};
}

// One default rule. First the values of its keys are collected (strict on keys, as sing-box's
// decoder is), then its items are built in a fixed order per group, as sing-box's NewDefaultRule
// does (route/rule/rule_default.go). Errors are reported all along; ok() says whether there were any.
class DefaultRule {
 public:
  DefaultRule(Diagnostics& diags, const RuleCompiler& rc, const std::string& path, bool headless)
      : rd_(diags), set_ids_(rc.set_ids), outbounds_(rc.outbounds), api_mode_(rc.clash_mode), dns_(rc.dns),
        path_(path), headless_(headless) {}

  void collect(const Json& j, std::vector<std::string>* rest);
  void build(Rule& r);
  bool ok() const { return ok_; }

 private:
  // collecting
  bool known(std::string_view k, uint8_t cls) const;
  void collect_key(const std::string& k, uint8_t cls, const Json& v);
  void collect_value(const std::string& k, const Json& v, const std::string& kp);
  void collect_user_ids(const Json& v, const std::string& kp);
  void collect_strings(const std::string& k, const Json& v, const std::string& kp);
  // building
  void build_address_and_port_groups(Rule& r);
  void build_other_group(Rule& r);
  void mark_needs(Rule& r) const;
  ItemPtr cidr_item(const std::vector<std::string>& src, bool source, const std::string& key);
  ItemPtr port_range_item(const std::vector<std::string>& src, bool source, const std::string& key);
  ItemPtr regex_item(const std::vector<std::string>& src, const std::string& key);
  ItemPtr rule_set_item();
  ItemPtr preferred_by_item();

  void fail(const std::string& path, const std::string& msg, const std::string& kind) {
    rd_.error(path, msg, kind);
    ok_ = false;
  }

  Reader rd_;
  const RuleSetIds* set_ids_;
  const std::vector<OutboundInfo>* outbounds_;
  const std::string* api_mode_;
  bool dns_;
  const std::string& path_;
  bool headless_;
  bool ok_ = true;

  // The values, by key.
  bool invert_ = false;
  std::vector<std::string> domains_, suffixes_, keywords_, regexes_, src_cidr_, dst_cidr_, src_pr_, dst_pr_;
  std::vector<uint16_t> src_ports_, dst_ports_;
  bool src_private_ = false, dst_private_ = false, match_source_ = false;
  std::vector<std::pair<std::string, std::vector<std::string>>> others_;  // key → values
  std::vector<std::string> rule_sets_, path_regex_, preferred_by_;
  std::vector<int64_t> user_ids_;
  int ip_version_ = 0;
  bool query_type_ = false;
  std::string set_path_, preferred_path_, clash_mode_;
};

void DefaultRule::collect(const Json& j, std::vector<std::string>* rest) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const std::string_view kv = k;  // literal comparisons check the length first, no strlen
    if (kv == "type") continue;
    uint8_t cls = key_class(kv);
    if (known(kv, cls)) {
      collect_key(k, cls, it.value());
    } else if (rest) {
      rest->push_back(k);  // an action field
    } else {
      fail(path_, "json: unknown field \"" + k + "\"", "parse");
    }
  }
}

bool DefaultRule::known(std::string_view k, uint8_t cls) const {
  if (headless_) return (cls & kHeadless) != 0;
  if (dns_ && k == "preferred_by") return false;  // a route rule's only (option.RawDefaultRule)
  return (cls & (kSupported | kUnsupported)) != 0 || (dns_ && (cls & kDnsOnly)) || k == "geosite" ||
         k == "geoip" || k == "source_geoip" || k == "rule_set_ipcidr_match_source";
}

// Keys that sing-box knows: refused ones first, then the values.
void DefaultRule::collect_key(const std::string& k, uint8_t cls, const Json& v) {
  const std::string_view kv = k;
  auto kp = key_path(path_, k);
  if (kv == "geosite" || kv == "geoip" || kv == "source_geoip") {
    std::string db = kv == "geosite" ? "geosite" : "geoip";
    fail(kp, db + " database is deprecated in sing-box 1.8.0 and removed in sing-box 1.12.0", "create");
  } else if (kv == "rule_set_ipcidr_match_source") {
    fail(kp, "rule_set_ipcidr_match_source is deprecated in sing-box 1.10.0 and removed in sing-box 1.11.0, "
             "use rule_set_ip_cidr_match_source instead", "create");
  } else if ((cls & kUnsupported) && !(headless_ && v.is_null())) {
    fail(kp, "rule item \"" + k + "\" is not supported by tailbox (no such state on a host proxy)", "unsupported");
  } else if (dns_ && (cls & kDnsOnly)) {
    if (kv == "outbound")
      rd_.impending(kp, "the outbound DNS rule item is deprecated in sing-box 1.12.0 and fatal in 1.13.0 unless "
                        "ENABLE_DEPRECATED_OUTBOUND_DNS_RULE_ITEM=true", "OUTBOUND_DNS_RULE_ITEM");
  } else {
    collect_value(k, v, kp);
  }
}

void DefaultRule::collect_value(const std::string& key, const Json& v, const std::string& kp) {
  const std::string_view k = key;
  if (k == "query_type") {
    if (!v.is_null()) query_type_ = true;
  } else if (k == "invert") {
    auto b = rd_.boolean(v, kp);
    if (!b) ok_ = false;
    else invert_ = *b;
  } else if (k == "ip_is_private" || k == "source_ip_is_private" || k == "rule_set_ip_cidr_match_source") {
    auto b = rd_.boolean(v, kp);
    if (!b) ok_ = false;
    else (k == "ip_is_private" ? dst_private_ : k == "source_ip_is_private" ? src_private_ : match_source_) = *b;
  } else if (k == "ip_version") {
    auto n = rd_.integer(v, kp, INT64_MIN, INT64_MAX, "int");
    if (!n) ok_ = false;
    else if (*n != 0 && *n != 4 && *n != 6) fail(kp, "invalid ip version: " + std::to_string(*n), "create");
    else ip_version_ = static_cast<int>(*n);
  } else if (k == "port" || k == "source_port") {
    auto p = rd_.ports(v, kp);
    if (!p) ok_ = false;
    else (k == "port" ? dst_ports_ : src_ports_) = *p;
  } else if (k == "user_id") {
    collect_user_ids(v, kp);
  } else if (k == "clash_mode") {
    auto s = rd_.string(v, kp);
    if (!s) ok_ = false;
    else clash_mode_ = *s;
  } else {
    collect_strings(key, v, kp);
  }
}

void DefaultRule::collect_user_ids(const Json& v, const std::string& kp) {
  if (v.is_null()) return;
  std::vector<int64_t> ids;
  auto one = [&](const Json& x, const std::string& p) {
    auto n = rd_.integer(x, p, INT32_MIN, INT32_MAX, "int32");
    if (!n) ok_ = false;
    else ids.push_back(*n);
  };
  if (v.is_array())
    for (size_t i = 0; i < v.size(); ++i) one(v[i], index_path(kp, i));
  else
    one(v, kp);
  user_ids_ = ids;
}

// The keys whose value is a string or a list of strings.
void DefaultRule::collect_strings(const std::string& k, const Json& v, const std::string& kp) {
  const std::string_view kv = k;
  auto s = rd_.strings(v, kp);
  if (!s) {
    ok_ = false;
    return;
  }
  if (kv == "domain" || kv == "domain_suffix") {
    for (size_t i = 0; i < s->size(); ++i)
      if ((*s)[i].empty()) fail(kp, "domain: empty item is not allowed", "create");
    (kv == "domain" ? domains_ : suffixes_) = std::move(*s);
  } else if (kv == "domain_keyword") {
    keywords_ = *s;
  } else if (kv == "domain_regex") {
    regexes_ = *s;
  } else if (kv == "ip_cidr" || kv == "source_ip_cidr") {
    (kv == "ip_cidr" ? dst_cidr_ : src_cidr_) = std::move(*s);
  } else if (kv == "port_range" || kv == "source_port_range") {
    (kv == "port_range" ? dst_pr_ : src_pr_) = *s;
  } else if (kv == "rule_set") {
    rule_sets_ = *s;
    set_path_ = kp;
  } else if (kv == "process_path_regex") {
    path_regex_ = *s;
  } else if (kv == "preferred_by") {
    preferred_by_ = *s;
    preferred_path_ = kp;
  } else if (!s->empty()) {
    others_.emplace_back(k, *s);
  }
}

void DefaultRule::build(Rule& r) {
  r.invert = invert_;
  build_address_and_port_groups(r);
  build_other_group(r);
  mark_needs(r);
  r.empty = r.src_addr.empty() && r.src_port.empty() && r.dst_addr.empty() && r.dst_cidr.empty() &&
            r.dst_port.empty() && r.other.empty();
}

void DefaultRule::build_address_and_port_groups(Rule& r) {
  if (!src_cidr_.empty()) r.src_addr.push_back(cidr_item(src_cidr_, true, "source_ip_cidr"));
  if (src_private_) r.src_addr.push_back(std::make_unique<PrivateItem>(true));
  if (!src_ports_.empty()) r.src_port.push_back(std::make_unique<PortItem>(true, src_ports_));
  if (!src_pr_.empty()) r.src_port.push_back(port_range_item(src_pr_, true, "source_port_range"));
  if (!domains_.empty() || !suffixes_.empty())
    r.dst_addr.push_back(std::make_unique<DomainItem>(std::move(domains_), std::move(suffixes_)));
  if (!keywords_.empty()) r.dst_addr.push_back(std::make_unique<KeywordItem>(keywords_));
  if (!regexes_.empty()) r.dst_addr.push_back(regex_item(regexes_, "domain_regex"));
  if (!dst_cidr_.empty()) r.dst_cidr.push_back(cidr_item(dst_cidr_, false, "ip_cidr"));
  if (dst_private_) r.dst_cidr.push_back(std::make_unique<PrivateItem>(false));
  if (!dst_ports_.empty()) r.dst_port.push_back(std::make_unique<PortItem>(false, dst_ports_));
  if (!dst_pr_.empty()) r.dst_port.push_back(port_range_item(dst_pr_, false, "port_range"));
}

void DefaultRule::build_other_group(Rule& r) {
  static const std::vector<std::pair<std::string, Field>> kOrder = {
      {"inbound", Field::kInbound},       {"network", Field::kNetwork},         {"auth_user", Field::kAuthUser},
      {"protocol", Field::kProtocol},     {"client", Field::kClient},           {"user", Field::kUser},
      {"process_name", Field::kProcessName}, {"process_path", Field::kProcessPath}};
  if (ip_version_) r.other.push_back(std::make_unique<IpVersionItem>(ip_version_));
  if (query_type_) r.other.push_back(std::make_unique<NeverItem>("query_type"));
  for (const auto& [key, field] : kOrder) {
    for (const auto& [k, values] : others_) {
      if (k != key) continue;
      if (k == "network") {
        for (const auto& n : values)
          if (n != "tcp" && n != "udp" && n != "icmp") fail(key_path(path_, k), "unknown network: " + n, "parse");
      }
      r.other.push_back(std::make_unique<StringsItem>(k, field, values));
    }
  }
  if (!user_ids_.empty()) r.other.push_back(std::make_unique<UserIdItem>(user_ids_));
  if (!path_regex_.empty()) r.other.push_back(regex_item(path_regex_, "process_path_regex"));
  if (!clash_mode_.empty())
    r.other.push_back(std::make_unique<ClashModeItem>(clash_mode_, api_mode_ && core::iequals(*api_mode_, clash_mode_)));
  if (!preferred_by_.empty()) r.other.push_back(preferred_by_item());
  if (!rule_sets_.empty()) r.other.push_back(rule_set_item());
}

// What the router wants to know without evaluating the rule.
void DefaultRule::mark_needs(Rule& r) const {
  for (const auto& [k, values] : others_) r.needs_process = r.needs_process || k == "user" || k.rfind("process_", 0) == 0;
  r.needs_process = r.needs_process || !user_ids_.empty() || !path_regex_.empty();
  r.dst_private = dst_private_;
  for (const auto& tag : rule_sets_) r.mentions_tailnet = r.mentions_tailnet || tag.rfind("tailscale", 0) == 0;
  for (const auto& cidr : dst_cidr_) r.mentions_tailnet = r.mentions_tailnet || cidr == "100.64.0.0/10";
  r.mentions_tailnet = r.mentions_tailnet || !preferred_by_.empty();  // the tailnet's addresses and names
}

ItemPtr DefaultRule::cidr_item(const std::vector<std::string>& src, bool source, const std::string& key) {
  std::vector<Prefix> prefixes;
  for (size_t i = 0; i < src.size(); ++i) {
    auto p = Prefix::parse(src[i]);
    if (!p) {
      fail(key_path(path_, key), (source ? "source_ip_cidr" : "ipcidr") + std::string(": parse [") + std::to_string(i) +
                                     "]: netip.ParsePrefix(\"" + src[i] + "\"): invalid prefix",
           "create");
      continue;
    }
    prefixes.push_back(*p);
  }
  return std::make_unique<CidrItem>(source, src, std::move(prefixes));
}

ItemPtr DefaultRule::port_range_item(const std::vector<std::string>& src, bool source, const std::string& key) {
  std::vector<PortRange> out;
  for (const auto& s : src) {
    auto range = parse_port_range(s);
    if (!range) {
      fail(key_path(path_, key), "bad port range: " + s, "create");
      continue;
    }
    out.push_back(*range);
  }
  return std::make_unique<PortRangeItem>(source, src, std::move(out));
}

ItemPtr DefaultRule::regex_item(const std::vector<std::string>& src, const std::string& key) {
  std::vector<std::regex> res;
  for (size_t i = 0; i < src.size(); ++i) {
    try {
      res.emplace_back(src[i], std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      fail(key_path(path_, key), "parse expression " + std::to_string(i) + ": " + e.what(), "create");
    }
  }
  return std::make_unique<RegexItem>(key, src, std::move(res));
}

ItemPtr DefaultRule::rule_set_item() {
  std::vector<uint32_t> ids;
  for (const auto& tag : rule_sets_) {
    auto it = set_ids_ ? set_ids_->find(tag) : RuleSetIds::const_iterator{};
    if (!set_ids_ || it == set_ids_->end()) {
      fail(set_path_, "rule-set not found: " + tag, "start");
      continue;
    }
    ids.push_back(it->second);
  }
  return std::make_unique<RuleSetItem>(rule_sets_, ids, match_source_);
}

// Each tag must name a tailscale endpoint, as sing-box's PreferredByItem.Start checks (start-time
// errors); a wireguard endpoint has preferred routes in sing-box but no place in tailbox.
ItemPtr DefaultRule::preferred_by_item() {
  for (const auto& tag : preferred_by_) {
    const OutboundInfo* o = nullptr;
    for (size_t i = 0; outbounds_ && i < outbounds_->size() && !o; ++i)
      if ((*outbounds_)[i].tag == tag) o = &(*outbounds_)[i];
    if (!o)
      fail(preferred_path_, "outbound not found: " + tag, "start");
    else if (o->endpoint && o->type == "wireguard")
      fail(preferred_path_, "preferred routes of endpoint type \"wireguard\" (" + tag + ") are not supported by tailbox",
           "unsupported");
    else if (!o->endpoint || o->type != "tailscale")
      fail(preferred_path_, "outbound type does not support preferred routes: " + o->type, "start");
  }
  return std::make_unique<PreferredByItem>(preferred_by_);
}

}  // namespace

std::optional<Rule> RuleCompiler::compile_rule(const Json& j, const std::string& path, bool headless,
                                               std::vector<std::string>* rest) const {
  Reader rd(*diags);
  if (!rd.expect_object(j, path)) return std::nullopt;
  std::string type = "default";
  if (auto it = j.find("type"); it != j.end()) {
    auto t = rd.string(*it, key_path(path, "type"));
    if (!t) return std::nullopt;
    if (!t->empty()) type = *t;
  }
  if (type == "logical") return compile_logical(j, path, headless, rest);
  if (type != "default") {
    error(key_path(path, "type"), "unknown rule type: " + type, "parse");
    return std::nullopt;
  }
  DefaultRule d(*diags, *this, path, headless);
  d.collect(j, rest);
  Rule r;
  d.build(r);
  if (!d.ok()) return std::nullopt;
  return r;
}

// ---- logical rules ----

std::optional<Rule> RuleCompiler::compile_logical(const Json& j, const std::string& path, bool headless,
                                                  std::vector<std::string>* rest) const {
  Reader rd(*diags);
  Rule r;
  r.logical = true;
  bool ok = true;
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
      ok = compile_sub_rules(it.value(), kp, headless, r.rules) && ok;
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

bool RuleCompiler::compile_sub_rules(const Json& v, const std::string& path, bool headless,
                                     std::vector<Rule>& out) const {
  if (!v.is_array()) {
    Reader(*diags).error(path, "json: cannot unmarshal " + json_type_name(v) + " into Go value of type []Rule");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    std::vector<std::string> sub_rest;
    auto sub = compile_rule(v[i], index_path(path, i), headless, headless ? nullptr : &sub_rest);
    if (!sub) {
      ok = false;
      continue;
    }
    // A sub-rule's own action fields are parsed and ignored, as sing-box's logical rule does
    // (NewLogicalRule in route/rule/rule_default.go builds each sub-rule with its action, unused).
    if (!headless && !sub_rest.empty()) compile_action(v[i], index_path(path, i), sub_rest);
    out.push_back(std::move(*sub));
  }
  return ok;
}

std::optional<TopRule> RuleCompiler::compile_top(const Json& j, const std::string& path) const {
  std::vector<std::string> rest;
  auto rule = compile_rule(j, path, false, &rest);
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
  return compile_rule(j, path, true, nullptr);
}

}  // namespace tb::route
