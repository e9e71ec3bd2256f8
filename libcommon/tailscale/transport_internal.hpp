#pragma once
// What the transport's files share, and the pieces pure enough to unit-test on their own. Not
// part of the public API: only transport*.cpp and the transport tests include this.
//   transport.cpp        the shared pieces below and HTTP/1.1 over a byte stream
//   transport_posix.cpp  Unix socket and loopback TCP, on cpp-httplib (Linux, macOS)
//   transport_win32.cpp  the named pipe (Windows)
// CMakeLists.txt picks one platform file; each defines make_transport.
//
// The HTTP/1.1 framing here (request writer, response-head parser, chunked decoder) serves the
// Windows named-pipe transport, which has no cpp-httplib underneath; it is plain code over a byte
// stream so it is compiled and tested on Linux too.

#include <chrono>
#include <cstdint>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/endpoint.hpp"
#include "libcommon/tailscale/transport.hpp"

namespace tb::ts::detail {

using Clock = std::chrono::steady_clock;

// An error reply is shown to the user; a daemon has no reason to send more than this.
inline constexpr size_t kMaxErrorBody = 1 << 20;

// now + d without overflowing: callers pass "practically forever" for an idle bus.
Clock::time_point deadline_after(std::chrono::milliseconds d);

// The errors every transport reports the same way.
core::Error interrupted();
core::Error no_answer(std::chrono::milliseconds timeout);   // nothing within the request's bound
core::Error stream_idle(std::chrono::milliseconds idle);    // a stream silent for its idle bound
core::Error stream_closed();                                // the bus ended: the daemon went away
std::string running_hint(const Endpoint& ep);               // "is tailscaled running? …"

HttpResponse to_response(int status, std::string body, const std::map<std::string, std::string>& lower_headers);

// One call at a time on a transport. Refuses (error()) a call made after cancel(), without waiting
// for the call in progress, and a nested call from inside a stream callback, which would deadlock.
class CallGuard {
 public:
  CallGuard(bool cancelled, std::mutex& mu, std::atomic<std::thread::id>& owner);
  ~CallGuard();
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;
  const std::optional<core::Error>& error() const { return error_; }

 private:
  std::atomic<std::thread::id>& owner_;
  std::unique_lock<std::mutex> lock_;
  std::optional<core::Error> error_;
};

// An endpoint this build cannot reach (a pipe outside Windows): every call fails with kUnavailable
// and `why`.
std::unique_ptr<Transport> make_unsupported_transport(const Endpoint& endpoint, std::string why);

// Re-assembles lines from arbitrary chunks. No line-length limit: a Notify carrying a netmap is
// megabytes on one line. Each new byte is scanned once.
class LineSplitter {
 public:
  // Calls on_line for every complete line (without its '\n'); false as soon as on_line says stop.
  bool feed(std::string_view data, const std::function<bool(std::string_view line)>& on_line);
  // The incomplete tail, for diagnostics.
  std::string_view pending() const { return std::string_view(buf_).substr(start_); }

 private:
  std::string buf_;
  size_t start_ = 0;  // first byte of the incomplete line
  size_t scan_ = 0;   // bytes before this hold no '\n' past start_
};

// "5s", "1.5s", "250ms": durations as they appear in messages (core's one formatter).
using core::format_duration;

// ---- Unix socket and loopback TCP (transport_posix.cpp) ----

// errno of a fresh non-blocking connect() to the endpoint (Unix socket or 127.0.0.1:port); 0 when
// it connects (or is merely busy). httplib only says "Error::Connection", and the user needs to
// know whether the daemon is absent (ENOENT, ECONNREFUSED) or they lack access (EACCES).
int connect_errno(const Endpoint& ep);

// The Error for a failed connect with that errno (0: unknown cause).
core::Error connect_error(const Endpoint& ep, int err);

// ---- HTTP/1.1 framing for transports without httplib ----

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// "METHOD target HTTP/1.1\r\n" + headers + Content-Length (when there is a body or the method
// carries one) + "\r\n" + body.
std::string format_request(std::string_view method, std::string_view target, const HeaderList& headers,
                           std::string_view body);

struct ResponseHead {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; repeated headers joined with ", "
};

// Parses a response head: status line and header lines, each ending "\r\n" (a bare "\n" is
// accepted), without the blank line. nullopt when it is not HTTP/1.x.
std::optional<ResponseHead> parse_response_head(std::string_view head);

// Decodes Transfer-Encoding: chunked incrementally.
class ChunkedDecoder {
 public:
  enum class Status { kMore, kDone, kError, kStopped };
  // Feeds wire bytes; body bytes go to sink (returning false gives kStopped). After kDone,
  // *consumed says how many input bytes belonged to the body (the rest is the next response).
  Status feed(std::string_view data, const std::function<bool(std::string_view)>& sink, size_t* consumed = nullptr);

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  std::string line_;
  uint64_t remaining_ = 0;
};

// A connected byte stream (a Windows pipe; a socketpair in tests).
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual core::Result<void> write_all(std::string_view data) = 0;
  // Up to n bytes; 0 means end of stream. Timeouts and cancellation are the stream's business.
  virtual core::Result<size_t> read_some(char* buf, size_t n) = 0;
};

struct Exchange {
  ResponseHead head;
  bool keep_alive = false;  // the connection may carry another request
  bool stopped = false;     // on_body asked to stop (the connection is then unusable)
};

// Writes one request and reads its reply. on_head runs once the head has arrived (a stream uses it
// to switch from the connect timeout to the idle timeout); body bytes go to on_body.
// Errors: kProtocol for a reply that is not HTTP or ends early; the stream's own errors as they are.
core::Result<Exchange> http_exchange(ByteStream& stream, std::string_view method, std::string_view request_bytes,
                                     const std::function<void(const ResponseHead&)>& on_head,
                                     const std::function<bool(std::string_view)>& on_body);

}  // namespace tb::ts::detail
