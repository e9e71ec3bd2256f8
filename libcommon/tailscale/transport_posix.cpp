#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "libcommon/core/strings.hpp"
#include "libcommon/tailscale/transport.hpp"
#include "libcommon/tailscale/transport_internal.hpp"

// The Local API over a Unix socket (Linux, BSD, the macOS open-source daemon) or loopback TCP with
// a token (the macOS GUI), on cpp-httplib. A named pipe is Windows' (transport_win32.cpp).

namespace tb::ts {

using core::ExitCode;
using detail::Clock;
using detail::deadline_after;
using detail::interrupted;
using detail::kMaxErrorBody;
using detail::no_answer;
using detail::running_hint;
using detail::stream_closed;
using detail::stream_idle;
using std::chrono::milliseconds;

namespace {

std::string errno_text(int err) {
  std::string s = std::generic_category().message(err);
  if (!s.empty()) s[0] = core::ascii_lower(s[0]);
  return s;
}

}  // namespace

namespace detail {

int connect_errno(const Endpoint& ep) {
  int fd = -1;
  int rc = -1;
  if (ep.kind == Endpoint::Kind::kUnix) {
    sockaddr_un addr{};
    if (ep.path.size() >= sizeof addr.sun_path) return ENAMETOOLONG;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, ep.path.data(), ep.path.size());
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } else if (ep.kind == Endpoint::Kind::kTcp) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(ep.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } else {
    return 0;
  }
  int err = rc == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    // Loopback TCP answers at once; wait briefly for the verdict.
    pollfd pfd{fd, POLLOUT, 0};
    err = 0;
    if (::poll(&pfd, 1, 1000) == 1) {
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
  }
  ::close(fd);
  // A full backlog (EAGAIN on a Unix socket) means someone is listening: not the cause we look for.
  if (err == EAGAIN) err = 0;
  return err;
}

core::Error connect_error(const Endpoint& ep, int err) {
  std::string msg = "cannot connect to tailscaled at " + ep.describe();
  if (err != 0) msg += ": " + errno_text(err);
  if (err == EACCES || err == EPERM) {
    return core::Error{ExitCode::kNoPerm, msg,
                       "no permission to use the socket: try sudo, or have an admin run "
                       "'sudo tailscale set --operator=$USER' and check the socket's permissions"};
  }
  if (err == ENAMETOOLONG) return core::Error{ExitCode::kUnavailable, msg, "use a shorter --socket path"};
  return core::Error{ExitCode::kUnavailable, msg, running_hint(ep)};
}

}  // namespace detail

namespace {

// Enforces a deadline that httplib cannot: its read timeout is per read and is fixed when the
// connection opens, but a stream needs "connect_timeout until the head, then idle_timeout between
// chunks", and a request needs one overall bound. On expiry it calls on_fire (Client::stop()).
class Watchdog {
 public:
  explicit Watchdog(std::function<void()> on_fire) : on_fire_(std::move(on_fire)), thread_([this] { run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void arm(Clock::time_point deadline) {
    bool earlier;
    {
      std::lock_guard<std::mutex> lk(mu_);
      earlier = deadline < deadline_;
      deadline_ = deadline;
    }
    if (earlier) cv_.notify_one();  // a later deadline is noticed when the current one expires
  }
  bool fired() const { return fired_.load(); }

 private:
  void run() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!done_) {
      if (deadline_ == Clock::time_point::max()) {
        cv_.wait(lk);
        continue;
      }
      auto until = deadline_;
      cv_.wait_until(lk, until);
      if (!done_ && Clock::now() >= deadline_) {
        fired_.store(true);
        lk.unlock();
        on_fire_();
        return;
      }
    }
  }

  std::function<void()> on_fire_;
  std::mutex mu_;
  std::condition_variable cv_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool done_ = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;  // last: starts once everything above exists
};

// httplib's own read timeout is only a backstop behind the watchdog. poll() takes an int of
// milliseconds, so stay well below 24.8 days.
milliseconds backstop(milliseconds d) {
  constexpr milliseconds kMax = std::chrono::hours(24 * 20);
  if (d > kMax - std::chrono::seconds(5)) return kMax;
  return d + std::chrono::seconds(5);
}

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(Endpoint ep) : ep_(std::move(ep)) {
    if (ep_.kind == Endpoint::Kind::kTcp) {
      client_ = std::make_unique<httplib::Client>("127.0.0.1", ep_.port);
      // macOS GUI: the token is the password of an empty user (docs/localapi.md, "Where the
      // daemon listens").
      client_->set_basic_auth("", ep_.token.c_str());
    } else {
      // For AF_UNIX httplib takes the socket path as the host and ignores the port.
      client_ = std::make_unique<httplib::Client>(ep_.path, 80);
      client_->set_address_family(AF_UNIX);
    }
    client_->set_keep_alive(true);
    // tailscaled never compresses; without this httplib would also advertise Accept-Encoding.
    client_->set_decompress(false);
    // Without an explicit Host httplib sends "Host: <socket path>", which tailscaled rejects (403).
    client_->set_default_headers({{"Host", kLocalApiHost}, {"Tailscale-Cap", std::to_string(kCapabilityVersion)}});
    client_->set_socket_options([this](socket_t sock) { on_new_socket(sock); });
  }

  core::Result<HttpResponse> request(std::string_view method, std::string_view path_and_query, std::string_view body,
                                     milliseconds timeout) override {
    detail::CallGuard guard(cancelled_.load(), mu_, owner_);
    if (guard.error()) return tl::unexpected(*guard.error());

    const bool idempotent = method == "GET" || method == "HEAD";
    for (int attempt = 0;; ++attempt) {
      httplib::Request req;
      req.method = std::string(method);
      req.path = std::string(path_and_query);
      if (!body.empty()) {
        // Streamed from the caller's buffer, never copied into req.body: httplib copies the whole
        // Request while handling it, and a body may hold an auth key (start) that the caller wipes.
        req.content_length_ = body.size();
        req.content_provider_ = [body](size_t offset, size_t length, httplib::DataSink& sink) {
          return offset <= body.size() && sink.write(body.data() + offset, std::min(length, body.size() - offset));
        };
        req.headers.emplace("Content-Type", "application/json");
      }
      bool got_head = false;
      req.response_handler = [&](const httplib::Response&) {
        got_head = true;
        return true;
      };
      new_connection_.store(false);
      configure(timeout, backstop(timeout), timeout);

      bool timed_out = false;
      httplib::Response res;
      httplib::Error err = httplib::Error::Success;
      // send(req, res, err) works on req itself; send(req) would copy it, body included.
      bool ok = [&] {
        Watchdog wd([this] { client_->stop(); });
        wd.arm(deadline_after(timeout));
        bool r = client_->send(req, res, err);
        timed_out = wd.fired();
        return r;
      }();
      if (ok) return detail::to_response(res.status, std::move(res.body), lower_headers(res.headers));
      if (cancelled_.load()) return tl::unexpected(interrupted());
      if (timed_out) return tl::unexpected(no_answer(timeout));
      // A kept-alive connection the daemon has just closed fails at once; Go's client retries
      // idempotent requests in that case, and so do we, once, on a fresh connection.
      bool stale = !new_connection_.load() && !got_head &&
                   (err == httplib::Error::Read || err == httplib::Error::Write);
      if (stale && idempotent && attempt == 0) continue;
      return tl::unexpected(failure(err, got_head, timeout));
    }
  }

  core::Result<int> stream(std::string_view path_and_query, const std::function<bool(std::string_view line)>& on_line,
                           milliseconds connect_timeout, milliseconds idle_timeout, std::string* error_body) override {
    detail::CallGuard guard(cancelled_.load(), mu_, owner_);
    if (guard.error()) return tl::unexpected(*guard.error());

    httplib::Request req;
    req.method = "GET";
    req.path = std::string(path_and_query);
    bool got_head = false;
    bool ok_status = false;
    bool stopped = false;
    int status = 0;
    std::string err_body;
    detail::LineSplitter lines;

    Watchdog wd([this] { client_->stop(); });
    req.response_handler = [&](const httplib::Response& r) {
      got_head = true;
      status = r.status;
      ok_status = r.status / 100 == 2;
      wd.arm(deadline_after(idle_timeout));
      return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      wd.arm(deadline_after(idle_timeout));
      if (!ok_status) {
        err_body.append(data, std::min(n, kMaxErrorBody - std::min(kMaxErrorBody, err_body.size())));
        return true;
      }
      if (!lines.feed(std::string_view(data, n), on_line)) {
        stopped = true;
        return false;
      }
      return true;
    };
    configure(connect_timeout, backstop(std::max(connect_timeout, idle_timeout)), connect_timeout);
    wd.arm(deadline_after(connect_timeout));
    auto res = client_->send(req);
    bool timed_out = wd.fired();

    if (stopped) return status;
    if (res) {
      if (res->status / 100 != 2) {
        if (error_body) *error_body = std::move(err_body);
        return res->status;
      }
      // The bus never ends on its own: a clean end means the daemon went away (restart, shutdown).
      // tailscaled ends every Notify with '\n', so a last line without one was cut mid-write:
      // drop it rather than hand a fragment on.
      return tl::unexpected(stream_closed());
    }
    if (cancelled_.load()) return tl::unexpected(interrupted());
    if (timed_out) return tl::unexpected(got_head ? stream_idle(idle_timeout) : no_answer(connect_timeout));
    if (got_head && ok_status) return tl::unexpected(stream_closed());
    return tl::unexpected(failure(res.error(), got_head, connect_timeout));
  }

  void cancel() override {
    // Sticky: stop() only breaks the connection in use, so a call that starts later must see the
    // flag (checked on entry, and in on_new_socket for the race with a call just starting).
    cancelled_.store(true);
    client_->stop();
  }

  const Endpoint& endpoint() const override { return ep_; }

 private:
  void configure(milliseconds connect, milliseconds read, milliseconds write) {
    client_->set_connection_timeout(connect);
    client_->set_read_timeout(read);
    client_->set_write_timeout(write);
  }

  // Runs (under httplib's socket mutex) for every new connection, before connect().
  void on_new_socket(socket_t sock) {
    new_connection_.store(true);
    if (!cancelled_.load()) return;
    // cancel() came after our entry check but before this connection existed, so its stop() had
    // nothing to break. Swap the socket for /dev/null: connect() then fails with ENOTSOCK and the
    // call reports kInterrupted instead of blocking on a fresh connection.
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) {
      ::dup3(null_fd, sock, O_CLOEXEC);
      ::close(null_fd);
    }
  }

  static std::map<std::string, std::string> lower_headers(const httplib::Headers& headers) {
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : headers) {
      auto [it, inserted] = out.emplace(core::lower(name), value);
      if (!inserted) it->second += ", " + value;
    }
    return out;
  }

  core::Error failure(httplib::Error err, bool got_head, milliseconds timeout) const {
    switch (err) {
      case httplib::Error::Connection:
        return detail::connect_error(ep_, detail::connect_errno(ep_));
      case httplib::Error::ConnectionTimeout:
        return core::Error{ExitCode::kTimeout,
                           "cannot connect to tailscaled at " + ep_.describe() + " within " +
                               detail::format_duration(timeout),
                           running_hint(ep_)};
      case httplib::Error::Read:
      case httplib::Error::Write:
      case httplib::Error::Unknown:
        return core::Error{ExitCode::kProtocol,
                           got_head ? "tailscaled closed the connection in the middle of a reply"
                                    : "tailscaled closed the connection without a valid HTTP reply",
                           {}};
      case httplib::Error::Canceled:
        return interrupted();
      default:
        break;
    }
    return core::Error{ExitCode::kInternal, "HTTP client error talking to tailscaled: " + httplib::to_string(err), {}};
  }

  Endpoint ep_;
  std::unique_ptr<httplib::Client> client_;
  std::mutex mu_;
  std::atomic<std::thread::id> owner_{};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> new_connection_{false};
};


}  // namespace

std::unique_ptr<Transport> make_transport(const Endpoint& endpoint) {
  if (endpoint.kind == Endpoint::Kind::kPipe) {
    return detail::make_unsupported_transport(endpoint, "named pipes are only supported on Windows");
  }
  return std::make_unique<HttpTransport>(endpoint);
}

}  // namespace tb::ts
