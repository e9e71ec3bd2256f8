// Outbounds as sb-relay dials them, from the compiled config (route/config.hpp reads the fields).
#include <gtest/gtest.h>

#include "libcommon/net/outbound.hpp"

using namespace tb::net;

TEST(Outbound, DialFieldsAndDurations) {
  auto cfg = tb::route::compile_config(tb::core::Json::parse(
      R"({"outbounds":[{"type":"direct","tag":"d","routing_mark":"0x80000","connect_timeout":"2s"},
    {"type":"socks","tag":"s","server":"127.0.0.1","server_port":1081,"username":"u","password":"p"}],
    "endpoints":[{"type":"tailscale","tag":"ts","detour":"s"}]})"));
  ASSERT_TRUE(cfg->ok());
  auto o = outbounds_from_config(*cfg);
  EXPECT_EQ(o.at("d").dial.routing_mark, 0x80000u);
  EXPECT_EQ(o.at("d").dial.connect_timeout.count(), 2000);
  EXPECT_EQ(o.at("s").server, (HostPort{"127.0.0.1", 1081}));
  EXPECT_EQ(o.at("s").username, "u");
  EXPECT_EQ(o.at("ts").detour, "s");
  EXPECT_FALSE(o.count("direct"));
}

TEST(Outbound, DefaultMarkAndImplicitDirect) {
  auto cfg = tb::route::compile_config(tb::core::Json::parse(
      R"({"endpoints":[{"type":"tailscale","tag":"ts","routing_mark":7}],"route":{"default_mark":"0x10"}})"));
  ASSERT_TRUE(cfg->ok());
  auto o = outbounds_from_config(*cfg);
  EXPECT_EQ(o.at("ts").dial.routing_mark, 7u);
  EXPECT_EQ(o.at("direct").dial.routing_mark, 0x10u);
  EXPECT_EQ(o.at("direct").dial.connect_timeout.count(), 5000);
}

TEST(Outbound, SocketFieldsAndRouteDefaults) {
  auto cfg = tb::route::compile_config(tb::core::Json::parse(
      R"({"outbounds":[{"type":"direct","tag":"d","protect_path":"/run/p.sock","netns":"alt","tcp_fast_open":true,
    "tcp_multi_path":true,"reuse_addr":true,"bind_address_no_port":true,"udp_fragment":false,
    "tcp_keep_alive":"30s","tcp_keep_alive_interval":"10s","fallback_delay":"100ms"},
    {"type":"direct","tag":"bound","bind_interface":"eth1"},
    {"type":"direct","tag":"addr","inet4_bind_address":"192.0.2.1"},
    {"type":"socks","tag":"s","server":"127.0.0.1","server_port":1081,"disable_tcp_keep_alive":true}],
    "inbounds":[{"type":"mixed","tag":"in","listen_port":1080,"netns":"alt","tcp_fast_open":true,"reuse_addr":true,
    "tcp_keep_alive":"1m","routing_mark":9,"bind_interface":"lo"}],
    "route":{"auto_detect_interface":true}})"));
  ASSERT_TRUE(cfg->ok());
  auto o = outbounds_from_config(*cfg);
  const auto& d = o.at("d").dial;
  EXPECT_EQ(d.protect_path, "/run/p.sock");
  EXPECT_EQ(d.netns, "alt");
  EXPECT_TRUE(d.tcp_fast_open && d.tcp_multi_path && d.reuse_addr && d.bind_address_no_port);
  EXPECT_EQ(d.udp_fragment, false);
  EXPECT_FALSE(d.disable_tcp_keep_alive);
  EXPECT_EQ(d.tcp_keep_alive.count(), 30000);
  EXPECT_EQ(d.tcp_keep_alive_interval.count(), 10000);
  EXPECT_EQ(d.fallback_delay.count(), 100);
  EXPECT_TRUE(d.auto_detect_interface);
  EXPECT_EQ(d.default_interface, "");
  // sing-box's disableDefaultBind: a bound interface or address turns the route's default off.
  EXPECT_FALSE(o.at("bound").dial.auto_detect_interface);
  EXPECT_FALSE(o.at("addr").dial.auto_detect_interface);
  // UDPFragmentDefault: true for direct only.
  EXPECT_EQ(o.at("bound").dial.udp_fragment, true);
  EXPECT_EQ(o.at("s").dial.udp_fragment, false);
  EXPECT_TRUE(o.at("s").dial.disable_tcp_keep_alive);
  EXPECT_TRUE(o.at("s").dial.auto_detect_interface);
  auto in = inbounds_from_config(*cfg);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].socket.netns, "alt");
  EXPECT_TRUE(in[0].socket.tcp_fast_open && in[0].socket.reuse_addr);
  EXPECT_EQ(in[0].socket.tcp_keep_alive.count(), 60000);
  EXPECT_EQ(in[0].socket.routing_mark, 9u);
  EXPECT_EQ(in[0].socket.bind_interface, "lo");
}

TEST(Outbound, DefaultInterfaceBeforeAutoDetect) {
  auto cfg = tb::route::compile_config(tb::core::Json::parse(
      R"({"route":{"auto_detect_interface":true,"default_interface":"wan0"}})"));
  ASSERT_TRUE(cfg->ok());
  const auto outs = outbounds_from_config(*cfg);
  const auto& d = outs.at("direct").dial;  // the implicit direct outbound
  EXPECT_EQ(d.default_interface, "wan0");
  EXPECT_FALSE(d.auto_detect_interface);
  EXPECT_EQ(d.udp_fragment, true);
}

TEST(Outbound, SocketFieldTypesAreChecked) {
  for (const char* bad : {R"({"outbounds":[{"type":"direct","tag":"d","tcp_fast_open":"yes"}]})",
                          R"({"outbounds":[{"type":"direct","tag":"d","protect_path":1}]})",
                          R"({"outbounds":[{"type":"direct","tag":"d","fallback_delay":"soon"}]})",
                          R"({"inbounds":[{"type":"mixed","tag":"i","reuse_addr":1}]})",
                          R"({"route":{"auto_detect_interface":"true"}})"}) {
    auto cfg = tb::route::compile_config(tb::core::Json::parse(bad));
    EXPECT_FALSE(cfg->ok()) << bad;
  }
}

TEST(Outbound, RouteInterfaceNotOnTheTailscaleEndpoint) {
  auto cfg = tb::route::compile_config(tb::core::Json::parse(
      R"({"endpoints":[{"type":"tailscale","tag":"ts"}],"outbounds":[{"type":"direct","tag":"d"}],
    "route":{"default_interface":"wan0"}})"));
  ASSERT_TRUE(cfg->ok());
  auto o = outbounds_from_config(*cfg);
  EXPECT_EQ(o.at("d").dial.default_interface, "wan0");
  EXPECT_EQ(o.at("ts").dial.default_interface, "");
  EXPECT_FALSE(o.at("ts").dial.auto_detect_interface);
}
