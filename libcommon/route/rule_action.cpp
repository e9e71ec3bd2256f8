// Compiling a rule's action from JSON: which keys each action takes, their values, and the checks
// across them (route/rule/rule_action.go and option/rule_action.go in sing-box v1.13.19).
#include <initializer_list>
#include <set>

#include "libcommon/route/json_read.hpp"
#include "libcommon/route/rule.hpp"
#include "libcommon/route/schema.hpp"

namespace tb::route {

namespace {

const std::set<std::string, std::less<>> kSniffers = {"http", "tls", "quic", "stun", "dns", "bittorrent",
                                                      "dtls", "ssh", "rdp", "ntp"};

using KeySet = std::set<std::string, std::less<>>;
using schema::Section;

// The keys sing-box 1.13 takes in the sections (for an action `variant`), from the schema table;
// "action" itself is read before.
KeySet schema_keys(std::initializer_list<Section> sections, std::string_view variant = {}) {
  KeySet k;
  for (auto s : sections)
    for (auto name : schema::order(s, variant))
      if (name != "action" && schema::accepts(s, name, variant)) k.insert(std::string(name));
  return k;
}

const KeySet kRouteOptionKeys = schema_keys({Section::kRouteOptions});
const KeySet kDialKeys = schema_keys({Section::kDial});
const KeySet kDnsRouteKeys = schema_keys({Section::kResolver});
const KeySet kDnsOptionKeys = schema_keys({Section::kDnsRuleAction}, "route-options");
const KeySet kRejectKeys = schema_keys({Section::kRouteRuleAction}, "reject");
const KeySet kPredefinedKeys = schema_keys({Section::kDnsRuleAction}, "predefined");
const KeySet kRouteKeys = schema_keys({Section::kRouteRuleAction, Section::kRouteOptions}, "route");
const KeySet kSniffKeys = schema_keys({Section::kRouteRuleAction}, "sniff");
const KeySet kNoKeys = {};

// An action name: its type, the keys it takes, and whether it ignores other keys (with a warning:
// sing-box accepts them silently) rather than refusing them.
struct ActionKind {
  std::string_view name;
  ActionType type;
  const KeySet* keys;
  bool lenient;
};

const ActionKind kRouteActions[] = {
    {"route", ActionType::kRoute, &kRouteKeys, false},
    {"bypass", ActionType::kBypass, &kRouteKeys, false},
    {"route-options", ActionType::kRouteOptions, &kRouteOptionKeys, true},
    {"reject", ActionType::kReject, &kRejectKeys, true},
    {"hijack-dns", ActionType::kHijackDns, &kNoKeys, false},
    {"sniff", ActionType::kSniff, &kSniffKeys, false},
    {"resolve", ActionType::kResolve, &kDnsRouteKeys, false},
    {"direct", ActionType::kDirect, &kDialKeys, true},
};
// DNS rules' actions are checked for their keys only.
const ActionKind kDnsActions[] = {
    {"route", ActionType::kRoute, &kDnsRouteKeys, false},
    {"route-options", ActionType::kRouteOptions, &kDnsOptionKeys, true},
    {"reject", ActionType::kReject, &kRejectKeys, true},
    {"predefined", ActionType::kRouteOptions, &kPredefinedKeys, false},
};

// An action field's table entry, for report_support.
const schema::Key* action_key(std::string_view action, std::string_view k) {
  for (auto s : {Section::kRouteRuleAction, Section::kRouteOptions, Section::kDial, Section::kResolver,
                 Section::kDnsRuleAction})
    if (const schema::Key* key = schema::find(s, k, action)) return key;
  return nullptr;
}

template <size_t N>
const ActionKind* find_action(const ActionKind (&kinds)[N], std::string_view name) {
  for (const auto& k : kinds)
    if (k.name == name) return &k;
  return nullptr;
}

// The action fields that are strings.
bool read_action_string(std::string_view k, const Json& v, const std::string& kp, Reader& rd, Action& a,
                        bool& any_option) {
  auto s = rd.string(v, kp);
  if (!s) return false;
  if (k == "outbound") a.outbound = *s;
  if (k == "method") a.method = s->empty() ? "default" : *s;
  if (k == "server") a.server = *s;
  if (k == "strategy") a.strategy = *s;
  if (k == "override_address") a.override_address = *s, any_option = any_option || !s->empty();
  if (k == "timeout") {
    a.timeout = *s;
    if (!s->empty() && !parse_go_duration(*s)) {
      rd.error(kp, "time: invalid duration \"" + *s + "\"");
      return false;
    }
  }
  return true;
}

// One field of a route action, into `a`; false on error (reported).
bool read_action_field(const std::string& k, const Json& v, const std::string& kp, Reader& rd, Action& a,
                       bool& any_option) {
  const std::string_view kv = k;
  if (kv == "outbound" || kv == "method" || kv == "server" || kv == "strategy" || kv == "override_address" ||
      kv == "timeout")
    return read_action_string(kv, v, kp, rd, a, any_option);
  if (kv == "override_port") {
    auto n = rd.integer(v, kp, 0, 65535, "uint16");
    if (!n) return false;
    if (*n) a.override_port = static_cast<uint16_t>(*n), any_option = true;
    return true;
  }
  if (kv == "no_drop") {
    auto b = rd.boolean(v, kp);
    if (b) a.no_drop = *b;
    return b.has_value();
  }
  if (kv == "sniffer") {
    auto s = rd.strings(v, kp);
    if (!s) return false;
    bool ok = true;
    for (const auto& x : *s) {
      if (!kSniffers.count(x)) {
        rd.error(kp, "unknown sniffer: " + x, "parse");
        ok = false;
      }
    }
    a.sniffers = *s;
    return ok;
  }
  // The other route options are carried for the relay, when set.
  if (v.is_null() || (v.is_boolean() && !v.get<bool>()) || (v.is_string() && v.get<std::string>().empty()))
    return true;
  if (kv == "udp_timeout" || kv == "fallback_delay" || kv == "tls_fragment_fallback_delay") {
    if (!rd.duration_seconds(v, kp, kv == "udp_timeout")) return false;
  }
  a.options.emplace_back(k, v.dump());
  any_option = true;
  return true;
}

// Checks across the fields of a route action.
bool check_action(const Action& a, const std::string& path, bool any_option, Reader& rd) {
  if (a.type == ActionType::kReject) {
    if (a.method != "default" && a.method != "drop" && a.method != "reply") {
      rd.error(key_path(path, "method"), "unknown reject method: " + a.method, "parse");
      return false;
    }
    if (a.method == "drop" && a.no_drop) {
      rd.error(key_path(path, "no_drop"), "no_drop is not available in current context", "parse");
      return false;
    }
  }
  if (a.type == ActionType::kRouteOptions && !any_option) {
    rd.error(path, "empty route option action", "parse");
    return false;
  }
  bool has_tls_fragment = false, has_record_fragment = false;
  for (const auto& [k, v] : a.options) {
    has_tls_fragment = has_tls_fragment || k == "tls_fragment";
    has_record_fragment = has_record_fragment || k == "tls_record_fragment";
  }
  if (has_tls_fragment && has_record_fragment) {
    rd.error(path, "`tls_fragment` and `tls_record_fragment` are mutually exclusive", "parse");
    return false;
  }
  return true;
}

}  // namespace

std::optional<Action> RuleCompiler::compile_action(const Json& j, const std::string& path,
                                                   const std::vector<std::string>& keys) const {
  Reader rd(*diags);
  std::string name = "route";
  if (auto it = j.find("action"); it != j.end()) {
    auto s = rd.string(*it, key_path(path, "action"));
    if (!s) return std::nullopt;
    if (!s->empty()) name = *s;
  }
  const ActionKind* kind = dns ? find_action(kDnsActions, name) : find_action(kRouteActions, name);
  if (!kind) {
    error(key_path(path, "action"), "unknown rule action: " + name, "parse");
    return std::nullopt;
  }
  Action a;
  a.type = kind->type;
  bool ok = true;
  bool any_option = false;
  for (const auto& k : keys) {
    if (k == "action") continue;
    auto kp = key_path(path, k);
    if (!kind->keys->count(k)) {
      if (kind->lenient) {
        warn(kp, "\"" + k + "\" is ignored by the " + name + " action (sing-box accepts it silently)", "ignored");
        continue;
      }
      rd.error(path, "json: unknown field \"" + k + "\"");
      ok = false;
      continue;
    }
    // A DNS rule's reject reads the same method / no_drop as a route rule's (RejectActionOptions).
    bool read = !dns || (a.type == ActionType::kReject && (k == "method" || k == "no_drop"));
    if (read && !read_action_field(k, j.at(k), kp, rd, a, any_option)) ok = false;
    if (!report_support(action_key(name, k), k, j.at(k), kp, rd)) ok = false;
  }
  if (!ok) return std::nullopt;
  if ((!dns || a.type == ActionType::kReject) && !check_action(a, path, any_option, rd)) return std::nullopt;
  return a;
}

}  // namespace tb::route
