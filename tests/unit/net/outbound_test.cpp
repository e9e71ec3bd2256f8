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
