// Happy eyeballs over the resolved addresses of one destination (RFC 8305: families interleaved,
// the next attempt after fallback_delay, first success wins), every socket from protect.hpp's
// open_tcp, bounded by connect_timeout.

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>

#include "libcommon/net/dialer.hpp"
#include "libcommon/net/protect.hpp"

namespace tb::net {

using namespace std::chrono_literals;

namespace {

// RFC 8305 §4: alternate families, starting with the first one the resolver returned.
std::vector<asio::ip::address> interleave(const std::vector<asio::ip::address>& in) {
  std::vector<asio::ip::address> v6, v4, out;
  for (const auto& a : in) (a.is_v6() ? v6 : v4).push_back(a);
  bool six_first = !in.empty() && in.front().is_v6();
  auto& first = six_first ? v6 : v4;
  auto& second = six_first ? v4 : v6;
  for (size_t i = 0; i < std::max(first.size(), second.size()); ++i) {
    if (i < first.size()) out.push_back(first[i]);
    if (i < second.size()) out.push_back(second[i]);
  }
  return out;
}

struct Race {
  explicit Race(asio::any_io_executor ex) : wake(ex) {}
  std::vector<std::unique_ptr<tcp::socket>> attempts;
  std::optional<tcp::socket> winner;
  std::string winner_ip;
  std::error_code last_error;
  int pending = 0;
  bool finished = false;
  bool timed_out = false;
  asio::steady_timer wake;
};

// The outcome of a connect() that has finished (the socket is writable): SO_ERROR.
std::error_code connect_result(tcp::socket& sock) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err ? std::error_code(err, asio::error::get_system_category()) : std::error_code{};
}

// A non-blocking connect(). Loopback (and other local) connects are usually established, or
// refused, by the time connect() returns: a zero-timeout poll() then settles it without the
// reactor. `pending` says the caller must wait (finish_connect).
std::error_code begin_connect(tcp::socket& sock, const tcp::endpoint& ep, bool& pending) {
  pending = false;
  std::error_code ec;
  if (!sock.native_non_blocking()) sock.native_non_blocking(true, ec);
  if (ec) return ec;
  if (::connect(sock.native_handle(), ep.data(), static_cast<socklen_t>(ep.size())) == 0) return {};
  if (errno != EINPROGRESS && errno != EINTR) return std::error_code(errno, asio::error::get_system_category());
  struct pollfd pfd {sock.native_handle(), POLLOUT, 0};
  if (::poll(&pfd, 1, 0) != 1) {
    pending = true;
    return {};
  }
  return connect_result(sock);
}

// The wait for writability, then SO_ERROR: what async_connect does, less the poll() it adds.
awaitable<std::error_code> finish_connect(tcp::socket& sock) {
  auto [we] = co_await sock.async_wait(tcp::socket::wait_write, use_tuple);
  if (we) co_return we;
  co_return connect_result(sock);
}

// One attempt of the race; `started` when begin_connect already left it pending.
awaitable<void> attempt(std::shared_ptr<Race> race, size_t i, tcp::endpoint ep, bool started) {
  std::error_code ec;
  bool pending = started;
  if (!started) ec = begin_connect(*race->attempts[i], ep, pending);
  if (pending) ec = co_await finish_connect(*race->attempts[i]);
  --race->pending;
  if (!ec && !race->finished) {
    race->finished = true;
    race->winner.emplace(std::move(*race->attempts[i]));
    race->winner_ip = ep.address().to_string();
  } else if (ec) {
    race->last_error = ec;
  }
  race->wake.cancel();
}

// Every attempt failed: the last connect error, or else why no socket could be set up.
DialResult dial_failure(const std::error_code& last_error, const std::string& setup_error) {
  if (!last_error) return failure(setup_error.empty() ? "connect failed" : setup_error, socks5::Reply::kGeneralFailure, 502);
  DialResult r;
  r.error = "connect: " + last_error.message();
  classify_error(last_error, r);
  return r;
}

// A socket for one address, opened and protected as the outbound says (protect.hpp); nullptr and
// `error` set when that fails: the address is then not tried, never without protection.
awaitable<std::unique_ptr<tcp::socket>> open_attempt(const tcp::endpoint& ep, const DialOptions& opts, std::string& error) {
  auto p = co_await open_tcp(ep, opts);
  if (!p.ok()) {
    error = p.error;
    co_return nullptr;
  }
  co_return std::make_unique<tcp::socket>(std::move(*p.socket));
}

}  // namespace

awaitable<DialResult> dial_addresses(std::vector<asio::ip::address> addrs, uint16_t port, const DialOptions& opts) {
  auto ex = co_await asio::this_coro::executor;
  if (addrs.empty()) co_return failure("no address to dial", socks5::Reply::kHostUnreachable, 502);
  addrs = interleave(addrs);
  std::string setup_error;
  // The first address first, without the race's timers and coroutines: when its connect settles at
  // once (a local destination, an immediate refusal), that is the whole dial.
  tcp::endpoint first_ep(addrs[0], port);
  auto first = co_await open_attempt(first_ep, opts, setup_error);
  bool first_pending = false;
  std::error_code first_error;
  if (first) {
    first_error = begin_connect(*first, first_ep, first_pending);
    if (!first_pending && !first_error) {
      DialResult r;
      r.socket.emplace(std::move(*first));
      r.ip = addrs[0].to_string();
      co_return r;
    }
    if (!first_pending) first.reset();
  }
  if (!first_pending && addrs.size() == 1) co_return dial_failure(first_error, setup_error);
  auto race = std::make_shared<Race>(ex);
  race->last_error = first_error;
  auto deadline = std::chrono::steady_clock::now() + opts.connect_timeout;
  asio::steady_timer watchdog(ex, opts.connect_timeout);
  watchdog.async_wait([race](std::error_code e) {
    if (e || race->finished) return;
    race->timed_out = true;
    for (auto& s : race->attempts)
      if (s) s->close();
    race->wake.cancel();
  });
  for (size_t i = 0; i < addrs.size() && !race->finished && !race->timed_out; ++i) {
    tcp::endpoint ep(addrs[i], port);
    bool started = i == 0 && first_pending;
    if (i == 0 && !first_pending) continue;  // settled above (refused, or no socket)
    std::unique_ptr<tcp::socket> sock;  // (no co_await inside ?: — g++ 12 miscompiles it)
    if (started)
      sock = std::move(first);
    else
      sock = co_await open_attempt(ep, opts, setup_error);
    if (!sock) continue;
    race->attempts.push_back(std::move(sock));
    ++race->pending;
    asio::co_spawn(ex, attempt(race, race->attempts.size() - 1, ep, started), [](std::exception_ptr) {});
    if (i + 1 == addrs.size()) break;
    // Wait up to fallback_delay (300 ms unset: sing's N.DefaultFallbackDelay), less when every
    // attempt so far failed.
    auto next = std::chrono::steady_clock::now() + (opts.fallback_delay.count() > 0 ? opts.fallback_delay : 300ms);
    while (!race->finished && !race->timed_out && race->pending > 0 && std::chrono::steady_clock::now() < next) {
      race->wake.expires_at(next);
      co_await race->wake.async_wait(use_tuple);
    }
  }
  while (!race->finished && !race->timed_out && race->pending > 0) {
    race->wake.expires_at(deadline + 1s);
    co_await race->wake.async_wait(use_tuple);
  }
  bool timed_out = race->timed_out;
  watchdog.cancel();
  for (auto& s : race->attempts)
    if (s && s->is_open()) s->close();
  if (race->finished && race->winner) {
    DialResult r;
    r.socket.emplace(std::move(*race->winner));
    r.ip = race->winner_ip;
    co_return r;
  }
  if (timed_out)
    co_return failure("connect timed out after " + std::to_string(opts.connect_timeout.count()) + " ms",
                      socks5::Reply::kTtlExpired, 504);
  co_return dial_failure(race->last_error, setup_error);
}


}  // namespace tb::net
