// The HTTP proxy session: CONNECT (then relayed by run_session) and absolute-URI forwarding with
// keep-alive. The byte work is the fuzzed codecs': request and response heads and the response's
// body framing (http_proxy.hpp), chunked bodies (http_chunked.hpp). Here: the order of the steps
// and the streaming.

#include <strings.h>

#include <array>

#include "libcommon/net/http_chunked.hpp"
#include "libcommon/net/http_proxy.hpp"
#include "libcommon/net/session.hpp"

namespace tb::net::session {

namespace {

using BodyKind = http::ResponseBody::Kind;

std::string_view reason_of(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 407: return "Proxy Authentication Required";
    case 411: return "Length Required";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
  }
  return "Error";
}

// Answers the client with `status` and records `msg` as the connection's error; always false (the
// connection ends), so steps can `co_return co_await http_error(...)`.
awaitable<bool> http_error(Session& s, int status, std::string msg) {
  std::vector<http::Header> extra;
  if (status == 407) extra.push_back({std::string("Proxy-Authenticate"), std::string("Basic realm=\"sb-relay\", charset=\"UTF-8\"")});
  std::string resp = http::simple_response(status, reason_of(status), msg + "\n", extra);
  co_await write_all(s.client, resp);
  s.fail(std::move(msg));
  co_return false;
}

// Expect: 100-continue is answered by the relay as soon as the upstream is connected, and not
// passed on: the client sends its body without waiting for an answer the relay would only read
// after the body (a request is forwarded one direction at a time).
bool answers_continue(const Session& s, const http::RequestHead& head, const http::Framing& framing) {
  const std::string* expect = head.find("Expect");
  return expect && head.version != "HTTP/1.0" && (framing.chunked || framing.length.value_or(0) > 0) && s.buf.empty() &&
         expect->size() == 12 && strncasecmp(expect->c_str(), "100-continue", 12) == 0;
}

// Moves `take` bytes of s.buf upstream; false (with the client answered) when the upstream fails.
awaitable<bool> send_buffered(Session& s, tcp::socket& up, size_t take) {
  Bytes part(s.buf.data(), take);
  if (!co_await write_all(up, Bytes(part))) co_return co_await http_error(s, 502, "upstream write failed");
  s.buf.erase(s.buf.begin(), s.buf.begin() + static_cast<std::ptrdiff_t>(take));
  s.info.bytes_up += take;
  co_return true;
}

// When s.buf is empty, reads at most `max` more bytes of the request body from the client.
awaitable<bool> refill(Session& s, size_t max) {
  if (!s.buf.empty()) co_return true;
  std::array<uint8_t, 16384> chunk;
  auto [ec, n] = co_await s.client.async_read_some(asio::buffer(chunk.data(), std::min(chunk.size(), max)), use_tuple);
  if (ec) co_return (s.fail("client closed during request body"), false);
  s.buf.assign(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
  co_return true;
}

// The request body, as its framing says. A chunked body is forwarded as it comes, chunk framing
// and trailers included; the scanner finds where it ends, so a pipelined next request is not sent
// upstream with it.
awaitable<bool> forward_request_body(Session& s, tcp::socket& up, const http::Framing& framing) {
  if (framing.chunked) {
    http::ChunkedScanner scan;
    while (scan.status() == http::ChunkedScanner::Status::kMore) {
      if (!co_await refill(s, SIZE_MAX)) co_return false;
      size_t take = scan.feed(Bytes(s.buf.data(), s.buf.size()));
      if (scan.status() == http::ChunkedScanner::Status::kBad)
        co_return co_await http_error(s, 400, std::string("bad chunked request body: ") + scan.error());
      if (!co_await send_buffered(s, up, take)) co_return false;
    }
  }
  for (uint64_t body = framing.length.value_or(0); body > 0;) {
    if (!co_await refill(s, static_cast<size_t>(std::min<uint64_t>(body, SIZE_MAX)))) co_return false;
    size_t take = static_cast<size_t>(std::min<uint64_t>(s.buf.size(), body));
    if (!co_await send_buffered(s, up, take)) co_return false;
    body -= take;
  }
  co_return true;
}

// The response head, bounded. Interim answers (100 Continue, 103 Early Hints) are passed on as
// they come, then the final one is read. `rbuf` keeps what was read past the head.
awaitable<std::optional<http::ResponseHead>> read_response_head(Session& s, tcp::socket& up, Buffer& rbuf) {
  for (;;) {
    auto rh = http::parse_response_head(Bytes(rbuf.data(), rbuf.size()));
    if (rh.ok() && rh.value.status / 100 == 1 && rh.value.status != 101) {
      Bytes interim(rbuf.data(), rh.used);
      if (!co_await write_all(s.client, Bytes(interim))) co_return std::nullopt;
      s.info.bytes_down += rh.used;
      rbuf.erase(rbuf.begin(), rbuf.begin() + static_cast<std::ptrdiff_t>(rh.used));
      continue;
    }
    if (rh.ok()) {
      rbuf.erase(rbuf.begin(), rbuf.begin() + static_cast<std::ptrdiff_t>(rh.used));
      co_return std::move(rh.value);
    }
    if (rh.status == ParseStatus::kBad) {
      co_await http_error(s, 502, "upstream sent a malformed response: " + rh.error);
      co_return std::nullopt;
    }
    size_t old = rbuf.size();
    rbuf.resize(old + 4096);
    auto [ec, n] = co_await up.async_read_some(asio::buffer(rbuf.data() + old, 4096), use_tuple);
    rbuf.resize(old + n);
    if (ec) {
      co_await http_error(s, 502, "upstream closed before a response");
      co_return std::nullopt;
    }
  }
}

// The response body, streamed to the client until where `framing` says it ends (kUntilClose:
// the upstream's close). `pending` holds what came with the head.
awaitable<bool> stream_response_body(Session& s, tcp::socket& up, http::ResponseBody framing, Buffer pending) {
  http::ChunkedScanner scan;
  uint64_t left = framing.length;
  bool done = framing.kind == BodyKind::kNone;
  std::array<uint8_t, 16384> chunk;
  while (!done) {
    if (pending.empty()) {
      auto [ec, n] = co_await up.async_read_some(asio::buffer(chunk), use_tuple);
      if (n > 0) pending.assign(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
      else if (ec && framing.kind == BodyKind::kUntilClose) break;
      else if (ec) co_return (s.fail("upstream closed in the middle of the response body"), false);
      continue;
    }
    size_t take = pending.size();
    if (framing.kind == BodyKind::kLength) {
      take = static_cast<size_t>(std::min<uint64_t>(take, left));
      left -= take;
      done = left == 0;
    } else if (framing.kind == BodyKind::kChunked) {
      take = scan.feed(Bytes(pending.data(), pending.size()));
      if (scan.status() == http::ChunkedScanner::Status::kBad)
        co_return (s.fail(std::string("upstream sent a bad chunked body: ") + scan.error()), false);
      done = scan.status() == http::ChunkedScanner::Status::kDone;
    }
    s.info.bytes_down += take;
    Bytes part(pending.data(), take);
    if (!co_await write_all(s.client, Bytes(part))) co_return false;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(take));
  }
  co_return true;
}

// One forwarded request: dial, send it in origin form with its body, stream the answer back.
// Returns whether the client connection can carry another request: only when the answer ends by
// its own framing, never at the upstream's close (even if the upstream keeps its connection open).
awaitable<bool> http_forward(Session& s, const http::RequestHead& head) {
  auto framing = http::request_framing(head);
  if (framing.bad) co_return co_await http_error(s, 400, "bad request body framing");
  auto o = co_await decide_and_dial(s, head.destination, "tcp");
  if (!o.dial.ok()) {
    if (o.drop) co_return false;
    co_return co_await http_error(s, o.dial.http_status, o.dial.error);
  }
  tcp::socket& up = *o.dial.socket;
  bool answer_continue = answers_continue(s, head, framing);
  http::RequestHead fwd = head;
  if (answer_continue)
    std::erase_if(fwd.headers, [](const http::Header& h) { return strcasecmp(h.name.c_str(), "Expect") == 0; });
  std::string req = http::origin_request(fwd);
  if (!co_await write_all(up, req)) co_return co_await http_error(s, 502, "upstream write failed");
  s.info.bytes_up += req.size();
  if (answer_continue && !co_await write_all(s.client, std::string_view("HTTP/1.1 100 Continue\r\n\r\n"))) co_return false;
  if (!co_await forward_request_body(s, up, framing)) co_return false;
  Buffer rbuf;
  auto rh = co_await read_response_head(s, up, rbuf);
  if (!rh) co_return false;
  auto body = http::response_body(*rh, head.method);
  bool keep = http::wants_keep_alive(head) && body.kind != BodyKind::kUntilClose;
  std::string out = http::response_head_text(*rh, keep);
  if (!co_await write_all(s.client, out)) co_return false;
  s.info.bytes_down += out.size();  // heads count both ways, as the request head does upstream
  if (!co_await stream_response_body(s, up, body, std::move(rbuf))) co_return false;
  co_return keep;
}

// Proxy-Authorization against the inbound's users; false (with 407 sent) when it does not match.
awaitable<bool> authorize(Session& s, const http::RequestHead& head) {
  if (s.users->empty()) co_return true;
  const std::string* auth = head.find("Proxy-Authorization");
  auto creds = auth ? http::parse_basic_auth(*auth) : std::nullopt;
  if (!creds || !check_user(*s.users, creds->first, creds->second))
    co_return co_await http_error(s, 407, auth ? "authentication failed" : "proxy authentication required");
  s.info.user = creds->first;
  co_return true;
}

awaitable<void> http_connect(Session& s, const http::RequestHead& head) {
  s.info.protocol = "http-connect";
  auto o = co_await decide_and_dial(s, head.destination, "tcp");
  if (!o.dial.ok()) {
    if (!o.drop) co_await http_error(s, o.dial.http_status, o.dial.error);
    co_return;
  }
  if (!co_await write_all(s.client, std::string_view("HTTP/1.1 200 Connection established\r\n\r\n"))) co_return;
  s.upstream = std::move(o.dial.socket);  // run_session relays, once this frame is gone
}

}  // namespace

awaitable<void> serve_http(Session& s) {
  s.info.protocol = "http";
  for (;;) {
    auto head = co_await read_parsed<http::RequestHead>(s, http::kMaxHead + 4096, http::parse_request_head);
    if (!head.ok()) {
      int status = std::atoi(head.error.substr(0, 3).c_str());
      std::string why = head.error.size() > 4 ? head.error.substr(4) : head.error;
      if (head.status == ParseStatus::kBad) co_await http_error(s, status, why);
      else if (s.buf.size() >= http::kMaxHead) co_await http_error(s, 431, "request header fields too large");
      co_return;
    }
    s.between_requests = false;
    if (!co_await authorize(s, head.value)) co_return;
    s.disarm();
    if (head.value.connect) co_return co_await http_connect(s, head.value);
    if (!co_await http_forward(s, head.value)) co_return;
    // Keep-alive: the next request head must come within the idle timeout.
    s.between_requests = true;
    s.arm(s.ctx.shared->opts.idle_timeout);
  }
}

}  // namespace tb::net::session
