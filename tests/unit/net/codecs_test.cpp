// Pure codecs of libcommon/net with RFC byte vectors (RFC 1928, 1929, SOCKS4/4a, HTTP/1.1, DNS).
#include <gtest/gtest.h>

#include "libcommon/net/address.hpp"
#include "libcommon/net/dns.hpp"
#include "libcommon/net/http_proxy.hpp"
#include "libcommon/net/outbound.hpp"
#include "libcommon/net/socks4.hpp"
#include "libcommon/net/socks5.hpp"

using namespace tb::net;

namespace {
Bytes B(const std::vector<uint8_t>& v) { return Bytes(v.data(), v.size()); }
Bytes S(std::string_view s) { return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
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

TEST(Http, ConnectAndForward) {
  auto c = http::parse_request_head(S("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nextra"));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c.value.connect);
  EXPECT_EQ(c.value.destination, (HostPort{"example.com", 443}));
  EXPECT_EQ(c.used, 59u);
  auto f = http::parse_request_head(
      S("GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nProxy-Connection: keep-alive\r\n"
        "Connection: x-hop\r\nX-Hop: 1\r\nProxy-Authorization: Basic YWxpY2U6cHdk\r\nAccept: */*\r\n\r\n"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value.destination, (HostPort{"example.com", 80}));
  EXPECT_EQ(f.value.path, "/a?b=1");
  EXPECT_TRUE(http::wants_keep_alive(f.value));
  auto auth = http::parse_basic_auth(*f.value.find("proxy-authorization"));
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->first, "alice");
  EXPECT_EQ(auth->second, "pwd");
  EXPECT_EQ(http::origin_request(f.value),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(http::parse_request_head(S("GET /local HTTP/1.1\r\n\r\n")).status, ParseStatus::kBad);
  EXPECT_EQ(http::parse_request_head(S("GET http://x/ HTTP/1.1\r\nHost: x\r\n")).status, ParseStatus::kNeedMore);
  std::string huge = "GET http://x/ HTTP/1.1\r\nX: " + std::string(http::kMaxHead, 'a');
  auto big = http::parse_request_head(S(huge));
  EXPECT_EQ(big.status, ParseStatus::kBad);
  EXPECT_EQ(big.error.substr(0, 3), "431");
  EXPECT_EQ(http::base64_encode("alice:pwd"), "YWxpY2U6cHdk");
}

TEST(Http, ResponseFraming) {
  auto r = http::parse_response_head(S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value.status, 200);
  EXPECT_TRUE(http::response_self_delimited(r.value, false));
  EXPECT_EQ(http::response_head_text(r.value, true), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n");
  auto close = http::parse_response_head(S("HTTP/1.0 200 OK\r\nServer: x\r\n\r\n"));
  ASSERT_TRUE(close.ok());
  EXPECT_FALSE(http::response_self_delimited(close.value, false));
  EXPECT_TRUE(http::response_self_delimited(close.value, true));
}

TEST(Address, HostPort) {
  EXPECT_EQ(parse_host_port("[::1]:8080"), (HostPort{"::1", 8080}));
  EXPECT_EQ(parse_host_port("example.com", 80), (HostPort{"example.com", 80}));
  EXPECT_FALSE(parse_host_port("example.com"));
  EXPECT_FALSE(parse_host_port("example.com:99999"));
  EXPECT_EQ((HostPort{"::1", 80}).str(), "[::1]:80");
  EXPECT_EQ(normalize_name("NAS.Tail1234.ts.net."), "nas.tail1234.ts.net");
}

TEST(Outbound, DialFieldsAndDurations) {
  EXPECT_EQ(parse_duration("1m30s")->count(), 90000);
  EXPECT_EQ(parse_duration("300ms")->count(), 300);
  EXPECT_FALSE(parse_duration("5x"));
  EXPECT_EQ(parse_mark(tb::core::Json("0x80000")), 0x80000u);
  auto cfg = tb::core::Json::parse(R"({"outbounds":[{"type":"direct","tag":"d","routing_mark":"0x80000","connect_timeout":"2s"},
    {"type":"socks","tag":"s","server":"127.0.0.1","server_port":1081,"username":"u","password":"p"}],
    "endpoints":[{"type":"tailscale","tag":"ts","detour":"s"}]})");
  auto o = outbounds_from_config(cfg);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("d").dial.routing_mark, 0x80000u);
  EXPECT_EQ(o->at("d").dial.connect_timeout.count(), 2000);
  EXPECT_EQ(o->at("s").server, (HostPort{"127.0.0.1", 1081}));
  EXPECT_EQ(o->at("ts").detour, "s");
}

TEST(Dns, QueryAndAnswer) {
  auto q = dns::query(0x1234, "nas.ts.net", dns::kTypeA);
  std::vector<uint8_t> want{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'n', 'a', 's', 2, 't', 's', 3, 'n', 'e', 't', 0, 0, 1, 0, 1};
  EXPECT_EQ(q, Buffer(want.begin(), want.end()));
  // The response: same question, one A answer with a compressed name pointer.
  Buffer resp = q;
  resp[2] = 0x81;
  resp[3] = 0x80;
  resp[7] = 1;
  Buffer rr{0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 100, 101, 1, 2};
  resp.insert(resp.end(), rr.begin(), rr.end());
  auto a = dns::parse_response(Bytes(resp.data(), resp.size()));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value.id, 0x1234);
  EXPECT_EQ(a.value.addresses, (std::vector<std::string>{"100.101.1.2"}));
}
