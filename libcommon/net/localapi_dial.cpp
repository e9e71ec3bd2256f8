#include "libcommon/net/localapi_dial.hpp"

#include <sys/socket.h>

#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "libcommon/net/address.hpp"
#include "libcommon/net/io.hpp"

namespace tb::net {

namespace {

DialTransportSettings g_settings;

DialResult dial_failure(std::string msg, socks5::Reply reply, int http) {
  DialResult r;
  r.error = std::move(msg);
  r.reply = reply;
  r.http_status = http;
  return r;
}

using unix_socket = asio::local::stream_protocol::socket;

// The reply's head: status code and the headers we read (names compared case-insensitively).
struct Head {
  int status = 0;
  std::string dial_self, dial_addr;
  size_t content_length = 0;
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::optional<Head> parse_head(const std::string& text) {
  Head h;
  size_t eol = text.find("\r\n");
  std::string first = text.substr(0, eol);
  if (first.rfind("HTTP/1.", 0) != 0 || first.size() < 12) return std::nullopt;
  h.status = std::atoi(first.c_str() + 9);
  for (size_t pos = eol + 2; pos < text.size();) {
    size_t end = text.find("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon)), value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name == "dial-self") h.dial_self = value;
    if (name == "dial-addr") h.dial_addr = value;
    if (name == "content-length") h.content_length = static_cast<size_t>(std::strtoull(value.c_str(), nullptr, 10));
  }
  return h;
}

// Reads the reply head and nothing after it: bytes are peeked, and only those up to the blank
// line are consumed, so the first bytes of the raw stream stay in the socket.
awaitable<std::optional<std::string>> read_head(unix_socket& s) {
  std::string head;
  char buf[1024];
  while (head.size() < 16384) {
    auto [ec, n] = co_await s.async_receive(asio::buffer(buf), asio::socket_base::message_peek, use_tuple);
    if (ec || n == 0) co_return std::nullopt;
    std::string seen = head + std::string(buf, n);
    size_t end = seen.find("\r\n\r\n", head.size() >= 3 ? head.size() - 3 : 0);
    size_t take = end == std::string::npos ? n : end + 4 - head.size();
    auto [ec2, m] = co_await asio::async_read(s, asio::buffer(buf, take), use_tuple);
    if (ec2) co_return std::nullopt;
    head.append(buf, m);
    if (end != std::string::npos) co_return head;
  }
  co_return std::nullopt;
}

// What tailscaled said instead of 101: its error body (text/plain, one line).
awaitable<std::string> read_body(unix_socket& s, size_t length) {
  std::string body(std::min<size_t>(length, 512), '\0');
  auto [ec, n] = co_await asio::async_read(s, asio::buffer(body), use_tuple);
  body.resize(ec ? 0 : n);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  co_return body;
}

std::string request(const HostPort& dst) {
  return "POST /localapi/v0/dial HTTP/1.1\r\nHost: local-tailscaled.sock\r\nUpgrade: ts-dial\r\n"
         "Connection: upgrade\r\nDial-Host: " + dst.host + "\r\nDial-Port: " + std::to_string(dst.port) +
         "\r\nDial-Network: tcp\r\nContent-Length: 0\r\n\r\n";
}

// Dial-Self: the daemon says the destination is outside the tailnet; dial its Dial-Addr here.
awaitable<DialResult> dial_self(const std::string& addr, const DialOptions& opts) {
  size_t colon = addr.rfind(':');
  std::string host = colon == std::string::npos ? "" : addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  int port = colon == std::string::npos ? 0 : std::atoi(addr.c_str() + colon + 1);
  if (ec || port <= 0 || port > 65535)
    co_return dial_failure("tailscaled dial: Dial-Self with a bad Dial-Addr \"" + addr + "\"", socks5::Reply::kGeneralFailure, 502);
  std::vector<asio::ip::address> addrs(1, ip);
  co_return co_await dial_addresses(std::move(addrs), static_cast<uint16_t>(port), opts);
}

// A failure that means "this daemon has no dial endpoint for us" (auto falls back to SOCKS5).
struct Attempt {
  DialResult result;
  bool unavailable = false;
};

awaitable<Attempt> attempt(const std::string& socket_path, const HostPort& dst, const DialOptions& opts) {
  Attempt a;
  std::string where = "tailscaled dial at " + socket_path;
  // The name goes into a request header: a CR, LF, space or other control byte (a SOCKS5 or 4a
  // client may send one) would let a client write its own Local API request.
  if (has_control_or_space(dst.host)) {
    a.result = dial_failure(where + ": the destination name has a control character or space",
                            socks5::Reply::kGeneralFailure, 400);
    co_return a;
  }
  auto ex = co_await asio::this_coro::executor;
  auto s = std::make_shared<unix_socket>(ex);
  asio::steady_timer watchdog(ex, opts.connect_timeout);
  // Shared with the handler, which may run after this frame is gone (expired with the last read).
  auto expired = std::make_shared<bool>(false);
  watchdog.async_wait([s, expired](std::error_code ec) {
    if (ec) return;
    *expired = true;
    std::error_code ignored;
    s->close(ignored);
  });
  const bool& timed_out = *expired;
  auto [ec] = co_await s->async_connect(asio::local::stream_protocol::endpoint(socket_path), use_tuple);
  if (ec) {
    a.unavailable = !timed_out;
    a.result = dial_failure(where + ": " + ec.message(), socks5::Reply::kNetworkUnreachable, 502);
    co_return a;
  }
  std::string req = request(dst);
  auto [wec, wn] = co_await asio::async_write(*s, asio::buffer(req), use_tuple);
  std::optional<std::string> head;
  if (!wec) head = co_await read_head(*s);  // (g++ 12: no co_await inside ?: or braces)
  std::optional<Head> h;
  if (head) h = parse_head(*head);
  if (!h) {
    watchdog.cancel();
    std::string why = timed_out ? "timed out after " + std::to_string(opts.connect_timeout.count()) + " ms"
                                : "no HTTP reply";
    a.result = dial_failure(where + ": " + why, timed_out ? socks5::Reply::kTtlExpired : socks5::Reply::kGeneralFailure,
                            timed_out ? 504 : 502);
    co_return a;
  }
  if (h->status == 101) {
    watchdog.cancel();
    tcp::socket out(ex);
    std::error_code aec;
    int fd = s->release();
    out.assign(tcp::v4(), fd, aec);  // a stream socket: reads, writes and shutdown are the same
    if (aec) {
      ::close(fd);
      a.result = dial_failure(where + ": " + aec.message(), socks5::Reply::kGeneralFailure, 502);
      co_return a;
    }
    a.result.socket.emplace(std::move(out));
    co_return a;
  }
  if (h->status == 200 && lower(h->dial_self) == "true") {
    watchdog.cancel();
    a.result = co_await dial_self(h->dial_addr, opts);
    co_return a;
  }
  std::string body = co_await read_body(*s, h->content_length);  // still under the watchdog
  watchdog.cancel();
  a.unavailable = h->status == 404;
  bool refused = body.find("refused") != std::string::npos;
  a.result = dial_failure(where + ": HTTP " + std::to_string(h->status) + (body.empty() ? "" : ": " + body),
                          refused ? socks5::Reply::kConnectionRefused
                          : h->status == 502 ? socks5::Reply::kHostUnreachable : socks5::Reply::kGeneralFailure,
                          h->status == 403 ? 403 : 502);
  co_return a;
}

TailnetTransport mode_for(const std::string& tag) {
  auto it = g_settings.by_tag.find(tag);
  return it != g_settings.by_tag.end() ? it->second : g_settings.all;
}

}  // namespace

std::optional<TailnetTransport> parse_tailnet_transport(const std::string& s) {
  if (s == "auto") return TailnetTransport::kAuto;
  if (s == "dial") return TailnetTransport::kDial;
  if (s == "socks5") return TailnetTransport::kSocks5;
  return std::nullopt;
}

const char* tailnet_transport_name(TailnetTransport t) {
  return t == TailnetTransport::kDial ? "dial" : t == TailnetTransport::kSocks5 ? "socks5" : "auto";
}

void set_dial_transport(DialTransportSettings s) { g_settings = std::move(s); }

tb::core::Result<void> configure_dial_transport(std::string socket, const std::vector<std::string>& specs) {
  DialTransportSettings s;
  const char* env = std::getenv("TS_SOCKET");
  s.socket = !socket.empty() ? std::move(socket) : env && *env ? env : "/var/run/tailscale/tailscaled.sock";
  for (const auto& spec : specs) {
    size_t eq = spec.find('=');
    auto mode = parse_tailnet_transport(eq == std::string::npos ? spec : spec.substr(eq + 1));
    if (!mode || eq == 0)
      return tb::core::fail(tb::core::ExitCode::kUsage,
                            "--tailscale-transport " + spec + ": want auto, dial or socks5, or TAG=auto|dial|socks5");
    if (eq == std::string::npos) s.all = *mode;
    else s.by_tag[spec.substr(0, eq)] = *mode;
  }
  set_dial_transport(std::move(s));
  return {};
}
const DialTransportSettings& dial_transport() { return g_settings; }

std::vector<std::string> unknown_transport_tags(const Plan& plan) {
  std::vector<std::string> out;
  for (const auto& [tag, mode] : g_settings.by_tag) {
    const OutboundSpec* ob = plan.outbound(tag);
    if (!ob || ob->type != "tailscale") out.push_back(tag);
  }
  return out;
}

std::string tailnet_transport_for(const Plan& plan, const OutboundSpec& ob) {
  TailnetTransport m = mode_for(ob.tag);
  if (m == TailnetTransport::kDial) return "dial";
  if (plan.tun) return "tun";
  if (m == TailnetTransport::kSocks5 || !ob.detour.empty()) return "socks5";
  return "dial";
}

awaitable<DialResult> localapi_dial(const std::string& socket, const HostPort& dst, const DialOptions& opts) {
  auto a = co_await attempt(socket, dst, opts);
  co_return std::move(a.result);
}

awaitable<std::optional<DialResult>> tailnet_dial_hook(const Plan& plan, const OutboundSpec& ob, const HostPort& target) {
  if (target.host == "127.0.0.1" || target.host == "::1" || tailnet_transport_for(plan, ob) != "dial") co_return std::nullopt;
  auto a = co_await attempt(g_settings.socket, target, ob.dial);
  if (a.unavailable && mode_for(ob.tag) == TailnetTransport::kAuto) co_return std::nullopt;  // SOCKS5 as before
  co_return std::move(a.result);
}

}  // namespace tb::net
