// HTTP proxy heads (RFC 9110/9112): CONNECT, absolute-URI forwards, responses and body framing.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "libcommon/net/http_proxy.hpp"

using namespace tb::net;

namespace {
Bytes S(std::string_view s) { return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
}  // namespace

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
}

TEST(Http, ResponseFraming) {
  using Kind = http::ResponseBody::Kind;
  auto r = http::parse_response_head(S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value.status, 200);
  auto len = http::response_body(r.value, "GET");
  EXPECT_EQ(len.kind, Kind::kLength);
  EXPECT_EQ(len.length, 5u);
  EXPECT_EQ(http::response_head_text(r.value, true), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n");
  auto close = http::parse_response_head(S("HTTP/1.0 200 OK\r\nServer: x\r\n\r\n"));
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(http::response_body(close.value, "GET").kind, Kind::kUntilClose);
  EXPECT_EQ(http::response_body(close.value, "HEAD").kind, Kind::kNone);
}

// RFC 9112 §6.3, case by case, as the relay streams a forwarded answer.
TEST(Http, ResponseBodyEnds) {
  using Kind = http::ResponseBody::Kind;
  auto body = [](std::string_view head, std::string_view method = "GET") {
    auto r = http::parse_response_head(S(head));
    EXPECT_TRUE(r.ok()) << head;
    return http::response_body(r.value, method);
  };
  // No body: HEAD, 1xx, 204, 304 (whatever their headers say), a 2xx to CONNECT, length 0.
  EXPECT_EQ(body("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD").kind, Kind::kNone);
  EXPECT_EQ(body("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").kind, Kind::kNone);
  EXPECT_EQ(body("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n").kind, Kind::kNone);
  EXPECT_EQ(body("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n").kind, Kind::kNone);
  EXPECT_EQ(body("HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT").kind, Kind::kNone);
  EXPECT_EQ(body("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").kind, Kind::kNone);
  // A refused CONNECT has a body like any other answer.
  EXPECT_EQ(body("HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\n", "CONNECT").kind, Kind::kLength);
  // 101: the connection is the new protocol's, to the end.
  EXPECT_EQ(body("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").kind, Kind::kUntilClose);
  // Transfer-Encoding wins over Content-Length; chunked ends itself, other codings at close.
  EXPECT_EQ(body("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n").kind, Kind::kChunked);
  EXPECT_EQ(body("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 4\r\n\r\n").kind, Kind::kUntilClose);
  // Content-Length: one decimal number (surrounding blanks allowed), else until close.
  auto big = body("HTTP/1.1 200 OK\r\nContent-Length:  18446744073709551615 \r\n\r\n");
  EXPECT_EQ(big.kind, Kind::kLength);
  EXPECT_EQ(big.length, UINT64_MAX);
  for (std::string_view bad : {"5, 5", "-1", "+5", "0x10", "18446744073709551616", "5 5", ""})
    EXPECT_EQ(body("HTTP/1.1 200 OK\r\nContent-Length: " + std::string(bad) + "\r\n\r\n").kind, Kind::kUntilClose) << bad;
  EXPECT_EQ(body("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n").kind, Kind::kUntilClose);
}
