#include "libcommon/net/protect.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/experimental/awaitable_operators.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "libcommon/net/route_monitor.hpp"

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace tb::net {

using namespace std::chrono_literals;

namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

bool set_int(int fd, int level, int name, int value) { return ::setsockopt(fd, level, name, &value, sizeof value) == 0; }

// sing's control.BindToInterface (bind_linux.go): SO_BINDTOIFINDEX, else SO_BINDTODEVICE where the
// kernel lacks it. Inside a netns by name: an index from here would name another namespace's link.
std::string bind_to(int fd, const std::string& name, unsigned index, bool by_name, const std::string& field) {
  if (!by_name) {
    if (index == 0) index = if_nametoindex(name.c_str());
    if (index == 0) return field + " " + name + ": no such interface";
    if (set_int(fd, SOL_SOCKET, SO_BINDTOIFINDEX, static_cast<int>(index))) return "";
    if (errno != ENOPROTOOPT && errno != EINVAL) return errno_text(field + " " + name);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name.c_str(), static_cast<socklen_t>(name.size())) != 0)
    return errno_text(field + " " + name);
  return "";
}

// sing's BindToInterface0: loopback and multicast destinations are never bound.
bool is_virtual(asio::ip::address a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a.is_loopback() || a.is_multicast();
}

// route.default_interface, else route.auto_detect_interface (sing-box's route/network.go). The
// monitor follows the host's namespace: inside a netns only a named default_interface applies.
std::string bind_default(int fd, const asio::ip::address& remote, const DialOptions& o) {
  if ((o.default_interface.empty() && !o.auto_detect_interface) || is_virtual(remote)) return "";
  if (!o.default_interface.empty())
    return bind_to(fd, o.default_interface, 0, !o.netns.empty(), "route.default_interface");
  if (!o.netns.empty()) return "";
  auto iface = auto_detect_interface_for(remote);
  if (!iface) return "route.auto_detect_interface: no default route in the main table";
  return bind_to(fd, iface->name, iface->index, false, "route.auto_detect_interface");
}

// What sing-box's Control functions do before protect_path: bind_interface, routing_mark, the
// route's default interface.
std::string before_protect(int fd, const asio::ip::address& remote, const DialOptions& o) {
  if (!o.bind_interface.empty())
    if (auto e = bind_to(fd, o.bind_interface, 0, !o.netns.empty(), "bind_interface"); !e.empty()) return e;
  if (o.routing_mark && !set_int(fd, SOL_SOCKET, SO_MARK, static_cast<int>(*o.routing_mark)))
    return errno_text("routing_mark (SO_MARK needs CAP_NET_ADMIN)");
  return bind_default(fd, remote, o);
}

int whole_seconds(std::chrono::milliseconds d, std::chrono::milliseconds fallback) {
  if (d.count() <= 0) d = fallback;
  return static_cast<int>(std::ceil(static_cast<double>(d.count()) / 1000.0));  // Go rounds up
}

// After protect_path: bind_address_no_port, udp_fragment, reuse_addr (UDP), keep-alive and
// tcp_fast_open (TCP).
std::string after_protect(int fd, SocketKind kind, bool v6, const DialOptions& o) {
  if (kind == SocketKind::kTcp) {
    if (o.bind_address_no_port && !set_int(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1) && errno != ENOPROTOOPT &&
        errno != EINVAL)
      return errno_text("bind_address_no_port");
    if (auto e = set_keep_alive(fd, o); !e.empty()) return e;
    if (o.tcp_fast_open && !set_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1))
      return errno_text("tcp_fast_open (TCP_FASTOPEN_CONNECT)");
    return "";
  }
  if (!o.udp_fragment.value_or(false)) {  // sing's control.DisableUDPFragment
    if (!set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)) return errno_text("udp_fragment (IP_MTU_DISCOVER)");
    if (v6 && !set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IP_PMTUDISC_DO))
      return errno_text("udp_fragment (IPV6_MTU_DISCOVER)");
  }
  if (o.reuse_addr && (!set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) || !set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)))
    return errno_text("reuse_addr");
  return "";
}

std::string protect_error(const std::string& path, const std::string& why) { return "protect_path " + path + ": " + why; }

// One byte with the descriptor in SCM_RIGHTS (sing's sendAncillaryFileDescriptors).
ssize_t send_descriptor(int unix_fd, int fd) {
  char byte = 1;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return ::sendmsg(unix_fd, &msg, MSG_NOSIGNAL);
}

using unix_socket = asio::local::stream_protocol::socket;

awaitable<std::string> exchange(unix_socket& s, int fd, const std::string& path) {
  auto [ce] = co_await s.async_connect(asio::local::stream_protocol::endpoint(path), use_tuple);
  if (ce) co_return "connect: " + ce.message();
  ssize_t sent;
  while ((sent = send_descriptor(s.native_handle(), fd)) < 0 && (errno == EAGAIN || errno == EINTR)) {
    auto [we] = co_await s.async_wait(unix_socket::wait_write, use_tuple);
    if (we) co_return "send: " + we.message();
  }
  if (sent != 1) co_return errno_text("send");
  uint8_t answer = 0;
  auto [re, n] = co_await asio::async_read(s, asio::buffer(&answer, 1), use_tuple);
  if (re == asio::error::eof) co_return "the server closed the connection without answering (refused)";
  if (re) co_return "read: " + re.message();
  co_return "";
}

awaitable<std::string> ask_protect_server(int fd, const std::string& path, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  unix_socket s(ex);
  asio::steady_timer timer(ex, timeout);
  auto result = co_await (exchange(s, fd, path) || timer.async_wait(use_tuple));
  if (result.index() == 1)
    co_return protect_error(path, "no answer within " + std::to_string(timeout.count()) + " ms");
  auto& err = std::get<0>(result);
  co_return err.empty() ? err : protect_error(path, err);
}

// The same exchange on this thread: poll() bounds each step by what is left of `timeout`.
std::string ask_protect_server_blocking(int fd, const std::string& path, std::chrono::milliseconds timeout) {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return protect_error(path, errno_text("socket"));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto wait = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{s, events, 0};
    return left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1;
  };
  std::string err;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) err = "path too long";
  std::memcpy(sa.sun_path, path.data(), std::min(path.size(), sizeof sa.sun_path - 1));
  if (err.empty() && ::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) err = errno_text("connect");
  if (err.empty() && send_descriptor(s, fd) != 1) err = errno_text("send");
  uint8_t answer = 0;
  ssize_t n = -1;
  if (err.empty() && !wait(POLLIN)) err = "no answer within " + std::to_string(timeout.count()) + " ms";
  if (err.empty() && (n = ::recv(s, &answer, 1, 0)) != 1)
    err = n == 0 ? "the server closed the connection without answering (refused)" : errno_text("read");
  ::close(s);
  return err.empty() ? err : protect_error(path, err);
}

std::chrono::milliseconds protect_timeout(const DialOptions& o) {
  return o.connect_timeout.count() > 0 ? o.connect_timeout : 5000ms;
}

std::string bind_source(int fd, bool v6, const DialOptions& o) {
  const std::string& bind = v6 ? o.inet6_bind_address : o.inet4_bind_address;
  if (bind.empty()) return "";
  const char* field = v6 ? "inet6_bind_address" : "inet4_bind_address";
  std::error_code ec;
  auto a = asio::ip::make_address(bind, ec);
  if (ec) return std::string(field) + " " + bind + ": not an IP address";
  asio::ip::udp::endpoint ep(a, 0);  // only the sockaddr is used
  if (::bind(fd, ep.data(), static_cast<socklen_t>(ep.size())) != 0) return errno_text(std::string(field) + " " + bind);
  return "";
}

template <typename Proto>
awaitable<Protected<typename Proto::socket>> open_kind(const typename Proto::endpoint& remote, const DialOptions& o,
                                                       SocketKind kind) {
  auto ex = co_await asio::this_coro::executor;
  Protected<typename Proto::socket> r;
  bool v6 = remote.address().is_v6();
  int fd = open_socket_fd(kind, v6, o, r.error);
  if (fd < 0) co_return r;
  typename Proto::socket s(ex);
  std::error_code ec;
  s.assign(v6 ? Proto::v6() : Proto::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    r.error = "socket: " + ec.message();
    co_return r;
  }
  r.error = co_await protect_socket(fd, kind, remote.address(), o);
  if (r.error.empty()) r.error = bind_source(fd, v6, o);
  if (r.error.empty()) r.socket.emplace(std::move(s));
  co_return r;
}

}  // namespace

std::string set_keep_alive(int fd, const DialOptions& o) {
  if (o.disable_tcp_keep_alive) return "";
  // common/dialer/default.go: idle C.TCPKeepAliveInitial (5 min), interval C.TCPKeepAliveInterval
  // (75 s); Go's KeepAliveConfig sends 9 probes when Count is 0.
  if (!set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1) ||
      !set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, whole_seconds(o.tcp_keep_alive, 300s)) ||
      !set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, whole_seconds(o.tcp_keep_alive_interval, 75s)) ||
      !set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 9))
    return errno_text("tcp_keep_alive");
  return "";
}

std::string protect_listener(int fd, SocketKind kind, const DialOptions& o) {
  if (!o.bind_interface.empty())
    if (auto e = bind_to(fd, o.bind_interface, 0, !o.netns.empty(), "bind_interface"); !e.empty()) return e;
  if (o.routing_mark && !set_int(fd, SOL_SOCKET, SO_MARK, static_cast<int>(*o.routing_mark)))
    return errno_text("routing_mark (SO_MARK needs CAP_NET_ADMIN)");
  if (o.reuse_addr && (!set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) || !set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)))
    return errno_text("reuse_addr");
  if (kind == SocketKind::kTcp && o.tcp_fast_open) {
    int backlog = SOMAXCONN;  // tfo-go: Go's listenerBacklog(), net.core.somaxconn
    if (FILE* f = std::fopen("/proc/sys/net/core/somaxconn", "r")) {
      if (std::fscanf(f, "%d", &backlog) != 1) backlog = SOMAXCONN;
      std::fclose(f);
    }
    if (!set_int(fd, IPPROTO_TCP, TCP_FASTOPEN, backlog)) return errno_text("tcp_fast_open (TCP_FASTOPEN)");
  }
  return "";
}

int open_socket_fd(SocketKind kind, bool v6, const DialOptions& o, std::string& error) {
  int domain = v6 ? AF_INET6 : AF_INET;
  int type = (kind == SocketKind::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK;
  int proto = kind == SocketKind::kUdp ? IPPROTO_UDP : o.tcp_multi_path ? IPPROTO_MPTCP : IPPROTO_TCP;
  auto make = [&] {
    int fd = ::socket(domain, type, proto);
    // Go's SetMultipathTCP: plain TCP where the kernel has no MPTCP.
    if (fd < 0 && proto == IPPROTO_MPTCP && (errno == EPROTONOSUPPORT || errno == EINVAL || errno == ENOPROTOOPT))
      fd = ::socket(domain, type, IPPROTO_TCP);
    return fd;
  };
  if (o.netns.empty()) {
    int fd = make();
    if (fd < 0) error = errno_text("socket");
    return fd;
  }
  // sing-box's listener.ListenNetworkNamespace: a name is under /var/run/netns, a path is itself.
  std::string path = o.netns.front() == '/' ? o.netns : "/var/run/netns/" + o.netns;
  int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) {
    error = errno_text("netns " + o.netns);
    return -1;
  }
  // The socket belongs to the namespace of the thread that creates it: a short-lived thread
  // enters the namespace, opens it, and ends (the loop's own thread never moves).
  int fd = -1, err = 0;
  const char* step = "setns";
  std::thread([&] {
    if (::setns(ns, CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    step = "socket";
    fd = make();
    if (fd < 0) err = errno;
  }).join();
  ::close(ns);
  if (fd < 0) error = "netns " + o.netns + ": " + step + ": " + std::strerror(err);
  return fd;
}

awaitable<std::string> protect_socket(int fd, SocketKind kind, const asio::ip::address& remote, const DialOptions& o) {
  if (auto e = before_protect(fd, remote, o); !e.empty()) co_return e;
  if (!o.protect_path.empty())
    if (auto e = co_await ask_protect_server(fd, o.protect_path, protect_timeout(o)); !e.empty()) co_return e;
  co_return after_protect(fd, kind, remote.is_v6(), o);
}

std::string protect_socket_blocking(int fd, SocketKind kind, const asio::ip::address& remote, const DialOptions& o) {
  if (auto e = before_protect(fd, remote, o); !e.empty()) return e;
  if (!o.protect_path.empty())
    if (auto e = ask_protect_server_blocking(fd, o.protect_path, protect_timeout(o)); !e.empty()) return e;
  return after_protect(fd, kind, remote.is_v6(), o);
}

awaitable<Protected<tcp::socket>> open_tcp(const tcp::endpoint& remote, const DialOptions& opts) {
  return open_kind<tcp>(remote, opts, SocketKind::kTcp);
}

awaitable<Protected<udp::socket>> open_udp(const udp::endpoint& remote, const DialOptions& opts) {
  return open_kind<udp>(remote, opts, SocketKind::kUdp);
}

}  // namespace tb::net
