#include "libcommon/net/pump.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

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

// One connection's pump: both directions, driven by readiness callbacks on the connection's event
// loop, in one object (the coroutine version cost seven coroutine frames, about 3.5 KiB, per held
// connection). A direction has at most one wait outstanding: for its source to become readable,
// or for its destination to take the rest of the last read.
// Each direction starts in copy mode: recv into the thread's buffer, send at once (a short exchange
// costs no pipe and no extra syscalls); a read that fills the buffer means bulk, and the direction
// switches to splice() through its own pipe for the rest of the connection.
template <typename Handler>
class PumpOp : public std::enable_shared_from_this<PumpOp<Handler>> {
 public:
  PumpOp(Handler h, tcp::socket& client, tcp::socket& upstream, std::chrono::milliseconds idle)
      : handler_(std::move(h)), timer_(client.get_executor()), idle_(idle) {
    dir_[0].from = &client, dir_[0].to = &upstream, dir_[0].from_label = "client", dir_[0].to_label = "upstream";
    dir_[1].from = &upstream, dir_[1].to = &client, dir_[1].from_label = "upstream", dir_[1].to_label = "client";
  }

  void start() {
    if (idle_.count() > 0) arm_idle();
    wait_readable(0);
    wait_readable(1);
  }

 private:
  struct Direction {
    tcp::socket* from = nullptr;
    tcp::socket* to = nullptr;
    const char* from_label = "";  // names the reading side in error texts
    const char* to_label = "";
    Pipe pipe;
    bool bulk = false;
    bool full = false;  // the read being sent filled the copy buffer: bulk once it is sent
    size_t chunk = kChunk;
    uint64_t count = 0;
    size_t left = 0;               // bytes of the last read still to send (copy: at `data`; bulk: in the pipe)
    const uint8_t* data = nullptr;  // copy mode: the thread's buffer, or `rest` across a wait
    std::vector<uint8_t> rest;     // what the peer could not take at once (copy mode), at most kCopyChunk
  };

  void wait_readable(int i) {
    dir_[i].from->async_wait(tcp::socket::wait_read,
                             [self = this->shared_from_this(), i](std::error_code ec) { self->on_readable(i, ec); });
  }

  void wait_writable(int i) {
    dir_[i].to->async_wait(tcp::socket::wait_write, [self = this->shared_from_this(), i](std::error_code ec) {
      if (ec) return self->end();
      self->send(i);
    });
  }

  void on_readable(int i, std::error_code ec) {
    Direction& d = dir_[i];
    if (ec || !d.from->is_open()) return end();
    // Without a pipe (the budget is spent, or EMFILE) the direction keeps copying: slower, never
    // broken; it asks again after its next full read.
    if (d.bulk && d.pipe.fd[0] < 0) {
      if (!d.pipe.open()) {
        d.bulk = false;
      } else {
        // A bigger pipe moves more per splice() pair (fewer syscalls per byte); its pages are the
        // kernel's, taken only while data is in flight.
        int got = ::fcntl(d.pipe.fd[1], F_SETPIPE_SZ, kPipeSize);
        if (got > 0) d.chunk = static_cast<size_t>(got);
      }
    }
    ssize_t n;
    if (!d.bulk) {
      uint8_t* buf = copy_buffer();
      n = ::recv(d.from->native_handle(), buf, kCopyChunk, MSG_DONTWAIT);
      d.data = buf;
    } else {
      n = ::splice(d.from->native_handle(), nullptr, d.pipe.fd[1], nullptr, d.chunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    }
    if (n == 0) {  // EOF: half-close towards the other side, keep the other direction going
      if (d.to->is_open()) ::shutdown(d.to->native_handle(), SHUT_WR);
      return end();
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return wait_readable(i);
      note_error(errno, d.from_label, "read");
      if (d.to->is_open()) reset_socket(*d.to);
      return end();
    }
    d.count += static_cast<uint64_t>(n);
    last_ = std::chrono::steady_clock::now();
    d.left = static_cast<size_t>(n);
    d.full = !d.bulk && static_cast<size_t>(n) == kCopyChunk;
    send(i);
  }

  // Copy mode: send from the thread's buffer; what the peer cannot take at once moves to `rest`
  // (owned across the wait). Bulk mode: empty the pipe into the peer.
  void send(int i) {
    Direction& d = dir_[i];
    while (d.left > 0) {
      if (!d.to->is_open()) return end();
      ssize_t m = d.bulk ? ::splice(d.pipe.fd[0], nullptr, d.to->native_handle(), nullptr, d.left,
                                    SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                         : ::send(d.to->native_handle(), d.data, d.left, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (m > 0) {
        d.left -= static_cast<size_t>(m);
        if (!d.bulk) d.data += m;
        if (d.left > 0) last_ = std::chrono::steady_clock::now();  // a slow reader is still traffic
        continue;
      }
      if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!d.bulk && d.rest.empty()) {
          d.rest.assign(d.data, d.data + d.left);
          d.data = d.rest.data();
        }
        return wait_writable(i);
      }
      note_error(m < 0 ? errno : EPIPE, d.to_label, "write");
      if (d.from->is_open()) reset_socket(*d.from);
      return end();
    }
    if (!d.rest.empty()) std::vector<uint8_t>().swap(d.rest);  // a held connection keeps no buffer
    if (d.full) d.bulk = true;
    wait_readable(i);
  }

  void note_error(int err, const char* side, const char* op) {
    if (!error_.empty()) return;
    error_ = err == ECONNRESET || err == EPIPE ? std::string("reset by ") + side
                                               : std::string(side) + " " + op + ": " + std::strerror(err);
  }

  // Both directions share the idle timeout, so a one-way bulk transfer is never idle.
  void arm_idle() {
    timer_.expires_at(last_ + idle_);
    timer_.async_wait([self = this->shared_from_this()](std::error_code ec) {
      if (ec || self->running_ == 0) return;
      if (std::chrono::steady_clock::now() - self->last_ >= self->idle_) {
        if (self->error_.empty()) self->error_ = "idle timeout";
        std::error_code ignored;
        for (tcp::socket* s : {self->dir_[0].from, self->dir_[0].to})
          if (s->is_open()) s->close(ignored);
        return;
      }
      self->arm_idle();
    });
  }

  // A direction is over; when both are, the pump completes (on this loop, from a completion
  // handler: neither socket has an operation left, and the caller may close them).
  void end() {
    if (--running_ > 0) return;
    timer_.cancel();
    PumpResult r{dir_[0].count, dir_[1].count, std::move(error_)};
    Handler h = std::move(handler_);
    std::move(h)(std::move(r));
  }

  Handler handler_;
  asio::steady_timer timer_;
  std::chrono::milliseconds idle_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::array<Direction, 2> dir_;
  int running_ = 2;
  std::string error_;
};

}  // namespace

void set_pipe_budget(int64_t pipes) { g_pipe_budget.store(pipes); }

void reset_socket(tcp::socket& s) {
  std::error_code ec;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

awaitable<PumpResult> pump(tcp::socket& client, tcp::socket& upstream, std::chrono::milliseconds idle) {
  // Asio made both non-blocking for its own async operations already; this costs no syscall then.
  std::error_code ec;
  if (!client.native_non_blocking()) client.native_non_blocking(true, ec);
  if (!upstream.native_non_blocking()) upstream.native_non_blocking(true, ec);
  return asio::async_initiate<decltype(use_awaitable), void(PumpResult)>(
      [&client, &upstream, idle](auto handler) {
        using Op = PumpOp<decltype(handler)>;
        std::make_shared<Op>(std::move(handler), client, upstream, idle)->start();
      },
      use_awaitable);
}

}  // namespace tb::net
