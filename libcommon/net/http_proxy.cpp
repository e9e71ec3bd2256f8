#include "libcommon/net/http_proxy.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "libcommon/core/strings.hpp"

namespace tb::net::http {

namespace {

using tb::core::iequals;

// HTTP's optional white space around a field value (and a stray CR before the line end).
std::string_view trim(std::string_view s) { return tb::core::trim(s, " \t\r"); }

// Position just after CRLFCRLF, or npos.
size_t head_end(Bytes in) {
  std::string_view s(reinterpret_cast<const char*>(in.data()), in.size());
  auto p = s.find("\r\n\r\n");
  return p == std::string_view::npos ? p : p + 4;
}

// Splits head lines; first line returned separately. false on a malformed header line.
bool split_head(std::string_view head, std::string_view& first, std::vector<Header>& headers) {
  // A bare CR or LF (RFC 9112 §2.2) is refused: forwarded, it would end a line for a peer that
  // accepts bare LF and smuggle a header or a status line past us (found by http_proxy_fuzz).
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\r' && (i + 1 == head.size() || head[i + 1] != '\n')) return false;
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) return false;
  }
  size_t pos = head.find("\r\n");
  first = head.substr(0, pos);
  pos += 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(pos, e - pos);
    pos = e + 2;
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return false;  // obsolete line folding
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    auto name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return false;
    headers.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
  }
  return true;
}

const std::string* find_in(const std::vector<Header>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

bool has_token(std::string_view list, std::string_view token) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t c = list.find(',', start);
    auto part = trim(list.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start));
    if (iequals(part, token)) return true;
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return false;
}

}  // namespace

const std::string* RequestHead::find(std::string_view name) const { return find_in(headers, name); }
const std::string* ResponseHead::find(std::string_view name) const { return find_in(headers, name); }

Parsed<RequestHead> parse_request_head(Bytes in) {
  size_t end = head_end(in);
  if (end == std::string::npos) {
    if (in.size() > kMaxHead) return Parsed<RequestHead>::bad("431 request header fields too large");
    return Parsed<RequestHead>::need_more();
  }
  if (end > kMaxHead) return Parsed<RequestHead>::bad("431 request header fields too large");
  std::string_view head(reinterpret_cast<const char*>(in.data()), end);
  RequestHead r;
  std::string_view first;
  if (!split_head(head, first, r.headers)) return Parsed<RequestHead>::bad("400 malformed header line");
  auto sp1 = first.find(' ');
  auto sp2 = first.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return Parsed<RequestHead>::bad("400 malformed request line");
  r.method = std::string(first.substr(0, sp1));
  r.target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
  r.version = std::string(first.substr(sp2 + 1));
  if (r.version != "HTTP/1.1" && r.version != "HTTP/1.0") return Parsed<RequestHead>::bad("505 HTTP version not supported");
  if (r.method == "CONNECT") {
    r.connect = true;
    auto hp = parse_host_port(r.target);
    if (!hp) return Parsed<RequestHead>::bad("400 CONNECT target must be host:port");
    r.destination = *hp;
    return Parsed<RequestHead>::done(std::move(r), end);
  }
  // Absolute URI: scheme://authority/path
  std::string_view t = r.target;
  auto scheme_end = t.find("://");
  if (scheme_end == std::string_view::npos) return Parsed<RequestHead>::bad("400 not an absolute URI (origin-form requests are for servers, not proxies)");
  if (!tb::core::iequals(t.substr(0, scheme_end), "http")) return Parsed<RequestHead>::bad("400 only http:// URIs can be forwarded (use CONNECT for https)");
  auto rest = t.substr(scheme_end + 3);
  auto slash = rest.find_first_of("/?#");
  auto authority = rest.substr(0, slash);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  auto hp = parse_host_port(authority, 80);
  if (!hp || hp->host.empty()) return Parsed<RequestHead>::bad("400 missing host in URI");
  r.destination = *hp;
  if (slash == std::string_view::npos) {
    r.path = "/";
  } else {
    auto p = rest.substr(slash);
    if (auto hash = p.find('#'); hash != std::string_view::npos) p = p.substr(0, hash);
    r.path = p.empty() || p.front() != '/' ? "/" + std::string(p) : std::string(p);
  }
  return Parsed<RequestHead>::done(std::move(r), end);
}

Parsed<ResponseHead> parse_response_head(Bytes in) {
  size_t end = head_end(in);
  if (end == std::string::npos) {
    if (in.size() > kMaxHead) return Parsed<ResponseHead>::bad("response head too large");
    return Parsed<ResponseHead>::need_more();
  }
  std::string_view head(reinterpret_cast<const char*>(in.data()), end);
  ResponseHead r;
  std::string_view first;
  if (!split_head(head, first, r.headers)) return Parsed<ResponseHead>::bad("malformed response header");
  auto sp1 = first.find(' ');
  if (sp1 == std::string_view::npos || first.substr(0, 5) != "HTTP/") return Parsed<ResponseHead>::bad("malformed status line");
  r.version = std::string(first.substr(0, sp1));
  auto code = first.substr(sp1 + 1, 3);
  if (code.size() != 3 || !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Parsed<ResponseHead>::bad("malformed status code");
  r.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  // "007" would go back to the client as "7" (found by http_proxy_fuzz); RFC 9110 §15: 100..599.
  if (r.status < 100) return Parsed<ResponseHead>::bad("malformed status code");
  if (first.size() > sp1 + 5) r.reason = std::string(first.substr(sp1 + 5));
  return Parsed<ResponseHead>::done(std::move(r), end);
}

std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view value) {
  value = trim(value);
  if (value.size() < 6 || !iequals(value.substr(0, 6), "basic ")) return std::nullopt;
  auto decoded = tb::core::base64_decode(trim(value.substr(6)), /*url_safe=*/true);
  if (!decoded) return std::nullopt;
  const std::string& out = *decoded;
  auto colon = out.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(out.substr(0, colon), out.substr(colon + 1));
}

std::vector<Header> strip_hop_by_hop(const std::vector<Header>& in) {
  static constexpr std::string_view kHop[] = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
                                              "proxy-authenticate", "te", "trailer", "upgrade"};
  std::vector<std::string_view> named;
  for (const auto& h : in)
    if (iequals(h.name, "connection")) {
      std::string_view v = h.value;
      size_t start = 0;
      while (start <= v.size()) {
        size_t c = v.find(',', start);
        named.push_back(trim(v.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start)));
        if (c == std::string_view::npos) break;
        start = c + 1;
      }
    }
  std::vector<Header> out;
  for (const auto& h : in) {
    bool hop = std::any_of(std::begin(kHop), std::end(kHop), [&](std::string_view n) { return iequals(h.name, n); }) ||
               std::any_of(named.begin(), named.end(), [&](std::string_view n) { return iequals(h.name, n); });
    if (!hop) out.push_back(h);
  }
  return out;
}

bool wants_keep_alive(const RequestHead& r) {
  const std::string* c = r.find("Proxy-Connection");
  if (!c) c = r.find("Connection");
  if (c && has_token(*c, "close")) return false;
  if (r.version == "HTTP/1.0") return c && has_token(*c, "keep-alive");
  return true;
}

Framing request_framing(const RequestHead& r) {
  Framing f;
  if (const auto* te = r.find("Transfer-Encoding")) {
    f.chunked = has_token(*te, "chunked");
    if (!f.chunked) f.bad = true;
    return f;
  }
  if (const auto* cl = r.find("Content-Length")) {
    uint64_t v = 0;
    if (cl->empty()) f.bad = true;
    for (char c : *cl) {
      if (c < '0' || c > '9' || v > (UINT64_MAX / 10)) {
        f.bad = true;
        break;
      }
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    f.length = v;
  }
  return f;
}

std::string origin_request(const RequestHead& r) {
  std::string out = r.method + " " + r.path + " " + r.version + "\r\n";
  bool has_host = false;
  for (const auto& h : strip_hop_by_hop(r.headers)) {
    if (iequals(h.name, "host")) has_host = true;
    out += h.name + ": " + h.value + "\r\n";
  }
  if (!has_host) {
    std::string host = r.destination.port == 80 ? r.destination.host : r.destination.str();
    if (r.destination.port == 80 && host.find(':') != std::string::npos) host = "[" + host + "]";
    out += "Host: " + host + "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  return out;
}

std::string response_head_text(const ResponseHead& r, bool keep_alive) {
  std::string out = r.version + " " + std::to_string(r.status) + (r.reason.empty() ? "" : " " + r.reason) + "\r\n";
  for (const auto& h : strip_hop_by_hop(r.headers)) out += h.name + ": " + h.value + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return out;
}

ResponseBody response_body(const ResponseHead& r, std::string_view request_method) {
  using Kind = ResponseBody::Kind;
  const int st = r.status;
  if (request_method == "HEAD" || (st / 100 == 1 && st != 101) || st == 204 || st == 304) return {Kind::kNone};
  if (request_method == "CONNECT" && st / 100 == 2) return {Kind::kNone};
  if (const auto* te = r.find("Transfer-Encoding")) return {has_token(*te, "chunked") ? Kind::kChunked : Kind::kUntilClose};
  const auto* cl = r.find("Content-Length");
  if (!cl) return {Kind::kUntilClose};
  std::string_view v = trim(*cl);
  uint64_t n = 0;
  auto [end, err] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || err != std::errc() || end != v.data() + v.size()) return {Kind::kUntilClose};
  return n == 0 ? ResponseBody{Kind::kNone} : ResponseBody{Kind::kLength, n};
}

std::string simple_response(int status, std::string_view reason, std::string_view body,
                            const std::vector<Header>& extra, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  for (const auto& h : extra) out += h.name + ": " + h.value + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!body.empty()) out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  out += body;
  return out;
}

}  // namespace tb::net::http
