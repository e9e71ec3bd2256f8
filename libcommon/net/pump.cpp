#include "libcommon/net/pump.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <memory>

namespace tb::net {

namespace {

constexpr size_t kChunk = 64 * 1024;

struct Shared {
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  bool armed = true;
  bool idle = false;
  std::string error;
  tcp::socket* a = nullptr;
  tcp::socket* b = nullptr;
};

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    if (fd[0] >= 0) ::close(fd[0]);
    if (fd[1] >= 0) ::close(fd[1]);
  }
};

// One direction. `label` names the reading side in error texts ("client" / "upstream").
awaitable<void> one_way(tcp::socket& from, tcp::socket& to, uint64_t& count, std::shared_ptr<Shared> st,
                        const char* from_label, const char* to_label) {
  Pipe pipe;
  for (;;) {
    auto [ec] = co_await from.async_wait(tcp::socket::wait_read, use_tuple);
    if (ec || !from.is_open()) co_return;
    if (pipe.fd[0] < 0 && ::pipe2(pipe.fd, O_NONBLOCK | O_CLOEXEC) != 0) {
      st->error = std::string("pipe: ") + std::strerror(errno);
      from.close();
      if (to.is_open()) to.close();
      co_return;
    }
    ssize_t n = ::splice(from.native_handle(), nullptr, pipe.fd[1], nullptr, kChunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) {  // EOF: half-close towards the other side, keep the other direction going
      if (to.is_open()) ::shutdown(to.native_handle(), SHUT_WR);
      co_return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      int err = errno;
      if (st->error.empty())
        st->error = err == ECONNRESET ? std::string("reset by ") + from_label
                                      : std::string(from_label) + " read: " + std::strerror(err);
      if (to.is_open()) reset_socket(to);
      co_return;
    }
    count += static_cast<uint64_t>(n);
    st->last = std::chrono::steady_clock::now();
    size_t in_pipe = static_cast<size_t>(n);
    while (in_pipe > 0) {
      if (!to.is_open()) co_return;
      ssize_t m = ::splice(pipe.fd[0], nullptr, to.native_handle(), nullptr, in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m > 0) {
        in_pipe -= static_cast<size_t>(m);
        continue;
      }
      if (m < 0 && (errno == EAGAIN || errno == EINTR)) {
        auto [we] = co_await to.async_wait(tcp::socket::wait_write, use_tuple);
        if (we) co_return;
        continue;
      }
      int err = m < 0 ? errno : EPIPE;
      if (st->error.empty())
        st->error = err == ECONNRESET || err == EPIPE ? std::string("reset by ") + to_label
                                                      : std::string(to_label) + " write: " + std::strerror(err);
      if (from.is_open()) reset_socket(from);
      co_return;
    }
  }
}

void arm_idle(std::shared_ptr<Shared> st, std::shared_ptr<asio::steady_timer> timer, std::chrono::milliseconds idle) {
  timer->expires_at(st->last + idle);
  timer->async_wait([st, timer, idle](std::error_code ec) {
    if (ec || !st->armed) return;
    if (std::chrono::steady_clock::now() - st->last >= idle) {
      st->idle = true;
      if (st->error.empty()) st->error = "idle timeout";
      std::error_code ignored;
      if (st->a->is_open()) st->a->close(ignored);
      if (st->b->is_open()) st->b->close(ignored);
      return;
    }
    arm_idle(st, timer, idle);
  });
}

}  // namespace

void reset_socket(tcp::socket& s) {
  std::error_code ec;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

awaitable<PumpResult> pump(tcp::socket& client, tcp::socket& upstream, std::chrono::milliseconds idle) {
  using namespace asio::experimental::awaitable_operators;
  auto st = std::make_shared<Shared>();
  st->a = &client;
  st->b = &upstream;
  std::error_code ec;
  client.non_blocking(true, ec);
  upstream.non_blocking(true, ec);
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  if (idle.count() > 0) arm_idle(st, timer, idle);
  PumpResult r;
  co_await (one_way(client, upstream, r.up, st, "client", "upstream") &&
            one_way(upstream, client, r.down, st, "upstream", "client"));
  st->armed = false;
  timer->cancel();
  r.error = st->error;
  co_return r;
}

}  // namespace tb::net
