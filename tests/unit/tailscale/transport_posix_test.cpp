#include "libcommon/tailscale/transport.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "libcommon/core/strings.hpp"
#include "libcommon/tailscale/transport_internal.hpp"
#include "tests/unit/tailscale/transport_servers.hpp"

namespace tb::ts {
namespace {

using namespace tb::test;
namespace fs = std::filesystem;

size_t count_ci(std::string haystack, std::string needle) {
  for (auto* s : {&haystack, &needle}) {
    for (char& c : *s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}


// ---- headers, auth, keep-alive, statuses ----

TEST(Transport, UnixSocketSendsOneHostAndCapability) {
  SockDir dir;
  HttpServer server(dir / "ts.sock");
  size_t host_count = 0;
  std::string host, cap, auth;
  server.svr.Get("/localapi/v0/status", [&](const httplib::Request& req, httplib::Response& res) {
    host_count = req.get_header_value_count("Host");
    host = req.get_header_value("Host");
    cap = req.get_header_value("Tailscale-Cap");
    auth = req.get_header_value("Authorization");
    res.set_header("Tailscale-Version", "1.94.2-test");
    res.set_content("{\"BackendState\":\"Running\"}\n", "application/json");
  });
  ASSERT_TRUE(server.start());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  auto r = t->request("GET", "/localapi/v0/status?peers=false", "", 5s);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"BackendState\":\"Running\"}\n");
  EXPECT_EQ(r->headers["tailscale-version"], "1.94.2-test");  // names lower-cased
  EXPECT_EQ(host_count, 1u);
  EXPECT_EQ(host, "local-tailscaled.sock");
  EXPECT_EQ(cap, std::to_string(kCapabilityVersion));
  EXPECT_EQ(auth, "");
}

TEST(Transport, RawRequestBytesCarryExactlyOneHost) {
  SockDir dir;
  std::string seen;
  std::mutex mu;
  RawServer server(dir / "ts.sock", [&](int fd) {
    std::string req = read_request(fd);
    {
      std::lock_guard<std::mutex> lk(mu);
      seen = req;
    }
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  auto r = t->request("GET", "/localapi/v0/prefs", "", 5s);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(r->body, "{}");
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(seen.rfind("GET /localapi/v0/prefs HTTP/1.1\r\n", 0), 0u) << seen;
  EXPECT_EQ(count_ci(seen, "\r\nHost:"), 1u) << seen;
  EXPECT_NE(seen.find("\r\nHost: local-tailscaled.sock\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("\r\nTailscale-Cap: " + std::to_string(kCapabilityVersion) + "\r\n"), std::string::npos);
  EXPECT_EQ(count_ci(seen, "\r\nAuthorization:"), 0u);
  EXPECT_EQ(count_ci(seen, "\r\nReferer:") + count_ci(seen, "\r\nOrigin:"), 0u);  // tailscaled would 403
}

TEST(Transport, TcpModeUsesBasicAuthWithEmptyUser) {
  HttpServer server;
  std::string auth, host;
  std::vector<int> remote_ports;
  server.svr.Get("/localapi/v0/status", [&](const httplib::Request& req, httplib::Response& res) {
    auth = req.get_header_value("Authorization");
    host = req.get_header_value("Host");
    remote_ports.push_back(req.remote_port);
    res.set_content("{}", "application/json");
  });
  ASSERT_TRUE(server.start());
  Endpoint ep;
  ep.kind = Endpoint::Kind::kTcp;
  ep.port = server.port;
  ep.token = "0123456789abcdef0123";
  ep.source = "macsys";
  auto t = make_transport(ep);
  ASSERT_TRUE(t->request("GET", "/localapi/v0/status", "", 5s));
  EXPECT_EQ(auth, "Basic " + core::base64_encode(":0123456789abcdef0123"));
  EXPECT_EQ(host, "local-tailscaled.sock");
  EXPECT_EQ(t->endpoint().describe(), "127.0.0.1:" + std::to_string(server.port));
  EXPECT_EQ(t->endpoint().describe().find(ep.token), std::string::npos);

  // Keep-alive: the second request comes from the same client port, i.e. the same connection.
  ASSERT_TRUE(t->request("GET", "/localapi/v0/status", "", 5s));
  ASSERT_EQ(remote_ports.size(), 2u);
  EXPECT_EQ(remote_ports[0], remote_ports[1]);
}

TEST(Transport, TcpRefusedIsUnavailableAndNeverShowsTheToken) {
  // A port that was free a moment ago: bound, never listened on, closed.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  Endpoint ep;
  ep.kind = Endpoint::Kind::kTcp;
  ep.port = port;
  ep.token = "feedfacefeedfacefeed";
  auto t = make_transport(ep);
  auto r = t->request("GET", "/localapi/v0/status", "", 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kUnavailable);
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos);
  EXPECT_EQ(r.error().line().find(ep.token), std::string::npos);
}

TEST(Transport, KeepAliveReusesOneUnixConnection) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    while (!read_request(fd).empty()) {
      if (!write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")) return;
    }
  });
  ASSERT_TRUE(server.ok());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  for (int i = 0; i < 3; ++i) {
    auto r = t->request("GET", "/localapi/v0/status", "", 5s);
    ASSERT_TRUE(r) << r.error().line();
    EXPECT_EQ(r->body, "ok\n");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(Transport, ReconnectsAfterTheDaemonClosedAnIdleConnection) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    if (read_request(fd).empty()) return;
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    // and close: a daemon restart between two requests
  });
  ASSERT_TRUE(server.ok());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  ASSERT_TRUE(t->request("GET", "/localapi/v0/status", "", 5s));
  std::this_thread::sleep_for(50ms);
  auto r = t->request("GET", "/localapi/v0/status", "", 5s);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(server.accepted(), 2);
}

TEST(Transport, ErrorStatusesAreResponsesNotErrors) {
  SockDir dir;
  HttpServer server(dir / "ts.sock");
  std::string posted_body, posted_type;
  server.svr.Get("/localapi/v0/prefs", [](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("prefs access denied\n", "text/plain; charset=utf-8");
  });
  server.svr.Post("/localapi/v0/start", [&](const httplib::Request& req, httplib::Response& res) {
    posted_body = req.body;
    posted_type = req.get_header_value("Content-Type");
    res.status = 500;
    res.set_content("cannot start backend when state store is unhealthy\n", "text/plain; charset=utf-8");
  });
  ASSERT_TRUE(server.start());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  auto r = t->request("GET", "/localapi/v0/prefs", "", 5s);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "prefs access denied\n");
  r = t->request("POST", "/localapi/v0/start", "{\"AuthKey\":\"\"}", 5s);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "cannot start backend when state store is unhealthy\n");
  EXPECT_EQ(posted_body, "{\"AuthKey\":\"\"}");
  EXPECT_EQ(posted_type, "application/json");
}

// ---- connect failures ----

TEST(Transport, NoSocketIsUnavailableWithHint) {
  SockDir dir;
  auto t = make_transport(unix_endpoint(dir / "tailscaled.sock"));
  auto r = t->request("GET", "/localapi/v0/status", "", 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kUnavailable);
  EXPECT_EQ(r.error().message,
            "cannot connect to tailscaled at " + (dir / "tailscaled.sock") + ": no such file or directory");
  EXPECT_EQ(r.error().hint, "is tailscaled running? try: sudo systemctl start tailscaled");

  std::string body;
  auto s = t->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return true; }, 1s, 1s, &body);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ExitCode::kUnavailable);
}

TEST(Transport, StaleSocketFileIsUnavailable) {
  SockDir dir;
  std::string path = dir / "tailscaled.sock";
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);  // the file stays: a daemon that died without cleaning up
  }
  ASSERT_TRUE(fs::exists(path));
  auto r = make_transport(unix_endpoint(path))->request("GET", "/localapi/v0/status", "", 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kUnavailable);
  EXPECT_NE(r.error().message.find("connection refused"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find("is tailscaled running?"), std::string::npos);
}

TEST(Transport, PermissionDeniedIsNoPerm) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores socket permissions";
  SockDir dir;
  std::string path = dir / "tailscaled.sock";
  HttpServer server(path);
  server.svr.Get("/localapi/v0/status", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/json");
  });
  ASSERT_TRUE(server.start());
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);  // connect() needs write permission on the socket
  auto r = make_transport(unix_endpoint(path))->request("GET", "/localapi/v0/status", "", 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kNoPerm);
  EXPECT_NE(r.error().message.find("permission denied"), std::string::npos);
  EXPECT_NE(r.error().hint.find("sudo"), std::string::npos);
  EXPECT_NE(r.error().hint.find("--operator=$USER"), std::string::npos);
}

TEST(Transport, EaccesMapsToNoPerm) {
  // Runs as root too: the mapping itself, without needing a socket root cannot open.
  auto e = detail::connect_error(unix_endpoint("/var/run/tailscale/tailscaled.sock"), EACCES);
  EXPECT_EQ(e.code, ExitCode::kNoPerm);
  EXPECT_EQ(e.message, "cannot connect to tailscaled at /var/run/tailscale/tailscaled.sock: permission denied");
  EXPECT_NE(e.hint.find("sudo"), std::string::npos);
  auto refused = detail::connect_error(unix_endpoint("/x.sock"), ECONNREFUSED);
  EXPECT_EQ(refused.code, ExitCode::kUnavailable);
  EXPECT_EQ(refused.message, "cannot connect to tailscaled at /x.sock: connection refused");
}

TEST(Transport, PipeIsUnsupportedOnLinux) {
  Endpoint ep;
  ep.kind = Endpoint::Kind::kPipe;
  ep.path = R"(\\.\pipe\ProtectedPrefix\Administrators\Tailscale\tailscaled)";
  auto t = make_transport(ep);
  auto r = t->request("GET", "/localapi/v0/status", "", 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kUnavailable);
  EXPECT_EQ(r.error().message, "named pipes are only supported on Windows");
  auto s = t->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return true; }, 1s, 1s, nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ExitCode::kUnavailable);
  t->cancel();  // harmless
  EXPECT_EQ(t->endpoint().path, ep.path);
}

// ---- timeouts and broken replies ----

TEST(Transport, SilentDaemonTimesOutWithinTheBound) {
  SockDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    wait_for_close(fd);  // never answers
  });
  ASSERT_TRUE(server.ok());
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  auto start = Clock::now();
  auto r = t->request("GET", "/localapi/v0/status", "", 300ms);
  auto took = elapsed_ms(start);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kTimeout);
  EXPECT_EQ(r.error().message, "tailscaled did not answer within 300ms");
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 1500);
}

TEST(Transport, SlowHttplibHandlerTimesOut) {
  SockDir dir;
  HttpServer server(dir / "ts.sock");
  server.svr.Get("/localapi/v0/status", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1200ms);
    res.set_content("{}", "application/json");
  });
  ASSERT_TRUE(server.start());
  auto start = Clock::now();
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))->request("GET", "/localapi/v0/status", "", 400ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kTimeout);
  EXPECT_LT(elapsed_ms(start), 1100);
}

// A request to a server whose connection handler misbehaves fails as a protocol error.
void expect_protocol_error(RawServer::Handler handler, std::string_view method = "GET",
                           std::string_view path = "/localapi/v0/status", std::string_view body = "") {
  SockDir dir;
  RawServer server(dir / "ts.sock", std::move(handler));
  ASSERT_TRUE(server.ok());
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))->request(method, path, body, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kProtocol);
}

TEST(Transport, GarbageReplyIsProtocolError) { expect_protocol_error(reply_with("SSH-2.0-OpenSSH_9.2\r\n\r\n")); }

TEST(Transport, DropMidReplyIsProtocolError) {
  expect_protocol_error(reply_with("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Back"));
}

TEST(Transport, CloseWithoutAnswerIsProtocolError) {
  expect_protocol_error([](int fd) { read_request(fd); }, "POST", "/localapi/v0/start", "{}");
}

}  // namespace
}  // namespace tb::ts
