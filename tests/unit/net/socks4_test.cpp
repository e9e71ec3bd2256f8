// SOCKS4 and SOCKS4a request parsing and replies (the SOCKS4 protocol and its 4A extension).
#include <gtest/gtest.h>

#include "libcommon/net/socks4.hpp"

using namespace tb::net;

namespace {
Bytes B(const std::vector<uint8_t>& v) { return Bytes(v.data(), v.size()); }
}  // namespace

TEST(Socks4, PlainAnd4a) {
  // SOCKS4 CONNECT 93.184.216.34:80 user "bob"
  std::vector<uint8_t> r4{0x04, 0x01, 0x00, 0x50, 93, 184, 216, 34, 'b', 'o', 'b', 0x00};
  auto a = socks4::parse_request(B(r4));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value.destination, (HostPort{"93.184.216.34", 80}));
  EXPECT_EQ(a.value.user_id, "bob");
  EXPECT_FALSE(a.value.socks4a);
  // SOCKS4a: DSTIP 0.0.0.1, empty user, host "example.com"
  std::vector<uint8_t> r4a{0x04, 0x01, 0x01, 0xBB, 0, 0, 0, 1, 0x00, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x00};
  auto b = socks4::parse_request(B(r4a));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b.value.socks4a);
  EXPECT_EQ(b.value.destination, (HostPort{"example.com", 443}));
  EXPECT_EQ(b.used, r4a.size());
  std::vector<uint8_t> cut(r4a.begin(), r4a.end() - 1);
  EXPECT_EQ(socks4::parse_request(B(cut)).status, ParseStatus::kNeedMore);
  EXPECT_EQ(socks4::reply(socks4::kGranted), (Buffer{0, 90, 0, 0, 0, 0, 0, 0}));
}
