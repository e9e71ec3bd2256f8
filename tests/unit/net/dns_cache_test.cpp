// sb-relay's DNS cache (dns_cache.hpp) as sing-box v1.13.19's dns/client.go keeps answers: by
// question, or by question and server with independent_cache; for the answer's TTL, or for ever
// with disable_expire; at most the capacity, least recently used out first.

#include "libcommon/net/dns_cache.hpp"

#include <gtest/gtest.h>

namespace tb::net {
namespace {

using namespace std::chrono_literals;
constexpr uint16_t kA = 1, kAAAA = 28;

TEST(DnsCache, KeepsAnAnswerForItsTtl) {
  DnsCache c(1024, false, false);
  auto t0 = DnsCache::Clock::now();
  c.put("a.test", kA, "u", {{"127.0.0.2"}, "u"}, 60, t0);
  auto hit = c.get("a.test", kA, "t", t0 + 59s);  // shared: another server finds it
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->addresses, std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(hit->server, "u");
  EXPECT_FALSE(c.get("a.test", kAAAA, "u", t0));  // per question type
  EXPECT_FALSE(c.get("a.test", kA, "u", t0 + 60s));  // expired, and dropped
  EXPECT_EQ(c.size(), 0u);
}

TEST(DnsCache, IndependentCacheKeysByServer) {
  DnsCache c(1024, true, false);
  auto t0 = DnsCache::Clock::now();
  c.put("a.test", kA, "u", {{"127.0.0.2"}, "u"}, 60, t0);
  EXPECT_TRUE(c.get("a.test", kA, "u", t0));
  EXPECT_FALSE(c.get("a.test", kA, "t", t0));
}

TEST(DnsCache, DisableExpireKeepsForEverAndZeroTtlIsNotKept) {
  auto t0 = DnsCache::Clock::now();
  DnsCache expiring(1024, false, false);
  expiring.put("z.test", kA, "u", {{"127.0.0.2"}, "u"}, 0, t0);
  EXPECT_FALSE(expiring.get("z.test", kA, "u", t0));
  DnsCache forever(1024, false, true);
  forever.put("z.test", kA, "u", {{"127.0.0.2"}, "u"}, 0, t0);
  EXPECT_TRUE(forever.get("z.test", kA, "u", t0 + 24h));
}

TEST(DnsCache, DropsTheLeastRecentlyUsedBeyondCapacity) {
  DnsCache c(2, false, false);
  auto t0 = DnsCache::Clock::now();
  c.put("a.test", kA, "u", {{"127.0.0.1"}, "u"}, 60, t0);
  c.put("b.test", kA, "u", {{"127.0.0.2"}, "u"}, 60, t0);
  EXPECT_TRUE(c.get("a.test", kA, "u", t0));  // a is now the most recent
  c.put("c.test", kA, "u", {{"127.0.0.3"}, "u"}, 60, t0);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_TRUE(c.get("a.test", kA, "u", t0));
  EXPECT_FALSE(c.get("b.test", kA, "u", t0));
  EXPECT_TRUE(c.get("c.test", kA, "u", t0));
}

}  // namespace
}  // namespace tb::net
