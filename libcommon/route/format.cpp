#include "libcommon/route/format.hpp"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <vector>

#include "libcommon/route/schema.hpp"

namespace tb::route {

using tb::core::Json;

namespace {

// sing-box's badoption.Listable fields: one element is written as the element.
bool listable(const std::string& key) {
  static const std::set<std::string_view> names = [] {
    std::set<std::string_view> n;
    for (const auto& k : schema::table())
      if (k.type == schema::Type::kListable) n.insert(k.name);
    return n;
  }();
  return names.count(key) != 0;
}

bool is_empty(const Json& v) {
  return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
         (v.is_boolean() && !v.get<bool>()) || (v.is_number_integer() && v.get<int64_t>() == 0) ||
         (v.is_number_unsigned() && v.get<uint64_t>() == 0) || (v.is_array() && v.empty()) ||
         (v.is_object() && v.empty());
}

Json clean(const Json& v, const std::string& key) {
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      Json c = clean(it.value(), it.key());
      if (!is_empty(c)) out[it.key()] = std::move(c);
    }
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& x : v) {
      Json c = clean(x, "");
      if (!c.is_null()) out.push_back(std::move(c));
    }
    if (out.size() == 1 && listable(key) && !out[0].is_object() && !out[0].is_array()) return out[0];
    return out;
  }
  return v;
}

// Field orders of sing-box's option structs, from the schema table. Keys not listed keep their
// input order after the listed ones.
using Keys = std::vector<std::string_view>;
using schema::Section;

// One section's order (for an object of `variant` type), computed once.
const Keys& ord(Section s, std::string_view variant = {}) {
  static std::map<std::pair<Section, std::string>, Keys, std::less<>> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(s, std::string(variant));
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, schema::order(s, variant)).first;
  return it->second;
}

const Keys kHead = {"type", "tag"};

Keys cat(std::initializer_list<const Keys*> parts) {
  Keys out;
  for (const Keys* p : parts)
    for (auto k : *p)
      if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  return out;
}

// Listed keys first, in list order; then the rest in input order.
Json reorder(const Json& obj, const Keys& order) {
  Json out = Json::object();
  for (auto k : order) {
    auto it = obj.find(std::string(k));
    if (it != obj.end()) out[std::string(k)] = *it;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!out.contains(it.key())) out[it.key()] = it.value();
  return out;
}

std::string type_of(const Json& obj) {
  auto it = obj.find("type");
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename F>
void each_object(Json& obj, const char* key, F f) {
  auto it = obj.find(key);
  if (it == obj.end()) return;
  if (it->is_array()) {
    for (auto& x : *it)
      if (x.is_object()) x = f(x);
  } else if (it->is_object()) {
    *it = f(*it);
  }
}

void resolver_field(Json& obj, const char* key) {
  each_object(obj, key, [](const Json& r) { return reorder(r, ord(Section::kResolver)); });
}

Json order_dial(Json o) {
  resolver_field(o, "domain_resolver");
  return o;
}

Json order_inbound(const Json& in) {
  const std::string t = type_of(in);
  Keys order = kHead;
  if (t == "mixed" || t == "http" || t == "socks")
    order = cat({&kHead, &ord(Section::kListen), &ord(Section::kLegacyInbound), &ord(Section::kInbound, t)});
  Json out = reorder(in, order);
  each_object(out, "users", [](const Json& u) { return reorder(u, ord(Section::kUser)); });
  resolver_field(out, "domain_resolver");
  return out;
}

Json order_outbound(const Json& in) {
  const std::string t = type_of(in);
  Keys order = kHead;
  if (t == "direct" || t == "socks" || t == "http")
    order = cat({&kHead, &ord(Section::kDial), &ord(Section::kOutbound, t)});
  return order_dial(reorder(in, order));
}

Json order_endpoint(const Json& in) {
  if (type_of(in) != "tailscale") return reorder(in, kHead);
  return order_dial(reorder(in, cat({&kHead, &ord(Section::kDial), &ord(Section::kTailscale)})));
}

// Action fields for `action` (default "route"), route rules.
// An empty action names no variant (schema::order would take every action's fields).
Keys route_action_keys(const std::string& action) {
  const Keys& own = ord(Section::kRouteRuleAction, action.empty() ? "?" : action);  // "action" and the action's own fields
  if (action == "route" || action == "bypass" || action == "route-options")
    return cat({&own, &ord(Section::kRouteOptions)});
  if (action == "resolve") return cat({&own, &ord(Section::kResolver)});
  if (action == "direct") return cat({&own, &ord(Section::kDial)});
  return own;
}

Keys dns_action_keys(const std::string& action) {
  const Keys& own = ord(Section::kDnsRuleAction, action.empty() ? "?" : action);
  if (action == "route") return cat({&own, &ord(Section::kResolver)});
  return own;
}

Json order_rule(const Json& in, bool dns) {
  auto it = in.find("action");
  std::string action = it != in.end() && it->is_string() ? it->get<std::string>() : "route";
  Keys acts = dns ? dns_action_keys(action) : route_action_keys(action);
  const bool logical = type_of(in) == "logical";
  Keys order = cat({&ord(logical ? Section::kLogicalRule : (dns ? Section::kDnsRule : Section::kRule)), &acts});
  Json out = reorder(in, order);
  if (logical) each_object(out, "rules", [dns](const Json& r) { return order_rule(r, dns); });
  if (action == "direct" && !dns) out = order_dial(std::move(out));
  return out;
}

Json order_dns_server(const Json& in) {
  const std::string t = type_of(in);
  Keys order = kHead;
  if (t.empty() && in.contains("address")) {
    order = cat({&kHead, &ord(Section::kLegacyDnsServer)});
  } else if (t == "local" || t == "dhcp" || t == "tcp" || t == "udp" || t == "tls" || t == "quic" ||
             t == "https" || t == "h3") {
    order = cat({&kHead, &ord(Section::kDial), &ord(Section::kDnsServer, t)});
  } else if (!t.empty()) {
    order = cat({&kHead, &ord(Section::kDnsServer, t)});
  }
  return order_dial(reorder(in, order));
}

Json order_config(const Json& in) {
  Json out = reorder(in, ord(Section::kTop));
  each_object(out, "log", [](const Json& o) { return reorder(o, ord(Section::kLog)); });
  each_object(out, "inbounds", order_inbound);
  each_object(out, "outbounds", order_outbound);
  each_object(out, "endpoints", order_endpoint);
  each_object(out, "route", [](const Json& r) {
    Json o = reorder(r, ord(Section::kRoute));
    each_object(o, "rules", [](const Json& x) { return order_rule(x, false); });
    each_object(o, "rule_set", [](const Json& x) { return reorder(x, ord(Section::kRuleSet)); });
    resolver_field(o, "default_domain_resolver");
    return o;
  });
  each_object(out, "dns", [](const Json& d) {
    Json o = reorder(d, ord(Section::kDns));
    each_object(o, "servers", order_dns_server);
    each_object(o, "rules", [](const Json& x) { return order_rule(x, true); });
    return o;
  });
  each_object(out, "experimental", [](const Json& e) {
    Json o = reorder(e, ord(Section::kExperimental));
    each_object(o, "cache_file", [](const Json& x) { return reorder(x, ord(Section::kCacheFile)); });
    each_object(o, "clash_api", [](const Json& x) { return reorder(x, ord(Section::kClashApi)); });
    return o;
  });
  return out;
}

}  // namespace

Json format_config(const Json& config) {
  Json cleaned = clean(config, "");
  if (!cleaned.is_object()) return cleaned;
  return order_config(cleaned);
}

std::string format_config_text(const Json& config) {
  return format_config(config).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace tb::route
