#include "libcommon/net/server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <thread>

#include "libcommon/net/protect.hpp"
#include "libcommon/net/pump.hpp"
#include "libcommon/net/relay_session.hpp"

namespace tb::net {

using namespace std::chrono_literals;
using tb::core::ExitCode;
using tb::core::fail;

std::string check_exposure(const std::vector<InboundSpec>& inbounds, bool allow_open) {
  for (const auto& in : inbounds) {
    std::error_code ec;
    auto a = asio::ip::make_address(in.listen, ec);
    if (ec) return "inbound " + in.tag + ": listen address \"" + in.listen + "\" is not an IP address";
    if (a.is_loopback() || allow_open || !in.users.empty()) continue;
    return "inbound " + in.tag + " would listen on " + in.listen +
           " (not loopback) without users: anyone who can reach it could use the proxy; add users or pass --allow-open";
  }
  return "";
}

struct Worker {
  asio::io_context io{1};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::thread thread;
};

struct RelayServer::Impl {
  std::shared_ptr<RelayShared> shared = std::make_shared<RelayShared>();
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<BoundInbound> bound;
  bool started = false;

  tb::core::Result<BoundInbound> listen(const InboundSpec& in);
};

bool listeners_match(const std::vector<InboundSpec>& inbounds, const std::vector<BoundInbound>& bound) {
  if (inbounds.size() != bound.size()) return false;
  for (size_t i = 0; i < inbounds.size(); ++i) {
    const auto& in = inbounds[i];
    if (in.tag != bound[i].spec.tag || in.listen != bound[i].spec.listen || (in.port != 0 && in.port != bound[i].port) ||
        in.socket != bound[i].spec.socket)
      return false;
  }
  return true;
}

namespace {

// Descriptors, in one place: the soft limit is raised to the hard one (as Go programs do), the
// connection cap is lowered (with a warning) to what the limit holds at two descriptors per
// connection beside the relay's own, so connections beyond it are refused politely rather than
// failing mid-dial; splice pipes only get what is left (set_pipe_budget).
void fit_file_limit(RelayOptions& opts, unsigned loops) {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
    struct rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return;
  int64_t usable = static_cast<int64_t>(rl.rlim_cur) - 32 - 4 * static_cast<int64_t>(loops);
  int64_t fit = std::max<int64_t>(1, usable / 2);
  if (opts.max_connections > fit) {
    spdlog::warn("a connection cap of {} (--max-connections) needs more descriptors than the limit of {} (ulimit -n); "
                 "accepting at most {} connections",
                 opts.max_connections, static_cast<int64_t>(rl.rlim_cur), fit);
    opts.max_connections = fit;
  }
  set_pipe_budget(std::max<int64_t>(0, (usable - 2 * opts.max_connections) / 2));
}

awaitable<void> accept_loop(tcp::acceptor& acc, InboundCtx ctx) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer backoff(ex);
  auto last_warn = std::chrono::steady_clock::time_point{};
  for (;;) {
    tcp::endpoint peer;  // from accept itself: no getpeername per connection
    auto [ec, sock] = co_await acc.async_accept(peer, use_tuple);
    if (!acc.is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors (or another transient failure): back off instead of spinning.
      auto now = std::chrono::steady_clock::now();
      if (now - last_warn > 5s) {
        spdlog::warn("accept on {}: {}; backing off", ctx.spec->tag, ec.message());
        last_warn = now;
      }
      backoff.expires_after(ec == asio::error::no_descriptors || ec.value() == ENFILE ? 100ms : 10ms);
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    auto& sh = *ctx.shared;
    if (sh.active.load() >= sh.opts.max_connections) {
      if (sh.refusing.fetch_add(1) >= 64) {  // refusals are bounded too
        sh.refusing.fetch_sub(1);
        std::error_code ignored;
        sock.close(ignored);
        continue;
      }
      asio::co_spawn(ex, refuse_session(std::move(sock), peer, ctx), [](std::exception_ptr e) {
        if (e) spdlog::error("refusal ended with an exception");
      });
      continue;
    }
    sh.active.fetch_add(1);
    asio::co_spawn(ex, run_session(std::move(sock), peer, ctx), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("session ended with an exception: {}", x.what());
      } catch (...) {
        spdlog::error("session ended with an unknown exception");
      }
    });
  }
}

// A loop that has just handled events polls (epoll_wait with no timeout) for `busy_poll` more
// before it sleeps, as the kernel's busy_poll does for NAPI: the next step of a connection (the
// upstream's answer, the client's next request) usually comes within tens of microseconds on a
// local path, and sleeping and waking for it costs more than that. Between polls it yields, so a
// thread waiting for the CPU is not held up. An idle relay sleeps at once, and so does a loop with
// more than a few connections: their events keep it busy anyway, and a loaded relay should leave
// the CPU to the other processes rather than spin.
constexpr int kBusyPollSessions = 4;
void run_loop(asio::io_context& io, std::chrono::microseconds busy_poll) {
  auto guard = asio::make_work_guard(io);
  if (busy_poll.count() <= 0) {
    io.run();
    return;
  }
  auto last = std::chrono::steady_clock::now();
  while (!io.stopped()) {
    if (io.poll() > 0) {
      last = std::chrono::steady_clock::now();
      continue;
    }
    if (loop_sessions() <= kBusyPollSessions && std::chrono::steady_clock::now() - last < busy_poll) {
      sched_yield();  // politely: a thread waiting for this CPU gets it first
      continue;
    }
    io.run_one();
    last = std::chrono::steady_clock::now();
  }
}

}  // namespace

RelayServer::RelayServer(RelayOptions opts) : impl_(std::make_unique<Impl>()) { impl_->shared->opts = opts; }

RelayServer::~RelayServer() {
  if (impl_->started) drain_and_stop(0ms);
}

namespace {

// Opens, binds and listens on a new socket for `ep` (SO_REUSEPORT when asked), with the
// inbound's listen fields (protect.hpp: netns, tcp_multi_path, bind_interface, routing_mark,
// reuse_addr, tcp_fast_open); "" or the error.
std::string open_acceptor(tcp::acceptor& acc, const tcp::endpoint& ep, bool reuseport, const DialOptions& sock) {
  std::string error;
  int fd = open_socket_fd(SocketKind::kTcp, ep.address().is_v6(), sock, error);
  if (fd < 0) return error;
  std::error_code ec;
  acc.assign(ep.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return ec.message();
  }
  if (auto e = protect_listener(fd, SocketKind::kTcp, sock); !e.empty()) return e;
  // Keep-alive as the inbound's keys say (Go's ListenConfig sets it on each accepted conn) and
  // TCP_NODELAY: Linux copies both from the listening socket into every socket accept() returns,
  // so they are set once here instead of five setsockopt() calls per connection.
  if (auto e = set_keep_alive(fd, sock); !e.empty()) return e;
  acc.set_option(tcp::no_delay(true), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && reuseport) {
    int one = 1;
    if (setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      ec = std::error_code(errno, std::system_category());
  }
  if (!ec && ep.address().is_v6()) acc.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) {
    // Clients of a mixed inbound speak first (SOCKS greeting, HTTP request line): accept() when
    // that first data is there, so one wakeup takes both. A client that sends nothing is
    // accepted after about a second all the same (and then meets the handshake timeout).
    int secs = 1;
    ::setsockopt(acc.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
  }
  return ec ? ec.message() : "";
}

// Another loop's acceptor on the same listening socket: a dup of its descriptor.
std::error_code share_acceptor(tcp::acceptor& acc, const tcp::endpoint& ep, int listening_fd) {
  std::error_code ec;
  int fd = ::fcntl(listening_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return std::error_code(errno, std::system_category());
  acc.assign(ep.protocol(), fd, ec);
  if (ec) ::close(fd);
  return ec;
}

// SO_REUSEPORT would let this relay share a port another process (of the same user) already
// listens on, silently splitting its connections. A plain bind first makes that an error.
std::error_code probe_port(asio::io_context& io, const tcp::endpoint& ep) {
  tcp::acceptor probe(io);
  std::error_code ec;
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && ep.address().is_v6()) probe.set_option(asio::ip::v6_only(true), ec);
  if (!ec) probe.bind(ep, ec);
  return ec;
}

}  // namespace

// One inbound on every loop. Default: one listening socket whose descriptor every loop watches (a
// dup each), so whichever loop is free accepts the next connection. With --reuseport, one socket
// per loop and the kernel spreads connections by address hash: measured side by side on 2 cores
// at 64 concurrent clients, that uneven split doubled p99 latency.
tb::core::Result<BoundInbound> RelayServer::Impl::listen(const InboundSpec& in) {
  std::error_code ec;
  auto addr = asio::ip::make_address(in.listen, ec);
  if (ec) return fail(ExitCode::kConfig, "inbound " + in.tag + ": bad listen address " + in.listen);
  BoundInbound b;
  b.spec = in;
  b.port = in.port;
  auto failed = [&](const std::string& e) {
    return fail(ExitCode::kUnavailable, "inbound " + in.tag + ": listen on " + HostPort{in.listen, b.port}.str() + ": " + e);
  };
  bool reuseport = shared->opts.reuseport && workers.size() > 1;
  if (b.port != 0 && reuseport)
    if (auto pec = probe_port(workers.front()->io, tcp::endpoint(addr, b.port))) return failed(pec.message());
  int listening_fd = -1;
  for (auto& w : workers) {
    tcp::endpoint ep(addr, b.port);
    auto acc = std::make_unique<tcp::acceptor>(w->io);
    bool share = !reuseport && listening_fd >= 0;
    if (share) {
      if (auto aec = share_acceptor(*acc, ep, listening_fd)) return failed(aec.message());
    } else if (auto aerr = open_acceptor(*acc, ep, reuseport, in.socket); !aerr.empty()) {
      return failed(aerr);
    }
    if (!share) {
      if (b.port == 0) b.port = acc->local_endpoint().port();  // the other loops share the chosen port
      listening_fd = acc->native_handle();
    }
    w->acceptors.push_back(std::move(acc));
  }
  b.address = HostPort{in.listen, b.port}.str();
  return b;
}

tb::core::Result<std::vector<BoundInbound>> RelayServer::start(std::shared_ptr<const Plan> plan) {
  auto& sh = *impl_->shared;
  sh.plan = plan;
  unsigned n = sh.opts.threads ? sh.opts.threads : std::max(1u, std::thread::hardware_concurrency());
  fit_file_limit(sh.opts, n);
  for (unsigned i = 0; i < n; ++i) impl_->workers.push_back(std::make_unique<Worker>());
  if (plan->inbounds.empty()) return fail(ExitCode::kConfig, "the config has no inbounds to listen on");
  for (const auto& in : plan->inbounds) {
    auto b = impl_->listen(in);
    if (!b) return tl::unexpected(b.error());
    impl_->bound.push_back(std::move(*b));
  }
  std::vector<std::shared_ptr<const InboundSpec>> specs;  // one per inbound, shared by every worker's sessions
  for (const auto& in : plan->inbounds) specs.push_back(std::make_shared<const InboundSpec>(in));
  for (auto& w : impl_->workers) {
    for (size_t i = 0; i < w->acceptors.size(); ++i) {
      InboundCtx ctx{specs[i], impl_->shared};
      asio::co_spawn(w->io, accept_loop(*w->acceptors[i], ctx), [](std::exception_ptr e) {
        if (e) spdlog::error("accept loop ended with an exception");
      });
    }
    Worker* wp = w.get();
    auto busy_poll = sh.opts.busy_poll;
    w->thread = std::thread([wp, busy_poll] { run_loop(wp->io, busy_poll); });
  }
  impl_->started = true;
  return impl_->bound;
}

bool RelayServer::set_plan(std::shared_ptr<const Plan> plan) {
  auto& sh = *impl_->shared;
  std::lock_guard lock(sh.mu);
  bool kept = plan->inbounds == sh.plan->inbounds || listeners_match(plan->inbounds, impl_->bound);
  sh.plan = std::move(plan);
  return kept;
}

std::shared_ptr<const Plan> RelayServer::plan() const { return impl_->shared->current(); }
const std::vector<BoundInbound>& RelayServer::bound() const { return impl_->bound; }
int64_t RelayServer::active() const { return impl_->shared->active.load(); }

void RelayServer::drain_and_stop(std::chrono::milliseconds deadline) {
  if (!impl_->started) return;
  impl_->started = false;
  impl_->shared->draining = true;
  for (auto& w : impl_->workers) {
    Worker* wp = w.get();
    asio::post(wp->io, [wp] {
      for (auto& a : wp->acceptors) {
        std::error_code ec;
        a->close(ec);
      }
    });
  }
  auto until = std::chrono::steady_clock::now() + deadline;
  while (impl_->shared->active.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  for (auto& w : impl_->workers) w->io.stop();
  for (auto& w : impl_->workers)
    if (w->thread.joinable()) w->thread.join();
}

}  // namespace tb::net
