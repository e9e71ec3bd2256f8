// Host:port parsing and DNS name normalisation.
#include <gtest/gtest.h>

#include "libcommon/net/address.hpp"

using namespace tb::net;

TEST(Address, HostPort) {
  EXPECT_EQ(parse_host_port("[::1]:8080"), (HostPort{"::1", 8080}));
  EXPECT_EQ(parse_host_port("example.com", 80), (HostPort{"example.com", 80}));
  EXPECT_FALSE(parse_host_port("example.com"));
  EXPECT_FALSE(parse_host_port("example.com:99999"));
  EXPECT_EQ((HostPort{"::1", 80}).str(), "[::1]:80");
  EXPECT_EQ(normalize_name("NAS.Tail1234.ts.net."), "nas.tail1234.ts.net");
}
