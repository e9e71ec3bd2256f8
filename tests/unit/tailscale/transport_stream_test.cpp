#include "libcommon/tailscale/transport.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/tailscale/transport_servers.hpp"

namespace tb::ts {
namespace {

using namespace tb::test;

// Streams path into lines until max_lines have arrived (then stops it) or the stream ends.
core::Result<int> stream_lines(Transport& t, std::string_view path, size_t max_lines, milliseconds timeout,
                               std::vector<std::string>& lines) {
  return t.stream(
      path,
      [&](std::string_view line) {
        lines.emplace_back(line);
        return lines.size() < max_lines;
      },
      timeout, timeout, nullptr);
}

// ---- streaming ----

TEST(TransportStream, LinesSplitAcrossChunksAreReassembled) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    write_all(fd, kChunkedHead);
    for (std::string_view piece : {"{\"Version\":\"1.9", "4.2\"}\n{\"State\":", "6}\n", "{\"Health\":{}}", "\n{\"x\":1}\n"}) {
      write_all(fd, chunk(piece));
      std::this_thread::sleep_for(10ms);
    }
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  std::vector<std::string> lines;
  auto r = stream_lines(*make_transport(unix_endpoint(dir / "ts.sock")), "/localapi/v0/watch-ipn-bus?mask=0", 3, 2s, lines);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(*r, 200);
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"Version\":\"1.94.2\"}", "{\"State\":6}", "{\"Health\":{}}"}));
}

TEST(TransportStream, ThreeMegabyteLineArrivesIntact) {
  SockDir dir;
  const std::string big = [] {
    std::string s = "{\"NetMap\":\"";
    s.append(3 * 1024 * 1024, 'x');
    return s + "\"}";
  }();
  RawServer server(dir / "ts.sock", [&](int fd) {
    read_request(fd);
    write_all(fd, kChunkedHead);
    std::string all = big + "\n{\"end\":true}\n";
    for (size_t off = 0; off < all.size(); off += 60000) write_all(fd, chunk(std::string_view(all).substr(off, 60000)));
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  std::vector<std::string> lines;
  auto r = stream_lines(*make_transport(unix_endpoint(dir / "ts.sock")), "/localapi/v0/watch-ipn-bus", 2, 5s, lines);
  ASSERT_TRUE(r) << r.error().line();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), big.size());
  EXPECT_TRUE(lines[0] == big);
  EXPECT_EQ(lines[1], "{\"end\":true}");
}

TEST(TransportStream, ErrorStatusReturnsStatusAndBody) {
  SockDir dir;
  HttpServer server(dir / "ts.sock");
  server.svr.Get("/localapi/v0/watch-ipn-bus", [](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("watch ipn bus access denied\n", "text/plain; charset=utf-8");
  });
  ASSERT_TRUE(server.start());
  std::string body;
  bool called = false;
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))
               ->stream("/localapi/v0/watch-ipn-bus", [&](std::string_view) { return called = true; }, 2s, 2s, &body);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(*r, 403);
  EXPECT_EQ(body, "watch ipn bus access denied\n");
  EXPECT_FALSE(called);
}

TEST(TransportStream, CleanEndAfter200IsUnavailable) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    write_all(fd, std::string(kChunkedHead) + chunk("{\"State\":6}\n") + "0\r\n\r\n");
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  std::vector<std::string> lines;
  auto r = stream_lines(*make_transport(unix_endpoint(dir / "ts.sock")), "/localapi/v0/watch-ipn-bus", SIZE_MAX, 2s,
                        lines);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kUnavailable);
  EXPECT_EQ(r.error().message, "tailscaled closed the stream");
  EXPECT_EQ(lines, std::vector<std::string>{"{\"State\":6}"});
}

TEST(TransportStream, DaemonDyingMidStreamIsUnavailable) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    write_all(fd, std::string(kChunkedHead) + chunk("{\"State\":6}\n{\"Sta"));
    // then the process dies: no terminating chunk
  });
  ASSERT_TRUE(server.ok());
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))
               ->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return true; }, 2s, 2s, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kUnavailable);
  EXPECT_EQ(r.error().message, "tailscaled closed the stream");
}

TEST(TransportStream, CancelUnblocksAnIdleStreamAndSticks) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    write_all(fd, std::string(kChunkedHead) + chunk("{\"State\":6}\n"));
    wait_for_close(fd);  // then silence, as the bus is when nothing changes
  });
  ASSERT_TRUE(server.ok());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  std::promise<void> first_line;
  auto fut = std::async(std::launch::async, [&] {
    bool once = false;
    return t->stream(
        "/localapi/v0/watch-ipn-bus",
        [&](std::string_view) {
          if (!once) first_line.set_value();
          once = true;
          return true;
        },
        5s, std::chrono::hours(24), nullptr);
  });
  ASSERT_EQ(first_line.get_future().wait_for(5s), std::future_status::ready);
  std::this_thread::sleep_for(100ms);  // idle now
  auto start = Clock::now();
  t->cancel();
  ASSERT_EQ(fut.wait_for(1s), std::future_status::ready);
  EXPECT_LT(elapsed_ms(start), 1000);
  auto r = fut.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kInterrupted);

  // Sticky: a later call fails at once instead of opening a new connection.
  start = Clock::now();
  auto again = t->request("GET", "/localapi/v0/status", "", 5s);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ExitCode::kInterrupted);
  auto s = t->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return true; }, 5s, 5s, nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ExitCode::kInterrupted);
  EXPECT_LT(elapsed_ms(start), 200);
  EXPECT_EQ(server.accepted(), 1);
}

TEST(TransportStream, CancelDuringARequestInterruptsIt) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  auto fut = std::async(std::launch::async, [&] { return t->request("GET", "/localapi/v0/status", "", 30s); });
  while (server.accepted() == 0) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(50ms);
  t->cancel();
  ASSERT_EQ(fut.wait_for(1s), std::future_status::ready);
  auto r = fut.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kInterrupted);
}

// A stream from a server that first answers with head_bytes ("" for nothing) and then stays silent
// times out within its bounds with this message.
void expect_stream_timeout(std::string head_bytes, milliseconds connect, milliseconds idle, const std::string& message) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [&](int fd) {
    read_request(fd);
    if (!head_bytes.empty()) write_all(fd, head_bytes);
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  auto start = Clock::now();
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))
               ->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return true; }, connect, idle, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kTimeout);
  EXPECT_EQ(r.error().message, message);
  EXPECT_LT(elapsed_ms(start), 1500);
}

TEST(TransportStream, IdleTimeoutAfterTheHead) {
  expect_stream_timeout(kChunkedHead + chunk("{\"State\":6}\n"), 5s, 300ms, "tailscaled sent nothing for 300ms");
}

TEST(TransportStream, NoHeadWithinConnectTimeout) {
  expect_stream_timeout("", 300ms, std::chrono::hours(24), "tailscaled did not answer within 300ms");
}

TEST(TransportStream, RequestAfterStreamStoppedWorks) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    std::string req = read_request(fd);
    if (req.find("watch-ipn-bus") != std::string::npos) {
      write_all(fd, std::string(kChunkedHead) + chunk("{\"State\":6}\n"));
      wait_for_close(fd);
      return;
    }
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  auto s = t->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return false; }, 2s, 2s, nullptr);
  ASSERT_TRUE(s) << s.error().line();
  auto r = t->request("GET", "/localapi/v0/status", "", 2s);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(server.accepted(), 2);  // a stopped stream's connection is not reused
}

}  // namespace
}  // namespace tb::ts
