#pragma once
// HTTP/1.1 to tailscaled's Local API (docs/localapi.md, "HTTP framing and headers"). One
// interface, because tests use a fake and the daemon can be reached over a Unix socket (Linux, BSD,
// macOS open-source daemon), loopback TCP with a token (macOS GUI) or a named pipe (Windows).
//
// Every request carries Host: local-tailscaled.sock (tailscaled answers 403 to any other host) and
// Tailscale-Cap: <capability version>. Connections are kept alive between requests.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "libcommon/core/error.hpp"
#include "libcommon/tailscale/endpoint.hpp"

namespace tb::ts {

// The capability version we announce: that of tailscale 1.94, whose Local API we follow.
inline constexpr int kCapabilityVersion = 131;
inline constexpr const char* kLocalApiHost = "local-tailscaled.sock";

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

// Transport-level failures only: an HTTP status (even 403 or 500) is a successful HttpResponse;
// LocalApiClient maps statuses to errors.
//   could not connect (ENOENT, ECONNREFUSED)  -> ExitCode::kUnavailable, hint "is tailscaled running? …"
//   EACCES on connect                         -> ExitCode::kNoPerm
//   read/connect timeout                      -> ExitCode::kTimeout
//   connection dropped mid-reply, garbage     -> ExitCode::kProtocol
//   cancelled (cancel() or interrupt)         -> ExitCode::kInterrupted
class Transport {
 public:
  virtual ~Transport() = default;

  virtual core::Result<HttpResponse> request(std::string_view method, std::string_view path_and_query,
                                             std::string_view body, std::chrono::milliseconds timeout) = 0;

  // A streamed GET (watch-ipn-bus). on_line gets each complete line without its '\n' (chunks are
  // re-assembled; no line-length limit); returning false stops the stream. connect_timeout bounds
  // the connect and the response headers; idle_timeout bounds the silence between chunks (the bus
  // has no heartbeat, so callers pass a long one). Returns the HTTP status when the stream ends
  // cleanly (EOF from the daemon is an error: kUnavailable "tailscaled closed the stream").
  // A non-2xx status returns an HttpResponse-like error through the status with the body in *error_body.
  virtual core::Result<int> stream(std::string_view path_and_query,
                                   const std::function<bool(std::string_view line)>& on_line,
                                   std::chrono::milliseconds connect_timeout,
                                   std::chrono::milliseconds idle_timeout, std::string* error_body) = 0;

  // Unblocks a request or stream in progress from another thread (SIGINT path). Idempotent.
  virtual void cancel() = 0;

  virtual const Endpoint& endpoint() const = 0;
};

std::unique_ptr<Transport> make_transport(const Endpoint& endpoint);

}  // namespace tb::ts
