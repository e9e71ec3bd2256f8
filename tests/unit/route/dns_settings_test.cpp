// The DNS settings sb-relay's DNS router is built from (dns_settings.hpp), read from a compiled
// config: the cache keys (dns.disable_cache, disable_expire, independent_cache, cache_capacity, at
// least 1024 as in sing-box's dns/client.go), a domain_resolver's disable_cache, an https server's
// headers, and the DNS rule actions' disable_cache (route-options), method and no_drop (reject).
// The cache itself is tests/unit/net/dns_cache_test.cpp; the relay end to end tests/cli/sb-relay-dns.sh.

#include "libcommon/route/dns_settings.hpp"

#include <gtest/gtest.h>

#include "libcommon/route/config.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

std::shared_ptr<const DnsSettings> settings(const char* text) {
  auto c = compile_config(Json::parse(text));
  for (const auto& d : c->diagnostics) EXPECT_NE(d.severity, Severity::kError) << d.path << ": " << d.message;
  return dns_settings(*c);
}

TEST(DnsSettings, CacheKeys) {
  auto s = settings(R"({"dns":{"servers":[{"type":"udp","tag":"u","server":"127.0.0.1"}],
    "disable_cache":true,"disable_expire":true,"independent_cache":true,"cache_capacity":4096}})");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->disable_cache);
  EXPECT_TRUE(s->disable_expire);
  EXPECT_TRUE(s->independent_cache);
  EXPECT_EQ(s->cache_capacity, 4096u);
  auto small = settings(R"({"dns":{"servers":[{"type":"udp","tag":"u","server":"127.0.0.1"}],"cache_capacity":10}})");
  EXPECT_EQ(small->cache_capacity, 1024u);
  EXPECT_FALSE(small->disable_cache);
  EXPECT_FALSE(small->independent_cache);
}

TEST(DnsSettings, ResolverDisableCacheAndHttpsHeaders) {
  auto s = settings(R"({"dns":{"servers":[{"type":"https","tag":"h","server":"127.0.0.1",
      "headers":{"X-Test":"1"}}]},
    "outbounds":[{"type":"direct","tag":"d","domain_resolver":{"server":"h","disable_cache":true}}],
    "route":{"default_domain_resolver":{"server":"h","strategy":"ipv4_only"}}})");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->servers.size(), 1u);
  ASSERT_EQ(s->servers[0].headers.size(), 1u);
  EXPECT_EQ(s->servers[0].headers[0].first, "X-Test");
  EXPECT_EQ(s->servers[0].headers[0].second, "1");
  auto d = s->ask_for_outbound("d");
  EXPECT_EQ(d.server, "h");
  EXPECT_TRUE(d.disable_cache);
  ASSERT_TRUE(s->default_resolver);
  EXPECT_FALSE(s->default_resolver->disable_cache);
  EXPECT_EQ(s->default_resolver->strategy, "ipv4_only");
}

TEST(DnsSettings, RuleActions) {
  auto s = settings(R"({"dns":{"servers":[{"type":"udp","tag":"u","server":"127.0.0.1"}],"rules":[
    {"domain":["a.test"],"action":"route-options","disable_cache":true},
    {"domain":["b.test"],"action":"reject","method":"drop"},
    {"domain":["c.test"],"action":"reject","no_drop":true}]}})");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->rules.size(), 3u);
  EXPECT_EQ(s->rules[0].type, DnsActionType::kRouteOptions);
  EXPECT_TRUE(s->rules[0].ask.disable_cache);
  EXPECT_EQ(s->rules[1].type, DnsActionType::kReject);
  EXPECT_EQ(s->rules[1].reject_method, "drop");
  EXPECT_EQ(s->rules[2].reject_method, "default");
  // no_drop: tailbox never turns repeated rejects into drops, so no_drop's "never" always holds;
  // with method drop it is sing-box's parse error.
  auto c = compile_config(Json::parse(R"({"dns":{"servers":[{"type":"udp","tag":"u","server":"127.0.0.1"}],
    "rules":[{"domain":["b.test"],"action":"reject","method":"drop","no_drop":true}]}})"));
  bool refused = false;
  for (const auto& d : c->diagnostics)
    refused |= d.severity == Severity::kError && d.path == "dns.rules[0].no_drop";
  EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace tb::route
