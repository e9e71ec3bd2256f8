#include "libcommon/tailscale/transport.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "libcommon/tailscale/transport_internal.hpp"
#include "tests/unit/tailscale/transport_servers.hpp"

namespace tb::ts {
namespace {

using namespace tb::test;

// ---- detail: the pure pieces ----

TEST(LineSplitter, SplitsAndKeepsTheTail) {
  detail::LineSplitter s;
  std::vector<std::string> got;
  auto collect = [&](std::string_view l) {
    got.emplace_back(l);
    return true;
  };
  EXPECT_TRUE(s.feed("a", collect));
  EXPECT_TRUE(s.feed("b\n\nc", collect));
  EXPECT_EQ(s.pending(), "c");
  EXPECT_TRUE(s.feed("\n", collect));
  EXPECT_EQ(got, (std::vector<std::string>{"ab", "", "c"}));
  EXPECT_EQ(s.pending(), "");
}

TEST(LineSplitter, StopsWhenAsked) {
  detail::LineSplitter s;
  int n = 0;
  EXPECT_FALSE(s.feed("1\n2\n3\n", [&](std::string_view) { return ++n < 2; }));
  EXPECT_EQ(n, 2);
}

TEST(TransportDetail, FormatDuration) {
  EXPECT_EQ(detail::format_duration(5000ms), "5s");
  EXPECT_EQ(detail::format_duration(250ms), "250ms");
  EXPECT_EQ(detail::format_duration(1500ms), "1.5s");
  EXPECT_EQ(detail::format_duration(1050ms), "1.05s");
}

TEST(TransportDetail, FormatRequest) {
  auto r = detail::format_request("POST", "/localapi/v0/start", {{"Host", "local-tailscaled.sock"}}, "{}");
  EXPECT_EQ(r, "POST /localapi/v0/start HTTP/1.1\r\nHost: local-tailscaled.sock\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(detail::format_request("GET", "/", {}, ""), "GET / HTTP/1.1\r\n\r\n");
}

TEST(TransportDetail, ParseResponseHead) {
  auto h = detail::parse_response_head(
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\nTailscale-Version:  1.94.2 \r\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 403);
  EXPECT_EQ(h->headers["content-type"], "text/plain");
  EXPECT_EQ(h->headers["x-a"], "1, 2");
  EXPECT_EQ(h->headers["tailscale-version"], "1.94.2");
  EXPECT_TRUE(detail::parse_response_head("HTTP/1.0 204\n"));
  EXPECT_FALSE(detail::parse_response_head("SSH-2.0-OpenSSH_9.2"));
  EXPECT_FALSE(detail::parse_response_head("HTTP/1.1 2000 OK"));
  EXPECT_FALSE(detail::parse_response_head("HTTP/1.1 200 OK\r\nno colon here"));
  EXPECT_FALSE(detail::parse_response_head(""));
}

TEST(TransportDetail, ChunkedDecoderByteByByte) {
  std::string wire = "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  detail::ChunkedDecoder d;
  std::string body;
  auto sink = [&](std::string_view s) {
    body.append(s);
    return true;
  };
  size_t i = 0;
  auto st = detail::ChunkedDecoder::Status::kMore;
  size_t consumed = 0;
  for (; i < wire.size() && st == detail::ChunkedDecoder::Status::kMore; ++i) {
    st = d.feed(std::string_view(wire).substr(i, 1), sink, &consumed);
  }
  EXPECT_EQ(st, detail::ChunkedDecoder::Status::kDone);
  EXPECT_EQ(body, "Wikipedia in\r\n\r\nchunks.");
  EXPECT_EQ(wire.substr(i), "NEXT");

  detail::ChunkedDecoder whole;
  body.clear();
  EXPECT_EQ(whole.feed(wire, sink, &consumed), detail::ChunkedDecoder::Status::kDone);
  EXPECT_EQ(wire.substr(consumed), "NEXT");

  detail::ChunkedDecoder bad;
  EXPECT_EQ(bad.feed("zz\r\n", sink), detail::ChunkedDecoder::Status::kError);
  detail::ChunkedDecoder bad_end;
  EXPECT_EQ(bad_end.feed("1\r\nab\r\n", sink), detail::ChunkedDecoder::Status::kError);
}

// The framing the Windows pipe transport uses, over a socketpair.
class FdStream final : public detail::ByteStream {
 public:
  explicit FdStream(int fd) : fd_(fd) {}
  core::Result<void> write_all(std::string_view data) override {
    if (!tb::test::write_all(fd_, data)) return core::fail(ExitCode::kProtocol, "write failed");
    return {};
  }
  core::Result<size_t> read_some(char* buf, size_t n) override {
    ssize_t r = ::recv(fd_, buf, n, 0);
    if (r < 0) return core::fail(ExitCode::kProtocol, "read failed");
    return static_cast<size_t>(r);
  }

 private:
  int fd_;
};

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
  ~SocketPair() {
    for (int fd : fds) ::close(fd);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

core::Result<detail::Exchange> exchange_with(const std::string& reply, std::string* body, std::string* request,
                                             std::string_view method = "GET") {
  SocketPair sp;
  std::thread server([&] {
    *request = read_request(sp.fds[1]);
    write_all(sp.fds[1], reply);
    ::shutdown(sp.fds[1], SHUT_WR);
  });
  FdStream s(sp.fds[0]);
  auto ex = detail::http_exchange(s, method, detail::format_request(method, "/localapi/v0/status", {{"Host", "h"}}, ""),
                                  nullptr, [&](std::string_view d) {
                                    body->append(d);
                                    return true;
                                  });
  server.join();
  return ex;
}

TEST(HttpExchange, ContentLengthChunkedAndEof) {
  std::string body, req;
  auto ex = exchange_with("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &body, &req);
  ASSERT_TRUE(ex) << ex.error().line();
  EXPECT_EQ(ex->head.status, 200);
  EXPECT_TRUE(ex->keep_alive);
  EXPECT_EQ(body, "hello");
  EXPECT_EQ(req, "GET /localapi/v0/status HTTP/1.1\r\nHost: h\r\n\r\n");

  body.clear();
  ex = exchange_with(std::string(kChunkedHead) + chunk("a\nb") + chunk("c\n") + "0\r\n\r\n", &body, &req);
  ASSERT_TRUE(ex) << ex.error().line();
  EXPECT_EQ(body, "a\nbc\n");

  body.clear();
  ex = exchange_with("HTTP/1.1 500 Internal\r\nConnection: close\r\n\r\nboom\n", &body, &req);
  ASSERT_TRUE(ex) << ex.error().line();
  EXPECT_EQ(ex->head.status, 500);
  EXPECT_FALSE(ex->keep_alive);
  EXPECT_EQ(body, "boom\n");

  body.clear();
  ex = exchange_with("HTTP/1.1 204 No Content\r\n\r\n", &body, &req, "POST");
  ASSERT_TRUE(ex) << ex.error().line();
  EXPECT_EQ(ex->head.status, 204);
  EXPECT_EQ(body, "");
}

TEST(HttpExchange, BrokenRepliesAreProtocolErrors) {
  std::string body, req;
  for (const std::string& reply : {std::string(""), std::string("HTTP/1.1 200 OK\r\nContent-Len"),
                                   std::string("garbage\r\n\r\n"),
                                   std::string("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
                                   std::string(kChunkedHead) + "5\r\nab"}) {
    SCOPED_TRACE(reply);
    auto ex = exchange_with(reply, &body, &req);
    ASSERT_FALSE(ex);
    EXPECT_EQ(ex.error().code, ExitCode::kProtocol);
  }
}

}  // namespace
}  // namespace tb::ts
