// tbload: tailbox's load generator and the servers it loads, for make bench (bench/run.sh).
// Plain POSIX sockets and one thread per stream or client, so that what it costs is the same
// for every proxy it measures.
//
//   tbload sink --listen HOST:PORT      discard server; prints "ready PORT" once it listens
//   tbload echo --listen HOST:PORT      echo server (epoll, one thread); prints "ready PORT"
//   tbload tput --target HOST:PORT [--proxy URL] [--streams N] [--secs S]
//        N streams write 64 KiB blocks to a sink; prints GB/s over the run after a warm-up
//   tbload conn --target HOST:PORT [--proxy URL] [--clients C] [--secs S] [--size B]
//        C clients each loop: connect, proxy handshake, B bytes (64) echoed, close; prints
//        connections per second and latency percentiles of a whole connection
//   tbload hold --target HOST:PORT [--proxy URL] [--count N]
//        opens N connections to an echo server (each echoes once), prints "held N fails=F",
//        keeps them open until stdin closes
//
// URL: socks5://HOST:PORT (no authentication, CONNECT), http://HOST:PORT (HTTP CONNECT), or
// none (straight to the target). HOST is an address or a name (sent to the proxy unresolved).
// Exit status: 0 measured; 1 a connection or server failed (the reason on stderr); 2 usage.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

enum class ProxyKind { kNone, kSocks5, kHttp };

struct Options {
  std::string mode;
  Endpoint listen, target, proxy;
  ProxyKind proxy_kind = ProxyKind::kNone;
  int streams = 1, clients = 1, count = 1000, size = 64;
  double secs = 3;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "tbload: %s\n", msg.c_str());
  std::exit(1);
}
[[noreturn]] void usage(const std::string& msg) {
  std::fprintf(stderr, "tbload: %s (usage: see the header of bench/tbload.cpp)\n", msg.c_str());
  std::exit(2);
}

Endpoint parse_endpoint(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size()) usage("not HOST:PORT: " + s);
  Endpoint e;
  e.host = s.substr(0, colon);
  if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  long port = std::strtol(s.c_str() + colon + 1, nullptr, 10);
  if (port < 0 || port > 65535) usage("bad port in " + s);
  e.port = static_cast<uint16_t>(port);
  return e;
}

void parse_proxy(const std::string& url, Options& o) {
  if (url == "none" || url == "direct") return;
  const std::string socks = "socks5://", http = "http://";
  if (url.rfind(socks, 0) == 0) {
    o.proxy_kind = ProxyKind::kSocks5;
    o.proxy = parse_endpoint(url.substr(socks.size()));
  } else if (url.rfind(http, 0) == 0) {
    o.proxy_kind = ProxyKind::kHttp;
    o.proxy = parse_endpoint(url.substr(http.size()));
  } else {
    usage("--proxy is socks5://HOST:PORT, http://HOST:PORT or none: " + url);
  }
}

Options parse_args(int argc, char** argv) {
  if (argc < 2) usage("no mode");
  Options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; i += 2) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage(k + " needs a value");
    std::string v = argv[i + 1];
    if (k == "--listen") o.listen = parse_endpoint(v);
    else if (k == "--target") o.target = parse_endpoint(v);
    else if (k == "--proxy") parse_proxy(v, o);
    else if (k == "--streams") o.streams = std::atoi(v.c_str());
    else if (k == "--clients") o.clients = std::atoi(v.c_str());
    else if (k == "--count") o.count = std::atoi(v.c_str());
    else if (k == "--size") o.size = std::atoi(v.c_str());
    else if (k == "--secs") o.secs = std::atof(v.c_str());
    else usage("unknown option " + k);
  }
  if (o.streams < 1 || o.clients < 1 || o.count < 1 || o.size < 1 || o.size > 65536 || o.secs <= 0) usage("bad number");
  return o;
}

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

Addr resolve(const Endpoint& e, bool passive) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(e.host.empty() ? nullptr : e.host.c_str(), std::to_string(e.port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) die("cannot resolve " + e.host + ": " + gai_strerror(rc));
  Addr a;
  std::memcpy(&a.ss, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  freeaddrinfo(res);
  return a;
}

bool write_all(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

int tcp_connect(const Addr& a) {
  int fd = ::socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.ss), a.len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// SOCKS5 (RFC 1928): no authentication, CONNECT to an IPv4/IPv6 literal or a name.
bool socks5_connect(int fd, const Endpoint& t) {
  unsigned char req[300] = {5, 1, 0};
  unsigned char rep[262];
  if (!write_all(fd, req, 3) || !read_all(fd, rep, 2) || rep[0] != 5 || rep[1] != 0) return false;
  size_t n = 0;
  req[n++] = 5, req[n++] = 1, req[n++] = 0;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, t.host.c_str(), &v4) == 1) {
    req[n++] = 1;
    std::memcpy(req + n, &v4, 4), n += 4;
  } else if (inet_pton(AF_INET6, t.host.c_str(), &v6) == 1) {
    req[n++] = 4;
    std::memcpy(req + n, &v6, 16), n += 16;
  } else {
    if (t.host.size() > 255) return false;
    req[n++] = 3;
    req[n++] = static_cast<unsigned char>(t.host.size());
    std::memcpy(req + n, t.host.data(), t.host.size()), n += t.host.size();
  }
  req[n++] = static_cast<unsigned char>(t.port >> 8), req[n++] = static_cast<unsigned char>(t.port & 0xff);
  if (!write_all(fd, req, n) || !read_all(fd, rep, 4) || rep[0] != 5 || rep[1] != 0) return false;
  size_t rest = rep[3] == 1 ? 4 : rep[3] == 4 ? 16 : 0;
  if (rep[3] == 3) {
    if (!read_all(fd, rep, 1)) return false;
    rest = rep[0];
  }
  return read_all(fd, rep, rest + 2);
}

// HTTP CONNECT: the reply's header is peeked until its blank line, then consumed exactly.
bool http_connect(int fd, const Endpoint& t) {
  std::string hp = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
  hp += ":" + std::to_string(t.port);
  std::string req = "CONNECT " + hp + " HTTP/1.1\r\nHost: " + hp + "\r\n\r\n";
  if (!write_all(fd, req.data(), req.size())) return false;
  char buf[4096];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf - 1, MSG_PEEK);
    if (r <= 0) return false;
    buf[r] = 0;
    const char* end = std::strstr(buf, "\r\n\r\n");
    if (end != nullptr) {
      size_t len = static_cast<size_t>(end - buf) + 4;
      bool ok = std::strncmp(buf, "HTTP/1.", 7) == 0 && std::strncmp(buf + 8, " 200", 4) == 0;
      return read_all(fd, buf, len) && ok;
    }
    if (r == sizeof buf - 1) return false;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 10000);
  }
}

struct Dialer {
  Options opt;
  Addr first;  // the proxy, or the target without one
  explicit Dialer(const Options& o) : opt(o), first(resolve(o.proxy_kind == ProxyKind::kNone ? o.target : o.proxy, false)) {}
  int open() const {
    int fd = tcp_connect(first);
    if (fd < 0) return -1;
    bool ok = opt.proxy_kind == ProxyKind::kNone || (opt.proxy_kind == ProxyKind::kSocks5 ? socks5_connect(fd, opt.target)
                                                                                         : http_connect(fd, opt.target));
    if (!ok) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
};

std::atomic<bool> g_stop{false};

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int run_tput(const Options& o) {
  Dialer d(o);
  std::vector<std::atomic<uint64_t>> bytes(static_cast<size_t>(o.streams));
  std::atomic<int> fails{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < o.streams; ++i) {
    ts.emplace_back([&, i] {
      int fd = d.open();
      if (fd < 0) return void(fails++);
      std::vector<char> buf(65536, 'x');
      while (!g_stop.load(std::memory_order_relaxed)) {
        ssize_t w = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
        if (w <= 0) {
          if (!g_stop) fails++;
          break;
        }
        bytes[static_cast<size_t>(i)].fetch_add(static_cast<uint64_t>(w), std::memory_order_relaxed);
      }
      ::close(fd);
    });
  }
  auto sum = [&] {
    uint64_t s = 0;
    for (auto& b : bytes) s += b.load();
    return s;
  };
  double warm = std::min(0.5, o.secs / 4);
  std::this_thread::sleep_for(std::chrono::duration<double>(warm));
  auto t0 = Clock::now();
  uint64_t b0 = sum();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.secs));
  uint64_t b1 = sum();
  double el = since(t0);
  g_stop = true;
  for (auto& t : ts) t.join();
  if (fails > 0) die(std::to_string(fails.load()) + " of " + std::to_string(o.streams) + " streams failed");
  std::printf("tput streams=%d secs=%.2f bytes=%llu GB/s=%.4f\n", o.streams, el, static_cast<unsigned long long>(b1 - b0),
              static_cast<double>(b1 - b0) / el / 1e9);
  return 0;
}

double percentile(const std::vector<float>& v, double q) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

int run_conn(const Options& o) {
  Dialer d(o);
  std::vector<std::vector<float>> lat(static_cast<size_t>(o.clients));
  std::atomic<long> fails{0};
  std::vector<std::thread> ts;
  auto t0 = Clock::now();
  for (int i = 0; i < o.clients; ++i) {
    ts.emplace_back([&, i] {
      std::vector<char> msg(static_cast<size_t>(o.size), 'x'), got(static_cast<size_t>(o.size));
      auto& mine = lat[static_cast<size_t>(i)];
      mine.reserve(1 << 16);
      while (!g_stop.load(std::memory_order_relaxed)) {
        auto c0 = Clock::now();
        int fd = d.open();
        bool ok = fd >= 0 && write_all(fd, msg.data(), msg.size()) && read_all(fd, got.data(), got.size());
        if (fd >= 0) ::close(fd);
        if (!ok) {
          fails++;
          continue;
        }
        mine.push_back(static_cast<float>(since(c0) * 1e6));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.secs));
  g_stop = true;
  for (auto& t : ts) t.join();
  double el = since(t0);
  std::vector<float> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  if (all.empty()) die("no connection completed (" + std::to_string(fails.load()) + " failed)");
  std::printf("conn clients=%d secs=%.2f conns=%zu conn/s=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f fails=%ld\n", o.clients, el,
              all.size(), static_cast<double>(all.size()) / el, percentile(all, 0.5), percentile(all, 0.9),
              percentile(all, 0.99), fails.load());
  return 0;
}

int run_hold(const Options& o) {
  Dialer d(o);
  std::vector<int> fds;
  std::mutex mu;
  std::atomic<int> next{0}, fails{0};
  std::vector<std::thread> ts;
  for (int w = 0; w < std::min(16, o.count); ++w) {
    ts.emplace_back([&] {
      char m[16] = "held", r[16];
      while (next++ < o.count) {
        int fd = d.open();
        if (fd < 0 || !write_all(fd, m, sizeof m) || !read_all(fd, r, sizeof r)) {
          if (fd >= 0) ::close(fd);
          fails++;
          continue;
        }
        std::lock_guard<std::mutex> g(mu);
        fds.push_back(fd);
      }
    });
  }
  for (auto& t : ts) t.join();
  std::printf("held %zu fails=%d\n", fds.size(), fails.load());
  std::fflush(stdout);
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  for (int fd : fds) ::close(fd);
  return fails > 0 ? 1 : 0;
}

int listen_on(const Endpoint& e) {
  Addr a = resolve(e, true);
  int fd = ::socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a.ss), a.len) != 0 || ::listen(fd, 4096) != 0)
    die("cannot listen on " + e.host + ":" + std::to_string(e.port) + ": " + std::strerror(errno));
  sockaddr_storage got{};
  socklen_t len = sizeof got;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &len);
  uint16_t port = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                                 : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  std::printf("ready %u\n", port);
  std::fflush(stdout);
  return fd;
}

int run_sink(const Options& o) {
  int l = listen_on(o.listen);
  for (;;) {
    int c = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread([c] {
      std::unique_ptr<char[]> buf(new char[1 << 16]);
      while (::read(c, buf.get(), 1 << 16) > 0) {
      }
      ::close(c);
    }).detach();
  }
}

void echo_readable(int ep, int fd) {
  char buf[16384];
  ssize_t r = ::read(fd, buf, sizeof buf);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  bool ok = r > 0;
  size_t off = 0;
  while (ok && off < static_cast<size_t>(r)) {
    ssize_t w = ::send(fd, buf + off, static_cast<size_t>(r) - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += static_cast<size_t>(w);
    } else if (w < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ok = ::poll(&p, 1, 10000) > 0;
    } else {
      ok = false;
    }
  }
  if (!ok) {
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
  }
}

int run_echo(const Options& o) {
  int l = listen_on(o.listen);
  ::fcntl(l, F_SETFL, ::fcntl(l, F_GETFL) | O_NONBLOCK);  // accepted until EAGAIN
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = l;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  epoll_event evs[256];
  for (;;) {
    int n = ::epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd != l) {
        echo_readable(ep, fd);
        continue;
      }
      int c;
      while ((c = ::accept4(l, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        epoll_event ce{};
        ce.events = EPOLLIN;
        ce.data.fd = c;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  Options o = parse_args(argc, argv);
  bool server = o.mode == "sink" || o.mode == "echo";
  if (server && o.listen.host.empty() && o.listen.port == 0) usage(o.mode + " needs --listen HOST:PORT");
  if (!server && o.target.port == 0) usage(o.mode + " needs --target HOST:PORT");
  if (o.mode == "sink") return run_sink(o);
  if (o.mode == "echo") return run_echo(o);
  if (o.mode == "tput") return run_tput(o);
  if (o.mode == "conn") return run_conn(o);
  if (o.mode == "hold") return run_hold(o);
  usage("unknown mode " + o.mode);
}
