// Addresses and prefixes (ip.hpp): sing-box's "public", prefix parsing, host:port splitting.

#include <gtest/gtest.h>

#include "libcommon/route/ip.hpp"

namespace tb::route {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(Ip, PublicFollowsGo) {
  EXPECT_TRUE(is_public(ip("100.64.0.1")));  // CGNAT / tailnet IPv4 is public
  EXPECT_FALSE(is_public(ip("fd7a:115c:a1e0::1")));
  EXPECT_FALSE(is_public(ip("10.1.2.3")));
  EXPECT_FALSE(is_public(ip("172.31.255.255")));
  EXPECT_TRUE(is_public(ip("172.32.0.0")));
  EXPECT_FALSE(is_public(ip("ff01::1")));
  EXPECT_FALSE(is_public(ip("::")));
  EXPECT_TRUE(is_public(ip("255.255.255.255")));
  EXPECT_TRUE(is_public(ip("2001:db8::1")));
  EXPECT_TRUE(IpAddr::parse("::ffff:10.0.0.1")->v4);
  EXPECT_FALSE(IpAddr::parse("::ffff:10.0.0.1", IpAddr::Mapped::kKeep)->v4);
}

// A config's prefixes parse as Go's netip.ParsePrefix: an IPv4-mapped prefix is IPv6 and holds no
// (unmapped) IPv4 address; sing-box check accepts "::ffff:0:0/96".
TEST(Ip, MappedPrefixesStayIpv6) {
  auto p = Prefix::parse("::ffff:0:0/96");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "::ffff:0.0.0.0/96");
  EXPECT_FALSE(p->contains(ip("10.0.0.1")));
  EXPECT_EQ(Prefix::parse("::ffff:10.0.0.1")->bits, 128);
}

TEST(Ip, Prefixes) {
  EXPECT_EQ(Prefix::parse("192.168.1.1/24")->str(), "192.168.1.0/24");
  EXPECT_EQ(Prefix::parse("10.0.0.1")->bits, 32);
  EXPECT_FALSE(Prefix::parse("10.0.0.0/33"));
  EXPECT_FALSE(Prefix::parse("10.0.0.0/"));
  EXPECT_FALSE(Prefix::parse("fd7a::/129"));
  EXPECT_TRUE(Prefix::parse("fd7a:115c:a1e0::/48")->contains(ip("fd7a:115c:a1e0::53")));
  EXPECT_FALSE(Prefix::parse("fd7a:115c:a1e0::/48")->contains(ip("100.64.0.1")));
  EXPECT_EQ(split_host_port("[::1]:80")->first, "::1");
  EXPECT_FALSE(split_host_port("::1:80"));
  EXPECT_FALSE(split_host_port("a.test:65536"));
}

}  // namespace
}  // namespace tb::route
