// The socket protection path (libcommon/net/protect.hpp) on real sockets: each dial and listen
// field read back with getsockopt, the protect_path exchange against a server in a thread
// (the descriptor it receives is our socket), its failures, and fallback_delay in happy eyeballs.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "libcommon/net/dialer.hpp"
#include "libcommon/net/protect.hpp"

#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

using namespace tb::net;
using namespace std::chrono_literals;

namespace {

int opt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  return ::getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

const asio::ip::address kLoop4 = asio::ip::make_address("127.0.0.1");
const asio::ip::address kFar4 = asio::ip::make_address("192.0.2.1");

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Fd open_fd(SocketKind kind, bool v6, const DialOptions& o) {
  std::string err;
  Fd f{open_socket_fd(kind, v6, o, err)};
  EXPECT_GE(f.fd, 0) << err;
  return f;
}

// A protect server on a Unix socket: one connection, the descriptor's inode recorded, then one
// byte back (or a close, or nothing, as `mode` says).
struct ProtectServer {
  enum Mode { kAnswer, kRefuse, kSilent } mode;
  std::string path;
  int listener = -1;
  ino_t received = 0;
  std::thread th;
  explicit ProtectServer(Mode m) : mode(m) {
    path = ::testing::TempDir() + "tb-protect-" + std::to_string(::getpid()) + "-" + std::to_string(m) + ".sock";
    ::unlink(path.c_str());
    listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(listener, 4), 0);
    th = std::thread([this] { serve(); });
  }
  void serve() {
    int c = ::accept(listener, nullptr, nullptr);
    if (c < 0) return;
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{nullptr, 0, &iov, 1, control, sizeof control, 0};
    if (::recvmsg(c, &msg, 0) == 1) {
      if (cmsghdr* h = CMSG_FIRSTHDR(&msg); h && h->cmsg_type == SCM_RIGHTS) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(h), sizeof fd);
        struct stat st {};
        ::fstat(fd, &st);
        received = st.st_ino;
        ::close(fd);
      }
    }
    if (mode == kAnswer) (void)!::write(c, "\1", 1);
    if (mode == kSilent) std::this_thread::sleep_for(600ms);
    ::close(c);
  }
  void wait() {
    if (th.joinable()) th.join();
  }
  ~ProtectServer() {
    ::shutdown(listener, SHUT_RDWR);
    wait();
    ::close(listener);
    ::unlink(path.c_str());
  }
};

ino_t inode(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return st.st_ino;
}

}  // namespace

TEST(Protect, TcpDefaults) {
  DialOptions o;
  auto f = open_fd(SocketKind::kTcp, false, o);
  EXPECT_TRUE(::fcntl(f.fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(f.fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_EQ(protect_socket_blocking(f.fd, SocketKind::kTcp, kFar4, o), "");
  // sing-box's dialer: keep-alive on, idle 5 min, interval 75 s (Go: 9 probes).
  EXPECT_EQ(opt(f.fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(opt(f.fd, IPPROTO_TCP, TCP_KEEPIDLE), 300);
  EXPECT_EQ(opt(f.fd, IPPROTO_TCP, TCP_KEEPINTVL), 75);
  EXPECT_EQ(opt(f.fd, IPPROTO_TCP, TCP_KEEPCNT), 9);
  EXPECT_EQ(opt(f.fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT), 0);
  EXPECT_EQ(opt(f.fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
}

TEST(Protect, TcpFields) {
  DialOptions o;
  o.tcp_keep_alive = 30s;
  o.tcp_keep_alive_interval = 1500ms;  // Go rounds up to whole seconds
  o.tcp_fast_open = true;
  o.bind_address_no_port = true;
  auto f = open_fd(SocketKind::kTcp, false, o);
  EXPECT_EQ(protect_socket_blocking(f.fd, SocketKind::kTcp, kFar4, o), "");
  EXPECT_EQ(opt(f.fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
  EXPECT_EQ(opt(f.fd, IPPROTO_TCP, TCP_KEEPINTVL), 2);
  EXPECT_EQ(opt(f.fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT), 1);
  EXPECT_EQ(opt(f.fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT), 1);
  DialOptions off;
  off.disable_tcp_keep_alive = true;
  auto g = open_fd(SocketKind::kTcp, false, off);
  EXPECT_EQ(protect_socket_blocking(g.fd, SocketKind::kTcp, kFar4, off), "");
  EXPECT_EQ(opt(g.fd, SOL_SOCKET, SO_KEEPALIVE), 0);
}

TEST(Protect, MultipathTcp) {
  DialOptions o;
  o.tcp_multi_path = true;
  auto f = open_fd(SocketKind::kTcp, false, o);
  int enabled = 0;
  std::ifstream("/proc/sys/net/mptcp/enabled") >> enabled;
  int probe = ::socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
  bool kernel_has_mptcp = probe >= 0;
  if (probe >= 0) ::close(probe);
  // Go's SetMultipathTCP: MPTCP where the kernel has it, plain TCP otherwise.
  EXPECT_EQ(opt(f.fd, SOL_SOCKET, SO_PROTOCOL), kernel_has_mptcp ? IPPROTO_MPTCP : IPPROTO_TCP) << "enabled=" << enabled;
}

TEST(Protect, UdpFragmentAndReuseAddr) {
  DialOptions o;
  o.udp_fragment = false;
  o.reuse_addr = true;
  auto f = open_fd(SocketKind::kUdp, false, o);
  EXPECT_EQ(protect_socket_blocking(f.fd, SocketKind::kUdp, kFar4, o), "");
  EXPECT_EQ(opt(f.fd, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DO);
  EXPECT_EQ(opt(f.fd, SOL_SOCKET, SO_REUSEADDR), 1);
  EXPECT_EQ(opt(f.fd, SOL_SOCKET, SO_REUSEPORT), 1);
  EXPECT_EQ(opt(f.fd, SOL_SOCKET, SO_KEEPALIVE), 0);  // keep-alive is TCP's
  auto six = open_fd(SocketKind::kUdp, true, o);
  EXPECT_EQ(protect_socket_blocking(six.fd, SocketKind::kUdp, asio::ip::make_address("2001:db8::1"), o), "");
  EXPECT_EQ(opt(six.fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER), IP_PMTUDISC_DO);
  DialOptions frag;
  frag.udp_fragment = true;
  auto g = open_fd(SocketKind::kUdp, false, frag);
  int before = opt(g.fd, IPPROTO_IP, IP_MTU_DISCOVER);
  EXPECT_EQ(protect_socket_blocking(g.fd, SocketKind::kUdp, kFar4, frag), "");
  EXPECT_EQ(opt(g.fd, IPPROTO_IP, IP_MTU_DISCOVER), before);
  EXPECT_EQ(opt(g.fd, SOL_SOCKET, SO_REUSEADDR), 0);
}

TEST(Protect, FieldErrorsNameTheField) {
  DialOptions o;
  o.bind_interface = "tbnosuch0";
  auto f = open_fd(SocketKind::kTcp, false, o);
  EXPECT_EQ(protect_socket_blocking(f.fd, SocketKind::kTcp, kFar4, o), "bind_interface tbnosuch0: no such interface");
  DialOptions d;
  d.default_interface = "tbnosuch0";
  auto g = open_fd(SocketKind::kTcp, false, d);
  EXPECT_EQ(protect_socket_blocking(g.fd, SocketKind::kTcp, kFar4, d), "route.default_interface tbnosuch0: no such interface");
  // Loopback destinations are never bound (sing's BindToInterface0).
  EXPECT_EQ(protect_socket_blocking(g.fd, SocketKind::kTcp, kLoop4, d), "");
  DialOptions n;
  n.netns = "tb-no-such-netns";
  std::string err;
  EXPECT_EQ(open_socket_fd(SocketKind::kTcp, false, n, err), -1);
  EXPECT_EQ(err, "netns tb-no-such-netns: No such file or directory");
  n.netns = "/nonexistent/netns";
  EXPECT_EQ(open_socket_fd(SocketKind::kUdp, false, n, err), -1);
  EXPECT_EQ(err, "netns /nonexistent/netns: No such file or directory");
}

TEST(Protect, ProtectPathSendsOurDescriptor) {
  auto f = open_fd(SocketKind::kUdp, false, {});
  ino_t got = 0;
  {
    ProtectServer server(ProtectServer::kAnswer);
    DialOptions o;
    o.protect_path = server.path;
    EXPECT_EQ(protect_socket_blocking(f.fd, SocketKind::kUdp, kFar4, o), "");
    server.wait();
    got = server.received;
  }
  EXPECT_EQ(got, inode(f.fd));
}

TEST(Protect, ProtectPathFailures) {
  DialOptions o;
  o.connect_timeout = 200ms;
  o.protect_path = ::testing::TempDir() + "tb-no-such-protect.sock";
  auto f = open_fd(SocketKind::kTcp, false, o);
  EXPECT_EQ(protect_socket_blocking(f.fd, SocketKind::kTcp, kFar4, o),
            "protect_path " + o.protect_path + ": connect: No such file or directory");
  {
    ProtectServer refusing(ProtectServer::kRefuse);
    o.protect_path = refusing.path;
    EXPECT_EQ(protect_socket_blocking(f.fd, SocketKind::kTcp, kFar4, o),
              "protect_path " + o.protect_path + ": the server closed the connection without answering (refused)");
  }
  {
    ProtectServer silent(ProtectServer::kSilent);
    o.protect_path = silent.path;
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(protect_socket_blocking(f.fd, SocketKind::kTcp, kFar4, o),
              "protect_path " + o.protect_path + ": no answer within 200 ms");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  }
}

TEST(Protect, ProtectPathAsync) {
  asio::io_context io;
  ProtectServer server(ProtectServer::kAnswer);
  DialOptions o;
  o.protect_path = server.path;
  std::string error = "not run";
  bool opened = false;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    auto p = co_await open_tcp(tcp::endpoint(kFar4, 9), o);
    opened = p.ok();
    error = p.error;
  }, asio::detached);
  io.run();
  EXPECT_TRUE(opened);
  EXPECT_EQ(error, "");
}

TEST(Protect, ProtectPathAsyncTimeout) {
  asio::io_context io;
  ProtectServer server(ProtectServer::kSilent);
  DialOptions o;
  o.protect_path = server.path;
  o.connect_timeout = 150ms;
  std::string error;
  bool opened = true;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    auto p = co_await open_udp(udp::endpoint(kFar4, 53), o);
    opened = p.socket.has_value();
    error = p.error;
  }, asio::detached);
  io.run();
  EXPECT_FALSE(opened);
  EXPECT_EQ(error, "protect_path " + server.path + ": no answer within 150 ms");
}

TEST(Protect, Listener) {
  DialOptions o;
  o.tcp_fast_open = true;
  o.reuse_addr = true;
  auto f = open_fd(SocketKind::kTcp, false, o);
  EXPECT_EQ(protect_listener(f.fd, SocketKind::kTcp, o), "");
  EXPECT_GT(opt(f.fd, IPPROTO_TCP, TCP_FASTOPEN), 0);
  EXPECT_EQ(opt(f.fd, SOL_SOCKET, SO_REUSEPORT), 1);
}

// fallback_delay: the next address is tried after it. 127.0.0.2:P accepts nothing (its backlog is
// full, so SYNs are dropped); 127.0.0.3:P accepts.
TEST(Protect, FallbackDelay) {
  auto listen_on = [](const char* ip, uint16_t port, int backlog) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &sa.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, backlog) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
  int good = listen_on("127.0.0.3", 0, 16);
  ASSERT_GE(good, 0);
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(good, reinterpret_cast<sockaddr*>(&bound), &len);
  uint16_t port = ntohs(bound.sin_port);
  int hole = listen_on("127.0.0.2", port, 0);
  ASSERT_GE(hole, 0);
  std::vector<int> fillers;  // fill the accept queue: later SYNs get no answer
  for (int i = 0; i < 4; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    fillers.push_back(c);
  }
  std::this_thread::sleep_for(50ms);
  auto dial = [&](std::chrono::milliseconds delay) {
    asio::io_context io;
    DialOptions o;
    o.fallback_delay = delay;
    o.connect_timeout = 3s;
    std::chrono::milliseconds took{0};
    bool ok = false;
    std::vector<asio::ip::address> addrs = {asio::ip::make_address("127.0.0.2"), asio::ip::make_address("127.0.0.3")};
    asio::co_spawn(io, [&]() -> awaitable<void> {
      auto t0 = std::chrono::steady_clock::now();
      auto r = co_await dial_addresses(addrs, port, o);
      took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
      ok = r.ok() && r.ip == "127.0.0.3";
    }, asio::detached);
    io.run();
    EXPECT_TRUE(ok);
    return took;
  };
  auto fast = dial(100ms);
  auto slow = dial(700ms);
  EXPECT_GE(fast.count(), 90);
  EXPECT_LT(fast.count(), 280);  // the 300 ms default would be too late
  EXPECT_GE(slow.count(), 680);
  for (int c : fillers) ::close(c);
  ::close(hole);
  ::close(good);
}
