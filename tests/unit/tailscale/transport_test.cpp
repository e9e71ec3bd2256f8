#include "libcommon/tailscale/transport.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "libcommon/tailscale/transport_internal.hpp"

namespace tb::ts {
namespace {

namespace fs = std::filesystem;
using core::ExitCode;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---- helpers ----

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tb-transport-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Endpoint unix_endpoint(const std::string& path) {
  Endpoint ep;
  ep.kind = Endpoint::Kind::kUnix;
  ep.path = path;
  ep.source = "test";
  return ep;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads one request (head + Content-Length body); "" when the peer closed first.
std::string read_request(int fd) {
  std::string buf;
  char tmp[4096];
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return {};
    buf.append(tmp, static_cast<size_t>(n));
  }
  size_t body_len = 0;
  if (auto p = buf.find("Content-Length: "); p != std::string::npos && p < head_end) {
    body_len = std::stoul(buf.substr(p + 16));
  }
  while (buf.size() < head_end + 4 + body_len) {
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return {};
    buf.append(tmp, static_cast<size_t>(n));
  }
  return buf;
}

// Blocks until the client closes its end (or the server shuts the connection down).
void wait_for_close(int fd) {
  char tmp[256];
  while (::recv(fd, tmp, sizeof tmp, 0) > 0) {
  }
}

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

constexpr const char* kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

// A Unix-socket server with full control over the bytes: each accepted connection runs handler(fd)
// on its own thread. Counts connections, so keep-alive reuse is visible.
class RawServer {
 public:
  using Handler = std::function<void(int fd)>;
  RawServer(const std::string& path, Handler handler) : handler_(std::move(handler)) {
    ::unlink(path.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(listen_fd_, 16) == 0;
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~RawServer() {
    stop_ = true;
    accept_thread_.join();
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    ::close(listen_fd_);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  bool ok() const { return ok_; }
  int accepted() const { return accepted_.load(); }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) != 1) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard<std::mutex> lk(mu_);
      conns_.push_back(fd);
      threads_.emplace_back([this, fd] {
        handler_(fd);
        {
          std::lock_guard<std::mutex> lk2(mu_);
          std::erase(conns_, fd);
        }
        ::close(fd);
      });
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

// An httplib::Server on a Unix socket or on 127.0.0.1, run on its own thread.
class HttpServer {
 public:
  explicit HttpServer(const std::string& unix_path) {
    ::unlink(unix_path.c_str());
    svr.set_address_family(AF_UNIX);
    bound_ = svr.bind_to_port(unix_path.c_str(), 80);
  }
  HttpServer() {
    port = svr.bind_to_any_port("127.0.0.1");
    bound_ = port > 0;
  }
  ~HttpServer() {
    svr.stop();
    if (thread_.joinable()) thread_.join();
  }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  bool start() {
    if (!bound_) return false;
    thread_ = std::thread([this] { svr.listen_after_bind(); });
    // stop() before the loop runs would be lost and the destructor would wait for ever.
    for (int i = 0; i < 500 && !svr.is_running(); ++i) std::this_thread::sleep_for(2ms);
    return svr.is_running();
  }

  httplib::Server svr;
  int port = 0;

 private:
  bool bound_ = false;
  std::thread thread_;
};

std::string base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

size_t count_ci(std::string haystack, std::string needle) {
  for (auto* s : {&haystack, &needle}) {
    for (char& c : *s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

// ---- headers, auth, keep-alive, statuses ----

TEST(Transport, UnixSocketSendsOneHostAndCapability) {
  TempDir dir;
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
  TempDir dir;
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
  EXPECT_EQ(auth, "Basic " + base64(":0123456789abcdef0123"));
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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

TEST(Transport, GarbageReplyIsProtocolError) {
  TempDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    write_all(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  });
  ASSERT_TRUE(server.ok());
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))->request("GET", "/localapi/v0/status", "", 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kProtocol);
}

TEST(Transport, DropMidReplyIsProtocolError) {
  TempDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Back");
  });
  ASSERT_TRUE(server.ok());
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))->request("GET", "/localapi/v0/status", "", 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kProtocol);
}

TEST(Transport, CloseWithoutAnswerIsProtocolError) {
  TempDir dir;
  RawServer server(dir / "ts.sock", [](int fd) { read_request(fd); });
  ASSERT_TRUE(server.ok());
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))->request("POST", "/localapi/v0/start", "{}", 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kProtocol);
}

// ---- streaming ----

TEST(TransportStream, LinesSplitAcrossChunksAreReassembled) {
  TempDir dir;
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
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  std::vector<std::string> lines;
  auto r = t->stream(
      "/localapi/v0/watch-ipn-bus?mask=0",
      [&](std::string_view line) {
        lines.emplace_back(line);
        return lines.size() < 3;
      },
      2s, 2s, nullptr);
  ASSERT_TRUE(r) << r.error().line();
  EXPECT_EQ(*r, 200);
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"Version\":\"1.94.2\"}", "{\"State\":6}", "{\"Health\":{}}"}));
}

TEST(TransportStream, ThreeMegabyteLineArrivesIntact) {
  TempDir dir;
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
  auto t = make_transport(unix_endpoint(dir / "ts.sock"));
  std::vector<std::string> lines;
  auto r = t->stream(
      "/localapi/v0/watch-ipn-bus",
      [&](std::string_view line) {
        lines.emplace_back(line);
        return lines.size() < 2;
      },
      5s, 5s, nullptr);
  ASSERT_TRUE(r) << r.error().line();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), big.size());
  EXPECT_TRUE(lines[0] == big);
  EXPECT_EQ(lines[1], "{\"end\":true}");
}

TEST(TransportStream, ErrorStatusReturnsStatusAndBody) {
  TempDir dir;
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
  TempDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    write_all(fd, std::string(kChunkedHead) + chunk("{\"State\":6}\n") + "0\r\n\r\n");
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  std::vector<std::string> lines;
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))
               ->stream(
                   "/localapi/v0/watch-ipn-bus",
                   [&](std::string_view l) {
                     lines.emplace_back(l);
                     return true;
                   },
                   2s, 2s, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kUnavailable);
  EXPECT_EQ(r.error().message, "tailscaled closed the stream");
  EXPECT_EQ(lines, std::vector<std::string>{"{\"State\":6}"});
}

TEST(TransportStream, DaemonDyingMidStreamIsUnavailable) {
  TempDir dir;
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
  TempDir dir;
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
  TempDir dir;
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

TEST(TransportStream, IdleTimeoutAfterTheHead) {
  TempDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    write_all(fd, std::string(kChunkedHead) + chunk("{\"State\":6}\n"));
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  auto start = Clock::now();
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))
               ->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return true; }, 5s, 300ms, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kTimeout);
  EXPECT_EQ(r.error().message, "tailscaled sent nothing for 300ms");
  EXPECT_LT(elapsed_ms(start), 1500);
}

TEST(TransportStream, NoHeadWithinConnectTimeout) {
  TempDir dir;
  RawServer server(dir / "ts.sock", [](int fd) {
    read_request(fd);
    wait_for_close(fd);
  });
  ASSERT_TRUE(server.ok());
  auto start = Clock::now();
  auto r = make_transport(unix_endpoint(dir / "ts.sock"))
               ->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return true; }, 300ms,
                        std::chrono::hours(24), nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kTimeout);
  EXPECT_EQ(r.error().message, "tailscaled did not answer within 300ms");
  EXPECT_LT(elapsed_ms(start), 1500);
}

TEST(TransportStream, RequestAfterStreamStoppedWorks) {
  TempDir dir;
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
    if (!tb::ts::write_all(fd_, data)) return core::fail(ExitCode::kProtocol, "write failed");
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
