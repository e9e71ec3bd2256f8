#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

#include "libcommon/tailscale/transport.hpp"
#include "libcommon/tailscale/transport_internal.hpp"

// The Local API over Windows' named pipe: HTTP/1.1 by hand (transport.cpp's http_exchange) over an
// overlapped pipe handle. As tailscale's own client (safesocket/pipe_windows.go, winio.DialPipe):
// connect with impersonation level Identification, wait up to 20 s for a busy pipe.

namespace tb::ts {

using core::ExitCode;
using detail::Clock;
using detail::deadline_after;
using detail::interrupted;
using detail::running_hint;
using std::chrono::milliseconds;

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
    detail::CallGuard guard(cancelled(), mu_, owner_);
    auto s = begin(guard, timeout);
    if (!s) return tl::unexpected(s.error());
    std::string resp_body;
    auto ex = detail::http_exchange(**s, method, detail::format_request(method, path_and_query, headers(body), body),
                                    nullptr, [&](std::string_view d) {
                                      resp_body.append(d);
                                      return true;
                                    });
    if (!ex || !ex->keep_alive) close_pipe();
    if (!ex) return tl::unexpected(ex.error());
    return detail::to_response(ex->head.status, std::move(resp_body), ex->head.headers);
  }

  core::Result<int> stream(std::string_view path_and_query, const std::function<bool(std::string_view line)>& on_line,
                           milliseconds connect_timeout, milliseconds idle_timeout, std::string* error_body) override {
    detail::CallGuard guard(cancelled(), mu_, owner_);
    auto s = begin(guard, connect_timeout);
    if (!s) return tl::unexpected(s.error());
    bool ok_status = false;
    std::string err_body;
    detail::LineSplitter lines;
    auto ex = detail::http_exchange(
        **s, "GET", detail::format_request("GET", path_and_query, headers({}), {}),
        [&](const detail::ResponseHead& head) {
          ok_status = head.status / 100 == 2;
          (*s)->set_idle(idle_timeout, detail::stream_idle(idle_timeout));
        },
        [&](std::string_view d) {
          if (!ok_status) {
            err_body.append(d.substr(0, detail::kMaxErrorBody - std::min(detail::kMaxErrorBody, err_body.size())));
            return true;
          }
          return lines.feed(d, on_line);
        });
    close_pipe();  // a stream's connection is never reused
    if (!ex) {
      if (ok_status && ex.error().code == ExitCode::kProtocol) return tl::unexpected(detail::stream_closed());
      return tl::unexpected(ex.error());
    }
    if (ex->stopped) return ex->head.status;
    if (!ok_status) {
      if (error_body) *error_body = std::move(err_body);
      return ex->head.status;
    }
    return tl::unexpected(detail::stream_closed());
  }

  void cancel() override { SetEvent(cancel_event_); }

  const Endpoint& endpoint() const override { return ep_; }

 private:
  bool cancelled() const { return WaitForSingleObject(cancel_event_, 0) == WAIT_OBJECT_0; }

  // A call's start: refused when the guard says so, else an open pipe and a stream on it bounded
  // by the call's timeout.
  core::Result<std::unique_ptr<PipeStream>> begin(const detail::CallGuard& guard, milliseconds timeout) {
    if (guard.error()) return tl::unexpected(*guard.error());
    auto deadline = deadline_after(timeout);
    if (auto open = ensure_open(deadline, timeout); !open) return tl::unexpected(open.error());
    return std::make_unique<PipeStream>(pipe_, cancel_event_, deadline, detail::no_answer(timeout));
  }

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

std::unique_ptr<Transport> make_transport(const Endpoint& endpoint) {
  if (endpoint.kind == Endpoint::Kind::kPipe) return std::make_unique<PipeTransport>(endpoint);
  // Unix sockets and loopback TCP would need httplib on Windows too; tailscaled there only
  // listens on the pipe (since 1.34).
  return detail::make_unsupported_transport(endpoint, "on Windows tailscaled listens only on its named pipe");
}

}  // namespace tb::ts
