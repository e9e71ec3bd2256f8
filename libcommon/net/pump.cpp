#include "libcommon/net/pump.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

namespace tb::net {

namespace {

constexpr int kPipeSize = 1 << 20;        // asked of the kernel for a bulk pipe (pipe-max-size)
constexpr size_t kChunk = 64 * 1024;      // per splice() when the pipe stays at its default size
constexpr size_t kCopyChunk = 16 * 1024;  // per recv() in copy mode

struct Shared {
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  bool armed = true;
  bool idle = false;
  std::string error;
  tcp::socket* a = nullptr;
  tcp::socket* b = nullptr;
};

// Pipes are extra descriptors: they come out of what the connection cap leaves spare, so they can
// never starve the sockets of admitted connections (set_pipe_budget; -1 = no limit).
std::atomic<int64_t> g_pipe_budget{-1};
std::atomic<int64_t> g_pipes{0};

struct Pipe {
  int fd[2] = {-1, -1};
  // Takes a pipe from the budget; false (and no pipe) when the budget or the descriptors are out.
  bool open() {
    int64_t budget = g_pipe_budget.load();
    if (budget >= 0 && g_pipes.fetch_add(1) >= budget) {
      g_pipes.fetch_sub(1);
      return false;
    }
    if (budget < 0) g_pipes.fetch_add(1);
    if (::pipe2(fd, O_NONBLOCK | O_CLOEXEC) != 0) {
      fd[0] = fd[1] = -1;
      g_pipes.fetch_sub(1);
      return false;
    }
    return true;
  }
  ~Pipe() {
    if (fd[0] < 0) return;
    ::close(fd[0]);
    ::close(fd[1]);
    g_pipes.fetch_sub(1);
  }
};

// The copy buffer of the calling thread. Valid only until the next co_await (other sessions of the
// thread use it then); not inlined, so its address is never cached across a suspension.
[[gnu::noinline]] uint8_t* copy_buffer() {
  thread_local std::array<uint8_t, kCopyChunk> buf;
  return buf.data();
}

void note_error(Shared& st, int err, const char* side, const char* op) {
  if (!st.error.empty()) return;
  st.error = err == ECONNRESET || err == EPIPE ? std::string("reset by ") + side
                                               : std::string(side) + " " + op + ": " + std::strerror(err);
}

// One direction. `label` names the reading side in error texts ("client" / "upstream").
// It starts in copy mode: recv into the thread's buffer, send at once (a short exchange costs no
// pipe and no extra syscalls); a read that fills the buffer means bulk, and the direction switches
// to splice() through its own pipe for the rest of the connection.
awaitable<void> one_way(tcp::socket& from, tcp::socket& to, uint64_t& count, std::shared_ptr<Shared> st,
                        const char* from_label, const char* to_label) {
  Pipe pipe;
  bool bulk = false;
  size_t chunk = kChunk;
  for (;;) {
    auto [ec] = co_await from.async_wait(tcp::socket::wait_read, use_tuple);
    if (ec || !from.is_open()) co_return;
    // Without a pipe (the budget is spent, or EMFILE) the direction keeps copying: slower, never
    // broken; it asks again after its next full read.
    if (bulk && pipe.fd[0] < 0) {
      if (!pipe.open()) {
        bulk = false;
      } else {
        // A bigger pipe moves more per splice() pair (fewer syscalls per byte); its pages are the
        // kernel's, taken only while data is in flight.
        int got = ::fcntl(pipe.fd[1], F_SETPIPE_SZ, kPipeSize);
        if (got > 0) chunk = static_cast<size_t>(got);
      }
    }
    uint8_t* buf = nullptr;
    ssize_t n;
    if (!bulk) {
      buf = copy_buffer();
      n = ::recv(from.native_handle(), buf, kCopyChunk, MSG_DONTWAIT);
    } else {
      n = ::splice(from.native_handle(), nullptr, pipe.fd[1], nullptr, chunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    }
    if (n == 0) {  // EOF: half-close towards the other side, keep the other direction going
      if (to.is_open()) ::shutdown(to.native_handle(), SHUT_WR);
      co_return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      note_error(*st, errno, from_label, "read");
      if (to.is_open()) reset_socket(to);
      co_return;
    }
    count += static_cast<uint64_t>(n);
    st->last = std::chrono::steady_clock::now();
    // Copy mode: send from the thread's buffer; what the peer cannot take at once moves to `rest`
    // (owned across the wait). Bulk mode: empty the pipe into the peer.
    size_t left = static_cast<size_t>(n);
    std::vector<uint8_t> rest;
    const uint8_t* data = buf;
    while (left > 0) {
      if (!to.is_open()) co_return;
      ssize_t m = bulk ? ::splice(pipe.fd[0], nullptr, to.native_handle(), nullptr, left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                       : ::send(to.native_handle(), data, left, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (m > 0) {
        left -= static_cast<size_t>(m);
        if (!bulk) data += m;
        continue;
      }
      if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!bulk && rest.empty()) {
          rest.assign(data, data + left);
          data = rest.data();
        }
        auto [we] = co_await to.async_wait(tcp::socket::wait_write, use_tuple);
        if (we) co_return;
        continue;
      }
      note_error(*st, m < 0 ? errno : EPIPE, to_label, "write");
      if (from.is_open()) reset_socket(from);
      co_return;
    }
    if (!bulk && static_cast<size_t>(n) == kCopyChunk) bulk = true;
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

void set_pipe_budget(int64_t pipes) { g_pipe_budget.store(pipes); }

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
  // Asio made both non-blocking for its own async operations already; this costs no syscall then.
  std::error_code ec;
  if (!client.native_non_blocking()) client.native_non_blocking(true, ec);
  if (!upstream.native_non_blocking()) upstream.native_non_blocking(true, ec);
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
