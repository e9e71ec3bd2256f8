// Compiling the config (config.hpp): every error with its JSON path, the default outbound, traps;
// the typed config: dial fields, marks and the endpoint read once, with their JSON paths; the
// drifts between readers that the schema and the typed config removed.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "libcommon/route/config.hpp"
#include "libcommon/route/json_read.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

std::string errors(const RouteConfig& c) {
  std::string out;
  for (const auto& d : c.diagnostics)
    if (d.severity == Severity::kError) out += d.path + ": " + d.message + "\n";
  return out;
}

TEST(ConfigMark, MalformedStringFailsAtCheckWithItsPath) {
  auto c = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","routing_mark":"0xZZ"}],
                                          "route":{"default_mark":"eighty"}})"));
  EXPECT_EQ(errors(*c),
            "outbounds[0].routing_mark: strconv.ParseUint: parsing \"0xZZ\": invalid syntax\n"
            "route.default_mark: strconv.ParseUint: parsing \"eighty\": invalid syntax\n");
}

TEST(ConfigMark, OutOfRangeAndWrongTypes) {
  auto c = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"a","routing_mark":"0x100000000"},
    {"type":"direct","tag":"b","routing_mark":4294967296},{"type":"direct","tag":"c","routing_mark":true}]})"));
  EXPECT_EQ(errors(*c),
            "outbounds[0].routing_mark: strconv.ParseUint: parsing \"0x100000000\": value out of range\n"
            "outbounds[1].routing_mark: json: cannot unmarshal number 4294967296 into Go value of type uint32\n"
            "outbounds[2].routing_mark: json: cannot unmarshal bool into Go value of type uint32\n");
}

TEST(ConfigMark, ParsesAsGoParseUintBaseZero) {
  EXPECT_EQ(*parse_fwmark("524288"), 524288u);
  EXPECT_EQ(*parse_fwmark("0x80000"), 0x80000u);
  EXPECT_EQ(*parse_fwmark("0X1f"), 0x1fu);
  EXPECT_EQ(*parse_fwmark("0o17"), 15u);
  EXPECT_EQ(*parse_fwmark("017"), 15u);
  EXPECT_EQ(*parse_fwmark("0b101"), 5u);
  EXPECT_EQ(*parse_fwmark("0"), 0u);
  for (const char* bad : {"", "0x", "08", "-1", "+1", "1 ", "abc"}) EXPECT_FALSE(parse_fwmark(bad)) << bad;
}

// sing-box dials SOCKS4/4a upstreams; sb-relay cannot, so check refuses them instead of every
// connection failing later.
TEST(ConfigDial, Socks4UpstreamIsRefused) {
  for (const char* v : {"4", "4a"}) {
    auto c = compile_config(Json::parse(std::string(R"({"outbounds":[{"type":"socks","tag":"s","server":"h",)") +
                                        R"("server_port":1080,"version":")" + v + R"("}]})"));
    EXPECT_NE(errors(*c).find("outbounds[0].version"), std::string::npos) << errors(*c);
    EXPECT_NE(errors(*c).find("is not supported by tailbox"), std::string::npos) << errors(*c);
  }
}

TEST(ConfigDial, TypedForEveryDialer) {
  auto c = compile_config(Json::parse(R"({
    "outbounds":[{"type":"direct","tag":"d","routing_mark":"0x10","bind_interface":"eth0","connect_timeout":"1.5s",
                  "inet4_bind_address":"10.0.0.1"},
                 {"type":"socks","tag":"s","server":"h","server_port":1080,"version":"5","username":"u","password":"p",
                  "connect_timeout":"0s"}],
    "endpoints":[{"type":"tailscale","tag":"ts","detour":"s","relay_server_port":41641,
                  "relay_server_static_endpoints":["1.2.3.4:41641"]}],
    "route":{"default_mark":255}})"));
  ASSERT_EQ(errors(*c), "");
  const auto* d = c->find_outbound("d");
  EXPECT_EQ(d->dial.routing_mark, 0x10u);
  EXPECT_EQ(d->dial.bind_interface, "eth0");
  EXPECT_EQ(d->dial.inet4_bind_address, "10.0.0.1");
  EXPECT_EQ(d->dial.connect_timeout.count(), 1500);
  const auto* s = c->find_outbound("s");
  EXPECT_EQ(s->dial.routing_mark, 255u);  // route.default_mark
  EXPECT_EQ(s->dial.connect_timeout.count(), 5000);  // 0 is sing-box's default
  EXPECT_EQ(s->server, "h");
  EXPECT_EQ(s->server_port, 1080);
  EXPECT_EQ(s->socks_version, "5");
  EXPECT_EQ(s->username, "u");
  EXPECT_EQ(c->find_outbound("ts")->dial.detour, "s");
  const auto* e = c->find_endpoint("ts");
  EXPECT_EQ(e->relay_server_port, 41641);
  EXPECT_EQ(e->relay_server_static_endpoints, std::vector<std::string>{"1.2.3.4:41641"});
}

// sing-box 1.13 has the three keep-alive fields on every dialer, the tailscale endpoint included,
// and no ssh_server (option/tailscale.go).
TEST(ConfigEndpoint, KeepAliveAcceptedSshServerUnknown) {
  auto ok = compile_config(Json::parse(R"({"endpoints":[{"type":"tailscale","disable_tcp_keep_alive":false,
    "tcp_keep_alive":"5m","tcp_keep_alive_interval":"75s"}]})"));
  EXPECT_EQ(errors(*ok), "");
  auto bad = compile_config(Json::parse(R"({"endpoints":[{"type":"tailscale","tcp_keep_alive":"5x","ssh_server":true}]})"));
  EXPECT_EQ(errors(*bad),
            "endpoints[0]: json: unknown field \"ssh_server\"\n"
            "endpoints[0].tcp_keep_alive: time: invalid duration \"5x\"\n");
}

TEST(Config, EveryErrorWithItsPath) {
  auto c = compile_config(Json::parse(R"({
    "inbounds": [{"type": "tun", "tag": "t"}, {"type": "mixed", "listen_port": "x"}],
    "outbounds": [{"type": "vless", "tag": "v"}, {"type": "direct", "tag": "d"}],
    "route": {"rules": [{"domain": "a", "outbound": "d"}, {"port": [80, "x"], "outbound": "d"}, {"domain_regex": "(", "outbound": "d"}]}
  })"));
  EXPECT_FALSE(c->ok());
  std::vector<std::string> paths;
  for (const auto& d : c->diagnostics)
    if (d.severity == Severity::kError) paths.push_back(d.path);
  for (const char* want : {"inbounds[0]", "inbounds[1].listen_port", "outbounds[0]", "route.rules[1].port[1]",
                           "route.rules[2].domain_regex"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), want), paths.end()) << want;
  EXPECT_EQ(c->rules.size(), 1u);  // the valid rule is still compiled
}

TEST(Config, DefaultOutbound) {
  EXPECT_EQ(compile_config(Json::object())->final_outbound, "direct");
  EXPECT_EQ(compile_config(Json::object())->final_from, "implicit_direct");
  auto c = compile_config(Json::parse(R"({"endpoints":[{"type":"tailscale","tag":"ts"}],"outbounds":[{"type":"block"},{"type":"direct","tag":"d"}]})"));
  EXPECT_EQ(c->final_outbound, "0");  // untagged outbound: its index; endpoints never default
}

TEST(Config, Traps) {
  auto c = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"}],
    "route":{"rules":[{"outbound":"d"},{"ip_is_private":true,"outbound":"d"}]}})"));
  ASSERT_TRUE(c->ok());
  bool unreachable = false, cgnat = false;
  for (const auto& d : c->diagnostics) {
    unreachable = unreachable || (d.kind == "trap" && d.path == "route.rules[1]");
    cgnat = cgnat || (d.kind == "trap" && d.message.find("100.64.0.0/10") != std::string::npos);
  }
  EXPECT_TRUE(unreachable);
  EXPECT_TRUE(cgnat);
}

}  // namespace
}  // namespace tb::route
