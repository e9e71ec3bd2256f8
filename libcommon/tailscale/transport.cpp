#include "libcommon/tailscale/transport.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "libcommon/tailscale/transport_internal.hpp"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace tb::ts {

using core::ExitCode;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// An error reply is shown to the user; a daemon has no reason to send more than this.
constexpr size_t kMaxErrorBody = 1 << 20;

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// now + d without overflowing: callers pass "practically forever" for an idle bus.
Clock::time_point deadline_after(milliseconds d) {
  if (d.count() < 0) d = milliseconds(0);
  if (d > std::chrono::hours(24 * 365)) return Clock::time_point::max();
  return Clock::now() + d;
}

core::Error interrupted() { return core::Error{ExitCode::kInterrupted, "interrupted", {}}; }

core::Error no_answer(milliseconds timeout) {
  return core::Error{ExitCode::kTimeout, "tailscaled did not answer within " + detail::format_duration(timeout), {}};
}

core::Error stream_idle(milliseconds idle) {
  return core::Error{ExitCode::kTimeout, "tailscaled sent nothing for " + detail::format_duration(idle), {}};
}

core::Error stream_closed() { return core::Error{ExitCode::kUnavailable, "tailscaled closed the stream", {}}; }

std::string running_hint(const Endpoint& ep) {
  switch (ep.kind) {
    case Endpoint::Kind::kTcp:
      return "is the Tailscale app running?";
    case Endpoint::Kind::kPipe:
      return "is the Tailscale service running?";
    case Endpoint::Kind::kUnix:
      break;
  }
  if (current_platform() == Platform::kLinux) return "is tailscaled running? try: sudo systemctl start tailscaled";
  return "is tailscaled running?";
}

std::string errno_text(int err) {
  std::string s = std::generic_category().message(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// detail: small pure pieces

namespace detail {

bool LineSplitter::feed(std::string_view data, const std::function<bool(std::string_view line)>& on_line) {
  buf_.append(data);
  bool keep_going = true;
  while (true) {
    size_t nl = buf_.find('\n', scan_);
    if (nl == std::string::npos) {
      scan_ = buf_.size();
      break;
    }
    std::string_view line(buf_.data() + start_, nl - start_);
    start_ = nl + 1;
    scan_ = start_;
    if (!on_line(line)) {
      keep_going = false;
      break;
    }
  }
  // Drop delivered lines so the buffer only ever holds the incomplete tail.
  if (start_ > 0) {
    buf_.erase(0, start_);
    scan_ -= start_;
    start_ = 0;
  }
  return keep_going;
}

std::string format_duration(milliseconds d) {
  auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out = std::to_string(ms / 1000);
  if (auto frac = ms % 1000; frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 3 - f.size(), '0');
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "s";
}

int connect_errno(const Endpoint& ep) {
#ifdef _WIN32
  (void)ep;
  return 0;
#else
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
#endif
}

core::Error connect_error(const Endpoint& ep, int err) {
  std::string msg = "cannot connect to tailscaled at " + ep.describe();
  if (err != 0) msg += ": " + errno_text(err);
#ifndef _WIN32
  if (err == EACCES || err == EPERM) {
    return core::Error{ExitCode::kNoPerm, msg,
                       "no permission to use the socket: try sudo, or have an admin run "
                       "'sudo tailscale set --operator=$USER' and check the socket's permissions"};
  }
  if (err == ENAMETOOLONG) return core::Error{ExitCode::kUnavailable, msg, "use a shorter --socket path"};
#endif
  return core::Error{ExitCode::kUnavailable, msg, running_hint(ep)};
}

std::string format_request(std::string_view method, std::string_view target, const HeaderList& headers,
                           std::string_view body) {
  std::string out;
  out.reserve(128 + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  for (const auto& [name, value] : headers) out.append(name).append(": ").append(value).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  return out;
}

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Where the head ends: {length of the head without the blank line, offset of the body}.
std::optional<std::pair<size_t, size_t>> find_head_end(std::string_view buf) {
  for (size_t nl = buf.find('\n'); nl != std::string_view::npos; nl = buf.find('\n', nl + 1)) {
    if (nl + 1 < buf.size() && buf[nl + 1] == '\n') return std::make_pair(nl + 1, nl + 2);
    if (nl + 2 < buf.size() && buf[nl + 1] == '\r' && buf[nl + 2] == '\n') return std::make_pair(nl + 1, nl + 3);
  }
  return std::nullopt;
}

core::Error protocol_error(std::string msg) { return core::Error{ExitCode::kProtocol, std::move(msg), {}}; }

}  // namespace

std::optional<ResponseHead> parse_response_head(std::string_view head) {
  ResponseHead out;
  bool first = true;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      first = false;
      // "HTTP/1.1 200 OK": the reason phrase is optional and ignored.
      if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return std::nullopt;
      if (line.size() > 12 && line[12] != ' ') return std::nullopt;
      int status = 0;
      auto [end, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
      if (ec != std::errc() || end != line.data() + 12 || status < 100) return std::nullopt;
      out.status = status;
      continue;
    }
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
    std::string key = to_lower(name);
    std::string value(trim_ows(line.substr(colon + 1)));
    auto [it, inserted] = out.headers.emplace(key, value);
    if (!inserted) it->second += ", " + value;
  }
  if (first) return std::nullopt;
  return out;
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view data, const std::function<bool(std::string_view)>& sink,
                                            size_t* consumed) {
  // A chunk-size line or trailer longer than this is not an honest peer.
  constexpr size_t kMaxLine = 8192;
  size_t i = 0;
  auto done = [&](Status s) {
    if (consumed) *consumed = i;
    return s;
  };
  while (i < data.size() && state_ != State::kDone) {
    if (state_ == State::kData) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - i));
      if (!sink(data.substr(i, n))) return done(Status::kStopped);
      i += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::kDataEnd;
      continue;
    }
    size_t nl = data.find('\n', i);
    size_t end = nl == std::string_view::npos ? data.size() : nl;
    line_.append(data.substr(i, end - i));
    if (line_.size() > kMaxLine) return done(Status::kError);
    if (nl == std::string_view::npos) {
      i = data.size();
      break;
    }
    i = nl + 1;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    std::string text = std::move(line_);
    line_.clear();
    switch (state_) {
      case State::kSize: {
        std::string_view size = trim_ows(std::string_view(text).substr(0, text.find(';')));
        uint64_t n = 0;
        auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), n, 16);
        if (size.empty() || ec != std::errc() || p != size.data() + size.size()) return done(Status::kError);
        remaining_ = n;
        state_ = n == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kDataEnd:
        if (!text.empty()) return done(Status::kError);
        state_ = State::kSize;
        break;
      case State::kTrailer:
        if (text.empty()) state_ = State::kDone;
        break;
      case State::kData:
      case State::kDone:
        break;
    }
  }
  return done(state_ == State::kDone ? Status::kDone : Status::kMore);
}

core::Result<Exchange> http_exchange(ByteStream& stream, std::string_view method, std::string_view request_bytes,
                                     const std::function<void(const ResponseHead&)>& on_head,
                                     const std::function<bool(std::string_view)>& on_body) {
  constexpr size_t kMaxHead = 64 * 1024;
  if (auto w = stream.write_all(request_bytes); !w) return tl::unexpected(w.error());

  std::string buf;
  char tmp[16 * 1024];
  std::optional<std::pair<size_t, size_t>> head_end;
  while (!(head_end = find_head_end(buf))) {
    if (buf.size() > kMaxHead) return tl::unexpected(protocol_error("tailscaled sent an oversized HTTP reply head"));
    auto n = stream.read_some(tmp, sizeof tmp);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) {
      return tl::unexpected(protocol_error(buf.empty() ? "tailscaled closed the connection without answering"
                                                       : "tailscaled closed the connection in the middle of a reply"));
    }
    buf.append(tmp, *n);
  }
  auto head = parse_response_head(std::string_view(buf).substr(0, head_end->first));
  if (!head) return tl::unexpected(protocol_error("tailscaled sent an invalid HTTP reply"));

  Exchange ex;
  ex.head = std::move(*head);
  if (on_head) on_head(ex.head);
  auto header = [&](const char* name) {
    auto it = ex.head.headers.find(name);
    return it == ex.head.headers.end() ? std::string() : to_lower(it->second);
  };
  ex.keep_alive = header("connection").find("close") == std::string::npos;
  std::string_view rest = std::string_view(buf).substr(head_end->second);

  int status = ex.head.status;
  if (method == "HEAD" || status / 100 == 1 || status == 204 || status == 304) return ex;

  auto read_more = [&]() -> core::Result<std::string_view> {
    auto n = stream.read_some(tmp, sizeof tmp);
    if (!n) return tl::unexpected(n.error());
    return std::string_view(tmp, *n);
  };
  const char* truncated = "tailscaled closed the connection in the middle of a reply";

  if (header("transfer-encoding").find("chunked") != std::string::npos) {
    ChunkedDecoder dec;
    auto st = dec.feed(rest, on_body);
    while (st == ChunkedDecoder::Status::kMore) {
      auto more = read_more();
      if (!more) return tl::unexpected(more.error());
      if (more->empty()) return tl::unexpected(protocol_error(truncated));
      st = dec.feed(*more, on_body);
    }
    if (st == ChunkedDecoder::Status::kError) return tl::unexpected(protocol_error("tailscaled sent invalid chunked data"));
    if (st == ChunkedDecoder::Status::kStopped) {
      ex.stopped = true;
      ex.keep_alive = false;
    }
    return ex;
  }

  if (std::string cl = header("content-length"); !cl.empty()) {
    uint64_t remaining = 0;
    auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), remaining);
    if (ec != std::errc() || p != cl.data() + cl.size()) {
      return tl::unexpected(protocol_error("tailscaled sent an invalid Content-Length"));
    }
    while (true) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining, rest.size()));
      if (n > 0 && !on_body(rest.substr(0, n))) {
        ex.stopped = true;
        ex.keep_alive = false;
        return ex;
      }
      remaining -= n;
      if (remaining == 0) return ex;
      auto more = read_more();
      if (!more) return tl::unexpected(more.error());
      if (more->empty()) return tl::unexpected(protocol_error(truncated));
      rest = *more;
    }
  }

  // No framing: the body runs to the end of the connection.
  ex.keep_alive = false;
  while (true) {
    if (!rest.empty() && !on_body(rest)) {
      ex.stopped = true;
      return ex;
    }
    auto more = read_more();
    if (!more) return tl::unexpected(more.error());
    if (more->empty()) return ex;
    rest = *more;
  }
}

}  // namespace detail

namespace {

HttpResponse to_response(int status, std::string body, const std::map<std::string, std::string>& lower_headers) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = lower_headers;
  return r;
}

// Ensures one call at a time on a transport, and turns a nested call from inside a stream
// callback (which would deadlock) into an error.
class CallGuard {
 public:
  CallGuard(std::mutex& mu, std::atomic<std::thread::id>& owner) : owner_(owner) {
    if (owner_.load() == std::this_thread::get_id()) return;
    lock_ = std::unique_lock<std::mutex>(mu);
    owner_.store(std::this_thread::get_id());
  }
  ~CallGuard() {
    if (lock_.owns_lock()) owner_.store(std::thread::id());
  }
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;
  bool nested() const { return !lock_.owns_lock(); }

 private:
  std::atomic<std::thread::id>& owner_;
  std::unique_lock<std::mutex> lock_;
};

core::Error nested_call() {
  return core::Error{ExitCode::kInternal, "Local API transport used from inside its own stream callback", {}};
}

// An endpoint this build cannot reach (a pipe outside Windows): every call fails the same way.
class UnsupportedTransport final : public Transport {
 public:
  UnsupportedTransport(Endpoint ep, std::string why) : ep_(std::move(ep)), why_(std::move(why)) {}
  core::Result<HttpResponse> request(std::string_view, std::string_view, std::string_view, milliseconds) override {
    return tl::unexpected(error());
  }
  core::Result<int> stream(std::string_view, const std::function<bool(std::string_view)>&, milliseconds, milliseconds,
                           std::string*) override {
    return tl::unexpected(error());
  }
  void cancel() override {}
  const Endpoint& endpoint() const override { return ep_; }

 private:
  core::Error error() const { return core::Error{ExitCode::kUnavailable, why_, {}}; }
  Endpoint ep_;
  std::string why_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Unix socket and loopback TCP, on cpp-httplib

#ifndef _WIN32
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
      // macOS GUI: the token is the password of an empty user (spec §1.1).
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
    if (cancelled_.load()) return tl::unexpected(interrupted());
    CallGuard guard(mu_, owner_);
    if (guard.nested()) return tl::unexpected(nested_call());

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
      if (ok) return to_response(res.status, std::move(res.body), lower_headers(res.headers));
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
    if (cancelled_.load()) return tl::unexpected(interrupted());
    CallGuard guard(mu_, owner_);
    if (guard.nested()) return tl::unexpected(nested_call());

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
      auto [it, inserted] = out.emplace(to_lower(name), value);
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
#endif  // !_WIN32

// ---------------------------------------------------------------------------------------------
// Windows named pipe: HTTP/1.1 by hand over an overlapped pipe handle (spec §1.1: connect with
// impersonation level Identification, wait up to 20 s for a busy pipe).

#ifdef _WIN32
namespace {

std::wstring widen(const std::string& s) {
  if (s.empty()) return {};
  int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n);
  return out;
}

DWORD remaining_ms(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return INFINITE;
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left >= static_cast<long long>(INFINITE) ? INFINITE - 1 : static_cast<DWORD>(left);
}

// One overlapped operation at a time, each bounded by the deadline (or the idle time) and
// abandoned (CancelIoEx) when the transport's cancel event is set.
class PipeStream final : public detail::ByteStream {
 public:
  PipeStream(HANDLE pipe, HANDLE cancel_event, Clock::time_point deadline, core::Error on_timeout)
      : pipe_(pipe), cancel_event_(cancel_event), deadline_(deadline), on_timeout_(std::move(on_timeout)) {
    io_event_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  }
  ~PipeStream() override {
    if (io_event_) CloseHandle(io_event_);
  }
  PipeStream(const PipeStream&) = delete;
  PipeStream& operator=(const PipeStream&) = delete;

  // From now on every read may wait this long (a stream after its head).
  void set_idle(milliseconds idle, core::Error on_timeout) {
    idle_ = idle;
    on_timeout_ = std::move(on_timeout);
  }

  core::Result<void> write_all(std::string_view data) override {
    while (!data.empty()) {
      DWORD chunk = static_cast<DWORD>(std::min<size_t>(data.size(), 1 << 20));
      auto n = io(false, const_cast<char*>(data.data()), chunk);
      if (!n) return tl::unexpected(n.error());
      data.remove_prefix(*n);
    }
    return {};
  }

  core::Result<size_t> read_some(char* buf, size_t n) override {
    return io(true, buf, static_cast<DWORD>(std::min<size_t>(n, 1 << 20)));
  }

 private:
  core::Result<size_t> io(bool read, char* buf, DWORD n) {
    OVERLAPPED ov{};
    ov.hEvent = io_event_;
    ResetEvent(io_event_);
    BOOL ok = read ? ReadFile(pipe_, buf, n, nullptr, &ov) : WriteFile(pipe_, buf, n, nullptr, &ov);
    if (!ok && GetLastError() != ERROR_IO_PENDING) return result_of(GetLastError());
    Clock::time_point until = idle_.count() > 0 ? deadline_after(idle_) : deadline_;
    HANDLE handles[2] = {io_event_, cancel_event_};
    DWORD w = WaitForMultipleObjects(2, handles, FALSE, remaining_ms(until));
    DWORD done = 0;
    if (w == WAIT_OBJECT_0) {
      if (!GetOverlappedResult(pipe_, &ov, &done, FALSE)) return result_of(GetLastError());
      return static_cast<size_t>(done);
    }
    CancelIoEx(pipe_, &ov);
    GetOverlappedResult(pipe_, &ov, &done, TRUE);  // the buffer must outlive the operation
    if (w == WAIT_OBJECT_0 + 1) return tl::unexpected(interrupted());
    return tl::unexpected(on_timeout_);
  }

  static core::Result<size_t> result_of(DWORD err) {
    // The daemon closing its end is end-of-stream, not an I/O error.
    if (err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED) return size_t{0};
    return tl::unexpected(core::Error{ExitCode::kProtocol,
                                      "tailscaled pipe I/O failed (Windows error " + std::to_string(err) + ")", {}});
  }

  HANDLE pipe_;
  HANDLE cancel_event_;
  HANDLE io_event_ = nullptr;
  Clock::time_point deadline_;
  milliseconds idle_{0};
  core::Error on_timeout_;
};

class PipeTransport final : public Transport {
 public:
  explicit PipeTransport(Endpoint ep) : ep_(std::move(ep)) {
    // Manual-reset and never reset: cancel() is sticky by construction.
    cancel_event_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  }
  ~PipeTransport() override {
    close_pipe();
    if (cancel_event_) CloseHandle(cancel_event_);
  }
  PipeTransport(const PipeTransport&) = delete;
  PipeTransport& operator=(const PipeTransport&) = delete;

  core::Result<HttpResponse> request(std::string_view method, std::string_view path_and_query, std::string_view body,
                                     milliseconds timeout) override {
    if (cancelled()) return tl::unexpected(interrupted());
    CallGuard guard(mu_, owner_);
    if (guard.nested()) return tl::unexpected(nested_call());
    auto deadline = deadline_after(timeout);
    if (auto open = ensure_open(deadline, timeout); !open) return tl::unexpected(open.error());
    PipeStream s(pipe_, cancel_event_, deadline, no_answer(timeout));
    std::string resp_body;
    auto ex = detail::http_exchange(s, method, detail::format_request(method, path_and_query, headers(body), body),
                                    nullptr, [&](std::string_view d) {
                                      resp_body.append(d);
                                      return true;
                                    });
    if (!ex || !ex->keep_alive) close_pipe();
    if (!ex) return tl::unexpected(ex.error());
    return to_response(ex->head.status, std::move(resp_body), ex->head.headers);
  }

  core::Result<int> stream(std::string_view path_and_query, const std::function<bool(std::string_view line)>& on_line,
                           milliseconds connect_timeout, milliseconds idle_timeout, std::string* error_body) override {
    if (cancelled()) return tl::unexpected(interrupted());
    CallGuard guard(mu_, owner_);
    if (guard.nested()) return tl::unexpected(nested_call());
    auto deadline = deadline_after(connect_timeout);
    if (auto open = ensure_open(deadline, connect_timeout); !open) return tl::unexpected(open.error());
    PipeStream s(pipe_, cancel_event_, deadline, no_answer(connect_timeout));
    bool ok_status = false;
    std::string err_body;
    detail::LineSplitter lines;
    auto ex = detail::http_exchange(
        s, "GET", detail::format_request("GET", path_and_query, headers({}), {}),
        [&](const detail::ResponseHead& head) {
          ok_status = head.status / 100 == 2;
          s.set_idle(idle_timeout, stream_idle(idle_timeout));
        },
        [&](std::string_view d) {
          if (!ok_status) {
            err_body.append(d.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, err_body.size())));
            return true;
          }
          return lines.feed(d, on_line);
        });
    close_pipe();  // a stream's connection is never reused
    if (!ex) {
      if (ok_status && ex.error().code == ExitCode::kProtocol) return tl::unexpected(stream_closed());
      return tl::unexpected(ex.error());
    }
    if (ex->stopped) return ex->head.status;
    if (!ok_status) {
      if (error_body) *error_body = std::move(err_body);
      return ex->head.status;
    }
    return tl::unexpected(stream_closed());
  }

  void cancel() override { SetEvent(cancel_event_); }

  const Endpoint& endpoint() const override { return ep_; }

 private:
  bool cancelled() const { return WaitForSingleObject(cancel_event_, 0) == WAIT_OBJECT_0; }

  detail::HeaderList headers(std::string_view body) const {
    detail::HeaderList h = {{"Host", kLocalApiHost}, {"Tailscale-Cap", std::to_string(kCapabilityVersion)}};
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    return h;
  }

  core::Result<void> ensure_open(Clock::time_point deadline, milliseconds timeout) {
    if (pipe_ != INVALID_HANDLE_VALUE) return {};
    std::wstring name = widen(ep_.path);
    std::string where = "cannot connect to tailscaled at " + ep_.describe();
    while (true) {
      // Identification: the daemon may learn who we are but not act as us.
      HANDLE h = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                             FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, nullptr);
      if (h != INVALID_HANDLE_VALUE) {
        pipe_ = h;
        return {};
      }
      DWORD err = GetLastError();
      if (err == ERROR_PIPE_BUSY) {
        // All instances busy: wait for one, at most 20 s as the Go client does.
        DWORD wait = std::min<DWORD>(20000, remaining_ms(deadline));
        if (wait == 0 || !WaitNamedPipeW(name.c_str(), wait)) {
          if (cancelled()) return tl::unexpected(interrupted());
          return tl::unexpected(core::Error{ExitCode::kTimeout,
                                            where + ": pipe busy for " + detail::format_duration(timeout), {}});
        }
        continue;
      }
      if (err == ERROR_ACCESS_DENIED) {
        return tl::unexpected(core::Error{ExitCode::kNoPerm, where + ": access denied",
                                          "run from an elevated prompt, or as the user who started Tailscale"});
      }
      if (err == ERROR_FILE_NOT_FOUND) {
        return tl::unexpected(core::Error{ExitCode::kUnavailable, where + ": no such pipe", running_hint(ep_)});
      }
      return tl::unexpected(core::Error{ExitCode::kUnavailable, where + ": Windows error " + std::to_string(err),
                                        running_hint(ep_)});
    }
  }

  void close_pipe() {
    if (pipe_ != INVALID_HANDLE_VALUE) CloseHandle(pipe_);
    pipe_ = INVALID_HANDLE_VALUE;
  }

  Endpoint ep_;
  HANDLE pipe_ = INVALID_HANDLE_VALUE;
  HANDLE cancel_event_ = nullptr;
  std::mutex mu_;
  std::atomic<std::thread::id> owner_{};
};

}  // namespace
#endif  // _WIN32

std::unique_ptr<Transport> make_transport(const Endpoint& endpoint) {
#ifdef _WIN32
  if (endpoint.kind == Endpoint::Kind::kPipe) return std::make_unique<PipeTransport>(endpoint);
  // Unix sockets and loopback TCP would need httplib on Windows too; tailscaled there only
  // listens on the pipe (since 1.34).
  return std::make_unique<UnsupportedTransport>(endpoint, "on Windows tailscaled listens only on its named pipe");
#else
  if (endpoint.kind == Endpoint::Kind::kPipe) {
    return std::make_unique<UnsupportedTransport>(endpoint, "named pipes are only supported on Windows");
  }
  return std::make_unique<HttpTransport>(endpoint);
#endif
}

}  // namespace tb::ts
