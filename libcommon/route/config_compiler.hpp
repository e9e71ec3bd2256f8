#pragma once
// The config compiler, shared by the files that hold its sections: config.cpp (the root, route,
// traps), config_bounds.cpp (inbounds, outbounds, endpoints), config_rule_sets.cpp,
// config_dns.cpp and config_refs.cpp (tags one section names in another). Internal to
// libcommon/route.

#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libcommon/route/config.hpp"
#include "libcommon/route/json_read.hpp"
#include "libcommon/route/schema.hpp"

namespace tb::route::detail {

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
  // The key's table entry in the first section that has it, or nullptr.
  const schema::Key* find(std::string_view key) const {
    for (auto s : sections)
      if (const schema::Key* k = schema::find(s, key, variant)) return k;
    return nullptr;
  }
};

// The DNS server a domain resolver field names: the string, or the object's "server" ("" otherwise).
inline std::string resolver_tag(const Json& obj, const char* key = "domain_resolver") {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("server") && (*it)["server"].is_string()) return (*it)["server"].get<std::string>();
  return {};
}

// Does sing-box 1.13.19's release build know this inbound, outbound, endpoint or service type
// (include/registry.go)? A type it does not know is its "unknown <kind> type" error, one it knows
// and tailbox cannot carry out is "not supported by tailbox".
bool sing_box_knows(std::string_view kind, std::string_view type);

class Compiler {
 public:
  Compiler(RouteConfig& c, const CompileOptions& o) : c_(c), o_(o), rd_(c.diagnostics) {}
  void run();

 private:
  // Unknown keys → errors; returns false when the value is not an object.
  bool keys(const Json& obj, const std::string& path, const Allowed& allowed) {
    if (!rd_.expect_object(obj, path)) return false;
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.has(it.key())) rd_.error(path.empty() ? it.key() : path, "json: unknown field \"" + it.key() + "\"");
    report_support(obj, path, allowed);
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
  // `v` as a list: nullptr for null, and (with Go's error, naming `go_type`) for anything but an array.
  const Json* list(const Json& v, const std::string& path, const char* go_type) {
    if (v.is_null()) return nullptr;
    if (v.is_array()) return &v;
    rd_.error(path, "json: cannot unmarshal " + json_type_name(v) + " into Go value of type " + go_type);
    return nullptr;
  }
  // f(object, path, index) for each object of the list `v` at `path`; the rest are errors.
  template <typename F>
  void each_object(const Json& v, const std::string& path, const char* go_type, F f) {
    const Json* l = list(v, path, go_type);
    if (!l) return;
    for (size_t i = 0; i < l->size(); ++i) {
      auto p = index_path(path, i);
      if (rd_.expect_object((*l)[i], p)) f((*l)[i], p, i);
    }
  }
  // A list entry's path, type and tag (its index when untagged).
  template <typename Info>
  Info entry(const Json& o, const std::string& path, size_t i) {
    Info info;
    info.path = path;
    info.type = str(o, "type", path);
    info.tag = str(o, "tag", path);
    if (info.tag.empty()) info.tag = std::to_string(i);
    return info;
  }
  bool tls_enabled(const Json& obj, const std::string& path) {
    auto it = obj.find("tls");
    if (it == obj.end() || it->is_null()) return false;
    if (!rd_.expect_object(*it, key_path(path, "tls"))) return false;
    return it->value("enabled", false) == true;
  }
  void add_tag(OutboundInfo info) {
    for (const auto& o : c_.outbounds) {
      if (o.tag == info.tag) {
        rd_.error(info.path, "duplicate outbound/endpoint tag: " + info.tag);
        return;
      }
    }
    c_.outbounds.push_back(std::move(info));
  }

  // config.cpp
  void report_support(const Json& obj, const std::string& path, const Allowed& allowed);
  void network_strategy(const Json& obj, const std::string& path, bool route);
  void root_objects(const Json& root);
  void unsupported_type(const std::string& path, const std::string& kind, const std::string& type);
  void experimental(const Json& v);
  void route(const Json& obj);
  void route_rules(const Json& rules);
  void final_outbound();
  void traps();
  // config_bounds.cpp
  DialOptions dial(const Json& obj, const std::string& path);
  DialOptions listen_socket(const Json& in, const std::string& path);
  void inbounds(const Json& arr);
  void inbound_fields(const Json& in, const std::string& path, InboundInfo& info);
  void outbounds(const Json& arr);
  void upstream(const Json& o, const std::string& path, OutboundInfo& info);
  void endpoints(const Json& arr);
  void tailscale(const Json& e, const std::string& path, EndpointInfo& info);
  // config_rule_sets.cpp
  void rule_sets(const Json& arr, const std::string& path);
  std::vector<std::pair<const Json*, std::string>> rule_set_tags(const Json& arr, const std::string& path);
  void tailnet_set_ids();
  void rule_set(const Json& def, const std::string& p, RuleSet& set, RuleCompiler& rc);
  bool rule_set_file(const Json& def, const std::string& p, Json& file_json, std::string& rules_path);
  // config_refs.cpp
  void references();
  void rule_references();
  void detours();
  void domain_resolvers();
  void resolver_support();
  // config_dns.cpp
  void dns(const Json& obj);
  void dns_references(const Json& obj, const std::vector<std::string>& detours,
                      const std::vector<std::string>& resolvers);
  void dns_rule_servers(const Json& rules);
  void fakeip_servers(const Json& obj, const std::vector<std::string>& types);
  void dns_server(const Json& s, const std::string& p, const std::string& type, std::set<std::string>& ts_endpoints);
  void dns_resolvers(size_t server_count);
  void dns_server_dial(const Json& s, const std::string& p, const std::string& type);
  void dns_rule_unsupported(const Json& r, const std::string& p);

  RouteConfig& c_;
  const CompileOptions& o_;
  Reader rd_;
};

}  // namespace tb::route::detail
