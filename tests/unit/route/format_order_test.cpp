// `format` writes the keys of known objects in sing-box's option-struct field order, unknown keys
// after them in input order; the result is a fixed point and independent of the input key order.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/route/format.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

std::vector<std::string> keys(const Json& obj) {
  std::vector<std::string> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) out.push_back(it.key());
  return out;
}

using V = std::vector<std::string>;

// Shuffled keys everywhere.
constexpr const char* kShuffled = R"({
  "route": {
    "default_mark": 255, "final": "proxy", "auto_detect_interface": true,
    "rule_set": [{"path": "a.srs", "format": "binary", "tag": "rs", "type": "local"}],
    "rules": [
      {"timeout": "1s", "sniffer": ["tls"], "action": "sniff"},
      {"outbound": "direct", "invert": true, "port": [443], "domain_suffix": ["x.test"], "domain": ["y.test"],
       "inbound": ["in"], "zz_unknown": 1, "aa_unknown": 2},
      {"no_drop": true, "method": "drop", "action": "reject", "ip_cidr": ["10.0.0.0/8"]},
      {"outbound": "direct", "action": "route", "invert": true, "rules": [{"port": 22}, {"port": 23}],
       "mode": "or", "type": "logical"},
      {"client_subnet": "1.2.3.0/24", "server": "dns-local", "action": "resolve", "domain": ["z.test"]}
    ]
  },
  "outbounds": [
    {"password": "p", "server_port": 1080, "version": "5", "server": "s.test", "detour": "direct",
     "username": "u", "tag": "proxy", "type": "socks"},
    {"domain_resolver": {"strategy": "ipv4_only", "server": "dns-local"}, "routing_mark": 1,
     "bind_interface": "eth0", "tag": "direct", "type": "direct"},
    {"tag": "block", "type": "block"},
    {"path": "/p", "tls": {"enabled": true}, "password": "p", "username": "u", "server_port": 8080,
     "server": "h.test", "tag": "http-up", "type": "http"}
  ],
  "inbounds": [
    {"users": [{"password": "pw", "username": "me"}], "set_system_proxy": true, "listen_port": 1080,
     "listen": "127.0.0.1", "tag": "in", "type": "mixed"},
    {"udp_timeout": "1m", "listen_port": 1081, "listen": "::1", "tag": "s", "type": "socks"}
  ],
  "endpoints": [
    {"hostname": "h", "auth_key": "k", "detour": "direct", "state_directory": "st", "tag": "ts",
     "type": "tailscale", "ephemeral": true}
  ],
  "dns": {
    "rules": [{"server": "dns-local", "action": "route", "query_type": ["A"], "domain": ["a.test"]}],
    "strategy": "prefer_ipv4", "final": "dns-local",
    "servers": [{"server_port": 53, "server": "1.1.1.1", "detour": "direct", "tag": "dns-remote", "type": "udp"},
                {"tag": "dns-local", "type": "local"}]
  },
  "experimental": {"clash_api": {"secret": "s", "external_controller": "127.0.0.1:9090"},
                   "cache_file": {"path": "c.db", "enabled": true}},
  "log": {"timestamp": true, "level": "info"},
  "zz_top_unknown": {"b": 1, "a": 2}
})";

TEST(FormatOrder, CanonicalFieldOrder) {
  Json out = format_config(Json::parse(kShuffled));
  EXPECT_EQ(keys(out), (V{"log", "dns", "endpoints", "inbounds", "outbounds", "route", "experimental",
                          "zz_top_unknown"}));
  EXPECT_EQ(keys(out["zz_top_unknown"]), (V{"b", "a"}));  // unknown objects keep their order
  EXPECT_EQ(keys(out["log"]), (V{"level", "timestamp"}));

  const Json& route = out["route"];
  EXPECT_EQ(keys(route), (V{"rules", "rule_set", "final", "auto_detect_interface", "default_mark"}));
  EXPECT_EQ(keys(route["rule_set"][0]), (V{"type", "tag", "format", "path"}));
  const Json& rules = route["rules"];
  EXPECT_EQ(keys(rules[0]), (V{"action", "sniffer", "timeout"}));
  EXPECT_EQ(keys(rules[1]),
            (V{"inbound", "domain", "domain_suffix", "port", "invert", "outbound", "zz_unknown", "aa_unknown"}));
  EXPECT_EQ(keys(rules[2]), (V{"ip_cidr", "action", "method", "no_drop"}));
  EXPECT_EQ(keys(rules[3]), (V{"type", "mode", "rules", "invert", "action", "outbound"}));
  EXPECT_EQ(keys(rules[4]), (V{"domain", "action", "server", "client_subnet"}));

  const Json& ob = out["outbounds"];
  EXPECT_EQ(keys(ob[0]),
            (V{"type", "tag", "detour", "server", "server_port", "version", "username", "password"}));
  EXPECT_EQ(keys(ob[1]), (V{"type", "tag", "bind_interface", "routing_mark", "domain_resolver"}));
  EXPECT_EQ(keys(ob[1]["domain_resolver"]), (V{"server", "strategy"}));
  EXPECT_EQ(keys(ob[2]), (V{"type", "tag"}));
  EXPECT_EQ(keys(ob[3]), (V{"type", "tag", "server", "server_port", "username", "password", "tls", "path"}));

  const Json& ib = out["inbounds"];
  EXPECT_EQ(keys(ib[0]), (V{"type", "tag", "listen", "listen_port", "users", "set_system_proxy"}));
  EXPECT_EQ(keys(ib[0]["users"][0]), (V{"username", "password"}));
  EXPECT_EQ(keys(ib[1]), (V{"type", "tag", "listen", "listen_port", "udp_timeout"}));

  EXPECT_EQ(keys(out["endpoints"][0]),
            (V{"type", "tag", "detour", "state_directory", "auth_key", "ephemeral", "hostname"}));

  const Json& dns = out["dns"];
  EXPECT_EQ(keys(dns), (V{"servers", "rules", "final", "strategy"}));
  EXPECT_EQ(keys(dns["servers"][0]), (V{"type", "tag", "detour", "server", "server_port"}));
  EXPECT_EQ(keys(dns["rules"][0]), (V{"query_type", "domain", "action", "server"}));

  EXPECT_EQ(keys(out["experimental"]), (V{"cache_file", "clash_api"}));
  EXPECT_EQ(keys(out["experimental"]["cache_file"]), (V{"enabled", "path"}));
  EXPECT_EQ(keys(out["experimental"]["clash_api"]), (V{"external_controller", "secret"}));
}

TEST(FormatOrder, FixedPoint) {
  std::string once = format_config_text(Json::parse(kShuffled));
  EXPECT_EQ(format_config_text(Json::parse(once)), once);
}

// Recursively reverse the key order of every object.
Json reversed(const Json& v) {
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& x : v) out.push_back(reversed(x));
    return out;
  }
  if (!v.is_object()) return v;
  std::vector<std::string> ks = keys(v);
  Json out = Json::object();
  for (auto it = ks.rbegin(); it != ks.rend(); ++it) out[*it] = reversed(v.at(*it));
  return out;
}

TEST(FormatOrder, KeyOrderOfInputDoesNotMatter) {
  Json a = Json::parse(kShuffled);
  Json b = reversed(a);
  // Drop the unknown keys: their order is the input's by design.
  for (Json* j : {&a, &b}) {
    j->erase("zz_top_unknown");
    (*j)["route"]["rules"][1].erase("zz_unknown");
    (*j)["route"]["rules"][1].erase("aa_unknown");
  }
  ASSERT_NE(a.dump(), b.dump());
  EXPECT_EQ(format_config_text(a), format_config_text(b));
}

TEST(Format, CanonicalAndIdempotent) {
  Json in = Json::parse(R"({"route":{"rules":[{"domain":["a"],"invert":false,"port":0}]},"log":{"level":""},"inbounds":[]})");
  Json out = format_config(in);
  EXPECT_EQ(out.dump(), R"({"route":{"rules":[{"domain":"a"}]}})");
  EXPECT_EQ(format_config(out), out);
}

// A one-element list of a badoption.Listable field is written as its element, as `sing-box format`
// 1.13.19 writes it; a plain list ([]netip.Prefix) stays a list; the schema's types decide.
TEST(FormatListable, AsSingBoxWritesThem) {
  auto out = format_config(Json::parse(R"({
    "outbounds": [{"type": "direct", "tag": "d", "network_type": ["wifi"], "fallback_network_type": ["cellular"]}],
    "route": {"default_network_type": ["wifi"], "rules": [{"default_interface_address": ["10.0.0.0/8"], "outbound": "d"}]},
    "dns": {"rules": [{"domain": ["a.test"], "action": "predefined", "answer": ["a.test. IN A 1.2.3.4"]}]},
    "endpoints": [{"type": "tailscale", "tag": "ts", "advertise_routes": ["10.1.0.0/16"],
                   "relay_server_static_endpoints": ["1.2.3.4:5"]}]})"));
  EXPECT_EQ(out["outbounds"][0]["network_type"], "wifi");
  EXPECT_EQ(out["outbounds"][0]["fallback_network_type"], "cellular");
  EXPECT_EQ(out["route"]["default_network_type"], "wifi");
  EXPECT_EQ(out["route"]["rules"][0]["default_interface_address"], "10.0.0.0/8");
  EXPECT_EQ(out["dns"]["rules"][0]["answer"], "a.test. IN A 1.2.3.4");
  EXPECT_EQ(out["endpoints"][0]["advertise_routes"], Json::array({"10.1.0.0/16"}));
  EXPECT_EQ(out["endpoints"][0]["relay_server_static_endpoints"], Json::array({"1.2.3.4:5"}));
}

}  // namespace
}  // namespace tb::route
