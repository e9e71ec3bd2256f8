#pragma once
// HTTP proxy requests (RFC 9110/9112): CONNECT host:port and absolute-URI forward requests.
// Pure codecs over the bytes read so far: the request head ends at the first CRLFCRLF.
//
//   CONNECT example.com:443 HTTP/1.1\r\n          GET http://example.com/path?q HTTP/1.1\r\n
//   Host: example.com:443\r\n                     Host: example.com\r\n
//   Proxy-Authorization: Basic dTpw\r\n           Proxy-Connection: keep-alive\r\n
//   \r\n                                          \r\n
//
// A forward request is rewritten to origin form ("GET /path?q HTTP/1.1") with the hop-by-hop
// headers (Connection and the headers it names, Keep-Alive, Proxy-*, TE, Trailer, Upgrade)
// removed. Transfer-Encoding stays: bodies are streamed through unchanged, framing included.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libcommon/net/address.hpp"
#include "libcommon/net/bytes.hpp"

namespace tb::net::http {

inline constexpr size_t kMaxHead = 16 * 1024;  // larger heads are refused with 431

struct Header {
  std::string name, value;
};

struct RequestHead {
  std::string method, target, version;  // version "HTTP/1.1"
  std::vector<Header> headers;
  // From the target: CONNECT authority, or the absolute URI's host, port and origin-form path.
  HostPort destination;
  std::string path;  // origin form for forward requests ("/" at least)
  bool connect = false;
  const std::string* find(std::string_view name) const;  // case-insensitive
};

// kBad carries the HTTP status to answer in `error`'s first three characters ("400 …", "431 …").
Parsed<RequestHead> parse_request_head(Bytes in);

struct ResponseHead {
  std::string version, reason;
  int status = 0;
  std::vector<Header> headers;
  const std::string* find(std::string_view name) const;
};
Parsed<ResponseHead> parse_response_head(Bytes in);

// "Basic base64(user:pass)" → user, password (standard or URL-safe alphabet, as sing-box).
std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view value);

// Header list minus the hop-by-hop ones (and every header named by Connection).
std::vector<Header> strip_hop_by_hop(const std::vector<Header>& in);

// Whether the client wants the connection kept after this request (HTTP/1.1 default yes,
// Connection/Proxy-Connection: close → no; HTTP/1.0 only with keep-alive).
bool wants_keep_alive(const RequestHead& r);

// Body framing of a request: Content-Length value, or chunked, or none.
struct Framing {
  bool chunked = false;
  std::optional<uint64_t> length;
  bool bad = false;
};
Framing request_framing(const RequestHead& r);

// The origin-form request to send upstream (Connection: close; sb-relay opens one upstream
// connection per request and streams the answer until the server closes it).
std::string origin_request(const RequestHead& r);
// The response head sent back to the client, hop-by-hop headers removed, with our Connection.
std::string response_head_text(const ResponseHead& r, bool keep_alive);
// Where a response's body ends (RFC 9112 §6.3), which decides whether the client's connection
// can carry another request:
//   kNone       at the head: a HEAD request's answer, 1xx (but 101), 204, 304, a 2xx to CONNECT,
//               a Content-Length of 0;
//   kLength     after `length` bytes (a valid Content-Length);
//   kChunked    after the last chunk and trailers (Transfer-Encoding lists chunked);
//   kUntilClose when the server closes: any other Transfer-Encoding, a Content-Length that is not
//               one decimal number, neither header, and 101 (what follows is the new protocol).
struct ResponseBody {
  enum class Kind { kNone, kLength, kChunked, kUntilClose } kind = Kind::kUntilClose;
  uint64_t length = 0;  // kLength only
};
ResponseBody response_body(const ResponseHead& r, std::string_view request_method);

// A complete small response: status line, Content-Length, Connection: close unless keep.
std::string simple_response(int status, std::string_view reason, std::string_view body = {},
                            const std::vector<Header>& extra = {}, bool keep_alive = false);

}  // namespace tb::net::http
