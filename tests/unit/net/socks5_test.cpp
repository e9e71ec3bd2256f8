// SOCKS5 codec (RFC 1928, RFC 1929 username/password) with the RFCs' byte layouts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libcommon/net/socks5.hpp"

using namespace tb::net;

namespace {
Bytes B(const std::vector<uint8_t>& v) { return Bytes(v.data(), v.size()); }
}  // namespace

TEST(Socks5, Greeting) {
  std::vector<uint8_t> g{0x05, 0x02, 0x00, 0x02};
  auto p = socks5::parse_greeting(B(g));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.used, 4u);
  EXPECT_EQ(p.value.methods, (std::vector<uint8_t>{0x00, 0x02}));
  std::vector<uint8_t> part{0x05, 0x02, 0x00};
  EXPECT_EQ(socks5::parse_greeting(B(part)).status, ParseStatus::kNeedMore);
  std::vector<uint8_t> v4{0x04, 0x01};
  EXPECT_EQ(socks5::parse_greeting(B(v4)).status, ParseStatus::kBad);
  EXPECT_EQ(socks5::method_reply(0xFF), (Buffer{0x05, 0xFF}));
}

TEST(Socks5, UserPassRfc1929) {
  std::vector<uint8_t> m{0x01, 0x05, 'a', 'l', 'i', 'c', 'e', 0x03, 'p', 'w', 'd'};
  auto p = socks5::parse_user_pass(B(m));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value.user, "alice");
  EXPECT_EQ(p.value.password, "pwd");
  EXPECT_EQ(socks5::user_pass_request("alice", "pwd"), Buffer(m.begin(), m.end()));
  EXPECT_EQ(socks5::user_pass_reply(false), (Buffer{0x01, 0x01}));
  std::vector<uint8_t> cut(m.begin(), m.begin() + 8);
  EXPECT_EQ(socks5::parse_user_pass(B(cut)).status, ParseStatus::kNeedMore);
}

TEST(Socks5, RequestAddressTypes) {
  // CONNECT 127.0.0.1:80
  std::vector<uint8_t> v4{0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x00, 0x50};
  auto a = socks5::parse_request(B(v4));
  ASSERT_TRUE(a.parsed.ok());
  EXPECT_EQ(a.parsed.value.destination, (HostPort{"127.0.0.1", 80}));
  // CONNECT [::1]:443
  std::vector<uint8_t> v6{0x05, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xBB};
  auto b = socks5::parse_request(B(v6));
  ASSERT_TRUE(b.parsed.ok());
  EXPECT_EQ(b.parsed.value.destination, (HostPort{"::1", 443}));
  // CONNECT example.com:443 (ATYP 3)
  std::vector<uint8_t> dn{0x05, 0x01, 0x00, 0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x01, 0xBB};
  auto c = socks5::parse_request(B(dn));
  ASSERT_TRUE(c.parsed.ok());
  EXPECT_EQ(c.parsed.value.destination, (HostPort{"example.com", 443}));
  EXPECT_EQ(c.parsed.used, dn.size());
  EXPECT_EQ(socks5::connect_request({"example.com", 443}), Buffer(dn.begin(), dn.end()));
  // Unknown ATYP → reply 8.
  std::vector<uint8_t> bad{0x05, 0x01, 0x00, 0x09, 1, 2};
  auto d = socks5::parse_request(B(bad));
  EXPECT_EQ(d.parsed.status, ParseStatus::kBad);
  EXPECT_EQ(d.bad_reply, socks5::Reply::kAddressTypeNotSupported);
}

TEST(Socks5, DomainWithControlCharacterOrSpaceIsBad) {
  // "a\r\nX: y" would become a header line where the name is written upstream (an HTTP proxy's
  // CONNECT, tailscaled's Local API dial request): refused at parse.
  for (std::string name : {std::string("a\r\nX: y"), std::string("a b"), std::string("a\x7f")}) {
    std::vector<uint8_t> req{0x05, 0x01, 0x00, 0x03, static_cast<uint8_t>(name.size())};
    req.insert(req.end(), name.begin(), name.end());
    req.insert(req.end(), {0x01, 0xBB});
    EXPECT_EQ(socks5::parse_request(B(req)).parsed.status, ParseStatus::kBad) << name;
  }
}

TEST(Socks5, ReplyAndUdpHeader) {
  EXPECT_EQ(socks5::reply(socks5::Reply::kNotAllowed), (Buffer{0x05, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
  auto r = socks5::reply(socks5::Reply::kSucceeded, {"10.0.0.1", 1080});
  EXPECT_EQ(r, (Buffer{0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38}));
  auto parsed = socks5::parse_reply(Bytes(r.data(), r.size()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value.bound, (HostPort{"10.0.0.1", 1080}));
  std::vector<uint8_t> dg{0x00, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x00, 0x35, 'h', 'i'};
  auto h = socks5::parse_udp_header(B(dg));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.used, 10u);
  EXPECT_EQ(h.value, (HostPort{"127.0.0.1", 53}));
  dg[2] = 1;  // fragment
  EXPECT_EQ(socks5::parse_udp_header(B(dg)).status, ParseStatus::kBad);
}
