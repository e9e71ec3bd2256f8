// Every key of the schema table is carried out, refused at check, or warned about at check; none
// is accepted silently and ignored (issue 15). For each key sing-box 1.13 has, in every variant
// (object type or action) it belongs to, a minimal config holding the key with a value sing-box
// accepts is checked:
//   kWarned   a warning at the key's path (or, where a whole section is ignored, an enclosing
//             object's) and no error: `sb-route check` exits 0 and names the path;
//   kRefused  an error at the key's path (or, for a key of a refused type, the object's) saying
//             "not supported by tailbox": `sb-route check` exits 78;
//   kCarried  no diagnostic at the key's path, and an entry in kProofs below: the tests that show
//             tailbox acting on it, each existing and one of them naming the key.
// A key with none of the three fails here. kRemoved and kLater keys are sing-box's own errors
// (schema_test.cpp).

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/format.hpp"
#include "libcommon/route/schema.hpp"

namespace tb::route::schema {
namespace {

using tb::core::Json;

const std::string kSrc = std::string(TB_FIXTURES) + "/../..";

// The tests that show a carried key acted on: "section.name" (or "section.*" for every carried key
// of the section not listed by name) → files under the source tree. Every file must exist, and one
// of them must name the key.
struct Proof {
  const char* key;
  std::vector<const char*> files;
};
const char* const kDialTest = "tests/net/net-dial-options.sh";
const char* const kProtectTest = "tests/unit/net/protect_test.cpp";  // every field read back from real sockets
const char* const kDnsTest = "tests/cli/sb-relay-dns.sh";
const char* const kSplitDnsTest = "tests/tailnet/dns-split-real.sh";
const char* const kProcessTest = "tests/cli/sb-relay-process.sh";
const char* const kDnsSettingsTest = "tests/unit/route/dns_settings_test.cpp";
const char* const kRuleProof[] = {"tests/singbox/difftest/gen.go", "tests/fixtures/singbox/route_cases.json"};
const std::vector<Proof> kProofs = {
    // The sections themselves: their keys are proven one by one below.
    {"top.log", {"tests/cli/sb-relay-log.sh"}},
    {"top.dns", {kDnsTest}},
    {"top.endpoints", {"tests/cli/ts-auth-config.sh"}},
    {"top.inbounds", {"tests/cli/sb-relay-accept.sh"}},
    {"top.outbounds", {"tests/cli/sb-relay-chain.sh"}},
    {"top.route", {"tests/cli/sb-relay-chain.sh"}},
    // sing-box does nothing with $schema but keep it, first, when it formats; so does sb-route.
    {"top.$schema", {"tests/unit/route/schema_every_key_test.cpp"}},
    {"log.*", {"tests/cli/sb-relay-log.sh"}},
    {"listen.listen", {"tests/cli/sb-relay-accept.sh"}},
    {"listen.listen_port", {"tests/cli/sb-relay-accept.sh"}},
    {"listen.routing_mark", {kDialTest}},
    {"listen.*", {kProtectTest}},
    {"inbound.users", {"tests/cli/sb-relay-limits.sh"}},
    {"user.*", {"tests/cli/sb-relay-limits.sh"}},
    {"dial.detour", {"tests/cli/sb-relay-chain.sh"}},
    {"dial.protect_path", {"tests/net/net-protect-path.sh", "tests/net/net-protect-udp-dns.sh"}},
    {"dial.netns", {"tests/net/net-netns.sh"}},
    {"dial.routing_mark", {"tests/cli/sb-relay-mark.sh", "tests/net/net-mark.sh"}},
    {"dial.domain_resolver", {kDnsTest}},
    {"dial.inet4_bind_address", {kDialTest}},
    {"dial.inet6_bind_address", {kDialTest}},
    {"dial.*", {kProtectTest}},
    {"outbound.network", {"tests/cli/sb-relay-route-options.sh"}},
    {"outbound.*", {"tests/cli/sb-relay-chain.sh"}},
    {"tailscale.*", {"tests/cli/ts-auth-config.sh", "tests/cli/ts-auth-config-prefs.sh", "tests/tailnet/ts-auth-real-config.sh"}},
    {"route.rules", {"tests/cli/sb-relay-chain.sh"}},
    {"route.rule_set", {"tests/cli/sb-route-plan.sh"}},
    {"route.final", {"tests/cli/sb-relay-chain.sh"}},
    {"route.find_process", {kProcessTest}},
    {"route.auto_detect_interface", {"tests/net/net-auto-detect-interface.sh"}},
    {"route.default_interface", {kProtectTest}},
    {"route.default_mark", {"tests/cli/sb-relay-mark.sh"}},
    {"route.default_domain_resolver", {kDnsTest}},
    {"rule_set.*", {"tests/cli/sb-route-plan.sh", "tests/fixtures/singbox/route_cases.json"}},
    {"route_rule_action.*", {"tests/fixtures/singbox/route_cases.json", "tests/singbox/difftest/gen.go"}},
    {"route_options.*", {"tests/cli/sb-relay-route-options.sh"}},
    {"resolver.disable_cache", {kDnsSettingsTest}},
    {"resolver.*", {kDnsTest}},
    {"dns.disable_cache", {kDnsSettingsTest, "tests/unit/net/dns_cache_test.cpp"}},
    {"dns.disable_expire", {kDnsSettingsTest, "tests/unit/net/dns_cache_test.cpp"}},
    {"dns.independent_cache", {kDnsSettingsTest, "tests/unit/net/dns_cache_test.cpp"}},
    {"dns.cache_capacity", {kDnsSettingsTest}},
    {"dns.*", {kDnsTest}},
    {"dns_server.endpoint", {kSplitDnsTest}},
    {"dns_server.accept_default_resolvers", {kSplitDnsTest}},
    {"dns_server.headers", {kDnsSettingsTest}},
    {"dns_server.*", {kDnsTest}},
    {"dns_rule_action.disable_cache", {kDnsSettingsTest}},
    {"dns_rule_action.method", {kDnsSettingsTest}},
    {"dns_rule_action.no_drop", {kDnsSettingsTest}},
    {"dns_rule_action.*", {kDnsTest}},
    {"clash_api.default_mode", {"tests/cli/sb-route-clash-mode.sh"}},
    {"rule.process_name", {kProcessTest}},
    {"rule.process_path", {kProcessTest}},
    {"rule.process_path_regex", {kProcessTest}},
    {"rule.user", {kProcessTest}},
    {"rule.user_id", {kProcessTest}},
    {"rule.preferred_by", {"tests/cli/sb-route-preferred-by.sh"}},
    {"rule.clash_mode", {"tests/cli/sb-route-clash-mode.sh"}},
    {"rule.*", {kRuleProof[0], kRuleProof[1]}},
    {"dns_rule.process_name", {kProcessTest}},
    {"dns_rule.process_path", {kProcessTest}},
    {"dns_rule.process_path_regex", {kProcessTest}},
    {"dns_rule.user", {kProcessTest}},
    {"dns_rule.user_id", {kProcessTest}},
    {"dns_rule.*", {kDnsTest, kRuleProof[0], kRuleProof[1]}},
    {"headless_rule.process_name", {kProcessTest}},
    {"headless_rule.process_path", {kProcessTest}},
    {"headless_rule.process_path_regex", {kProcessTest}},
    {"headless_rule.query_type", {"tests/cli/sb-route-query-type.sh"}},
    {"headless_rule.*", {kRuleProof[0], kRuleProof[1]}},
    {"logical_rule.*", {kRuleProof[0], kRuleProof[1]}},
};

const Proof* proof_of(const Key& k) {
  std::string exact = std::string(section_name(k.section)) + "." + std::string(k.name);
  std::string any = std::string(section_name(k.section)) + ".*";
  for (const auto& p : kProofs)
    if (exact == p.key) return &p;
  for (const auto& p : kProofs)
    if (any == p.key) return &p;
  return nullptr;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A value sing-box accepts for the key (not its zero), by "section.name", then by name, then by type.
Json sample(const Key& k, const std::string& variant) {
  static const Json kBySection = Json::parse(R"({
    "top.log": {"level": "info"}, "top.dns": {"servers": [{"type": "local", "tag": "dns0"}]},
    "top.endpoints": [{"type": "tailscale", "tag": "ts"}], "top.inbounds": [{"type": "mixed"}],
    "top.outbounds": [{"type": "direct", "tag": "d"}], "top.route": {"final": "d"},
    "top.ntp": {"enabled": true}, "top.certificate": {"store": "system"}, "top.services": [{"type": "derp"}],
    "top.experimental": {"debug": {"gc_percent": 1}},
    "legacy_inbound.sniff": false, "legacy_inbound.sniff_override_destination": false,
    "legacy_inbound.sniff_timeout": "", "legacy_inbound.domain_strategy": "", "legacy_inbound.udp_disable_domain_unmapping": false,
    "inbound.tls": {"enabled": true},
    "outbound.tls": {"enabled": true, "server_name": "x"}, "outbound.path": "/p", "outbound.version": "5",
    "outbound.network": "tcp", "outbound.udp_over_tcp": true,
    "route.rules": [{"action": "route", "outbound": "d"}],
    "route.rule_set": [{"type": "inline", "tag": "s2", "rules": [{"domain": "a.example"}]}],
    "route.default_interface": "lo",
    "rule_set.type": "inline", "rule_set.tag": "s", "rule_set.format": "source",
    "route_rule_action.action": "route", "route_rule_action.method": "drop", "route_rule_action.no_drop": true,
    "route_rule_action.timeout": "300ms",
    "route_options.fallback_delay": 300000000,
    "dns.servers": [{"type": "local", "tag": "dns1"}], "dns.rules": [{"domain": "a.example", "server": "dns0"}],
    "dns.final": "dns0", "dns.fakeip": {"enabled": true, "inet4_range": "198.18.0.0/15"},
    "dns_server.path": "/dns-query", "dns_server.tls": {"enabled": true, "server_name": "x"},
    "dns_server.service": "resolved", "dns_server.predefined": {"a.example": "1.2.3.4"},
    "legacy_dns_server.address": "1.1.1.1", "legacy_dns_server.address_resolver": "",
    "legacy_dns_server.detour": "d", "legacy_dns_server.strategy": "prefer_ipv4", "legacy_dns_server.address_strategy": "prefer_ipv4",
    "dns_rule_action.action": "route", "dns_rule_action.method": "drop", "dns_rule_action.no_drop": true,
    "experimental.cache_file": {"enabled": true}, "experimental.clash_api": {"default_mode": "rule"},
    "experimental.v2ray_api": {"listen": "127.0.0.1:1"}, "experimental.debug": {"gc_percent": 1},
    "clash_api.default_mode": "global",
    "logical_rule.type": "logical", "logical_rule.mode": "or", "logical_rule.rules": [{"domain": "b.example"}],
    "rule.type": "default", "dns_rule.type": "default", "dns_rule.outbound": "d"
  })");
  static const Json kByName = Json::parse(R"({
    "$schema": "https://sing-box.sagernet.org/schema.json", "level": "debug", "output": "/tmp/x.log",
    "listen": "127.0.0.1", "listen_port": 1080, "bind_interface": "lo", "inet4_bind_address": "127.0.0.1",
    "inet6_bind_address": "::1", "routing_mark": 1, "default_mark": 1, "connect_timeout": "1s",
    "users": [{"username": "u", "password": "p"}], "domain_resolver": "dns0", "default_domain_resolver": "dns0",
    "detour": "d", "server": "127.0.0.1", "server_port": 1080, "network_strategy": "hybrid",
    "default_network_strategy": "hybrid", "network_type": "wifi", "fallback_network_type": "cellular",
    "default_network_type": "wifi", "default_fallback_network_type": "cellular", "domain_strategy": "prefer_ipv4",
    "override_address": "1.1.1.1", "override_port": 443, "headers": {"a": "b"},
    "control_url": "https://control.example", "exit_node": "100.64.0.1", "advertise_routes": ["10.0.0.0/24"],
    "advertise_tags": "tag:x", "relay_server_static_endpoints": ["1.2.3.4:5"], "system_interface_mtu": 1280,
    "final": "d", "rules": [{"domain": "a.example"}], "outbound": "d", "sniffer": "http", "url": "https://x.example/s.srs",
    "download_detour": "d", "update_interval": "1d", "strategy": "prefer_ipv4", "rewrite_ttl": 60,
    "client_subnet": "1.2.3.0/24", "cache_capacity": 1024, "interface": "eth0", "inet4_range": "198.18.0.0/15",
    "inet6_range": "fc00::/18", "endpoint": "ts", "rcode": "NXDOMAIN", "answer": "a.example. IN A 1.2.3.4",
    "ns": "a.example. IN NS ns.example.", "extra": "ns.example. IN A 1.2.3.4",
    "external_controller": "127.0.0.1:9090", "rdrc_timeout": "1d",
    "inbound": "in", "ip_version": 4, "network": "tcp", "auth_user": "u", "protocol": "http", "client": "chromium",
    "domain": "a.example", "domain_suffix": ".example", "domain_keyword": "example", "domain_regex": "^a",
    "source_ip_cidr": "10.0.0.0/8", "ip_cidr": "1.1.1.0/24", "source_port": 1000, "source_port_range": "1000:2000",
    "port": 443, "port_range": "1000:2000", "process_name": "curl", "process_path": "/usr/bin/curl",
    "process_path_regex": "curl$", "package_name": "com.example", "user": "root", "user_id": 1000,
    "clash_mode": "rule", "wifi_ssid": "x", "wifi_bssid": "00:00:00:00:00:00", "query_type": "A",
    "interface_address": {"eth0": ["1.2.3.0/24"]}, "network_interface_address": {"wifi": ["1.2.3.0/24"]},
    "default_interface_address": "1.2.3.0/24", "preferred_by": "ts", "rule_set": "s", "mode": "and",
    "udp_timeout": "1m", "tcp_keep_alive": "1m", "tcp_keep_alive_interval": "1m", "fallback_delay": "300ms",
    "default_fallback_delay": "300ms", "tls_fragment_fallback_delay": "1s", "netns": "x", "protect_path": "/tmp/p"
  })");
  std::string sec = std::string(section_name(k.section)) + "." + std::string(k.name);
  std::string name(k.name);
  if (k.name == "path" && k.section == Section::kDnsServer && variant == "hosts") return "/etc/hosts";
  if (k.name == "path" && k.section == Section::kRuleSet) return kSrc + "/tests/fixtures/relay/rule-set-local.json";
  if (kBySection.contains(sec)) return kBySection[sec];
  if (kByName.contains(name)) return kByName[name];
  switch (k.type) {
    case Type::kBool: return true;
    case Type::kInt: return 1;
    case Type::kMark: return 1;
    case Type::kPort: return 1;
    case Type::kDuration: return "1s";
    case Type::kObject: return Json{{"a", "b"}};
    default: return "x";
  }
}

// place() for the rules, their actions and the DNS section.
std::string place_rule(const Key& k, const std::string& variant, const Json& v, Json& cfg) {
  std::string key(k.name);
  auto rule = [&](Json r) { r[key] = v; return r; };
  switch (k.section) {
    case Section::kRouteRuleAction:
    case Section::kRouteOptions: {
      std::string action = variant.empty() ? (k.section == Section::kRouteOptions ? "route-options" : "route") : variant;
      Json r = {{"domain", "a.example"}, {"action", action}};
      if (action == "route") r["outbound"] = "d";
      cfg["route"]["rules"] = Json::array({rule(r)});
      return "route.rules[0]." + key;
    }
    case Section::kResolver:
      cfg["route"]["default_domain_resolver"] = {{"server", "dns0"}};
      cfg["route"]["default_domain_resolver"][key] = v;
      return "route.default_domain_resolver." + key;
    case Section::kDns: cfg["dns"][key] = v; return "dns." + key;
    case Section::kDnsServer: {
      Json s = {{"type", variant}, {"tag", "dns0"}};
      if (variant == "udp" || variant == "tcp" || variant == "tls" || variant == "quic" || variant == "https" ||
          variant == "h3")
        s["server"] = "1.1.1.1";
      if (variant == "tailscale") s["endpoint"] = "ts";
      s[key] = v;
      cfg["dns"]["servers"][0] = s;
      return "dns.servers[0]." + key;
    }
    case Section::kLegacyDnsServer:
      cfg["dns"]["servers"][0] = {{"address", "1.1.1.1"}, {"tag", "dns0"}};
      cfg["dns"]["servers"][0][key] = v;
      return "dns.servers[0]." + key;
    case Section::kDnsRuleAction: {
      std::string action = variant.empty() ? "route" : variant;
      Json r = {{"domain", "a.example"}, {"action", action}};
      if (action == "route") r["server"] = "dns0";
      cfg["dns"]["rules"] = Json::array({rule(r)});
      return "dns.rules[0]." + key;
    }
    case Section::kRule:
      cfg["route"]["rules"] = Json::array({rule({{"action", "route"}, {"outbound", "d"}})});
      if (key != "domain") cfg["route"]["rules"][0]["domain"] = "a.example";
      return "route.rules[0]." + key;
    case Section::kDnsRule:
      cfg["dns"]["rules"] = Json::array({rule({{"action", "route"}, {"server", "dns0"}})});
      if (key != "domain") cfg["dns"]["rules"][0]["domain"] = "a.example";
      return "dns.rules[0]." + key;
    case Section::kHeadlessRule:
      cfg["route"]["rule_set"][0]["rules"] = Json::array({rule(Json::object())});
      if (key != "domain") cfg["route"]["rule_set"][0]["rules"][0]["domain"] = "a.example";
      return "route.rule_set[0].rules[0]." + key;
    case Section::kLogicalRule:
      cfg["route"]["rules"] = Json::array({rule(Json::parse(
          R"({"type": "logical", "mode": "and", "rules": [{"domain": "a.example"}], "action": "route", "outbound": "d"})"))});
      return "route.rules[0]." + key;
    default: return key;
  }
}

// The config around the key: a socks outbound "o" (index 0) where dial fields go, a direct "d",
// a local DNS server "dns0", a tailscale endpoint "ts", an inline rule-set "s"; the key's object
// is always the first of its list. Returns the key's path.
std::string place(const Key& k, const std::string& variant, const Json& v, Json& cfg) {
  cfg = Json::parse(R"({"inbounds": [{"type": "mixed", "tag": "in"}],
    "outbounds": [{"type": "socks", "tag": "o", "server": "127.0.0.1", "server_port": 1080}, {"type": "direct", "tag": "d"}],
    "endpoints": [{"type": "tailscale", "tag": "ts"}],
    "dns": {"servers": [{"type": "local", "tag": "dns0"}]},
    "route": {"rule_set": [{"type": "inline", "tag": "s", "rules": [{"domain": "a.example"}]}], "final": "d"}})");
  std::string key(k.name);
  switch (k.section) {
    case Section::kTop: cfg[key] = v; return key;
    case Section::kLog: cfg["log"] = {{key, v}}; return "log." + key;
    case Section::kListen:
    case Section::kLegacyInbound:
    case Section::kInbound:
      cfg["inbounds"][0] = {{"type", variant.empty() ? "mixed" : variant}, {"tag", "in"}, {key, v}};
      return "inbounds[0]." + key;
    case Section::kUser:
      cfg["inbounds"][0]["users"] = Json::array({{{"username", "u"}, {"password", "p"}}});
      cfg["inbounds"][0]["users"][0][key] = v;
      return "inbounds[0].users[0]." + key;
    case Section::kDial: cfg["outbounds"][0][key] = v; return "outbounds[0]." + key;
    case Section::kOutbound:
      cfg["outbounds"][0] = {{"type", variant}, {"tag", "o"}, {"server", "127.0.0.1"}, {"server_port", 1080}};
      if (variant == "direct") cfg["outbounds"][0] = {{"type", "direct"}, {"tag", "o"}};
      cfg["outbounds"][0][key] = v;
      return "outbounds[0]." + key;
    case Section::kTailscale: cfg["endpoints"][0][key] = v; return "endpoints[0]." + key;
    case Section::kRoute:
      if (key == "default_network_strategy") cfg["route"]["auto_detect_interface"] = true;
      cfg["route"][key] = v;
      return "route." + key;
    case Section::kRuleSet: {
      Json s = {{"type", variant.empty() ? "inline" : variant}, {"tag", "s"}};
      if (s["type"] == "inline") s["rules"] = Json::parse(R"([{"domain": "a.example"}])");
      if (s["type"] == "local") s["path"] = kSrc + "/tests/fixtures/relay/rule-set-local.json";
      if (s["type"] == "remote") s["url"] = "https://x.example/s.srs";
      if (s["type"] != "inline") s["format"] = "source";
      s[key] = v;
      cfg["route"]["rule_set"][0] = s;
      return "route.rule_set[0]." + key;
    }
    case Section::kRouteRuleAction:
    case Section::kRouteOptions:
    case Section::kResolver:
    case Section::kDns:
    case Section::kDnsServer:
    case Section::kLegacyDnsServer:
    case Section::kDnsRuleAction:
    case Section::kRule:
    case Section::kDnsRule:
    case Section::kHeadlessRule:
    case Section::kLogicalRule: return place_rule(k, variant, v, cfg);
    case Section::kExperimental: cfg["experimental"] = {{key, v}}; return "experimental." + key;
    case Section::kCacheFile: cfg["experimental"]["cache_file"] = {{key, v}}; return "experimental.cache_file." + key;
    case Section::kClashApi: cfg["experimental"]["clash_api"] = {{key, v}}; return "experimental.clash_api." + key;
  }
  return key;
}

// Is `p` the path `at` or an object enclosing it?
bool at_or_above(const std::string& p, const std::string& at) {
  return p == at || (at.compare(0, p.size(), p) == 0 && (at[p.size()] == '.' || at[p.size()] == '['));
}

std::vector<std::string> variants(const Key& k) {
  std::vector<std::string> out;
  std::string_view only = k.only;
  while (!only.empty()) {
    auto sp = only.find(' ');
    out.emplace_back(only.substr(0, sp));
    if (sp == std::string_view::npos) break;
    only.remove_prefix(sp + 1);
  }
  if (out.empty()) out.emplace_back();
  return out;
}

class EveryKey : public ::testing::Test {
 protected:
  void SetUp() override {
    // sing-box's deprecations made fatal in 1.13 are warnings with their variables set.
    for (const char* v : {"LEGACY_DNS_SERVERS", "LEGACY_DNS_FAKEIP_OPTIONS", "LEGACY_DOMAIN_STRATEGY_OPTIONS",
                          "RULE_ITEM_OUTBOUND", "OUTBOUND_DNS_RULE_ITEM", "MISSING_DOMAIN_RESOLVER"})
      setenv((std::string("ENABLE_DEPRECATED_") + v).c_str(), "true", 1);
  }
};

// One key in one variant; "" when it is carried out, refused or warned about as the table says.
std::string verdict(const Key& k, const std::string& variant) {
  Json cfg;
  Json v = sample(k, variant);
  std::string at = place(k, variant, v, cfg);
  auto c = compile_config(cfg);
  std::string errors, warnings, here;
  bool refused = false, warned = false;
  for (const auto& d : c->diagnostics) {
    bool hard = d.severity == Severity::kError && d.kind != "start";
    (hard ? errors : warnings) += "\n  " + d.line() + " [" + d.kind + "]";
    if (d.path == at && d.kind != "trap") here += "\n  " + d.line();
    // At the key, inside its value, or at an enclosing object; a refused type refuses its fields
    // with it, naming the object's "type".
    bool related = at_or_above(d.path, at) || at_or_above(at, d.path) || d.path == at.substr(0, at.rfind('.')) + ".type";
    if (!related) continue;
    refused = refused || (hard && d.message.find("not supported by tailbox") != std::string::npos);
    warned = warned || !hard;
  }
  std::string what = std::string(section_name(k.section)) + "." + std::string(k.name) +
                     (variant.empty() ? "" : "[" + variant + "]");
  std::string in = " (" + v.dump() + " in " + cfg.dump() + ")";
  switch (k.support) {
    case Support::kWarned:
      if (!warned || !errors.empty()) return what + ": not warned at " + at + " with exit 0" + in + errors + warnings;
      return {};
    case Support::kRefused:
      if (!refused) return what + ": not refused at " + at + " as not supported by tailbox" + in + errors + warnings;
      return {};
    case Support::kCarried: {
      if (!here.empty()) return what + ": carried, but check says at its path" + in + here;
      const Proof* p = proof_of(k);
      if (!p) return what + ": carried, but no test in kProofs shows it carried out";
      bool named = false;
      std::string missing;
      for (const char* f : p->files) {
        std::string text = read_file(kSrc + "/" + f);
        if (text.empty()) missing += std::string(" ") + f;
        named = named || text.find(std::string(k.name)) != std::string::npos;
      }
      if (!missing.empty()) return what + ": carried, but its proof is missing:" + missing;
      if (!named) return what + ": carried, but no proof file names it: " + p->key;
      return {};
    }
    default: return {};
  }
}

TEST_F(EveryKey, IsCarriedRefusedOrWarned) {
  int checked = 0;
  for (const auto& k : table()) {
    if (k.support == Support::kRemoved || k.support == Support::kLater) continue;
    for (const auto& variant : variants(k)) {
      auto why = verdict(k, variant);
      EXPECT_TRUE(why.empty()) << why;
      ++checked;
    }
  }
  EXPECT_GT(checked, 250);
}

// Every warned or refused key that the checker reports by itself (Key::why) has its reason on one line.
TEST(EveryKeyReasons, OneLineEach) {
  for (const auto& k : table()) {
    if (k.support == Support::kCarried) {
      EXPECT_TRUE(k.why.empty()) << k.name;
    }
    EXPECT_EQ(k.why.find('\n'), std::string_view::npos) << k.name;
  }
}

// sing-box keeps "$schema" (option.Options' first field) when it formats a config; so does sb-route.
TEST(EveryKeyCarried, FormatKeepsSchemaFirst) {
  auto out = format_config(Json::parse(R"({"route": {}, "$schema": "https://sing-box.sagernet.org/schema.json"})"));
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out.begin().key(), "$schema");
  EXPECT_EQ(out["$schema"], "https://sing-box.sagernet.org/schema.json");
}

}  // namespace
}  // namespace tb::route::schema
