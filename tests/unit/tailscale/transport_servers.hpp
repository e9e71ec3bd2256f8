#pragma once
// What the transport's unit tests share (transport_posix_test.cpp, transport_stream_test.cpp,
// transport_http1_test.cpp): servers on a Unix socket, one with full control over the bytes and
// one on cpp-httplib, and the byte helpers they use. The named pipe's tests are tests/windows.

#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "libcommon/core/exit_code.hpp"
#include "libcommon/tailscale/endpoint.hpp"
#include "tests/unit/test_util.hpp"

namespace tb::test {

using core::ExitCode;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A temp dir for sockets: dir / "ts.sock".
class SockDir {
 public:
  std::string operator/(const std::string& name) const { return dir_.path() + "/" + name; }

 private:
  TempDir dir_{"tb-transport"};
};

inline ts::Endpoint unix_endpoint(const std::string& path) {
  ts::Endpoint ep;
  ep.kind = ts::Endpoint::Kind::kUnix;
  ep.path = path;
  ep.source = "test";
  return ep;
}

inline bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads one request (head + Content-Length body); "" when the peer closed first.
inline std::string read_request(int fd) {
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
inline void wait_for_close(int fd) {
  char tmp[256];
  while (::recv(fd, tmp, sizeof tmp, 0) > 0) {
  }
}

inline std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

inline constexpr const char* kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

// A connection handler that reads the request, writes these bytes and hangs up.
inline std::function<void(int fd)> reply_with(std::string bytes) {
  return [bytes = std::move(bytes)](int fd) {
    read_request(fd);
    write_all(fd, bytes);
  };
}

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

inline long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

}  // namespace tb::test
