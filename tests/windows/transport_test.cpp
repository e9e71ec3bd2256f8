// The named-pipe transport (libcommon/tailscale/transport_win32.cpp) against pipe servers in this
// process, under wine: what tests/unit/tailscale/transport_test.cpp checks for the Unix socket,
// for the pipe. GoogleTest has no mingw-w64 build in Debian, so a check is a macro and each test a
// function; the program prints one line per test and exits 1 if any failed.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "libcommon/tailscale/transport.hpp"
#include "tests/windows/pipe_io.hpp"

namespace {

using tb::core::ExitCode;
using tb::ts::Endpoint;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int g_failures = 0;
bool g_test_failed = false;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);     \
      g_test_failed = true;                                                      \
      return;                                                                    \
    }                                                                            \
  } while (0)

std::string unique_pipe() {
  static std::atomic<int> n{0};
  return "\\\\.\\pipe\\tailbox-transport-test-" + std::to_string(GetCurrentProcessId()) + "-" +
         std::to_string(++n);
}

Endpoint pipe_endpoint(const std::string& name) {
  return Endpoint{.kind = Endpoint::Kind::kPipe, .path = name, .port = 0, .token = {}, .source = "test"};
}

using tb::test::write_all;

// One request's head (the requests here have no body); "" when the client closed first.
std::string read_request(HANDLE h) {
  std::string buf;
  return tb::test::read_head(h, buf) == std::string::npos ? std::string() : buf;
}

// Blocks until the client closes its end.
void wait_for_close(HANDLE h) {
  char tmp[256];
  DWORD n = 0;
  while (ReadFile(h, tmp, sizeof tmp, &n, nullptr) && n > 0) {
  }
}

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

constexpr const char* kChunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

// A connection's handler that answers the first request with these bytes and then stays silent
// until the client closes (the bus when nothing changes; a daemon that died keeps no pipe open).
std::function<void(HANDLE)> reply_then_silence(std::string bytes) {
  return [bytes = std::move(bytes)](HANDLE h) {
    read_request(h);
    write_all(h, bytes);
    wait_for_close(h);
  };
}

// A pipe server with full control over the bytes: each connection runs handler(pipe) on its own
// thread. Counts connections, so keep-alive reuse is visible. Handlers end when the client closes.
class PipeServer {
 public:
  using Handler = std::function<void(HANDLE)>;
  PipeServer(std::string name, Handler handler, DWORD max_instances = PIPE_UNLIMITED_INSTANCES)
      : name_(std::move(name)), handler_(std::move(handler)), max_instances_(max_instances) {
    next_ = create();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~PipeServer() {
    stop_ = true;
    // Wake ConnectNamedPipe with a client of our own (the next instance may be a moment away).
    HANDLE h = INVALID_HANDLE_VALUE;
    for (int i = 0; i < 500 && !accept_done_ && h == INVALID_HANDLE_VALUE; ++i) {
      h = CreateFileA(name_.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
      if (h == INVALID_HANDLE_VALUE) std::this_thread::sleep_for(10ms);
    }
    accept_thread_.join();
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
    for (auto& t : threads_) t.join();
  }
  PipeServer(const PipeServer&) = delete;
  PipeServer& operator=(const PipeServer&) = delete;

  bool ok() const { return next_ != INVALID_HANDLE_VALUE; }
  int accepted() const { return accepted_.load(); }

 private:
  HANDLE create() {
    return CreateNamedPipeA(name_.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                            max_instances_, 64 * 1024, 64 * 1024, 0, nullptr);
  }
  void accept_loop() {
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = true; }
    } done{accept_done_};
    while (next_ != INVALID_HANDLE_VALUE) {
      HANDLE pipe = next_;
      bool ok = ConnectNamedPipe(pipe, nullptr) || GetLastError() == ERROR_PIPE_CONNECTED;
      if (stop_) {
        CloseHandle(pipe);
        return;
      }
      next_ = max_instances_ == 1 ? INVALID_HANDLE_VALUE : create();
      if (!ok) {
        CloseHandle(pipe);
        continue;
      }
      ++accepted_;
      threads_.emplace_back([this, pipe] {
        handler_(pipe);
        FlushFileBuffers(pipe);
        DisconnectNamedPipe(pipe);
        CloseHandle(pipe);
      });
    }
  }

  std::string name_;
  Handler handler_;
  DWORD max_instances_;
  HANDLE next_ = INVALID_HANDLE_VALUE;
  std::atomic<bool> stop_{false};
  std::atomic<bool> accept_done_{false};
  std::atomic<int> accepted_{0};
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

// ---- requests ----

void request_headers_and_keep_alive() {
  std::string name = unique_pipe();
  std::mutex mu;
  std::vector<std::string> seen;
  PipeServer server(name, [&](HANDLE h) {
    for (std::string req; !(req = read_request(h)).empty();) {
      std::lock_guard lk(mu);
      seen.push_back(req);
      write_all(h, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTailscale-Version: 1.94.2-test\r\n\r\n{}");
    }
  });
  CHECK(server.ok());
  auto t = tb::ts::make_transport(pipe_endpoint(name));
  for (int i = 0; i < 2; ++i) {
    auto r = t->request("GET", "/localapi/v0/prefs", "", 5s);
    CHECK(r);
    CHECK(r->status == 200 && r->body == "{}");
    CHECK(r->headers["tailscale-version"] == "1.94.2-test");
  }
  t.reset();
  CHECK(server.accepted() == 1);  // one connection, kept alive
  std::lock_guard lk(mu);
  CHECK(seen.size() == 2);
  CHECK(seen[0].rfind("GET /localapi/v0/prefs HTTP/1.1\r\n", 0) == 0);
  CHECK(seen[0].find("\r\nHost: local-tailscaled.sock\r\n") != std::string::npos);
  CHECK(seen[0].find("\r\nTailscale-Cap: " + std::to_string(tb::ts::kCapabilityVersion) + "\r\n") !=
        std::string::npos);
}

void chunked_body_and_error_status() {
  std::string name = unique_pipe();
  PipeServer server(name, [](HANDLE h) {
    read_request(h);
    write_all(h, std::string(kChunkedHead) + chunk("{\"Self\":") + chunk("{}}\n") + "0\r\n\r\n");
    read_request(h);
    write_all(h, "HTTP/1.1 403 Forbidden\r\nContent-Length: 25\r\n\r\ninvalid localapi request\n");
    wait_for_close(h);
  });
  CHECK(server.ok());
  auto t = tb::ts::make_transport(pipe_endpoint(name));
  auto r = t->request("GET", "/localapi/v0/status", "", 5s);
  CHECK(r && r->status == 200 && r->body == "{\"Self\":{}}\n");
  r = t->request("GET", "/localapi/v0/status", "", 5s);
  CHECK(r && r->status == 403 && r->body == "invalid localapi request\n");  // a status is not an error
}

void absent_pipe_is_unavailable() {
  std::string name = unique_pipe();
  auto r = tb::ts::make_transport(pipe_endpoint(name))->request("GET", "/localapi/v0/status", "", 5s);
  CHECK(!r);
  CHECK(r.error().code == ExitCode::kUnavailable);
  CHECK(r.error().line() == "cannot connect to tailscaled at " + name +
                                ": no such pipe (is the Tailscale service running?)");
}

void silent_daemon_times_out() {
  std::string name = unique_pipe();
  PipeServer server(name, [](HANDLE h) { wait_for_close(h); });
  CHECK(server.ok());
  auto start = Clock::now();
  auto r = tb::ts::make_transport(pipe_endpoint(name))->request("GET", "/localapi/v0/status", "", 300ms);
  CHECK(!r);
  CHECK(r.error().code == ExitCode::kTimeout);
  CHECK(r.error().message == "tailscaled did not answer within 300ms");
  CHECK(elapsed_ms(start) < 3000);
}

void drop_mid_reply_is_protocol_error() {
  std::string name = unique_pipe();
  PipeServer server(name, [](HANDLE h) {
    read_request(h);
    write_all(h, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":");
  });
  CHECK(server.ok());
  auto r = tb::ts::make_transport(pipe_endpoint(name))->request("GET", "/localapi/v0/status", "", 5s);
  CHECK(!r);
  CHECK(r.error().code == ExitCode::kProtocol);
  CHECK(r.error().message == "tailscaled closed the connection in the middle of a reply");
}

void busy_pipe_times_out() {
  std::string name = unique_pipe();
  PipeServer server(name, [](HANDLE h) { wait_for_close(h); }, 1);  // one instance, taken below
  CHECK(server.ok());
  HANDLE taken = INVALID_HANDLE_VALUE;
  for (int i = 0; i < 100 && taken == INVALID_HANDLE_VALUE; ++i) {
    taken = CreateFileA(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    if (taken == INVALID_HANDLE_VALUE) std::this_thread::sleep_for(10ms);
  }
  CHECK(taken != INVALID_HANDLE_VALUE);
  auto start = Clock::now();
  auto r = tb::ts::make_transport(pipe_endpoint(name))->request("GET", "/localapi/v0/status", "", 300ms);
  CloseHandle(taken);
  CHECK(!r);
  CHECK(r.error().code == ExitCode::kTimeout);
  CHECK(r.error().message.find("pipe busy for 300ms") != std::string::npos);
  CHECK(elapsed_ms(start) < 3000);
}

// ---- streams ----

void stream_lines_across_chunks() {
  std::string name = unique_pipe();
  // Chunk boundaries fall inside lines and between a line and its '\n'.
  std::string reply = kChunkedHead;
  for (std::string_view piece : {"{\"Version\":\"1.9", "4.2\"}\n{\"State\":", "6}\n", "{\"Health\":{}}", "\n"}) {
    reply += chunk(piece);
  }
  PipeServer server(name, reply_then_silence(reply));
  CHECK(server.ok());
  std::vector<std::string> lines;
  auto r = tb::ts::make_transport(pipe_endpoint(name))
               ->stream(
                   "/localapi/v0/watch-ipn-bus?mask=0",
                   [&](std::string_view line) {
                     lines.emplace_back(line);
                     return lines.size() < 3;
                   },
                   2s, 2s, nullptr);
  CHECK(r && *r == 200);
  CHECK((lines == std::vector<std::string>{"{\"Version\":\"1.94.2\"}", "{\"State\":6}", "{\"Health\":{}}"}));
}

void stream_error_status_and_clean_end() {
  std::string name = unique_pipe();
  PipeServer server(name, [](HANDLE h) {
    std::string req = read_request(h);
    if (req.find("mask=1") != std::string::npos) {
      write_all(h, "HTTP/1.1 403 Forbidden\r\nContent-Length: 28\r\n\r\nwatch ipn bus access denied\n");
    } else {
      write_all(h, std::string(kChunkedHead) + chunk("{\"State\":6}\n") + "0\r\n\r\n");
    }
    wait_for_close(h);
  });
  CHECK(server.ok());
  auto t = tb::ts::make_transport(pipe_endpoint(name));
  std::string body;
  auto r = t->stream("/localapi/v0/watch-ipn-bus?mask=1", [](std::string_view) { return true; }, 2s, 2s, &body);
  CHECK(r && *r == 403 && body == "watch ipn bus access denied\n");
  r = t->stream("/localapi/v0/watch-ipn-bus?mask=2", [](std::string_view) { return true; }, 2s, 2s, nullptr);
  CHECK(!r);
  CHECK(r.error().code == ExitCode::kUnavailable && r.error().message == "tailscaled closed the stream");
}

void stream_idle_timeout_after_the_head() {
  std::string name = unique_pipe();
  PipeServer server(name, reply_then_silence(kChunkedHead));
  CHECK(server.ok());
  auto r = tb::ts::make_transport(pipe_endpoint(name))
               ->stream("/localapi/v0/watch-ipn-bus", [](std::string_view) { return true; }, 5s, 300ms, nullptr);
  CHECK(!r);
  CHECK(r.error().code == ExitCode::kTimeout && r.error().message == "tailscaled sent nothing for 300ms");
}

void cancel_unblocks_an_idle_stream_and_sticks() {
  std::string name = unique_pipe();
  PipeServer server(name, reply_then_silence(kChunkedHead + chunk("{\"State\":6}\n")));
  CHECK(server.ok());
  auto t = tb::ts::make_transport(pipe_endpoint(name));
  // The first line arrives, then the bus is idle; cancel() from another thread ends the wait.
  std::thread canceller;
  auto start = Clock::now();
  auto r = t->stream(
      "/localapi/v0/watch-ipn-bus",
      [&](std::string_view) {
        if (!canceller.joinable()) {
          canceller = std::thread([&] {
            std::this_thread::sleep_for(100ms);
            t->cancel();
          });
        }
        return true;
      },
      5s, std::chrono::hours(24), nullptr);
  canceller.join();
  CHECK(!r && r.error().code == ExitCode::kInterrupted);
  CHECK(elapsed_ms(start) < 3000);
  auto again = t->request("GET", "/localapi/v0/status", "", 5s);  // cancel() sticks
  CHECK(!again && again.error().code == ExitCode::kInterrupted);
}

void nested_call_is_refused() {
  std::string name = unique_pipe();
  PipeServer server(name, reply_then_silence(kChunkedHead + chunk("{\"State\":6}\n")));
  CHECK(server.ok());
  auto t = tb::ts::make_transport(pipe_endpoint(name));
  tb::core::Result<tb::ts::HttpResponse> inner = tb::ts::HttpResponse{};
  auto r = t->stream(
      "/localapi/v0/watch-ipn-bus",
      [&](std::string_view) {
        inner = t->request("GET", "/localapi/v0/status", "", 1s);
        return false;
      },
      2s, 2s, nullptr);
  CHECK(r && *r == 200);
  CHECK(!inner && inner.error().code == ExitCode::kInternal);
}

}  // namespace

int main() {
  const std::pair<const char*, void (*)()> tests[] = {
      {"request_headers_and_keep_alive", request_headers_and_keep_alive},
      {"chunked_body_and_error_status", chunked_body_and_error_status},
      {"absent_pipe_is_unavailable", absent_pipe_is_unavailable},
      {"silent_daemon_times_out", silent_daemon_times_out},
      {"drop_mid_reply_is_protocol_error", drop_mid_reply_is_protocol_error},
      {"busy_pipe_times_out", busy_pipe_times_out},
      {"stream_lines_across_chunks", stream_lines_across_chunks},
      {"stream_error_status_and_clean_end", stream_error_status_and_clean_end},
      {"stream_idle_timeout_after_the_head", stream_idle_timeout_after_the_head},
      {"cancel_unblocks_an_idle_stream_and_sticks", cancel_unblocks_an_idle_stream_and_sticks},
      {"nested_call_is_refused", nested_call_is_refused},
  };
  for (const auto& [name, fn] : tests) {
    g_test_failed = false;
    fn();
    std::printf("%s %s\n", g_test_failed ? "FAIL" : "ok  ", name);
    std::fflush(stdout);
    if (g_test_failed) ++g_failures;
  }
  std::printf("%d of %zu failed\n", g_failures, std::size(tests));
  return g_failures == 0 ? 0 : 1;
}
